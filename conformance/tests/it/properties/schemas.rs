//! Every schema of every profile generates values it accepts, and structural mutations of them that it refuses.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use conformance::generate::{Generator, Layer, Mutated};
use conformance::schema::SchemaSet;
use conformance::Profile;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::Value;

/// Valid values drawn per schema.
const VALID_PER_SCHEMA: usize = 24;
/// Mutations drawn per schema.
const MUTATIONS_PER_SCHEMA: usize = 32;

fn schemas() -> &'static SchemaSet {
    static SCHEMAS: OnceLock<SchemaSet> = OnceLock::new();
    SCHEMAS.get_or_init(|| SchemaSet::load(&SchemaSet::default_root()).expect("the schemas load"))
}

/// `<group>/<kind>` of every message schema (every file outside `common`, envelopes included).
fn message_schemas(profile: Profile) -> Vec<String> {
    let loaded = schemas().profile(profile);
    let mut out = Vec::new();
    for (name, group) in &loaded.groups {
        if name == "common" {
            continue;
        }
        out.extend(group.kinds.keys().map(|kind| format!("{name}/{kind}")));
        if group.envelope.is_some() {
            out.push(format!("{name}/envelope"));
        }
    }
    out
}

fn draw<T: std::fmt::Debug>(strategy: &impl Strategy<Value = T>, runner: &mut TestRunner) -> T {
    strategy
        .new_tree(runner)
        .unwrap_or_else(|e| panic!("generation failed: {e}"))
        .current()
}

/// Per mutation kind: how many were refused and how many stayed valid.
type Tally = BTreeMap<&'static str, (usize, usize)>;

fn check_profile(profile: Profile, tally: &mut Tally) {
    let generator =
        Generator::new(schemas(), profile).expect("a generator for every loaded profile");
    for schema in message_schemas(profile) {
        let valid = generator
            .valid(&schema)
            .unwrap_or_else(|e| panic!("{profile} {schema}: {e}"));
        let mut runner = TestRunner::deterministic();
        for _ in 0..VALID_PER_SCHEMA {
            let value: Value = draw(&valid, &mut runner);
            assert!(
                generator.accepts(&schema, &value),
                "{profile} {schema} generated a value it refuses: {value}"
            );
        }
        let mutations = generator
            .mutations(&schema, &schema, valid)
            .unwrap_or_else(|e| panic!("{profile} {schema}: {e}"));
        let mut refused = 0;
        for _ in 0..MUTATIONS_PER_SCHEMA {
            let mutated: Mutated = draw(&mutations, &mut runner);
            assert_eq!(mutated.mutation.layer(), Layer::Schema);
            let value = mutated
                .value
                .as_ref()
                .expect("a structural mutation has a value");
            assert_eq!(
                mutated.rejected,
                !generator.accepts(&schema, value),
                "{profile} {schema}: `rejected` must be the validator's verdict for {value}"
            );
            let entry = tally.entry(mutated.mutation.name()).or_default();
            if mutated.rejected {
                refused += 1;
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        assert!(
            refused * 2 >= MUTATIONS_PER_SCHEMA,
            "{profile} {schema}: only {refused} of {MUTATIONS_PER_SCHEMA} mutations were refused"
        );
    }
}

#[test]
fn every_message_schema_generates_accepted_values_and_refused_mutations() {
    let mut tally = Tally::new();
    for profile in Profile::ALL {
        check_profile(profile, &mut tally);
    }
    for name in [
        "drop-required",
        "wrong-type",
        "outside-enum",
        "extra-member",
        "extra-item",
        "garbage-members",
    ] {
        let (refused, _) = tally.get(name).copied().unwrap_or_default();
        assert!(
            refused > 0,
            "no `{name}` mutation was ever refused: {tally:?}"
        );
    }
    eprintln!("mutations refused / stayed valid: {tally:?}");
}

#[test]
fn transport_mutations_break_the_frame() {
    let generator = Generator::new(schemas(), Profile::M2).expect("m2 loads");
    let valid = generator
        .valid("client/subscribe")
        .expect("m2 subscribe generates");
    let mutations = generator.transport_mutations(valid, Some(512));
    let mut runner = TestRunner::deterministic();
    let mut names = BTreeMap::new();
    for _ in 0..64 {
        let mutated = draw(&mutations, &mut runner);
        assert_eq!(mutated.mutation.layer(), Layer::Transport);
        if mutated.mutation.name() == "oversized-frame" {
            assert!(mutated.wire.len() > 512, "{}", mutated.mutation);
        }
        *names.entry(mutated.mutation.name()).or_insert(0) += 1;
    }
    assert_eq!(names.len(), 4, "{names:?}");
}
