//! One client's view of the activities: the Socket.IO handler of namespace `/`.

use std::future::Future;
use std::sync::Arc;

use serde_json::{json, Value};

use super::model::{self, GET_ACTIVITIES, SET_ACTIVITY};
use super::Activities;
use crate::gamevault::auth::{SecretPolicy, SecretRefusal};
use crate::gamevault::engineio::CloseReason;
use crate::gamevault::socketio::packet::MAIN_NAMESPACE;
use crate::gamevault::socketio::{ConnectRefusal, Emitter, Event, Handler};
use crate::gamevault::users::{User, Users};
use crate::outbox::{Inbox, Outbound, Outbox};

const ACTIVITY_EVENT: &str = "activity";
const ACTIVITIES_EVENT: &str = "activities";
const EXCEPTION_EVENT: &str = "exception";

/// What every socket of the server shares.
pub struct SocketContext {
    pub activities: Arc<Activities>,
    pub users: Arc<Users>,
    pub policy: SecretPolicy,
    /// Frames taken from the queue per wake-up.
    pub write_batch: usize,
    /// Answer events that carry an ack id with an ACK (Socket.IO's rule); GameVault never does.
    pub acknowledge_events: bool,
}

pub struct ActivitySocket {
    context: Arc<SocketContext>,
    /// The user the handshake headers named, or why they named none.
    handshake: Result<User, SecretRefusal>,
    /// Set once a CONNECT to `/` is accepted.
    member: Option<Member>,
    outbox: Outbox,
    inbox: Inbox,
}

struct Member {
    user: User,
    socket_id: String,
}

impl ActivitySocket {
    pub fn new(
        context: Arc<SocketContext>,
        handshake: Result<User, SecretRefusal>,
        (outbox, inbox): (Outbox, Inbox),
    ) -> ActivitySocket {
        ActivitySocket {
            context,
            handshake,
            member: None,
            outbox,
            inbox,
        }
    }

    /// Writes what the hub already delivered, so that a reply never overtakes a change made
    /// before it.
    fn drain(&mut self, out: &mut Emitter<'_>) -> Result<(), CloseReason> {
        while let Some(item) = self.inbox.try_recv() {
            render(item, out)?;
        }
        self.check_overflow()
    }

    fn check_overflow(&self) -> Result<(), CloseReason> {
        match self.inbox.overflowed() {
            true => Err(CloseReason::Overflow),
            false => Ok(()),
        }
    }
}

fn render(item: Outbound, out: &mut Emitter<'_>) -> Result<(), CloseReason> {
    match item {
        Outbound::Delivery(delivery) => {
            out.emit(
                MAIN_NAMESPACE,
                ACTIVITY_EVENT,
                [delivery.change.body.clone()],
            );
            Ok(())
        }
        Outbound::Text(text) => {
            out.raw(text.to_string());
            Ok(())
        }
        Outbound::Close(code, reason) => Err(CloseReason::Wire(code, reason.to_string().into())),
    }
}

/// The `exception` event GameVault answers a refused event with.
fn exception(message: &str, event: &Event) -> Value {
    let mut cause = json!({ "pattern": event.name });
    if let (Some(data), Value::Object(fields)) = (event.args.first(), &mut cause) {
        fields.insert("data".into(), data.clone());
    }
    json!({ "status": "error", "message": message, "cause": cause })
}

impl Handler for ActivitySocket {
    type Event = Vec<Outbound>;

    fn has_namespace(&self, namespace: &str) -> bool {
        namespace == MAIN_NAMESPACE
    }

    fn authorize(&mut self, _namespace: &str, auth: Option<&Value>) -> Result<(), ConnectRefusal> {
        let user = match &self.handshake {
            Ok(user) => Ok(user.clone()),
            Err(SecretRefusal::Missing) => self
                .context
                .policy
                .check_auth_payload(auth, &self.context.users),
            Err(SecretRefusal::Invalid) => Err(SecretRefusal::Invalid),
        };
        match user {
            Ok(user) => {
                self.member = Some(Member {
                    user,
                    socket_id: String::new(),
                });
                Ok(())
            }
            Err(refusal) => Err(ConnectRefusal {
                message: self.context.policy.message(&refusal),
            }),
        }
    }

    fn on_connect(&mut self, _namespace: &str, socket_id: &str, out: &mut Emitter<'_>) {
        let Some(member) = self.member.as_mut() else {
            return;
        };
        member.socket_id = socket_id.to_owned();
        let current = self.context.activities.join(member.user.id, &self.outbox);
        out.emit(MAIN_NAMESPACE, ACTIVITIES_EVENT, [Value::Array(current)]);
    }

    fn on_event(
        &mut self,
        _namespace: &str,
        _socket_id: &str,
        event: Event,
        out: &mut Emitter<'_>,
    ) -> Result<(), CloseReason> {
        self.drain(out)?;
        let Some(member) = self.member.as_ref() else {
            return Ok(());
        };
        let outcome = if !event.attachments.is_empty() {
            Err(format!(
                "{} does not take binary data; send the activity as JSON.",
                event.name
            ))
        } else {
            match event.name.as_str() {
                SET_ACTIVITY => model::parse_set_activity(&event.args).map(|report| {
                    self.context
                        .activities
                        .set(member.user.id, &member.socket_id, report)
                }),
                GET_ACTIVITIES => model::parse_get_activities(&event.args).map(|()| {
                    let current = Value::Array(self.context.activities.list());
                    out.emit(MAIN_NAMESPACE, ACTIVITIES_EVENT, [current.clone()]);
                    current
                }),
                other => Err(format!(
                    "Unknown event \"{other}\": this server handles {SET_ACTIVITY} and {GET_ACTIVITIES}."
                )),
            }
        };
        let reply = match outcome {
            Ok(result) => result,
            Err(message) => {
                let body = exception(&message, &event);
                out.emit(MAIN_NAMESPACE, EXCEPTION_EVENT, [body.clone()]);
                body
            }
        };
        if let (Some(id), true) = (event.ack_id, self.context.acknowledge_events) {
            // The sender's own broadcast goes out before the acknowledgement.
            self.drain(out)?;
            out.ack(MAIN_NAMESPACE, id, [reply]);
        }
        Ok(())
    }

    fn on_disconnect(&mut self, _namespace: &str, _socket_id: &str) {
        if let Some(member) = self.member.take() {
            self.context
                .activities
                .leave(member.user.id, &member.socket_id, self.outbox.conn());
        }
    }

    fn next_event(&mut self) -> impl Future<Output = Self::Event> + Send {
        let inbox = &mut self.inbox;
        let max = self.context.write_batch.max(1);
        async move {
            let mut batch = Vec::new();
            if !inbox.recv_batch(&mut batch, max).await {
                // Every sender is gone; this socket keeps one, so this does not happen.
                std::future::pending::<()>().await;
            }
            batch
        }
    }

    fn on_handler_event(
        &mut self,
        batch: Self::Event,
        out: &mut Emitter<'_>,
    ) -> Result<(), CloseReason> {
        for item in batch {
            render(item, out)?;
        }
        self.check_overflow()
    }
}
