//! The command line: `conformance run` and `conformance list`. `cargo xtask conformance` reuses [`RunArgs`].

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::case::Level;
use crate::catalogue;
use crate::profile::Profile;
use crate::report::{self, terminal, Format};
use crate::runner::{self, Observer, PreflightError, Run, RunReport, Selection};
use crate::schema::{SchemaError, SchemaSet};
use crate::target::{Target, TargetError};

const EXAMPLES: &str = "\
Examples:
  # Every case of every profile against a reference-server layout at a base URL
  conformance run --endpoint http://127.0.0.1:8080

  # Only the MUST cases of the directus profile, as JUnit XML for CI
  conformance run --profile directus --level must --endpoint http://127.0.0.1:8080 \\
      --format junit --output directus.xml

  # A server with its own paths, credentials and actuators
  # (example: conformance/targets/reference-server.toml)
  conformance run --profile m2 --target my-server.toml

  # Only the subscribe cases, with the random names of a previous run
  conformance run --endpoint http://127.0.0.1:8080 --case 'directus.subscribe.*' --seed 42

  # What would run
  conformance list --profile skapi

Exit status:
  0  every selected MUST case passed (failed SHOULD/MAY, skipped and unsupported cases do not count)
  1  a MUST case failed
  2  usage, configuration or connection error (e.g. the endpoint is unreachable)";

/// Tells an implementer, case by case, where a realtime WebSocket server departs from its documented protocol.
#[derive(Debug, Parser)]
#[command(name = "conformance", version, after_long_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run conformance cases against a server.
    Run(RunArgs),
    /// Print the catalogue: id, level, title and reference of every case.
    List(ListArgs),
    /// Run cases against a server and record outcomes and normalized transcripts in a JSON file.
    Record(crate::record::RecordArgs),
    /// Run the same cases against two servers (or recordings) and show where they behave differently.
    Diff(crate::diff::DiffArgs),
}

/// Options of a run.
#[derive(Debug, Clone, Args)]
#[command(after_long_help = EXAMPLES)]
pub struct RunArgs {
    /// Profiles to test (repeat or separate with commas); every profile the target describes when omitted.
    #[arg(
        long = "profile",
        short = 'p',
        value_name = "m2|directus|skapi|gamevault",
        value_delimiter = ','
    )]
    pub profiles: Vec<Profile>,

    /// Base URL of a server laid out like the bundled reference server, with its demo credentials
    /// (e.g. http://127.0.0.1:8080). With --target, fills the file's {{endpoint}}.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Target file (TOML): URLs, credentials, parameters and actuators of the server under test.
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,

    /// Lowest requirement level to run: must, should (MUST and SHOULD) or may (all).
    #[arg(long, value_name = "must|should|may", default_value = "may")]
    pub level: Level,

    /// Run only cases whose id matches this glob (repeatable), e.g. 'm2.subscribe.*'.
    #[arg(long = "case", value_name = "GLOB")]
    pub cases: Vec<String>,

    /// Report format.
    #[arg(long, value_name = "pretty|json|junit", default_value = "pretty")]
    pub format: Format,

    /// Write the report to FILE instead of stdout (progress still shows on the terminal).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Seed for the random names and values cases use; random when omitted (the report prints it).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Generated messages or sequences per property and model case (default 16); failures are shrunk and saved
    /// under fixtures/<profile>/regressions/, which are replayed first on every run.
    #[arg(long = "cases", value_name = "N")]
    pub generated: Option<usize>,

    /// The schemas/ folder (defaults to the one this binary was built from).
    #[arg(long, value_name = "DIR", env = "CONFORMANCE_SCHEMAS")]
    pub schemas: Option<PathBuf>,
}

/// Options of `list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Profiles to list (repeat or separate with commas); all four when omitted.
    #[arg(
        long = "profile",
        short = 'p',
        value_name = "m2|directus|skapi|gamevault",
        value_delimiter = ','
    )]
    pub profiles: Vec<Profile>,

    /// Lowest requirement level to list.
    #[arg(long, value_name = "must|should|may", default_value = "may")]
    pub level: Level,
}

/// Why a run could not produce a report (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("give the server under test with --endpoint URL or --target FILE (see --help)")]
    NoTarget,
    #[error("--case {glob:?}: {reason}")]
    BadGlob { glob: String, reason: String },
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("loading schemas: {0}")]
    Schemas(#[from] SchemaError),
    #[error(transparent)]
    Preflight(#[from] PreflightError),
    #[error(
        "no case matches the selection (profiles {profiles}, level {level}, --case {globs:?})"
    )]
    NothingSelected {
        profiles: String,
        level: Level,
        globs: Vec<String>,
    },
    #[error("writing the report to {path}: {source}")]
    Output {
        path: String,
        source: std::io::Error,
    },
}

impl RunArgs {
    /// The selected profiles; all four when none was named.
    pub fn profiles(&self) -> Vec<Profile> {
        selected_profiles(&self.profiles)
    }

    /// The target the options name.
    pub fn load_target(&self) -> Result<Target, CliError> {
        match (&self.target, &self.endpoint) {
            (Some(path), endpoint) => Ok(Target::load(path, endpoint.as_deref())?),
            (None, Some(endpoint)) => Ok(Target::reference_server(endpoint)?),
            (None, None) => Err(CliError::NoTarget),
        }
    }

    /// The cases to run against `target`: the named profiles, or every profile the target describes.
    pub fn selection_for(&self, target: &Target) -> Result<Selection, CliError> {
        let mut selection = self.selection()?;
        if self.profiles.is_empty() {
            selection.profiles = target.profiles.keys().copied().collect();
        }
        Ok(selection)
    }

    pub fn selection(&self) -> Result<Selection, CliError> {
        let globs = self
            .cases
            .iter()
            .map(|g| {
                glob::Pattern::new(g).map_err(|e| CliError::BadGlob {
                    glob: g.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Selection {
            profiles: self.profiles(),
            level: self.level,
            globs,
        })
    }
}

fn selected_profiles(named: &[Profile]) -> Vec<Profile> {
    if named.is_empty() {
        return Profile::ALL.to_vec();
    }
    let mut profiles = named.to_vec();
    profiles.sort();
    profiles.dedup();
    profiles
}

/// Runs the cases `args` select against `target` and writes the report as asked; returns the report.
pub async fn run_with_target(args: &RunArgs, target: Target) -> Result<RunReport, CliError> {
    let selection = args.selection_for(&target)?;
    let cases = selection.cases();
    if cases.is_empty() {
        return Err(CliError::NothingSelected {
            profiles: selection
                .profiles
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(","),
            level: selection.level,
            globs: args.cases.clone(),
        });
    }
    let root = args.schemas.clone().unwrap_or_else(SchemaSet::default_root);
    let schemas = SchemaSet::load_profiles(&root, &selection.profiles)?;
    runner::preflight(&target, &selection.profiles).await?;
    // 53 bits, so the seed survives JSON readers that hold numbers as doubles.
    let seed = args.seed.unwrap_or_else(|| rand::random::<u64>() >> 11);
    let color = terminal::use_color();
    eprintln!(
        "running {} case(s) of {} against {} (seed {seed}; rerun with --seed {seed})",
        cases.len(),
        selection
            .profiles
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", "),
        target.name
    );
    let mut target = target;
    crate::model::settings::Settings {
        cases: args
            .generated
            .unwrap_or(crate::model::settings::DEFAULT_CASES),
        run_seed: Some(seed),
        regressions: None,
    }
    .apply(&mut target);
    let run = Run {
        target: Arc::new(target),
        schemas: Arc::new(schemas),
        seed,
        selection,
    };
    let progress = Arc::new(terminal::Progress::new(cases.len(), true, color));
    let observer: Arc<dyn Observer> = progress.clone();
    let report = run.execute(observer).await;
    progress.finish();
    write_report(args, &report, color)?;
    Ok(report)
}

/// Loads the target `args` name, runs, reports; returns the exit status.
pub async fn run(args: &RunArgs) -> Result<u8, CliError> {
    let target = args.load_target()?;
    let report = run_with_target(args, target).await?;
    Ok(report.exit_code())
}

fn write_report(args: &RunArgs, report: &RunReport, color: bool) -> Result<(), CliError> {
    let rendered = match args.format {
        Format::Pretty => terminal::summary(report, color && args.output.is_none()),
        Format::Json => report::json::render(report),
        Format::Junit => report::junit::render(report),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, rendered).map_err(|source| CliError::Output {
                path: path.display().to_string(),
                source,
            })?;
            // The file has the report; the terminal still gets the summary.
            if args.format != Format::Pretty {
                eprint!("{}", terminal::summary(report, terminal::use_color()));
            }
            eprintln!("report written to {}", path.display());
        }
        None => print!("{rendered}"),
    }
    Ok(())
}

/// The catalogue listing `conformance list` prints.
pub fn list(args: &ListArgs) -> String {
    let mut out = String::new();
    for profile in selected_profiles(&args.profiles) {
        for case in catalogue::cases(profile)
            .into_iter()
            .filter(|c| c.level <= args.level)
        {
            out.push_str(&format!(
                "{:<55} {:<6} {}\n{:<55} {:<6} {}: \"{}\"\n",
                case.id,
                case.level,
                case.title,
                "",
                "",
                case.reference.source,
                case.reference.quote
            ));
        }
    }
    out
}
