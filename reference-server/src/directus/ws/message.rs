//! Incoming messages: the envelope every frame must have (`type`, optional `uid`), then the shape of
//! each kind the server acts on.

use serde_json::{Map, Value};

use super::validate::{
    check_fields, check_union, invalid_type, validation_error, Expect, FieldRule,
};
use crate::directus::auth::is_email;

/// A frame that parsed as JSON and has a valid envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub kind: String,
    /// The client's correlation id, a string or a number, echoed as given.
    pub uid: Option<Value>,
    pub body: Map<String, Value>,
}

/// Why a frame has no valid envelope; both are answered with a `server` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not JSON at all.
    Unparsable,
    /// JSON, but not an object with a string `type` (and a string or number `uid`).
    Invalid(String),
}

impl Envelope {
    pub fn parse(text: &str) -> Result<Envelope, EnvelopeError> {
        let value: Value = serde_json::from_str(text).map_err(|_| EnvelopeError::Unparsable)?;
        let Value::Object(body) = value else {
            return Err(EnvelopeError::Invalid(validation_error(&[invalid_type(
                "object",
                Some(&value),
                "",
            )])));
        };
        let issues = check_fields(
            &body,
            &[
                ("type", Expect::String, false),
                ("uid", Expect::StringOrNumber, true),
            ],
        );
        if !issues.is_empty() {
            return Err(EnvelopeError::Invalid(validation_error(&issues)));
        }
        Ok(Envelope {
            kind: body
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            uid: body.get("uid").cloned(),
            body,
        })
    }

    /// The uid as text, as subscriptions keep it (`99` → `"99"`).
    pub fn uid_text(&self) -> Option<String> {
        self.uid.as_ref().map(uid_text)
    }
}

pub fn uid_text(uid: &Value) -> String {
    match uid {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The credentials of an `auth` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    Password { email: String, password: String },
    AccessToken(String),
    RefreshToken(String),
}

impl Credentials {
    /// The first form the message matches, as the real server tries them; `None` when it matches none.
    pub fn from_body(body: &Map<String, Value>) -> Option<Credentials> {
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        if let (Some(email), Some(password)) = (text("email"), text("password")) {
            if is_email(&email) {
                return Some(Credentials::Password { email, password });
            }
        }
        text("access_token")
            .map(Credentials::AccessToken)
            .or_else(|| text("refresh_token").map(Credentials::RefreshToken))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Create,
    Update,
    Delete,
}

const EVENTS: &[&str] = &["create", "update", "delete"];

/// A valid `subscribe` message.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscribeRequest {
    pub collection: String,
    pub event: Option<EventKind>,
    pub item: Option<Value>,
    pub query: Option<Value>,
}

impl SubscribeRequest {
    /// Err: the `Validation error: …` text.
    pub fn from_body(body: &Map<String, Value>) -> Result<SubscribeRequest, String> {
        let issues = check_fields(
            body,
            &[
                ("collection", Expect::String, false),
                ("event", Expect::OneOf(EVENTS), true),
                ("item", Expect::StringOrNumber, true),
                ("query", Expect::Record, true),
            ],
        );
        if !issues.is_empty() {
            return Err(validation_error(&issues));
        }
        Ok(SubscribeRequest {
            collection: body
                .get("collection")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            event: body
                .get("event")
                .and_then(Value::as_str)
                .and_then(|e| match e {
                    "create" => Some(EventKind::Create),
                    "update" => Some(EventKind::Update),
                    "delete" => Some(EventKind::Delete),
                    _ => None,
                }),
            item: body.get("item").cloned(),
            query: body.get("query").cloned(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemsAction {
    Create,
    Read,
    Update,
    Delete,
}

/// A valid `items` message.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsRequest {
    pub collection: String,
    pub action: ItemsAction,
    pub data: Option<Value>,
    pub id: Option<Value>,
    pub ids: Option<Vec<Value>>,
    pub query: Option<Value>,
}

const CREATE_RULES: &[FieldRule] = &[
    ("collection", Expect::String, false),
    ("action", Expect::OneOf(&["create"]), false),
    ("data", Expect::Any, true),
    ("query", Expect::Any, true),
];
const READ_RULES: &[FieldRule] = &[
    ("collection", Expect::String, false),
    ("action", Expect::OneOf(&["read"]), false),
    ("ids", Expect::KeyList, true),
    ("id", Expect::StringOrNumber, true),
    ("query", Expect::Any, true),
];
const UPDATE_RULES: &[FieldRule] = &[
    ("collection", Expect::String, false),
    ("action", Expect::OneOf(&["update"]), false),
    ("data", Expect::Any, true),
    ("ids", Expect::KeyList, true),
    ("id", Expect::StringOrNumber, true),
    ("query", Expect::Any, true),
];
const DELETE_RULES: &[FieldRule] = &[
    ("collection", Expect::String, false),
    ("action", Expect::OneOf(&["delete"]), false),
    ("ids", Expect::KeyList, true),
    ("id", Expect::StringOrNumber, true),
    ("query", Expect::Any, true),
];

impl ItemsRequest {
    /// Err: the `Validation error: …` text.
    pub fn from_body(body: &Map<String, Value>) -> Result<ItemsRequest, String> {
        let action = match check_union(
            body,
            &[CREATE_RULES, READ_RULES, UPDATE_RULES, DELETE_RULES],
        ) {
            Ok(0) => ItemsAction::Create,
            Ok(1) => ItemsAction::Read,
            Ok(2) => ItemsAction::Update,
            Ok(_) => ItemsAction::Delete,
            Err(issues) => return Err(format!("Validation error: {issues}")),
        };
        let present = |key: &str| body.get(key).filter(|v| !v.is_null()).cloned();
        Ok(ItemsRequest {
            collection: body
                .get("collection")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            action,
            data: present("data"),
            id: match action {
                ItemsAction::Create => None,
                _ => present("id"),
            },
            ids: match action {
                ItemsAction::Create => None,
                _ => body.get("ids").and_then(Value::as_array).cloned(),
            },
            // A null query is kept, so that `Query::parse` refuses it like any non-object.
            query: body.get("query").cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn envelope_errors_are_worded_like_the_real_server() {
        assert_eq!(Envelope::parse("{not json"), Err(EnvelopeError::Unparsable));
        let cases = [
            (
                "[1,2,3]",
                "Validation error: Invalid input: expected object, received array",
            ),
            (
                "42",
                "Validation error: Invalid input: expected object, received number",
            ),
            (
                "\"str\"",
                "Validation error: Invalid input: expected object, received string",
            ),
            (
                "null",
                "Validation error: Invalid input: expected object, received null",
            ),
            (
                "{}",
                "Validation error: Invalid input: expected string, received undefined at \"type\"",
            ),
            (
                "{\"type\":5}",
                "Validation error: Invalid input: expected string, received number at \"type\"",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(
                Envelope::parse(text),
                Err(EnvelopeError::Invalid(message.into())),
                "{text}"
            );
        }
        let ok = Envelope::parse(r#"{"type":"ping","uid":42}"#).expect("valid");
        assert_eq!(ok.kind, "ping");
        assert_eq!(ok.uid_text(), Some("42".into()));
    }

    #[test]
    fn credentials_forms() {
        assert_eq!(
            Credentials::from_body(&body(json!({"email": "a@example.com", "password": "p"}))),
            Some(Credentials::Password {
                email: "a@example.com".into(),
                password: "p".into()
            })
        );
        assert_eq!(
            Credentials::from_body(&body(json!({"email": "not-an-email", "password": "x"}))),
            None
        );
        assert_eq!(
            Credentials::from_body(&body(json!({"uid": "no-creds"}))),
            None
        );
        assert_eq!(
            Credentials::from_body(&body(json!({"refresh_token": "r"}))),
            Some(Credentials::RefreshToken("r".into()))
        );
        assert_eq!(
            Credentials::from_body(&body(json!({"access_token": 5}))),
            None
        );
    }

    #[test]
    fn items_union_errors_list_every_action() {
        let err =
            ItemsRequest::from_body(&body(json!({"type": "items", "action": "read"}))).unwrap_err();
        assert_eq!(err, "Validation error: Invalid input: expected string, received undefined at \"collection\"; Invalid input: expected \"create\" at \"action\" or Invalid input: expected string, received undefined at \"collection\" or Invalid input: expected string, received undefined at \"collection\"; Invalid input: expected \"update\" at \"action\" or Invalid input: expected string, received undefined at \"collection\"; Invalid input: expected \"delete\" at \"action\"");
        let err = ItemsRequest::from_body(&body(
            json!({"collection": "m", "action": "upsert", "data": {}}),
        ))
        .unwrap_err();
        assert_eq!(err, "Validation error: Invalid input: expected \"create\" at \"action\" or Invalid input: expected \"read\" at \"action\" or Invalid input: expected \"update\" at \"action\" or Invalid input: expected \"delete\" at \"action\"");
        let ok = ItemsRequest::from_body(&body(
            json!({"collection": "m", "action": "delete", "ids": [16]}),
        ))
        .expect("valid");
        assert_eq!(ok.action, ItemsAction::Delete);
        assert_eq!(ok.ids, Some(vec![json!(16)]));
    }
}
