//! Merging the schemas that all apply at one place of an instance (a `$ref` and its siblings, `allOf` parts,
//! the properties of several branches) into one description a value can be generated from, and splitting
//! `oneOf` / `anyOf` / `if`-`then`-`else` into branches.
//!
//! Merging is an optimisation, not the judge: every generated value is still checked against every original
//! schema location, so a constraint merged loosely (or not at all) costs rejected samples, never wrong values.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::resolve::{Documents, Node};
use super::GenError;

/// The JSON types of JSON Schema's `type` keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JsonType {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    pub const ALL: [JsonType; 7] = [
        JsonType::Null,
        JsonType::Boolean,
        JsonType::Integer,
        JsonType::Number,
        JsonType::String,
        JsonType::Array,
        JsonType::Object,
    ];

    pub fn parse(name: &str) -> Option<JsonType> {
        Some(match name {
            "null" => JsonType::Null,
            "boolean" => JsonType::Boolean,
            "integer" => JsonType::Integer,
            "number" => JsonType::Number,
            "string" => JsonType::String,
            "array" => JsonType::Array,
            "object" => JsonType::Object,
            _ => return None,
        })
    }

    /// The most specific type of a value (integral numbers are integers).
    pub fn of(value: &Value) -> JsonType {
        match value {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => JsonType::Integer,
            Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => JsonType::Integer,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }

    /// Whether a value of type `actual` satisfies `type: self`.
    pub fn admits(self, actual: JsonType) -> bool {
        self == actual || (self == JsonType::Number && actual == JsonType::Integer)
    }
}

/// `a ∩ b` for type sets, where `number` contains `integer`.
fn intersect_types(a: &BTreeSet<JsonType>, b: &BTreeSet<JsonType>) -> BTreeSet<JsonType> {
    let mut out: BTreeSet<JsonType> = a.intersection(b).copied().collect();
    let integer_from = |x: &BTreeSet<JsonType>, y: &BTreeSet<JsonType>| {
        x.contains(&JsonType::Integer) && y.contains(&JsonType::Number)
    };
    if integer_from(a, b) || integer_from(b, a) {
        out.insert(JsonType::Integer);
    }
    out
}

/// Everything known about the values allowed at one place, from all schemas that apply there.
#[derive(Debug, Clone, Default)]
pub struct Canon {
    pub types: Option<BTreeSet<JsonType>>,
    /// The only values allowed (`const` / `enum`, intersected), when known.
    pub values: Option<Vec<Value>>,
    pub excluded: Vec<Value>,

    pub properties: BTreeMap<String, Vec<Node>>,
    /// `additionalProperties` of each merged schema, with the property names that schema declares itself.
    additional_rules: Vec<(BTreeSet<String>, Node)>,
    /// After [`Canon::finish`]: the schemas a property outside `properties` must satisfy.
    pub extra_rules: Vec<Node>,
    /// After [`Canon::finish`]: whether properties outside `properties` may appear at all.
    pub extras_allowed: bool,
    pub required: BTreeSet<String>,
    pub forbidden: BTreeSet<String>,
    /// Groups of properties that must not all be present (`not: {required: [a, b]}`).
    pub not_all: Vec<BTreeSet<String>>,
    pub dependent_required: BTreeMap<String, BTreeSet<String>>,
    pub min_properties: usize,
    pub max_properties: Option<usize>,
    pub property_names: Vec<Node>,

    pub prefix_items: Vec<Vec<Node>>,
    /// `items` of each merged schema, with that schema's own `prefixItems` length.
    item_rules: Vec<(usize, Node)>,
    /// After [`Canon::finish`]: the schemas items beyond every prefix must satisfy.
    pub tail_items: Vec<Node>,
    pub min_items: usize,
    pub max_items: Option<usize>,
    pub unique_items: bool,

    pub min_length: usize,
    pub max_length: Option<usize>,
    pub patterns: Vec<String>,
    pub formats: Vec<String>,

    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: Option<f64>,
    pub exclusive_maximum: Option<f64>,
    pub multiple_of: Vec<f64>,

    /// Choices not made yet: each is a list of options, each option a list of schemas to merge.
    disjunctions: Vec<Vec<Vec<Node>>>,
    /// Which keyword families appeared, to guess a type when no `type` is given.
    pub families: BTreeSet<JsonType>,
}

/// Why a set of schemas admits no value (a branch to drop, not an error).
#[derive(Debug, Clone)]
pub struct Unsat(pub String);

/// More nested `$ref`s than any schema of ours has: a reference loop.
const MAX_REF_DEPTH: usize = 24;

/// At most this many branches per place; beyond it the rest are dropped (their values are still generated by the
/// branches kept, or not at all).
const MAX_BRANCHES: usize = 64;

impl Canon {
    /// Merges one schema location into this description.
    pub fn add(&mut self, docs: &Documents, node: &Node, depth: usize) -> Result<(), Unsat> {
        if depth > MAX_REF_DEPTH {
            return Err(Unsat(format!("reference loop at {node:?}")));
        }
        let map = match docs.value(node) {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => return Err(Unsat(format!("{node:?} is `false`"))),
            Value::Object(map) => map,
            _ => return Ok(()),
        };
        for (keyword, value) in map {
            self.keyword(docs, node, keyword, value, depth)?;
        }
        Ok(())
    }

    fn keyword(
        &mut self,
        docs: &Documents,
        node: &Node,
        keyword: &str,
        value: &Value,
        depth: usize,
    ) -> Result<(), Unsat> {
        let child = |segments: &[&str]| node.child(segments);
        let number = || value.as_f64();
        let count = || {
            value
                .as_u64()
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        match keyword {
            "$ref" => {
                let reference = value.as_str().unwrap_or_default();
                let target = docs
                    .resolve(node, reference)
                    .map_err(|e| Unsat(e.to_string()))?;
                self.add(docs, &target, depth + 1)?;
            }
            "allOf" => {
                for i in 0..value.as_array().map_or(0, Vec::len) {
                    self.add(docs, &child(&["allOf", &i.to_string()]), depth + 1)?;
                }
            }
            "anyOf" | "oneOf" => {
                let options = (0..value.as_array().map_or(0, Vec::len))
                    .map(|i| vec![child(&[keyword, &i.to_string()])])
                    .collect();
                self.disjunctions.push(options);
            }
            "if" => {
                let has = |k: &str| docs.value(node).get(k).is_some();
                if has("then") || has("else") {
                    let mut then_option = vec![child(&["if"])];
                    if has("then") {
                        then_option.push(child(&["then"]));
                    }
                    let mut else_option = Vec::new();
                    if has("else") {
                        else_option.push(child(&["else"]));
                    }
                    if let Some(hint) = negation_hint(value) {
                        else_option.push(Node::inline(hint));
                    }
                    self.disjunctions.push(vec![then_option, else_option]);
                }
            }
            "not" => self.negation(value),
            "type" => {
                let named: BTreeSet<JsonType> = match value {
                    Value::String(s) => JsonType::parse(s).into_iter().collect(),
                    Value::Array(list) => list
                        .iter()
                        .filter_map(|t| t.as_str().and_then(JsonType::parse))
                        .collect(),
                    _ => return Ok(()),
                };
                self.types = Some(match &self.types {
                    Some(have) => intersect_types(have, &named),
                    None => named,
                });
            }
            "const" => self.restrict_values(vec![value.clone()]),
            "enum" => self.restrict_values(value.as_array().cloned().unwrap_or_default()),
            "properties" => {
                self.families.insert(JsonType::Object);
                for (name, schema) in value.as_object().into_iter().flatten() {
                    self.properties
                        .entry(name.clone())
                        .or_default()
                        .push(child(&["properties", name]));
                    if schema == &Value::Bool(false) {
                        self.forbidden.insert(name.clone());
                    }
                }
            }
            "additionalProperties" => {
                self.families.insert(JsonType::Object);
                let own = docs
                    .value(node)
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default();
                self.additional_rules
                    .push((own, child(&["additionalProperties"])));
            }
            "required" => {
                self.families.insert(JsonType::Object);
                self.required.extend(
                    value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_owned),
                );
            }
            "dependentRequired" => {
                for (name, needs) in value.as_object().into_iter().flatten() {
                    self.dependent_required
                        .entry(name.clone())
                        .or_default()
                        .extend(
                            needs
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(str::to_owned),
                        );
                }
            }
            "minProperties" => self.min_properties = self.min_properties.max(count().unwrap_or(0)),
            "maxProperties" => self.max_properties = min_opt(self.max_properties, count()),
            "propertyNames" => {
                self.families.insert(JsonType::Object);
                self.property_names.push(child(&["propertyNames"]));
            }
            "prefixItems" => {
                self.families.insert(JsonType::Array);
                let n = value.as_array().map_or(0, Vec::len);
                if self.prefix_items.len() < n {
                    self.prefix_items.resize(n, Vec::new());
                }
                for (i, slot) in self.prefix_items.iter_mut().enumerate().take(n) {
                    slot.push(child(&["prefixItems", &i.to_string()]));
                }
            }
            "items" => {
                self.families.insert(JsonType::Array);
                let own_prefix = docs
                    .value(node)
                    .get("prefixItems")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                self.item_rules.push((own_prefix, child(&["items"])));
            }
            "minItems" => self.min_items = self.min_items.max(count().unwrap_or(0)),
            "maxItems" => self.max_items = min_opt(self.max_items, count()),
            "uniqueItems" => self.unique_items |= value.as_bool().unwrap_or(false),
            "minLength" => {
                self.families.insert(JsonType::String);
                self.min_length = self.min_length.max(count().unwrap_or(0));
            }
            "maxLength" => {
                self.families.insert(JsonType::String);
                self.max_length = min_opt(self.max_length, count());
            }
            "pattern" => {
                self.families.insert(JsonType::String);
                self.patterns.extend(value.as_str().map(str::to_owned));
            }
            "format" => {
                self.families.insert(JsonType::String);
                self.formats.extend(value.as_str().map(str::to_owned));
            }
            "minimum" => self.minimum = max_f(self.minimum, number()),
            "maximum" => self.maximum = min_f(self.maximum, number()),
            "exclusiveMinimum" => self.exclusive_minimum = max_f(self.exclusive_minimum, number()),
            "exclusiveMaximum" => self.exclusive_maximum = min_f(self.exclusive_maximum, number()),
            "multipleOf" => self.multiple_of.extend(number()),
            _ => {}
        }
        if matches!(
            keyword,
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf"
        ) {
            self.families.insert(JsonType::Number);
        }
        Ok(())
    }

    fn restrict_values(&mut self, allowed: Vec<Value>) {
        self.values = Some(match self.values.take() {
            None => allowed,
            Some(have) => have.into_iter().filter(|v| allowed.contains(v)).collect(),
        });
    }

    /// Merges the simple forms of `not`; anything else is left to the final validity check.
    fn negation(&mut self, schema: &Value) {
        let Some(map) = schema.as_object() else {
            return;
        };
        let keywords: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !matches!(*k, "description" | "title" | "$comment"))
            .collect();
        match keywords.as_slice() {
            ["const"] => self.excluded.extend(map.get("const").cloned()),
            ["enum"] => self.excluded.extend(
                map.get("enum")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            ),
            ["required"] => {
                let names: BTreeSet<String> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                match names.len() {
                    0 => {}
                    1 => self.forbidden.extend(names),
                    _ => self.not_all.push(names),
                }
            }
            ["type"] => {
                let Some(types) = &self.types else {
                    return;
                };
                let denied: BTreeSet<JsonType> = match map.get("type") {
                    Some(Value::String(s)) => JsonType::parse(s).into_iter().collect(),
                    Some(Value::Array(list)) => list
                        .iter()
                        .filter_map(|t| t.as_str().and_then(JsonType::parse))
                        .collect(),
                    _ => BTreeSet::new(),
                };
                let kept = types
                    .iter()
                    .copied()
                    .filter(|t| !denied.iter().any(|d| d.admits(*t)))
                    .collect();
                self.types = Some(kept);
            }
            _ => {}
        }
    }

    /// Applies the per-schema rules (`additionalProperties`, `items`) and checks the result admits a value.
    fn finish(mut self, docs: &Documents) -> Result<Canon, Unsat> {
        self.extras_allowed = true;
        for (own, rule) in std::mem::take(&mut self.additional_rules) {
            let denies = docs.value(&rule) == &Value::Bool(false);
            let names: Vec<String> = self
                .properties
                .keys()
                .filter(|k| !own.contains(*k))
                .cloned()
                .collect();
            for name in names {
                if denies {
                    self.forbidden.insert(name);
                } else if let Some(list) = self.properties.get_mut(&name) {
                    list.push(rule.clone());
                }
            }
            if denies {
                self.extras_allowed = false;
            } else {
                self.extra_rules.push(rule);
            }
        }
        for (own_prefix, rule) in std::mem::take(&mut self.item_rules) {
            if docs.value(&rule) == &Value::Bool(false) {
                self.max_items = min_opt(self.max_items, Some(own_prefix));
                continue;
            }
            for slot in self.prefix_items.iter_mut().skip(own_prefix) {
                slot.push(rule.clone());
            }
            self.tail_items.push(rule);
        }
        if let Some(values) = self.values.take() {
            let mut kept: Vec<Value> = Vec::new();
            for value in values {
                let typed = self
                    .types
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|t| t.admits(JsonType::of(&value))));
                if typed && !self.excluded.contains(&value) && !kept.contains(&value) {
                    kept.push(value);
                }
            }
            if kept.is_empty() {
                return Err(Unsat("no `const`/`enum` value fits every schema".into()));
            }
            self.values = Some(kept);
        }
        if self.types.as_ref().is_some_and(BTreeSet::is_empty) {
            return Err(Unsat("no JSON type fits every schema".into()));
        }
        if let Some(clash) = self.required.intersection(&self.forbidden).next() {
            return Err(Unsat(format!("`{clash}` is both required and forbidden")));
        }
        let too_few = |min: usize, max: Option<usize>| max.is_some_and(|max| min > max);
        if too_few(self.min_items, self.max_items)
            || too_few(self.min_length, self.max_length)
            || too_few(self.min_properties, self.max_properties)
            || too_few(self.required.len(), self.max_properties)
        {
            return Err(Unsat("a minimum exceeds its maximum".into()));
        }
        Ok(self)
    }
}

/// The branches of the values allowed where all of `nodes` apply: each a merged description with no choice
/// left. Empty when nothing fits.
pub fn branches(docs: &Documents, nodes: &[Node]) -> Vec<Canon> {
    let mut base = Canon::default();
    for node in nodes {
        if base.add(docs, node, 0).is_err() {
            return Vec::new();
        }
    }
    let mut out = Vec::new();
    expand(docs, base, &mut out);
    out
}

fn expand(docs: &Documents, mut canon: Canon, out: &mut Vec<Canon>) {
    if out.len() >= MAX_BRANCHES {
        return;
    }
    let Some(options) = canon.disjunctions.pop() else {
        if let Ok(done) = canon.finish(docs) {
            out.push(done);
        }
        return;
    };
    for option in options {
        let mut branch = canon.clone();
        if option.iter().all(|n| branch.add(docs, n, 0).is_ok()) {
            expand(docs, branch, out);
        }
    }
}

/// A schema implied by `not(if)` for the simple `if`s our schemas use (`properties: {p: {const|enum|type}}`,
/// possibly nested, with or without `required`): `{"properties": {p: {"not": …}}}`. It admits a superset of
/// `not(if)`, which is all a hint needs.
fn negation_hint(if_schema: &Value) -> Option<Value> {
    let map = if_schema.as_object()?;
    if map
        .keys()
        .any(|k| !matches!(k.as_str(), "required" | "properties"))
    {
        return None;
    }
    let properties = map.get("properties")?.as_object()?;
    if properties.len() != 1 {
        return None;
    }
    let (name, condition) = properties.iter().next()?;
    let condition_map = condition.as_object()?;
    let negated = if condition_map.len() == 1
        && condition_map
            .keys()
            .all(|k| matches!(k.as_str(), "const" | "enum" | "type"))
    {
        json!({ "not": condition })
    } else {
        negation_hint(condition)?
    };
    let mut inner = Map::new();
    inner.insert(name.clone(), negated);
    Some(json!({ "properties": Value::Object(inner) }))
}

fn min_opt(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn min_f(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_f(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl From<Unsat> for GenError {
    fn from(u: Unsat) -> GenError {
        GenError::Unsatisfiable {
            path: String::new(),
            reason: u.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_is_the_intersection_of_number_and_integer() {
        let a = BTreeSet::from([JsonType::Number, JsonType::String]);
        let b = BTreeSet::from([JsonType::Integer]);
        assert_eq!(intersect_types(&a, &b), BTreeSet::from([JsonType::Integer]));
    }

    #[test]
    fn hints_negate_the_leaf_condition_of_nested_ifs() {
        let hint = negation_hint(&json!({
            "required": ["resource"],
            "properties": {"resource": {"required": ["type"], "properties": {"type": {"const": "collection"}}}}
        }));
        assert_eq!(
            hint,
            Some(
                json!({"properties": {"resource": {"properties": {"type": {"not": {"const": "collection"}}}}}})
            )
        );
        assert_eq!(negation_hint(&json!({"anyOf": []})), None);
    }
}
