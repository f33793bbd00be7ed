//! Outgoing messages, with keys in the order the real server writes them.

use serde_json::{json, Map, Value};

use crate::directus::error::DirectusError;

fn finish(mut message: Map<String, Value>, uid: Option<&Value>) -> String {
    if let Some(uid) = uid {
        message.insert("uid".into(), uid.clone());
    }
    Value::Object(message).to_string()
}

pub fn auth_ok(uid: Option<&Value>, refresh_token: Option<&str>) -> String {
    let mut message = Map::new();
    message.insert("type".into(), json!("auth"));
    message.insert("status".into(), json!("ok"));
    if let Some(uid) = uid {
        message.insert("uid".into(), uid.clone());
    }
    if let Some(token) = refresh_token {
        message.insert("refresh_token".into(), json!(token));
    }
    Value::Object(message).to_string()
}

/// `{"type":<kind>,"status":"error","error":{"code","message"},"uid"?}`
pub fn error(kind: &str, code: &str, message: &str, uid: Option<&Value>) -> String {
    let mut out = Map::new();
    out.insert("type".into(), json!(kind));
    out.insert("status".into(), json!("error"));
    out.insert("error".into(), json!({"code": code, "message": message}));
    finish(out, uid)
}

pub fn directus_error(kind: &str, err: &DirectusError, uid: Option<&Value>) -> String {
    error(kind, err.code, &err.message, uid)
}

pub fn handshake_failed() -> String {
    error(
        "auth",
        "AUTH_FAILED",
        "Authentication handshake failed.",
        None,
    )
}

pub fn auth_failed(uid: Option<&Value>) -> String {
    error("auth", "AUTH_FAILED", "Authentication failed.", uid)
}

pub fn token_expired() -> String {
    error("auth", "TOKEN_EXPIRED", "Token expired.", None)
}

pub fn auth_timeout() -> String {
    error("auth", "AUTH_TIMEOUT", "Authentication timed out.", None)
}

pub fn unparsable() -> String {
    error(
        "server",
        "INVALID_PAYLOAD",
        "Unable to parse the incoming message.",
        None,
    )
}

pub fn rate_limited(retry_after_ms: u128) -> String {
    error(
        "server",
        "REQUESTS_EXCEEDED",
        &format!("Too many messages, retry after {retry_after_ms}ms."),
        None,
    )
}

pub fn ping() -> String {
    json!({"type": "ping"}).to_string()
}

pub fn pong(uid: Option<&Value>) -> String {
    let mut out = Map::new();
    out.insert("type".into(), json!("pong"));
    finish(out, uid)
}

/// `{"type":"subscription","event":<event>,"data"?,"meta"?,"uid"?}`
pub fn subscription(
    event: &str,
    data: Option<Value>,
    meta: Option<Value>,
    uid: Option<&str>,
) -> String {
    let mut out = Map::new();
    out.insert("type".into(), json!("subscription"));
    out.insert("event".into(), json!(event));
    if let Some(data) = data {
        out.insert("data".into(), data);
    }
    if let Some(meta) = meta {
        out.insert("meta".into(), meta);
    }
    finish(out, uid.map(|u| json!(u)).as_ref())
}

/// The acknowledgement of an `unsubscribe`; the uid is echoed as the client sent it.
pub fn unsubscribed(uid: Option<&Value>) -> String {
    let mut out = Map::new();
    out.insert("type".into(), json!("subscription"));
    out.insert("event".into(), json!("unsubscribe"));
    finish(out, uid)
}

pub fn items(data: Value, meta: Option<Value>, uid: Option<&Value>) -> String {
    let mut out = Map::new();
    out.insert("type".into(), json!("items"));
    out.insert("data".into(), data);
    if let Some(meta) = meta {
        out.insert("meta".into(), meta);
    }
    finish(out, uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_key_order() {
        assert_eq!(
            auth_ok(Some(&json!("login")), Some("r")),
            r#"{"type":"auth","status":"ok","uid":"login","refresh_token":"r"}"#
        );
        assert_eq!(
            auth_ok(Some(&json!(7)), None),
            r#"{"type":"auth","status":"ok","uid":7}"#
        );
        assert_eq!(
            handshake_failed(),
            r#"{"type":"auth","status":"error","error":{"code":"AUTH_FAILED","message":"Authentication handshake failed."}}"#
        );
        assert_eq!(pong(Some(&json!(42))), r#"{"type":"pong","uid":42}"#);
        assert_eq!(pong(None), r#"{"type":"pong"}"#);
        assert_eq!(
            subscription(
                "init",
                Some(json!([])),
                Some(json!({"total_count": 3})),
                Some("f")
            ),
            r#"{"type":"subscription","event":"init","data":[],"meta":{"total_count":3},"uid":"f"}"#
        );
        assert_eq!(
            subscription("init", None, None, None),
            r#"{"type":"subscription","event":"init"}"#
        );
        assert_eq!(
            items(json!(15), None, Some(&json!("d1"))),
            r#"{"type":"items","data":15,"uid":"d1"}"#
        );
    }
}
