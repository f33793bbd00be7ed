//! A received frame as a case sees it, and the patterns cases wait for.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::sio::{EngineType, Packet, SocketType};

/// The bytes of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Text(String),
    Binary(Vec<u8>),
}

/// One frame received from the server, already checked against the profile's server schemas.
#[derive(Debug, Clone)]
pub struct Frame {
    /// When it arrived, relative to the case start.
    pub at: Duration,
    pub payload: Payload,
    /// The Engine.IO / Socket.IO framing (gamevault only).
    pub packet: Option<Packet>,
    /// The JSON the schemas judged: the frame itself, or the Socket.IO packet's payload.
    pub value: Option<Value>,
    /// The message kinds (schema file stems) of the server direction that accept `value`.
    pub kinds: Vec<String>,
}

impl Frame {
    /// The text of a text frame.
    pub fn text(&self) -> Option<&str> {
        match &self.payload {
            Payload::Text(t) => Some(t),
            Payload::Binary(_) => None,
        }
    }

    /// The JSON value at a JSON pointer (`""` for the whole value).
    pub fn get(&self, pointer: &str) -> Option<&Value> {
        self.value.as_ref()?.pointer(pointer)
    }

    /// The string at a JSON pointer.
    pub fn str(&self, pointer: &str) -> Option<&str> {
        self.get(pointer)?.as_str()
    }

    /// Whether the server schema of `kind` accepts this frame.
    pub fn is(&self, kind: &str) -> bool {
        self.kinds.iter().any(|k| k == kind)
    }

    /// The Socket.IO event name (gamevault `42["name", …]`).
    pub fn event_name(&self) -> Option<&str> {
        self.packet.as_ref()?.event_name()
    }

    /// The Socket.IO event arguments after the name.
    pub fn event_args(&self) -> &[Value] {
        self.packet
            .as_ref()
            .map(Packet::event_args)
            .unwrap_or_default()
    }
}

/// Frames longer than this are cut when shown in a reason (the transcript keeps more, the case sees all).
const SHOWN_CHARS: usize = 600;

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.payload {
            Payload::Text(t) if t.chars().count() > SHOWN_CHARS => {
                let cut: String = t.chars().take(SHOWN_CHARS).collect();
                write!(f, "{cut}… ({} bytes)", t.len())
            }
            Payload::Text(t) => write!(f, "{t}"),
            Payload::Binary(b) => write!(f, "<binary, {} bytes>", b.len()),
        }
    }
}

type Test = Box<dyn Fn(&Frame) -> bool + Send + Sync>;

/// What a case waits for: built from a kind name (`"subscription"`), a JSON subset (`json!({"event":"init"})`),
/// or a described predicate ([`Pattern::when`]).
pub struct Pattern {
    description: String,
    test: Test,
}

impl Pattern {
    /// Any frame.
    pub fn any() -> Pattern {
        Pattern {
            description: "any frame".to_owned(),
            test: Box::new(|_| true),
        }
    }

    /// A frame the server schema of `kind` accepts.
    pub fn kind(kind: &str) -> Pattern {
        let owned = kind.to_owned();
        Pattern {
            description: format!("a `{kind}` frame"),
            test: Box::new(move |f| f.is(&owned)),
        }
    }

    /// A frame whose JSON contains `subset`: every member of every object in `subset` is present with an
    /// equal value (arrays and scalars compare whole).
    pub fn subset(subset: Value) -> Pattern {
        Pattern {
            description: format!("a frame containing {subset}"),
            test: Box::new(move |f| f.value.as_ref().is_some_and(|v| contains(v, &subset))),
        }
    }

    /// A Socket.IO event `name` (gamevault).
    pub fn event(name: &str) -> Pattern {
        let owned = name.to_owned();
        Pattern {
            description: format!("a `{name}` event"),
            test: Box::new(move |f| f.event_name() == Some(owned.as_str())),
        }
    }

    /// An Engine.IO packet of type `engine` (gamevault), e.g. `EngineType::Ping` in heartbeat cases.
    pub fn engine(engine: EngineType) -> Pattern {
        Pattern {
            description: format!("an Engine.IO {engine:?} packet"),
            test: Box::new(move |f| f.packet.as_ref().is_some_and(|p| p.engine == engine)),
        }
    }

    /// A Socket.IO packet of type `kind` (gamevault), e.g. `SocketType::ConnectError`.
    pub fn socket(kind: SocketType) -> Pattern {
        Pattern {
            description: format!("a Socket.IO {kind:?} packet"),
            test: Box::new(move |f| {
                f.packet
                    .as_ref()
                    .and_then(|p| p.socket.as_ref())
                    .is_some_and(|s| s.kind == kind)
            }),
        }
    }

    /// Any frame for which `test` holds; `description` says what it is in error messages.
    pub fn when(
        description: impl Into<String>,
        test: impl Fn(&Frame) -> bool + Send + Sync + 'static,
    ) -> Pattern {
        Pattern {
            description: description.into(),
            test: Box::new(test),
        }
    }

    /// Both this pattern and `other`.
    pub fn and(self, other: impl Into<Pattern>) -> Pattern {
        let other = other.into();
        Pattern {
            description: format!("{} and {}", self.description, other.description),
            test: Box::new(move |f| (self.test)(f) && (other.test)(f)),
        }
    }

    pub fn matches(&self, frame: &Frame) -> bool {
        (self.test)(frame)
    }

    pub fn description(&self) -> &str {
        &self.description
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

impl From<&str> for Pattern {
    fn from(kind: &str) -> Pattern {
        Pattern::kind(kind)
    }
}

impl From<Value> for Pattern {
    fn from(subset: Value) -> Pattern {
        Pattern::subset(subset)
    }
}

/// Whether `value` contains `subset` (see [`Pattern::subset`]).
pub fn contains(value: &Value, subset: &Value) -> bool {
    match (value, subset) {
        (Value::Object(have), Value::Object(want)) => want
            .iter()
            .all(|(k, w)| have.get(k).is_some_and(|h| contains(h, w))),
        _ => value == subset,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn subset_matches_nested_members_and_whole_arrays() {
        let have = json!({"type":"subscription","event":"create","data":[{"id":1}],"uid":"u"});
        assert!(contains(&have, &json!({"event":"create","uid":"u"})));
        assert!(contains(&have, &json!({"data":[{"id":1}]})));
        assert!(!contains(&have, &json!({"data":[]})));
        assert!(!contains(&have, &json!({"uid":"v"})));
        assert!(!contains(&have, &json!({"missing":null})));
    }
}
