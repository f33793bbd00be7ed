//! Integration tests of the project tasks: transcript, catalogue and schema snapshots (run by
//! `cargo xtask snapshots`) and `conformance diff` between reference servers, plain or altered.

mod diff;
mod proxy;
mod server;
mod snapshots;
