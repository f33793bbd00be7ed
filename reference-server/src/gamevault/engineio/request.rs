//! What an Engine.IO HTTP request asks for (query `EIO`, `transport`, `sid`), and the HTTP 400
//! answers of the Engine.IO server when it refuses one.

use std::collections::HashMap;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// The protocol version this server speaks (`EIO=4`).
pub const PROTOCOL_VERSION: &str = "4";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Polling,
    WebSocket,
}

impl TransportKind {
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }
}

/// A request the Engine.IO server accepted at the query level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineRequest {
    pub transport: TransportKind,
    /// The session the request belongs to; absent on a handshake.
    pub sid: Option<String>,
}

/// The refusals of the Engine.IO server, with the codes and messages of its reference implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("Transport unknown")]
    UnknownTransport,
    #[error("Session ID unknown")]
    UnknownSid,
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    #[error("Bad request")]
    BadRequest,
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
}

impl EngineError {
    pub fn code(self) -> u8 {
        match self {
            EngineError::UnknownTransport => 0,
            EngineError::UnknownSid => 1,
            EngineError::BadHandshakeMethod => 2,
            EngineError::BadRequest => 3,
            EngineError::UnsupportedProtocolVersion => 5,
        }
    }
}

impl IntoResponse for EngineError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

impl EngineRequest {
    /// Checks the query in the order of the reference server: transport first, then version.
    pub fn parse(query: &HashMap<String, String>) -> Result<EngineRequest, EngineError> {
        let transport = match query.get("transport").map(String::as_str) {
            Some("polling") => TransportKind::Polling,
            Some("websocket") => TransportKind::WebSocket,
            _ => return Err(EngineError::UnknownTransport),
        };
        if query.get("EIO").map(String::as_str) != Some(PROTOCOL_VERSION) {
            return Err(EngineError::UnsupportedProtocolVersion);
        }
        Ok(EngineRequest {
            transport,
            sid: query.get("sid").cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<EngineRequest, EngineError> {
        let query = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EngineRequest::parse(&query)
    }

    #[test]
    fn accepts_both_transports_of_version_four() {
        assert_eq!(
            parse(&[("EIO", "4"), ("transport", "polling")]),
            Ok(EngineRequest {
                transport: TransportKind::Polling,
                sid: None
            })
        );
        assert_eq!(
            parse(&[("EIO", "4"), ("transport", "websocket"), ("sid", "abc")]),
            Ok(EngineRequest {
                transport: TransportKind::WebSocket,
                sid: Some("abc".into())
            })
        );
    }

    #[test]
    fn refuses_with_the_reference_codes() {
        assert_eq!(parse(&[("EIO", "4")]), Err(EngineError::UnknownTransport));
        assert_eq!(
            parse(&[("EIO", "4"), ("transport", "abc")]),
            Err(EngineError::UnknownTransport)
        );
        assert_eq!(
            parse(&[("transport", "polling")]),
            Err(EngineError::UnsupportedProtocolVersion)
        );
        assert_eq!(
            parse(&[("EIO", "3"), ("transport", "polling")]),
            Err(EngineError::UnsupportedProtocolVersion)
        );
        assert_eq!(EngineError::UnknownSid.code(), 1);
        assert_eq!(EngineError::UnknownSid.to_string(), "Session ID unknown");
    }
}
