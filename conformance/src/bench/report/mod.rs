//! The result of `cargo xtask bench`: every figure with the machine, parameters and build profile it was
//! measured with; rendered as a terminal table, JSON, and an SVG chart of latency percentiles.

mod svg;
mod table;

use serde::Serialize;

pub use svg::latency_chart;
pub use table::render as table;

use super::connections::ConnectionsReport;
use super::fanout::FanoutReport;
use super::machine::Machine;

/// Now, as an RFC 3339 timestamp (UTC, seconds), for [`BenchReport::started`].
pub fn timestamp_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Bumped when a field changes meaning or disappears.
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub report_version: u32,
    pub started: String,
    pub duration_seconds: f64,
    pub machine: Machine,
    /// `debug` or `release`.
    pub build: &'static str,
    pub server: ServerInfo,
    pub parameters: Parameters,
    pub baseline: SubjectResults,
    pub profiles: Vec<SubjectResults>,
    pub notes: Vec<String>,
}

/// Which server was measured, and how.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    /// The target's name.
    pub target: String,
    pub endpoint: Option<String>,
    /// e.g. "reference server in this process", "external server".
    pub fanout: String,
    /// e.g. "reference server as a child process", "external server".
    pub connections: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Parameters {
    pub subscribers: usize,
    pub changes: usize,
    pub connections: usize,
    /// Reader tasks holding the client sockets.
    pub shards: usize,
    /// Upgrades in flight at once.
    pub connect_concurrency: usize,
    /// Changes awaiting their acknowledgement at once, at most.
    pub in_flight: usize,
}

/// One subject's scenarios; an error means the scenario could not run at all.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SubjectResults {
    pub subject: String,
    pub fanout: Option<FanoutReport>,
    pub fanout_error: Option<String>,
    pub connections: Option<ConnectionsReport>,
    pub connections_error: Option<String>,
    /// This subject's figures divided by the baseline's.
    pub ratio: Option<Ratio>,
}

/// A profile's fan-out figures as a fraction (throughput) or multiple (latency) of a baseline run's: the one
/// measured right before the profile, so both saw the same load from whatever else the machine was doing.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub pushes_per_second: f64,
    pub latency_p50: f64,
    pub latency_p99: f64,
    /// The baseline run divided by.
    pub baseline_pushes_per_second: f64,
    pub baseline_p50_ms: f64,
    pub baseline_p99_ms: f64,
}

impl Ratio {
    pub fn of(fanout: &FanoutReport, baseline: &FanoutReport) -> Ratio {
        Ratio {
            pushes_per_second: divide(fanout.pushes_per_second, baseline.pushes_per_second),
            latency_p50: divide(fanout.latency.p50_ms, baseline.latency.p50_ms),
            latency_p99: divide(fanout.latency.p99_ms, baseline.latency.p99_ms),
            baseline_pushes_per_second: baseline.pushes_per_second,
            baseline_p50_ms: baseline.latency.p50_ms,
            baseline_p99_ms: baseline.latency.p99_ms,
        }
    }
}

impl SubjectResults {
    pub fn new(subject: &str) -> SubjectResults {
        SubjectResults {
            subject: subject.to_owned(),
            ..SubjectResults::default()
        }
    }

    /// Whether every scenario ran and every push arrived exactly once.
    pub fn clean(&self) -> bool {
        self.fanout_error.is_none()
            && self.connections_error.is_none()
            && self.fanout.as_ref().is_none_or(|f| {
                f.delivery.exact && f.cause_error.is_none() && f.connect.failed == 0
            })
            && self
                .connections
                .as_ref()
                .is_none_or(|c| c.connect.failed == 0 && c.closed_while_held == 0)
    }
}

fn divide(value: f64, by: f64) -> f64 {
    if by > 0.0 {
        value / by
    } else {
        0.0
    }
}

impl BenchReport {
    /// Fills the ratio of every profile that has none (no adjacent baseline run) from the report's baseline.
    pub fn compute_ratios(&mut self) {
        let Some(base) = self.baseline.fanout.clone() else {
            return;
        };
        for profile in &mut self.profiles {
            if profile.ratio.is_none() {
                profile.ratio = profile.fanout.as_ref().map(|f| Ratio::of(f, &base));
            }
        }
    }

    /// Whether every subject's scenarios ran and delivered every push exactly once.
    pub fn clean(&self) -> bool {
        self.baseline.clean() && self.profiles.iter().all(SubjectResults::clean)
    }

    /// Pretty-printed JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The baseline, then the profiles.
    pub fn subjects(&self) -> impl Iterator<Item = &SubjectResults> {
        std::iter::once(&self.baseline).chain(&self.profiles)
    }
}
