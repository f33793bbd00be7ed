//! GameVault activities: one activity per user, kept in the hub as the value of one topic and
//! broadcast to every connected socket through it.

pub mod model;
mod socket;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use super::socketio::Connection;
use crate::hub::{ChangeKind, ConnId, Decision, Hub, Topic};
use crate::outbox::Outbox;
use model::{Report, State};
pub use socket::{ActivitySocket, SocketContext};

/// The hub topic of the activity table: an object from user id (as a string) to activity.
pub const TOPIC: &str = "gamevault/activities";

/// The subscription id every socket uses for the activity topic (one per connection).
const SUBSCRIPTION: u64 = 1;

/// The activity table and who is connected.
pub struct Activities {
    hub: Arc<Hub>,
    topic: Topic,
    /// Connected sockets per user, to know when a user's last one goes.
    presence: Mutex<HashMap<u64, usize>>,
}

impl Activities {
    pub fn new(hub: Arc<Hub>) -> Activities {
        Activities {
            hub,
            topic: Topic::new(TOPIC),
            presence: Mutex::new(HashMap::new()),
        }
    }

    /// A socket of `user_id` joined: it counts for presence and receives every later change.
    /// Returns the activities current at that instant.
    fn join(&self, user_id: u64, outbox: &Outbox) -> Vec<Value> {
        *self.presence().entry(user_id).or_default() += 1;
        let snapshot = self.hub.subscribe(&self.topic, SUBSCRIPTION, outbox);
        listed(snapshot.value.as_ref())
    }

    /// The user reports an activity through `socket_id`; every socket is told. Returns it.
    fn set(&self, user_id: u64, socket_id: &str, report: Report) -> Value {
        let activity = model::activity(report.state, report.game_id, user_id, socket_id);
        let published = activity.clone();
        self.hub.update(&self.topic, |table| {
            let Value::Object(map) = table.get_or_insert_with(|| Value::Object(Map::new())) else {
                return Decision::Quiet;
            };
            map.insert(user_id.to_string(), published.clone());
            Decision::Publish(ChangeKind::Update, published)
        });
        activity
    }

    pub fn list(&self) -> Vec<Value> {
        listed(self.hub.get(&self.topic).as_ref())
    }

    /// The socket left. When it was its user's last one and the user had an activity, the
    /// activity goes and everyone is told the user is OFFLINE.
    fn leave(&self, user_id: u64, socket_id: &str, conn: ConnId) {
        self.hub.unsubscribe(&self.topic, conn, SUBSCRIPTION);
        // Counting down under the topic's lock makes "last socket gone" and "activity removed"
        // one step: a socket of the same user joining meanwhile sees either both or neither.
        self.hub.update(&self.topic, |table| {
            let last = {
                let mut presence = self.presence();
                match presence.get_mut(&user_id) {
                    Some(count) if *count > 1 => {
                        *count -= 1;
                        false
                    }
                    _ => {
                        presence.remove(&user_id);
                        true
                    }
                }
            };
            let Some(Value::Object(map)) = table else {
                return Decision::Quiet;
            };
            if !last || map.shift_remove(&user_id.to_string()).is_none() {
                return Decision::Quiet;
            }
            if map.is_empty() {
                *table = None;
            }
            let offline = model::activity(State::Offline, None, user_id, socket_id);
            Decision::Publish(ChangeKind::Delete, offline)
        });
    }

    fn presence(&self) -> std::sync::MutexGuard<'_, HashMap<u64, usize>> {
        self.presence.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn listed(table: Option<&Value>) -> Vec<Value> {
    match table {
        Some(Value::Object(map)) => map.values().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Builds the Socket.IO connection of each new Engine.IO session, with the user its handshake
/// headers name (or why they name none).
pub struct SocketFactory {
    pub context: Arc<SocketContext>,
    pub hub: Arc<Hub>,
    pub outbound_queue: usize,
    pub connect_timeout: Duration,
    pub max_payload: usize,
}

impl super::engineio::AppFactory for SocketFactory {
    type App = Connection<ActivitySocket>;

    fn create(&self, headers: &HeaderMap) -> Self::App {
        let handshake = self
            .context
            .policy
            .check_headers(headers, &self.context.users);
        let queue = Outbox::new(self.hub.next_conn_id(), self.outbound_queue);
        let socket = ActivitySocket::new(self.context.clone(), handshake, queue);
        Connection::new(socket, self.connect_timeout, self.max_payload)
    }
}
