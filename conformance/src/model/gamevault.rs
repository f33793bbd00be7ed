//! The gamevault model: one activity per user, broadcast to every connected socket, listed on connect and on
//! request, and (in the SHOULD case) announced as OFFLINE when a user's last socket goes.
//!
//! Readings followed (schemas/gamevault/NOTES.md): the last `set-activity` of any of a user's sockets is the
//! user's activity, with that socket's id (GV-ONE-PER-USER); `game_id` is kept for PLAYING only (GV-GAME-ID);
//! every socket gets each `activity`, the sender's included, and a new socket gets `activities` first
//! (GV-BROADCAST-SCOPE); only users with an activity are listed, in no documented order; when a user's last
//! socket goes and the user had an activity, the rest get OFFLINE with the id of the socket that went
//! (GV-OFFLINE). User ids are the server's and are bound on first sight; socket ids are the `sid` of each
//! socket's CONNECT.
//! Activities are global to the server, so each sequence starts only once no activity is listed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::SBoxedStrategy;
use serde_json::{json, Map, Value};

use super::expect;
use super::explore::{Failure, Verdict};
use super::session::{Rules, Session};
use super::{
    check_model, push, quiet, run_sequence, Model, Sequence, Step, StepFuture, MAX_CLIENTS,
};
use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::gamevault::SioConn;
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::profile::Profile;

/// The credential sets the model's users come from.
pub const USERS: [&str; 2] = ["primary", "secondary"];

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "gamevault.model.activities",
            profile: Profile::Gamevault,
            level: Level::Must,
            title: "Generated connect/set-activity/get-activities sequences over several sockets of two users: \
                    every socket receives each reported activity, one activity per user, listed on connect and \
                    on request",
            reference: Reference {
                source: sources::GAMEVAULT_SEED,
                quote: "Once a user reports his activity, it will propagate to all other users.",
            },
            kind: Kind::Model,
            requires: &[Need::Credential("primary"), Need::Credential("secondary")],
            run: |ctx| Box::pin(run(ctx, false)),
        },
        Case {
            id: "gamevault.model.offline",
            profile: Profile::Gamevault,
            level: Level::Should,
            title: "As gamevault.model.activities, with disconnects: when a user's last socket goes, the others \
                    receive that user's OFFLINE activity and the user is no longer listed",
            reference: Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "the reference server should broadcast an OFFLINE activity (or the removal) when a user's last socket goes.",
            },
            kind: Kind::Model,
            requires: &[Need::Credential("primary"), Need::Credential("secondary")],
            run: |ctx| Box::pin(run(ctx, true)),
        },
    ]
}

/// A state a client reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Online,
    Busy,
    Playing,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Online => "ONLINE",
            State::Busy => "BUSY",
            State::Playing => "PLAYING",
        }
    }
}

/// One operation of a gamevault sequence.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Connect {
        client: usize,
    },
    /// `set-activity`; `game` is sent as `game_id` (plus one) with PLAYING, and with the others when
    /// `with_game` (the server then drops it).
    SetActivity {
        client: usize,
        state: State,
        game: u16,
        with_game: bool,
    },
    GetActivities {
        client: usize,
    },
    Disconnect {
        client: usize,
    },
}

impl Step for Op {
    fn client(&self) -> Option<usize> {
        match self {
            Op::Connect { client }
            | Op::SetActivity { client, .. }
            | Op::GetActivities { client }
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

/// Operations over [`MAX_CLIENTS`] clients; disconnects only when `offline` is modelled.
pub fn operations(offline: bool) -> SBoxedStrategy<Op> {
    let client = 0..MAX_CLIENTS;
    let state = prop_oneof![Just(State::Online), Just(State::Busy), Just(State::Playing)];
    let mut choices = vec![
        (
            5,
            (client.clone(), state, 0u16..5, any::<bool>())
                .prop_map(|(client, state, game, with_game)| Op::SetActivity {
                    client,
                    state,
                    game,
                    with_game,
                })
                .sboxed(),
        ),
        (
            2,
            client
                .clone()
                .prop_map(|client| Op::GetActivities { client })
                .sboxed(),
        ),
    ];
    if offline {
        choices.push((
            2,
            client.prop_map(|client| Op::Disconnect { client }).sboxed(),
        ));
    }
    proptest::strategy::Union::new_weighted(choices).sboxed()
}

#[derive(Debug, Clone)]
struct Activity {
    state: State,
    game_id: Option<u32>,
    socket: String,
}

/// The pure model: connected sockets and each user's activity.
#[derive(Debug, Clone, Default)]
pub struct GamevaultModel {
    /// The user of each client.
    pub clients: Vec<usize>,
    pub labels: Vec<String>,
    /// Connected clients and their socket ids.
    sockets: BTreeMap<usize, String>,
    activities: BTreeMap<usize, Activity>,
}

impl GamevaultModel {
    fn user_of(&self, client: usize) -> usize {
        self.clients.get(client).copied().unwrap_or(0)
    }

    fn user_id(&self, user: usize) -> Value {
        expect::bind(format!(
            "user id of {}",
            self.labels.get(user).map_or("?", String::as_str)
        ))
    }

    fn activity(&self, user: usize, activity: &Activity) -> Value {
        let mut map = Map::new();
        map.insert("state".into(), json!(activity.state.name()));
        if let Some(game) = activity.game_id {
            map.insert("game_id".into(), json!(game));
        }
        map.insert("user_id".into(), self.user_id(user));
        map.insert("socket_id".into(), json!(activity.socket));
        Value::Object(map)
    }

    fn list(&self) -> Value {
        json!([
            "activities",
            expect::set(
                self.activities
                    .iter()
                    .map(|(user, activity)| self.activity(*user, activity))
                    .collect()
            )
        ])
    }

    /// A socket connected with CONNECT id `sid`; it receives the list.
    pub fn connect(&mut self, client: usize, sid: String) -> Vec<Vec<Value>> {
        self.sockets.insert(client, sid);
        let mut expected = Vec::new();
        push(&mut expected, client, self.list());
        expected
    }

    pub fn set_activity(&mut self, client: usize, state: State, game: u16) -> Vec<Vec<Value>> {
        let Some(socket) = self.sockets.get(&client).cloned() else {
            return Vec::new();
        };
        let user = self.user_of(client);
        let activity = Activity {
            state,
            game_id: (state == State::Playing).then_some(u32::from(game) + 1),
            socket,
        };
        let frame = json!(["activity", self.activity(user, &activity)]);
        self.activities.insert(user, activity);
        let mut expected = Vec::new();
        for receiver in self.sockets.keys() {
            push(&mut expected, *receiver, frame.clone());
        }
        expected
    }

    pub fn get_activities(&self, client: usize) -> Vec<Vec<Value>> {
        let mut expected = Vec::new();
        push(&mut expected, client, self.list());
        expected
    }

    pub fn disconnect(&mut self, client: usize) -> Vec<Vec<Value>> {
        let mut expected = Vec::new();
        let Some(gone) = self.sockets.remove(&client) else {
            return expected;
        };
        let user = self.user_of(client);
        let last = !self.sockets.keys().any(|c| self.user_of(*c) == user);
        if last && self.activities.remove(&user).is_some() {
            let frame = json!(["activity", {
                "state": "OFFLINE",
                "user_id": self.user_id(user),
                "socket_id": gone,
            }]);
            for receiver in self.sockets.keys() {
                push(&mut expected, *receiver, frame.clone());
            }
        }
        expected
    }
}

struct Run {
    model: GamevaultModel,
}

impl Run {
    fn client(&self, client: usize) -> String {
        let user = self.model.user_of(client);
        format!(
            "c{client}/{}",
            self.model.labels.get(user).map_or("?", String::as_str)
        )
    }
}

impl Model for Run {
    type Op = Op;
    type Client = SioConn;

    fn describe(&self, op: &Op) -> String {
        match op {
            Op::Connect { client } => format!("{} connects", self.client(*client)),
            Op::SetActivity {
                client,
                state,
                game,
                with_game,
            } => {
                let game = if *state == State::Playing || *with_game {
                    format!(" with game_id {}", u32::from(*game) + 1)
                } else {
                    String::new()
                };
                format!(
                    "{} sets activity {}{game}",
                    self.client(*client),
                    state.name()
                )
            }
            Op::GetActivities { client } => {
                format!("{} asks for the activities", self.client(*client))
            }
            Op::Disconnect { client } => format!("{} disconnects", self.client(*client)),
        }
    }

    fn perform<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        session: &'a mut Session<SioConn>,
        op: &'a Op,
        _step: usize,
    ) -> StepFuture<'a> {
        Box::pin(async move {
            let Some(client) = op.client() else {
                return Ok(None);
            };
            if let Op::Connect { .. } = op {
                let user = self.model.user_of(client);
                let conn = ctx
                    .gamevault()
                    .connect(USERS[user.min(USERS.len() - 1)])
                    .await?;
                let sid = conn
                    .sid
                    .clone()
                    .ok_or_else(|| CaseError::fail("the CONNECT reply carries no sid"))?;
                let slot = &mut session.slots[client];
                slot.conn = Some(conn);
                slot.connections += 1;
                return Ok(Some(self.model.connect(client, sid)));
            }
            let Some(slot) = session.slots.get_mut(client) else {
                return Ok(None);
            };
            if let Op::Disconnect { .. } = op {
                let Some(conn) = slot.conn.take() else {
                    return Ok(None);
                };
                conn.conn.close().await;
                return Ok(Some(self.model.disconnect(client)));
            }
            let Some(conn) = slot.conn.as_ref() else {
                return Ok(None);
            };
            let expected = match *op {
                Op::SetActivity {
                    state,
                    game,
                    with_game,
                    ..
                } => {
                    let mut activity = json!({"state": state.name()});
                    if state == State::Playing || with_game {
                        activity["game_id"] = json!(u32::from(game) + 1);
                    }
                    conn.emit("set-activity", &[activity]).await?;
                    self.model.set_activity(client, state, game)
                }
                Op::GetActivities { .. } => {
                    conn.emit("get-activities", &[]).await?;
                    self.model.get_activities(client)
                }
                Op::Connect { .. } | Op::Disconnect { .. } => Vec::new(),
            };
            Ok(Some(expected))
        })
    }
}

/// Waits until a fresh socket sees no activity listed (sockets of earlier sequences and cases are gone);
/// returns the list it last saw when that does not happen within the target's `wait`.
async fn settle(ctx: &Ctx) -> Result<(), Value> {
    let deadline = Instant::now() + ctx.wait();
    let mut last = Value::Null;
    while Instant::now() < deadline {
        let probe = async {
            let mut conn = ctx.gamevault().connect(USERS[0]).await?;
            let frame = conn
                .expect(Pattern::event("activities"), ctx.wait())
                .await?;
            conn.conn.close().await;
            Ok::<Value, CaseError>(frame.event_args().first().cloned().unwrap_or(Value::Null))
        };
        match probe.await {
            Ok(Value::Array(list)) if list.is_empty() => return Ok(()),
            Ok(list) => last = list,
            Err(e) => last = Value::String(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(last)
}

async fn run(ctx: Ctx, offline: bool) -> CaseResult {
    let mut labels = Vec::new();
    for name in USERS {
        labels.push(ctx.credential(name).await?.label().to_owned());
    }
    check_model(&ctx, USERS.len(), operations(offline), |_, steps| steps, |sequence: Sequence<Op>| {
        let ctx = ctx.clone();
        let labels = labels.clone();
        async move {
            if let Err(listed) = settle(&ctx).await {
                return Ok(Verdict::Fail(Failure::new(
                    format!(
                        "before the sequence, a new socket still lists activities after every earlier socket \
                         closed: {listed}"
                    ),
                    String::new(),
                )));
            }
            let model = GamevaultModel {
                clients: sequence.users.clone(),
                labels: labels.clone(),
                ..GamevaultModel::default()
            };
            let mut session =
                Session::new(&sequence.users, &labels, Rules::ordered(), ctx.wait(), quiet(&ctx));
            let verdict = run_sequence(&ctx, Run { model }, &mut session, &sequence.steps).await;
            // Closed politely, so the server has let every socket go before the next sequence settles.
            for slot in &mut session.slots {
                if let Some(conn) = slot.conn.take() {
                    conn.conn.close().await;
                }
            }
            verdict
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> GamevaultModel {
        GamevaultModel {
            clients: vec![0, 0, 1],
            labels: vec!["alice".into(), "bob".into()],
            ..GamevaultModel::default()
        }
    }

    #[test]
    fn one_activity_per_user_broadcast_to_every_socket() {
        let mut m = model();
        m.connect(0, "A".into());
        m.connect(1, "B".into());
        m.connect(2, "C".into());
        let set = m.set_activity(0, State::Playing, 2);
        assert_eq!(set.iter().map(Vec::len).sum::<usize>(), 3);
        assert_eq!(set[2][0][1]["game_id"], 3);
        assert_eq!(set[2][0][1]["socket_id"], "A");
        let replaced = m.set_activity(1, State::Busy, 2);
        assert!(replaced[0][0][1].get("game_id").is_none());
        let list = m.get_activities(2);
        assert_eq!(list[2][0][1]["$set"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn offline_is_announced_when_the_last_socket_goes() {
        let mut m = model();
        m.connect(0, "A".into());
        m.connect(1, "B".into());
        m.connect(2, "C".into());
        m.set_activity(0, State::Online, 0);
        assert!(m.disconnect(1).iter().all(Vec::is_empty));
        let gone = m.disconnect(0);
        assert_eq!(gone[2][0][1]["state"], "OFFLINE");
        assert_eq!(gone[2][0][1]["socket_id"], "A");
        assert_eq!(m.get_activities(2)[2][0][1]["$set"], json!([]));
    }
}
