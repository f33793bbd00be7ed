//! Changes to stored resources, made through the hub so every subscriber is pushed the new value.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::Value;

use crate::hub::{ChangeKind, Decision, Hub, Topic};

use super::auth::Identity;
use super::collection::{self, TransferError};
use super::resource::{collection_topic, key_of, Datasource};

/// Stores `data` (never `null`: that is how a deletion is pushed) and returns its version.
pub fn put(hub: &Hub, topic: &Topic, data: Value) -> SystemTime {
    let change = hub.update(topic, |value| {
        let kind = if value.is_some() {
            ChangeKind::Update
        } else {
            ChangeKind::Create
        };
        *value = Some(data.clone());
        Decision::Publish(kind, data)
    });
    // `Publish` always yields a change; the fallback only keeps this total.
    change.map_or_else(SystemTime::now, |c| c.at)
}

/// Deletes a resource; true if it existed. Subscribers are pushed `data: null` and stay subscribed.
pub fn remove(hub: &Hub, topic: &Topic) -> bool {
    hub.update(topic, |value| match value.take() {
        Some(_) => Decision::Publish(ChangeKind::Delete, Value::Null),
        None => Decision::Quiet,
    })
    .is_some()
}

/// The keys stored under a store prefix, sorted.
pub fn keys(hub: &Hub, prefix: &str) -> Vec<String> {
    hub.topics_with_prefix(prefix)
        .iter()
        .filter_map(|topic| key_of(topic, prefix))
        .collect()
}

/// One line of a transfer request, already validated.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub user: String,
    pub datasource: Datasource,
    pub object_definition_id: String,
    pub change: i64,
}

/// Applies every line or none: all lines are checked against the current collections first.
///
/// `lock` serialises transfers (the only writers of collections), so the check still holds when
/// the new values are stored.
pub fn transfer(
    hub: &Hub,
    lock: &Mutex<()>,
    identity: &Identity,
    lines: &[Transfer],
) -> Result<(), TransferError> {
    let mut grouped: BTreeMap<(String, Datasource), Vec<(String, i64)>> = BTreeMap::new();
    for line in lines {
        grouped
            .entry((line.user.clone(), line.datasource))
            .or_default()
            .push((line.object_definition_id.clone(), line.change));
    }
    let _serialised = lock.lock().unwrap_or_else(|p| p.into_inner());
    let mut results = Vec::with_capacity(grouped.len());
    for ((user, datasource), changes) in &grouped {
        let topic = collection_topic(identity, user, *datasource);
        let current = hub.get(&topic);
        let held = collection::apply(
            user,
            *datasource,
            collection::holdings(current.as_ref()),
            changes,
        )?;
        results.push((topic, collection::to_value(user, *datasource, &held)));
    }
    for (topic, value) in results {
        put(hub, &topic, value);
    }
    Ok(())
}
