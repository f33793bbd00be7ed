//! What a benchmark drives: how subscribers connect and subscribe, and how one change is caused.

use std::future::Future;
use std::pin::Pin;

use super::stamp::{Stamp, StampCodec};
use super::BenchError;
use crate::client::check::FrameCheck;
use crate::client::{Pattern, Request};

/// A boxed future, so subjects can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The answer a subscriber gives to an application-level heartbeat frame, if the frame is one.
pub type Heartbeat = fn(&str) -> Option<String>;

/// No application-level heartbeat (WebSocket pings are answered by the WebSocket layer).
pub fn no_heartbeat(_: &str) -> Option<String> {
    None
}

/// One step of a subscriber's opening, after the upgrade.
#[derive(Debug)]
pub enum Step {
    /// Send this text frame.
    Send(String),
    /// Wait for a frame matching this pattern; frames before it are passed over.
    Await(Pattern),
}

/// How one subscriber connects and subscribes.
#[derive(Debug)]
pub struct SubscriberPlan {
    pub request: Request,
    pub steps: Vec<Step>,
}

/// A server, or one profile of it, seen by the load generator.
pub trait Subject: Send + Sync {
    /// Shown in reports: the profile name, or `baseline`.
    fn name(&self) -> &str;

    /// How subscriber `index` connects and subscribes to the benchmark's resource.
    fn plan(&self, index: usize) -> SubscriberPlan;

    /// How connection `index` of the connections scenario opens: authenticated where the protocol authenticates,
    /// but subscribed to nothing.
    fn idle_plan(&self, index: usize) -> SubscriberPlan {
        self.plan(index)
    }

    /// How pushes carry stamps.
    fn codec(&self) -> &StampCodec;

    /// The subscribers' answer to heartbeat frames.
    fn heartbeat(&self) -> Heartbeat {
        no_heartbeat
    }

    /// The schema checks of this subject's frames, when it speaks a profile.
    fn frame_check(&self) -> Option<FrameCheck> {
        None
    }

    /// Causes one change carrying `stamp`; returns once the target has accepted it (an HTTP response, an `items`
    /// reply) or, for protocols without an acknowledgement, once the frame is written. Several calls may be in
    /// flight at once.
    fn cause(&self, stamp: Stamp) -> BoxFuture<'_, Result<(), BenchError>>;

    /// What tells the run a change was accepted, for the report.
    fn acknowledgement(&self) -> &'static str {
        "none (the change is written)"
    }

    /// The first schema violation seen on the subject's own connections (the writer socket), if any.
    fn violation(&self) -> Option<String> {
        None
    }

    /// Releases what causing changes needed (writer sockets, the benchmark's key); best effort.
    fn finish(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
