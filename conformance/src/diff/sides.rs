//! The two sides of `conformance diff`: endpoint URLs, target files or recordings; live sides are run with the
//! same seed, the same selection and the same number of generated cases, one after the other.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use clap::Args;

use super::regressions::SideRegressions;
use super::{compare, render, DiffReport, SideInfo};
use crate::case::Level;
use crate::cli::CliError;
use crate::model::settings::DEFAULT_CASES;
use crate::profile::Profile;
use crate::record::{self, Recording, RecordingError, RunPlan};
use crate::report::terminal;
use crate::runner::{Observer, Quiet, Selection};
use crate::schema::SchemaSet;
use crate::target::{Target, TargetError};

const EXAMPLES: &str = "\
Examples:
  # Two servers laid out like the reference server
  conformance diff http://127.0.0.1:8080 http://127.0.0.1:9090

  # A server described by a target file against a recording made earlier (its seed is reused)
  conformance record --endpoint http://127.0.0.1:8080 --seed 42 --out before.json
  conformance diff before.json my-server.toml

  # Only the directus cases, as JSON
  conformance diff http://127.0.0.1:8080 http://127.0.0.1:9090 --profile directus --format json --output diff.json

Exit status:
  0  both sides behave the same (after normalization)
  1  some case differs (outcome, reason or transcript) or exists on one side only
  2  usage, configuration or connection error";

/// `--format` of `conformance diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffFormat {
    /// Text for people: each differing case with a unified diff of its normalized transcript.
    #[default]
    Pretty,
    /// One JSON document (`DiffReport`).
    Json,
}

impl fmt::Display for DiffFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiffFormat::Pretty => "pretty",
            DiffFormat::Json => "json",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown format `{0}` (expected pretty or json)")]
pub struct UnknownDiffFormat(pub String);

impl FromStr for DiffFormat {
    type Err = UnknownDiffFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pretty" => Ok(DiffFormat::Pretty),
            "json" => Ok(DiffFormat::Json),
            other => Err(UnknownDiffFormat(other.to_owned())),
        }
    }
}

/// Options of `conformance diff`.
#[derive(Debug, Clone, Args)]
#[command(after_long_help = EXAMPLES)]
pub struct DiffArgs {
    /// First side: an endpoint URL (http://…, a server laid out like the reference server), a target file
    /// (.toml) or a recording (.json, from `conformance record` or `conformance run --format json`).
    #[arg(value_name = "A")]
    pub a: String,

    /// Second side, like A.
    #[arg(value_name = "B")]
    pub b: String,

    /// Profiles to compare; by default those both sides have.
    #[arg(
        long = "profile",
        short = 'p',
        value_name = "m2|directus|skapi|gamevault",
        value_delimiter = ','
    )]
    pub profiles: Vec<Profile>,

    /// Lowest requirement level to run: must, should or may (all).
    #[arg(long, value_name = "must|should|may", default_value = "may")]
    pub level: Level,

    /// Only cases whose id matches this glob (repeatable); by default a recording's cases, or all.
    #[arg(long = "case", value_name = "GLOB")]
    pub cases: Vec<String>,

    /// Seed of both runs; by default a recording's seed, or random (printed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Generated messages or sequences per property and model case; by default a recording's, or 16.
    #[arg(long = "cases", value_name = "N")]
    pub generated: Option<usize>,

    /// The schemas/ folder (defaults to the one this binary was built from).
    #[arg(long, value_name = "DIR", env = "CONFORMANCE_SCHEMAS")]
    pub schemas: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_name = "pretty|json", default_value = "pretty")]
    pub format: DiffFormat,

    /// Write the diff to FILE instead of stdout (the terminal still gets the summary).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Why a diff could not be made (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{0:?} is neither an endpoint URL (http://…), a target file (.toml) nor a recording (.json)")]
    UnknownSide(String),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Recording(#[from] RecordingError),
    #[error("--case {glob:?}: {reason}")]
    BadGlob { glob: String, reason: String },
    #[error("no profile is described by both sides (and selected)")]
    NoCommonProfile,
    #[error("{side}: {source}")]
    Run { side: String, source: Box<CliError> },
    #[error("preparing the model regressions of a side: {0}")]
    Regressions(std::io::Error),
    #[error("starting the runtime of the live runs: {0}")]
    Runtime(std::io::Error),
    #[error("writing the diff to {path}: {source}")]
    Output {
        path: String,
        source: std::io::Error,
    },
}

/// One side of a diff.
#[derive(Debug, Clone)]
pub enum Side {
    /// A live server, run now.
    Target(Target),
    /// Cases recorded earlier.
    Recording(Recording),
}

impl Side {
    /// Reads a side from the command line: `http(s)://…` is an endpoint, `*.json` a recording, `*.toml` a
    /// target file; another file is a recording when it holds a JSON object.
    pub fn open(spec: &str) -> Result<Side, DiffError> {
        if spec.starts_with("http://") || spec.starts_with("https://") {
            return Ok(Side::Target(Target::reference_server(spec)?));
        }
        let path = Path::new(spec);
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => return Ok(Side::Recording(Recording::load(path)?)),
            Some("toml") => return Ok(Side::Target(Target::load(path, None)?)),
            _ => {}
        }
        let text =
            std::fs::read_to_string(path).map_err(|_| DiffError::UnknownSide(spec.to_owned()))?;
        if text.trim_start().starts_with('{') {
            Ok(Side::Recording(Recording::load(path)?))
        } else {
            Ok(Side::Target(Target::load(path, None)?))
        }
    }

    fn profiles(&self) -> Vec<Profile> {
        match self {
            Side::Target(target) => target.profiles.keys().copied().collect(),
            Side::Recording(recording) => {
                let mut profiles: Vec<Profile> = recording
                    .cases
                    .iter()
                    .filter_map(|c| c.profile.parse().ok())
                    .collect();
                profiles.sort();
                profiles.dedup();
                profiles
            }
        }
    }

    fn recording(&self) -> Option<&Recording> {
        match self {
            Side::Recording(r) => Some(r),
            Side::Target(_) => None,
        }
    }
}

/// How to run the live sides of a diff.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Profiles to compare; empty: those every side has.
    pub profiles: Vec<Profile>,
    pub level: Level,
    /// Case id globs; empty: a recording's cases, or all.
    pub globs: Vec<String>,
    /// The seed of live runs; `None`: a recording's, or random.
    pub seed: Option<u64>,
    /// Generated cases per property and model case; `None`: a recording's, or the default.
    pub generated: Option<usize>,
    pub schemas: PathBuf,
    /// Where each live side keeps its model regressions (in `a/` and `b/`, each starting with a copy of the
    /// committed ones); `None`: temporary folders, removed afterwards.
    pub regressions: Option<PathBuf>,
    /// Show a progress bar on stderr while live sides run.
    pub progress: bool,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            profiles: Vec::new(),
            level: Level::May,
            globs: Vec::new(),
            seed: None,
            generated: None,
            schemas: SchemaSet::default_root(),
            regressions: None,
            progress: false,
        }
    }
}

impl DiffOptions {
    fn selection(&self, a: &Side, b: &Side) -> Result<Selection, DiffError> {
        let mut profiles: Vec<Profile> = if self.profiles.is_empty() {
            Profile::ALL.to_vec()
        } else {
            self.profiles.clone()
        };
        for side in [a, b] {
            let has = side.profiles();
            profiles.retain(|p| has.contains(p));
        }
        profiles.sort();
        profiles.dedup();
        if profiles.is_empty() {
            return Err(DiffError::NoCommonProfile);
        }
        let recorded: Vec<String> = [a, b]
            .into_iter()
            .filter_map(Side::recording)
            .flat_map(|r| r.cases.iter().map(|c| glob::Pattern::escape(&c.id)))
            .collect();
        let globs = if self.globs.is_empty() {
            &recorded
        } else {
            &self.globs
        };
        let globs = globs
            .iter()
            .map(|g| {
                glob::Pattern::new(g).map_err(|e| DiffError::BadGlob {
                    glob: g.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Selection {
            profiles,
            level: self.level,
            globs,
        })
    }
}

/// Runs the live sides and compares; `a` and `b` are (what the user gave, the side).
pub async fn diff_sides(
    a: (&str, Side),
    b: (&str, Side),
    options: &DiffOptions,
) -> Result<DiffReport, DiffError> {
    let recordings: Vec<&Recording> = [&a.1, &b.1]
        .into_iter()
        .filter_map(Side::recording)
        .collect();
    let seed = options
        .seed
        .or_else(|| recordings.first().map(|r| r.run.seed))
        .unwrap_or_else(record::random_seed);
    let generated = options
        .generated
        .or_else(|| recordings.iter().find_map(|r| r.run.generated_cases))
        .unwrap_or(DEFAULT_CASES);
    let selection = options.selection(&a.1, &b.1)?;
    let plan = RunPlan {
        seed,
        generated,
        schemas: options.schemas.clone(),
        regressions: options.regressions.clone(),
        ..RunPlan::new(selection)
    };
    let mut resolved = Vec::new();
    for ((source, side), name) in [a, b].into_iter().zip(["a", "b"]) {
        let recording = match side {
            Side::Recording(recording) => recording,
            Side::Target(target) => {
                let regressions = SideRegressions::prepare(
                    options.regressions.as_deref(),
                    name,
                    &plan.schemas,
                    &plan.selection.profiles,
                )
                .map_err(DiffError::Regressions)?;
                let plan = RunPlan {
                    regressions: Some(regressions.dir.clone()),
                    ..plan.clone()
                };
                if options.progress {
                    eprintln!(
                        "running {} case(s) against {source} (seed {seed})",
                        plan.selection.cases().len()
                    );
                }
                let observer: Arc<dyn Observer> = if options.progress {
                    let progress =
                        terminal::Progress::new(plan.selection.cases().len(), false, false);
                    Arc::new(progress)
                } else {
                    Arc::new(Quiet)
                };
                record::run(target, &plan, observer)
                    .await
                    .map_err(|source_error| DiffError::Run {
                        side: source.to_owned(),
                        source: Box::new(source_error),
                    })?
            }
        };
        let info = SideInfo {
            source: source.to_owned(),
            target: recording.run.target.clone(),
            seed: recording.run.seed,
        };
        resolved.push((recording, info));
    }
    let mut resolved = resolved.into_iter();
    match (resolved.next(), resolved.next()) {
        (Some((ra, ia)), Some((rb, ib))) => Ok(compare(&ra, ia, &rb, ib)),
        // Both sides were pushed above.
        _ => Err(DiffError::NoCommonProfile),
    }
}

/// `conformance diff`: compares, prints or writes the result; returns the exit status.
pub async fn diff(args: &DiffArgs) -> Result<u8, DiffError> {
    let a = Side::open(&args.a)?;
    let b = Side::open(&args.b)?;
    let options = DiffOptions {
        profiles: args.profiles.clone(),
        level: args.level,
        globs: args.cases.clone(),
        seed: args.seed,
        generated: args.generated,
        schemas: args.schemas.clone().unwrap_or_else(SchemaSet::default_root),
        regressions: None,
        progress: true,
    };
    let (a_name, b_name) = (args.a.clone(), args.b.clone());
    let report =
        record::on_one_thread(
            async move { diff_sides((&a_name, a), (&b_name, b), &options).await },
        )
        .await
        .map_err(DiffError::Runtime)??;
    let color = terminal::use_color() && args.output.is_none();
    let rendered = match args.format {
        DiffFormat::Pretty => render::terminal(&report, color),
        DiffFormat::Json => report.to_json() + "\n",
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, rendered).map_err(|source| DiffError::Output {
                path: path.display().to_string(),
                source,
            })?;
            eprint!("{}", render::summary(&report));
            eprintln!("diff written to {}", path.display());
        }
        None => print!("{rendered}"),
    }
    Ok(report.exit_code())
}
