//! Run settings of generated cases: how many cases each property or model case generates, the run seed (for
//! reproduction hints), and where regressions are kept.
//!
//! The command line puts them into the target's variables (`conformance run --cases N`); a case reads them back
//! through [`Settings::of`]. A target without them gets the defaults.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::case::{Case, Kind};
use crate::target::Target;

/// Generated cases per property or model case when `--cases` is not given: small enough that the default run of
/// all four profiles stays well under a minute on two cores.
pub const DEFAULT_CASES: usize = 16;

/// Target variable holding `--cases`.
pub const CASES_VAR: &str = "generated_cases";
/// Target variable holding the run seed.
pub const RUN_SEED_VAR: &str = "run_seed";
/// Target variable naming the folder regressions are read from and written to, instead of `fixtures/`.
pub const REGRESSIONS_VAR: &str = "regressions_dir";

/// The settings of generated cases in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Generated cases (messages or sequences) per property or model case.
    pub cases: usize,
    /// The run's seed, when known: a failure names it so the run can be repeated.
    pub run_seed: Option<u64>,
    /// Where regressions live: `<dir>/<profile>/regressions/`; `None` is the source tree's `fixtures/`.
    pub regressions: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            cases: DEFAULT_CASES,
            run_seed: None,
            regressions: None,
        }
    }
}

impl Settings {
    /// The settings a target carries (the defaults for what it does not).
    pub fn of(target: &Target) -> Settings {
        let var = |name: &str| target.vars.get(name);
        Settings {
            cases: var(CASES_VAR)
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n > 0)
                .unwrap_or(DEFAULT_CASES),
            run_seed: var(RUN_SEED_VAR).and_then(Value::as_u64),
            regressions: var(REGRESSIONS_VAR)
                .and_then(Value::as_str)
                .map(PathBuf::from),
        }
    }

    /// Writes these settings into `target`'s variables.
    pub fn apply(&self, target: &mut Target) {
        target
            .vars
            .insert(CASES_VAR.into(), Value::from(self.cases as u64));
        if let Some(seed) = self.run_seed {
            target.vars.insert(RUN_SEED_VAR.into(), Value::from(seed));
        }
        if let Some(dir) = &self.regressions {
            target.vars.insert(
                REGRESSIONS_VAR.into(),
                Value::String(dir.display().to_string()),
            );
        }
    }
}

/// How long the runner lets `case` run: the target's case timeout, times the factor by which `--cases` exceeds the
/// default for generated (property and model) cases.
pub fn case_limit(case: &Case, target: &Target) -> Duration {
    let limit = target.timeouts.case;
    match case.kind {
        Kind::Scenario => limit,
        Kind::Property | Kind::Model => {
            let factor = Settings::of(target).cases.div_ceil(DEFAULT_CASES).max(1);
            limit.saturating_mul(u32::try_from(factor).unwrap_or(u32::MAX))
        }
    }
}
