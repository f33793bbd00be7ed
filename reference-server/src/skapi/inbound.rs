//! Client → server frames: parsing a text frame into a [`ClientFrame`], or a [`FrameError`] whose
//! text becomes the `#error` answer.
//!
//! A frame must have exactly the shape of `schemas/skapi/client/` (NOTES SKAPI-ERROR): a missing,
//! mistyped or unknown field is refused with a text naming it, so nothing malformed reaches a group.

use serde_json::{Map, Value};

use super::rtc_signal::{self, RtcSignalError};

/// One understood client frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    KeepAlive,
    /// `rid: None` leaves the current group (`rid` null or `""`).
    JoinRoom {
        rid: Option<String>,
        token: String,
    },
    Broadcast {
        rid: String,
        content: Value,
        token: String,
    },
    SendMessage {
        uid: String,
        content: Value,
        token: String,
    },
    /// `target` is the bare connection id, without its `cid:` prefix.
    Rtc {
        target: String,
        content: Value,
        token: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("Frame is not valid JSON.")]
    NotJson,
    #[error("Frame must be a JSON object.")]
    NotObject,
    #[error("Frame has no \"action\" string.")]
    MissingAction,
    #[error(
        "Unknown action \"{0}\"; expected keepAlive, joinRoom, broadcast, sendMessage or rtc."
    )]
    UnknownAction(String),
    #[error("\"{action}\" requires the field \"{field}\".")]
    MissingField {
        action: &'static str,
        field: &'static str,
    },
    #[error("\"{field}\" of \"{action}\" must be {expected}.")]
    WrongType {
        action: &'static str,
        field: &'static str,
        expected: &'static str,
    },
    #[error("\"{action}\" has no field \"{field}\".")]
    UnknownField { action: &'static str, field: String },
    #[error("\"token\" of \"{action}\" must be {expected}.")]
    MalformedToken {
        action: &'static str,
        expected: &'static str,
    },
    #[error("Group name must not contain \"#\".")]
    GroupNameWithHash,
    #[error("\"uid\" of \"sendMessage\" must be a user id (UUID).")]
    NotAUserId,
    #[error("\"uid\" of \"rtc\" must be \"cid:<connection id>\".")]
    NotAConnectionTarget,
    #[error("\"notification\" must be at most 3072 characters.")]
    NotificationTooLong,
    #[error("Invalid rtc content: {0}")]
    RtcSignal(#[from] RtcSignalError),
    #[error("Binary frames are not supported; send JSON text frames.")]
    Binary,
}

const NOTIFICATION_MAX_CHARS: usize = 3072;

/// Parses one text frame.
pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    let value: Value = serde_json::from_str(text).map_err(|_| FrameError::NotJson)?;
    let Value::Object(fields) = value else {
        return Err(FrameError::NotObject);
    };
    let action = match fields.get("action") {
        Some(Value::String(action)) => action.as_str(),
        _ => return Err(FrameError::MissingAction),
    };
    let action =
        Action::named(action).ok_or_else(|| FrameError::UnknownAction(truncate(action)))?;
    if let Some(field) = fields
        .keys()
        .find(|k| !action.fields().contains(&k.as_str()))
    {
        return Err(FrameError::UnknownField {
            action: action.name(),
            field: truncate(field),
        });
    }
    match action {
        Action::KeepAlive => Ok(ClientFrame::KeepAlive),
        Action::JoinRoom => join_room(&fields),
        Action::Broadcast => broadcast(&fields),
        Action::SendMessage => send_message(&fields),
        Action::Rtc => rtc(&fields),
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    KeepAlive,
    JoinRoom,
    Broadcast,
    SendMessage,
    Rtc,
}

impl Action {
    const ALL: [Action; 5] = [
        Action::KeepAlive,
        Action::JoinRoom,
        Action::Broadcast,
        Action::SendMessage,
        Action::Rtc,
    ];

    fn named(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    fn name(self) -> &'static str {
        match self {
            Action::KeepAlive => "keepAlive",
            Action::JoinRoom => "joinRoom",
            Action::Broadcast => "broadcast",
            Action::SendMessage => "sendMessage",
            Action::Rtc => "rtc",
        }
    }

    /// Every field the frame may have.
    fn fields(self) -> &'static [&'static str] {
        const MESSAGE: [&str; 6] = [
            "action",
            "rid",
            "content",
            "notification",
            "notificationConfig",
            "token",
        ];
        const PRIVATE: [&str; 6] = [
            "action",
            "uid",
            "content",
            "notification",
            "notificationConfig",
            "token",
        ];
        match self {
            Action::KeepAlive => &["action"],
            Action::JoinRoom => &["action", "rid", "token"],
            Action::Broadcast => &MESSAGE,
            Action::SendMessage => &PRIVATE,
            Action::Rtc => &["action", "uid", "content", "token"],
        }
    }
}

fn join_room(fields: &Map<String, Value>) -> Result<ClientFrame, FrameError> {
    const ACTION: &str = "joinRoom";
    let rid = match fields.get("rid") {
        None => {
            return Err(FrameError::MissingField {
                action: ACTION,
                field: "rid",
            })
        }
        Some(Value::Null) => None,
        Some(Value::String(rid)) if rid.is_empty() => None,
        Some(Value::String(rid)) => Some(group_name(rid)?),
        Some(_) => {
            return Err(FrameError::WrongType {
                action: ACTION,
                field: "rid",
                expected: "a string or null",
            })
        }
    };
    Ok(ClientFrame::JoinRoom {
        rid,
        token: token(fields, ACTION, TokenForm::Access)?,
    })
}

fn broadcast(fields: &Map<String, Value>) -> Result<ClientFrame, FrameError> {
    const ACTION: &str = "broadcast";
    let rid = required_string(fields, ACTION, "rid")?;
    if rid.is_empty() {
        return Err(FrameError::WrongType {
            action: ACTION,
            field: "rid",
            expected: "a non-empty group name",
        });
    }
    check_notification(fields, ACTION)?;
    Ok(ClientFrame::Broadcast {
        rid: group_name(rid)?,
        content: content(fields, ACTION)?,
        token: token(fields, ACTION, TokenForm::Identity)?,
    })
}

fn send_message(fields: &Map<String, Value>) -> Result<ClientFrame, FrameError> {
    const ACTION: &str = "sendMessage";
    let uid = required_string(fields, ACTION, "uid")?;
    if !is_user_id(uid) {
        return Err(FrameError::NotAUserId);
    }
    check_notification(fields, ACTION)?;
    Ok(ClientFrame::SendMessage {
        uid: uid.to_owned(),
        content: content(fields, ACTION)?,
        token: token(fields, ACTION, TokenForm::Identity)?,
    })
}

fn rtc(fields: &Map<String, Value>) -> Result<ClientFrame, FrameError> {
    const ACTION: &str = "rtc";
    let target = required_string(fields, ACTION, "uid")?
        .strip_prefix("cid:")
        .filter(|cid| is_connection_id(cid))
        .ok_or(FrameError::NotAConnectionTarget)?;
    let content = content(fields, ACTION)?;
    rtc_signal::check(&content)?;
    Ok(ClientFrame::Rtc {
        target: target.to_owned(),
        content,
        token: token(fields, ACTION, TokenForm::Access)?,
    })
}

fn required_string<'a>(
    fields: &'a Map<String, Value>,
    action: &'static str,
    field: &'static str,
) -> Result<&'a str, FrameError> {
    match fields.get(field) {
        None => Err(FrameError::MissingField { action, field }),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(FrameError::WrongType {
            action,
            field,
            expected: "a string",
        }),
    }
}

/// Which token a frame carries (NOTES SKAPI-TOKEN-FORMS).
#[derive(Debug, Clone, Copy)]
enum TokenForm {
    /// The bare access token: `joinRoom`, `rtc`.
    Access,
    /// `IdT:<service>:<owner>:<id token>`: `broadcast`, `sendMessage`.
    Identity,
}

/// The token's shape only; whether it is valid and the connection's is the session's check.
fn token(
    fields: &Map<String, Value>,
    action: &'static str,
    form: TokenForm,
) -> Result<String, FrameError> {
    let token = required_string(fields, action, "token")?;
    let no_space = |s: &str| !s.is_empty() && !s.chars().any(char::is_whitespace);
    let well_formed = match form {
        TokenForm::Access => no_space(token),
        TokenForm::Identity => token
            .strip_prefix("IdT:")
            .and_then(|rest| {
                let mut parts = rest.splitn(3, ':');
                Some((parts.next()?, parts.next()?, parts.next()?))
            })
            .is_some_and(|(service, owner, id_token)| {
                no_space(service) && no_space(owner) && no_space(id_token)
            }),
    };
    if !well_formed {
        return Err(FrameError::MalformedToken {
            action,
            expected: match form {
                TokenForm::Access => "an access token",
                TokenForm::Identity => "\"IdT:<service>:<owner>:<id token>\"",
            },
        });
    }
    Ok(token.to_owned())
}

/// Any JSON value, `null` included: only an absent `content` is an error.
fn content(fields: &Map<String, Value>, action: &'static str) -> Result<Value, FrameError> {
    fields
        .get("content")
        .cloned()
        .ok_or(FrameError::MissingField {
            action,
            field: "content",
        })
}

/// The web-push fields are not used on the socket, but a wrong type is still a malformed frame.
fn check_notification(fields: &Map<String, Value>, action: &'static str) -> Result<(), FrameError> {
    match fields.get("notification") {
        None => {}
        Some(Value::String(s)) if s.chars().count() > NOTIFICATION_MAX_CHARS => {
            return Err(FrameError::NotificationTooLong)
        }
        Some(Value::String(_)) => {}
        Some(_) => {
            return Err(FrameError::WrongType {
                action,
                field: "notification",
                expected: "a string",
            })
        }
    }
    let config_ok = match fields.get("notificationConfig") {
        None => true,
        Some(Value::Object(config)) => config
            .iter()
            .all(|(key, value)| key == "always" && value.is_boolean()),
        Some(_) => false,
    };
    if config_ok {
        Ok(())
    } else {
        Err(FrameError::WrongType {
            action,
            field: "notificationConfig",
            expected: "{} or {\"always\": <boolean>}",
        })
    }
}

/// The service lists groups as `<service>#<group>`, and the SDK splits those on `#`.
fn group_name(rid: &str) -> Result<String, FrameError> {
    if rid.contains('#') {
        return Err(FrameError::GroupNameWithHash);
    }
    Ok(rid.to_owned())
}

/// 8-4-4-4-12 hexadecimal digits, any case: the check the SDK applies before a private message.
pub fn is_user_id(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The characters of an API Gateway connection id plus `_` `-` `.`, at most 128.
pub fn is_connection_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_.-".contains(&b))
}

/// Keeps an echoed peer string short in error texts.
fn truncate(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        return s.to_owned();
    }
    let mut short: String = s.chars().take(MAX).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const UID: &str = "b0b00000-0000-4000-8000-000000000b0b";

    #[test]
    fn the_sdk_frames_parse() {
        assert_eq!(
            parse(r#"{"action":"keepAlive"}"#),
            Ok(ClientFrame::KeepAlive)
        );
        assert_eq!(
            parse(r#"{"action":"joinRoom","rid":"HelloWorld","token":"t"}"#),
            Ok(ClientFrame::JoinRoom {
                rid: Some("HelloWorld".into()),
                token: "t".into()
            })
        );
        for leave in [
            r#"{"action":"joinRoom","rid":null,"token":"t"}"#,
            r#"{"action":"joinRoom","rid":"","token":"t"}"#,
        ] {
            assert_eq!(
                parse(leave),
                Ok(ClientFrame::JoinRoom {
                    rid: None,
                    token: "t".into()
                })
            );
        }
        assert_eq!(
            parse(
                r#"{"action":"broadcast","rid":"g","content":{"msg":"hi"},"notification":"","notificationConfig":{},"token":"IdT:s:o:j"}"#
            ),
            Ok(ClientFrame::Broadcast {
                rid: "g".into(),
                content: json!({"msg":"hi"}),
                token: "IdT:s:o:j".into()
            })
        );
        assert_eq!(
            parse(&format!(
                r#"{{"action":"sendMessage","uid":"{UID}","content":0,"token":"IdT:s:o:j"}}"#
            )),
            Ok(ClientFrame::SendMessage {
                uid: UID.into(),
                content: json!(0),
                token: "IdT:s:o:j".into()
            })
        );
        assert_eq!(
            parse(&format!(
                r#"{{"action":"rtc","uid":"cid:abc=","content":{{"hungup":"{UID}"}},"token":"t"}}"#
            )),
            Ok(ClientFrame::Rtc {
                target: "abc=".into(),
                content: json!({"hungup": UID}),
                token: "t".into()
            })
        );
    }

    #[test]
    fn null_content_is_content() {
        let frame = parse(r#"{"action":"broadcast","rid":"g","content":null,"token":"IdT:s:o:j"}"#);
        assert!(matches!(
            frame,
            Ok(ClientFrame::Broadcast {
                content: Value::Null,
                ..
            })
        ));
    }

    #[test]
    fn malformed_frames_name_their_fault() {
        let cases: &[(&str, FrameError)] = &[
            ("not json", FrameError::NotJson),
            ("[1]", FrameError::NotObject),
            (r#"{"rid":"g"}"#, FrameError::MissingAction),
            (r#"{"action":7}"#, FrameError::MissingAction),
            (
                r#"{"action":"dance"}"#,
                FrameError::UnknownAction("dance".into()),
            ),
            (
                r#"{"action":"joinRoom","token":"t"}"#,
                FrameError::MissingField {
                    action: "joinRoom",
                    field: "rid",
                },
            ),
            (
                r#"{"action":"joinRoom","rid":5,"token":"t"}"#,
                FrameError::WrongType {
                    action: "joinRoom",
                    field: "rid",
                    expected: "a string or null",
                },
            ),
            (
                r#"{"action":"joinRoom","rid":"a#b","token":"t"}"#,
                FrameError::GroupNameWithHash,
            ),
            (
                r#"{"action":"broadcast","rid":"g","token":"t"}"#,
                FrameError::MissingField {
                    action: "broadcast",
                    field: "content",
                },
            ),
            (
                r#"{"action":"broadcast","rid":"g","content":1}"#,
                FrameError::MissingField {
                    action: "broadcast",
                    field: "token",
                },
            ),
            (
                r#"{"action":"broadcast","rid":"g","content":1,"notification":{},"token":"t"}"#,
                FrameError::WrongType {
                    action: "broadcast",
                    field: "notification",
                    expected: "a string",
                },
            ),
            (
                r#"{"action":"sendMessage","uid":"bob","content":1,"token":"t"}"#,
                FrameError::NotAUserId,
            ),
            (
                r#"{"action":"keepAlive","token":"t"}"#,
                FrameError::UnknownField {
                    action: "keepAlive",
                    field: "token".into(),
                },
            ),
            (
                r#"{"action":"broadcast","rid":"g","content":1,"token":"t","extra":1}"#,
                FrameError::UnknownField {
                    action: "broadcast",
                    field: "extra".into(),
                },
            ),
            (
                r#"{"action":"broadcast","rid":"g","content":1,"notificationConfig":{"always":1},"token":"t"}"#,
                FrameError::WrongType {
                    action: "broadcast",
                    field: "notificationConfig",
                    expected: "{} or {\"always\": <boolean>}",
                },
            ),
            (
                r#"{"action":"rtc","uid":"abc","content":{"hungup":"x"},"token":"t"}"#,
                FrameError::NotAConnectionTarget,
            ),
            (
                r#"{"action":"rtc","uid":"cid:a b","content":{"hungup":"x"},"token":"t"}"#,
                FrameError::NotAConnectionTarget,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).as_ref(), Err(expected), "{text}");
        }
    }

    #[test]
    fn tokens_must_have_the_form_of_their_action() {
        for (text, action) in [
            (r#"{"action":"joinRoom","rid":"g","token":""}"#, "joinRoom"),
            (
                r#"{"action":"joinRoom","rid":"g","token":"Bearer abc"}"#,
                "joinRoom",
            ),
            (
                r#"{"action":"broadcast","rid":"g","content":1,"token":"a.b.c"}"#,
                "broadcast",
            ),
            (
                r#"{"action":"broadcast","rid":"g","content":1,"token":"IdT:s:o"}"#,
                "broadcast",
            ),
            (
                r#"{"action":"broadcast","rid":"g","content":1,"token":"IdT::o:j"}"#,
                "broadcast",
            ),
        ] {
            assert!(
                matches!(parse(text), Err(FrameError::MalformedToken { action: a, .. }) if a == action),
                "{text}"
            );
        }
    }

    /// Every client frame among the shared fixtures is judged as its label says.
    #[test]
    fn the_client_fixtures_are_accepted_or_refused_as_labelled() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/skapi");
        let mut seen = 0;
        for (label, accepted) in [("valid", true), ("invalid", false)] {
            let kinds = std::fs::read_dir(root.join(label).join("client")).expect("fixture folder");
            for kind in kinds.flatten() {
                for file in std::fs::read_dir(kind.path())
                    .expect("fixture kind")
                    .flatten()
                {
                    let path = file.path();
                    let text = std::fs::read_to_string(&path).expect("fixture text");
                    let result = parse(&text);
                    assert_eq!(result.is_ok(), accepted, "{}: {result:?}", path.display());
                    seen += 1;
                }
            }
        }
        assert!(seen > 0, "no client fixtures under {}", root.display());
    }

    #[test]
    fn a_long_unknown_action_is_shortened_in_the_error() {
        let long = "x".repeat(500);
        let Err(FrameError::UnknownAction(echoed)) = parse(&format!(r#"{{"action":"{long}"}}"#))
        else {
            panic!("expected an unknown action");
        };
        assert!(echoed.chars().count() <= 65);
    }

    #[test]
    fn user_and_connection_ids() {
        assert!(is_user_id(UID));
        assert!(is_user_id("B0B00000-0000-4000-8000-000000000B0B"));
        assert!(!is_user_id("b0b00000-0000-4000-8000-000000000b0"));
        assert!(!is_user_id("b0b00000000040008000000000000b0b"));
        assert!(!is_user_id("g0b00000-0000-4000-8000-000000000b0b"));
        assert!(is_connection_id("L0SM9cOFvHcCIhw="));
        assert!(!is_connection_id(""));
        assert!(!is_connection_id("a:b"));
        assert!(!is_connection_id(&"a".repeat(129)));
    }
}
