//! Server → client frames, rendered to text once and shared by every recipient.
//!
//! The SDK runs `decodeURI` on every frame before `JSON.parse`, so a literal `%` would make it throw
//! and drop the frame. Every `%` is therefore written as the JSON escape `\u0025`: still the same
//! JSON, and untouched by `decodeURI`.

use std::sync::Arc;

use serde_json::{json, Value};

/// A membership notice's kind, sent as `#code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeCode {
    Joined,
    Left,
    Disconnected,
}

impl NoticeCode {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeCode::Joined => "USER_JOINED",
            NoticeCode::Left => "USER_LEFT",
            NoticeCode::Disconnected => "USER_DISCONNECTED",
        }
    }

    fn text(self, user_id: &str) -> String {
        match self {
            NoticeCode::Joined => format!("User \"{user_id}\" has joined the message group."),
            NoticeCode::Left => format!("User \"{user_id}\" has left the message group."),
            NoticeCode::Disconnected => format!("User \"{user_id}\" has been disconnected."),
        }
    }
}

/// The sender of a frame: who and from which connection.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub user_id: &'a str,
    pub cid: &'a str,
}

/// `{"#message":…,"#user_id","#scid","#srid"}`: a group broadcast.
pub fn message(content: &Value, from: Origin<'_>, rid: &str) -> Arc<str> {
    render(&json!({
        "#message": content,
        "#user_id": from.user_id,
        "#scid": from.cid,
        "#srid": rid,
    }))
}

/// `{"#private":…,"#user_id","#scid"}`: a private message.
pub fn private(content: &Value, from: Origin<'_>) -> Arc<str> {
    render(&json!({
        "#private": content,
        "#user_id": from.user_id,
        "#scid": from.cid,
    }))
}

/// `{"#rtc":…,"#user_id","#scid"}`: a relayed WebRTC signal.
pub fn rtc(content: &Value, from: Origin<'_>) -> Arc<str> {
    render(&json!({
        "#rtc": content,
        "#user_id": from.user_id,
        "#scid": from.cid,
    }))
}

/// `{"#notice":…,"#user_id","#scid","#srid","#code"}`: a membership change of `subject`.
pub fn notice(code: NoticeCode, subject: Origin<'_>, rid: &str) -> Arc<str> {
    render(&json!({
        "#notice": code.text(subject.user_id),
        "#user_id": subject.user_id,
        "#scid": subject.cid,
        "#srid": rid,
        "#code": code.as_str(),
    }))
}

/// `{"#error":"…"}`.
pub fn error(text: &str) -> Arc<str> {
    render(&json!({ "#error": text }))
}

/// Serializes `frame` with every `%` escaped (see the module documentation).
pub fn render(frame: &Value) -> Arc<str> {
    let text = frame.to_string();
    if text.contains('%') {
        // `%` can only occur inside JSON strings (numbers and literals never hold it), where
        // `\u0025` is the same character.
        text.replace('%', "\\u0025").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: Origin<'static> = Origin {
        user_id: "a11ce000-0000-4000-8000-00000000a11c",
        cid: "abc",
    };

    #[test]
    fn percent_is_escaped_and_decodes_intact() {
        let content = json!({"100%": "50% off %41 %%"});
        let text = message(&content, FROM, "g%20");
        assert!(!text.contains('%'), "{text}");
        let back: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back["#message"], content);
        assert_eq!(back["#srid"], "g%20");
    }

    #[test]
    fn frames_have_exactly_the_documented_keys() {
        let frame: Value = serde_json::from_str(&private(&json!(false), FROM)).expect("valid JSON");
        assert_eq!(
            frame,
            json!({"#private": false, "#user_id": FROM.user_id, "#scid": "abc"})
        );
        let frame: Value =
            serde_json::from_str(&notice(NoticeCode::Left, FROM, "room")).expect("valid JSON");
        assert_eq!(
            frame,
            json!({
                "#notice": format!("User \"{}\" has left the message group.", FROM.user_id),
                "#user_id": FROM.user_id,
                "#scid": "abc",
                "#srid": "room",
                "#code": "USER_LEFT",
            })
        );
        let frame: Value = serde_json::from_str(&error("no")).expect("valid JSON");
        assert_eq!(frame, json!({"#error": "no"}));
    }
}
