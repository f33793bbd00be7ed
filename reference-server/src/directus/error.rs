//! Directus error codes and messages, shared by the REST API and the WebSocket handlers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One Directus error: a code such as `FORBIDDEN`, its message, and the HTTP status it maps to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DirectusError {
    pub code: &'static str,
    pub message: String,
    pub status: StatusCode,
}

impl DirectusError {
    fn new(code: &'static str, message: impl Into<String>, status: StatusCode) -> Self {
        DirectusError {
            code,
            message: message.into(),
            status,
        }
    }

    /// The collection does not exist or the caller may not do this to it; one message for both, so
    /// that a refusal never reveals whether a collection exists.
    pub fn forbidden_collection(collection: &str) -> Self {
        Self::new(
            "FORBIDDEN",
            format!(
                "You don't have permission to access collection \"{collection}\" or it does not exist. Queried in root."
            ),
            StatusCode::FORBIDDEN,
        )
    }

    pub fn forbidden_field(field: &str, collection: &str) -> Self {
        Self::new(
            "FORBIDDEN",
            format!(
                "You don't have permission to access field \"{field}\" in collection \"{collection}\" or it does not exist. Queried in root."
            ),
            StatusCode::FORBIDDEN,
        )
    }

    /// A missing item, or one the caller may not touch.
    pub fn forbidden() -> Self {
        Self::new(
            "FORBIDDEN",
            "You don't have permission to access this.",
            StatusCode::FORBIDDEN,
        )
    }

    pub fn invalid_payload(reason: impl std::fmt::Display) -> Self {
        Self::new(
            "INVALID_PAYLOAD",
            format!("Invalid payload. {reason}."),
            StatusCode::BAD_REQUEST,
        )
    }

    /// `INVALID_PAYLOAD` with a message of its own, not the usual "Invalid payload. …." wording.
    pub fn invalid_payload_exact(message: impl Into<String>) -> Self {
        Self::new("INVALID_PAYLOAD", message, StatusCode::BAD_REQUEST)
    }

    pub fn system_collection() -> Self {
        Self::new(
            "INVALID_COLLECTION",
            "Cannot trigger an action on a system collection.",
            StatusCode::BAD_REQUEST,
        )
    }

    pub fn invalid_query(reason: impl std::fmt::Display) -> Self {
        Self::new(
            "INVALID_QUERY",
            format!("Invalid query. {reason}."),
            StatusCode::BAD_REQUEST,
        )
    }

    pub fn invalid_credentials() -> Self {
        Self::new(
            "INVALID_CREDENTIALS",
            "Invalid user credentials.",
            StatusCode::UNAUTHORIZED,
        )
    }

    pub fn token_expired() -> Self {
        Self::new("TOKEN_EXPIRED", "Token expired.", StatusCode::UNAUTHORIZED)
    }

    pub fn record_not_unique(collection: &str, value: &str) -> Self {
        Self::new(
            "RECORD_NOT_UNIQUE",
            format!("Value \"{value}\" for field \"id\" in collection \"{collection}\" has to be unique."),
            StatusCode::BAD_REQUEST,
        )
    }

    /// A subscribe past the connection's limits (their number, or the size of their queries).
    pub fn too_many_subscriptions(max: usize, max_bytes: usize) -> Self {
        Self::new(
            "REQUESTS_EXCEEDED",
            format!(
                "Too many subscriptions on this connection: at most {max}, holding {max_bytes} bytes of uids, items and queries in all."
            ),
            StatusCode::TOO_MANY_REQUESTS,
        )
    }

    pub fn route_not_found(path: &str) -> Self {
        Self::new(
            "ROUTE_NOT_FOUND",
            format!("Route {path} doesn't exist."),
            StatusCode::NOT_FOUND,
        )
    }
}

impl IntoResponse for DirectusError {
    fn into_response(self) -> Response {
        let body = json!({
            "errors": [{"message": self.message, "extensions": {"code": self.code}}]
        });
        (self.status, axum::Json(body)).into_response()
    }
}
