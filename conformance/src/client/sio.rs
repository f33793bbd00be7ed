//! Engine.IO v4 and Socket.IO v5 framing over WebSocket text frames (gamevault).
//!
//! Engine.IO packet: `<type digit>[data]`. Socket.IO packet inside an Engine.IO message (`4`):
//! `<type digit>[<attachments>-][<namespace>,][<ack id>][JSON]`.

use std::fmt;

use serde_json::Value;

/// Engine.IO v4 packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineType {
    Open,
    Close,
    Ping,
    Pong,
    Message,
    Upgrade,
    Noop,
}

impl EngineType {
    fn from_digit(c: char) -> Option<EngineType> {
        Some(match c {
            '0' => EngineType::Open,
            '1' => EngineType::Close,
            '2' => EngineType::Ping,
            '3' => EngineType::Pong,
            '4' => EngineType::Message,
            '5' => EngineType::Upgrade,
            '6' => EngineType::Noop,
            _ => return None,
        })
    }

    pub fn digit(self) -> char {
        match self {
            EngineType::Open => '0',
            EngineType::Close => '1',
            EngineType::Ping => '2',
            EngineType::Pong => '3',
            EngineType::Message => '4',
            EngineType::Upgrade => '5',
            EngineType::Noop => '6',
        }
    }
}

/// Socket.IO v5 packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SocketType {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl SocketType {
    fn from_digit(c: char) -> Option<SocketType> {
        Some(match c {
            '0' => SocketType::Connect,
            '1' => SocketType::Disconnect,
            '2' => SocketType::Event,
            '3' => SocketType::Ack,
            '4' => SocketType::ConnectError,
            '5' => SocketType::BinaryEvent,
            '6' => SocketType::BinaryAck,
            _ => return None,
        })
    }

    pub fn digit(self) -> char {
        match self {
            SocketType::Connect => '0',
            SocketType::Disconnect => '1',
            SocketType::Event => '2',
            SocketType::Ack => '3',
            SocketType::ConnectError => '4',
            SocketType::BinaryEvent => '5',
            SocketType::BinaryAck => '6',
        }
    }
}

/// A Socket.IO packet.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketPacket {
    pub kind: SocketType,
    pub attachments: Option<u32>,
    /// `/` when the packet names none.
    pub namespace: String,
    pub ack_id: Option<u64>,
    pub data: Option<Value>,
}

/// One decoded WebSocket text frame of an Engine.IO connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub engine: EngineType,
    /// The Engine.IO data after the type digit, as text (`open`'s JSON, a ping's probe, a message's body).
    pub engine_data: String,
    /// The Socket.IO packet inside an Engine.IO `message`.
    pub socket: Option<SocketPacket>,
}

impl Packet {
    /// The JSON the schemas judge: the open packet's object, or the Socket.IO packet's payload.
    pub fn json(&self) -> Option<Value> {
        match (&self.engine, &self.socket) {
            (EngineType::Open, _) => serde_json::from_str(&self.engine_data).ok(),
            (EngineType::Message, Some(socket)) => socket.data.clone(),
            _ => None,
        }
    }

    pub fn event_name(&self) -> Option<&str> {
        let socket = self.socket.as_ref()?;
        if socket.kind != SocketType::Event {
            return None;
        }
        socket.data.as_ref()?.get(0)?.as_str()
    }

    pub fn event_args(&self) -> &[Value] {
        match self.socket.as_ref().and_then(|s| s.data.as_ref()) {
            Some(Value::Array(items)) if self.event_name().is_some() => &items[1..],
            _ => &[],
        }
    }

    /// A short name for the packet type, e.g. `open`, `ping`, `message/event`.
    pub fn type_name(&self) -> String {
        match &self.socket {
            Some(s) => format!("message/{}", serde_plain(&s.kind)),
            None => serde_plain(&self.engine),
        }
    }
}

fn serde_plain(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::from("?"),
    }
}

/// Why a frame is not a valid Engine.IO / Socket.IO packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PacketError(pub String);

/// Decodes one WebSocket text frame.
pub fn decode(text: &str) -> Result<Packet, PacketError> {
    let mut chars = text.chars();
    let first = chars.next().ok_or_else(|| {
        PacketError("empty frame: an Engine.IO packet starts with a type digit".into())
    })?;
    let engine = EngineType::from_digit(first).ok_or_else(|| {
        PacketError(format!(
            "`{first}` is not an Engine.IO packet type (0 open … 6 noop)"
        ))
    })?;
    let rest = chars.as_str();
    let socket = if engine == EngineType::Message {
        Some(decode_socket(rest)?)
    } else {
        None
    };
    if engine == EngineType::Open {
        serde_json::from_str::<Value>(rest)
            .map_err(|e| PacketError(format!("open packet data is not JSON: {e}")))?;
    }
    Ok(Packet {
        engine,
        engine_data: rest.to_owned(),
        socket,
    })
}

fn decode_socket(text: &str) -> Result<SocketPacket, PacketError> {
    let mut chars = text.char_indices().peekable();
    let (_, first) = chars
        .next()
        .ok_or_else(|| PacketError("empty Socket.IO packet in an Engine.IO message".into()))?;
    let kind = SocketType::from_digit(first)
        .ok_or_else(|| PacketError(format!("`{first}` is not a Socket.IO packet type (0 … 6)")))?;
    let mut rest = &text[first.len_utf8()..];
    let mut attachments = None;
    if matches!(kind, SocketType::BinaryEvent | SocketType::BinaryAck) {
        let dash = rest
            .find('-')
            .ok_or_else(|| PacketError("binary packet without `<attachments>-`".into()))?;
        attachments = Some(
            rest[..dash]
                .parse()
                .map_err(|_| PacketError(format!("bad attachment count `{}`", &rest[..dash])))?,
        );
        rest = &rest[dash + 1..];
    }
    let mut namespace = "/".to_owned();
    if rest.starts_with('/') {
        let end = rest.find(',').unwrap_or(rest.len());
        namespace = rest[..end].to_owned();
        rest = rest.get(end + 1..).unwrap_or("");
    }
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let ack_id = if digits > 0 {
        Some(
            rest[..digits]
                .parse()
                .map_err(|_| PacketError(format!("ack id `{}` out of range", &rest[..digits])))?,
        )
    } else {
        None
    };
    rest = &rest[digits..];
    let data = if rest.is_empty() {
        None
    } else {
        Some(
            serde_json::from_str(rest)
                .map_err(|e| PacketError(format!("Socket.IO payload is not JSON: {e}")))?,
        )
    };
    Ok(SocketPacket {
        kind,
        attachments,
        namespace,
        ack_id,
        data,
    })
}

/// Encodes a Socket.IO packet as the text of one Engine.IO message frame.
pub fn encode(packet: &SocketPacket) -> String {
    let mut out = String::from('4');
    out.push(packet.kind.digit());
    if let Some(n) = packet.attachments {
        out.push_str(&format!("{n}-"));
    }
    if packet.namespace != "/" {
        out.push_str(&packet.namespace);
        out.push(',');
    }
    if let Some(id) = packet.ack_id {
        out.push_str(&id.to_string());
    }
    if let Some(data) = &packet.data {
        out.push_str(&data.to_string());
    }
    out
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.type_name())
    }
}

/// The fields of the Engine.IO open packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    pub sid: String,
    pub upgrades: Vec<String>,
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    pub max_payload: u64,
}

impl Open {
    /// Reads the five keys the Engine.IO v4 spec requires; names the first one missing or mistyped.
    pub fn parse(value: &Value) -> Result<Open, String> {
        let string = |k: &str| {
            value
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("open packet lacks string `{k}`"))
        };
        let number = |k: &str| {
            value
                .get(k)
                .and_then(Value::as_u64)
                .ok_or_else(|| format!("open packet lacks non-negative integer `{k}`"))
        };
        let upgrades = value
            .get("upgrades")
            .and_then(Value::as_array)
            .ok_or_else(|| "open packet lacks array `upgrades`".to_owned())?
            .iter()
            .map(|u| u.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| "open packet `upgrades` holds a non-string".to_owned())?;
        Ok(Open {
            sid: string("sid")?,
            upgrades,
            ping_interval_ms: number("pingInterval")?,
            ping_timeout_ms: number("pingTimeout")?,
            max_payload: number("maxPayload")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn decodes_the_documented_transcript() {
        let open = decode(r#"0{"sid":"a","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#).unwrap();
        assert_eq!(open.engine, EngineType::Open);
        assert_eq!(
            Open::parse(&open.json().unwrap()).unwrap().ping_interval_ms,
            25000
        );
        let connect = decode(r#"40{"sid":"QGolYsEJs2ERenKdAAAO"}"#).unwrap();
        assert_eq!(connect.socket.as_ref().unwrap().kind, SocketType::Connect);
        let event = decode(r#"42["activity",{"state":"PLAYING"}]"#).unwrap();
        assert_eq!(event.event_name(), Some("activity"));
        assert_eq!(event.event_args(), &[json!({"state":"PLAYING"})]);
        let ack = decode(r#"43/admin,12["ok"]"#).unwrap();
        let socket = ack.socket.unwrap();
        assert_eq!(
            (socket.namespace.as_str(), socket.ack_id),
            ("/admin", Some(12))
        );
        assert_eq!(decode("2").unwrap().engine, EngineType::Ping);
    }

    #[test]
    fn rejects_malformed_packets_with_a_reason() {
        assert!(decode("").is_err());
        assert!(decode("9")
            .unwrap_err()
            .0
            .contains("not an Engine.IO packet type"));
        assert!(decode("4abc")
            .unwrap_err()
            .0
            .contains("not a Socket.IO packet type"));
        assert!(decode("42{not json").unwrap_err().0.contains("not JSON"));
        assert!(decode("0nope").is_err());
    }

    #[test]
    fn encodes_round_trip() {
        let packet = SocketPacket {
            kind: SocketType::Event,
            attachments: None,
            namespace: "/".into(),
            ack_id: Some(7),
            data: Some(json!(["get-activities"])),
        };
        let text = encode(&packet);
        assert_eq!(text, r#"427["get-activities"]"#);
        assert_eq!(decode(&text).unwrap().socket.unwrap(), packet);
    }
}
