//! The Directus query (`fields`, `filter`, `search`, `sort`, `limit`, `offset`, `page`, `meta`), from a
//! WebSocket message's `query` object or from REST query parameters, and its application to items.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use super::error::DirectusError;
use super::filter::{compare, Filter};
use super::schema::{CollectionDef, PRIMARY_KEY};

/// The limit of a query that gives none, as on the real server (`QUERY_LIMIT_DEFAULT`).
pub const DEFAULT_LIMIT: usize = 100;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Selected fields in output order; `None` selects every field.
    pub fields: Option<Vec<String>>,
    pub filter: Option<Filter>,
    pub search: Option<String>,
    /// (field, descending)
    pub sort: Vec<(String, bool)>,
    /// `Some(-1)` means no limit.
    pub limit: Option<i64>,
    pub offset: Option<usize>,
    pub page: Option<usize>,
    pub meta: Option<MetaRequest>,
}

/// Which counts the `meta` of a reply carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetaRequest {
    pub total_count: bool,
    pub filter_count: bool,
}

/// The global query parameters a socket message may carry (NOTES `directus.query-parameters`).
const PARAMETERS: [&str; 13] = [
    "fields",
    "filter",
    "search",
    "sort",
    "limit",
    "offset",
    "page",
    "meta",
    "aggregate",
    "groupBy",
    "deep",
    "alias",
    "backlink",
];

/// Refuses unknown parameters, nulls, and wrongly typed values of the parameters this server does
/// not evaluate, so a malformed query is never silently read as a different one.
fn check_parameters(map: &Map<String, Value>) -> Result<(), DirectusError> {
    for (name, value) in map {
        if !PARAMETERS.contains(&name.as_str()) {
            return Err(DirectusError::invalid_query(format!(
                "\"{name}\" is not a query parameter"
            )));
        }
        let well_typed = match (name.as_str(), value) {
            (_, Value::Null) => false,
            ("aggregate" | "deep", v) => v.is_object(),
            ("alias", Value::Object(aliases)) => aliases.values().all(Value::is_string),
            ("alias", _) => false,
            ("backlink", v) => v.is_boolean(),
            _ => true,
        };
        if !well_typed {
            return Err(DirectusError::invalid_query(format!(
                "\"{name}\" has the wrong type"
            )));
        }
    }
    Ok(())
}

impl Query {
    /// Parses a `query` object (absent means the empty query), checking fields against `collection`.
    pub fn parse(
        value: Option<&Value>,
        collection: &CollectionDef,
    ) -> Result<Query, DirectusError> {
        match value {
            None => Ok(Query::default()),
            Some(Value::Object(map)) => {
                check_parameters(map)?;
                Query::from_map(map, collection)
            }
            Some(_) => Err(DirectusError::invalid_query(
                "\"query\" must be of type object",
            )),
        }
    }

    /// Parses REST query parameters: `fields=id,text`, `sort=-id`, `limit=2`, `meta=*`, and
    /// `filter` either as JSON (`filter={"user":{"_eq":"bob"}}`) or in brackets (`filter[user][_eq]=bob`).
    pub fn from_params(
        params: &[(String, String)],
        collection: &CollectionDef,
    ) -> Result<Query, DirectusError> {
        let mut map = Map::new();
        let mut bracket_filter = Map::new();
        for (key, value) in params {
            if let Some(path) = key.strip_prefix("filter[") {
                insert_bracket_path(&mut bracket_filter, path, value)?;
            } else if key == "filter" {
                let parsed: Value = serde_json::from_str(value).map_err(|_| {
                    DirectusError::invalid_query("\"filter\" has to be a valid JSON object")
                })?;
                map.insert("filter".into(), parsed);
            } else {
                map.insert(key.clone(), Value::String(value.clone()));
            }
        }
        if !bracket_filter.is_empty() {
            map.insert("filter".into(), Value::Object(bracket_filter));
        }
        Query::from_map(&map, collection)
    }

    fn from_map(
        map: &Map<String, Value>,
        collection: &CollectionDef,
    ) -> Result<Query, DirectusError> {
        let mut query = Query::default();
        if let Some(fields) = map.get("fields") {
            query.fields = expand_fields(string_list(fields, "fields")?, collection)?;
        }
        if let Some(filter) = map.get("filter") {
            let filter = match filter {
                Value::String(text) => serde_json::from_str(text).map_err(|_| {
                    DirectusError::invalid_query("\"filter\" has to be a valid JSON object")
                })?,
                other => other.clone(),
            };
            let empty = filter.as_object().is_some_and(Map::is_empty);
            if !empty {
                query.filter = Some(Filter::parse(&filter, collection)?);
            }
        }
        if let Some(search) = map.get("search") {
            match search {
                Value::String(s) => query.search = Some(s.clone()),
                Value::Null => {}
                _ => return Err(DirectusError::invalid_query("\"search\" must be a string")),
            }
        }
        if let Some(sort) = map.get("sort") {
            for entry in string_list(sort, "sort")? {
                let (field, descending) = match entry.strip_prefix('-') {
                    Some(field) => (field.to_owned(), true),
                    None => (entry.clone(), false),
                };
                if !collection.has_field(&field) {
                    return Err(DirectusError::forbidden_field(&field, &collection.name));
                }
                query.sort.push((field, descending));
            }
        }
        if let Some(limit) = map.get("limit") {
            let limit = integer(limit, "limit")?;
            if limit < -1 {
                return Err(DirectusError::invalid_query(
                    "\"limit\" must be greater than or equal to -1",
                ));
            }
            query.limit = Some(limit);
        }
        if let Some(offset) = map.get("offset") {
            query.offset = Some(non_negative(offset, "offset")?);
        }
        if let Some(page) = map.get("page") {
            query.page = Some(non_negative(page, "page")?);
        }
        if let Some(meta) = map.get("meta") {
            query.meta = Some(meta_request(meta)?);
        }
        Ok(query)
    }

    /// Whether an item passes the filter and the search.
    pub fn matches(&self, item: &Value) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(item))
            && self
                .search
                .as_deref()
                .is_none_or(|s| search_matches(item, s))
    }

    /// Filters, sorts, pages and projects `items`. `default_limit` applies when the query gives none
    /// (`None`: no limit, as when reading known keys).
    pub fn select<'a>(
        &self,
        items: impl IntoIterator<Item = &'a Value>,
        default_limit: Option<usize>,
    ) -> Vec<Value> {
        let mut chosen: Vec<&Value> = items.into_iter().filter(|i| self.matches(i)).collect();
        chosen.sort_by(|a, b| self.order(a, b));
        let limit = match self.limit {
            Some(-1) => None,
            Some(n) => usize::try_from(n).ok(),
            None => default_limit,
        };
        let offset = match (self.offset, self.page, limit) {
            (Some(offset), _, _) => offset,
            (None, Some(page), Some(limit)) if page > 0 => (page - 1).saturating_mul(limit),
            _ => 0,
        };
        chosen
            .into_iter()
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .map(|item| self.project(item))
            .collect()
    }

    fn order(&self, a: &Value, b: &Value) -> Ordering {
        let keys: Vec<(&str, bool)> = if self.sort.is_empty() {
            vec![(PRIMARY_KEY, false)]
        } else {
            self.sort.iter().map(|(f, d)| (f.as_str(), *d)).collect()
        };
        for (field, descending) in keys {
            let x = a.get(field).unwrap_or(&Value::Null);
            let y = b.get(field).unwrap_or(&Value::Null);
            // Nulls sort first, as in SQLite.
            let ord = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                _ => compare(x, y).unwrap_or(Ordering::Equal),
            };
            let ord = if descending { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }

    /// The item with only the selected fields.
    pub fn project(&self, item: &Value) -> Value {
        let (Some(fields), Value::Object(map)) = (&self.fields, item) else {
            return item.clone();
        };
        let mut out = Map::new();
        for field in fields {
            out.insert(
                field.clone(),
                map.get(field).cloned().unwrap_or(Value::Null),
            );
        }
        Value::Object(out)
    }

    /// The `meta` object for a reply, when the query asks for one.
    pub fn meta<'a>(&self, all_items: impl IntoIterator<Item = &'a Value>) -> Option<Value> {
        let request = self.meta?;
        let mut total = 0usize;
        let mut matching = 0usize;
        for item in all_items {
            total += 1;
            if self.matches(item) {
                matching += 1;
            }
        }
        let mut meta = Map::new();
        if request.total_count {
            meta.insert("total_count".into(), json!(total));
        }
        if request.filter_count {
            meta.insert("filter_count".into(), json!(matching));
        }
        Some(Value::Object(meta))
    }
}

fn string_list(value: &Value, name: &str) -> Result<Vec<String>, DirectusError> {
    match value {
        Value::String(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        Value::Array(list) => list
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(DirectusError::invalid_query(format!(
                    "\"{name}\" must be an array of strings"
                ))),
            })
            .collect(),
        _ => Err(DirectusError::invalid_query(format!(
            "\"{name}\" must be an array"
        ))),
    }
}

fn expand_fields(
    requested: Vec<String>,
    collection: &CollectionDef,
) -> Result<Option<Vec<String>>, DirectusError> {
    if requested.is_empty() {
        return Ok(None);
    }
    let mut out: Vec<String> = Vec::new();
    for field in requested {
        if field == "*" {
            for f in &collection.fields {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        } else if collection.has_field(&field) {
            if !out.contains(&field) {
                out.push(field);
            }
        } else {
            return Err(DirectusError::forbidden_field(&field, &collection.name));
        }
    }
    Ok(Some(out))
}

fn integer(value: &Value, name: &str) -> Result<i64, DirectusError> {
    let parsed = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| DirectusError::invalid_query(format!("\"{name}\" must be an integer")))
}

fn non_negative(value: &Value, name: &str) -> Result<usize, DirectusError> {
    usize::try_from(integer(value, name)?).map_err(|_| {
        DirectusError::invalid_query(format!("\"{name}\" must be greater than or equal to 0"))
    })
}

fn meta_request(value: &Value) -> Result<MetaRequest, DirectusError> {
    let mut request = MetaRequest::default();
    for entry in string_list(value, "meta")? {
        match entry.as_str() {
            "*" => {
                request.total_count = true;
                request.filter_count = true;
            }
            "total_count" => request.total_count = true,
            "filter_count" => request.filter_count = true,
            _ => {
                return Err(DirectusError::invalid_query(
                    "\"meta\" must be one of [total_count, filter_count]",
                ))
            }
        }
    }
    Ok(request)
}

/// Levels a bracketed filter key may nest. A query string can nest far deeper than any JSON body
/// (whose parser stops at 128), and the recursive clone and drop of such a value would overflow the
/// stack and abort the whole server.
const MAX_BRACKET_DEPTH: usize = 32;

/// `filter[a][b]=v` → `{"a":{"b":"v"}}` (the key after `filter[` is given as `a][b]`).
fn insert_bracket_path(
    root: &mut Map<String, Value>,
    path: &str,
    value: &str,
) -> Result<(), DirectusError> {
    let bad = || DirectusError::invalid_query("\"filter\" has a malformed key");
    let inner = path.strip_suffix(']').ok_or_else(bad)?;
    let segments: Vec<&str> = inner.split("][").collect();
    if segments.len() > MAX_BRACKET_DEPTH {
        return Err(DirectusError::invalid_query(
            "\"filter\" is nested too deeply",
        ));
    }
    let Some((last, parents)) = segments.split_last() else {
        return Err(bad());
    };
    let mut node = root;
    for segment in parents {
        let entry = node
            .entry((*segment).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        node = match entry {
            Value::Object(map) => map,
            _ => return Err(bad()),
        };
    }
    node.insert((*last).to_owned(), Value::String(value.to_owned()));
    Ok(())
}

fn search_matches(item: &Value, needle: &str) -> bool {
    let needle = needle.to_lowercase();
    item.as_object().is_some_and(|map| {
        map.values().any(|v| match v {
            Value::String(s) => s.to_lowercase().contains(&needle),
            Value::Number(n) => n.to_string() == needle,
            _ => false,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directus::config::PrimaryKeyKind;

    fn messages() -> CollectionDef {
        CollectionDef::new(
            "messages",
            PrimaryKeyKind::Integer,
            &["text".into(), "user".into()],
            Default::default(),
        )
    }

    fn items() -> Vec<Value> {
        (1..=5)
            .map(|i| json!({"id": i, "text": format!("m{i}"), "user": if i % 2 == 0 { "even" } else { "odd" }}))
            .collect()
    }

    #[test]
    fn fields_sort_and_limit() {
        let q = Query::parse(
            Some(&json!({"fields": ["*"], "sort": ["-id"], "limit": 2})),
            &messages(),
        )
        .expect("valid");
        let out = q.select(&items(), Some(DEFAULT_LIMIT));
        assert_eq!(
            out,
            vec![
                json!({"id": 5, "text": "m5", "user": "odd"}),
                json!({"id": 4, "text": "m4", "user": "even"})
            ]
        );
        let q = Query::parse(Some(&json!({"fields": "text"})), &messages()).expect("valid");
        assert_eq!(q.select(&items()[..1], None), vec![json!({"text": "m1"})]);
    }

    #[test]
    fn filter_and_meta() {
        let q = Query::parse(
            Some(&json!({"filter": {"user": {"_eq": "even"}}, "meta": "*"})),
            &messages(),
        )
        .expect("valid");
        let all = items();
        assert_eq!(q.select(&all, Some(DEFAULT_LIMIT)).len(), 2);
        assert_eq!(
            q.meta(&all),
            Some(json!({"total_count": 5, "filter_count": 2}))
        );
        assert_eq!(Query::default().meta(&all), None);
    }

    #[test]
    fn rest_parameters() {
        let params = vec![
            ("filter[user][_eq]".to_owned(), "odd".to_owned()),
            ("sort".to_owned(), "-id".to_owned()),
            ("limit".to_owned(), "1".to_owned()),
            ("page".to_owned(), "2".to_owned()),
        ];
        let q = Query::from_params(&params, &messages()).expect("valid");
        assert_eq!(
            q.select(&items(), Some(DEFAULT_LIMIT)),
            vec![json!({"id": 3, "text": "m3", "user": "odd"})]
        );
        let json_filter = vec![("filter".to_owned(), r#"{"id":{"_gte":4}}"#.to_owned())];
        let q = Query::from_params(&json_filter, &messages()).expect("valid");
        assert_eq!(q.select(&items(), None).len(), 2);
    }

    #[test]
    fn deeply_nested_bracket_filters_are_refused() {
        let key = format!("filter{}", "[a]".repeat(100_000));
        let err = Query::from_params(&[(key, "1".to_owned())], &messages()).unwrap_err();
        assert_eq!(err.code, "INVALID_QUERY");
    }

    #[test]
    fn unknown_fields_are_forbidden_and_bad_types_invalid() {
        let err = Query::parse(Some(&json!({"fields": ["nope"]})), &messages()).unwrap_err();
        assert_eq!(err.code, "FORBIDDEN");
        let err = Query::parse(Some(&json!({"sort": ["-nope"]})), &messages()).unwrap_err();
        assert_eq!(err.code, "FORBIDDEN");
        let err = Query::parse(Some(&json!({"limit": "many"})), &messages()).unwrap_err();
        assert_eq!(err.code, "INVALID_QUERY");
        let err = Query::parse(Some(&json!({"meta": "everything"})), &messages()).unwrap_err();
        assert_eq!(err.code, "INVALID_QUERY");
    }
}
