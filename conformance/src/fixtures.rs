//! Checks the example messages in `fixtures/` against the schemas in `schemas/`.
//!
//! Layout read here (see `schemas/README.md`):
//! `fixtures/<profile>/valid/<group>/<kind>/<name>.json` must be accepted by `schemas/<profile>/<group>/<kind>.json`
//! (and classified as exactly that kind when the group is a direction);
//! `fixtures/<profile>/invalid/<group>/<kind>/<name>.{json,txt}` must be rejected by that schema and by the
//! direction's envelope. `fixtures/<profile>/fixtures.toml` labels every file: where a valid example comes from,
//! why an invalid one is invalid.
//!
//! Every problem is reported as a [`Failure`] naming the file, a JSON pointer and the reason; nothing here panics
//! on the content of a fixture or a schema.

mod check;
mod hygiene;
mod manifest;
pub mod seed;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::profile::Profile;

pub use check::{check_all, check_profile};
pub use manifest::{InvalidEntry, Manifest, ManifestError, ValidEntry, MANIFEST_FILE};

/// The schema folder and fixture folder a check reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    pub schemas: PathBuf,
    pub fixtures: PathBuf,
}

impl Roots {
    /// `schemas/` and `fixtures/` of this source tree.
    pub fn workspace() -> Roots {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        Roots::under(manifest_dir.parent().unwrap_or(manifest_dir))
    }

    /// `dir/schemas` and `dir/fixtures`.
    pub fn under(dir: &Path) -> Roots {
        Roots {
            schemas: dir.join("schemas"),
            fixtures: dir.join("fixtures"),
        }
    }
}

/// Whether a fixture must be accepted or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    Valid,
    Invalid,
}

impl Label {
    pub const ALL: [Label; 2] = [Label::Valid, Label::Invalid];

    /// The folder under `fixtures/<profile>/` and the table name in `fixtures.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Label::Valid => "valid",
            Label::Invalid => "invalid",
        }
    }
}

/// One problem found by the check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// The fixture, schema or manifest the problem is in.
    pub file: PathBuf,
    /// JSON pointer into the file's value; empty for the whole value.
    pub pointer: String,
    pub reason: String,
}

impl Failure {
    pub(crate) fn new(file: &Path, pointer: impl Into<String>, reason: impl Into<String>) -> Self {
        Failure {
            file: file.to_owned(),
            pointer: pointer.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{} at {}: {}", self.file.display(), pointer, self.reason)
    }
}

/// The outcome for one profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProfileReport {
    pub profile: Profile,
    /// Schema files loaded (envelopes and definitions included).
    pub schemas: usize,
    /// Fixture files under `valid/`.
    pub valid: usize,
    /// Fixture files under `invalid/`.
    pub invalid: usize,
    pub failures: Vec<Failure>,
}

impl ProfileReport {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}
