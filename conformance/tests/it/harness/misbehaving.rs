//! The harness can fail: servers wrong in one way make the right case fail, with a reason that says why.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance::case::Outcome;
use conformance::cli::{self, CliError, RunArgs};
use conformance::report::Format;
use conformance::runner::{CaseReport, PreflightError};
use conformance::transcript::EntryKind;
use conformance::{catalogue, Ctx, Level, Profile};
use serde_json::json;

use super::servers::{self, DirectusFlaw};
use super::{run_case, schemas, target_for};

const DIRECTUS: &str = r#"
[directus]
url = "{{ws_endpoint}}/websocket"
parameters = { auth_mode = "handshake", collection = "messages" }
[directus.credentials.primary]
label = "admin"
access_token = "token"
"#;

fn failure(report: &CaseReport) -> &str {
    match &report.outcome {
        Outcome::Fail(reason) => reason,
        other => panic!(
            "{} should fail, got {other:?}\n{:#?}",
            report.case.id, report.transcript
        ),
    }
}

#[tokio::test]
async fn events_without_the_uid_fail_uid_echo() {
    let endpoint = servers::directus(DirectusFlaw::NoUidOnEvents).await;
    let report = run_case(
        "directus.subscribe.uid-echo",
        target_for(DIRECTUS, &endpoint),
    )
    .await;
    let reason = failure(&report);
    assert!(
        reason.contains("the create event carries no uid"),
        "{reason}"
    );
    assert!(
        reason.contains("sub-"),
        "the reason names the expected uid: {reason}"
    );
    let kinds: Vec<EntryKind> = report.transcript.iter().map(|e| e.kind).collect();
    assert!(
        kinds.contains(&EntryKind::Send) && kinds.contains(&EntryKind::Recv),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn an_event_after_unsubscribe_fails_uid_stops_events() {
    let endpoint = servers::directus(DirectusFlaw::LeakAfterUnsubscribe).await;
    let report = run_case(
        "directus.unsubscribe.uid-stops-events",
        target_for(DIRECTUS, &endpoint),
    )
    .await;
    let reason = failure(&report);
    assert!(reason.contains("after it was unsubscribed"), "{reason}");
    assert!(
        reason.contains("stopped-"),
        "the reason names the unsubscribed uid: {reason}"
    );
}

#[tokio::test]
async fn a_frame_no_schema_allows_fails_the_case_with_pointer_and_reason() {
    let endpoint = servers::directus(DirectusFlaw::UnknownFrameBeforeInit).await;
    let report = run_case(
        "directus.subscribe.init-confirmation",
        target_for(DIRECTUS, &endpoint),
    )
    .await;
    let reason = failure(&report);
    assert!(
        reason.contains("no directus server schema allows"),
        "{reason}"
    );
    assert!(
        reason.contains("teleport"),
        "the reason shows the frame or the offending value: {reason}"
    );
    assert!(
        reason.contains("/event"),
        "the reason has the JSON pointer: {reason}"
    );
    assert!(
        report
            .transcript
            .iter()
            .any(|e| e.kind == EntryKind::Violation),
        "the violation is in the transcript"
    );
}

#[tokio::test]
async fn a_missing_confirmation_fails_after_the_wait_naming_what_was_expected() {
    let endpoint = servers::directus(DirectusFlaw::NoInit).await;
    let report = run_case(
        "directus.subscribe.init-confirmation",
        target_for(DIRECTUS, &endpoint),
    )
    .await;
    let reason = failure(&report);
    assert!(
        reason.contains("within 1s 500ms") && reason.contains("nothing arrived"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_correct_exchange_passes_against_the_same_test_server() {
    // The flaw only touches events, so the init confirmation is right: the machinery itself does not fail cases.
    let endpoint = servers::directus(DirectusFlaw::NoUidOnEvents).await;
    let report = run_case(
        "directus.subscribe.init-confirmation",
        target_for(DIRECTUS, &endpoint),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Pass, "{:#?}", report.transcript);
}

#[tokio::test]
async fn an_unechoed_subprotocol_fails_the_echo_case() {
    let endpoint = servers::m2_without_subprotocol_echo().await;
    let section = r#"
[m2]
url = "{{ws_endpoint}}/api/realtime/connect/"
[m2.credentials.primary]
api_key = "k"
organization = "o"
project = "p"
"#;
    let report = run_case(
        "m2.connect.subprotocol-echo",
        target_for(section, &endpoint),
    )
    .await;
    let reason = failure(&report);
    assert!(
        reason.contains("did not echo the offered Sec-WebSocket-Protocol"),
        "{reason}"
    );
}

#[tokio::test]
async fn accepting_an_invalid_token_fails_the_token_case() {
    let endpoint = servers::skapi_accepting_any_token().await;
    let section = "[skapi]\nurl = \"{{ws_endpoint}}/realtime\"\n";
    let report = run_case(
        "skapi.connect.invalid-token-rejected",
        target_for(section, &endpoint),
    )
    .await;
    let reason = failure(&report);
    assert!(reason.contains("accepted a WebSocket upgrade"), "{reason}");
}

#[tokio::test]
async fn an_open_packet_without_upgrades_fails_naming_the_key() {
    let endpoint = servers::gamevault_open_without_upgrades().await;
    let section = "[gamevault]\nurl = \"{{ws_endpoint}}/socket.io/\"\n[gamevault.credentials.primary]\nsecret = \"s\"\n";
    let report = run_case(
        "gamevault.engineio.open-packet-keys",
        target_for(section, &endpoint),
    )
    .await;
    let reason = failure(&report);
    assert!(reason.contains("upgrades"), "{reason}");
}

#[tokio::test]
async fn missing_credentials_and_actuators_skip_with_the_reason() {
    let endpoint = servers::directus(DirectusFlaw::NoInit).await;
    let section = "[directus]\nurl = \"{{ws_endpoint}}/websocket\"\n";
    let report = run_case(
        "directus.subscribe.uid-echo",
        target_for(section, &endpoint),
    )
    .await;
    match &report.outcome {
        Outcome::Skip(reason) => assert!(reason.contains("credential set `primary`"), "{reason}"),
        other => panic!("expected a skip, got {other:?}"),
    }
    let skipping = format!("[skip]\n\"directus.subscribe.*\" = \"not today\"\n{DIRECTUS}");
    let report = run_case(
        "directus.subscribe.uid-echo",
        target_for(&skipping, &endpoint),
    )
    .await;
    assert_eq!(
        report.outcome,
        Outcome::Skip("the target skips it: not today".into())
    );
}

#[tokio::test]
async fn frames_breaking_the_client_schema_are_not_sent() {
    let endpoint = servers::directus(DirectusFlaw::NoUidOnEvents).await;
    let target = Arc::new(target_for(DIRECTUS, &endpoint));
    let case = catalogue::all()
        .into_iter()
        .find(|c| c.id == "directus.subscribe.init-confirmation")
        .unwrap();
    let ctx = Ctx::new(
        &case,
        target,
        schemas(),
        1,
        reqwest::Client::new(),
        Instant::now(),
    );
    let mut conn = ctx.directus().connect("primary").await.unwrap();
    let error = conn
        .send_json(&json!({"type": "subscribe", "uid": "no-collection"}))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("harness error"), "{error}");
    assert!(error.to_string().contains("client schema"), "{error}");
    assert!(
        !ctx.transcript()
            .entries()
            .iter()
            .any(|e| e.text.contains("no-collection")),
        "the rejected frame was sent"
    );
    // The deliberate way still sends it.
    conn.send_text_raw(r#"{"type":"subscribe","uid":"raw"}"#)
        .await
        .unwrap();
    let init = conn.recv(Duration::from_secs(2)).await.unwrap();
    assert_eq!(init.str("/uid"), Some("raw"));
    assert!(init.is("subscription-init"), "kinds: {:?}", init.kinds);
}

#[tokio::test]
async fn engine_io_pings_are_answered_in_the_background_and_hidden() {
    let answered = Arc::new(AtomicBool::new(false));
    let endpoint = servers::gamevault_pinging(answered.clone()).await;
    let section = "[gamevault]\nurl = \"{{ws_endpoint}}/socket.io/\"\n[gamevault.credentials.primary]\nsecret = \"s\"\n";
    let target = Arc::new(target_for(section, &endpoint));
    let case = catalogue::all()
        .into_iter()
        .find(|c| c.id == "gamevault.engineio.open-packet-keys")
        .unwrap();
    let ctx = Ctx::new(
        &case,
        target,
        schemas(),
        1,
        reqwest::Client::new(),
        Instant::now(),
    );
    let mut conn = ctx.gamevault().open_engine("primary").await.unwrap();
    let nothing = conn.recv(Duration::from_millis(300)).await;
    assert!(nothing.is_err(), "the ping reached the case: {nothing:?}");
    assert!(
        answered.load(Ordering::Relaxed),
        "the ping was not answered"
    );
    let reply = conn
        .connect_namespace(None, Duration::from_secs(2))
        .await
        .unwrap();
    assert!(reply.is("connect"), "{reply}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_preflight_error() {
    // Bind then drop a listener to get a loopback port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let args = RunArgs {
        profiles: vec![Profile::Skapi],
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        target: None,
        level: Level::Must,
        cases: Vec::new(),
        format: Format::Json,
        output: None,
        seed: Some(1),
        generated: None,
        schemas: None,
    };
    match cli::run(&args).await {
        Err(CliError::Preflight(PreflightError::Unreachable { profile, .. })) => {
            assert_eq!(profile, Profile::Skapi)
        }
        other => panic!("expected an unreachable endpoint, got {other:?}"),
    }
    let no_target = RunArgs {
        endpoint: None,
        ..args.clone()
    };
    assert!(matches!(
        cli::run(&no_target).await,
        Err(CliError::NoTarget)
    ));
    let nothing = RunArgs {
        cases: vec!["nope.*".into()],
        ..args
    };
    assert!(matches!(
        cli::run(&nothing).await,
        Err(CliError::NothingSelected { .. })
    ));
}

#[tokio::test]
async fn a_websocket_only_server_makes_polling_unsupported() {
    let endpoint = servers::http_transport_unknown().await;
    let section = "[gamevault]\nurl = \"{{ws_endpoint}}/socket.io/\"\n[gamevault.credentials.primary]\nsecret = \"s\"\n";
    let report = run_case(
        "gamevault.transport.polling-session",
        target_for(section, &endpoint),
    )
    .await;
    match &report.outcome {
        Outcome::Unsupported(reason) => {
            assert!(
                reason.contains("no long-polling") && reason.contains("400"),
                "{reason}"
            )
        }
        other => panic!(
            "expected unsupported, got {other:?}\n{:#?}",
            report.transcript
        ),
    }
}

/// Reads the init confirmation, then lets whatever follows arrive unread.
async fn reads_init_then_idles(ctx: Ctx) -> conformance::CaseResult {
    let directus = ctx.directus();
    let mut conn = directus.connect("primary").await?;
    directus
        .subscribe(&mut conn, "messages", Some("only-init"), json!({}))
        .await?;
    tokio::time::sleep(ctx.silence()).await;
    Ok(())
}

#[tokio::test]
async fn a_frame_the_case_never_reads_still_fails_it() {
    let endpoint = servers::directus(DirectusFlaw::UnknownFrameAfterInit).await;
    let case = conformance::Case {
        id: "directus.test.idle-after-init",
        profile: Profile::Directus,
        level: Level::Must,
        title: "reads the init, then idles",
        reference: conformance::Reference {
            source: "spec/seeds/directus-websocket-subscriptions.txt",
            quote: "WebSockets Subscriptions",
        },
        kind: conformance::Kind::Scenario,
        requires: &[],
        run: |ctx| Box::pin(reads_init_then_idles(ctx)),
    };
    let run = conformance::runner::Run {
        target: Arc::new(target_for(DIRECTUS, &endpoint)),
        schemas: schemas(),
        seed: 1,
        selection: conformance::runner::Selection {
            profiles: vec![Profile::Directus],
            level: Level::May,
            globs: Vec::new(),
        },
    };
    let report = run.case(&case, reqwest::Client::new()).await;
    let reason = failure(&report);
    assert!(
        reason.contains("no directus server schema allows"),
        "{reason}"
    );
    assert!(
        reason.contains("admin#1"),
        "the reason names the connection: {reason}"
    );
}
