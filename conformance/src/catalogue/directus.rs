//! directus cases: Directus WebSocket subscriptions, one module per area.

mod auth;
mod errors;
mod events;
mod heartbeat;
mod items;
mod permission;
mod subscribe;
mod support;
mod transport;
mod unsubscribe;

use crate::case::Case;

pub fn cases() -> Vec<Case> {
    [
        auth::cases(),
        heartbeat::cases(),
        subscribe::cases(),
        events::cases(),
        unsubscribe::cases(),
        items::cases(),
        permission::cases(),
        errors::cases(),
        transport::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
