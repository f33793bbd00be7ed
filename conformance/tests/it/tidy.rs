//! Every schema file of a finished profile is a draft 2020-12 schema with an `$id` matching its path,
//! a title and a description; the set loads and compiles.

use std::path::{Path, PathBuf};

use conformance::fixtures::Roots;
use conformance::schema::{SchemaSet, BASE_URI};
use serde_json::Value;

use crate::FINISHED;

fn schema_files(profile_dir: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    for group in std::fs::read_dir(profile_dir).expect("list profile schemas") {
        let group = group.expect("list profile schemas").path();
        if !group.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&group).expect("list group") {
            let path = file.expect("list group").path();
            if path.extension().is_some_and(|e| e == "json") {
                let relative = path
                    .strip_prefix(profile_dir)
                    .expect("below profile dir")
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push((relative, path));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_schema_is_meta_valid_and_self_describing() {
    let roots = Roots::workspace();
    for &profile in FINISHED {
        let files = schema_files(&roots.schemas.join(profile.name()));
        assert!(!files.is_empty(), "{profile} has no schemas");
        for (relative, path) in files {
            let text = std::fs::read_to_string(&path).expect("read schema");
            let schema: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if let Err(e) = jsonschema::meta::validate(&schema) {
                panic!("{}: not a valid schema: {e}", path.display());
            }
            let text_of = |key: &str| schema.get(key).and_then(Value::as_str).unwrap_or_default();
            assert_eq!(
                text_of("$schema"),
                "https://json-schema.org/draft/2020-12/schema",
                "{}",
                path.display()
            );
            assert_eq!(
                text_of("$id"),
                format!("{BASE_URI}{}/{relative}", profile.name()),
                "{}",
                path.display()
            );
            for key in ["title", "description"] {
                assert!(
                    !text_of(key).trim().is_empty(),
                    "{}: no {key}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn the_finished_profiles_load_and_compile() {
    let set = SchemaSet::load_profiles(&Roots::workspace().schemas, FINISHED)
        .unwrap_or_else(|e| panic!("{e}"));
    for &profile in FINISHED {
        let schemas = set.profile(profile);
        assert!(
            schemas.client().envelope.is_some(),
            "{profile} client envelope"
        );
        assert!(
            schemas.server().envelope.is_some(),
            "{profile} server envelope"
        );
    }
}
