//! The JSON and JUnit reports, the terminal summary, and the exit status.

use std::time::{Duration, SystemTime};

use conformance::case::{Level, Outcome};
use conformance::catalogue;
use conformance::report::{json, junit, terminal};
use conformance::runner::{CaseReport, RunReport};
use conformance::transcript::{EntryKind, Transcript};
use conformance::Profile;
use serde_json::Value;

fn case(id: &str) -> conformance::Case {
    catalogue::all()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case {id}"))
}

const MUST_M2: &str = "m2.subscribe.missing-resource-warning";
const SHOULD_M2: &str = "m2.message.invalid-format-error";
const MUST_DIRECTUS: &str = "directus.subscribe.uid-echo";

fn report(outcomes: &[(&str, Outcome)]) -> RunReport {
    let transcript = Transcript::new(std::time::Instant::now());
    transcript.record(
        "alice#1",
        EntryKind::Send,
        r#"{"type":"subscribe","uid":"<&>"}"#,
    );
    transcript.record("alice#1", EntryKind::Recv, "{\"x\":\"\u{1}\"}");
    RunReport {
        target: "test <target> & co".into(),
        seed: 42,
        started: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
        duration: Duration::from_millis(1234),
        profiles: vec![Profile::M2, Profile::Directus],
        level: Level::May,
        cases: outcomes
            .iter()
            .map(|(id, outcome)| CaseReport {
                case: case(id),
                outcome: outcome.clone(),
                duration: Duration::from_millis(12),
                transcript: transcript.entries(),
            })
            .collect(),
    }
}

#[test]
fn exit_status_follows_must_failures_only() {
    let pass = report(&[
        (MUST_M2, Outcome::Pass),
        (SHOULD_M2, Outcome::Fail("no".into())),
    ]);
    assert_eq!(
        pass.exit_code(),
        0,
        "a failed SHOULD case must not fail the run"
    );
    let skipped = report(&[
        (MUST_M2, Outcome::Skip("no actuator".into())),
        (MUST_DIRECTUS, Outcome::Unsupported("off".into())),
    ]);
    assert_eq!(skipped.exit_code(), 0);
    let failed = report(&[
        (MUST_M2, Outcome::Pass),
        (MUST_DIRECTUS, Outcome::Fail("uid".into())),
    ]);
    assert_eq!(failed.exit_code(), 1);
    assert_eq!(failed.must_failures().count(), 1);
}

#[test]
fn json_report_has_run_metadata_then_one_object_per_case() {
    let run = report(&[
        (MUST_M2, Outcome::Pass),
        (SHOULD_M2, Outcome::Skip("why".into())),
        (MUST_DIRECTUS, Outcome::Fail("the uid is missing".into())),
    ]);
    let doc: Value = serde_json::from_str(&json::render(&run)).unwrap();
    let meta = &doc["run"];
    assert_eq!(meta["report_version"], 1);
    assert_eq!(meta["tool"], "conformance");
    assert_eq!(meta["seed"], 42);
    assert_eq!(meta["started"], "2023-11-14T22:13:20.123Z");
    assert_eq!(meta["duration_ms"], 1234);
    assert_eq!(meta["profiles"], serde_json::json!(["m2", "directus"]));
    assert_eq!(meta["level"], "may");
    assert_eq!(
        meta["summary"],
        serde_json::json!({"pass": 1, "fail": 1, "skip": 1, "unsupported": 0})
    );
    assert_eq!(meta["exit_code"], 1);
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    let pass = &cases[0];
    for key in [
        "id",
        "profile",
        "level",
        "title",
        "kind",
        "reference",
        "outcome",
        "reason",
        "duration_ms",
        "transcript",
    ] {
        assert!(pass.get(key).is_some(), "case object lacks {key}: {pass}");
    }
    assert_eq!(pass["id"], MUST_M2);
    assert_eq!(pass["level"], "must");
    assert_eq!(pass["kind"], "scenario");
    assert_eq!(pass["outcome"], "pass");
    assert_eq!(pass["reason"], Value::Null);
    assert_eq!(pass["reference"]["source"], "spec/seeds/m2-realtime.txt");
    assert_eq!(cases[1]["outcome"], "skip");
    assert_eq!(cases[1]["reason"], "why");
    assert_eq!(cases[2]["outcome"], "fail");
    let entry = &cases[2]["transcript"][0];
    assert_eq!(entry["conn"], "alice#1");
    assert_eq!(entry["kind"], "send");
    assert!(entry["at_ms"].is_number());
}

#[test]
fn junit_report_has_a_suite_per_profile_and_escapes_text() {
    let run = report(&[
        (MUST_M2, Outcome::Pass),
        (SHOULD_M2, Outcome::Unsupported("no <liveConfig>".into())),
        (
            MUST_DIRECTUS,
            Outcome::Fail("expected \"uid\" & got <none>".into()),
        ),
    ]);
    let xml = junit::render(&run);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
    assert!(
        xml.contains(r#"<testsuite name="m2" tests="2" failures="0" skipped="1""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testsuite name="directus" tests="1" failures="1" skipped="0""#),
        "{xml}"
    );
    assert!(xml.contains(
        r#"<testcase classname="m2.subscribe" name="m2.subscribe.missing-resource-warning""#
    ));
    assert!(
        xml.contains(r#"<skipped message="unsupported: no &lt;liveConfig&gt;"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(
            r#"<failure message="expected &quot;uid&quot; &amp; got &lt;none&gt;" type="MUST">"#
        ),
        "{xml}"
    );
    assert!(
        xml.contains("the same uid will be included as a property"),
        "the failure body quotes the reference"
    );
    assert!(xml.contains("&lt;&amp;&gt;"), "transcript text is escaped");
    assert!(
        !xml.contains('\u{1}'),
        "control characters are not written raw"
    );
    assert!(xml.contains(r#"value="test &lt;target&gt; &amp; co""#));
    let opened = xml.matches("<testsuite ").count();
    assert_eq!(opened, xml.matches("</testsuite>").count());
    assert_eq!(xml.matches("<testcase ").count(), 3);
}

#[test]
fn terminal_summary_counts_per_profile_and_level_and_shows_failures() {
    let run = report(&[
        (MUST_M2, Outcome::Pass),
        (SHOULD_M2, Outcome::Pass),
        (
            MUST_DIRECTUS,
            Outcome::Fail("the create event carries no uid".into()),
        ),
    ]);
    let text = terminal::summary(&run, false);
    assert!(
        text.contains("FAIL MUST directus.subscribe.uid-echo"),
        "{text}"
    );
    assert!(text
        .contains("\"When you receive responses, the same uid will be included as a property\""));
    assert!(text.contains("the create event carries no uid"));
    assert!(text.contains("alice#1"), "the transcript is shown: {text}");
    assert!(text.contains("1 MUST case(s) failed"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes when colour is off"
    );
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("m2 "))
        .collect();
    assert_eq!(rows.len(), 2, "one row per level present: {text}");
}
