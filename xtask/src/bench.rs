//! `cargo xtask bench`: fan-out and idle-connection benchmarks of each profile, with a bare broadcast server as the
//! machine's own limit, against the bundled reference server (default) or any server a target file describes.
//! How to run it and the latest figures: BENCHMARKS.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use conformance::bench::baseline::Baseline;
use conformance::bench::connections::{self, ConnectionsParams};
use conformance::bench::fanout::{self, FanoutParams};
use conformance::bench::fleet::FleetParams;
use conformance::bench::machine::{build_profile, Machine};
use conformance::bench::report::{
    self, BenchReport, Parameters, Ratio, ServerInfo, SubjectResults,
};
use conformance::bench::{profiles, stamp, Subject};
use conformance::schema::SchemaSet;
use conformance::target::Target;
use conformance::Profile;

use crate::reference::{self, ChildServer};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Profiles to measure (repeat or separate with commas); every profile the target describes when omitted.
    #[arg(
        long = "profile",
        short = 'p',
        value_name = "m2|directus|skapi|gamevault",
        value_delimiter = ','
    )]
    pub profiles: Vec<Profile>,

    /// Base URL of a running server laid out like the reference server, with its demo credentials. With --target,
    /// fills the file's {{endpoint}}. Without either, the reference server is started in this process.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Target file (TOML) describing the server under test, as for `conformance run`.
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,

    /// Subscribers of the fan-out scenario.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub subscribers: usize,

    /// Changes caused in the fan-out scenario.
    #[arg(long, value_name = "M", default_value_t = 200)]
    pub changes: usize,

    /// Idle connections of the connections scenario.
    #[arg(long, value_name = "C", default_value_t = 1000)]
    pub connections: usize,

    /// Write the report as JSON to FILE, and the latency chart as SVG beside it (same name, .svg).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Pause between scenarios, so the previous one's disconnections are over before the next one's clock starts.
const BETWEEN_SCENARIOS: Duration = Duration::from_secs(1);

pub fn run(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let report = runtime.block_on(execute(args))?;
    print!("{}", report::table(&report));
    if let Some(out) = &args.out {
        write(out, &report.json())?;
        let chart = out.with_extension("svg");
        write(&chart, &report::latency_chart(&report))?;
        eprintln!(
            "report written to {} and {}",
            out.display(),
            chart.display()
        );
    }
    if !report.clean() {
        eprintln!("some scenarios failed or lost pushes (marked `!` above)");
        std::process::exit(1);
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Where the fan-out scenario runs.
enum Server {
    InProcess(reference::InProcess),
    External,
}

async fn execute(args: &Args) -> anyhow::Result<BenchReport> {
    let started = Instant::now();
    let started_at = report::timestamp_now();
    let machine = Machine::detect();
    let mut notes = vec![
        "the machine may be shared with other work while measuring: figures are noisy; compare medians of several runs"
            .to_owned(),
    ];
    if let Some(note) = open_files_note(&machine, args) {
        eprintln!("warning: {note}");
        notes.push(note);
    }
    let external = args.endpoint.is_some() || args.target.is_some();
    let (server, target) = if external {
        (Server::External, load_target(args)?)
    } else {
        let running = reference::start_in_process(reference::ephemeral_config()).await?;
        let target = Target::reference_server(&running.endpoint)?;
        (Server::InProcess(running), target)
    };
    let profiles = selected_profiles(args, &target)?;
    let schemas = Arc::new(
        SchemaSet::load_profiles(&SchemaSet::default_root(), &profiles)
            .context("loading the schemas")?,
    );
    let target = Arc::new(target);
    let run = stamp::run_id();
    let fleet = FleetParams {
        connect_timeout: target.timeouts.connect.max(Duration::from_secs(10)),
        ..FleetParams::default()
    };
    let mut fanout_params = FanoutParams::new(args.subscribers, args.changes);
    fanout_params.fleet = fleet.clone();
    fanout_params.cause_timeout = target.timeouts.connect.max(Duration::from_secs(10));
    let connections_params = ConnectionsParams {
        fleet: fleet.clone(),
        ..ConnectionsParams::new(args.connections)
    };
    eprintln!(
        "bench run {run}: {} build, {} subscribers × {} changes, {} idle connections, profiles {}",
        build_profile(),
        args.subscribers,
        args.changes,
        args.connections,
        names(&profiles)
    );

    let mut baseline = SubjectResults::new("baseline");
    match Baseline::start(&run).await {
        Ok(mut subject) => {
            baseline.fanout = Some(measure_fanout(&mut subject, &fanout_params).await);
            tokio::time::sleep(BETWEEN_SCENARIOS).await;
            baseline.connections =
                Some(measure_connections(&subject, &connections_params, None).await);
        }
        Err(e) => baseline.fanout_error = Some(e.to_string()),
    }

    let mut results: Vec<SubjectResults> = profiles
        .iter()
        .map(|p| SubjectResults::new(p.name()))
        .collect();
    for (profile, result) in profiles.iter().zip(&mut results) {
        tokio::time::sleep(BETWEEN_SCENARIOS).await;
        // A baseline run right before each profile: the ratio compares runs that saw the same machine load.
        let adjacent = match Baseline::start(&run).await {
            Ok(mut subject) => Some(measure_fanout(&mut subject, &fanout_params).await),
            Err(e) => {
                eprintln!("  baseline before {profile}: {e}");
                None
            }
        };
        tokio::time::sleep(BETWEEN_SCENARIOS).await;
        match profiles::prepare(*profile, target.clone(), schemas.clone(), &run).await {
            Ok(mut subject) => {
                let fanout = measure_fanout(subject.as_mut(), &fanout_params).await;
                result.ratio = adjacent.as_ref().map(|base| Ratio::of(&fanout, base));
                result.fanout = Some(fanout);
            }
            Err(e) => {
                eprintln!("  {profile} fan-out: {e}");
                result.fanout_error = Some(e.to_string());
            }
        }
    }

    let (fanout_server, connections_server) = match server {
        Server::InProcess(running) => {
            if let Err(e) = running.handle.shutdown().await {
                eprintln!("stopping the in-process reference server: {e}");
            }
            connections_against_children(
                &profiles,
                &schemas,
                &run,
                &connections_params,
                &mut results,
            )
            .await;
            (
                "reference server in this process (shares the cores with the load generator)".to_owned(),
                "reference server as a separate child process, one per profile (RSS is that process's VmRSS)"
                    .to_owned(),
            )
        }
        Server::External => {
            for (profile, result) in profiles.iter().zip(&mut results) {
                tokio::time::sleep(BETWEEN_SCENARIOS).await;
                match profiles::prepare(*profile, target.clone(), schemas.clone(), &run).await {
                    Ok(mut subject) => {
                        result.connections = Some(
                            measure_connections(subject.as_ref(), &connections_params, None).await,
                        );
                        subject.finish().await;
                    }
                    Err(e) => result.connections_error = Some(e.to_string()),
                }
            }
            (
                "external server".to_owned(),
                "external server (memory not measured: not a process this run started)".to_owned(),
            )
        }
    };

    let mut report = BenchReport {
        report_version: report::REPORT_VERSION,
        started: started_at,
        duration_seconds: started.elapsed().as_secs_f64(),
        machine,
        build: build_profile(),
        server: ServerInfo {
            target: target.name.clone(),
            endpoint: external
                .then(|| {
                    target
                        .vars
                        .get("endpoint")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                })
                .flatten(),
            fanout: fanout_server,
            connections: connections_server,
        },
        parameters: Parameters {
            subscribers: args.subscribers,
            changes: args.changes,
            connections: args.connections,
            shards: fleet.shards,
            connect_concurrency: fleet.connect_concurrency,
            in_flight: fanout_params.in_flight,
        },
        baseline,
        profiles: results,
        notes,
    };
    report.compute_ratios();
    Ok(report)
}

/// The connections scenario of each profile against a fresh child `reference-server`, so its memory is the
/// server's alone and no earlier scenario's freed memory is reused.
async fn connections_against_children(
    profiles: &[Profile],
    schemas: &Arc<SchemaSet>,
    run: &str,
    params: &ConnectionsParams,
    results: &mut [SubjectResults],
) {
    let binary = match ChildServer::build() {
        Ok(binary) => binary,
        Err(e) => {
            for result in results.iter_mut() {
                result.connections_error = Some(format!("{e:#}"));
            }
            return;
        }
    };
    for (profile, result) in profiles.iter().zip(results.iter_mut()) {
        tokio::time::sleep(BETWEEN_SCENARIOS).await;
        let outcome = async {
            let child = ChildServer::spawn(&binary)?;
            let target = Arc::new(Target::reference_server(&child.endpoint)?);
            let mut subject = profiles::prepare(*profile, target, schemas.clone(), run).await?;
            let report = measure_connections(subject.as_ref(), params, Some(child.pid())).await;
            subject.finish().await;
            drop(child);
            anyhow::Ok(report)
        }
        .await;
        match outcome {
            Ok(report) => result.connections = Some(report),
            Err(e) => {
                eprintln!("  {profile} connections: {e:#}");
                result.connections_error = Some(format!("{e:#}"));
            }
        }
    }
}

async fn measure_fanout(subject: &mut dyn Subject, params: &FanoutParams) -> fanout::FanoutReport {
    eprintln!(
        "  {} fan-out: {} subscribers × {} changes …",
        subject.name(),
        params.subscribers,
        params.changes
    );
    let report = fanout::run(subject, params).await;
    eprintln!(
        "  {} fan-out: {:.0} pushes/s, p50 {:.2} ms, p99 {:.2} ms, {} of {} delivered, {} lost, {} duplicated",
        report.subject,
        report.pushes_per_second,
        report.latency.p50_ms,
        report.latency.p99_ms,
        report.delivery.delivered,
        report.delivery.expected,
        report.delivery.lost,
        report.delivery.duplicated
    );
    report
}

async fn measure_connections(
    subject: &dyn Subject,
    params: &ConnectionsParams,
    pid: Option<u32>,
) -> connections::ConnectionsReport {
    eprintln!("  {} connections: {} idle …", subject.name(), params.count);
    let report = connections::run(subject, params, pid).await;
    eprintln!(
        "  {} connections: {} open, {:.0}/s{}",
        report.subject,
        report.connect.connected,
        report.connect.per_second,
        report
            .rss
            .as_ref()
            .map(|r| format!(", {:.1} KiB per connection", r.per_connection_kib))
            .unwrap_or_default()
    );
    report
}

fn load_target(args: &Args) -> anyhow::Result<Target> {
    Ok(match (&args.target, &args.endpoint) {
        (Some(path), endpoint) => Target::load(path, endpoint.as_deref())?,
        (None, Some(endpoint)) => Target::reference_server(endpoint)?,
        (None, None) => bail!("no target: give --endpoint URL or --target FILE"),
    })
}

/// The named profiles (each must have a section in the target), or every profile the target describes.
fn selected_profiles(args: &Args, target: &Target) -> anyhow::Result<Vec<Profile>> {
    if args.profiles.is_empty() {
        return Ok(target.profiles.keys().copied().collect());
    }
    let mut profiles = args.profiles.clone();
    profiles.sort();
    profiles.dedup();
    if let Some(missing) = profiles.iter().find(|p| target.profile(**p).is_none()) {
        bail!("the target `{}` has no [{missing}] section", target.name);
    }
    Ok(profiles)
}

fn names(profiles: &[Profile]) -> String {
    profiles
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A warning when the open-files limit (`ulimit -n`) is below what the run needs: every subscriber and, with the
/// in-process server, its server side are descriptors of this process.
fn open_files_note(machine: &Machine, args: &Args) -> Option<String> {
    let limit = machine.open_files_limit?;
    let in_process = args.endpoint.is_none() && args.target.is_none();
    let per_subscriber = if in_process { 2 } else { 1 };
    let needed = (args.subscribers.max(args.connections) * per_subscriber + 256) as u64;
    (limit < needed).then(|| {
        format!(
            "the open-files limit is {limit}, this run needs about {needed}: raise it first with `ulimit -n {}`",
            needed.next_power_of_two()
        )
    })
}
