//! A connection's subscriptions, and how a change of a collection becomes `subscription` messages
//! for each of them: event filter, single item, query filter/sort/limit/fields, meta, permission.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::directus::error::DirectusError;
use crate::directus::query::{Query, DEFAULT_LIMIT};
use crate::directus::schema::{Accountability, Action, CollectionDef, PRIMARY_KEY};
use crate::directus::state::Directus;
use crate::directus::table::key_text;
use crate::hub::{Change, ChangeKind, SubId, Topic};

use super::frames;
use super::message::EventKind;

/// One subscription of a connection.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The client's uid, as text (a numeric uid comes back as a string).
    pub uid: Option<String>,
    pub collection: Arc<CollectionDef>,
    pub event: Option<EventKind>,
    /// Text form of the single item watched, if any.
    pub item: Option<String>,
    pub query: Query,
    pub topic: Topic,
    /// What the subscription holds of the client's text (its uid, item and query as JSON):
    /// its cost to the connection.
    pub held_bytes: usize,
}

#[derive(Debug, Default)]
pub struct Subscriptions {
    by_id: HashMap<SubId, Subscription>,
    next: SubId,
}

impl Subscriptions {
    pub fn reserve_id(&mut self) -> SubId {
        self.next += 1;
        self.next
    }

    pub fn insert(&mut self, id: SubId, sub: Subscription) {
        self.by_id.insert(id, sub);
    }

    pub fn get(&self, id: SubId) -> Option<&Subscription> {
        self.by_id.get(&id)
    }

    /// Whether one more subscription holding `held_bytes`, replacing the one of `uid` if any, keeps
    /// the connection within `max` subscriptions and `max_held_bytes` in all.
    pub fn admits(
        &self,
        uid: Option<&str>,
        held_bytes: usize,
        max: usize,
        max_held_bytes: usize,
    ) -> bool {
        let kept = self
            .by_id
            .values()
            .filter(|s| uid.is_none() || s.uid.as_deref() != uid);
        let (count, bytes) = kept.fold((0usize, 0usize), |(count, bytes), s| {
            (count + 1, bytes.saturating_add(s.held_bytes))
        });
        count < max && bytes.saturating_add(held_bytes) <= max_held_bytes
    }

    pub fn take_by_uid(&mut self, uid: &str) -> Option<(SubId, Subscription)> {
        let id = self
            .by_id
            .iter()
            .find(|(_, s)| s.uid.as_deref() == Some(uid))
            .map(|(id, _)| *id)?;
        self.by_id.remove(&id).map(|s| (id, s))
    }

    pub fn take_all(&mut self) -> Vec<(SubId, Subscription)> {
        self.by_id.drain().collect()
    }
}

fn event_name(kind: ChangeKind) -> Option<&'static str> {
    match kind {
        ChangeKind::Create => Some("create"),
        ChangeKind::Update => Some("update"),
        ChangeKind::Delete => Some("delete"),
        ChangeKind::Message => None,
    }
}

fn wants(filter: Option<EventKind>, kind: ChangeKind) -> bool {
    matches!(
        (filter, kind),
        (None, _)
            | (Some(EventKind::Create), ChangeKind::Create)
            | (Some(EventKind::Update), ChangeKind::Update)
            | (Some(EventKind::Delete), ChangeKind::Delete)
    )
}

/// The `init` message for a new subscription, from the items current when it was registered.
/// Err when a watched single item does not exist.
pub fn init_frame(sub: &Subscription, items: &[&Value]) -> Result<String, DirectusError> {
    let uid = sub.uid.as_deref();
    if sub.event.is_some() {
        return Ok(frames::subscription("init", None, None, uid));
    }
    // A single-item subscription carries no meta (the shared schemas' reading: meta describes a list).
    let meta = match sub.item {
        Some(_) => None,
        None => sub.query.meta(items.iter().copied()),
    };
    let data = match &sub.item {
        Some(item) => {
            let found = items
                .iter()
                .find(|i| i.get(PRIMARY_KEY).and_then(key_text).as_deref() == Some(item))
                .filter(|i| sub.query.matches(i))
                .ok_or_else(DirectusError::forbidden)?;
            sub.query.project(found)
        }
        None => Value::Array(sub.query.select(items.iter().copied(), Some(DEFAULT_LIMIT))),
    };
    Ok(frames::subscription("init", Some(data), meta, uid))
}

/// The messages `change` gives `sub`, seen by `who`: none when the event is filtered out, the items
/// do not match, or `who` may no longer read the collection.
pub fn render(
    state: &Directus,
    who: &Accountability,
    sub: &Subscription,
    change: &Change,
) -> Vec<String> {
    let Some(event) = event_name(change.kind) else {
        return Vec::new();
    };
    if !wants(sub.event, change.kind) || !sub.collection.allows(who, Action::Read) {
        return Vec::new();
    }
    let keys = change.body["keys"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let items = change.body["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let uid = sub.uid.as_deref();
    let meta = || {
        sub.query
            .meta
            .and_then(|_| state.items(&sub.collection).meta(&sub.query))
    };

    if let Some(watched) = &sub.item {
        let is_watched = |v: &Value| key_text(v).as_deref() == Some(watched.as_str());
        return match change.kind {
            ChangeKind::Delete if keys.iter().any(is_watched) => vec![frames::subscription(
                event,
                Some(Value::String(watched.clone())),
                None,
                uid,
            )],
            ChangeKind::Create | ChangeKind::Update => items
                .iter()
                .find(|i| i.get(PRIMARY_KEY).is_some_and(is_watched))
                .filter(|i| sub.query.matches(i))
                .map(|i| {
                    vec![frames::subscription(
                        event,
                        Some(sub.query.project(i)),
                        meta(),
                        uid,
                    )]
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
    }

    match change.kind {
        ChangeKind::Delete => vec![frames::subscription(
            event,
            Some(Value::Array(keys.to_vec())),
            meta(),
            uid,
        )],
        // One message per created item, as the real server emits one event per item.
        ChangeKind::Create => items
            .iter()
            .filter_map(|item| {
                let selected = sub.query.select(std::iter::once(item), None);
                (!selected.is_empty())
                    .then(|| frames::subscription(event, Some(Value::Array(selected)), meta(), uid))
            })
            .collect(),
        _ => {
            let selected = sub.query.select(items, None);
            if selected.is_empty() {
                Vec::new()
            } else {
                vec![frames::subscription(
                    event,
                    Some(Value::Array(selected)),
                    meta(),
                    uid,
                )]
            }
        }
    }
}
