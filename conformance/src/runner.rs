//! Running a selection of cases against a target: profiles concurrently, the cases of one profile one at a
//! time (gamevault activities, for one, are global to the server), each case bounded by its timeout.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::case::{Case, Level, Outcome};
use crate::catalogue;
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::schema::SchemaSet;
use crate::target::Target;
use crate::transcript::Entry;

/// Which cases to run.
#[derive(Debug, Clone)]
pub struct Selection {
    pub profiles: Vec<Profile>,
    /// The lowest level included: `Must` runs MUST cases, `Should` MUST and SHOULD, `May` all.
    pub level: Level,
    /// Case id globs; empty selects every case.
    pub globs: Vec<glob::Pattern>,
}

impl Selection {
    pub fn includes(&self, case: &Case) -> bool {
        self.profiles.contains(&case.profile)
            && case.level <= self.level
            && (self.globs.is_empty() || self.globs.iter().any(|g| g.matches(case.id)))
    }

    /// The selected cases of the catalogue, per profile in catalogue order.
    pub fn cases(&self) -> Vec<Case> {
        self.profiles
            .iter()
            .flat_map(|p| catalogue::cases(*p))
            .filter(|c| self.includes(c))
            .collect()
    }
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseReport {
    pub case: Case,
    pub outcome: Outcome,
    pub duration: Duration,
    pub transcript: Vec<Entry>,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub target: String,
    pub seed: u64,
    pub started: SystemTime,
    pub duration: Duration,
    pub profiles: Vec<Profile>,
    pub level: Level,
    pub cases: Vec<CaseReport>,
}

impl RunReport {
    /// MUST cases that failed.
    pub fn must_failures(&self) -> impl Iterator<Item = &CaseReport> {
        self.cases
            .iter()
            .filter(|r| r.case.level == Level::Must && r.outcome.is_fail())
    }

    /// 0 when no MUST case failed, 1 otherwise (skipped and unsupported cases do not fail a run).
    pub fn exit_code(&self) -> u8 {
        if self.must_failures().next().is_some() {
            1
        } else {
            0
        }
    }

    /// How many cases of `profile` at `level` have each outcome: pass, fail, skip, unsupported.
    pub fn tally(&self, profile: Option<Profile>, level: Option<Level>) -> Tally {
        let mut tally = Tally::default();
        for r in self.cases.iter().filter(|r| {
            profile.is_none_or(|p| r.case.profile == p) && level.is_none_or(|l| r.case.level == l)
        }) {
            match r.outcome {
                Outcome::Pass => tally.pass += 1,
                Outcome::Fail(_) => tally.fail += 1,
                Outcome::Skip(_) => tally.skip += 1,
                Outcome::Unsupported(_) => tally.unsupported += 1,
            }
        }
        tally
    }
}

/// Outcome counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    pub unsupported: usize,
}

impl Tally {
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.skip + self.unsupported
    }
}

/// Told about each case as it starts and ends (progress bars, live output).
pub trait Observer: Send + Sync {
    fn started(&self, _case: &Case) {}
    fn finished(&self, _report: &CaseReport) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}

/// Everything a run needs.
#[derive(Clone)]
pub struct Run {
    pub target: Arc<Target>,
    pub schemas: Arc<SchemaSet>,
    pub seed: u64,
    pub selection: Selection,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("the target has no [{0}] section; add one or leave --profile {0} out")]
    NoSection(Profile),
    #[error("{profile}: the WebSocket URL template cannot be filled: {reason}")]
    Url { profile: Profile, reason: String },
    #[error("{profile}: cannot reach {url}: {reason}")]
    Unreachable {
        profile: Profile,
        url: String,
        reason: String,
    },
}

/// Checks every selected profile's endpoint accepts TCP connections, so a wrong URL is one clear error
/// rather than every case failing.
pub async fn preflight(target: &Target, profiles: &[Profile]) -> Result<(), PreflightError> {
    for &profile in profiles {
        if target.profile(profile).is_none() {
            return Err(PreflightError::NoSection(profile));
        }
        let url = target.ws_url(profile).map_err(|e| PreflightError::Url {
            profile,
            reason: e.to_string(),
        })?;
        let unreachable = |reason: String| PreflightError::Unreachable {
            profile,
            url: url.clone(),
            reason,
        };
        let address =
            host_and_port(&url).ok_or_else(|| unreachable("not a ws:// or wss:// URL".into()))?;
        match tokio::time::timeout(
            target.timeouts.connect,
            tokio::net::TcpStream::connect(address.as_str()),
        )
        .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Err(_) => return Err(unreachable("connection attempt timed out".into())),
        }
    }
    Ok(())
}

/// `host:port` of a ws:// or wss:// URL (default ports 80 and 443).
pub fn host_and_port(url: &str) -> Option<String> {
    let (rest, default_port) = if let Some(rest) = url.strip_prefix("ws://") {
        (rest, 80)
    } else if let Some(rest) = url.strip_prefix("wss://") {
        (rest, 443)
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if authority.is_empty() {
        return None;
    }
    let has_port = match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    };
    Some(if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:{default_port}")
    })
}

impl Run {
    /// Runs the selected cases; profiles concurrently, cases of a profile in order.
    pub async fn execute(&self, observer: Arc<dyn Observer>) -> RunReport {
        let started = SystemTime::now();
        let clock = Instant::now();
        let http = reqwest::Client::new();
        let mut tasks = Vec::new();
        for &profile in &self.selection.profiles {
            let cases: Vec<Case> = catalogue::cases(profile)
                .into_iter()
                .filter(|c| self.selection.includes(c))
                .collect();
            let run = self.clone();
            let observer = observer.clone();
            let http = http.clone();
            tasks.push(tokio::spawn(async move {
                let mut reports = Vec::new();
                for case in cases {
                    observer.started(&case);
                    let report = run.case(&case, http.clone()).await;
                    observer.finished(&report);
                    reports.push(report);
                }
                reports
            }));
        }
        let mut cases = Vec::new();
        for task in tasks {
            // A profile task only ends early if the runtime is shutting down; its cases are then missing.
            if let Ok(reports) = task.await {
                cases.extend(reports);
            }
        }
        RunReport {
            target: self.target.name.clone(),
            seed: self.seed,
            started,
            duration: clock.elapsed(),
            profiles: self.selection.profiles.clone(),
            level: self.selection.level,
            cases,
        }
    }

    /// Runs one case to an outcome.
    pub async fn case(&self, case: &Case, http: reqwest::Client) -> CaseReport {
        let start = Instant::now();
        let finish = |outcome: Outcome, transcript: Vec<Entry>| CaseReport {
            case: *case,
            outcome,
            duration: start.elapsed(),
            transcript,
        };
        if let Some(reason) = self.target.skip_reason(case.id) {
            return finish(
                Outcome::Skip(format!("the target skips it: {reason}")),
                Vec::new(),
            );
        }
        if let Some(reason) = self.target.unmet(case) {
            return finish(Outcome::Skip(reason), Vec::new());
        }
        let ctx = Ctx::new(
            case,
            self.target.clone(),
            self.schemas.clone(),
            self.seed,
            http,
            start,
        );
        let transcript = ctx.transcript().clone();
        let limit = crate::model::settings::case_limit(case, &self.target);
        let body = tokio::spawn((case.run)(ctx));
        let abort = body.abort_handle();
        let outcome = match tokio::time::timeout(limit, body).await {
            Ok(Ok(result)) => Outcome::from(result),
            Ok(Err(join)) if join.is_panic() => Outcome::Fail(format!(
                "harness error (not a finding about the server): the case panicked: {}",
                panic_message(join.into_panic())
            )),
            Ok(Err(join)) => Outcome::Fail(format!("the case was cancelled: {join}")),
            Err(_) => {
                abort.abort();
                Outcome::Fail(format!(
                    "the case did not finish within {} (the target's [timeouts] case)",
                    humantime::format_duration(limit)
                ))
            }
        };
        // A frame no schema allows fails the case even when its own checks passed or it was skipped.
        let outcome = match (outcome, transcript.first_violation()) {
            (Outcome::Fail(reason), _) => Outcome::Fail(reason),
            (_, Some(violation)) => Outcome::Fail(format!(
                "{} received a frame no {} server schema allows: {}",
                violation.conn, case.profile, violation.text
            )),
            (outcome, None) => outcome,
        };
        finish(outcome, transcript.entries())
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_reads_ws_urls() {
        assert_eq!(
            host_and_port("ws://127.0.0.1:8080/x").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(
            host_and_port("wss://example.com/a?b").as_deref(),
            Some("example.com:443")
        );
        assert_eq!(host_and_port("ws://[::1]/p").as_deref(), Some("[::1]:80"));
        assert_eq!(host_and_port("ws://[::1]:9/p").as_deref(), Some("[::1]:9"));
        assert_eq!(host_and_port("http://x"), None);
    }
}
