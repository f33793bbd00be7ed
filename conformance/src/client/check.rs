//! Judges every frame against the profile's schemas: server frames on arrival, client frames before sending.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::frame::{Frame, Payload};
use super::sio::{self, EngineType, Packet, SocketType};
use crate::profile::Profile;
use crate::schema::{Group, SchemaSet};

/// How a profile's frames are framed on the WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Each text frame is one JSON value (m2, directus, skapi).
    Json,
    /// Engine.IO v4 / Socket.IO v5 packets in text frames (gamevault).
    SocketIo,
}

impl Wire {
    pub fn of(profile: Profile) -> Wire {
        match profile {
            Profile::Gamevault => Wire::SocketIo,
            Profile::M2 | Profile::Directus | Profile::Skapi => Wire::Json,
        }
    }
}

/// The schemas of one profile plus its framing.
#[derive(Debug, Clone)]
pub struct FrameCheck {
    schemas: Arc<SchemaSet>,
    profile: Profile,
    wire: Wire,
}

/// A received frame and, when it breaks the schemas, why.
pub struct Checked {
    pub frame: Frame,
    pub violation: Option<String>,
}

impl FrameCheck {
    pub fn new(schemas: Arc<SchemaSet>, profile: Profile) -> FrameCheck {
        FrameCheck {
            schemas,
            profile,
            wire: Wire::of(profile),
        }
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn wire(&self) -> Wire {
        self.wire
    }

    fn group(&self, name: &str) -> Result<&Group, String> {
        self.schemas
            .get(self.profile)
            .and_then(|p| p.group(name))
            .ok_or_else(|| {
                format!(
                    "no `{name}` schemas loaded for profile {}; the harness cannot judge frames",
                    self.profile
                )
            })
    }

    /// Decodes and classifies a frame the server sent.
    pub fn incoming(&self, at: Duration, payload: Payload) -> Checked {
        let mut frame = Frame {
            at,
            payload,
            packet: None,
            value: None,
            kinds: Vec::new(),
        };
        let violation = self.classify_incoming(&mut frame).err();
        Checked { frame, violation }
    }

    fn classify_incoming(&self, frame: &mut Frame) -> Result<(), String> {
        let text = match &frame.payload {
            Payload::Text(text) => text.clone(),
            Payload::Binary(bytes) => {
                return Err(format!(
                    "a binary frame ({} bytes); {} servers send JSON in text frames",
                    bytes.len(),
                    self.profile
                ))
            }
        };
        let value = match self.wire {
            Wire::Json => Some(
                serde_json::from_str::<Value>(&text)
                    .map_err(|e| format!("the frame is not JSON: {e}"))?,
            ),
            Wire::SocketIo => {
                let packet = sio::decode(&text).map_err(|e| format!("bad packet: {e}"))?;
                check_server_packet(&packet)?;
                let value = packet.json();
                frame.packet = Some(packet);
                value
            }
        };
        let Some(value) = value else {
            return Ok(());
        };
        let group = self.group("server")?;
        // The packet type names the kind its payload must be: judge against that kind for a precise reason.
        let expected = frame.packet.as_ref().and_then(expected_kind);
        let checked = match expected {
            Some(kind) if group.kinds.contains_key(kind) => group.check_kind(kind, &value),
            _ => Ok(()),
        };
        let kinds = checked
            .and_then(|()| group.classify(&value))
            .map(|kinds| kinds.into_iter().map(str::to_owned).collect::<Vec<_>>())
            .map_err(|v| v.to_string());
        frame.value = Some(value);
        frame.kinds = kinds?;
        if let Some(packet) = &frame.packet {
            kinds_fit_packet(packet, &frame.kinds)?;
        }
        Ok(())
    }

    /// Checks a JSON frame the harness is about to send (Json wire).
    pub fn outgoing_json(&self, value: &Value) -> Result<(), String> {
        self.group("client")?
            .classify(value)
            .map(drop)
            .map_err(|v| v.to_string())
    }

    /// Checks a packet the harness is about to send (SocketIo wire): framing, then payload for events.
    pub fn outgoing_packet(&self, text: &str) -> Result<(), String> {
        let packet = sio::decode(text).map_err(|e| e.to_string())?;
        match &packet.socket {
            Some(socket)
                if matches!(
                    socket.kind,
                    SocketType::Event | SocketType::Ack | SocketType::Connect
                ) && socket.data.is_some() =>
            {
                let data = socket.data.clone().unwrap_or(Value::Null);
                self.outgoing_json(&data)
            }
            _ => Ok(()),
        }
    }
}

/// Rules of the Engine.IO / Socket.IO framing a server frame must follow, before any schema.
fn check_server_packet(packet: &Packet) -> Result<(), String> {
    let Some(socket) = &packet.socket else {
        return match packet.engine {
            EngineType::Upgrade => Err(
                "the server sent an Engine.IO `5` upgrade packet, which only clients send".into(),
            ),
            _ => Ok(()),
        };
    };
    match socket.kind {
        SocketType::Connect | SocketType::ConnectError
            if !matches!(socket.data, Some(Value::Object(_))) =>
        {
            Err(format!(
                "Socket.IO {} must carry a JSON object",
                packet.type_name()
            ))
        }
        SocketType::Event | SocketType::BinaryEvent => match &socket.data {
            Some(Value::Array(items)) if items.first().is_some_and(Value::is_string) => Ok(()),
            _ => Err(
                "a Socket.IO EVENT payload must be an array whose first element is the event name"
                    .into(),
            ),
        },
        SocketType::Ack | SocketType::BinaryAck if socket.ack_id.is_none() => {
            Err("a Socket.IO ACK without an ack id".into())
        }
        SocketType::Ack | SocketType::BinaryAck
            if !matches!(socket.data, Some(Value::Array(_))) =>
        {
            Err("a Socket.IO ACK payload must be an array".into())
        }
        _ => Ok(()),
    }
}

/// The kind each packet type carries (schemas/gamevault/NOTES.md GV-PAYLOADS): `open` in the Engine.IO open
/// packet, `connect` / `connect-error` in those Socket.IO packets, and in an EVENT the kind named like the event.
fn expected_kind(packet: &Packet) -> Option<&str> {
    match (packet.engine, packet.socket.as_ref().map(|s| s.kind)) {
        (EngineType::Open, _) => Some("open"),
        (_, Some(SocketType::Connect)) => Some("connect"),
        (_, Some(SocketType::ConnectError)) => Some("connect-error"),
        (_, Some(SocketType::Event | SocketType::BinaryEvent)) => packet.event_name(),
        _ => None,
    }
}

fn kinds_fit_packet(packet: &Packet, kinds: &[String]) -> Result<(), String> {
    let Some(expected) = expected_kind(packet) else {
        return Ok(());
    };
    if kinds.iter().any(|k| k == expected) {
        Ok(())
    } else {
        Err(format!(
            "a {} packet carries a payload of kind `{}`; that packet type carries `{expected}`",
            packet.type_name(),
            kinds.join("` / `")
        ))
    }
}
