//! The conformance crate's integration tests: one binary, one module per concern.

mod checker;
mod scratch;
