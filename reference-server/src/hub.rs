//! The in-memory store and the subscription hub, as one map.
//!
//! Each resource (a KV key of one user, a Directus collection, a Skapi group, the GameVault activity
//! table, …) is a [`Topic`]. Its entry holds the current value and its subscribers under one lock, so a
//! change and its fan-out happen atomically: subscribers see changes of one resource in the order they
//! were made, exactly once, and a subscriber that takes a snapshot at subscribe time never misses or
//! duplicates a change made around it. Topics are tenant-qualified by the profile that builds them, so
//! no change can reach a subscriber of another tenant.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::outbox::{Outbound, Outbox};

/// A tenant-qualified resource name, built by a profile adapter, e.g.
/// `m2/testOrg/testProj/testWorld/kv/World:kvstoreClient:testKey/demoUser`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic(Arc<str>);

impl Topic {
    pub fn new(name: impl Into<Arc<str>>) -> Topic {
        Topic(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifies one connection for the lifetime of the server.
pub type ConnId = u64;

/// Identifies one subscription within a connection; the profile chooses its meaning.
pub type SubId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Create,
    Update,
    Delete,
    /// A message that changes no stored value (a chat message, a signalling frame).
    Message,
}

/// One change of one resource, shared by every subscriber that receives it.
#[derive(Debug)]
pub struct Change {
    pub topic: Topic,
    /// Position of this change in its topic: strictly increasing, starting at 1.
    pub seq: u64,
    /// When the change was made; strictly increasing per topic (bumped by 1 ms on a tie), so it
    /// can serve as a version.
    pub at: SystemTime,
    pub kind: ChangeKind,
    /// What the profile adapter needs to render the change for each subscriber.
    pub body: Value,
}

/// What a subscriber receives through its outbox.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub sub: SubId,
    pub change: Arc<Change>,
}

/// The value of a resource as seen by a new subscriber, and the sequence number it is current at.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub value: Option<Value>,
    pub seq: u64,
    pub at: Option<SystemTime>,
}

#[derive(Default)]
struct Entry {
    value: Option<Value>,
    seq: u64,
    at: Option<SystemTime>,
    subscribers: Vec<(SubId, Outbox)>,
}

impl Entry {
    fn is_idle(&self) -> bool {
        self.value.is_none() && self.subscribers.is_empty()
    }

    fn next_instant(&self) -> SystemTime {
        let now = SystemTime::now();
        match self.at {
            Some(last) if now <= last => last + Duration::from_millis(1),
            _ => now,
        }
    }
}

/// The store and hub. Cheap to share behind an `Arc`.
#[derive(Default)]
pub struct Hub {
    topics: RwLock<HashMap<Topic, Arc<Mutex<Entry>>>>,
    next_conn: AtomicU64,
}

/// What an update closure decides.
pub enum Decision {
    /// Keep the new value and publish a change of this kind with this body.
    Publish(ChangeKind, Value),
    /// Keep whatever the closure did to the value and publish nothing.
    Quiet,
}

impl Hub {
    pub fn new() -> Hub {
        Hub::default()
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn entry(&self, topic: &Topic) -> Arc<Mutex<Entry>> {
        if let Some(e) = read_lock(&self.topics).get(topic) {
            return e.clone();
        }
        write_lock(&self.topics)
            .entry(topic.clone())
            .or_default()
            .clone()
    }

    fn existing(&self, topic: &Topic) -> Option<Arc<Mutex<Entry>>> {
        read_lock(&self.topics).get(topic).cloned()
    }

    /// The current value of a resource, if it exists.
    pub fn get(&self, topic: &Topic) -> Option<Value> {
        self.existing(topic).and_then(|e| lock(&e).value.clone())
    }

    /// The version instant of the last change of a resource.
    pub fn last_change(&self, topic: &Topic) -> Option<SystemTime> {
        self.existing(topic).and_then(|e| lock(&e).at)
    }

    /// The value of a resource together with the change it is current at, read under one lock.
    pub fn snapshot(&self, topic: &Topic) -> Snapshot {
        match self.existing(topic) {
            Some(entry) => {
                let e = lock(&entry);
                Snapshot {
                    value: e.value.clone(),
                    seq: e.seq,
                    at: e.at,
                }
            }
            None => Snapshot {
                value: None,
                seq: 0,
                at: None,
            },
        }
    }

    /// Topics whose name starts with `prefix` and that hold a value, sorted.
    pub fn topics_with_prefix(&self, prefix: &str) -> Vec<Topic> {
        let mut found: Vec<Topic> = read_lock(&self.topics)
            .iter()
            .filter(|(t, e)| t.as_str().starts_with(prefix) && lock(e).value.is_some())
            .map(|(t, _)| t.clone())
            .collect();
        found.sort();
        found
    }

    /// Registers `outbox` as subscriber `sub` of `topic` and returns the value it starts from.
    /// Subscribing again with the same connection and `sub` replaces the earlier registration.
    pub fn subscribe(&self, topic: &Topic, sub: SubId, outbox: &Outbox) -> Snapshot {
        let entry = self.entry(topic);
        let mut e = lock(&entry);
        e.subscribers
            .retain(|(s, o)| !(*s == sub && o.conn() == outbox.conn()));
        e.subscribers.push((sub, outbox.clone()));
        Snapshot {
            value: e.value.clone(),
            seq: e.seq,
            at: e.at,
        }
    }

    /// Removes subscription `sub` of connection `conn` from `topic`; true if it existed.
    pub fn unsubscribe(&self, topic: &Topic, conn: ConnId, sub: SubId) -> bool {
        let Some(entry) = self.existing(topic) else {
            return false;
        };
        let (removed, idle) = {
            let mut e = lock(&entry);
            let before = e.subscribers.len();
            e.subscribers
                .retain(|(s, o)| !(*s == sub && o.conn() == conn));
            (e.subscribers.len() != before, e.is_idle())
        };
        if idle {
            self.forget_if_idle(topic);
        }
        removed
    }

    /// Applies `change` to the value of `topic` and publishes what it decides, atomically with
    /// respect to every other update and subscription of that topic. Returns the published change.
    pub fn update<F>(&self, topic: &Topic, change: F) -> Option<Arc<Change>>
    where
        F: FnOnce(&mut Option<Value>) -> Decision,
    {
        let entry = self.entry(topic);
        let (published, idle) = {
            let mut e = lock(&entry);
            let published = match change(&mut e.value) {
                Decision::Quiet => None,
                Decision::Publish(kind, body) => Some(publish_locked(&mut e, topic, kind, body)),
            };
            (published, e.is_idle())
        };
        if idle {
            self.forget_if_idle(topic);
        }
        published
    }

    /// Publishes a change that stores nothing (messages) to the current subscribers of `topic`.
    pub fn publish(&self, topic: &Topic, kind: ChangeKind, body: Value) -> Option<Arc<Change>> {
        let entry = self.existing(topic)?;
        let mut e = lock(&entry);
        Some(publish_locked(&mut e, topic, kind, body))
    }

    /// The subscribers of `topic`: (connection, subscription) pairs.
    pub fn subscribers(&self, topic: &Topic) -> Vec<(ConnId, SubId)> {
        self.existing(topic)
            .map(|e| {
                lock(&e)
                    .subscribers
                    .iter()
                    .map(|(s, o)| (o.conn(), *s))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn forget_if_idle(&self, topic: &Topic) {
        let mut topics = write_lock(&self.topics);
        if let Some(entry) = topics.get(topic) {
            // Another holder of the Arc may be about to subscribe: only drop entries nobody holds.
            if Arc::strong_count(entry) == 1 && lock(entry).is_idle() {
                topics.remove(topic);
            }
        }
    }
}

fn publish_locked(e: &mut Entry, topic: &Topic, kind: ChangeKind, body: Value) -> Arc<Change> {
    let at = e.next_instant();
    e.seq += 1;
    e.at = Some(at);
    let change = Arc::new(Change {
        topic: topic.clone(),
        seq: e.seq,
        at,
        kind,
        body,
    });
    // A subscriber whose queue is full or closed is dropped here; its connection closes itself
    // (see `Outbox::push`), so nobody waits on a slow consumer.
    e.subscribers.retain(|(sub, outbox)| {
        outbox.push(Outbound::Delivery(Delivery {
            sub: *sub,
            change: change.clone(),
        }))
    });
    change
}

// A poisoned lock means a panic happened while holding it; the data is plain JSON and stays
// usable, so recover rather than take every other connection down.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn read_lock<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}

fn write_lock<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subscribers_receive_changes_in_order_and_once() {
        let hub = Hub::new();
        let topic = Topic::new("t/1");
        let (outbox, mut inbox) = Outbox::new(hub.next_conn_id(), 16);
        let snap = hub.subscribe(&topic, 7, &outbox);
        assert!(snap.value.is_none());
        for i in 0..3 {
            hub.update(&topic, |v| {
                *v = Some(json!(i));
                Decision::Publish(ChangeKind::Update, json!(i))
            });
        }
        let mut seqs = Vec::new();
        while let Some(Outbound::Delivery(d)) = inbox.try_recv() {
            assert_eq!(d.sub, 7);
            seqs.push((d.change.seq, d.change.body.clone()));
        }
        assert_eq!(seqs, vec![(1, json!(0)), (2, json!(1)), (3, json!(2))]);
        assert_eq!(hub.get(&topic), Some(json!(2)));
    }

    #[test]
    fn unsubscribed_connection_receives_nothing() {
        let hub = Hub::new();
        let topic = Topic::new("t/2");
        let (outbox, mut inbox) = Outbox::new(hub.next_conn_id(), 16);
        hub.subscribe(&topic, 1, &outbox);
        assert!(hub.unsubscribe(&topic, outbox.conn(), 1));
        hub.publish(&topic, ChangeKind::Message, json!("x"));
        assert!(inbox.try_recv().is_none());
    }

    #[test]
    fn versions_strictly_increase_even_within_one_millisecond() {
        let hub = Hub::new();
        let topic = Topic::new("t/3");
        let mut last = None;
        for i in 0..50 {
            let c = hub
                .update(&topic, |v| {
                    *v = Some(json!(i));
                    Decision::Publish(ChangeKind::Update, json!(i))
                })
                .expect("published");
            if let Some(prev) = last {
                assert!(c.at > prev);
            }
            last = Some(c.at);
        }
    }

    #[test]
    fn a_full_queue_drops_the_subscriber_and_flags_the_connection() {
        let hub = Hub::new();
        let topic = Topic::new("t/4");
        let (outbox, inbox) = Outbox::new(hub.next_conn_id(), 2);
        hub.subscribe(&topic, 1, &outbox);
        for i in 0..3 {
            hub.publish(&topic, ChangeKind::Message, json!(i));
        }
        assert!(inbox.overflowed());
        assert!(hub.subscribers(&topic).is_empty());
    }
}
