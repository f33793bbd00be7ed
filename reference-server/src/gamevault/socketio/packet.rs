//! Socket.IO v5 packets as the default parser encodes them inside an Engine.IO message:
//! `<type>[<#attachments>-][<namespace>,][<ack id>][JSON]`.

use serde_json::Value;

/// The main namespace, left out of the encoding.
pub const MAIN_NAMESPACE: &str = "/";

/// Event names the reference implementation reserves for itself; a peer may not send them.
const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl PacketKind {
    fn from_digit(digit: u8) -> Option<PacketKind> {
        Some(match digit {
            b'0' => PacketKind::Connect,
            b'1' => PacketKind::Disconnect,
            b'2' => PacketKind::Event,
            b'3' => PacketKind::Ack,
            b'4' => PacketKind::ConnectError,
            b'5' => PacketKind::BinaryEvent,
            b'6' => PacketKind::BinaryAck,
            _ => return None,
        })
    }

    fn digit(self) -> char {
        match self {
            PacketKind::Connect => '0',
            PacketKind::Disconnect => '1',
            PacketKind::Event => '2',
            PacketKind::Ack => '3',
            PacketKind::ConnectError => '4',
            PacketKind::BinaryEvent => '5',
            PacketKind::BinaryAck => '6',
        }
    }

    pub fn is_binary(self) -> bool {
        matches!(self, PacketKind::BinaryEvent | PacketKind::BinaryAck)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub kind: PacketKind,
    pub namespace: String,
    pub ack_id: Option<u64>,
    /// Binary attachments that follow this packet (binary kinds only).
    pub attachments: usize,
    pub data: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type")]
    UnknownType,
    #[error("illegal attachments")]
    IllegalAttachments,
    #[error("invalid ack id")]
    InvalidAckId,
    #[error("invalid payload: not JSON")]
    NotJson,
    #[error("invalid payload for a {0} packet: {1}")]
    InvalidPayload(&'static str, &'static str),
}

impl Packet {
    pub fn new(kind: PacketKind, namespace: &str, data: Option<Value>) -> Packet {
        Packet {
            kind,
            namespace: namespace.to_owned(),
            ack_id: None,
            attachments: 0,
            data,
        }
    }

    pub fn with_ack_id(mut self, id: u64) -> Packet {
        self.ack_id = Some(id);
        self
    }

    pub fn decode(text: &str) -> Result<Packet, DecodeError> {
        let kind = text
            .as_bytes()
            .first()
            .ok_or(DecodeError::Empty)
            .and_then(|d| PacketKind::from_digit(*d).ok_or(DecodeError::UnknownType))?;
        // The type is one ASCII digit, so index 1 is a character boundary.
        let mut rest = text.get(1..).unwrap_or_default();

        let mut attachments = 0;
        if kind.is_binary() {
            let (count, after) = rest
                .split_once('-')
                .ok_or(DecodeError::IllegalAttachments)?;
            if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DecodeError::IllegalAttachments);
            }
            attachments = count.parse().map_err(|_| DecodeError::IllegalAttachments)?;
            rest = after;
        }

        let mut namespace = MAIN_NAMESPACE;
        if rest.starts_with('/') {
            (namespace, rest) = rest.split_once(',').unwrap_or((rest, ""));
        }

        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut ack_id = None;
        if digits > 0 {
            let (id, after) = rest.split_at(digits);
            ack_id = Some(id.parse().map_err(|_| DecodeError::InvalidAckId)?);
            rest = after;
        }

        let data = match rest {
            "" => None,
            json => Some(serde_json::from_str(json).map_err(|_| DecodeError::NotJson)?),
        };
        check_payload(kind, data.as_ref())?;
        Ok(Packet {
            kind,
            namespace: namespace.to_owned(),
            ack_id,
            attachments,
            data,
        })
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        out.push(self.kind.digit());
        if self.kind.is_binary() {
            out.push_str(&self.attachments.to_string());
            out.push('-');
        }
        if self.namespace != MAIN_NAMESPACE {
            out.push_str(&self.namespace);
            out.push(',');
        }
        if let Some(id) = self.ack_id {
            out.push_str(&id.to_string());
        }
        if let Some(data) = &self.data {
            out.push_str(&data.to_string());
        }
        out
    }
}

/// The payload rules of the protocol: CONNECT carries an object or nothing, DISCONNECT nothing,
/// an event a non-empty array whose first element is a name, an ack an array.
fn check_payload(kind: PacketKind, data: Option<&Value>) -> Result<(), DecodeError> {
    let invalid = |why| match kind {
        PacketKind::Connect => DecodeError::InvalidPayload("CONNECT", why),
        PacketKind::Disconnect => DecodeError::InvalidPayload("DISCONNECT", why),
        PacketKind::Event | PacketKind::BinaryEvent => DecodeError::InvalidPayload("EVENT", why),
        PacketKind::Ack | PacketKind::BinaryAck => DecodeError::InvalidPayload("ACK", why),
        PacketKind::ConnectError => DecodeError::InvalidPayload("CONNECT_ERROR", why),
    };
    match kind {
        PacketKind::Connect => match data {
            None | Some(Value::Object(_)) => Ok(()),
            Some(_) => Err(invalid("must be an object")),
        },
        PacketKind::Disconnect => match data {
            None => Ok(()),
            Some(_) => Err(invalid("must be empty")),
        },
        PacketKind::ConnectError => match data {
            Some(Value::Object(_) | Value::String(_)) => Ok(()),
            _ => Err(invalid("must be an object or a string")),
        },
        PacketKind::Event | PacketKind::BinaryEvent => {
            let Some(Value::Array(items)) = data else {
                return Err(invalid("must be an array"));
            };
            match items.first() {
                Some(Value::String(name)) if RESERVED_EVENTS.contains(&name.as_str()) => {
                    Err(invalid("reserved event name"))
                }
                Some(Value::String(_)) => Ok(()),
                Some(_) => Err(invalid("the first element must be the event name")),
                None => Err(invalid("must not be empty")),
            }
        }
        PacketKind::Ack | PacketKind::BinaryAck => match data {
            Some(Value::Array(_)) => Ok(()),
            _ => Err(invalid("must be an array")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decoded(text: &str) -> Packet {
        Packet::decode(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn decodes_the_examples_of_the_protocol() {
        let connect = decoded("0");
        assert_eq!(connect.kind, PacketKind::Connect);
        assert_eq!(connect.namespace, "/");
        assert_eq!(connect.data, None);

        let with_auth = decoded("0/admin,{\"token\":\"123\"}");
        assert_eq!(with_auth.namespace, "/admin");
        assert_eq!(with_auth.data, Some(json!({"token": "123"})));

        assert_eq!(decoded("0/random").namespace, "/random");
        assert_eq!(decoded("1/admin,").namespace, "/admin");

        let event = decoded("212[\"foo\"]");
        assert_eq!(event.kind, PacketKind::Event);
        assert_eq!(event.ack_id, Some(12));
        assert_eq!(event.data, Some(json!(["foo"])));

        let ack = decoded("3/admin,13[\"bar\"]");
        assert_eq!((ack.kind, ack.ack_id), (PacketKind::Ack, Some(13)));
        assert_eq!(ack.namespace, "/admin");

        let binary = decoded("52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
        assert_eq!(binary.kind, PacketKind::BinaryEvent);
        assert_eq!(binary.attachments, 2);
        assert_eq!(binary.namespace, "/admin");

        let binary_ack = decoded("61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]");
        assert_eq!((binary_ack.attachments, binary_ack.ack_id), (1, Some(15)));
    }

    #[test]
    fn refuses_what_the_reference_parser_refuses() {
        for text in [
            "",
            "abc",
            "7",
            "2{}",
            "2",
            "2[]",
            "2[1]",
            "2[\"connect\"]",
            "2abc[\"x\"]",
            "2[\"x\"",
            "0[]",
            "0\"x\"",
            "1{}",
            "3{}",
            "3",
            "4",
            "5[\"x\"]",
            "5x-[\"x\"]",
            "299999999999999999999999[\"x\"]",
        ] {
            assert!(Packet::decode(text).is_err(), "{text:?} should be refused");
        }
    }

    #[test]
    fn encodes_server_packets() {
        assert_eq!(
            Packet::new(PacketKind::Connect, "/", Some(json!({"sid": "abc"}))).encode(),
            "0{\"sid\":\"abc\"}"
        );
        assert_eq!(
            Packet::new(
                PacketKind::ConnectError,
                "/admin",
                Some(json!({"message": "Invalid namespace"}))
            )
            .encode(),
            "4/admin,{\"message\":\"Invalid namespace\"}"
        );
        assert_eq!(
            Packet::new(PacketKind::Ack, "/", Some(json!([1, "2"])))
                .with_ack_id(456)
                .encode(),
            "3456[1,\"2\"]"
        );
        let mut binary = Packet::new(PacketKind::BinaryEvent, "/", Some(json!(["x"])));
        binary.attachments = 1;
        assert_eq!(binary.encode(), "51-[\"x\"]");
    }

    #[test]
    fn round_trips_through_decode() {
        for text in ["2[\"a\",1]", "2/x,7[\"a\"]", "0/admin,", "40", "3/n,0[]"] {
            let Ok(packet) = Packet::decode(text) else {
                continue;
            };
            assert_eq!(Packet::decode(&packet.encode()), Ok(packet));
        }
    }
}
