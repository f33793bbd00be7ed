//! `conformance diff` between reference servers: a recording of one and a second instance do not differ; an
//! instance behind a proxy that alters one kind of frame differs in exactly the cases that receive such a frame.

use std::sync::Arc;

use conformance::diff::regressions::SideRegressions;
use conformance::diff::{self, render, CaseStatus, DiffOptions, Side};
use conformance::record::{self, Recording, RunPlan};
use conformance::runner::{Quiet, Selection};
use conformance::schema::SchemaSet;
use conformance::{Level, Profile};

use crate::proxy::{self, Proxy};
use crate::server::{self, Server};

/// Fixed, so a failure can be repeated.
const SEED: u64 = 7;

/// Fewer generated sequences than a default run: enough to exercise the model cases, quick on two cores.
const GENERATED: usize = 4;

// The tests run on tokio's single-threaded test runtime, servers and harness together, for the reason given
// in `snapshots::runtime`: which unread frames a transcript holds then does not depend on thread scheduling.

fn options(regressions: &std::path::Path) -> DiffOptions {
    DiffOptions {
        seed: Some(SEED),
        generated: Some(GENERATED),
        regressions: Some(regressions.to_path_buf()),
        ..DiffOptions::default()
    }
}

/// Every case recorded once against a fresh reference server, shared by the tests below.
static REFERENCE: tokio::sync::OnceCell<Recording> = tokio::sync::OnceCell::const_new();

async fn reference_recording() -> &'static Recording {
    REFERENCE
        .get_or_init(|| async {
            // Replays the committed regressions, as each side of a diff does.
            let regressions = SideRegressions::prepare(
                Some(&server::scratch_dir("diff-reference")),
                "reference",
                &SchemaSet::default_root(),
                &Profile::ALL,
            )
            .expect("the regressions folder can be prepared");
            let server = Server::start().await;
            let plan = RunPlan {
                seed: SEED,
                generated: GENERATED,
                regressions: Some(regressions.dir.clone()),
                ..RunPlan::new(Selection {
                    profiles: Profile::ALL.to_vec(),
                    level: Level::May,
                    globs: Vec::new(),
                })
            };
            let recording = record::run(server::target(server.addr()), &plan, Arc::new(Quiet))
                .await
                .expect("the reference server runs every case");
            server.stop().await;
            recording
        })
        .await
}

#[tokio::test]
async fn a_second_reference_server_does_not_differ() {
    let scratch = server::scratch_dir("diff-same");
    let recording = reference_recording().await;
    let second = Server::start().await;
    let report = diff::diff_sides(
        ("reference.json", Side::Recording(recording.clone())),
        ("second", Side::Target(server::target(second.addr()))),
        &options(&scratch),
    )
    .await
    .expect("both sides run");
    assert_eq!(report.summary.compared, recording.cases.len());
    // In one process on one thread not even the frames a case leaves unread differ.
    assert!(
        report.cases.is_empty(),
        "{}",
        render::terminal(&report, false)
    );
    assert!(report.is_identical());
    assert_eq!(report.exit_code(), 0);
    second.stop().await;
}

#[tokio::test]
async fn an_altered_server_differs_in_exactly_the_cases_that_see_the_altered_frame() {
    let scratch = server::scratch_dir("diff-altered");
    let recording = reference_recording().await;
    // The cases whose reference transcript holds a frame the proxy changes: exactly these must differ.
    let mut expected: Vec<&str> = recording
        .cases
        .iter()
        .filter(|case| {
            case.transcript
                .iter()
                .any(|e| e.kind == "recv" && proxy::alter_m2_warning(&e.text).is_some())
        })
        .map(|case| case.id.as_str())
        .collect();
    expected.sort();
    assert!(
        !expected.is_empty(),
        "no case receives an m2 resource_not_found warning; the alteration tests nothing"
    );

    let upstream = Server::start().await;
    let altered = Proxy::start(upstream.addr(), proxy::alter_m2_warning).await;
    let report = diff::diff_sides(
        ("reference.json", Side::Recording(recording.clone())),
        ("altered", Side::Target(server::target(altered.addr()))),
        &options(&scratch),
    )
    .await
    .expect("both sides run");
    let shown = render::terminal(&report, false);
    let mut differing = report.differing_ids();
    differing.sort();
    assert_eq!(differing, expected, "{shown}");
    assert_eq!(report.summary.compared, recording.cases.len(), "{shown}");
    assert_eq!(report.exit_code(), 1);

    // Each differing case names the altered frame: the original warning removed, the altered one added.
    for case in &report.cases {
        assert_eq!(case.status, CaseStatus::Different);
        let transcript = case.transcript.as_deref().unwrap_or_default();
        assert!(
            transcript
                .lines()
                .any(|l| l.starts_with('+') && l.contains(proxy::ALTERED_MESSAGE)),
            "{}: {transcript}",
            case.id
        );
        assert!(
            transcript.lines().any(|l| l.starts_with('-')
                && l.contains("resource_not_found")
                && !l.contains(proxy::ALTERED_MESSAGE)),
            "{}: {transcript}",
            case.id
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&report.to_json()).expect("the JSON report is JSON");
    assert_eq!(
        json["summary"]["different"],
        serde_json::json!(expected.len())
    );
    drop(altered);
    upstream.stop().await;
}
