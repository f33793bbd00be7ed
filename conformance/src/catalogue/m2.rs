//! m2 cases: the M2 Worlds realtime service, one module per area.
//!
//! Changes are caused through the target's HTTP actuators (`kv_upsert`, `kv_delete`, `live_config_put`,
//! `live_config_delete`, `collection_transfer`); the credential sets are `primary`, `secondary` (another user of
//! the same organization), `other_tenant` (another organization), `service` (a service account of `primary`'s
//! organization) and `other_world` (`primary`'s user in another world of the same project).
//! Collection cases need the parameters `public_datasource` / `private_datasource`: the datasource ids whose
//! transfers change the `public` / `private` collection.

mod collection;
mod connect;
mod isolation;
mod kvstore;
mod liveconfig;
mod message;
mod subscribe;
mod support;
mod unsubscribe;
mod update;

use crate::case::Case;

pub fn cases() -> Vec<Case> {
    [
        connect::cases(),
        subscribe::cases(),
        update::cases(),
        unsubscribe::cases(),
        message::cases(),
        kvstore::cases(),
        collection::cases(),
        liveconfig::cases(),
        isolation::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
