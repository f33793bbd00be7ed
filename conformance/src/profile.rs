//! The four documented APIs the harness knows.

use std::fmt;
use std::str::FromStr;

/// One documented realtime API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    M2,
    Directus,
    Skapi,
    Gamevault,
}

impl Profile {
    pub const ALL: [Profile; 4] = [
        Profile::M2,
        Profile::Directus,
        Profile::Skapi,
        Profile::Gamevault,
    ];

    /// The name used on the command line, in case ids and as the folder under `schemas/`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::M2 => "m2",
            Profile::Directus => "directus",
            Profile::Skapi => "skapi",
            Profile::Gamevault => "gamevault",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown profile `{0}` (expected one of m2, directus, skapi, gamevault)")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownProfile(s.to_owned()))
    }
}
