//! Load generation for `cargo xtask bench`: fan-out throughput and latency, idle-connection cost, and a bare
//! broadcast server as the machine's own limit.
//!
//! A [`Subject`] says how a subscriber connects and subscribes and how one change is caused; the profile subjects
//! ([`profiles::prepare`]) are built from the harness's target files and connectors, so any server a target file
//! describes can be measured. Subscribers are lean sockets read by a few shard tasks ([`fleet`]): they look for
//! the [`Stamp`] each change carries and count it per subscriber, so a lost or duplicated push is reported, never
//! waited for forever. The frames of one subscriber per run are checked against the profile's server schemas.

pub mod baseline;
pub mod connections;
pub mod fanout;
pub mod fleet;
pub mod machine;
mod open;
pub mod profiles;
pub mod report;
pub mod stamp;
pub mod subject;
pub mod tally;
pub mod writer;

pub use fanout::{FanoutParams, FanoutReport};
pub use stamp::{Stamp, StampCodec};
pub use subject::{BoxFuture, Heartbeat, Step, Subject, SubscriberPlan};

use crate::case::CaseError;

/// Why a scenario could not run (a scenario that ran but lost pushes is a report, not an error).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Preparing a subject failed: a missing credential or actuator, a refused login, an unreachable server.
    #[error("preparing {subject}: {reason}")]
    Setup { subject: String, reason: String },
    /// The target refused or did not accept a change.
    #[error("causing {stamp:?}: {reason}")]
    Cause { stamp: Stamp, reason: String },
    /// A local resource failed: binding the baseline server's port, reading /proc.
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl BenchError {
    pub(crate) fn setup(subject: &str, error: impl std::fmt::Display) -> BenchError {
        BenchError::Setup {
            subject: subject.to_owned(),
            reason: error.to_string(),
        }
    }

    pub(crate) fn cause(stamp: Stamp, error: CaseError) -> BenchError {
        BenchError::Cause {
            stamp,
            reason: error.to_string(),
        }
    }
}
