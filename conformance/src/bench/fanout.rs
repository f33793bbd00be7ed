//! The fan-out scenario: N subscribers on one resource, M changes caused as fast as the target accepts them,
//! every push counted per subscriber and timed from the moment its change was caused.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use serde::Serialize;

use super::fleet::{rate, ConnectStats, Fleet, FleetParams};
use super::stamp::Stamp;
use super::subject::Subject;
use super::tally::{Delivery, Latency, SentClock, ShardTally};
use crate::client::Payload;

/// How a fan-out run is shaped and bounded.
#[derive(Debug, Clone)]
pub struct FanoutParams {
    pub subscribers: usize,
    pub changes: usize,
    pub fleet: FleetParams,
    /// The most the readiness barrier may take: markers are caused until every subscriber has seen one.
    pub warm_up: Duration,
    /// Time between warm-up markers.
    pub warm_up_interval: Duration,
    /// After the last change, stop waiting when no new push has arrived for this long.
    pub quiet: Duration,
    /// After the last change, stop waiting after this long in any case.
    pub limit: Duration,
    /// After the last expected push, keep listening this long so duplicates are seen.
    pub linger: Duration,
    /// The most causing one change may take.
    pub cause_timeout: Duration,
    /// Changes caused but not yet accepted, at most: a target that acknowledges changes is kept busy without
    /// being flooded.
    pub in_flight: usize,
}

impl FanoutParams {
    pub fn new(subscribers: usize, changes: usize) -> FanoutParams {
        FanoutParams {
            subscribers,
            changes,
            fleet: FleetParams::default(),
            warm_up: Duration::from_secs(60),
            warm_up_interval: Duration::from_millis(200),
            quiet: Duration::from_secs(5),
            limit: Duration::from_secs(120),
            linger: Duration::from_millis(250),
            cause_timeout: Duration::from_secs(10),
            in_flight: 16,
        }
    }
}

/// Frames checked against the server schemas: everything subscriber 0 received, and the writer's frames.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SchemaSample {
    pub checked: usize,
    pub violations: usize,
    pub first_violation: Option<String>,
}

/// The figures of one fan-out run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FanoutReport {
    pub subject: String,
    pub subscribers: usize,
    pub changes: usize,
    pub connect: ConnectStats,
    /// What told the run a change was accepted; at most `in_flight` changes awaited it at once.
    pub acknowledgement: String,
    pub in_flight: usize,
    /// Subscribers that saw a warm-up marker before the measured changes began.
    pub ready: usize,
    pub warm_up_markers: u32,
    pub warm_up_seconds: f64,
    /// Changes the target accepted.
    pub caused: usize,
    pub cause_error: Option<String>,
    /// From the first change caused to the last one accepted.
    pub cause_seconds: f64,
    pub changes_per_second: f64,
    /// From the first change caused to the last first reception of a push.
    pub delivery_seconds: f64,
    pub pushes_per_second: f64,
    pub latency: Latency,
    pub delivery: Delivery,
    pub schema: SchemaSample,
    /// Why the run stopped waiting before every subscriber had every change, if it did.
    pub gave_up: Option<String>,
}

/// Runs the fan-out scenario against `subject`. Every wait is bounded: a target that loses pushes yields a report
/// that says so.
pub async fn run(subject: &mut dyn Subject, params: &FanoutParams) -> FanoutReport {
    let clock = Arc::new(SentClock::new(params.changes));
    let fleet = Fleet::start(
        params.fleet.clone(),
        subject.codec().clone(),
        subject.heartbeat(),
        params.changes,
        clock.clone(),
    );
    let mut report = FanoutReport {
        subject: subject.name().to_owned(),
        subscribers: params.subscribers,
        changes: params.changes,
        acknowledgement: subject.acknowledgement().to_owned(),
        in_flight: params.in_flight,
        ..FanoutReport::default()
    };
    report.connect = fleet.connect(&*subject, params.subscribers, false).await;
    let connected = report.connect.connected;

    let warm_up_started = Instant::now();
    let warm_up = warm_up(&*subject, &fleet, connected, params).await;
    report.warm_up_seconds = warm_up_started.elapsed().as_secs_f64();
    report.warm_up_markers = warm_up.markers;
    report.ready = fleet.progress().ready.load(Ordering::Relaxed);

    let started = Instant::now();
    report.cause_error = warm_up.error;
    if report.cause_error.is_none() {
        let (caused, error) = cause_changes(&*subject, &clock, params).await;
        report.caused = caused;
        report.cause_error = error;
    }
    let caused_at = Instant::now();
    report.cause_seconds = caused_at.duration_since(started).as_secs_f64();
    report.changes_per_second = rate(report.caused, report.cause_seconds);

    report.gave_up = wait_for_pushes(&fleet, connected, caused_at, &clock, params).await;
    tokio::time::sleep(params.linger).await;
    let tallies = fleet.stop().await;
    let writer_violation = subject.violation();
    subject.finish().await;

    summarize(&mut report, tallies, started, subject, writer_violation);
    report
}

/// Causes every measured change, up to `in_flight` at once, until one fails; returns how many were accepted and
/// the first failure.
async fn cause_changes(
    subject: &dyn Subject,
    clock: &SentClock,
    params: &FanoutParams,
) -> (usize, Option<String>) {
    let mut causing = stream::iter(0..params.changes)
        .map(|n| async move {
            let stamp = Stamp::Change(u32::try_from(n).unwrap_or(u32::MAX));
            clock.mark(n);
            match tokio::time::timeout(params.cause_timeout, subject.cause(stamp)).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(_) => Err(format!(
                    "change {n} was not accepted within {}",
                    humantime::format_duration(params.cause_timeout)
                )),
            }
        })
        .buffer_unordered(params.in_flight.max(1));
    let mut caused = 0;
    while let Some(result) = causing.next().await {
        match result {
            Ok(()) => caused += 1,
            Err(error) => return (caused, Some(error)),
        }
    }
    (caused, None)
}

struct WarmUp {
    markers: u32,
    error: Option<String>,
}

/// Causes warm-up markers, one at a time, until every connected subscriber has seen one, or the warm-up bound
/// passes. Subscribers not ready by then stay in the run; what they miss is reported as lost.
async fn warm_up(
    subject: &dyn Subject,
    fleet: &Fleet,
    connected: usize,
    params: &FanoutParams,
) -> WarmUp {
    let progress = fleet.progress();
    let all_ready = || {
        let closed = progress.closed.load(Ordering::Relaxed);
        progress.ready.load(Ordering::Relaxed) + closed >= connected
    };
    let deadline = Instant::now() + params.warm_up;
    let mut markers = 0;
    while connected > 0 && !all_ready() && Instant::now() < deadline {
        let stamp = Stamp::WarmUp(markers);
        match tokio::time::timeout(params.cause_timeout, subject.cause(stamp)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                return WarmUp {
                    markers,
                    error: Some(format!("warming up: {error}")),
                }
            }
            Err(_) => {
                return WarmUp {
                    markers,
                    error: Some(format!(
                        "warming up: marker {markers} was not accepted within {}",
                        humantime::format_duration(params.cause_timeout)
                    )),
                }
            }
        }
        markers += 1;
        let next = Instant::now() + params.warm_up_interval;
        while !all_ready() && Instant::now() < next {
            tokio::time::sleep(POLL).await;
        }
    }
    WarmUp {
        markers,
        error: None,
    }
}

/// How often the run looks at the shards' counters; the figures use arrival stamps, not this.
const POLL: Duration = Duration::from_millis(5);

/// Waits until every connected subscriber is complete or disconnected; gives up (and says why) when no push has
/// arrived for `quiet`, or `limit` after the last change.
async fn wait_for_pushes(
    fleet: &Fleet,
    connected: usize,
    caused_at: Instant,
    clock: &SentClock,
    params: &FanoutParams,
) -> Option<String> {
    let progress = fleet.progress();
    loop {
        if progress.finished.load(Ordering::Relaxed) >= connected {
            return None;
        }
        let now = Instant::now();
        let last_push = match progress.last_push.load(Ordering::Relaxed) {
            0 => caused_at,
            nanos => (clock.epoch() + Duration::from_nanos(nanos - 1)).max(caused_at),
        };
        if now.saturating_duration_since(last_push) > params.quiet {
            return Some(format!(
                "no new push for {} while {} of {connected} subscribers still missed changes",
                humantime::format_duration(params.quiet),
                connected.saturating_sub(progress.finished.load(Ordering::Relaxed))
            ));
        }
        if now.saturating_duration_since(caused_at) > params.limit {
            return Some(format!(
                "pushes still missing {} after the last change",
                humantime::format_duration(params.limit)
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn summarize(
    report: &mut FanoutReport,
    tallies: Vec<ShardTally>,
    started: Instant,
    subject: &dyn Subject,
    writer_violation: Option<String>,
) {
    let mut subscribers = Vec::new();
    let mut latencies = Vec::new();
    let mut last_push = None;
    let mut kept = Vec::new();
    for tally in tallies {
        subscribers.extend(tally.subscribers);
        latencies.extend(tally.latencies);
        last_push = last_push.max(tally.last_push);
        kept.extend(tally.kept);
    }
    subscribers.sort_by_key(|s| s.index);
    for sub in &mut subscribers {
        // A change whose causing failed may still have been delivered; count only the changes accepted.
        sub.distinct = sub.distinct.min(report.caused);
    }
    report.delivery = Delivery::of(&subscribers, report.caused);
    report.latency = Latency::of(latencies);
    report.delivery_seconds = last_push
        .map(|at| at.saturating_duration_since(started).as_secs_f64())
        .unwrap_or_default();
    report.pushes_per_second = rate(report.delivery.delivered, report.delivery_seconds);
    report.schema = schema_sample(subject, &kept, writer_violation);
}

fn schema_sample(
    subject: &dyn Subject,
    kept: &[String],
    writer_violation: Option<String>,
) -> SchemaSample {
    let mut sample = SchemaSample::default();
    if let Some(check) = subject.frame_check() {
        for text in kept {
            sample.checked += 1;
            if let Some(reason) = check
                .incoming(Duration::ZERO, Payload::Text(text.clone()))
                .violation
            {
                sample.violations += 1;
                sample
                    .first_violation
                    .get_or_insert_with(|| format!("{reason}\n  frame: {text}"));
            }
        }
    }
    if let Some(reason) = writer_violation {
        sample.violations += 1;
        sample.first_violation.get_or_insert(reason);
    }
    sample
}
