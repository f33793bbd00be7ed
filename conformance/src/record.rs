//! `conformance record`: run cases against any server and keep every case's outcome, raw transcript and
//! normalized transcript in one JSON file, which `conformance diff` compares with another server or recording.
//!
//! A recording has the layout of the JSON report (`conformance run --format json`; case `reference`s and
//! durations left out), plus `recording_version`,
//! `normalize_version` and `generated_cases` in `run` and a `normalized` object per case; so a JSON report is a
//! recording too (its transcripts are normalized when compared, without the target's credential names).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::Level;
use crate::cli::{CliError, RunArgs};
use crate::model::settings::{Settings, DEFAULT_CASES};
use crate::normalize::{self, Literals, NormalizedCase, Options};
use crate::profile::Profile;
use crate::report::{self, Format};
use crate::runner::{self, Observer, Run, RunReport, Selection};
use crate::schema::SchemaSet;
use crate::target::Target;
use crate::transcript::Entry;

/// Version of the recording's additions to the report structure.
pub const RECORDING_VERSION: u32 = 1;

/// Options of `conformance record`.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// Profiles to record (repeat or separate with commas); every profile the target describes when omitted.
    #[arg(
        long = "profile",
        short = 'p',
        value_name = "m2|directus|skapi|gamevault",
        value_delimiter = ','
    )]
    pub profiles: Vec<Profile>,

    /// Base URL of a server laid out like the bundled reference server (e.g. http://127.0.0.1:8080).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Target file (TOML) describing the server.
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,

    /// Lowest requirement level to run: must, should or may (all).
    #[arg(long, value_name = "must|should|may", default_value = "may")]
    pub level: Level,

    /// Record only cases whose id matches this glob (repeatable).
    #[arg(long = "case", value_name = "GLOB")]
    pub cases: Vec<String>,

    /// Seed of the random names and generated sequences; random when omitted (kept in the recording).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Generated messages or sequences per property and model case (default 16).
    #[arg(long = "cases", value_name = "N")]
    pub generated: Option<usize>,

    /// The schemas/ folder (defaults to the one this binary was built from).
    #[arg(long, value_name = "DIR", env = "CONFORMANCE_SCHEMAS")]
    pub schemas: Option<PathBuf>,

    /// Where to write the recording (JSON).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

impl RecordArgs {
    fn as_run_args(&self) -> RunArgs {
        RunArgs {
            profiles: self.profiles.clone(),
            endpoint: self.endpoint.clone(),
            target: self.target.clone(),
            level: self.level,
            cases: self.cases.clone(),
            format: Format::Json,
            output: None,
            seed: self.seed,
            generated: self.generated,
            schemas: self.schemas.clone(),
        }
    }
}

/// One transcript entry as a report or recording holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEntry {
    #[serde(default)]
    pub at_ms: f64,
    pub conn: String,
    pub kind: String,
    pub text: String,
}

/// One case of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedCase {
    pub id: String,
    pub profile: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    /// `pass`, `fail`, `skip` or `unsupported`.
    pub outcome: String,
    pub reason: Option<String>,
    #[serde(default)]
    pub transcript: Vec<RecordedEntry>,
    /// The normalized outcome and transcript; computed from `transcript` when absent (a plain JSON report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalized: Option<NormalizedCase>,
}

impl RecordedCase {
    /// The normalized form: as recorded, or computed from the raw transcript.
    pub fn normalized(&self) -> NormalizedCase {
        match &self.normalized {
            Some(normalized) => normalized.clone(),
            None => self.normalize_transcript(),
        }
    }

    /// The raw transcript normalized now, without the credential names of the target it ran against.
    pub fn normalize_transcript(&self) -> NormalizedCase {
        let profile = self.profile.parse::<Profile>().ok();
        let entries: Vec<Entry> = self
            .transcript
            .iter()
            .filter_map(|e| {
                Some(Entry {
                    at_ms: e.at_ms,
                    conn: e.conn.clone(),
                    kind: normalize::parse_kind(&e.kind)?,
                    text: e.text.clone(),
                })
            })
            .collect();
        let literals = Literals::default();
        let options = Options {
            profile,
            keep_heartbeats: normalize::is_heartbeat_case(&self.id),
            literals: &literals,
        };
        normalize::normalize_parts(&self.outcome, self.reason.as_deref(), &entries, &options)
    }
}

/// What a recording says about its run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRun {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize_version: Option<u32>,
    pub target: String,
    pub seed: u64,
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_cases: Option<usize>,
}

/// A recorded run: the JSON report's layout with normalized transcripts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    pub run: RecordedRun,
    pub cases: Vec<RecordedCase>,
}

/// Why a recording could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a recording or JSON report: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl Recording {
    /// A recording of `report`, run against `target` (whose credentials name the redacted values).
    pub fn from_report(report: &RunReport, target: &Target, generated_cases: usize) -> Recording {
        let document = serde_json::to_value(report::json::document(report)).unwrap_or(Value::Null);
        let raw: Vec<RecordedCase> = document
            .get("cases")
            .cloned()
            .and_then(|cases| serde_json::from_value(cases).ok())
            .unwrap_or_default();
        let cases = raw
            .into_iter()
            .zip(&report.cases)
            .map(|(mut recorded, case)| {
                let literals = Literals::from_target(target, case.case.profile);
                let options = Options::for_case(case.case.id, case.case.profile, &literals);
                recorded.normalized = Some(normalize::normalize(
                    &case.outcome,
                    &case.transcript,
                    &options,
                ));
                recorded
            })
            .collect();
        Recording {
            run: RecordedRun {
                recording_version: Some(RECORDING_VERSION),
                normalize_version: Some(normalize::NORMALIZE_VERSION),
                target: report.target.clone(),
                seed: report.seed,
                profiles: report
                    .profiles
                    .iter()
                    .map(|p| p.name().to_owned())
                    .collect(),
                generated_cases: Some(generated_cases),
            },
            cases,
        }
    }

    pub fn load(path: &Path) -> Result<Recording, RecordingError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecordingError::Read {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| RecordingError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), RecordingError> {
        let text = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            // Serializing plain data cannot fail; keep the file JSON if it ever does.
            serde_json::json!({"error": e.to_string()}).to_string()
        });
        std::fs::write(path, text + "\n").map_err(|source| RecordingError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    /// The recorded case `id`.
    pub fn case(&self, id: &str) -> Option<&RecordedCase> {
        self.cases.iter().find(|c| c.id == id)
    }
}

/// What a run that records needs besides the target.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub selection: Selection,
    pub seed: u64,
    /// Generated messages or sequences per property and model case.
    pub generated: usize,
    /// The schemas/ folder.
    pub schemas: PathBuf,
    /// Where model regressions are read and written; `None` is the source tree's fixtures/.
    pub regressions: Option<PathBuf>,
}

impl RunPlan {
    /// A plan for `selection` with the defaults: seed 0, the default number of generated cases, the source tree's
    /// schemas and regressions.
    pub fn new(selection: Selection) -> RunPlan {
        RunPlan {
            selection,
            seed: 0,
            generated: DEFAULT_CASES,
            schemas: SchemaSet::default_root(),
            regressions: None,
        }
    }
}

/// Runs `plan` against `target` (checking first that it is reachable) and records the result.
pub async fn run(
    mut target: Target,
    plan: &RunPlan,
    observer: Arc<dyn Observer>,
) -> Result<Recording, CliError> {
    let selection = &plan.selection;
    if selection.cases().is_empty() {
        return Err(CliError::NothingSelected {
            profiles: selection
                .profiles
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(","),
            level: selection.level,
            globs: selection.globs.iter().map(|g| g.to_string()).collect(),
        });
    }
    let schemas = SchemaSet::load_profiles(&plan.schemas, &selection.profiles)?;
    runner::preflight(&target, &selection.profiles).await?;
    Settings {
        cases: plan.generated,
        run_seed: Some(plan.seed),
        regressions: plan.regressions.clone(),
    }
    .apply(&mut target);
    let target = Arc::new(target);
    let run = Run {
        target: target.clone(),
        schemas: Arc::new(schemas),
        seed: plan.seed,
        selection: selection.clone(),
    };
    let report = run.execute(observer).await;
    Ok(Recording::from_report(&report, &target, plan.generated))
}

/// Runs `future` on a single-threaded runtime of its own, from any async context.
///
/// Live runs that are compared (`record`, `diff`) run this way: frames a server writes together are then all
/// read before the case goes on, so which frames a case left unread when it ended (and which its transcript
/// therefore holds) does not depend on how threads happen to be scheduled.
pub async fn on_one_thread<F>(future: F) -> std::io::Result<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(runtime.block_on(future))
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))?
}

/// A seed for a run that was given none: 53 bits, so JSON readers holding numbers as doubles keep it.
pub fn random_seed() -> u64 {
    rand::random::<u64>() >> 11
}

/// Why `conformance record` could not record (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Run(#[from] CliError),
    #[error(transparent)]
    Recording(#[from] RecordingError),
    #[error("starting the runtime of the run: {0}")]
    Runtime(std::io::Error),
}

/// `conformance record`: runs, writes the recording, prints a summary; returns the exit status.
pub async fn record(args: &RecordArgs) -> Result<u8, RecordError> {
    let run_args = args.as_run_args();
    let target = run_args.load_target()?;
    let selection = run_args.selection_for(&target)?;
    let total = selection.cases().len();
    let plan = RunPlan {
        seed: args.seed.unwrap_or_else(random_seed),
        generated: args.generated.unwrap_or(DEFAULT_CASES),
        schemas: args.schemas.clone().unwrap_or_else(SchemaSet::default_root),
        ..RunPlan::new(selection)
    };
    eprintln!(
        "recording {total} case(s) against {} (seed {})",
        target.name, plan.seed
    );
    let color = report::terminal::use_color();
    let progress = Arc::new(report::terminal::Progress::new(total, true, color));
    let observer: Arc<dyn Observer> = progress.clone();
    let seed = plan.seed;
    let recording = on_one_thread(async move { run(target, &plan, observer).await })
        .await
        .map_err(RecordError::Runtime)??;
    progress.finish();
    recording.save(&args.out)?;
    eprintln!(
        "recorded {} case(s) to {} (seed {seed})",
        recording.cases.len(),
        args.out.display(),
    );
    Ok(0)
}
