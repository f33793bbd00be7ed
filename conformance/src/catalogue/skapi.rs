//! skapi cases: the Skapi realtime connection — logging in, groups, broadcasts, private messages, notices,
//! WebRTC relay, closing, bad input, size limits and the `get-ws-group` listing.
//!
//! The server acknowledges no frame (NOTES.md SKAPI-NO-ACK), so cases order their steps on frames the document
//! says must come: a joiner's own `USER_JOINED` marks its join ([`support::join`]), a delivery to the intended
//! recipient comes before listening for silence anywhere else.

mod broadcast;
mod close;
mod connect;
mod content;
mod decode_uri;
mod group;
mod input;
mod limits;
mod listing;
mod private;
mod rtc;
mod support;

use crate::case::{Case, Kind, Level, Need, Reference, RunFn};
use crate::profile::Profile;

pub fn cases() -> Vec<Case> {
    [
        connect::cases(),
        group::cases(),
        broadcast::cases(),
        content::cases(),
        private::cases(),
        rtc::cases(),
        close::cases(),
        input::cases(),
        limits::cases(),
        listing::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A skapi scenario case.
fn case(
    id: &'static str,
    level: Level,
    title: &'static str,
    reference: Reference,
    requires: &'static [Need],
    run: RunFn,
) -> Case {
    Case {
        id,
        profile: Profile::Skapi,
        level,
        title,
        reference,
        kind: Kind::Scenario,
        requires,
        run,
    }
}
