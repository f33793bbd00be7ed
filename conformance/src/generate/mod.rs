//! proptest strategies derived from `schemas/`: valid instances of any message schema, and invalid ones made
//! from them by mutation.
//!
//! No crate turns JSON Schema into strategies, so this walks the keywords our schemas use: `type`,
//! `properties`, `required`, `additionalProperties` (`true`, `false` or a schema), `enum`, `const`, `oneOf`,
//! `anyOf`, `allOf`, `not`, `if`/`then`/`else`, `$ref` (across files and into `$defs`), `prefixItems`, `items`
//! (a schema or `false`), `minItems`/`maxItems`, `uniqueItems`, `minProperties`/`maxProperties`,
//! `propertyNames`, `dependentRequired`, `minLength`/`maxLength`, `pattern`, `format`, `minimum`/`maximum`,
//! `exclusiveMinimum`/`exclusiveMaximum` and `multipleOf`.
//! Schemas that apply at one place are merged, alternatives become branches, and every value is checked
//! against the original schema locations before it is produced: what the merge cannot express (`oneOf`
//! exclusivity, a complex `not`, `uniqueItems`) is enforced by filtering.
//!
//! Strategies are `SBoxedStrategy` (the `Send + Sync` form of `BoxedStrategy`) so that generation can run on
//! any thread.

mod build;
mod merge;
pub mod mutate;
mod overrides;
mod primitives;
mod resolve;

use std::sync::Arc;

use proptest::strategy::SBoxedStrategy;
use serde_json::Value;

pub use merge::JsonType;
pub use mutate::{char_floor, Layer, Mutated, Mutation, Wire};
pub use overrides::{Override, Overrides};
pub use primitives::{any_json, any_object, format_strings, free_strings, pattern_strings};
pub use resolve::{Documents, Node};

use crate::profile::Profile;
use crate::schema::SchemaSet;

/// Why a strategy could not be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GenError {
    #[error("no schemas of profile {0} are loaded")]
    NoProfile(Profile),
    #[error("profile {profile} has no schema `{schema}` (expected `<group>/<kind>`, e.g. `client/subscribe`)")]
    UnknownSchema { profile: Profile, schema: String },
    #[error("schema registry: {0}")]
    Registry(String),
    #[error("cannot resolve $ref {reference:?}: {reason}")]
    Unresolvable { reference: String, reason: String },
    #[error("cannot compile the schema at {node}: {reason}")]
    Compile { node: String, reason: String },
    #[error("nothing can be generated at {}: {reason}", if .path.is_empty() { "/" } else { .path.as_str() })]
    Unsatisfiable { path: String, reason: String },
}

/// Strategies for one profile's schemas.
#[derive(Debug, Clone)]
pub struct Generator {
    docs: Arc<Documents>,
}

impl Generator {
    pub fn new(schemas: &SchemaSet, profile: Profile) -> Result<Generator, GenError> {
        Ok(Generator {
            docs: Arc::new(Documents::new(schemas, profile)?),
        })
    }

    pub fn profile(&self) -> Profile {
        self.docs.profile()
    }

    /// Valid instances of schema `<group>/<kind>` (e.g. `client/subscribe`, `server/envelope`).
    pub fn valid(&self, schema: &str) -> Result<SBoxedStrategy<Value>, GenError> {
        self.valid_with(schema, &Overrides::none())
    }

    /// Valid instances of `schema` whose members at the overridden paths come from the overrides.
    pub fn valid_with(
        &self,
        schema: &str,
        overrides: &Overrides,
    ) -> Result<SBoxedStrategy<Value>, GenError> {
        let root = self.docs.root(schema)?;
        build::Builder {
            docs: &self.docs,
            overrides,
        }
        .conjunction(&[root], &[], 0)
    }

    /// Whether `schema` accepts `value`.
    pub fn accepts(&self, schema: &str, value: &Value) -> bool {
        self.docs
            .root(schema)
            .is_ok_and(|root| self.docs.is_valid(&root, value))
    }

    /// Structural mutations of values from `valid` (instances of `schema`); `rejected` says whether `judge`
    /// (usually `schema` itself, or the direction's envelope) refuses the result.
    pub fn mutations(
        &self,
        schema: &str,
        judge: &str,
        valid: SBoxedStrategy<Value>,
    ) -> Result<SBoxedStrategy<Mutated>, GenError> {
        let root = self.docs.root(schema)?;
        let judge = self.docs.root(judge)?;
        Ok(mutate::structural(self.docs.clone(), root, judge, valid))
    }

    /// Transport mutations of values from `valid`; an oversized frame only when `size_limit` is given.
    pub fn transport_mutations(
        &self,
        valid: SBoxedStrategy<Value>,
        size_limit: Option<usize>,
    ) -> SBoxedStrategy<Mutated> {
        mutate::transport(valid, size_limit)
    }

    /// The message kinds (schema file stems) of a group, without the envelope.
    pub fn kinds(schemas: &SchemaSet, profile: Profile, group: &str) -> Vec<String> {
        schemas
            .get(profile)
            .and_then(|p| p.group(group))
            .map(|g| g.kinds.keys().cloned().collect())
            .unwrap_or_default()
    }
}
