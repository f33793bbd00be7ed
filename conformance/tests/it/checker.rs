//! The fixture checker itself: it passes a well-formed tree and names file, pointer and reason for each kind
//! of mistake.

use conformance::fixtures::{check_profile, Failure, ProfileReport, Roots};
use conformance::Profile;

use crate::scratch::ScratchDir;

const BASE: &str = "https://schemas.ws-conformance.invalid/m2";

fn schema(group: &str, kind: &str, body: &str) -> String {
    format!(
        r#"{{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"{BASE}/{group}/{kind}.json",
        "title":"{kind}","description":"test schema {kind}",{body}}}"#
    )
}

fn envelope(group: &str, kinds: &[&str]) -> String {
    let refs: Vec<String> = kinds
        .iter()
        .map(|k| format!(r#"{{"$ref":"{k}.json"}}"#))
        .collect();
    schema(
        group,
        "envelope",
        &format!(r#""oneOf":[{}]"#, refs.join(",")),
    )
}

/// A minimal profile that passes: client kinds `hello` and `bye`, server kind `ack`, one definition.
fn passing_tree() -> ScratchDir {
    let dir = ScratchDir::new("checker");
    dir.write(
        "schemas/m2/common/count.json",
        &schema("common", "count", r#""type":"integer","minimum":0"#),
    );
    dir.write(
        "schemas/m2/client/hello.json",
        &schema(
            "client",
            "hello",
            r#""type":"object","required":["op","n"],"additionalProperties":false,
            "properties":{"op":{"const":"hello"},"n":{"$ref":"../common/count.json"}}"#,
        ),
    );
    dir.write(
        "schemas/m2/client/bye.json",
        &schema(
            "client",
            "bye",
            r#""type":"object","required":["op"],"additionalProperties":false,"properties":{"op":{"const":"bye"}}"#,
        ),
    );
    dir.write(
        "schemas/m2/client/envelope.json",
        &envelope("client", &["hello", "bye"]),
    );
    dir.write(
        "schemas/m2/server/ack.json",
        &schema(
            "server",
            "ack",
            r#""type":"object","required":["ok"],"properties":{"ok":{"const":true}}"#,
        ),
    );
    dir.write(
        "schemas/m2/server/envelope.json",
        &envelope("server", &["ack"]),
    );
    let fixtures = [
        ("valid/client/hello/one.json", r#"{"op":"hello","n":1}"#),
        ("valid/client/bye/plain.json", r#"{"op":"bye"}"#),
        ("valid/server/ack/plain.json", r#"{"ok":true}"#),
        (
            "invalid/client/hello/negative.json",
            r#"{"op":"hello","n":-1}"#,
        ),
        ("invalid/client/hello/missing-n.json", r#"{"op":"hello"}"#),
        ("invalid/client/hello/not-json.txt", "hello there"),
        ("invalid/client/bye/extra.json", r#"{"op":"bye","n":1}"#),
        ("invalid/client/bye/wrong-op.json", r#"{"op":"ciao"}"#),
        ("invalid/client/bye/array.json", "[]"),
        ("invalid/server/ack/false.json", r#"{"ok":false}"#),
        ("invalid/server/ack/missing.json", "{}"),
        ("invalid/server/ack/string.json", r#""ok""#),
    ];
    let mut manifest = String::new();
    for (path, text) in fixtures {
        dir.write(&format!("fixtures/m2/{path}"), text);
        let (label, key) = path.split_once('/').expect("label/key");
        let field = if label == "valid" { "source" } else { "reason" };
        manifest.push_str(&format!("[{label}.\"{key}\"]\n{field} = \"test\"\n"));
    }
    dir.write("fixtures/m2/fixtures.toml", &manifest);
    dir
}

fn run(dir: &ScratchDir) -> ProfileReport {
    check_profile(&Roots::under(dir.path()), Profile::M2)
}

/// The single failure of a report that must have exactly one.
fn only_failure(report: &ProfileReport) -> &Failure {
    assert_eq!(report.failures.len(), 1, "{:#?}", report.failures);
    &report.failures[0]
}

fn file_of(failure: &Failure) -> String {
    failure.file.to_string_lossy().replace('\\', "/")
}

#[test]
fn a_well_formed_tree_passes_and_is_counted() {
    let dir = passing_tree();
    let report = run(&dir);
    assert!(report.passed(), "{:#?}", report.failures);
    assert_eq!((report.schemas, report.valid, report.invalid), (6, 3, 9));
}

#[test]
fn a_valid_fixture_that_breaks_its_schema_is_named_with_its_pointer() {
    let dir = passing_tree();
    dir.write(
        "fixtures/m2/valid/client/hello/one.json",
        r#"{"op":"hello","n":"1"}"#,
    );
    let report = run(&dir);
    let failure = only_failure(&report);
    assert!(file_of(failure).ends_with("fixtures/m2/valid/client/hello/one.json"));
    assert_eq!(failure.pointer, "/n");
    assert!(failure.reason.contains("integer"), "{}", failure.reason);
}

#[test]
fn a_mislabelled_fixture_fails_under_the_kind_it_is_filed_as() {
    let dir = passing_tree();
    dir.write("fixtures/m2/valid/client/hello/one.json", r#"{"op":"bye"}"#);
    let report = run(&dir);
    let pointers: Vec<&str> = report.failures.iter().map(|f| f.pointer.as_str()).collect();
    assert_eq!(pointers, ["", "/op"], "{:#?}", report.failures);
    assert!(report
        .failures
        .iter()
        .all(|f| file_of(f).ends_with("valid/client/hello/one.json")));
    assert!(report.failures[0]
        .reason
        .contains("\"n\" is a required property"));
}

#[test]
fn an_invalid_fixture_that_passes_is_reported() {
    let dir = passing_tree();
    dir.write(
        "fixtures/m2/invalid/client/hello/negative.json",
        r#"{"op":"hello","n":5}"#,
    );
    let report = run(&dir);
    assert_eq!(report.failures.len(), 2, "{:#?}", report.failures);
    assert!(report.failures[0]
        .reason
        .contains("accepted by client/hello"));
    assert!(report.failures[1]
        .reason
        .contains("accepted by the `client` envelope (as hello)"));
}

#[test]
fn an_invalid_fixture_accepted_by_the_envelope_as_another_kind_is_reported() {
    let dir = passing_tree();
    dir.write(
        "fixtures/m2/invalid/client/hello/negative.json",
        r#"{"op":"bye"}"#,
    );
    let failure = only_failure(&run(&dir)).clone();
    assert!(
        failure.reason.contains("envelope (as bye)"),
        "{}",
        failure.reason
    );
}

#[test]
fn kinds_that_overlap_are_reported_as_not_mutually_exclusive() {
    let dir = passing_tree();
    dir.write(
        "schemas/m2/client/bye.json",
        &schema("client", "bye", r#""type":"object","required":["op"]"#),
    );
    let report = run(&dir);
    assert!(
        report.failures.iter().any(|f| f
            .reason
            .contains("accepted by more than one `client` kind (bye, hello)")
            && file_of(f).ends_with("valid/client/hello/one.json")),
        "{:#?}",
        report.failures
    );
}

#[test]
fn files_and_manifest_entries_must_match_one_to_one() {
    let dir = passing_tree();
    dir.write(
        "fixtures/m2/valid/client/bye/unlisted.json",
        r#"{"op":"bye"}"#,
    );
    dir.remove("fixtures/m2/valid/server/ack/plain.json");
    dir.write("fixtures/m2/valid/server/ack/other.json", r#"{"ok":true}"#);
    let reasons: Vec<String> = run(&dir).failures.iter().map(ToString::to_string).collect();
    assert!(
        reasons.iter().any(|r| r.contains(
            "valid/client/bye/unlisted.json at /: no entry [valid.\"client/bye/unlisted.json\"]"
        )),
        "{reasons:#?}"
    );
    assert!(reasons.iter().any(|r| r.contains("fixtures.toml at /valid/server~1ack~1plain.json: entry names valid/server/ack/plain.json, which does not exist")), "{reasons:#?}");
}

#[test]
fn a_kind_without_enough_fixtures_is_reported() {
    let dir = passing_tree();
    dir.remove("fixtures/m2/invalid/server/ack/string.json");
    let manifest = std::fs::read_to_string(dir.path().join("fixtures/m2/fixtures.toml"))
        .expect("manifest")
        .replace(
            "[invalid.\"server/ack/string.json\"]\nreason = \"test\"\n",
            "",
        );
    dir.write("fixtures/m2/fixtures.toml", &manifest);
    let failure = only_failure(&run(&dir)).clone();
    assert!(file_of(&failure).ends_with("schemas/m2/server/ack.json"));
    assert!(
        failure.reason.contains("has 2 invalid fixtures"),
        "{}",
        failure.reason
    );
}

#[test]
fn text_that_is_json_must_not_hide_in_a_txt_file() {
    let dir = passing_tree();
    dir.write("fixtures/m2/invalid/client/hello/not-json.txt", "{}");
    let failure = only_failure(&run(&dir)).clone();
    assert!(
        failure.reason.contains("name it .json"),
        "{}",
        failure.reason
    );
}

#[test]
fn schema_headers_and_envelopes_follow_the_layout() {
    let dir = passing_tree();
    dir.write(
        "schemas/m2/server/ack.json",
        r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://schemas.ws-conformance.invalid/m2/server/other.json","type":"object","required":["ok"],"properties":{"ok":{"const":true}}}"#,
    );
    dir.write(
        "schemas/m2/client/envelope.json",
        &envelope("client", &["hello"]),
    );
    let reasons: Vec<String> = run(&dir).failures.iter().map(ToString::to_string).collect();
    for expected in [
        "server/ack.json at /$id: must be \"https://schemas.ws-conformance.invalid/m2/server/ack.json\"",
        "server/ack.json at /title: a non-empty `title` is required",
        "server/ack.json at /description: a non-empty `description` is required",
        "client/envelope.json at /oneOf: kind `bye` is missing from the envelope",
    ] {
        assert!(reasons.iter().any(|r| r.contains(expected)), "{expected}\n{reasons:#?}");
    }
}

#[test]
fn a_profile_without_schemas_is_one_clear_failure() {
    let dir = passing_tree();
    let report = check_profile(&Roots::under(dir.path()), Profile::Gamevault);
    let failure = only_failure(&report);
    assert_eq!(failure.reason, "no schemas for profile `gamevault` yet");
}

/// A copy of the checked-in m2 profile (fixture folders only, not the recordings).
fn m2_copy() -> ScratchDir {
    let roots = Roots::workspace();
    let dir = ScratchDir::new("m2-copy");
    dir.copy_tree(&roots.schemas.join("m2"), "schemas/m2");
    for part in ["valid", "invalid"] {
        dir.copy_tree(
            &roots.fixtures.join("m2").join(part),
            &format!("fixtures/m2/{part}"),
        );
    }
    let manifest =
        std::fs::read_to_string(roots.fixtures.join("m2/fixtures.toml")).expect("manifest");
    dir.write("fixtures/m2/fixtures.toml", &manifest);
    dir
}

#[test]
fn the_real_m2_tree_fails_when_a_fixture_breaks_or_is_mislabelled() {
    let dir = m2_copy();
    assert!(run(&dir).passed(), "{:#?}", run(&dir).failures);

    dir.write(
        "fixtures/m2/valid/server/success/kvstore-deleted.json",
        r#"{"userId":"fakeUserId","resource":{"type":"kvStore","id":"World:kvstoreClient:testKey"},"data":null,"version":"2024-01-30 15:53:00"}"#,
    );
    // A warning filed as an error: valid JSON, the wrong kind.
    dir.write(
        "fixtures/m2/valid/server/error/note-error.json",
        r#"{"warning":"resource_not_found","message":"KVStore resource doesn't currently exist, subscription was still made successfully"}"#,
    );
    let failures: Vec<String> = run(&dir).failures.iter().map(ToString::to_string).collect();
    assert!(
        failures
            .iter()
            .any(|f| f.contains("valid/server/success/kvstore-deleted.json at /version:")),
        "{failures:#?}"
    );
    assert!(
        failures
            .iter()
            .any(|f| f.contains("valid/server/error/note-error.json at /:")
                && f.contains("\"error\" is a required property")),
        "{failures:#?}"
    );
}
