//! The connections scenario: C idle connections opened (at a bounded concurrency) and held; the connect rate, and
//! the server's resident memory per connection when the server is a local process whose id is known.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::fleet::{ConnectStats, Fleet, FleetParams};
use super::subject::Subject;
use super::tally::SentClock;
use super::BenchError;

/// How many idle connections, and how they are opened and held.
#[derive(Debug, Clone)]
pub struct ConnectionsParams {
    pub count: usize,
    pub fleet: FleetParams,
    /// How long every connection is held open before the server's memory is read again.
    pub hold: Duration,
}

impl ConnectionsParams {
    pub fn new(count: usize) -> ConnectionsParams {
        ConnectionsParams {
            count,
            fleet: FleetParams::default(),
            hold: Duration::from_secs(1),
        }
    }
}

/// The server's resident memory (VmRSS) around the scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Rss {
    pub pid: u32,
    pub before_kib: u64,
    pub after_kib: u64,
    pub per_connection_kib: f64,
}

/// The figures of one connections run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectionsReport {
    pub subject: String,
    pub connections: usize,
    pub connect: ConnectStats,
    pub held_seconds: f64,
    /// Connections the server ended while they were held.
    pub closed_while_held: usize,
    pub rss: Option<Rss>,
    /// How memory was measured, or why it was not.
    pub rss_note: String,
}

/// Opens `params.count` idle connections of `subject` (the upgrade and, where the protocol has one, the session:
/// directus authentication, the Socket.IO namespace), holds them, and reads `server_pid`'s VmRSS before and after.
pub async fn run(
    subject: &dyn Subject,
    params: &ConnectionsParams,
    server_pid: Option<u32>,
) -> ConnectionsReport {
    let fleet = Fleet::start(
        params.fleet.clone(),
        subject.codec().clone(),
        subject.heartbeat(),
        0,
        Arc::new(SentClock::new(0)),
    );
    let before = server_pid.map(|pid| (pid, rss_kib(pid)));
    let connect = fleet.connect(subject, params.count, true).await;
    let held = Instant::now();
    tokio::time::sleep(params.hold).await;
    let after = server_pid.map(rss_kib);
    let closed_while_held = fleet.progress().closed.load(Ordering::Relaxed);
    let held_seconds = held.elapsed().as_secs_f64();
    fleet.stop().await;
    let (rss, rss_note) = match (before, after) {
        (Some((pid, Ok(before_kib))), Some(Ok(after_kib))) => (
            Some(Rss {
                pid,
                before_kib,
                after_kib,
                per_connection_kib: after_kib.saturating_sub(before_kib) as f64
                    / connect.connected.max(1) as f64,
            }),
            format!(
                "VmRSS of server process {pid} (a child process of this run, not the harness's own process), \
                 read before connecting and after holding every connection {}",
                humantime::format_duration(params.hold)
            ),
        ),
        (Some((pid, Err(e))), _) | (Some((pid, _)), Some(Err(e))) => {
            (None, format!("reading the memory of process {pid}: {e}"))
        }
        _ => (
            None,
            "not measured: the server is not a local process started by this run".to_owned(),
        ),
    };
    ConnectionsReport {
        subject: subject.name().to_owned(),
        connections: params.count,
        connect,
        held_seconds,
        closed_while_held,
        rss,
        rss_note,
    }
}

/// The resident set size of process `pid` in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Result<u64, BenchError> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|source| BenchError::Io {
        what: format!("reading {path}"),
        source,
    })?;
    parse_vm_rss(&status).ok_or_else(|| BenchError::Io {
        what: format!("reading {path}"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "no VmRSS line"),
    })
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.trim_start_matches("VmRSS:")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_kib() {
        let status =
            "Name:\treference-serv\nVmPeak:\t  20000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(12345));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_set() {
        assert!(rss_kib(std::process::id()).is_ok_and(|kib| kib > 0));
    }
}
