//! The schema documents of one profile, addressed the way `$ref` addresses them, and the compiled validator of
//! any location inside them.
//!
//! Every file is known under `https://schemas.ws-conformance.invalid/<profile>/<group>/<file>`; a `$ref` is
//! resolved against the URI of the document it appears in, and its fragment is a JSON pointer.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use jsonschema::{Registry, Validator};
use serde_json::{json, Value};

use super::GenError;
use crate::profile::Profile;
use crate::schema::{SchemaSet, BASE_URI};

/// A schema location: a JSON pointer inside a document, or a small schema made up by the generator
/// (a hint such as "not this constant"), which has no `$ref`s.
#[derive(Clone, PartialEq)]
pub enum Node {
    At { uri: Arc<str>, pointer: String },
    Inline(Arc<Value>),
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::At { uri, pointer } => write!(f, "{}#{pointer}", short_uri(uri)),
            Node::Inline(value) => write!(f, "{value}"),
        }
    }
}

fn short_uri(uri: &str) -> &str {
    uri.strip_prefix(BASE_URI).unwrap_or(uri)
}

impl Node {
    pub fn inline(value: Value) -> Node {
        Node::Inline(Arc::new(value))
    }

    /// The location of keyword `segment` (or a deeper path) below this one.
    pub fn child(&self, segments: &[&str]) -> Node {
        match self {
            Node::At { uri, pointer } => {
                let mut pointer = pointer.clone();
                for segment in segments {
                    pointer.push('/');
                    pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
                }
                Node::At {
                    uri: uri.clone(),
                    pointer,
                }
            }
            Node::Inline(value) => {
                let mut current: &Value = value;
                for segment in segments {
                    current = match current {
                        Value::Object(map) => map.get(*segment).unwrap_or(&Value::Bool(true)),
                        Value::Array(items) => segment
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| items.get(i))
                            .unwrap_or(&Value::Bool(true)),
                        _ => &Value::Bool(true),
                    };
                }
                Node::inline(current.clone())
            }
        }
    }

    /// A key identifying the location, for caches.
    pub fn key(&self) -> String {
        format!("{self:?}")
    }
}

/// The documents of one profile, a registry for compiling validators, and the validators compiled so far.
pub struct Documents {
    profile: Profile,
    docs: BTreeMap<String, Value>,
    registry: Registry<'static>,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

impl fmt::Debug for Documents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Documents")
            .field("profile", &self.profile)
            .field("docs", &self.docs.len())
            .finish_non_exhaustive()
    }
}

impl Documents {
    /// Every schema file of `profile` that `schemas` holds.
    pub fn new(schemas: &SchemaSet, profile: Profile) -> Result<Documents, GenError> {
        let loaded = schemas.get(profile).ok_or(GenError::NoProfile(profile))?;
        let mut docs = BTreeMap::new();
        for group in loaded.groups.values() {
            for schema in group.kinds.values().chain(group.envelope.iter()) {
                docs.insert(
                    format!("{BASE_URI}{}/{}.json", profile.name(), schema.id),
                    schema.source.clone(),
                );
            }
        }
        let registry = Registry::new()
            .extend(
                docs.iter()
                    .map(|(uri, source)| (uri.clone(), source.clone()))
                    .collect::<Vec<_>>(),
            )
            .and_then(|b| b.prepare())
            .map_err(|e| GenError::Registry(e.to_string()))?;
        Ok(Documents {
            profile,
            docs,
            registry,
            validators: Mutex::default(),
        })
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The root of `<group>/<kind>` (e.g. `client/subscribe`).
    pub fn root(&self, schema: &str) -> Result<Node, GenError> {
        let uri = format!("{BASE_URI}{}/{schema}.json", self.profile.name());
        if !self.docs.contains_key(&uri) {
            return Err(GenError::UnknownSchema {
                profile: self.profile,
                schema: schema.to_owned(),
            });
        }
        Ok(Node::At {
            uri: uri.into(),
            pointer: String::new(),
        })
    }

    /// The schema value at a location (`true` when the pointer leads nowhere, which a loaded schema never does).
    pub fn value<'a>(&'a self, node: &'a Node) -> &'a Value {
        const ANYTHING: Value = Value::Bool(true);
        match node {
            Node::At { uri, pointer } => self
                .docs
                .get(uri.as_ref())
                .and_then(|doc| doc.pointer(pointer))
                .unwrap_or(&ANYTHING),
            Node::Inline(value) => value,
        }
    }

    /// The location a `$ref` found at `from` names.
    pub fn resolve(&self, from: &Node, reference: &str) -> Result<Node, GenError> {
        let Node::At { uri, .. } = from else {
            return Err(GenError::Unresolvable {
                reference: reference.to_owned(),
                reason: "a generated hint cannot refer to other schemas".into(),
            });
        };
        let (path, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let target = if path.is_empty() {
            uri.to_string()
        } else {
            join(uri, path)
        };
        if !self.docs.contains_key(&target) {
            return Err(GenError::Unresolvable {
                reference: reference.to_owned(),
                reason: format!("no schema document {target}"),
            });
        }
        let pointer = percent_decode(fragment);
        if !pointer.is_empty() && self.docs[&target].pointer(&pointer).is_none() {
            return Err(GenError::Unresolvable {
                reference: reference.to_owned(),
                reason: format!("{target} has nothing at {pointer}"),
            });
        }
        Ok(Node::At {
            uri: target.into(),
            pointer,
        })
    }

    /// Whether `value` is valid at `node`.
    pub fn is_valid(&self, node: &Node, value: &Value) -> bool {
        match self.validator(node) {
            Ok(validator) => validator.is_valid(value),
            Err(_) => false,
        }
    }

    /// The validator of a location, compiled once.
    pub fn validator(&self, node: &Node) -> Result<Arc<Validator>, GenError> {
        let key = node.key();
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        // The wrapper gets a URI of its own: registered under the document's URI it would hide the document.
        let base = format!("{BASE_URI}{}/generated/location.json", self.profile.name());
        let schema = match node {
            Node::At { uri, pointer } => {
                json!({ "$ref": format!("{uri}#{}", percent_encode(pointer)) })
            }
            Node::Inline(value) => value.as_ref().clone(),
        };
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_registry(&self.registry)
            .with_base_uri(base)
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| GenError::Compile {
                node: key.clone(),
                reason: e.to_string(),
            })?;
        let validator = Arc::new(validator);
        self.lock().insert(key, validator.clone());
        Ok(validator)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Validator>>> {
        self.validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// `path` (relative, e.g. `../common/resource.json`) resolved against the document URI `base`.
fn join(base: &str, path: &str) -> String {
    if path.contains("://") {
        return path.to_owned();
    }
    let Some((scheme, rest)) = base.split_once("://") else {
        return path.to_owned();
    };
    let (host, base_path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut segments: Vec<&str> = base_path.split('/').collect();
    segments.pop();
    if path.starts_with('/') {
        segments.clear();
    }
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    format!("{scheme}://{host}/{}", segments.join("/"))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON pointer written as a URI fragment: everything outside the fragment alphabet is percent-encoded
/// (`#` in skapi's `#message` keys, for one).
fn percent_encode(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for byte in pointer.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~/$!&'()*+,;=:@".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_references_resolve_against_the_document() {
        let base = "https://schemas.ws-conformance.invalid/m2/client/subscribe.json";
        assert_eq!(
            join(base, "../common/resource.json"),
            "https://schemas.ws-conformance.invalid/m2/common/resource.json"
        );
        assert_eq!(
            join(base, "unsubscribe.json"),
            "https://schemas.ws-conformance.invalid/m2/client/unsubscribe.json"
        );
    }

    #[test]
    fn fragments_round_trip_through_percent_encoding() {
        let pointer = "/properties/#message";
        assert_eq!(percent_encode(pointer), "/properties/%23message");
        assert_eq!(percent_decode(&percent_encode(pointer)), pointer);
    }
}
