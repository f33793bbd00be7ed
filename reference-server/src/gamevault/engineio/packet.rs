//! Engine.IO v4 packets and their two encodings: one WebSocket frame per packet, or several
//! packets joined by the record separator in an HTTP long-polling body.

use axum::body::Bytes;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Separates the packets of one HTTP long-polling body.
pub const RECORD_SEPARATOR: char = '\x1e';

/// Prefix of a base64-encoded binary packet in a long-polling body.
const BINARY_PREFIX: char = 'b';

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0` + the handshake JSON; only the server sends it.
    Open(String),
    /// `1`: the transport is closing.
    Close,
    /// `2` + optional data (`probe` during an upgrade).
    Ping(String),
    /// `3` + optional data.
    Pong(String),
    /// `4` + text.
    Message(String),
    /// A binary message: a binary WebSocket frame, or `b<base64>` in a polling body.
    Binary(Bytes),
    /// `5`: the client completes an upgrade.
    Upgrade,
    /// `6`: nothing; ends a pending poll during an upgrade.
    Noop,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    #[error("invalid base64 in a binary packet")]
    InvalidBase64,
}

impl Packet {
    /// Decodes a text packet (one WebSocket text frame, or one record of a polling body).
    pub fn decode_text(text: &str) -> Result<Packet, PacketError> {
        let mut chars = text.chars();
        let kind = chars.next().ok_or(PacketError::Empty)?;
        let data = chars.as_str();
        Ok(match kind {
            '0' => Packet::Open(data.to_owned()),
            '1' => Packet::Close,
            '2' => Packet::Ping(data.to_owned()),
            '3' => Packet::Pong(data.to_owned()),
            '4' => Packet::Message(data.to_owned()),
            '5' => Packet::Upgrade,
            '6' => Packet::Noop,
            other => return Err(PacketError::UnknownType(other)),
        })
    }

    /// Decodes an HTTP long-polling body: packets separated by [`RECORD_SEPARATOR`], binary ones
    /// base64-encoded behind a `b`.
    pub fn decode_payload(body: &str) -> Result<Vec<Packet>, PacketError> {
        body.split(RECORD_SEPARATOR)
            .map(|record| match record.strip_prefix(BINARY_PREFIX) {
                Some(encoded) => STANDARD
                    .decode(encoded)
                    .map(|bytes| Packet::Binary(Bytes::from(bytes)))
                    .map_err(|_| PacketError::InvalidBase64),
                None => Packet::decode_text(record),
            })
            .collect()
    }

    /// The text form of this packet; binary messages are base64-encoded behind a `b`, as in a
    /// polling body (over WebSocket they travel as binary frames instead).
    pub fn encode(&self) -> String {
        match self {
            Packet::Open(json) => format!("0{json}"),
            Packet::Close => "1".to_owned(),
            Packet::Ping(data) => format!("2{data}"),
            Packet::Pong(data) => format!("3{data}"),
            Packet::Message(text) => format!("4{text}"),
            Packet::Binary(bytes) => format!("{BINARY_PREFIX}{}", STANDARD.encode(bytes)),
            Packet::Upgrade => "5".to_owned(),
            Packet::Noop => "6".to_owned(),
        }
    }

    /// Joins packets into one HTTP long-polling body.
    pub fn encode_payload(packets: &[Packet]) -> String {
        let mut body = String::new();
        for (i, packet) in packets.iter().enumerate() {
            if i > 0 {
                body.push(RECORD_SEPARATOR);
            }
            body.push_str(&packet.encode());
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_packets_round_trip() {
        for text in [
            "0{\"sid\":\"x\"}",
            "1",
            "2",
            "2probe",
            "3probe",
            "4hello",
            "5",
            "6",
        ] {
            let packet = Packet::decode_text(text).expect("valid");
            assert_eq!(packet.encode(), text);
        }
    }

    #[test]
    fn invalid_text_packets_are_refused() {
        assert_eq!(Packet::decode_text(""), Err(PacketError::Empty));
        assert_eq!(
            Packet::decode_text("abc"),
            Err(PacketError::UnknownType('a'))
        );
        assert_eq!(
            Packet::decode_text("7x"),
            Err(PacketError::UnknownType('7'))
        );
        assert_eq!(Packet::decode_text("€"), Err(PacketError::UnknownType('€')));
    }

    #[test]
    fn polling_payloads_split_on_the_record_separator() {
        let packets = Packet::decode_payload("4hello\x1ebAQIDBA==\x1e2\x1e4").expect("valid");
        assert_eq!(
            packets,
            vec![
                Packet::Message("hello".into()),
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
                Packet::Ping(String::new()),
                Packet::Message(String::new()),
            ]
        );
        assert_eq!(
            Packet::encode_payload(&packets),
            "4hello\x1ebAQIDBA==\x1e2\x1e4"
        );
    }

    #[test]
    fn malformed_polling_payloads_are_refused() {
        assert_eq!(Packet::decode_payload(""), Err(PacketError::Empty));
        assert_eq!(
            Packet::decode_payload("4a\x1e\x1e4b"),
            Err(PacketError::Empty)
        );
        assert_eq!(
            Packet::decode_payload("b!!"),
            Err(PacketError::InvalidBase64)
        );
    }
}
