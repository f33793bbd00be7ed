//! Groups and private inboxes as hub topics.
//!
//! A group is the topic `skapi/<service>/group/<rid>`; its value is the member list
//! `{"<cid>": "<user id>", …}` (in join order), so membership changes and their notices are published
//! atomically, and `get-ws-group` reads the lists without a second registry. A user's private inbox is
//! the topic `skapi/<service>/user/<user id>`, subscribed by each of the user's connections.
//!
//! Every published body is the rendered frame (a JSON string value): a frame is the same for every
//! recipient, so it is rendered once.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::hub::{ChangeKind, ConnId, Decision, Hub, SubId, Topic};
use crate::outbox::Outbox;

use super::outbound::{self, NoticeCode, Origin};

pub fn group_topic(service: &str, rid: &str) -> Topic {
    Topic::new(format!("{}{rid}", group_prefix(service)))
}

/// User ids are UUIDs, which compare without regard to case.
pub fn inbox_topic(service: &str, user_id: &str) -> Topic {
    Topic::new(format!(
        "skapi/{service}/user/{}",
        user_id.to_ascii_lowercase()
    ))
}

fn group_prefix(service: &str) -> String {
    format!("skapi/{service}/group/")
}

/// A connection's place in one group.
#[derive(Debug, Clone)]
pub struct Membership {
    pub rid: Arc<str>,
    pub topic: Topic,
    /// The hub subscription; each join uses a new one, so deliveries of an earlier membership of the
    /// same group are told apart.
    pub sub: SubId,
    /// Sequence number of this connection's USER_JOINED: group changes before it are not shown.
    pub joined_seq: u64,
}

/// Subscribes the connection to the group, then adds it to the member list and publishes USER_JOINED
/// to every member, the joiner included.
pub fn join(
    hub: &Hub,
    service: &str,
    rid: &str,
    me: Origin<'_>,
    outbox: &Outbox,
    sub: SubId,
) -> Membership {
    let topic = group_topic(service, rid);
    hub.subscribe(&topic, sub, outbox);
    let frame = outbound::notice(NoticeCode::Joined, me, rid);
    let joined = hub.update(&topic, |value| {
        let mut members = take_members(value);
        members.insert(me.cid.to_owned(), Value::String(me.user_id.to_owned()));
        *value = Some(Value::Object(members));
        Decision::Publish(ChangeKind::Update, Value::String(frame.to_string()))
    });
    Membership {
        rid: rid.into(),
        topic,
        sub,
        joined_seq: joined.map_or(0, |change| change.seq),
    }
}

/// Removes the connection from the member list, publishes `code` (USER_LEFT or USER_DISCONNECTED)
/// to every member, the leaver included, then unsubscribes. Returns the notice's sequence number:
/// the leaver shows group changes up to it and none after.
pub fn leave(
    hub: &Hub,
    membership: &Membership,
    me: Origin<'_>,
    conn: ConnId,
    code: NoticeCode,
) -> u64 {
    let frame = outbound::notice(code, me, &membership.rid);
    let left = hub.update(&membership.topic, |value| {
        let mut members = take_members(value);
        members.shift_remove(me.cid);
        // An empty group holds no value, so the hub forgets it and it leaves the group list.
        *value = (!members.is_empty()).then_some(Value::Object(members));
        Decision::Publish(ChangeKind::Update, Value::String(frame.to_string()))
    });
    hub.unsubscribe(&membership.topic, conn, membership.sub);
    left.map_or(0, |change| change.seq)
}

/// Publishes a broadcast frame to every member of the group.
pub fn broadcast(hub: &Hub, membership: &Membership, frame: &str) {
    hub.publish(
        &membership.topic,
        ChangeKind::Message,
        Value::String(frame.to_owned()),
    );
}

/// The members of a group: (connection id, user id), in join order.
pub fn members(hub: &Hub, service: &str, rid: &str) -> Vec<(String, String)> {
    match hub.get(&group_topic(service, rid)) {
        Some(Value::Object(members)) => members
            .into_iter()
            .filter_map(|(cid, uid)| uid.as_str().map(|uid| (cid, uid.to_owned())))
            .collect(),
        _ => Vec::new(),
    }
}

/// The non-empty groups of a service with their number of connections, sorted by name.
pub fn groups(hub: &Hub, service: &str) -> Vec<(String, usize)> {
    let prefix = group_prefix(service);
    hub.topics_with_prefix(&prefix)
        .into_iter()
        .filter_map(|topic| {
            let rid = topic.as_str().strip_prefix(&prefix)?.to_owned();
            match hub.get(&topic) {
                Some(Value::Object(members)) if !members.is_empty() => Some((rid, members.len())),
                _ => None,
            }
        })
        .collect()
}

/// Publishes a private frame to every connection of the user; false when none is open.
pub fn send_private(hub: &Hub, service: &str, user_id: &str, frame: &str) -> bool {
    let topic = inbox_topic(service, user_id);
    if hub.subscribers(&topic).is_empty() {
        return false;
    }
    hub.publish(&topic, ChangeKind::Message, Value::String(frame.to_owned()))
        .is_some()
}

fn take_members(value: &mut Option<Value>) -> Map<String, Value> {
    match value.take() {
        Some(Value::Object(members)) => members,
        _ => Map::new(),
    }
}
