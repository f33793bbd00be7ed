//! What a conformance case is: an id, a level, the sentence it checks, what it needs, and how it runs.
//!
//! Cases are plain data ([`Case`]) whose `run` is an async function taking an owned [`Ctx`].
//! A case returns `Ok(())` when the server behaved as documented; every other result is a [`CaseError`],
//! which the runner turns into an [`Outcome`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

use crate::ctx::Ctx;
use crate::profile::Profile;

/// The future a case's `run` returns.
pub type CaseFuture = Pin<Box<dyn Future<Output = Result<(), CaseError>> + Send>>;

/// How a case runs; write `run: |ctx| Box::pin(my_case(ctx))` with `async fn my_case(ctx: Ctx) -> CaseResult`.
pub type RunFn = fn(Ctx) -> CaseFuture;

/// What a case body returns.
pub type CaseResult = Result<(), CaseError>;

/// One conformance case.
#[derive(Clone, Copy)]
pub struct Case {
    /// `<profile>.<area>.<name>`, lowercase words joined by `-`; stable across releases.
    pub id: &'static str,
    pub profile: Profile,
    pub level: Level,
    /// One line saying what the server must do, in the document's terms.
    pub title: &'static str,
    pub reference: Reference,
    pub kind: Kind,
    /// What the target must provide; a case whose needs are not met is skipped with the reason.
    pub requires: &'static [Need],
    pub run: RunFn,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

/// RFC 2119 requirement level of the sentence a case checks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Must,
    Should,
    May,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Must, Level::Should, Level::May];

    pub fn name(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::May => "may",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.name().to_uppercase())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown level `{0}` (expected must, should or may)")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownLevel(s.to_owned()))
    }
}

/// How a case exercises the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A fixed exchange checking one sentence.
    Scenario,
    /// Generated messages checked against the schemas.
    Property,
    /// Generated operation sequences checked against a model of the profile.
    Model,
}

/// The sentence a case checks: a file under `spec/` and a quote that appears in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Reference {
    /// Path relative to the repository root, e.g. `spec/seeds/m2-realtime.txt` or `spec/protocols/m2.md`.
    pub source: &'static str,
    /// Words quoted from the source (whitespace may differ).
    pub quote: &'static str,
}

/// The files a [`Reference`] may name, as constants so a typo is a compile error.
pub mod sources {
    pub const M2_SEED: &str = "spec/seeds/m2-realtime.txt";
    pub const M2_NOTES: &str = "spec/protocols/m2.md";
    pub const DIRECTUS_SEED: &str = "spec/seeds/directus-websocket-subscriptions.txt";
    pub const DIRECTUS_NOTES: &str = "spec/protocols/directus.md";
    pub const SKAPI_SEED: &str = "spec/seeds/skapi-realtime.txt";
    pub const SKAPI_NOTES: &str = "spec/protocols/skapi.md";
    pub const GAMEVAULT_SEED: &str = "spec/seeds/gamevault-websockets.txt";
    pub const GAMEVAULT_NOTES: &str = "spec/protocols/gamevault.md";
}

/// Something a case needs from the target file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "type", content = "name", rename_all = "lowercase")]
pub enum Need {
    /// A named way to cause a change on the server (`[<profile>.actuators.<name>]`).
    Actuator(&'static str),
    /// A named credential set (`[<profile>.credentials.<name>]`).
    Credential(&'static str),
    /// A protocol parameter the harness cannot discover (`[<profile>.parameters]`).
    Parameter(&'static str),
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::Actuator(n) => write!(f, "actuator `{n}`"),
            Need::Credential(n) => write!(f, "credential set `{n}`"),
            Need::Parameter(n) => write!(f, "parameter `{n}`"),
        }
    }
}

/// Why a case did not pass.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CaseError {
    /// The server departed from the document.
    #[error("{0}")]
    Fail(String),
    /// The case could not run against this target (missing actuator, credential, parameter, …).
    #[error("{0}")]
    Skip(String),
    /// The server declares it does not implement what the case checks.
    #[error("{0}")]
    Unsupported(String),
}

impl CaseError {
    pub fn fail(reason: impl Into<String>) -> CaseError {
        CaseError::Fail(reason.into())
    }

    pub fn skip(reason: impl Into<String>) -> CaseError {
        CaseError::Skip(reason.into())
    }

    pub fn unsupported(reason: impl Into<String>) -> CaseError {
        CaseError::Unsupported(reason.into())
    }

    /// A mistake of the harness itself (a frame it built violates the client schema, a bad template…).
    /// Reported as a failure, worded so nobody blames the server for it.
    pub fn harness(reason: impl fmt::Display) -> CaseError {
        CaseError::Fail(format!(
            "harness error (not a finding about the server): {reason}"
        ))
    }

    /// The same error with `context: ` in front of its reason.
    pub fn context(self, context: impl fmt::Display) -> CaseError {
        match self {
            CaseError::Fail(r) => CaseError::Fail(format!("{context}: {r}")),
            CaseError::Skip(r) => CaseError::Skip(format!("{context}: {r}")),
            CaseError::Unsupported(r) => CaseError::Unsupported(format!("{context}: {r}")),
        }
    }
}

/// The result of one case, as reported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
    Unsupported(String),
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::Skip(_) => "skip",
            Outcome::Unsupported(_) => "unsupported",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Pass => None,
            Outcome::Fail(r) | Outcome::Skip(r) | Outcome::Unsupported(r) => Some(r),
        }
    }

    pub fn is_fail(&self) -> bool {
        matches!(self, Outcome::Fail(_))
    }
}

impl From<CaseResult> for Outcome {
    fn from(result: CaseResult) -> Self {
        match result {
            Ok(()) => Outcome::Pass,
            Err(CaseError::Fail(r)) => Outcome::Fail(r),
            Err(CaseError::Skip(r)) => Outcome::Skip(r),
            Err(CaseError::Unsupported(r)) => Outcome::Unsupported(r),
        }
    }
}

/// Fails the case with a formatted reason unless the condition holds.
///
/// `ensure!(frame.str("/uid") == Some(uid), "the event carries uid {:?}, not {uid:?}", frame.str("/uid"));`
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($reason:tt)+) => {
        if !$cond {
            return ::core::result::Result::Err($crate::case::CaseError::Fail(format!($($reason)+)));
        }
    };
}

/// Fails the case with a formatted reason.
#[macro_export]
macro_rules! fail {
    ($($reason:tt)+) => {
        return ::core::result::Result::Err($crate::case::CaseError::Fail(format!($($reason)+)))
    };
}
