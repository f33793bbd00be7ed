//! The catalogue's ids are unique and well formed, and every reference quotes its source.

use std::collections::BTreeSet;
use std::path::Path;

use conformance::catalogue;
use conformance::Profile;

fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `<profile>.<area>.<name>`: lowercase ASCII words joined by `-`, three dot-separated parts or more.
fn well_formed(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() >= 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part.split('-').all(|word| {
                    !word.is_empty()
                        && word
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
        })
}

#[test]
fn ids_are_unique_and_well_formed() {
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for case in catalogue::all() {
        if !seen.insert(case.id) {
            problems.push(format!("{}: duplicate id", case.id));
        }
        if !well_formed(case.id) {
            problems.push(format!(
                "{}: not <profile>.<area>.<name> in lowercase words",
                case.id
            ));
        }
        if case.id.split('.').next() != Some(case.profile.name()) {
            problems.push(format!(
                "{}: does not start with its profile {}",
                case.id, case.profile
            ));
        }
        if case.title.trim().is_empty() {
            problems.push(format!("{}: empty title", case.id));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_reference_quotes_its_source() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut problems = Vec::new();
    for case in catalogue::all() {
        let source = case.reference.source;
        if !source.starts_with("spec/") {
            problems.push(format!(
                "{}: reference {source} is not under spec/",
                case.id
            ));
            continue;
        }
        let text = match std::fs::read_to_string(root.join(source)) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("{}: cannot read {source}: {e}", case.id));
                continue;
            }
        };
        let quote = normalize(case.reference.quote);
        if quote.is_empty() || !normalize(&text).contains(&quote) {
            problems.push(format!(
                "{}: {source} does not contain {:?}",
                case.id, case.reference.quote
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_profile_has_cases_in_its_module() {
    for profile in Profile::ALL {
        let cases = catalogue::cases(profile);
        assert!(!cases.is_empty(), "{profile} has no cases");
        assert!(
            cases.iter().all(|c| c.profile == profile),
            "{profile}'s module lists another profile's case"
        );
    }
}

#[test]
fn the_id_format_check_rejects_malformed_ids() {
    assert!(well_formed("m2.subscribe.missing-resource-warning"));
    for bad in [
        "m2.subscribe",
        "m2..x",
        "M2.a.b",
        "m2.a.b_c",
        "m2.a.-b",
        "m2.a.b c",
    ] {
        assert!(!well_formed(bad), "{bad} passed the id check");
    }
}
