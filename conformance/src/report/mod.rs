//! Reports of a run: a terminal view with progress, JSON, and JUnit XML.

pub mod json;
pub mod junit;
pub mod terminal;

use std::fmt;
use std::str::FromStr;

/// The `--format` of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Coloured text for people.
    #[default]
    Pretty,
    /// One JSON document (structure in `conformance/README.md`).
    Json,
    /// JUnit XML, one testsuite per profile.
    Junit,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Pretty, Format::Json, Format::Junit];

    pub fn name(self) -> &'static str {
        match self {
            Format::Pretty => "pretty",
            Format::Json => "json",
            Format::Junit => "junit",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown format `{0}` (expected pretty, json or junit)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}
