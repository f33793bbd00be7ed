//! Reading a transcript entry's text back into structure: JSON frames, Engine.IO / Socket.IO packets (a digit
//! prefix and JSON), the URL and headers of a connect, the parts of an HTTP request or response.

use serde_json::{Map, Value};

use crate::transcript::EntryKind;

/// The structure of one entry's text.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A JSON object or array (or the structure of a connect or HTTP entry).
    Json(Value),
    /// A packet: a prefix such as `42` followed by JSON.
    Packet { prefix: String, json: Value },
    /// Anything else, kept as text.
    Text(String),
}

impl Body {
    pub fn parse(kind: EntryKind, text: &str) -> Body {
        match kind {
            EntryKind::Send | EntryKind::Recv => frame(text),
            EntryKind::Connect => connect(text),
            EntryKind::Http => http(text),
            EntryKind::Reject | EntryKind::Close | EntryKind::Violation | EntryKind::Note => {
                Body::Text(text.to_owned())
            }
        }
    }

    /// The same body with the keys of every JSON object sorted, so key order never shows as a change.
    pub fn canonical(self) -> Body {
        match self {
            Body::Json(v) => Body::Json(canonical(&v)),
            Body::Packet { prefix, json } => Body::Packet {
                prefix,
                json: canonical(&json),
            },
            text => text,
        }
    }

    /// The value a normalized line holds: JSON as JSON, a packet as its text, text as a string.
    pub fn into_value(self) -> Value {
        match self {
            Body::Json(v) => v,
            Body::Packet { prefix, json } => Value::String(format!("{prefix}{json}")),
            Body::Text(t) => Value::String(t),
        }
    }
}

/// `value` with the keys of every object in sorted order.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn structured(text: &str) -> Option<Value> {
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

/// A WebSocket frame's text.
fn frame(text: &str) -> Body {
    if let Some(json) = structured(text) {
        return Body::Json(json);
    }
    if let Some(start) = text.find(['{', '[']) {
        let prefix = &text[..start];
        let is_packet_prefix = prefix.starts_with(|c: char| c.is_ascii_digit())
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | ',' | '-' | '_'));
        if is_packet_prefix {
            if let Some(json) = structured(&text[start..]) {
                return Body::Packet {
                    prefix: prefix.to_owned(),
                    json,
                };
            }
        }
    }
    Body::Text(text.to_owned())
}

/// `url` then one `name: value` header per line.
fn connect(text: &str) -> Body {
    let mut lines = text.lines();
    let url = lines.next().unwrap_or_default().trim();
    let mut object = Map::new();
    object.insert("url".into(), Value::String(url.to_owned()));
    let headers: Map<String, Value> = lines
        .filter_map(|line| line.trim().split_once(':'))
        .map(|(name, value)| {
            (
                name.trim().to_owned(),
                Value::String(value.trim().to_owned()),
            )
        })
        .collect();
    if !headers.is_empty() {
        object.insert("headers".into(), Value::Object(headers));
    }
    Body::Json(Value::Object(object))
}

/// `METHOD URL[ BODY]` or `STATUS[ BODY]`.
fn http(text: &str) -> Body {
    let (first, rest) = text.split_once(' ').unwrap_or((text, ""));
    let mut object = Map::new();
    if let Ok(status) = first.parse::<u16>() {
        object.insert("status".into(), Value::from(status));
        insert_body(&mut object, rest);
    } else {
        let (url, body) = rest.split_once(' ').unwrap_or((rest, ""));
        object.insert("method".into(), Value::String(first.to_owned()));
        object.insert("url".into(), Value::String(url.to_owned()));
        insert_body(&mut object, body);
    }
    Body::Json(Value::Object(object))
}

fn insert_body(object: &mut Map<String, Value>, body: &str) {
    let body = body.trim();
    if body.is_empty() {
        return;
    }
    let value =
        serde_json::from_str::<Value>(body).unwrap_or_else(|_| Value::String(body.to_owned()));
    object.insert("body".into(), value);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn frames_packets_and_text() {
        assert_eq!(
            Body::parse(EntryKind::Recv, r#"{"b":1,"a":2}"#)
                .canonical()
                .into_value()
                .to_string(),
            r#"{"a":2,"b":1}"#
        );
        assert_eq!(
            Body::parse(EntryKind::Recv, r#"42["activity",{"z":1,"a":[]}]"#)
                .canonical()
                .into_value(),
            json!(r#"42["activity",{"a":[],"z":1}]"#)
        );
        assert_eq!(Body::parse(EntryKind::Recv, "40"), Body::Text("40".into()));
        assert_eq!(
            Body::parse(EntryKind::Send, "2probe"),
            Body::Text("2probe".into())
        );
        assert_eq!(
            Body::parse(EntryKind::Recv, "not {json"),
            Body::Text("not {json".into())
        );
    }

    #[test]
    fn connect_and_http_entries() {
        assert_eq!(
            Body::parse(EntryKind::Connect, "ws://h/x\n    x-api-key: k\n    b: 1").into_value(),
            json!({"url": "ws://h/x", "headers": {"x-api-key": "k", "b": "1"}})
        );
        assert_eq!(
            Body::parse(EntryKind::Http, r#"POST http://h/api {"a":1}"#).into_value(),
            json!({"method": "POST", "url": "http://h/api", "body": {"a": 1}})
        );
        assert_eq!(
            Body::parse(EntryKind::Http, r#"200 "40\u{1e}42""#).into_value(),
            json!({"status": 200, "body": r#""40\u{1e}42""#})
        );
        assert_eq!(
            Body::parse(EntryKind::Http, "DELETE http://h/x").into_value(),
            json!({"method": "DELETE", "url": "http://h/x"})
        );
    }
}
