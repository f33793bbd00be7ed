//! The realtime frames: parsing client messages, rendering server messages.

use std::time::SystemTime;

use serde_json::{json, Map, Value};

use super::resource::Resource;

/// The only error text the document gives; every malformed client message receives it.
pub const INVALID_MESSAGE_FORMAT: &str = "Invalid message format";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Subscribe,
    Unsubscribe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMessage {
    pub action: Action,
    pub resource: Resource,
}

/// Why a client frame is not a message; the client sees `{"error":"Invalid message format"}` for
/// each, the log sees the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("not JSON")]
    NotJson,
    #[error("not a JSON object")]
    NotObject,
    #[error("member {0} missing or not a string")]
    Missing(&'static str),
    #[error("unexpected member {0}")]
    Unexpected(String),
    #[error("unknown action")]
    UnknownAction,
    #[error("unknown resource type or malformed id")]
    BadResource,
    #[error("binary frame")]
    Binary,
}

/// Parses a text frame: exactly `{"action", "resource": {"type", "id"}}`, all strings.
///
/// Members other than these are refused rather than ignored, so a misspelt member is reported
/// instead of silently doing something else.
pub fn parse(text: &str) -> Result<ClientMessage, Malformed> {
    let value: Value = serde_json::from_str(text).map_err(|_| Malformed::NotJson)?;
    let Value::Object(message) = value else {
        return Err(Malformed::NotObject);
    };
    only_members(&message, &["action", "resource"])?;
    let action = match string_member(&message, "action")? {
        "subscribe" => Action::Subscribe,
        "unsubscribe" => Action::Unsubscribe,
        _ => return Err(Malformed::UnknownAction),
    };
    let Some(Value::Object(resource)) = message.get("resource") else {
        return Err(Malformed::Missing("resource"));
    };
    only_members(resource, &["type", "id"])?;
    let kind = string_member(resource, "type")?;
    let id = string_member(resource, "id")?;
    let resource = Resource::parse(kind, id).ok_or(Malformed::BadResource)?;
    Ok(ClientMessage { action, resource })
}

fn only_members(object: &Map<String, Value>, allowed: &[&str]) -> Result<(), Malformed> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(Malformed::Unexpected(extra.clone())),
        None => Ok(()),
    }
}

fn string_member<'a>(
    object: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, Malformed> {
    object
        .get(name)
        .and_then(Value::as_str)
        .ok_or(Malformed::Missing(name))
}

/// ISO-8601 UTC with milliseconds, e.g. `2024-01-30T15:50:35.742Z`.
pub fn version(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// The current state of a subscribed resource: the reply to a subscribe and every later change
/// (`data` is `null` once the resource is deleted).
pub fn success(user: &str, resource: &Resource, data: &Value, at: SystemTime) -> String {
    json!({
        "userId": user,
        "resource": { "type": resource.type_name(), "id": resource.id() },
        "data": data,
        "version": version(at),
    })
    .to_string()
}

/// The reply to a subscribe of a resource that does not exist (yet); the subscription stands.
pub fn not_found(resource: &Resource) -> String {
    json!({
        "warning": "resource_not_found",
        "message": format!(
            "{} resource doesn't currently exist, subscription was still made successfully",
            resource.warning_name()
        ),
    })
    .to_string()
}

/// The only documented error (NOTES.md m2.single-error): malformed frames, and subscribes to a KV
/// scope the connection named no project/world for.
pub fn invalid_format() -> String {
    json!({ "error": INVALID_MESSAGE_FORMAT }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::m2::resource::{Datasource, KvId, Scope, Store};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn the_documents_examples_parse() {
        let kv = r#"{ "action": "subscribe", "resource": { "type": "kvStore", "id": "World:kvstoreClient:testKey" } }"#;
        assert_eq!(
            parse(kv),
            Ok(ClientMessage {
                action: Action::Subscribe,
                resource: Resource::KvStore(KvId {
                    scope: Scope::World,
                    store: Store::Client,
                    key: "testKey".into()
                }),
            })
        );
        let collection =
            r#"{"action":"unsubscribe","resource":{"type":"collection","id":"public"}}"#;
        assert_eq!(
            parse(collection).map(|m| (m.action, m.resource)),
            Ok((
                Action::Unsubscribe,
                Resource::Collection(Datasource::Public)
            ))
        );
        let typographic = "{\"action\": \"subscribe\", \"resource\": {\"type\": \u{201c}liveConfig\", \"id\": \u{201c}game\"}}";
        assert_eq!(parse(typographic), Err(Malformed::NotJson));
    }

    #[test]
    fn malformed_messages() {
        for (text, why) in [
            ("not json", Malformed::NotJson),
            ("[]", Malformed::NotObject),
            ("\"subscribe\"", Malformed::NotObject),
            (
                r#"{"resource":{"type":"collection","id":"public"}}"#,
                Malformed::Missing("action"),
            ),
            (
                r#"{"action":1,"resource":{"type":"collection","id":"public"}}"#,
                Malformed::Missing("action"),
            ),
            (r#"{"action":"subscribe"}"#, Malformed::Missing("resource")),
            (
                r#"{"action":"subscribe","resource":"public"}"#,
                Malformed::Missing("resource"),
            ),
            (
                r#"{"action":"subscribe","resource":{"id":"public"}}"#,
                Malformed::Missing("type"),
            ),
            (
                r#"{"action":"subscribe","resource":{"type":"collection","id":7}}"#,
                Malformed::Missing("id"),
            ),
            (
                r#"{"action":"publish","resource":{"type":"collection","id":"public"}}"#,
                Malformed::UnknownAction,
            ),
            (
                r#"{"action":"subscribe","resource":{"type":"table","id":"public"}}"#,
                Malformed::BadResource,
            ),
            (
                r#"{"action":"subscribe","resource":{"type":"kvStore","id":"testKey"}}"#,
                Malformed::BadResource,
            ),
            (
                r#"{"action":"subscribe","resource":{"type":"collection","id":"public"},"x":1}"#,
                Malformed::Unexpected("x".into()),
            ),
            (
                r#"{"action":"subscribe","resource":{"type":"collection","id":"public","x":1}}"#,
                Malformed::Unexpected("x".into()),
            ),
        ] {
            assert_eq!(parse(text), Err(why), "{text}");
        }
    }

    #[test]
    fn rendered_frames() {
        let at = UNIX_EPOCH + Duration::from_millis(1_706_629_835_742);
        assert_eq!(version(at), "2024-01-30T15:50:35.742Z");
        let r = Resource::Collection(Datasource::Private);
        assert_eq!(
            success("u", &r, &json!({"userCollection": []}), at),
            r#"{"userId":"u","resource":{"type":"collection","id":"private"},"data":{"userCollection":[]},"version":"2024-01-30T15:50:35.742Z"}"#
        );
        let kv = Resource::parse("kvStore", "World:kvstoreClient:testKey").expect("valid");
        assert_eq!(
            not_found(&kv),
            r#"{"warning":"resource_not_found","message":"KVStore resource doesn't currently exist, subscription was still made successfully"}"#
        );
        assert_eq!(invalid_format(), r#"{"error":"Invalid message format"}"#);
    }
}
