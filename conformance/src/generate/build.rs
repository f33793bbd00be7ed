//! From merged schema descriptions to proptest strategies of valid values.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::subsequence;
use proptest::strategy::{SBoxedStrategy, Union};
use serde_json::{Map, Value};

use super::merge::{branches, Canon, JsonType};
use super::overrides::{Override, Overrides};
use super::primitives::{
    any_json, format_strings, free_strings, integers, numbers, pattern_strings,
};
use super::resolve::{Documents, Node};
use super::GenError;

/// Nesting deeper than this is not generated (optional members are left out, required ones fail the branch).
const MAX_DEPTH: usize = 12;

/// Default bounds of numbers whose schema gives none.
const FREE_INTEGER: i64 = 1_000;

/// Builds strategies for one profile's documents, honouring overrides by instance path.
pub struct Builder<'a> {
    pub docs: &'a Arc<Documents>,
    pub overrides: &'a Overrides,
}

impl Builder<'_> {
    /// Values valid against every one of `nodes`, at instance `path`.
    pub fn conjunction(
        &self,
        nodes: &[Node],
        path: &[String],
        depth: usize,
    ) -> Result<SBoxedStrategy<Value>, GenError> {
        let unsat = |reason: String| GenError::Unsatisfiable {
            path: pointer(path),
            reason,
        };
        if let Some(Override::Generate(strategy)) = self.overrides.lookup(path) {
            return Ok(self.checked(strategy.clone(), nodes, path));
        }
        if depth > MAX_DEPTH {
            return Err(unsat("nested deeper than the generator goes".into()));
        }
        let mut strategies = Vec::new();
        let mut last_error = None;
        for canon in branches(self.docs, nodes) {
            match self.canon(&canon, path, depth) {
                Ok(strategy) => strategies.push(strategy),
                Err(e) => last_error = Some(e),
            }
        }
        if strategies.is_empty() {
            return Err(last_error.unwrap_or_else(|| {
                unsat(format!(
                    "no value satisfies every schema that applies here ({nodes:?})"
                ))
            }));
        }
        Ok(self.checked(Union::new(strategies).sboxed(), nodes, path))
    }

    /// `strategy` restricted to values valid against every one of `nodes`.
    fn checked(
        &self,
        strategy: SBoxedStrategy<Value>,
        nodes: &[Node],
        path: &[String],
    ) -> SBoxedStrategy<Value> {
        let docs = self.docs.clone();
        let nodes = nodes.to_vec();
        let whence = format!("valid at {}", pointer(path));
        strategy
            .prop_filter(whence, move |value| {
                nodes.iter().all(|node| docs.is_valid(node, value))
            })
            .sboxed()
    }

    fn canon(
        &self,
        canon: &Canon,
        path: &[String],
        depth: usize,
    ) -> Result<SBoxedStrategy<Value>, GenError> {
        if let Some(values) = &canon.values {
            return Ok(proptest::sample::select(values.clone()).sboxed());
        }
        let types: BTreeSet<JsonType> = match &canon.types {
            Some(types) => types.clone(),
            None if canon.families.len() == 1 => canon.families.clone(),
            None => return Ok(any_json()),
        };
        let mut strategies = Vec::new();
        let mut last_error = None;
        for json_type in types {
            let built = match json_type {
                JsonType::Null => Ok(Just(Value::Null).sboxed()),
                JsonType::Boolean => Ok(any::<bool>().prop_map(Value::Bool).sboxed()),
                JsonType::Integer => Ok(integer(canon)),
                JsonType::Number => Ok(number(canon)),
                JsonType::String => Ok(string(canon)),
                JsonType::Array => self.array(canon, path, depth),
                JsonType::Object => self.object(canon, path, depth),
            };
            match built {
                Ok(s) => strategies.push(s),
                Err(e) => last_error = Some(e),
            }
        }
        if strategies.is_empty() {
            return Err(last_error.unwrap_or_else(|| GenError::Unsatisfiable {
                path: pointer(path),
                reason: "no type left".into(),
            }));
        }
        Ok(Union::new(strategies).sboxed())
    }

    fn object(
        &self,
        canon: &Canon,
        path: &[String],
        depth: usize,
    ) -> Result<SBoxedStrategy<Value>, GenError> {
        let mut required = Vec::new();
        let mut optional = Vec::new();
        for (name, nodes) in &canon.properties {
            let at = child(path, name);
            let is_required = canon.required.contains(name);
            let forbidden = canon.forbidden.contains(name)
                || matches!(self.overrides.lookup(&at), Some(Override::Forbid));
            if forbidden {
                if is_required {
                    return Err(GenError::Unsatisfiable {
                        path: pointer(&at),
                        reason: "a required member is forbidden".into(),
                    });
                }
                continue;
            }
            match self.conjunction(nodes, &at, depth + 1) {
                Ok(strategy) if is_required => required.push((name.clone(), strategy)),
                Ok(strategy) => optional.push((name.clone(), strategy)),
                Err(e) if is_required => return Err(e),
                Err(_) => {}
            }
        }
        for name in canon
            .required
            .iter()
            .filter(|n| !canon.properties.contains_key(*n))
        {
            if !canon.extras_allowed {
                return Err(GenError::Unsatisfiable {
                    path: pointer(path),
                    reason: format!("`{name}` is required but no schema allows it"),
                });
            }
            let at = child(path, name);
            let strategy = if canon.extra_rules.is_empty() {
                any_json()
            } else {
                self.conjunction(&canon.extra_rules, &at, depth + 1)?
            };
            required.push((name.clone(), strategy));
        }
        let extras = self.extras(canon, path, depth);
        let room = canon
            .max_properties
            .map(|max| max.saturating_sub(required.len()));
        let lo = canon
            .min_properties
            .saturating_sub(required.len())
            .min(optional.len());
        let hi = room.unwrap_or(optional.len()).min(optional.len()).max(lo);
        let required_names: Vec<String> = required.iter().map(|(n, _)| n.clone()).collect();
        let optional_names: Vec<String> = optional.iter().map(|(n, _)| n.clone()).collect();
        let required_values: Vec<SBoxedStrategy<Value>> =
            required.into_iter().map(|(_, s)| s).collect();
        let optional_values: Vec<SBoxedStrategy<Value>> =
            optional.into_iter().map(|(_, s)| s).collect();
        let dependent = canon.dependent_required.clone();
        let not_all = canon.not_all.clone();
        let chosen = subsequence((0..optional_names.len()).collect::<Vec<_>>(), lo..=hi);
        Ok((required_values, optional_values, chosen, extras)
            .prop_map(move |(required_values, optional_values, chosen, extras)| {
                let mut present: BTreeSet<usize> = chosen.into_iter().collect();
                close_over_dependencies(&mut present, &optional_names, &dependent, &not_all);
                let mut object = Map::new();
                for (name, value) in required_names.iter().zip(required_values) {
                    object.insert(name.clone(), value);
                }
                for i in present {
                    if let (Some(name), Some(value)) =
                        (optional_names.get(i), optional_values.get(i))
                    {
                        object.insert(name.clone(), value.clone());
                    }
                }
                for (name, value) in extras {
                    object.entry(name).or_insert(value);
                }
                Value::Object(object)
            })
            .sboxed())
    }

    /// Members outside `properties`: a few when `additionalProperties` gives them a schema, rarely one when
    /// the object is simply open, never when it is closed.
    fn extras(
        &self,
        canon: &Canon,
        path: &[String],
        depth: usize,
    ) -> SBoxedStrategy<Vec<(String, Value)>> {
        let none = || Just(Vec::new()).sboxed();
        if !canon.extras_allowed {
            return none();
        }
        let at = child(path, "*");
        if matches!(self.overrides.lookup(&at), Some(Override::Forbid)) {
            return none();
        }
        let values = if canon.extra_rules.is_empty() {
            any_json()
        } else {
            match self.conjunction(&canon.extra_rules, &at, depth + 1) {
                Ok(s) => s,
                Err(_) => return none(),
            }
        };
        let names = if canon.property_names.is_empty() {
            "[a-z][a-zA-Z0-9_]{0,7}".prop_map(|s: String| s).sboxed()
        } else {
            match self.conjunction(&canon.property_names, &child(path, "<name>"), depth + 1) {
                Ok(s) => s
                    .prop_filter_map("a string name", |v| v.as_str().map(str::to_owned))
                    .sboxed(),
                Err(_) => return none(),
            }
        };
        let known: BTreeSet<String> = canon.properties.keys().cloned().collect();
        let names = names
            .prop_filter("a name no property declares", move |n| !known.contains(n))
            .sboxed();
        let most = if canon.extra_rules.is_empty() { 1 } else { 3 };
        let extra = (names, values).sboxed();
        prop_oneof![
            3 => none(),
            1 => proptest::collection::vec(extra, 1..=most),
        ]
        .sboxed()
    }

    fn array(
        &self,
        canon: &Canon,
        path: &[String],
        depth: usize,
    ) -> Result<SBoxedStrategy<Value>, GenError> {
        let mut prefix = Vec::new();
        for (i, nodes) in canon.prefix_items.iter().enumerate() {
            match self.conjunction(nodes, &child(path, &i.to_string()), depth + 1) {
                Ok(s) => prefix.push(s),
                Err(e) if i < canon.min_items => return Err(e),
                Err(_) => break,
            }
        }
        let tail_forbidden = canon.max_items.is_some_and(|max| max <= prefix.len())
            || prefix.len() < canon.prefix_items.len();
        let tail = if tail_forbidden {
            None
        } else if canon.tail_items.is_empty() {
            Some(any_json())
        } else {
            self.conjunction(&canon.tail_items, &child(path, "*"), depth + 1)
                .ok()
        };
        let longest = match (&tail, canon.max_items) {
            (None, max) => prefix.len().min(max.unwrap_or(usize::MAX)),
            (Some(_), Some(max)) => max,
            (Some(_), None) => (prefix.len() + 3).max(canon.min_items),
        };
        if canon.min_items > longest {
            return Err(GenError::Unsatisfiable {
                path: pointer(path),
                reason: format!(
                    "at least {} items are required but only {longest} can be generated",
                    canon.min_items
                ),
            });
        }
        let shortest = canon.min_items;
        Ok((shortest..=longest)
            .prop_flat_map(move |len| {
                let elements: Vec<SBoxedStrategy<Value>> = (0..len)
                    .map(|i| {
                        prefix
                            .get(i)
                            .cloned()
                            .or_else(|| tail.clone())
                            .unwrap_or_else(any_json)
                    })
                    .collect();
                elements.prop_map(Value::Array)
            })
            .sboxed())
    }
}

fn close_over_dependencies(
    present: &mut BTreeSet<usize>,
    names: &[String],
    dependent: &std::collections::BTreeMap<String, BTreeSet<String>>,
    not_all: &[BTreeSet<String>],
) {
    let index = |name: &str| names.iter().position(|n| n == name);
    loop {
        let mut added = false;
        for &i in present.clone().iter() {
            let Some(needs) = names.get(i).and_then(|n| dependent.get(n)) else {
                continue;
            };
            for need in needs {
                if let Some(j) = index(need) {
                    added |= present.insert(j);
                }
            }
        }
        if !added {
            break;
        }
    }
    for group in not_all {
        let members: Vec<usize> = group.iter().filter_map(|n| index(n)).collect();
        if !members.is_empty() && members.iter().all(|m| present.contains(m)) {
            if let Some(last) = members.last() {
                present.remove(last);
            }
        }
    }
}

fn integer(canon: &Canon) -> SBoxedStrategy<Value> {
    let lo = match (canon.minimum, canon.exclusive_minimum) {
        (Some(m), Some(e)) => (m.ceil() as i64).max(e.floor() as i64 + 1),
        (Some(m), None) => m.ceil() as i64,
        (None, Some(e)) => e.floor() as i64 + 1,
        (None, None) => i64::MIN,
    };
    let hi = match (canon.maximum, canon.exclusive_maximum) {
        (Some(m), Some(e)) => (m.floor() as i64).min(e.ceil() as i64 - 1),
        (Some(m), None) => m.floor() as i64,
        (None, Some(e)) => e.ceil() as i64 - 1,
        (None, None) => i64::MAX,
    };
    let (lo, hi) = match (lo == i64::MIN, hi == i64::MAX) {
        (true, true) => (-FREE_INTEGER, FREE_INTEGER),
        (true, false) => (hi.saturating_sub(2 * FREE_INTEGER), hi),
        (false, true) => (lo, lo.saturating_add(2 * FREE_INTEGER)),
        (false, false) => (lo, hi),
    };
    match canon
        .multiple_of
        .iter()
        .copied()
        .find(|m| *m >= 1.0 && m.fract() == 0.0)
    {
        Some(step) => {
            let step = step as i64;
            let first = lo.div_euclid(step) + i64::from(lo.rem_euclid(step) != 0);
            let last = hi.div_euclid(step);
            (first..=last.max(first))
                .prop_map(move |k| Value::from(k * step))
                .sboxed()
        }
        None => integers(lo, hi),
    }
}

fn number(canon: &Canon) -> SBoxedStrategy<Value> {
    if canon
        .multiple_of
        .iter()
        .any(|m| *m >= 1.0 && m.fract() == 0.0)
    {
        return integer(canon);
    }
    let lo = canon
        .minimum
        .or(canon.exclusive_minimum)
        .unwrap_or(-(FREE_INTEGER as f64));
    let hi = canon
        .maximum
        .or(canon.exclusive_maximum)
        .unwrap_or(lo.max(0.0) + 2.0 * FREE_INTEGER as f64);
    numbers(lo, hi)
}

fn string(canon: &Canon) -> SBoxedStrategy<Value> {
    let known_format = canon.formats.iter().find_map(|f| format_strings(f));
    let pattern = canon.patterns.first().and_then(|p| pattern_strings(p));
    let strings = known_format
        .or(pattern)
        .unwrap_or_else(|| free_strings(canon.min_length, canon.max_length));
    strings.prop_map(Value::String).sboxed()
}

fn child(path: &[String], segment: &str) -> Vec<String> {
    let mut out = path.to_vec();
    out.push(segment.to_owned());
    out
}

/// An instance path as a JSON pointer.
pub fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}
