//! What a model predicts a client receives: JSON with placeholders for what the server chooses.
//!
//! - `{"$any": true}` matches any value (a free text, a version the server stamps);
//! - `{"$bind": "name"}` matches a scalar and binds `name` to it; later uses of the same name must see the same
//!   value, and one value never binds two names (a connection id, a user id the server assigns);
//! - `{"$set": [...]}` matches an array holding the same elements in any order.
//!
//! Everything else must be equal; numbers compare by value (`2` equals `2.0`).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// A value the server chooses freely.
pub fn any() -> Value {
    json!({ "$any": true })
}

/// A value the server chooses once for `name` and then keeps.
pub fn bind(name: impl Into<String>) -> Value {
    json!({ "$bind": name.into() })
}

/// An array with these elements in any order.
pub fn set(items: Vec<Value>) -> Value {
    json!({ "$set": items })
}

enum Placeholder<'a> {
    Any,
    Bind(&'a str),
    Set(&'a [Value]),
}

fn placeholder(pattern: &Value) -> Option<Placeholder<'_>> {
    let map = pattern.as_object()?;
    if map.len() != 1 {
        return None;
    }
    if map.contains_key("$any") {
        return Some(Placeholder::Any);
    }
    if let Some(name) = map.get("$bind").and_then(Value::as_str) {
        return Some(Placeholder::Bind(name));
    }
    map.get("$set")
        .and_then(Value::as_array)
        .map(|items| Placeholder::Set(items))
}

/// The values bound so far; one-to-one.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    by_name: BTreeMap<String, Value>,
}

impl Bindings {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.by_name.get(name)
    }

    /// Binds `name` to `value` unless it contradicts an earlier binding.
    fn bind(&mut self, name: &str, value: &Value) -> bool {
        if let Some(bound) = self.by_name.get(name) {
            return same(bound, value);
        }
        if self.by_name.values().any(|v| same(v, value)) {
            return false;
        }
        self.by_name.insert(name.to_owned(), value.clone());
        true
    }

    /// Whether `actual` matches `pattern`; on success the bindings it needed are kept, on failure none are.
    pub fn matches(&mut self, pattern: &Value, actual: &Value) -> bool {
        let mut trial = self.clone();
        if trial.walk(pattern, actual) {
            *self = trial;
            true
        } else {
            false
        }
    }

    fn walk(&mut self, pattern: &Value, actual: &Value) -> bool {
        match placeholder(pattern) {
            Some(Placeholder::Any) => return true,
            Some(Placeholder::Bind(name)) => {
                return matches!(actual, Value::String(_) | Value::Number(_))
                    && self.bind(name, actual)
            }
            Some(Placeholder::Set(items)) => {
                let Value::Array(actual) = actual else {
                    return false;
                };
                return items.len() == actual.len() && self.permutation(items, actual);
            }
            None => {}
        }
        match (pattern, actual) {
            (Value::Object(want), Value::Object(have)) => {
                want.len() == have.len()
                    && want
                        .iter()
                        .all(|(k, w)| have.get(k).is_some_and(|h| self.walk(w, h)))
            }
            (Value::Array(want), Value::Array(have)) => {
                want.len() == have.len() && want.iter().zip(have).all(|(w, h)| self.walk(w, h))
            }
            _ => same(pattern, actual),
        }
    }

    /// Whether some order of `actual` matches `items`, binding as the first such order needs.
    fn permutation(&mut self, items: &[Value], actual: &[Value]) -> bool {
        let Some((first, rest)) = items.split_first() else {
            return actual.is_empty();
        };
        for i in 0..actual.len() {
            let mut trial = self.clone();
            if trial.walk(first, &actual[i]) {
                let remaining: Vec<Value> = actual
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, v)| v.clone())
                    .collect();
                if trial.permutation(rest, &remaining) {
                    *self = trial;
                    return true;
                }
            }
        }
        false
    }

    /// `pattern` with bound names replaced by their values, for transcripts.
    pub fn render(&self, pattern: &Value) -> Value {
        match placeholder(pattern) {
            Some(Placeholder::Any) => return Value::String("<any>".into()),
            Some(Placeholder::Bind(name)) => {
                return self
                    .by_name
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| Value::String(format!("<{name}>")))
            }
            Some(Placeholder::Set(items)) => {
                return Value::Array(items.iter().map(|i| self.render(i)).collect())
            }
            None => {}
        }
        match pattern {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.render(v)))
                    .collect::<Map<String, Value>>(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.render(i)).collect()),
            other => other.clone(),
        }
    }
}

/// JSON equality with numbers compared by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_are_consistent_and_one_to_one() {
        let mut b = Bindings::default();
        assert!(b.matches(&json!({"id": bind("a")}), &json!({"id": "x1"})));
        assert!(b.matches(&json!({"id": bind("a")}), &json!({"id": "x1"})));
        assert!(!b.matches(&json!({"id": bind("a")}), &json!({"id": "x2"})));
        assert!(!b.matches(&json!({"id": bind("b")}), &json!({"id": "x1"})));
        assert!(b.matches(&json!({"id": bind("b")}), &json!({"id": 7})));
    }

    #[test]
    fn failed_matches_bind_nothing() {
        let mut b = Bindings::default();
        assert!(!b.matches(&json!([bind("a"), 2]), &json!(["v", 3])));
        assert!(b.get("a").is_none());
    }

    #[test]
    fn sets_match_in_any_order_and_objects_exactly() {
        let mut b = Bindings::default();
        let pattern = set(vec![json!({"u": bind("u1")}), json!({"u": 2})]);
        assert!(b.matches(&pattern, &json!([{"u": 2}, {"u": 9}])));
        assert_eq!(b.get("u1"), Some(&json!(9)));
        assert!(!b.matches(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(b.matches(&json!({"v": any(), "n": 2}), &json!({"v": [1], "n": 2.0})));
    }
}
