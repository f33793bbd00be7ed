//! Every example of a source document is among its profile's fixtures, verbatim up to whitespace.

use std::path::Path;

use conformance::fixtures::seed::{brace_blocks, uncovered_examples};
use conformance::fixtures::Roots;
use conformance::Profile;

use crate::FINISHED;

/// The seed document of each profile and how many `{…}` examples it holds (a guard on the extraction);
/// only the profiles in `FINISHED` are checked.
const SEEDS: &[(Profile, &str, usize)] = &[
    (Profile::M2, "m2-realtime.txt", 6),
    (
        Profile::Directus,
        "directus-websocket-subscriptions.txt",
        16,
    ),
    (Profile::Skapi, "skapi-realtime.txt", 2),
    (Profile::Gamevault, "gamevault-websockets.txt", 0),
];

fn seed_text(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../spec/seeds")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_seed_example_is_a_fixture() {
    let roots = Roots::workspace();
    for &(profile, file, examples) in SEEDS.iter().filter(|(p, _, _)| FINISHED.contains(p)) {
        let text = seed_text(file);
        assert_eq!(
            brace_blocks(&text).len(),
            examples,
            "{{…}} examples in {file}"
        );
        let uncovered = uncovered_examples(&text, &roots.fixtures.join(profile.name()))
            .unwrap_or_else(|e| panic!("{profile}: {e}"));
        assert!(
            uncovered.is_empty(),
            "{file}: examples with no verbatim fixture in fixtures/{profile}/:\n{}",
            uncovered.join("\n")
        );
    }
}

#[test]
fn the_m2_seed_has_its_six_examples() {
    let text = seed_text("m2-realtime.txt");
    let blocks = brace_blocks(&text);
    assert_eq!(blocks.len(), 6, "{blocks:#?}");
    assert!(blocks[2].contains("“liveConfig\""));
}

#[test]
fn brace_blocks_are_top_level_and_balanced() {
    let text = "a {\"x\": {\"y\": 1}} b } c {\n// ...\n} {unclosed";
    assert_eq!(brace_blocks(text), ["{\"x\": {\"y\": 1}}", "{\n// ...\n}"]);
}
