//! Schema-driven conformance harness for realtime WebSocket subscription APIs.
//!
//! The harness learns message shapes only from `schemas/`; it shares no code with any server.

pub mod fixtures;
pub mod profile;
pub mod schema;

pub use profile::Profile;
