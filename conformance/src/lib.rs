//! Schema-driven conformance harness for realtime WebSocket subscription APIs.
//!
//! The harness learns message shapes only from `schemas/`; it shares no code with any server.
//! How to write a case: `conformance/README.md`.

pub mod bench;
pub mod case;
pub mod catalogue;
pub mod cli;
pub mod client;
pub mod ctx;
pub mod diff;
pub mod fixtures;
pub mod generate;
pub mod model;
pub mod normalize;
pub mod profile;
pub mod property;
pub mod record;
pub mod report;
pub mod runner;
pub mod schema;
pub mod target;
pub mod transcript;

pub use case::{Case, CaseError, CaseResult, Kind, Level, Need, Outcome, Reference};
pub use ctx::Ctx;
pub use profile::Profile;
