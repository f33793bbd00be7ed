//! The m2 model: subscriptions per connection, resources that exist or not, and scoping by organization,
//! project, world and user.
//!
//! A kvStore id names the subscriber's own store in the scope named, located by its connection's headers
//! (schemas/m2/NOTES.md m2.kvstore-id-structure); a live config belongs to an organization and project.
//! A subscribe answers the current value, or the `resource_not_found` warning (m2.subscribe-reply); every later
//! write pushes the new value and a deletion pushes `data: null` (m2.success-is-also-the-update,
//! m2.delete-push); an unsubscribe is not answered and stops the pushes (m2.no-unsubscribe-ack).
//! Names carry a per-sequence prefix, so sequences never see each other's data.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::strategy::SBoxedStrategy;
use serde_json::{json, Value};

use super::expect;
use super::session::{Rules, Session};
use super::{
    check_model, push, quiet, run_sequence, Model, Sequence, Step, StepFuture, MAX_CLIENTS,
};
use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::Conn;
use crate::ctx::Ctx;
use crate::profile::Profile;

/// The credential sets the model's users come from.
pub const USERS: [&str; 3] = ["primary", "secondary", "other_tenant"];

/// The store every generated write goes to: the user's own client store.
const STORE: &str = "kvstoreClient";

pub fn cases() -> Vec<Case> {
    vec![Case {
        id: "m2.model.subscriptions",
        profile: Profile::M2,
        level: Level::Must,
        title: "Generated subscribe/unsubscribe/write/delete/disconnect sequences over several users deliver \
                exactly the changes of each connection's own subscribed resources, in order, never across \
                users or organizations and never after unsubscribe",
        reference: Reference {
            source: sources::M2_NOTES,
            quote: "A subscriber in organization A must never receive a change made in organization B",
        },
        kind: Kind::Model,
        requires: &[
            Need::Credential("primary"),
            Need::Credential("secondary"),
            Need::Credential("other_tenant"),
            Need::Actuator("kv_upsert"),
            Need::Actuator("kv_delete"),
            Need::Actuator("live_config_put"),
            Need::Actuator("live_config_delete"),
        ],
        run: |ctx| Box::pin(run(ctx)),
    }]
}

/// The scope part of a kvStore id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Scope {
    Organization,
    Project,
    World,
}

/// A resource of the sequence; names are indices turned into prefixed names when performed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Resource {
    KvStore { scope: Scope, key: u8 },
    LiveConfig { name: u8 },
}

/// One operation of an m2 sequence.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Connect {
        client: usize,
    },
    Subscribe {
        client: usize,
        resource: Resource,
    },
    Unsubscribe {
        client: usize,
        resource: Resource,
    },
    /// User `user` writes `value` to the resource (through the target's actuators); an odd value aims it at a
    /// watched resource instead (see [`focus`]).
    Write {
        user: usize,
        resource: Resource,
        value: u16,
    },
    /// User `user` deletes the resource (through the target's actuators); an odd `pick` aims it at a watched
    /// resource instead (see [`focus`]).
    Delete {
        user: usize,
        resource: Resource,
        pick: u8,
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
            Op::Write { .. } | Op::Delete { .. } => None,
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

fn resources() -> impl Strategy<Value = Resource> {
    let scope = prop_oneof![
        Just(Scope::World),
        Just(Scope::Project),
        Just(Scope::Organization)
    ];
    prop_oneof![
        3 => (scope, 0u8..2).prop_map(|(scope, key)| Resource::KvStore { scope, key }),
        1 => (0u8..2).prop_map(|name| Resource::LiveConfig { name }),
    ]
}

/// Operations over [`MAX_CLIENTS`] clients and [`USERS`].
pub fn operations() -> SBoxedStrategy<Op> {
    let client = 0..MAX_CLIENTS;
    let user = 0..USERS.len();
    prop_oneof![
        4 => (client.clone(), resources()).prop_map(|(client, resource)| Op::Subscribe { client, resource }),
        2 => (client.clone(), resources()).prop_map(|(client, resource)| Op::Unsubscribe { client, resource }),
        4 => (user.clone(), resources(), any::<u16>())
            .prop_map(|(user, resource, value)| Op::Write { user, resource, value }),
        1 => (user, resources(), any::<u8>())
            .prop_map(|(user, resource, pick)| Op::Delete { user, resource, pick }),
        1 => client.prop_map(|client| Op::Disconnect { client }),
    ]
    .sboxed()
}

/// Unsubscribes mostly name something the client subscribed to, and every other write or delete goes to a
/// resource some client of that user subscribed to.
pub fn focus(users: &[usize], steps: Vec<Op>) -> Vec<Op> {
    let mut subscribed: BTreeMap<usize, Vec<Resource>> = BTreeMap::new();
    let mut watched: Vec<(usize, Resource)> = Vec::new();
    let mut out = Vec::with_capacity(steps.len());
    for mut op in steps {
        match &mut op {
            Op::Connect { client } | Op::Disconnect { client } => {
                subscribed.remove(client);
            }
            Op::Subscribe { client, resource } => {
                subscribed.entry(*client).or_default().push(*resource);
                let user = users.get(*client).copied().unwrap_or(0);
                watched.push((user, *resource));
            }
            Op::Unsubscribe { client, resource } => {
                let mine = subscribed.get(client).cloned().unwrap_or_default();
                if !mine.is_empty() && !mine.contains(resource) {
                    *resource = mine[resource.ordinal() % mine.len()];
                }
            }
            // Odd choices retarget: shrinking drives them to zero, back to the operation as generated.
            Op::Write {
                user,
                resource,
                value,
            } => {
                if *value % 2 == 1 && !watched.is_empty() {
                    (*user, *resource) = watched[usize::from(*value / 2) % watched.len()];
                }
            }
            Op::Delete {
                user,
                resource,
                pick,
            } => {
                if *pick % 2 == 1 && !watched.is_empty() {
                    (*user, *resource) = watched[usize::from(*pick / 2) % watched.len()];
                }
            }
        }
        out.push(op);
    }
    out
}

impl Resource {
    /// A small number telling resources apart, for choices derived from them.
    fn ordinal(&self) -> usize {
        match *self {
            Resource::KvStore { scope, key } => scope as usize * 2 + usize::from(key),
            Resource::LiveConfig { name } => 6 + usize::from(name),
        }
    }
}

/// Who a credential set is: the user id and the location its headers give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub credential: String,
    pub label: String,
    pub user_id: String,
    pub organization: String,
    pub project: Option<String>,
    pub world: Option<String>,
}

impl Who {
    async fn of(ctx: &Ctx, credential: &str) -> Result<Who, CaseError> {
        let set = ctx.credential(credential).await?;
        let field = |name: &str| set.get(name).map(str::to_owned);
        Ok(Who {
            credential: credential.to_owned(),
            label: set.label().to_owned(),
            user_id: field("user_id").ok_or_else(|| {
                CaseError::skip(format!("m2 credential set `{credential}` has no `user_id`"))
            })?,
            organization: field("organization").ok_or_else(|| {
                CaseError::skip(format!(
                    "m2 credential set `{credential}` has no `organization`"
                ))
            })?,
            project: field("project"),
            world: field("world"),
        })
    }
}

/// The pure model: which resources exist with which value, and what each client subscribed to.
#[derive(Debug, Clone)]
pub struct M2Model {
    pub users: Vec<Who>,
    /// The user of each client.
    pub clients: Vec<usize>,
    /// The prefix of every name of this sequence.
    pub prefix: String,
    values: BTreeMap<String, Value>,
    subscriptions: BTreeMap<usize, BTreeSet<Resource>>,
}

impl M2Model {
    pub fn new(users: Vec<Who>, clients: Vec<usize>, prefix: String) -> M2Model {
        M2Model {
            users,
            clients,
            prefix,
            values: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
        }
    }

    /// The resource as it travels: `{"type":…,"id":…}`.
    pub fn wire(&self, resource: Resource) -> Value {
        match resource {
            Resource::KvStore { scope, key } => json!({
                "type": "kvStore",
                "id": format!("{scope:?}:{STORE}:{}", self.key(key)),
            }),
            Resource::LiveConfig { name } => json!({"type": "liveConfig", "id": self.config(name)}),
        }
    }

    pub fn key(&self, key: u8) -> String {
        format!("{}-k{key}", self.prefix)
    }

    pub fn config(&self, name: u8) -> String {
        format!("{}-c{name}", self.prefix)
    }

    /// The thing `resource` names when user `user` names it: kvStore ids are the user's own store located by
    /// its headers; live configs belong to the organization and project.
    fn identity(&self, user: usize, resource: Resource) -> Option<String> {
        let who = self.users.get(user)?;
        Some(match resource {
            Resource::KvStore { scope, key } => {
                let project = who.project.as_deref().unwrap_or("");
                let world = who.world.as_deref().unwrap_or("");
                let place = match scope {
                    Scope::Organization => who.organization.clone(),
                    Scope::Project => format!("{}/{project}", who.organization),
                    Scope::World => format!("{}/{project}/{world}", who.organization),
                };
                format!("kv|{}|{place}|{STORE}|{}", who.user_id, self.key(key))
            }
            Resource::LiveConfig { name } => format!(
                "config|{}|{}|{}",
                who.organization,
                who.project.as_deref().unwrap_or(""),
                self.config(name)
            ),
        })
    }

    fn user_of(&self, client: usize) -> usize {
        self.clients.get(client).copied().unwrap_or(0)
    }

    fn update(&self, client: usize, resource: Resource, data: Value) -> Value {
        let user = &self.users[self.user_of(client).min(self.users.len() - 1)];
        json!({
            "userId": user.user_id,
            "resource": self.wire(resource),
            "data": data,
            "version": expect::any(),
        })
    }

    /// A client connected: it has no subscriptions.
    pub fn connect(&mut self, client: usize) {
        self.subscriptions.insert(client, BTreeSet::new());
    }

    pub fn disconnect(&mut self, client: usize) {
        self.subscriptions.remove(&client);
    }

    /// What `client` receives when it subscribes to `resource`.
    pub fn subscribe(&mut self, client: usize, resource: Resource) -> Value {
        self.subscriptions
            .entry(client)
            .or_default()
            .insert(resource);
        let current = self
            .identity(self.user_of(client), resource)
            .and_then(|id| self.values.get(&id).cloned());
        match current {
            Some(data) => self.update(client, resource, data),
            None => json!({"warning": "resource_not_found", "message": expect::any()}),
        }
    }

    pub fn unsubscribe(&mut self, client: usize, resource: Resource) {
        if let Some(subscribed) = self.subscriptions.get_mut(&client) {
            subscribed.remove(&resource);
        }
    }

    /// Whether `resource` exists for `user`.
    pub fn exists(&self, user: usize, resource: Resource) -> bool {
        self.identity(user, resource)
            .is_some_and(|id| self.values.contains_key(&id))
    }

    /// User `user` sets `resource` to `data` (`None` deletes it); returns, per client, what it receives.
    pub fn change(
        &mut self,
        user: usize,
        resource: Resource,
        data: Option<Value>,
    ) -> Vec<Vec<Value>> {
        let Some(id) = self.identity(user, resource) else {
            return Vec::new();
        };
        match &data {
            Some(value) => self.values.insert(id.clone(), value.clone()),
            None => self.values.remove(&id),
        };
        let mut expected = Vec::new();
        for (&client, subscribed) in &self.subscriptions {
            let reaches = subscribed.contains(&resource)
                && self.identity(self.user_of(client), resource).as_ref() == Some(&id);
            if reaches {
                let frame = self.update(client, resource, data.clone().unwrap_or(Value::Null));
                push(&mut expected, client, frame);
            }
        }
        expected
    }
}

/// Frames of one resource keep their order; warnings and errors form streams of their own.
fn stream(frame: &Value) -> String {
    match frame.get("resource") {
        Some(resource) => resource.to_string(),
        None if frame.get("warning").is_some() => "warning".into(),
        None => "error".into(),
    }
}

/// The model of one sequence run, with the connections it drives.
struct Run {
    model: M2Model,
}

impl Run {
    fn credential(&self, user: usize) -> &str {
        &self.model.users[user.min(self.model.users.len() - 1)].credential
    }

    fn describe_resource(&self, resource: Resource) -> String {
        let wire = self.model.wire(resource);
        format!(
            "{} {}",
            wire["type"].as_str().unwrap_or_default(),
            wire["id"].as_str().unwrap_or_default()
        )
    }
}

impl Model for Run {
    type Op = Op;
    type Client = Conn;

    fn describe(&self, op: &Op) -> String {
        let client = |c: &usize| {
            let user = self.model.user_of(*c);
            format!(
                "c{c}/{}",
                self.model.users.get(user).map_or("?", |u| u.label.as_str())
            )
        };
        let user = |u: &usize| {
            self.model
                .users
                .get(*u)
                .map_or("?".to_owned(), |w| w.label.clone())
        };
        match op {
            Op::Connect { client: c } => format!("{} connects", client(c)),
            Op::Subscribe {
                client: c,
                resource,
            } => {
                format!(
                    "{} subscribes to {}",
                    client(c),
                    self.describe_resource(*resource)
                )
            }
            Op::Unsubscribe {
                client: c,
                resource,
            } => {
                format!(
                    "{} unsubscribes from {}",
                    client(c),
                    self.describe_resource(*resource)
                )
            }
            Op::Write {
                user: u,
                resource,
                value,
            } => format!(
                "{} writes {value} to {}",
                user(u),
                self.describe_resource(*resource)
            ),
            Op::Delete {
                user: u, resource, ..
            } => {
                format!("{} deletes {}", user(u), self.describe_resource(*resource))
            }
            Op::Disconnect { client: c } => format!("{} disconnects", client(c)),
        }
    }

    fn perform<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        session: &'a mut Session<Conn>,
        op: &'a Op,
        step: usize,
    ) -> StepFuture<'a> {
        Box::pin(async move {
            let m2 = ctx.m2();
            let mut expected = Vec::new();
            match *op {
                Op::Connect { client } => {
                    let user = self.model.user_of(client);
                    let conn = m2.connect(self.credential(user)).await?;
                    let slot = &mut session.slots[client];
                    slot.conn = Some(conn);
                    slot.connections += 1;
                    self.model.connect(client);
                }
                Op::Subscribe { client, resource } | Op::Unsubscribe { client, resource } => {
                    let Some(conn) = session.slots.get(client).and_then(|s| s.conn.as_ref()) else {
                        return Ok(None);
                    };
                    let wire = self.model.wire(resource);
                    let kind = wire["type"].as_str().unwrap_or_default();
                    let id = wire["id"].as_str().unwrap_or_default();
                    if matches!(op, Op::Subscribe { .. }) {
                        m2.subscribe(conn, kind, id).await?;
                        let reply = self.model.subscribe(client, resource);
                        push(&mut expected, client, reply);
                    } else {
                        m2.unsubscribe(conn, kind, id).await?;
                        self.model.unsubscribe(client, resource);
                    }
                }
                Op::Write {
                    user,
                    resource,
                    value,
                } => {
                    let data = json!({"value": value, "step": step});
                    let credential = self.credential(user).to_owned();
                    match resource {
                        Resource::KvStore { scope, key } => {
                            let scope = format!("{scope:?}");
                            m2.kv_upsert(
                                &credential,
                                &scope,
                                STORE,
                                &self.model.key(key),
                                data.clone(),
                            )
                            .await?
                        }
                        Resource::LiveConfig { name } => {
                            m2.live_config_put(&credential, &self.model.config(name), data.clone())
                                .await?
                        }
                    }
                    expected = self.model.change(user, resource, Some(data));
                }
                Op::Delete { user, resource, .. } => {
                    if !self.model.exists(user, resource) {
                        return Ok(None);
                    }
                    let credential = self.credential(user).to_owned();
                    match resource {
                        Resource::KvStore { scope, key } => {
                            let scope = format!("{scope:?}");
                            m2.kv_delete(&credential, &scope, STORE, &self.model.key(key))
                                .await?
                        }
                        Resource::LiveConfig { name } => {
                            m2.live_config_delete(&credential, &self.model.config(name))
                                .await?
                        }
                    }
                    expected = self.model.change(user, resource, None);
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

async fn run(ctx: Ctx) -> CaseResult {
    let mut users = Vec::new();
    for name in USERS {
        users.push(Who::of(&ctx, name).await?);
    }
    let labels: Vec<String> = users.iter().map(|u| u.label.clone()).collect();
    let rules = Rules {
        stream,
        ..Rules::ordered()
    };
    check_model(
        &ctx,
        USERS.len(),
        operations(),
        focus,
        |sequence: Sequence<Op>| {
            let ctx = ctx.clone();
            let users = users.clone();
            let labels = labels.clone();
            async move {
                let model = M2Model::new(users, sequence.users.clone(), ctx.unique("seq"));
                let mut session =
                    Session::new(&sequence.users, &labels, rules, ctx.wait(), quiet(&ctx));
                run_sequence(&ctx, Run { model }, &mut session, &sequence.steps).await
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(user: &str, organization: &str) -> Who {
        Who {
            credential: user.into(),
            label: user.into(),
            user_id: user.into(),
            organization: organization.into(),
            project: Some("p".into()),
            world: Some("w".into()),
        }
    }

    fn model() -> M2Model {
        M2Model::new(
            vec![who("a", "org"), who("b", "org"), who("c", "other")],
            vec![0, 1, 2, 0],
            "seq".into(),
        )
    }

    #[test]
    fn kv_writes_reach_only_the_writers_own_subscriptions() {
        let mut m = model();
        let kv = Resource::KvStore {
            scope: Scope::World,
            key: 0,
        };
        for client in 0..4 {
            m.connect(client);
            let reply = m.subscribe(client, kv);
            assert_eq!(reply["warning"], "resource_not_found");
        }
        let expected = m.change(0, kv, Some(json!(1)));
        let receivers: Vec<usize> = (0..expected.len())
            .filter(|c| !expected[*c].is_empty())
            .collect();
        assert_eq!(receivers, vec![0, 3]);
        assert_eq!(expected[3][0]["userId"], "a");
    }

    #[test]
    fn live_config_is_shared_within_the_organization_only() {
        let mut m = model();
        let config = Resource::LiveConfig { name: 1 };
        for client in 0..3 {
            m.connect(client);
            m.subscribe(client, config);
        }
        m.unsubscribe(0, config);
        let expected = m.change(0, config, Some(json!({"x": 1})));
        let receivers: Vec<usize> = (0..expected.len())
            .filter(|c| !expected[*c].is_empty())
            .collect();
        assert_eq!(receivers, vec![1]);
        assert_eq!(expected[1][0]["userId"], "b");
        let deleted = m.change(1, config, None);
        assert_eq!(deleted[1][0]["data"], Value::Null);
        assert!(!m.exists(0, config));
    }
}
