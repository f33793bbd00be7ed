//! The directus model: subscriptions per socket keyed by uid, each with its collection, event filter and
//! `query.fields`; item changes fan out to every matching subscription of every user allowed to read the
//! collection.
//!
//! Readings followed (schemas/directus/NOTES.md): init confirms a subscribe, its `data` is not judged
//! (directus.init-data: it holds whatever the collection holds); create and update carry the items as arrays
//! restricted to the requested fields (directus.create-update-data); delete carries the keys, compared by value
//! across types (directus.delete-data); subscription messages carry the uid as a string (directus.numeric-uid);
//! re-subscribing with a uid replaces that subscription; an unsubscribe is acknowledged, with or without uid,
//! and without uid removes them all (directus.unsubscribe-ack, directus.unsubscribe-all); a collection the user
//! may not read answers a FORBIDDEN subscribe error with the uid (spec/protocols/directus.md "Errors").

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::strategy::SBoxedStrategy;
use serde_json::{json, Map, Value};

use super::expect;
use super::session::{Rules, Session};
use super::{
    check_model, push, quiet, run_sequence, Model, Sequence, Step, StepFuture, MAX_CLIENTS,
};
use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::directus::Directus;
use crate::client::Conn;
use crate::ctx::Ctx;
use crate::profile::Profile;

/// The credential sets the model's users come from: the first may read and write both collections, the second
/// may read the shared one only.
pub const USERS: [&str; 2] = ["primary", "reader"];

pub fn cases() -> Vec<Case> {
    vec![Case {
        id: "directus.model.subscriptions",
        profile: Profile::Directus,
        level: Level::Must,
        title: "Generated subscribe/unsubscribe/create/update/delete/disconnect sequences deliver to each \
                subscription exactly the events its collection, event filter and fields select, tagged with its \
                uid, and nothing to users who may not read the collection",
        reference: Reference {
            source: sources::DIRECTUS_SEED,
            quote: "Use a new uid for every subscription, and you can easily tell which subscription an event is related to.",
        },
        kind: Kind::Model,
        requires: &[
            Need::Credential("primary"),
            Need::Credential("reader"),
            Need::Actuator("create_item"),
            Need::Actuator("update_item"),
            Need::Actuator("delete_item"),
        ],
        run: |ctx| Box::pin(run(ctx)),
    }]
}

/// Which collection: the shared one everybody reads, or the one only the first user reads.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Collection {
    Shared,
    Restricted,
}

/// The `event` filter of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    Create,
    Update,
    Delete,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Create => "create",
            Event::Update => "update",
            Event::Delete => "delete",
        }
    }
}

/// The `query.fields` of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fields {
    /// No query at all.
    Unset,
    Star,
    IdAndText,
    Text,
}

impl Fields {
    fn query(self) -> Option<Value> {
        match self {
            Fields::Unset => None,
            Fields::Star => Some(json!({"fields": ["*"]})),
            Fields::IdAndText => Some(json!({"fields": ["id", "text"]})),
            Fields::Text => Some(json!({"fields": ["text"]})),
        }
    }

    /// `item` with only the requested fields.
    fn project(self, item: &Value) -> Value {
        let keep: &[&str] = match self {
            Fields::Unset | Fields::Star => return item.clone(),
            Fields::IdAndText => &["id", "text"],
            Fields::Text => &["text"],
        };
        let Some(map) = item.as_object() else {
            return item.clone();
        };
        Value::Object(
            map.iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<String, Value>>(),
        )
    }
}

/// One operation of a directus sequence.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Connect {
        client: usize,
    },
    Subscribe {
        client: usize,
        collection: Collection,
        uid: u8,
        event: Option<Event>,
        fields: Fields,
    },
    /// Unsubscribes one uid, or (without) every subscription of the socket.
    Unsubscribe {
        client: usize,
        uid: Option<u8>,
    },
    /// Creates an item (as the first user, through the target's actuators or over a socket of its own).
    Create {
        collection: Collection,
        text: u16,
    },
    /// Updates one of the items this sequence created.
    Update {
        collection: Collection,
        item: u8,
        text: u16,
    },
    /// Deletes one of the items this sequence created.
    Delete {
        collection: Collection,
        item: u8,
    },
    Disconnect {
        client: usize,
    },
}

impl Step for Op {
    fn client(&self) -> Option<usize> {
        match self {
            Op::Connect { client }
            | Op::Subscribe { client, .. }
            | Op::Unsubscribe { client, .. }
            | Op::Disconnect { client } => Some(*client),
            Op::Create { .. } | Op::Update { .. } | Op::Delete { .. } => None,
        }
    }

    fn connect(client: usize) -> Self {
        Op::Connect { client }
    }

    fn is_connect(&self) -> bool {
        matches!(self, Op::Connect { .. })
    }

    fn is_disconnect(&self) -> bool {
        matches!(self, Op::Disconnect { .. })
    }
}

fn collections() -> impl Strategy<Value = Collection> {
    prop_oneof![3 => Just(Collection::Shared), 1 => Just(Collection::Restricted)]
}

/// Operations over [`MAX_CLIENTS`] clients.
pub fn operations() -> SBoxedStrategy<Op> {
    let client = 0..MAX_CLIENTS;
    let event = prop_oneof![
        3 => Just(None),
        1 => Just(Some(Event::Create)),
        1 => Just(Some(Event::Update)),
        1 => Just(Some(Event::Delete)),
    ];
    let fields = prop_oneof![
        2 => Just(Fields::Unset),
        1 => Just(Fields::Star),
        1 => Just(Fields::IdAndText),
        1 => Just(Fields::Text),
    ];
    prop_oneof![
        4 => (client.clone(), collections(), 0u8..3, event, fields).prop_map(
            |(client, collection, uid, event, fields)| Op::Subscribe { client, collection, uid, event, fields }
        ),
        2 => (client.clone(), prop::option::weighted(0.8, 0u8..3))
            .prop_map(|(client, uid)| Op::Unsubscribe { client, uid }),
        4 => (collections(), any::<u16>()).prop_map(|(collection, text)| Op::Create { collection, text }),
        2 => (collections(), any::<u8>(), any::<u16>())
            .prop_map(|(collection, item, text)| Op::Update { collection, item, text }),
        1 => (collections(), any::<u8>()).prop_map(|(collection, item)| Op::Delete { collection, item }),
        1 => client.prop_map(|client| Op::Disconnect { client }),
    ]
    .sboxed()
}

/// Unsubscribes mostly name a uid the client subscribed with; changes go to a collection somebody watches.
pub fn focus(_users: &[usize], steps: Vec<Op>) -> Vec<Op> {
    let mut uids: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut watched: Vec<Collection> = Vec::new();
    let mut out = Vec::with_capacity(steps.len());
    for mut op in steps {
        match &mut op {
            Op::Connect { client } | Op::Disconnect { client } => {
                uids.remove(client);
            }
            Op::Subscribe {
                client,
                collection,
                uid,
                fields,
                ..
            } => {
                uids.entry(*client).or_default().push(*uid);
                watched.push(*collection);
                // Only the shared collection's fields are known (`id`, `text`, `user`).
                if *collection == Collection::Restricted
                    && matches!(fields, Fields::IdAndText | Fields::Text)
                {
                    *fields = Fields::Star;
                }
            }
            Op::Unsubscribe {
                client,
                uid: Some(uid),
            } => {
                let mine = uids.get(client).cloned().unwrap_or_default();
                if !mine.is_empty() && !mine.contains(uid) {
                    *uid = mine[usize::from(*uid) % mine.len()];
                }
            }
            Op::Create { collection, text } => {
                if *text % 2 == 1 && !watched.is_empty() {
                    *collection = watched[usize::from(*text / 2) % watched.len()];
                }
            }
            // Items of the restricted collection have no known field to change.
            Op::Update { collection, .. } => *collection = Collection::Shared,
            Op::Unsubscribe { .. } | Op::Delete { .. } => {}
        }
        out.push(op);
    }
    out
}

#[derive(Debug, Clone)]
struct Subscription {
    collection: Collection,
    event: Option<Event>,
    fields: Fields,
}

/// The pure model: items this sequence created, and each connected client's subscriptions by uid.
#[derive(Debug, Clone, Default)]
pub struct DirectusModel {
    /// The user of each client.
    pub clients: Vec<usize>,
    items: BTreeMap<Collection, Vec<Value>>,
    subscriptions: BTreeMap<usize, BTreeMap<String, Subscription>>,
}

/// Whether user `user` may read `collection`: the first user reads both, the others the shared one.
fn may_read(user: usize, collection: Collection) -> bool {
    user == 0 || collection == Collection::Shared
}

fn uid_text(uid: u8) -> String {
    format!("s{uid}")
}

impl DirectusModel {
    fn user_of(&self, client: usize) -> usize {
        self.clients.get(client).copied().unwrap_or(0)
    }

    pub fn connect(&mut self, client: usize) {
        self.subscriptions.insert(client, BTreeMap::new());
    }

    pub fn disconnect(&mut self, client: usize) {
        self.subscriptions.remove(&client);
    }

    /// Whether a subscribe would be refused while `uid` is in use (what a refused subscribe does to the old
    /// subscription is not documented, so such a subscribe is not generated).
    pub fn ambiguous_subscribe(&self, client: usize, collection: Collection, uid: u8) -> bool {
        !may_read(self.user_of(client), collection)
            && self
                .subscriptions
                .get(&client)
                .is_some_and(|s| s.contains_key(&uid_text(uid)))
    }

    /// What `client` receives when it subscribes.
    pub fn subscribe(
        &mut self,
        client: usize,
        collection: Collection,
        uid: u8,
        event: Option<Event>,
        fields: Fields,
    ) -> Value {
        let uid = uid_text(uid);
        if !may_read(self.user_of(client), collection) {
            return json!({
                "type": "subscribe",
                "status": "error",
                "error": {"code": "FORBIDDEN", "message": expect::any()},
                "uid": uid,
            });
        }
        self.subscriptions.entry(client).or_default().insert(
            uid.clone(),
            Subscription {
                collection,
                event,
                fields,
            },
        );
        json!({"type": "subscription", "event": "init", "uid": uid})
    }

    /// What `client` receives when it unsubscribes.
    pub fn unsubscribe(&mut self, client: usize, uid: Option<u8>) -> Value {
        let subscriptions = self.subscriptions.entry(client).or_default();
        match uid {
            Some(uid) => {
                let uid = uid_text(uid);
                subscriptions.remove(&uid);
                json!({"type": "subscription", "event": "unsubscribe", "uid": uid})
            }
            None => {
                subscriptions.clear();
                json!({"type": "subscription", "event": "unsubscribe"})
            }
        }
    }

    /// The live item of `collection` an operation's `item` choice names.
    pub fn item(&self, collection: Collection, choice: u8) -> Option<&Value> {
        let items = self.items.get(&collection)?;
        if items.is_empty() {
            return None;
        }
        items.get(usize::from(choice) % items.len())
    }

    /// An item was created (`item` as the server returned it); per client, the events.
    pub fn created(&mut self, collection: Collection, item: Value) -> Vec<Vec<Value>> {
        self.items.entry(collection).or_default().push(item.clone());
        self.events(collection, Event::Create, |fields| {
            json!([fields.project(&item)])
        })
    }

    /// An item was updated (`item` as the server returned it).
    pub fn updated(&mut self, collection: Collection, item: Value) -> Vec<Vec<Value>> {
        if let Some(slot) = self
            .items
            .get_mut(&collection)
            .and_then(|items| items.iter_mut().find(|i| i.get("id") == item.get("id")))
        {
            *slot = item.clone();
        }
        self.events(collection, Event::Update, |fields| {
            json!([fields.project(&item)])
        })
    }

    /// The item with key `id` was deleted.
    pub fn deleted(&mut self, collection: Collection, id: &Value) -> Vec<Vec<Value>> {
        if let Some(items) = self.items.get_mut(&collection) {
            items.retain(|i| i.get("id") != Some(id));
        }
        let key = key_text(id);
        self.events(collection, Event::Delete, |_| json!([key]))
    }

    fn events(
        &self,
        collection: Collection,
        event: Event,
        data: impl Fn(Fields) -> Value,
    ) -> Vec<Vec<Value>> {
        let mut expected = Vec::new();
        for (&client, subscriptions) in &self.subscriptions {
            if !may_read(self.user_of(client), collection) {
                continue;
            }
            for (uid, subscription) in subscriptions {
                let wanted = subscription.event.is_none_or(|e| e == event);
                if subscription.collection == collection && wanted {
                    let frame = json!({
                        "type": "subscription",
                        "event": event.name(),
                        "data": data(subscription.fields),
                        "uid": uid,
                    });
                    push(&mut expected, client, frame);
                }
            }
        }
        expected
    }
}

/// A key as text: delete events carry keys typed as the deleter passed them (directus.delete-data).
fn key_text(key: &Value) -> Value {
    match key {
        Value::String(s) => Value::String(s.clone()),
        other => Value::String(other.to_string()),
    }
}

/// Init data is not judged (it holds the collection's items, the sequence's and anyone else's); delete keys
/// are compared as text.
fn normalize(mut frame: Value) -> Value {
    let event = frame
        .get("event")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if frame.get("type").and_then(Value::as_str) == Some("subscription") {
        if let Some(map) = frame.as_object_mut() {
            match event.as_deref() {
                Some("init") => {
                    map.remove("data");
                    map.remove("meta");
                }
                Some("delete") => {
                    if let Some(data) = map.get_mut("data") {
                        let keys = match &*data {
                            Value::Array(keys) => Value::Array(keys.iter().map(key_text).collect()),
                            key => json!([key_text(key)]),
                        };
                        *data = keys;
                    }
                }
                _ => {}
            }
        }
    }
    frame
}

/// Frames of one subscription keep their order.
fn stream(frame: &Value) -> String {
    frame
        .get("uid")
        .map(|u| match u {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

/// The server's heartbeat is answered and left out.
fn heartbeat(frame: &Value) -> Option<Option<Value>> {
    (frame == &json!({"type": "ping"})).then(|| Some(json!({"type": "pong"})))
}

struct Run {
    model: DirectusModel,
    prefix: String,
    names: [String; 2],
    labels: Vec<String>,
}

impl Run {
    fn name(&self, collection: Collection) -> &str {
        match collection {
            Collection::Shared => &self.names[0],
            Collection::Restricted => &self.names[1],
        }
    }

    fn client(&self, client: usize) -> String {
        let user = self.model.user_of(client);
        format!(
            "c{client}/{}",
            self.labels.get(user).map_or("?", String::as_str)
        )
    }
}

impl Model for Run {
    type Op = Op;
    type Client = Conn;

    fn describe(&self, op: &Op) -> String {
        match op {
            Op::Connect { client } => format!("{} connects", self.client(*client)),
            Op::Subscribe {
                client,
                collection,
                uid,
                event,
                fields,
            } => format!(
                "{} subscribes to {} as {}{}{}",
                self.client(*client),
                self.name(*collection),
                uid_text(*uid),
                event
                    .map(|e| format!(", event {}", e.name()))
                    .unwrap_or_default(),
                fields
                    .query()
                    .map(|q| format!(", query {q}"))
                    .unwrap_or_default(),
            ),
            Op::Unsubscribe { client, uid } => format!(
                "{} unsubscribes {}",
                self.client(*client),
                uid.map(uid_text).unwrap_or_else(|| "everything".into())
            ),
            Op::Create {
                collection: Collection::Shared,
                text,
            } => format!(
                "create an item with text {} in {}",
                self.text(*text),
                self.names[0]
            ),
            Op::Create { collection, .. } => {
                format!("create an item in {}", self.name(*collection))
            }
            Op::Update {
                collection,
                item,
                text,
            } => format!(
                "update item #{item} of {} to text {}",
                self.name(*collection),
                self.text(*text)
            ),
            Op::Delete { collection, item } => {
                format!("delete item #{item} of {}", self.name(*collection))
            }
            Op::Disconnect { client } => format!("{} disconnects", self.client(*client)),
        }
    }

    fn perform<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        session: &'a mut Session<Conn>,
        op: &'a Op,
        _step: usize,
    ) -> StepFuture<'a> {
        Box::pin(async move {
            let directus = ctx.directus();
            let mut expected = Vec::new();
            match *op {
                Op::Connect { client } => {
                    let user = self.model.user_of(client);
                    let conn = directus.connect(USERS[user.min(USERS.len() - 1)]).await?;
                    let slot = &mut session.slots[client];
                    slot.conn = Some(conn);
                    slot.connections += 1;
                    self.model.connect(client);
                }
                Op::Subscribe {
                    client,
                    collection,
                    uid,
                    event,
                    fields,
                } => {
                    if self.model.ambiguous_subscribe(client, collection, uid) {
                        return Ok(None);
                    }
                    let Some(conn) = session.slots.get(client).and_then(|s| s.conn.as_ref()) else {
                        return Ok(None);
                    };
                    let mut extra = Map::new();
                    if let Some(event) = event {
                        extra.insert("event".into(), json!(event.name()));
                    }
                    if let Some(query) = fields.query() {
                        extra.insert("query".into(), query);
                    }
                    let frame = Directus::subscribe_frame(
                        self.name(collection),
                        Some(&uid_text(uid)),
                        Value::Object(extra),
                    );
                    conn.send_json(&frame).await?;
                    let reply = self.model.subscribe(client, collection, uid, event, fields);
                    push(&mut expected, client, reply);
                }
                Op::Unsubscribe { client, uid } => {
                    let Some(conn) = session.slots.get(client).and_then(|s| s.conn.as_ref()) else {
                        return Ok(None);
                    };
                    let frame = match uid {
                        Some(uid) => json!({"type": "unsubscribe", "uid": uid_text(uid)}),
                        None => json!({"type": "unsubscribe"}),
                    };
                    conn.send_json(&frame).await?;
                    let reply = self.model.unsubscribe(client, uid);
                    push(&mut expected, client, reply);
                }
                Op::Create { collection, text } => {
                    let data = match collection {
                        Collection::Shared => json!({"text": self.text(text), "user": self.prefix}),
                        Collection::Restricted => json!({}),
                    };
                    let item = directus.create_item(self.name(collection), data).await?;
                    crate::ensure!(
                        item.get("id").is_some(),
                        "creating an item returned no item with an id: {item}"
                    );
                    expected = self.model.created(collection, item);
                }
                Op::Update {
                    collection,
                    item,
                    text,
                } => {
                    let Some(id) = self
                        .model
                        .item(collection, item)
                        .and_then(|i| i.get("id"))
                        .cloned()
                    else {
                        return Ok(None);
                    };
                    let updated = directus
                        .update_item(self.name(collection), &id, json!({"text": self.text(text)}))
                        .await?;
                    crate::ensure!(
                        updated.get("id").is_some(),
                        "updating item {id} returned no item with an id: {updated}"
                    );
                    expected = self.model.updated(collection, updated);
                }
                Op::Delete { collection, item } => {
                    let Some(id) = self
                        .model
                        .item(collection, item)
                        .and_then(|i| i.get("id"))
                        .cloned()
                    else {
                        return Ok(None);
                    };
                    directus.delete_item(self.name(collection), &id).await?;
                    expected = self.model.deleted(collection, &id);
                }
                Op::Disconnect { client } => {
                    let Some(conn) = session.slots.get_mut(client).and_then(|s| s.conn.take())
                    else {
                        return Ok(None);
                    };
                    conn.close().await;
                    self.model.disconnect(client);
                }
            }
            Ok(Some(expected))
        })
    }
}

impl Run {
    fn text(&self, text: u16) -> String {
        format!("{}-{text}", self.prefix)
    }
}

async fn run(ctx: Ctx) -> CaseResult {
    let shared = ctx.directus().collection()?;
    let restricted = match ctx.parameter_str("secret_collection") {
        Ok(name) => name,
        Err(CaseError::Skip(reason)) => {
            return Err(CaseError::skip(format!(
                "{reason} (a collection only `primary` may read)"
            )))
        }
        Err(other) => return Err(other),
    };
    let mut labels = Vec::new();
    for name in USERS {
        labels.push(ctx.credential(name).await?.label().to_owned());
    }
    let rules = Rules {
        stream,
        background: heartbeat,
        normalize,
    };
    check_model(
        &ctx,
        USERS.len(),
        operations(),
        focus,
        |sequence: Sequence<Op>| {
            let ctx = ctx.clone();
            let labels = labels.clone();
            let names = [shared.clone(), restricted.clone()];
            async move {
                let model = DirectusModel {
                    clients: sequence.users.clone(),
                    ..DirectusModel::default()
                };
                let mut session =
                    Session::new(&sequence.users, &labels, rules, ctx.wait(), quiet(&ctx));
                let run = Run {
                    model,
                    prefix: ctx.unique("seq"),
                    names,
                    labels,
                };
                run_sequence(&ctx, run, &mut session, &sequence.steps).await
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_follow_collection_filter_fields_and_permission() {
        let mut m = DirectusModel {
            clients: vec![0, 1, 0],
            ..DirectusModel::default()
        };
        for c in 0..3 {
            m.connect(c);
        }
        m.subscribe(0, Collection::Shared, 0, None, Fields::Text);
        m.subscribe(0, Collection::Shared, 1, Some(Event::Delete), Fields::Unset);
        m.subscribe(1, Collection::Shared, 0, None, Fields::Unset);
        let refused = m.subscribe(1, Collection::Restricted, 1, None, Fields::Unset);
        assert_eq!(refused["error"]["code"], "FORBIDDEN");
        m.subscribe(2, Collection::Restricted, 2, None, Fields::IdAndText);
        let item = json!({"id": 7, "text": "t", "user": "u"});
        let created = m.created(Collection::Shared, item.clone());
        assert_eq!(
            created[0],
            vec![json!({"type":"subscription","event":"create","data":[{"text":"t"}],"uid":"s0"})]
        );
        assert_eq!(created[1][0]["data"], json!([item]));
        assert!(created.get(2).is_none_or(Vec::is_empty));
        let secret = m.created(
            Collection::Restricted,
            json!({"id": 1, "text": "x", "user": "u"}),
        );
        assert_eq!(secret[2][0]["data"], json!([{"id": 1, "text": "x"}]));
        assert!(secret[1].is_empty());
        let deleted = m.deleted(Collection::Shared, &json!(7));
        assert_eq!(deleted[0].len(), 2);
        assert_eq!(deleted[0][1]["data"], json!(["7"]));
        m.unsubscribe(0, None);
        assert!(m.created(Collection::Shared, item)[0].is_empty());
    }

    #[test]
    fn delete_keys_and_init_data_are_normalised() {
        let init = json!({"type":"subscription","event":"init","data":[{"id":1}],"meta":{"total_count":1},"uid":"s0"});
        assert_eq!(
            normalize(init),
            json!({"type":"subscription","event":"init","uid":"s0"})
        );
        let delete = json!({"type":"subscription","event":"delete","data":[5, "6"],"uid":"s0"});
        assert_eq!(normalize(delete)["data"], json!(["5", "6"]));
    }
}
