//! The load generator's accounting, proven on small in-process runs: the baseline server delivers every change
//! exactly once, and a deliberately faulty server's losses, duplicates, strays and disconnections are reported.
//! No assertion here is about speed.

mod faulty;

use std::time::Duration;

use conformance::bench::baseline::Baseline;
use conformance::bench::connections::{self, ConnectionsParams};
use conformance::bench::fanout::{self, FanoutParams};
use conformance::bench::machine::{build_profile, Machine};
use conformance::bench::report::{self, BenchReport, Parameters, ServerInfo, SubjectResults};
use conformance::bench::stamp;

use faulty::Faulty;

const SUBSCRIBERS: usize = 20;
const CHANGES: usize = 10;

/// Small, with short bounds so a run against a faulty server ends quickly.
fn params() -> FanoutParams {
    let mut params = FanoutParams::new(SUBSCRIBERS, CHANGES);
    params.fleet.shards = 3;
    params.fleet.connect_timeout = Duration::from_secs(5);
    params.warm_up = Duration::from_secs(10);
    params.quiet = Duration::from_millis(300);
    params.limit = Duration::from_secs(10);
    params.linger = Duration::from_millis(100);
    params.cause_timeout = Duration::from_secs(5);
    params
}

#[tokio::test]
async fn the_baseline_delivers_every_change_to_every_subscriber_exactly_once() {
    let mut baseline = Baseline::start(&stamp::run_id())
        .await
        .expect("baseline server");
    let report = fanout::run(&mut baseline, &params()).await;
    assert_eq!(
        report.connect.connected, SUBSCRIBERS,
        "{:?}",
        report.connect
    );
    assert_eq!(report.ready, SUBSCRIBERS);
    assert_eq!(report.caused, CHANGES);
    assert_eq!(report.cause_error, None);
    let d = &report.delivery;
    assert_eq!(d.expected, SUBSCRIBERS * CHANGES);
    assert_eq!(d.delivered, SUBSCRIBERS * CHANGES);
    assert_eq!(
        (d.lost, d.duplicated, d.unexpected, d.closed_early),
        (0, 0, 0, 0)
    );
    assert!(d.exact);
    assert_eq!(report.latency.samples, SUBSCRIBERS * CHANGES);
    assert!(report.latency.p50_ms <= report.latency.p99_ms);
    assert!(report.latency.p99_ms <= report.latency.max_ms);
    assert_eq!(report.gave_up, None);
}

#[tokio::test]
async fn a_faulty_server_is_reported_as_lost_duplicated_and_stray_pushes() {
    let mut faulty = Faulty::start(&stamp::run_id(), SUBSCRIBERS).await;
    let report = fanout::run(&mut faulty, &params()).await;
    assert_eq!(report.connect.connected, SUBSCRIBERS);
    assert_eq!(report.caused, CHANGES);
    let d = &report.delivery;
    let expected = faulty::expected_faults(SUBSCRIBERS, CHANGES);
    assert_eq!(d.expected, SUBSCRIBERS * CHANGES);
    assert_eq!(d.lost, expected.lost, "{d:?}");
    assert_eq!(d.delivered, SUBSCRIBERS * CHANGES - expected.lost);
    assert_eq!(d.subscribers_with_loss, expected.subscribers_with_loss);
    assert_eq!(d.duplicated, expected.duplicated);
    assert_eq!(d.subscribers_with_duplicates, expected.duplicated);
    assert_eq!(d.unexpected, expected.unexpected);
    assert_eq!(d.closed_early, 1);
    assert!(
        d.first_close.as_deref().is_some_and(|c| c.contains("1013")),
        "{d:?}"
    );
    assert_eq!(d.worst_subscriber, Some(expected.worst));
    assert!(!d.exact);
    // Every first reception is timed, losses are not.
    assert_eq!(report.latency.samples, d.delivered);
    assert!(
        report.gave_up.is_some(),
        "subscribers that never complete end the wait by the quiet bound"
    );

    let mut results = SubjectResults::new("faulty");
    results.fanout = Some(report);
    assert!(!results.clean());
    let rendered = report_with(results);
    let table = report::table(&rendered);
    assert!(table.contains("faulty"), "{table}");
    assert!(table.contains("NO"), "{table}");
    assert!(
        table.contains(&format!("{} pushes lost", expected.lost)),
        "{table}"
    );
}

#[tokio::test]
async fn idle_connections_are_counted_and_a_local_processes_memory_is_read() {
    let baseline = Baseline::start(&stamp::run_id())
        .await
        .expect("baseline server");
    let mut params = ConnectionsParams::new(30);
    params.hold = Duration::from_millis(100);
    // The baseline server runs in this test's process, so this process's memory stands in for a server's.
    let report = connections::run(&baseline, &params, Some(std::process::id())).await;
    assert_eq!(report.connect.connected, 30);
    assert_eq!(report.connect.failed, 0);
    assert_eq!(report.closed_while_held, 0);
    let rss = report.rss.expect("the memory of a local process is read");
    assert_eq!(rss.pid, std::process::id());
    assert!(rss.before_kib > 0 && rss.after_kib > 0);

    let without = connections::run(&baseline, &params, None).await;
    assert!(without.rss.is_none());
    assert!(without.rss_note.starts_with("not measured"));
}

#[tokio::test]
async fn the_report_renders_as_table_json_and_svg() {
    let mut baseline = Baseline::start(&stamp::run_id())
        .await
        .expect("baseline server");
    let mut results = SubjectResults::new("baseline");
    results.fanout = Some(fanout::run(&mut baseline, &params()).await);
    let mut report = report_with(SubjectResults::new("m2"));
    report.baseline = results;
    report.profiles[0].fanout_error = Some("preparing m2: no kv_upsert actuator".into());
    report.compute_ratios();
    assert!(!report.clean());

    let json: serde_json::Value =
        serde_json::from_str(&report.json()).expect("the JSON report parses");
    assert_eq!(json["build"], build_profile());
    assert_eq!(json["parameters"]["subscribers"], SUBSCRIBERS);
    assert!(json["machine"]["cores"].as_u64().is_some_and(|c| c > 0));
    assert_eq!(
        json["baseline"]["fanout"]["delivery"]["delivered"],
        SUBSCRIBERS * CHANGES
    );
    assert_eq!(
        json["profiles"][0]["fanout_error"],
        "preparing m2: no kv_upsert actuator"
    );

    let table = report::table(&report);
    assert!(table.contains("m2 fan-out: preparing m2"), "{table}");
    let svg = report::latency_chart(&report);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("baseline p99"), "{svg}");
}

/// A report around one subject's results, the way `cargo xtask bench` assembles one.
fn report_with(results: SubjectResults) -> BenchReport {
    BenchReport {
        report_version: report::REPORT_VERSION,
        started: report::timestamp_now(),
        duration_seconds: 0.0,
        machine: Machine::detect(),
        build: build_profile(),
        server: ServerInfo {
            target: "test".into(),
            endpoint: None,
            fanout: "in-test server".into(),
            connections: "in-test server".into(),
        },
        parameters: Parameters {
            subscribers: SUBSCRIBERS,
            changes: CHANGES,
            connections: 0,
            shards: 3,
            connect_concurrency: 64,
            in_flight: 16,
        },
        baseline: SubjectResults::new("baseline"),
        profiles: vec![results],
        notes: Vec::new(),
    }
}
