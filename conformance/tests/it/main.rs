//! The conformance crate's integration tests: one binary, one module per concern.

mod bench;
mod catalogue_directus;
mod catalogue_gamevault;
mod catalogue_m2;
mod catalogue_skapi;
mod checker;
mod directus_transcripts;
mod gamevault_transcripts;
mod harness;
mod independence;
mod profiles;
mod properties;
mod scratch;
mod seed_coverage;
mod tidy;

use conformance::Profile;

/// Profiles whose schemas and fixtures are checked in; add a profile here when its schemas land.
pub const FINISHED: &[Profile] = &[
    Profile::M2,
    Profile::Directus,
    Profile::Skapi,
    Profile::Gamevault,
];
