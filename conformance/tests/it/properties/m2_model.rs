//! `m2.model.subscriptions` against small m2-like servers: a right one passes; one that leaks events after
//! unsubscribe and one that delivers across tenants fail, shrink to a few steps, print a transcript, save the
//! regression, and replay it first on the next run.

use std::sync::Arc;

use conformance::model::settings::Settings;
use conformance::runner::{CaseReport, Run, Selection};
use conformance::target::Target;
use conformance::{Level, Outcome, Profile};

use super::m2_server::{start, Fault};
use crate::harness::schemas;
use crate::scratch::ScratchDir;

const CASE: &str = "m2.model.subscriptions";

pub(super) fn target(
    fault_server: &super::m2_server::Server,
    cases: usize,
    regressions: &ScratchDir,
) -> Target {
    let headers = r#"headers = { x-api-key = "{{api_key}}", x-m2-organization-id = "{{organization}}", x-m2-project-id = "{{project}}", x-m2-world-id = "{{world}}" }"#;
    let text = format!(
        r#"
name = "m2-model-test"
[timeouts]
wait = "1500ms"
silence = "200ms"
case = "60s"
connect = "2s"

[m2]
url = "{ws}"

[m2.credentials.primary]
label = "demo"
api_key = "m2-demo-key"
user_id = "demoUser"
organization = "testOrg"
project = "testProj"
world = "testWorld"

[m2.credentials.secondary]
label = "demo2"
api_key = "m2-demo-key-2"
user_id = "demoUser2"
organization = "testOrg"
project = "testProj"
world = "testWorld"

[m2.credentials.other_tenant]
label = "other"
api_key = "m2-other-key"
user_id = "otherUser"
organization = "otherOrg"
project = "otherProj"
world = "otherWorld"

[m2.actuators.kv_upsert]
method = "POST"
url = "{{{{endpoint}}}}/api/kvstore/upsert/"
{headers}
body = '{{"id": {{{{user_id}}}}, "store": {{{{store}}}}, "key": {{{{key}}}}, "data": {{{{data}}}}, "scope": {{{{scope}}}}}}'

[m2.actuators.kv_delete]
method = "POST"
url = "{{{{endpoint}}}}/api/kvstore/delete/"
{headers}
body = '{{"id": {{{{user_id}}}}, "store": {{{{store}}}}, "keys": [{{{{key}}}}], "scope": {{{{scope}}}}}}'

[m2.actuators.live_config_put]
method = "PUT"
url = "{{{{endpoint}}}}/api/liveconfig/{{{{name}}}}"
{headers}
body = '{{{{data}}}}'

[m2.actuators.live_config_delete]
method = "DELETE"
url = "{{{{endpoint}}}}/api/liveconfig/{{{{name}}}}"
{headers}
"#,
        ws = fault_server.ws_url,
    );
    let mut target = Target::parse(&text, "m2 model test target", Some(&fault_server.http_url))
        .expect("the test target parses");
    Settings {
        cases,
        run_seed: Some(11),
        regressions: Some(regressions.path().to_owned()),
    }
    .apply(&mut target);
    target
}

pub(super) async fn run_case(id: &str, target: Target, seed: u64) -> CaseReport {
    let case = conformance::catalogue::all()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} is in the catalogue"));
    let run = Run {
        target: Arc::new(target),
        schemas: schemas(),
        seed,
        selection: Selection {
            profiles: vec![Profile::M2],
            level: Level::May,
            globs: Vec::new(),
        },
    };
    run.case(&case, reqwest::Client::new()).await
}

async fn run(target: Target, seed: u64) -> CaseReport {
    run_case(CASE, target, seed).await
}

/// The number of steps of the minimal sequence a failure reports.
fn minimal_steps(reason: &str) -> usize {
    let marker = "minimal failing sequence: ";
    let start = reason
        .find(marker)
        .unwrap_or_else(|| panic!("no minimal sequence in: {reason}"))
        + marker.len();
    reason[start..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no step count in: {reason}"))
}

async fn fails_and_shrinks(fault: Fault, symptom: &str) {
    let server = start(fault).await;
    let regressions = ScratchDir::new("m2-regressions");
    let report = run(target(&server, 64, &regressions), 5).await;
    let Outcome::Fail(reason) = &report.outcome else {
        panic!("{fault:?}: expected a failure, got {:?}", report.outcome);
    };
    let steps = minimal_steps(reason);
    assert!(
        steps <= 5,
        "{fault:?}: shrunk to {steps} steps, not at most 5:\n{reason}"
    );
    assert!(reason.contains("step 1:"), "no transcript in:\n{reason}");
    assert!(
        reason.contains(" <- "),
        "no received frame in the transcript:\n{reason}"
    );
    assert!(
        reason.contains("MISMATCH"),
        "no mismatch in the transcript:\n{reason}"
    );
    assert!(
        reason.contains(symptom),
        "{fault:?}: `{symptom}` not in:\n{reason}"
    );
    assert!(reason.contains("--seed"), "no way to rerun in:\n{reason}");
    let saved: Vec<_> = std::fs::read_dir(regressions.path().join("m2/regressions"))
        .expect("the regression folder exists")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(saved[0].starts_with(&format!("{CASE}-")) && saved[0].ends_with(".json"));

    // The next run, with another seed and a single generated sequence, replays the saved failure first.
    let again = run(target(&server, 1, &regressions), 99).await;
    let Outcome::Fail(replayed) = &again.outcome else {
        panic!(
            "{fault:?}: the regression did not fail again: {:?}",
            again.outcome
        );
    };
    assert!(replayed.contains("still fails"), "{replayed}");
    eprintln!("{fault:?}:\n{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_leaking_events_after_unsubscribe_fails_with_a_short_transcript() {
    fails_and_shrinks(Fault::LeaksAfterUnsubscribe, "unsubscribes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_delivering_across_tenants_fails_with_a_short_transcript() {
    fails_and_shrinks(Fault::CrossesTenants, "the model predicts").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_following_the_document_passes() {
    let server = start(Fault::None).await;
    let regressions = ScratchDir::new("m2-regressions-none");
    let report = run(target(&server, 16, &regressions), 5).await;
    assert_eq!(report.outcome, Outcome::Pass, "{:?}", report.transcript);
    assert!(
        report
            .transcript
            .iter()
            .any(|e| e.text.contains("16 generated sequences passed")),
        "the case says how many sequences it ran"
    );
}
