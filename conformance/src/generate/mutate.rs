//! Invalid messages made from valid ones, one mutation at a time.
//!
//! Structural mutations change the JSON (drop a required member, a value of the wrong type, a value outside its
//! `enum`/`const`, a member a closed object does not allow, an item a closed array does not allow, garbage
//! members); each is judged by the validator, so a mutation that happens to stay valid (dropping a member that
//! another `oneOf` branch does not need, say) is marked as such and never counted as invalid.
//! Transport mutations break the frame instead (cut JSON text, bytes that are not UTF-8, a binary frame, a frame
//! over the size limit); what a server must do with them is the profile's transport rule, not a schema's.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::strategy::SBoxedStrategy;
use serde_json::{json, Value};

use super::build::pointer;
use super::merge::{branches, JsonType};
use super::primitives::any_json;
use super::resolve::{Documents, Node};

/// One change that makes a valid message invalid.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mutation", rename_all = "kebab-case")]
pub enum Mutation {
    /// A member the schema requires is removed.
    DropRequired { at: String, member: String },
    /// The value at `at` is replaced by one of a type the schema does not allow there.
    WrongType { at: String, replacement: Value },
    /// The value at `at` is replaced by one outside its `enum` / `const`.
    OutsideValues { at: String, replacement: Value },
    /// A member is added to an object whose schema allows no other members.
    ExtraMember {
        at: String,
        member: String,
        value: Value,
    },
    /// An item is added to an array whose schema allows no more items.
    ExtraItem { at: String, value: Value },
    /// Members with made-up names are added at the top level.
    Garbage { members: Vec<(String, Value)> },
    /// The JSON text is cut after `keep` bytes.
    Truncated { keep: usize },
    /// A byte sequence that is not UTF-8 is inserted into a text frame at byte `at`.
    InvalidUtf8 { at: usize },
    /// The JSON text travels in a binary frame.
    Binary,
    /// The message is padded to `bytes` bytes, over the frame size limit.
    Oversized { bytes: usize },
}

/// Whether a mutation is judged by the schemas or by the transport rules of the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Schema,
    Transport,
}

impl Mutation {
    pub fn layer(&self) -> Layer {
        match self {
            Mutation::Truncated { .. }
            | Mutation::InvalidUtf8 { .. }
            | Mutation::Binary
            | Mutation::Oversized { .. } => Layer::Transport,
            _ => Layer::Schema,
        }
    }

    /// A short name of the kind of mutation, for tallies.
    pub fn name(&self) -> &'static str {
        match self {
            Mutation::DropRequired { .. } => "drop-required",
            Mutation::WrongType { .. } => "wrong-type",
            Mutation::OutsideValues { .. } => "outside-enum",
            Mutation::ExtraMember { .. } => "extra-member",
            Mutation::ExtraItem { .. } => "extra-item",
            Mutation::Garbage { .. } => "garbage-members",
            Mutation::Truncated { .. } => "truncated-json",
            Mutation::InvalidUtf8 { .. } => "invalid-utf8",
            Mutation::Binary => "binary-frame",
            Mutation::Oversized { .. } => "oversized-frame",
        }
    }
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = |at: &str| {
            if at.is_empty() {
                "/".to_owned()
            } else {
                at.to_owned()
            }
        };
        match self {
            Mutation::DropRequired { at, member } => {
                write!(f, "dropped required member `{member}` at {}", place(at))
            }
            Mutation::WrongType { at, replacement } => {
                write!(
                    f,
                    "value at {} replaced by {replacement} (wrong type)",
                    place(at)
                )
            }
            Mutation::OutsideValues { at, replacement } => {
                write!(
                    f,
                    "value at {} replaced by {replacement} (outside enum/const)",
                    place(at)
                )
            }
            Mutation::ExtraMember { at, member, .. } => {
                write!(
                    f,
                    "member `{member}` added at {} (closed object)",
                    place(at)
                )
            }
            Mutation::ExtraItem { at, .. } => {
                write!(f, "item added at {} (closed array)", place(at))
            }
            Mutation::Garbage { members } => write!(
                f,
                "garbage members {}",
                members
                    .iter()
                    .map(|(n, _)| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Mutation::Truncated { keep } => write!(f, "JSON text cut after {keep} bytes"),
            Mutation::InvalidUtf8 { at } => write!(f, "invalid UTF-8 inserted at byte {at}"),
            Mutation::Binary => write!(f, "sent as a binary frame"),
            Mutation::Oversized { bytes } => write!(f, "padded to {bytes} bytes"),
        }
    }
}

/// How the bytes of a message travel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Wire {
    Text(String),
    /// A text frame whose payload is not UTF-8 (which a conforming client never sends).
    InvalidText(Vec<u8>),
    Binary(Vec<u8>),
}

impl Wire {
    pub fn len(&self) -> usize {
        match self {
            Wire::Text(t) => t.len(),
            Wire::InvalidText(b) | Wire::Binary(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            if text.len() > 200 {
                format!(
                    "{}… ({} bytes)",
                    &text[..char_floor(&text, 200)],
                    bytes.len()
                )
            } else {
                text.into_owned()
            }
        };
        match self {
            Wire::Text(t) => write!(f, "{}", shown(t.as_bytes())),
            Wire::InvalidText(b) => write!(f, "<text frame, not UTF-8> {}", shown(b)),
            Wire::Binary(b) => write!(f, "<binary frame> {}", shown(b)),
        }
    }
}

/// A valid message and one mutation of it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Mutated {
    pub original: Value,
    pub mutation: Mutation,
    /// The mutated JSON (structural mutations only).
    pub value: Option<Value>,
    pub wire: Wire,
    /// Structural: the judging schema rejects `value`. Transport: the frame is not a valid message at all
    /// (a cut text that still parses as JSON is not).
    pub rejected: bool,
}

/// Every place of a valid value where a structural mutation applies, from the schemas that apply there.
#[derive(Debug, Default)]
struct Sites {
    mutations: Vec<Template>,
    seen: BTreeSet<String>,
}

/// A mutation whose random parts (added values, names) are filled in later.
#[derive(Debug, Clone)]
enum Template {
    Drop {
        at: Vec<String>,
        member: String,
    },
    Replace {
        at: Vec<String>,
        replacement: Value,
        outside_values: bool,
    },
    Extra {
        at: Vec<String>,
        known: BTreeSet<String>,
    },
    ExtraItem {
        at: Vec<String>,
    },
    Garbage,
}

impl Sites {
    fn push(&mut self, template: Template) {
        let key = format!("{template:?}");
        if self.seen.insert(key) {
            self.mutations.push(template);
        }
    }

    fn collect(
        &mut self,
        docs: &Documents,
        nodes: &[Node],
        value: &Value,
        at: &[String],
        depth: usize,
    ) {
        if depth > 8 {
            return;
        }
        for canon in branches(docs, nodes) {
            if let Some(values) = &canon.values {
                if let Some(replacement) = outside(values, value) {
                    self.push(Template::Replace {
                        at: at.to_vec(),
                        replacement,
                        outside_values: true,
                    });
                }
            }
            if let Some(types) = &canon.types {
                for sample in [
                    json!(null),
                    json!(true),
                    json!(12345),
                    json!("mutated"),
                    json!([]),
                    json!({}),
                ] {
                    let kind = JsonType::of(&sample);
                    if !types.iter().any(|t| t.admits(kind)) && JsonType::of(value) != kind {
                        self.push(Template::Replace {
                            at: at.to_vec(),
                            replacement: sample,
                            outside_values: false,
                        });
                        break;
                    }
                }
            }
            match value {
                Value::Object(members) => {
                    for name in canon.required.iter().filter(|n| members.contains_key(*n)) {
                        self.push(Template::Drop {
                            at: at.to_vec(),
                            member: name.clone(),
                        });
                    }
                    if !canon.extras_allowed {
                        self.push(Template::Extra {
                            at: at.to_vec(),
                            known: canon.properties.keys().cloned().collect(),
                        });
                    }
                    for (name, member) in members {
                        if let Some(child) = canon.properties.get(name) {
                            let mut path = at.to_vec();
                            path.push(name.clone());
                            self.collect(docs, child, member, &path, depth + 1);
                        }
                    }
                }
                Value::Array(items) => {
                    if canon.max_items.is_some_and(|max| items.len() >= max) {
                        self.push(Template::ExtraItem { at: at.to_vec() });
                    }
                    for (i, item) in items.iter().enumerate() {
                        let child = canon
                            .prefix_items
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| canon.tail_items.clone());
                        if !child.is_empty() {
                            let mut path = at.to_vec();
                            path.push(i.to_string());
                            self.collect(docs, &child, item, &path, depth + 1);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// A value of the same JSON type as `current` that is not among `values`.
fn outside(values: &[Value], current: &Value) -> Option<Value> {
    let candidate = match current {
        Value::String(s) => Value::String(format!("{s}-mutated")),
        Value::Number(n) => {
            let max = values
                .iter()
                .filter_map(Value::as_f64)
                .fold(n.as_f64()?, f64::max);
            json!(max.floor() as i64 + 1)
        }
        Value::Bool(b) => Value::Bool(!b),
        Value::Null => Value::String("null".into()),
        Value::Array(items) => {
            let mut longer = items.clone();
            longer.push(json!("mutated"));
            Value::Array(longer)
        }
        Value::Object(members) => {
            let mut more = members.clone();
            more.insert("mutated".into(), json!(true));
            Value::Object(more)
        }
    };
    (!values.contains(&candidate)).then_some(candidate)
}

/// Structural mutations of values from `valid`, judged by `judge` (the kind's schema, or a direction's envelope
/// when a mutation must not pass as another kind).
pub fn structural(
    docs: Arc<Documents>,
    root: Node,
    judge: Node,
    valid: SBoxedStrategy<Value>,
) -> SBoxedStrategy<Mutated> {
    valid
        .prop_flat_map(move |original| {
            let mut sites = Sites::default();
            sites.collect(&docs, std::slice::from_ref(&root), &original, &[], 0);
            sites.push(Template::Garbage);
            let docs = docs.clone();
            let judge = judge.clone();
            (
                proptest::sample::select(sites.mutations),
                any_json(),
                "[a-z]{3,8}",
                Just(original),
            )
                .prop_map(move |(template, filler, name, original)| {
                    let (mutation, value) = apply(&template, &original, filler, &name);
                    let rejected = !docs.is_valid(&judge, &value);
                    Mutated {
                        wire: Wire::Text(value.to_string()),
                        original,
                        mutation,
                        value: Some(value),
                        rejected,
                    }
                })
        })
        .sboxed()
}

fn apply(template: &Template, original: &Value, filler: Value, name: &str) -> (Mutation, Value) {
    let mut value = original.clone();
    let mutation = match template {
        Template::Drop { at, member } => {
            if let Some(Value::Object(members)) = locate(&mut value, at) {
                members.remove(member);
            }
            Mutation::DropRequired {
                at: pointer(at),
                member: member.clone(),
            }
        }
        Template::Replace {
            at,
            replacement,
            outside_values,
        } => {
            if let Some(slot) = locate(&mut value, at) {
                *slot = replacement.clone();
            }
            if *outside_values {
                Mutation::OutsideValues {
                    at: pointer(at),
                    replacement: replacement.clone(),
                }
            } else {
                Mutation::WrongType {
                    at: pointer(at),
                    replacement: replacement.clone(),
                }
            }
        }
        Template::Extra { at, known } => {
            let mut member = format!("unexpected_{name}");
            while known.contains(&member) {
                member.push('_');
            }
            if let Some(Value::Object(members)) = locate(&mut value, at) {
                members.insert(member.clone(), filler.clone());
            }
            Mutation::ExtraMember {
                at: pointer(at),
                member,
                value: filler,
            }
        }
        Template::ExtraItem { at } => {
            if let Some(Value::Array(items)) = locate(&mut value, at) {
                items.push(filler.clone());
            }
            Mutation::ExtraItem {
                at: pointer(at),
                value: filler,
            }
        }
        Template::Garbage => {
            let members = vec![
                (format!("garbage_{name}"), filler),
                ("__proto__".to_owned(), json!({"polluted": true})),
            ];
            match &mut value {
                Value::Object(map) => {
                    for (n, v) in &members {
                        map.insert(n.clone(), v.clone());
                    }
                }
                other => {
                    let mut map = serde_json::Map::new();
                    map.insert("garbage".into(), other.clone());
                    for (n, v) in &members {
                        map.insert(n.clone(), v.clone());
                    }
                    *other = Value::Object(map);
                }
            }
            Mutation::Garbage { members }
        }
    };
    (mutation, value)
}

fn locate<'v>(value: &'v mut Value, at: &[String]) -> Option<&'v mut Value> {
    let mut current = value;
    for segment in at {
        current = match current {
            Value::Object(map) => map.get_mut(segment)?,
            Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Transport mutations of values from `valid`: cut text, invalid UTF-8, binary frames, and, when the profile
/// states a frame size limit, a frame over it.
pub fn transport(
    valid: SBoxedStrategy<Value>,
    size_limit: Option<usize>,
) -> SBoxedStrategy<Mutated> {
    valid
        .prop_flat_map(move |original| {
            let text = original.to_string();
            let len = text.len().max(2);
            let mut kinds = vec![0u8, 1, 2];
            if size_limit.is_some() {
                kinds.push(3);
            }
            (proptest::sample::select(kinds), 1..len, Just(original))
        })
        .prop_map(move |(kind, position, original)| {
            let text = original.to_string();
            let (mutation, wire, rejected) = match kind {
                0 => {
                    let keep = char_floor(&text, position.min(text.len().saturating_sub(1)));
                    let cut = text[..keep].to_owned();
                    let still_json = serde_json::from_str::<Value>(&cut).is_ok();
                    (Mutation::Truncated { keep }, Wire::Text(cut), !still_json)
                }
                1 => {
                    let at = char_floor(&text, position.min(text.len()));
                    let mut bytes = text.as_bytes().to_vec();
                    bytes.splice(at..at, [0xC3, 0x28]);
                    (Mutation::InvalidUtf8 { at }, Wire::InvalidText(bytes), true)
                }
                2 => (Mutation::Binary, Wire::Binary(text.into_bytes()), true),
                _ => {
                    let limit = size_limit.unwrap_or(0);
                    let padded = pad(&original, limit + 1);
                    let bytes = padded.len();
                    (Mutation::Oversized { bytes }, Wire::Text(padded), true)
                }
            };
            Mutated {
                original,
                mutation,
                value: None,
                wire,
                rejected,
            }
        })
        .sboxed()
}

/// The largest char boundary of `text` at or below `index`.
pub fn char_floor(text: &str, index: usize) -> usize {
    (0..=index.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

/// `value`'s JSON text grown to at least `bytes` bytes by a padding member (or wrapping, for non-objects).
fn pad(value: &Value, bytes: usize) -> String {
    let base = value.to_string();
    let fill = "x".repeat(bytes.saturating_sub(base.len()) + 16);
    let padded = match value {
        Value::Object(map) => {
            let mut map = map.clone();
            map.insert("padding".into(), Value::String(fill));
            Value::Object(map)
        }
        other => json!([other, fill]),
    };
    padded.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_values_keep_the_type_and_leave_the_set() {
        let values = vec![json!("a"), json!("b")];
        assert_eq!(outside(&values, &json!("a")), Some(json!("a-mutated")));
        assert_eq!(outside(&[json!(1), json!(5)], &json!(1)), Some(json!(6)));
        assert_eq!(outside(&[json!(true)], &json!(true)), Some(json!(false)));
    }

    #[test]
    fn padding_exceeds_the_limit() {
        assert!(pad(&json!({"a": 1}), 1000).len() > 1000);
        assert!(pad(&json!([1]), 50).len() > 50);
    }
}
