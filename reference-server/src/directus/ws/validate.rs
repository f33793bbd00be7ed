//! Shape checks of incoming messages, worded like the real server's validation errors
//! (`Invalid input: expected string, received undefined at "collection"`), so that a client sees the
//! same `Validation error: …` text from both.

use serde_json::{Map, Value};

/// What a field must be.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    String,
    StringOrNumber,
    /// One of these literal strings.
    OneOf(&'static [&'static str]),
    /// A JSON object.
    Record,
    /// An array of strings or numbers.
    KeyList,
    /// Anything, even absent.
    Any,
}

/// One field check: name, expectation, and whether it may be absent.
pub type FieldRule = (&'static str, Expect, bool);

/// Checks `map` against `rules`, in order; returns the issues found.
pub fn check_fields(map: &Map<String, Value>, rules: &[FieldRule]) -> Vec<String> {
    let mut issues = Vec::new();
    for (name, expect, optional) in rules {
        match map.get(*name) {
            None if *optional => {}
            value => issues.extend(check_value(value, *expect, name)),
        }
    }
    issues
}

fn check_value(value: Option<&Value>, expect: Expect, path: &str) -> Option<String> {
    match expect {
        Expect::Any => None,
        Expect::String => match value {
            Some(Value::String(_)) => None,
            other => Some(invalid_type("string", other, path)),
        },
        Expect::StringOrNumber => match value {
            Some(Value::String(_) | Value::Number(_)) => None,
            other => Some(format!(
                "{} or {}",
                invalid_type("string", other, path),
                invalid_type("number", other, path)
            )),
        },
        Expect::OneOf(literals) => match value {
            Some(Value::String(s)) if literals.contains(&s.as_str()) => None,
            _ => Some(
                literals
                    .iter()
                    .map(|l| format!("Invalid input: expected \"{l}\"{}", at(path)))
                    .collect::<Vec<_>>()
                    .join(" or "),
            ),
        },
        Expect::Record => match value {
            Some(Value::Object(_)) => None,
            other => Some(invalid_type("record", other, path)),
        },
        Expect::KeyList => match value {
            Some(Value::Array(list)) => {
                let issues: Vec<String> = list
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| {
                        check_value(Some(v), Expect::StringOrNumber, &format!("{path}[{i}]"))
                    })
                    .collect();
                (!issues.is_empty()).then(|| issues.join("; "))
            }
            other => Some(invalid_type("array", other, path)),
        },
    }
}

/// `Invalid input: expected <what>, received <type>[ at "<path>"]`.
pub fn invalid_type(expected: &str, received: Option<&Value>, path: &str) -> String {
    format!(
        "Invalid input: expected {expected}, received {}{}",
        type_name(received),
        at(path)
    )
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at \"{path}\"")
    }
}

fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

/// The text of a failed check: `Validation error: ` and the issues joined by `; `.
pub fn validation_error(issues: &[String]) -> String {
    format!("Validation error: {}", issues.join("; "))
}

/// Checks `map` against alternative rule sets; the index of the first that passes, or the issues of
/// every alternative (`a; b or c or d; e`), as a union reports them.
pub fn check_union(
    map: &Map<String, Value>,
    alternatives: &[&[FieldRule]],
) -> Result<usize, String> {
    let mut all = Vec::with_capacity(alternatives.len());
    for (i, rules) in alternatives.iter().enumerate() {
        let issues = check_fields(map, rules);
        if issues.is_empty() {
            return Ok(i);
        }
        all.push(issues.join("; "));
    }
    Err(all.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn wording_matches_the_real_server() {
        let rules: &[FieldRule] = &[
            ("collection", Expect::String, false),
            (
                "event",
                Expect::OneOf(&["create", "update", "delete"]),
                true,
            ),
            ("query", Expect::Record, true),
        ];
        assert_eq!(
            check_fields(&map(json!({"uid": "x"})), rules),
            vec!["Invalid input: expected string, received undefined at \"collection\""]
        );
        assert_eq!(
            check_fields(&map(json!({"collection": "m", "event": "upsert"})), rules),
            vec!["Invalid input: expected \"create\" at \"event\" or Invalid input: expected \"update\" at \"event\" or Invalid input: expected \"delete\" at \"event\""]
        );
        assert_eq!(
            check_fields(&map(json!({"collection": "m", "query": "fields=*"})), rules),
            vec!["Invalid input: expected record, received string at \"query\""]
        );
        assert_eq!(
            check_fields(&map(json!({"uid": {"a": 1}})), &[("uid", Expect::StringOrNumber, true)]),
            vec!["Invalid input: expected string, received object at \"uid\" or Invalid input: expected number, received object at \"uid\""]
        );
    }

    #[test]
    fn unions_list_every_alternative() {
        let create: &[FieldRule] = &[
            ("collection", Expect::String, false),
            ("action", Expect::OneOf(&["create"]), false),
        ];
        let read: &[FieldRule] = &[
            ("collection", Expect::String, false),
            ("action", Expect::OneOf(&["read"]), false),
            ("ids", Expect::KeyList, true),
        ];
        assert_eq!(
            check_union(
                &map(json!({"collection": "m", "action": "read"})),
                &[create, read]
            ),
            Ok(1)
        );
        assert_eq!(
            check_union(&map(json!({"action": "read"})), &[create, read]),
            Err("Invalid input: expected string, received undefined at \"collection\"; Invalid input: expected \"create\" at \"action\" or Invalid input: expected string, received undefined at \"collection\"".into())
        );
        assert_eq!(
            check_union(&map(json!({"collection": "m", "action": "read", "ids": [1, null]})), &[read]),
            Err("Invalid input: expected string, received null at \"ids[1]\" or Invalid input: expected number, received null at \"ids[1]\"".into())
        );
    }
}
