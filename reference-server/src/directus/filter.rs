//! Directus filter rules (`{"user":{"_eq":"bob"}}`, `_and`, `_or`): parsing against a collection's
//! fields, and evaluation on items with SQL-like treatment of null.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::error::DirectusError;
use super::schema::CollectionDef;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Rule {
        field: String,
        op: Operator,
        value: Value,
    },
}

/// The field operators we implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    Nin,
    Null,
    Nnull,
    Empty,
    Nempty,
    Between,
    Nbetween,
    Contains,
    Ncontains,
    Icontains,
    Nicontains,
    StartsWith,
    NstartsWith,
    IstartsWith,
    NistartsWith,
    EndsWith,
    NendsWith,
    IendsWith,
    NiendsWith,
}

impl Operator {
    fn parse(name: &str) -> Option<Operator> {
        use Operator::*;
        Some(match name {
            "_eq" => Eq,
            "_neq" => Neq,
            "_lt" => Lt,
            "_lte" => Lte,
            "_gt" => Gt,
            "_gte" => Gte,
            "_in" => In,
            "_nin" => Nin,
            "_null" => Null,
            "_nnull" => Nnull,
            "_empty" => Empty,
            "_nempty" => Nempty,
            "_between" => Between,
            "_nbetween" => Nbetween,
            "_contains" => Contains,
            "_ncontains" => Ncontains,
            "_icontains" => Icontains,
            "_nicontains" => Nicontains,
            "_starts_with" => StartsWith,
            "_nstarts_with" => NstartsWith,
            "_istarts_with" => IstartsWith,
            "_nistarts_with" => NistartsWith,
            "_ends_with" => EndsWith,
            "_nends_with" => NendsWith,
            "_iends_with" => IendsWith,
            "_niends_with" => NiendsWith,
            _ => return None,
        })
    }

    fn takes_list(self) -> bool {
        matches!(
            self,
            Operator::In | Operator::Nin | Operator::Between | Operator::Nbetween
        )
    }

    fn takes_flag(self) -> bool {
        matches!(
            self,
            Operator::Null | Operator::Nnull | Operator::Empty | Operator::Nempty
        )
    }
}

impl Filter {
    /// Parses a filter object, checking every field against `collection`.
    pub fn parse(value: &Value, collection: &CollectionDef) -> Result<Filter, DirectusError> {
        match value {
            Value::Object(map) => parse_group(map, collection),
            _ => Err(DirectusError::invalid_query(
                "\"filter\" must be of type object",
            )),
        }
    }

    /// Every field the filter reads.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Filter::And(parts) | Filter::Or(parts) => {
                parts.iter().for_each(|p| p.collect_fields(out))
            }
            Filter::Rule { field, .. } => out.push(field),
        }
    }

    pub fn matches(&self, item: &Value) -> bool {
        match self {
            Filter::And(parts) => parts.iter().all(|p| p.matches(item)),
            Filter::Or(parts) => parts.iter().any(|p| p.matches(item)),
            Filter::Rule { field, op, value } => {
                let actual = item.get(field.as_str()).unwrap_or(&Value::Null);
                apply(*op, actual, value)
            }
        }
    }
}

fn parse_group(
    map: &Map<String, Value>,
    collection: &CollectionDef,
) -> Result<Filter, DirectusError> {
    let mut parts = Vec::new();
    for (key, nested) in map {
        match key.as_str() {
            "_and" | "_or" => {
                let Value::Array(list) = nested else {
                    return Err(DirectusError::invalid_query(format!(
                        "\"{key}\" has to be an array of filters"
                    )));
                };
                let children = list
                    .iter()
                    .map(|child| Filter::parse(child, collection))
                    .collect::<Result<Vec<_>, _>>()?;
                parts.push(if key == "_and" {
                    Filter::And(children)
                } else {
                    Filter::Or(children)
                });
            }
            op if op.starts_with('_') => {
                return Err(DirectusError::invalid_query(format!(
                    "\"{op}\" is not a valid filter operator"
                )))
            }
            field => parts.extend(parse_field(field, nested, collection)?),
        }
    }
    Ok(match parts.len() {
        1 => parts.pop().unwrap_or(Filter::And(Vec::new())),
        _ => Filter::And(parts),
    })
}

fn parse_field(
    field: &str,
    rules: &Value,
    collection: &CollectionDef,
) -> Result<Vec<Filter>, DirectusError> {
    if !collection.has_field(field) {
        return Err(DirectusError::forbidden_field(field, &collection.name));
    }
    let Value::Object(rules) = rules else {
        // `{"field": value}` is shorthand for `_eq`.
        check_primitive(rules, "_eq")?;
        return Ok(vec![Filter::Rule {
            field: field.to_owned(),
            op: Operator::Eq,
            value: rules.clone(),
        }]);
    };
    let mut out = Vec::with_capacity(rules.len());
    for (name, value) in rules {
        if !name.starts_with('_') {
            // A path into a relation; our collections have none.
            return Err(DirectusError::forbidden_field(
                &format!("{field}.{name}"),
                &collection.name,
            ));
        }
        let op = Operator::parse(name).ok_or_else(|| {
            DirectusError::invalid_query(format!("\"{name}\" is not a valid filter operator"))
        })?;
        let value = if op.takes_list() {
            check_list(value, name)?
        } else if op.takes_flag() {
            check_flag(value, name)?
        } else {
            check_primitive(value, name)?;
            value.clone()
        };
        out.push(Filter::Rule {
            field: field.to_owned(),
            op,
            value,
        });
    }
    Ok(out)
}

fn check_primitive(value: &Value, op: &str) -> Result<(), DirectusError> {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        Value::String(s) if s.is_empty() => Err(DirectusError::invalid_query(format!(
            "You can't filter for an empty string in \"{op}\". Use \"_empty\" or \"_nempty\" instead"
        ))),
        Value::String(_) => Ok(()),
        _ => Err(DirectusError::invalid_query(format!(
            "The filter value for \"{op}\" has to be a string, number, or boolean"
        ))),
    }
}

fn check_list(value: &Value, op: &str) -> Result<Value, DirectusError> {
    let list = match value {
        Value::Array(list) if !list.is_empty() => list.clone(),
        // The query-string form `_in=a,b` arrives as one string.
        Value::String(s) if !s.is_empty() => {
            s.split(',').map(|v| Value::String(v.to_owned())).collect()
        }
        _ => {
            return Err(DirectusError::invalid_query(format!(
                "\"{op}\" has to be an array of values"
            )))
        }
    };
    Ok(Value::Array(list))
}

fn check_flag(value: &Value, op: &str) -> Result<Value, DirectusError> {
    match value {
        Value::Bool(b) => Ok(Value::Bool(*b)),
        // Directus treats null and "" as "no constraint"; the query-string form gives text.
        Value::Null => Ok(Value::Bool(false)),
        Value::String(s) if s.is_empty() || s == "false" => Ok(Value::Bool(false)),
        Value::String(s) if s == "true" => Ok(Value::Bool(true)),
        _ => Err(DirectusError::invalid_query(format!(
            "\"{op}\" has to be a boolean"
        ))),
    }
}

fn apply(op: Operator, actual: &Value, expected: &Value) -> bool {
    use Operator::*;
    let flag = expected.as_bool() == Some(true);
    match op {
        // A false flag adds no constraint, as on the real server.
        Null => !flag || actual.is_null(),
        Nnull => !flag || !actual.is_null(),
        Empty => !flag || is_empty(actual),
        Nempty => !flag || !is_empty(actual),
        Eq if expected.is_null() => actual.is_null(),
        Neq if expected.is_null() => !actual.is_null(),
        // SQL semantics: a comparison with NULL is never true.
        _ if actual.is_null() => false,
        Eq => loose_eq(actual, expected),
        Neq => !loose_eq(actual, expected),
        Lt => compare(actual, expected) == Some(Ordering::Less),
        Lte => matches!(
            compare(actual, expected),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Gt => compare(actual, expected) == Some(Ordering::Greater),
        Gte => matches!(
            compare(actual, expected),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        In => list(expected).iter().any(|v| loose_eq(actual, v)),
        Nin => !list(expected).iter().any(|v| loose_eq(actual, v)),
        Between => between(actual, expected),
        Nbetween => !between(actual, expected),
        Contains => text(actual).contains(&text(expected)),
        Ncontains => !text(actual).contains(&text(expected)),
        Icontains => lower(actual).contains(&lower(expected)),
        Nicontains => !lower(actual).contains(&lower(expected)),
        StartsWith => text(actual).starts_with(&text(expected)),
        NstartsWith => !text(actual).starts_with(&text(expected)),
        IstartsWith => lower(actual).starts_with(&lower(expected)),
        NistartsWith => !lower(actual).starts_with(&lower(expected)),
        EndsWith => text(actual).ends_with(&text(expected)),
        NendsWith => !text(actual).ends_with(&text(expected)),
        IendsWith => lower(actual).ends_with(&lower(expected)),
        NiendsWith => !lower(actual).ends_with(&lower(expected)),
    }
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn between(actual: &Value, bounds: &Value) -> bool {
    match list(bounds) {
        [low, high] => {
            matches!(
                compare(actual, low),
                Some(Ordering::Greater | Ordering::Equal)
            ) && matches!(
                compare(actual, high),
                Some(Ordering::Less | Ordering::Equal)
            )
        }
        _ => false,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn lower(value: &Value) -> String {
    text(value).to_lowercase()
}

/// The value as a number, when it is one or a numeric string (the database would cast it).
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Equality the way a database compares a column with a parameter: numbers numerically, text as text.
pub fn loose_eq(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Bool(a), Value::String(b)) | (Value::String(b), Value::Bool(a)) => {
            let spellings = if *a { ["true", "1"] } else { ["false", "0"] };
            spellings.contains(&b.as_str())
        }
        _ => match (number(actual), number(expected)) {
            (Some(a), Some(b)) => a == b,
            _ => actual == expected,
        },
    }
}

/// Ordering for comparisons and sorting: numerically when both sides are numeric, else as text.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if a.is_null() || b.is_null() {
        return None;
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => Some(text(a).cmp(&text(b))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directus::config::PrimaryKeyKind;
    use serde_json::json;

    fn messages() -> CollectionDef {
        CollectionDef::new(
            "messages",
            PrimaryKeyKind::Integer,
            &["id".into(), "text".into(), "user".into()],
            Default::default(),
        )
    }

    fn check(filter: Value, item: Value) -> bool {
        Filter::parse(&filter, &messages())
            .expect("valid filter")
            .matches(&item)
    }

    #[test]
    fn comparison_operators() {
        let item = json!({"id": 5, "text": "Hello World", "user": "bob"});
        assert!(check(json!({"user": {"_eq": "bob"}}), item.clone()));
        assert!(check(json!({"user": "bob"}), item.clone()));
        assert!(!check(json!({"user": {"_neq": "bob"}}), item.clone()));
        assert!(check(json!({"id": {"_eq": "5"}}), item.clone()));
        assert!(check(json!({"id": {"_gt": 4, "_lte": 5}}), item.clone()));
        assert!(!check(json!({"id": {"_lt": 5}}), item.clone()));
        assert!(check(json!({"id": {"_in": [1, 5]}}), item.clone()));
        assert!(check(json!({"id": {"_nin": [1, 2]}}), item.clone()));
        assert!(check(json!({"id": {"_between": [5, 9]}}), item.clone()));
        assert!(check(json!({"text": {"_contains": "World"}}), item.clone()));
        assert!(!check(
            json!({"text": {"_contains": "world"}}),
            item.clone()
        ));
        assert!(check(
            json!({"text": {"_icontains": "world"}}),
            item.clone()
        ));
        assert!(check(
            json!({"text": {"_starts_with": "Hell"}}),
            item.clone()
        ));
        assert!(check(json!({"text": {"_ends_with": "World"}}), item));
    }

    #[test]
    fn null_handling_follows_sql() {
        let item = json!({"id": 1, "text": null, "user": "x"});
        assert!(check(json!({"text": {"_null": true}}), item.clone()));
        assert!(!check(json!({"text": {"_nnull": true}}), item.clone()));
        assert!(check(json!({"text": {"_eq": null}}), item.clone()));
        assert!(!check(json!({"text": {"_neq": "a"}}), item.clone()));
        assert!(check(json!({"text": {"_empty": true}}), item.clone()));
        assert!(check(json!({"text": {"_null": false}}), item));
    }

    #[test]
    fn groups_combine_rules() {
        let item = json!({"id": 3, "text": "t", "user": "amy"});
        assert!(check(
            json!({"_or": [{"user": {"_eq": "zed"}}, {"id": {"_gte": 3}}]}),
            item.clone()
        ));
        assert!(!check(
            json!({"_and": [{"user": {"_eq": "amy"}}, {"id": {"_gt": 3}}]}),
            item
        ));
    }

    #[test]
    fn unknown_fields_and_operators_are_refused() {
        let unknown_field = Filter::parse(&json!({"nope": {"_eq": 1}}), &messages());
        assert_eq!(
            unknown_field.map_err(|e| e.message),
            Err("You don't have permission to access field \"nope\" in collection \"messages\" or it does not exist. Queried in root.".into())
        );
        let unknown_op = Filter::parse(&json!({"id": {"_like": 1}}), &messages());
        assert_eq!(unknown_op.map_err(|e| e.code), Err("INVALID_QUERY"));
        let bad_list = Filter::parse(&json!({"id": {"_in": []}}), &messages());
        assert_eq!(bad_list.map_err(|e| e.code), Err("INVALID_QUERY"));
        let bad_value = Filter::parse(&json!({"id": {"_eq": {"a": 1}}}), &messages());
        assert_eq!(bad_value.map_err(|e| e.code), Err("INVALID_QUERY"));
    }
}
