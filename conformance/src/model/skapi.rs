//! The skapi model: one group per connection, membership notices, broadcasts to the group, private messages to
//! every connection of a user, all scoped by service.
//!
//! Readings followed (schemas/skapi/NOTES.md): joining announces USER_JOINED to every member, the joiner
//! included, and joining another group first announces USER_LEFT to the old one (SKAPI-JOIN-MOVE,
//! SKAPI-NOTICE-AUDIENCE); leaving announces USER_LEFT, the leaver included (SKAPI-LEAVE-SELF-NOTICE); a closed
//! connection is announced as USER_DISCONNECTED to the rest (SKAPI-CLOSE-REMOVES); a broadcast reaches every
//! member, the sender included, and from outside the group is an `#error` (SKAPI-SENDER-INCLUDED,
//! SKAPI-BROADCAST-OUTSIDER); a private message reaches every connection of the recipient plus an echo to the
//! sending connection, or is an `#error` when the recipient is not connected (SKAPI-PRIVATE-FANOUT); services
//! never meet (SKAPI-SERVICE-ISOLATION). Notice and error texts are free (SKAPI-NOTICE-TEXT, SKAPI-ERROR);
//! connection ids are the server's and are bound on first sight.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::strategy::SBoxedStrategy;
use serde_json::{json, Value};

use super::expect;
use super::session::{Rules, Session};
use super::{
    check_model, push, quiet, run_sequence, Model, Sequence, Step, StepFuture, MAX_CLIENTS,
};
use crate::case::{sources, Case, CaseResult, Kind, Level, Need, Reference};
use crate::client::skapi::{Session as Login, SkapiConn};
use crate::ctx::Ctx;
use crate::generate::any_json;
use crate::profile::Profile;

/// The credential sets the model's users come from; the last is of another service.
pub const USERS: [&str; 3] = ["primary", "secondary", "other_tenant"];

pub fn cases() -> Vec<Case> {
    vec![Case {
        id: "skapi.model.groups-and-private",
        profile: Profile::Skapi,
        level: Level::Must,
        title: "Generated join/leave/broadcast/private-message/disconnect sequences deliver exactly the notices, \
                group messages and private messages the documented fan-out predicts, never across services",
        reference: Reference {
            source: sources::SKAPI_SEED,
            quote: "Skapi's realtime connection let's you transfer JSON data between users in realtime.",
        },
        kind: Kind::Model,
        requires: &[
            Need::Credential("primary"),
            Need::Credential("secondary"),
            Need::Credential("other_tenant"),
        ],
        run: |ctx| Box::pin(run(ctx)),
    }]
}

/// One operation of a skapi sequence.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Connect {
        client: usize,
    },
    Join {
        client: usize,
        group: u8,
    },
    Leave {
        client: usize,
    },
    Broadcast {
        client: usize,
        group: u8,
        content: Value,
    },
    /// A private message to user `to`.
    Private {
        client: usize,
        to: usize,
        content: Value,
    },
    Disconnect {
        client: usize,
    },
}

impl Step for Op {
    fn client(&self) -> Option<usize> {
        match self {
            Op::Connect { client }
            | Op::Join { client, .. }
            | Op::Leave { client }
            | Op::Broadcast { client, .. }
            | Op::Private { client, .. }
            | Op::Disconnect { client } => Some(*client),
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

/// Operations over [`MAX_CLIENTS`] clients and [`USERS`].
pub fn operations() -> SBoxedStrategy<Op> {
    let client = 0..MAX_CLIENTS;
    prop_oneof![
        4 => (client.clone(), 0u8..2).prop_map(|(client, group)| Op::Join { client, group }),
        1 => client.clone().prop_map(|client| Op::Leave { client }),
        3 => (client.clone(), 0u8..2, any_json())
            .prop_map(|(client, group, content)| Op::Broadcast { client, group, content }),
        3 => (client.clone(), 0..USERS.len(), any_json())
            .prop_map(|(client, to, content)| Op::Private { client, to, content }),
        1 => client.prop_map(|client| Op::Disconnect { client }),
    ]
    .sboxed()
}

/// Broadcasts mostly go to the group the client joined last.
pub fn focus(_users: &[usize], steps: Vec<Op>) -> Vec<Op> {
    let mut joined: BTreeMap<usize, u8> = BTreeMap::new();
    steps
        .into_iter()
        .map(|mut op| {
            match &mut op {
                Op::Join { client, group } => {
                    joined.insert(*client, *group);
                }
                Op::Leave { client } | Op::Disconnect { client } | Op::Connect { client } => {
                    joined.remove(client);
                }
                Op::Broadcast { client, group, .. } => {
                    if let Some(mine) = joined.get(client) {
                        *group = *mine;
                    }
                }
                Op::Private { .. } => {}
            }
            op
        })
        .collect()
}

/// A user of the model: its id and service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub label: String,
    pub user_id: String,
    pub service: String,
}

/// The pure model: which clients are connected, in which group, and the names groups get.
#[derive(Debug, Clone)]
pub struct SkapiModel {
    pub users: Vec<Who>,
    /// The user of each client.
    pub clients: Vec<usize>,
    pub prefix: String,
    /// Connected clients and their group.
    connected: BTreeMap<usize, Option<u8>>,
    /// How many times each client connected, so connection ids of one client stay apart.
    generation: BTreeMap<usize, usize>,
}

impl SkapiModel {
    pub fn new(users: Vec<Who>, clients: Vec<usize>, prefix: String) -> SkapiModel {
        SkapiModel {
            users,
            clients,
            prefix,
            connected: BTreeMap::new(),
            generation: BTreeMap::new(),
        }
    }

    pub fn group_name(&self, group: u8) -> String {
        format!("{}-g{group}", self.prefix)
    }

    fn who(&self, client: usize) -> &Who {
        let user = self.clients.get(client).copied().unwrap_or(0);
        &self.users[user.min(self.users.len() - 1)]
    }

    /// The server's id of `client`'s current connection, bound on first sight.
    fn cid(&self, client: usize) -> Value {
        expect::bind(format!(
            "connection of c{client} #{}",
            self.generation.get(&client).copied().unwrap_or(0)
        ))
    }

    /// Connected clients in `group` of `client`'s service.
    fn members(&self, service: &str, group: u8) -> Vec<usize> {
        self.connected
            .iter()
            .filter(|(c, g)| **g == Some(group) && self.who(**c).service == service)
            .map(|(c, _)| *c)
            .collect()
    }

    fn notice(&self, subject: usize, group: u8, code: &str) -> Value {
        json!({
            "#notice": expect::any(),
            "#user_id": self.who(subject).user_id,
            "#scid": self.cid(subject),
            "#srid": self.group_name(group),
            "#code": code,
        })
    }

    fn announce(&self, expected: &mut Vec<Vec<Value>>, subject: usize, group: u8, code: &str) {
        let service = self.who(subject).service.clone();
        for member in self.members(&service, group) {
            push(expected, member, self.notice(subject, group, code));
        }
    }

    pub fn connect(&mut self, client: usize) {
        *self.generation.entry(client).or_default() += 1;
        self.connected.insert(client, None);
    }

    pub fn join(&mut self, client: usize, group: u8) -> Vec<Vec<Value>> {
        let mut expected = Vec::new();
        let Some(current) = self.connected.get(&client).copied() else {
            return expected;
        };
        if current == Some(group) {
            return expected;
        }
        if let Some(old) = current {
            self.announce(&mut expected, client, old, "USER_LEFT");
        }
        self.connected.insert(client, Some(group));
        self.announce(&mut expected, client, group, "USER_JOINED");
        expected
    }

    pub fn leave(&mut self, client: usize) -> Vec<Vec<Value>> {
        let mut expected = Vec::new();
        if let Some(Some(group)) = self.connected.get(&client).copied() {
            self.announce(&mut expected, client, group, "USER_LEFT");
            self.connected.insert(client, None);
        }
        expected
    }

    pub fn broadcast(&self, client: usize, group: u8, content: &Value) -> Vec<Vec<Value>> {
        let mut expected = Vec::new();
        if self.connected.get(&client).copied().flatten() != Some(group) {
            push(&mut expected, client, json!({"#error": expect::any()}));
            return expected;
        }
        let who = self.who(client);
        let frame = json!({
            "#message": content,
            "#user_id": who.user_id,
            "#scid": self.cid(client),
            "#srid": self.group_name(group),
        });
        for member in self.members(&who.service, group) {
            push(&mut expected, member, frame.clone());
        }
        expected
    }

    pub fn private(&self, client: usize, to: usize, content: &Value) -> Vec<Vec<Value>> {
        let mut expected = Vec::new();
        let sender = self.who(client);
        let Some(recipient) = self.users.get(to) else {
            return expected;
        };
        let receivers: Vec<usize> = self
            .connected
            .keys()
            .copied()
            .filter(|c| {
                let who = self.who(*c);
                who.user_id == recipient.user_id && who.service == sender.service
            })
            .collect();
        if receivers.is_empty() {
            push(&mut expected, client, json!({"#error": expect::any()}));
            return expected;
        }
        let frame = json!({
            "#private": content,
            "#user_id": sender.user_id,
            "#scid": self.cid(client),
        });
        for receiver in &receivers {
            push(&mut expected, *receiver, frame.clone());
        }
        if !receivers.contains(&client) {
            push(&mut expected, client, frame);
        }
        expected
    }

    pub fn disconnect(&mut self, client: usize) -> Vec<Vec<Value>> {
        let mut expected = Vec::new();
        if let Some(group) = self.connected.remove(&client).flatten() {
            self.announce(&mut expected, client, group, "USER_DISCONNECTED");
        }
        expected
    }
}

struct Run {
    model: SkapiModel,
    logins: Vec<Login>,
}

impl Run {
    fn client(&self, client: usize) -> String {
        format!("c{client}/{}", self.model.who(client).label)
    }
}

impl Model for Run {
    type Op = Op;
    type Client = SkapiConn;

    fn describe(&self, op: &Op) -> String {
        let content = |v: &Value| super::session::shown(v);
        match op {
            Op::Connect { client } => format!("{} connects", self.client(*client)),
            Op::Join { client, group } => {
                format!(
                    "{} joins {}",
                    self.client(*client),
                    self.model.group_name(*group)
                )
            }
            Op::Leave { client } => format!("{} leaves its group", self.client(*client)),
            Op::Broadcast {
                client,
                group,
                content: c,
            } => format!(
                "{} broadcasts {} to {}",
                self.client(*client),
                content(c),
                self.model.group_name(*group)
            ),
            Op::Private {
                client,
                to,
                content: c,
            } => format!(
                "{} sends {} privately to {}",
                self.client(*client),
                content(c),
                self.model.users.get(*to).map_or("?", |w| w.label.as_str())
            ),
            Op::Disconnect { client } => format!("{} disconnects", self.client(*client)),
        }
    }

    fn perform<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        session: &'a mut Session<SkapiConn>,
        op: &'a Op,
        _step: usize,
    ) -> StepFuture<'a> {
        Box::pin(async move {
            if let Op::Connect { client } = *op {
                let user = self.model.clients.get(client).copied().unwrap_or(0);
                let conn = ctx
                    .skapi()
                    .connect(USERS[user.min(USERS.len() - 1)])
                    .await?;
                let slot = &mut session.slots[client];
                slot.conn = Some(conn);
                slot.connections += 1;
                self.model.connect(client);
                return Ok(Some(Vec::new()));
            }
            let Some(client) = op.client() else {
                return Ok(None);
            };
            let Some(slot) = session.slots.get_mut(client) else {
                return Ok(None);
            };
            if matches!(op, Op::Disconnect { .. }) {
                let Some(conn) = slot.conn.take() else {
                    return Ok(None);
                };
                conn.conn.close().await;
                return Ok(Some(self.model.disconnect(client)));
            }
            let Some(conn) = slot.conn.as_ref() else {
                return Ok(None);
            };
            let expected = match op {
                Op::Join { group, .. } => {
                    conn.join(&self.model.group_name(*group)).await?;
                    self.model.join(client, *group)
                }
                Op::Leave { .. } => {
                    conn.leave().await?;
                    self.model.leave(client)
                }
                Op::Broadcast { group, content, .. } => {
                    conn.broadcast(&self.model.group_name(*group), content.clone())
                        .await?;
                    self.model.broadcast(client, *group, content)
                }
                Op::Private { to, content, .. } => {
                    let Some(recipient) = self.logins.get(*to) else {
                        return Ok(None);
                    };
                    conn.send_private(&recipient.user_id, content.clone())
                        .await?;
                    self.model.private(client, *to, content)
                }
                Op::Connect { .. } | Op::Disconnect { .. } => Vec::new(),
            };
            Ok(Some(expected))
        })
    }
}

async fn run(ctx: Ctx) -> CaseResult {
    let mut logins = Vec::new();
    for name in USERS {
        logins.push(ctx.skapi().session(name).await?);
    }
    let users: Vec<Who> = logins
        .iter()
        .map(|l| Who {
            label: l.label.clone(),
            user_id: l.user_id.clone(),
            service: l.service.clone(),
        })
        .collect();
    let labels: Vec<String> = users.iter().map(|u| u.label.clone()).collect();
    check_model(
        &ctx,
        USERS.len(),
        operations(),
        focus,
        |sequence: Sequence<Op>| {
            let ctx = ctx.clone();
            let users = users.clone();
            let labels = labels.clone();
            let logins = logins.clone();
            async move {
                let model = SkapiModel::new(users, sequence.users.clone(), ctx.unique("seq"));
                let mut session = Session::new(
                    &sequence.users,
                    &labels,
                    Rules::ordered(),
                    ctx.wait(),
                    quiet(&ctx),
                );
                run_sequence(&ctx, Run { model, logins }, &mut session, &sequence.steps).await
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> SkapiModel {
        let who = |u: &str, s: &str| Who {
            label: u.into(),
            user_id: u.into(),
            service: s.into(),
        };
        SkapiModel::new(
            vec![who("a", "s1"), who("b", "s1"), who("c", "s2")],
            vec![0, 1, 2, 0],
            "p".into(),
        )
    }

    #[test]
    fn moves_announce_left_then_joined_and_services_stay_apart() {
        let mut m = model();
        for c in 0..4 {
            m.connect(c);
        }
        assert_eq!(m.join(0, 0)[0][0]["#code"], "USER_JOINED");
        let second = m.join(1, 0);
        assert_eq!(second[0].len(), 1);
        assert_eq!(second[1].len(), 1);
        let other_service = m.join(2, 0);
        assert_eq!(other_service.iter().map(Vec::len).sum::<usize>(), 1);
        let moved = m.join(0, 1);
        assert_eq!(moved[0][0]["#code"], "USER_LEFT");
        assert_eq!(moved[0][1]["#code"], "USER_JOINED");
        assert_eq!(moved[1][0]["#code"], "USER_LEFT");
        assert!(m.join(0, 1).iter().all(Vec::is_empty));
    }

    #[test]
    fn private_messages_reach_every_connection_of_the_recipient_and_echo_once() {
        let mut m = model();
        for c in [0, 1, 3] {
            m.connect(c);
        }
        let to_self = m.private(0, 0, &json!(1));
        assert_eq!(to_self[0].len(), 1);
        assert_eq!(to_self[3].len(), 1);
        let to_b = m.private(0, 1, &json!(0));
        assert_eq!((to_b[0].len(), to_b[1].len()), (1, 1));
        let across = m.private(0, 2, &json!("x"));
        assert!(across[0][0].get("#error").is_some());
        let outsider = m.broadcast(0, 0, &json!(null));
        assert!(outsider[0][0].get("#error").is_some());
    }
}
