//! Constraints a target puts on generated values: a member that names server state (a collection, a user, a
//! token) takes its value from the target, and members the target cannot accept are left out.
//! Overridden values are still checked against the schema.

use std::fmt;

use proptest::prelude::*;
use proptest::strategy::SBoxedStrategy;
use serde_json::Value;

/// What to do at one instance path.
#[derive(Clone)]
pub enum Override {
    /// Generate the value from this strategy instead of the schema.
    Generate(SBoxedStrategy<Value>),
    /// Never generate this (optional) member.
    Forbid,
}

/// Overrides by instance path. A path is a JSON pointer whose segments may be `*` (any member name or index),
/// e.g. `/query/fields` or `/data/*/text`; the extra members of an object are addressed as `/…/*` too.
#[derive(Clone, Default)]
pub struct Overrides {
    rules: Vec<(Vec<String>, Override)>,
}

impl fmt::Debug for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|(path, rule)| {
                let what = match rule {
                    Override::Generate(_) => "generate",
                    Override::Forbid => "forbid",
                };
                format!("/{} {what}", path.join("/"))
            }))
            .finish()
    }
}

impl Overrides {
    /// No overrides.
    pub fn none() -> Overrides {
        Overrides::default()
    }

    /// Values at `path` come from `strategy`.
    pub fn generate(mut self, path: &str, strategy: SBoxedStrategy<Value>) -> Overrides {
        self.rules
            .push((segments(path), Override::Generate(strategy)));
        self
    }

    /// The value at `path` is always `value`.
    pub fn fixed(self, path: &str, value: Value) -> Overrides {
        self.generate(path, Just(value).sboxed())
    }

    /// The value at `path` is one of `values`.
    pub fn one_of(self, path: &str, values: Vec<Value>) -> Overrides {
        self.generate(path, proptest::sample::select(values).sboxed())
    }

    /// The member at `path` is never generated.
    pub fn forbid(mut self, path: &str) -> Overrides {
        self.rules.push((segments(path), Override::Forbid));
        self
    }

    /// The rule for an instance path, the first that matches.
    pub fn lookup(&self, path: &[String]) -> Option<&Override> {
        self.rules
            .iter()
            .find(|(pattern, _)| {
                pattern.len() == path.len()
                    && pattern.iter().zip(path).all(|(p, s)| p == "*" || p == s)
            })
            .map(|(_, rule)| rule)
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_match_segment_by_segment_with_wildcards() {
        let overrides = Overrides::none()
            .fixed("/query/fields", json!(["*"]))
            .forbid("/data/*/id");
        let path = |p: &str| segments(p);
        assert!(matches!(
            overrides.lookup(&path("/query/fields")),
            Some(Override::Generate(_))
        ));
        assert!(matches!(
            overrides.lookup(&path("/data/0/id")),
            Some(Override::Forbid)
        ));
        assert!(overrides.lookup(&path("/query")).is_none());
        assert!(overrides.lookup(&path("")).is_none());
        assert!(Overrides::none().fixed("", json!(1)).lookup(&[]).is_some());
    }
}
