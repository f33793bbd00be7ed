//! One realtime connection: reads client messages one at a time, answers each directly on the
//! socket, and writes the changes of its subscriptions from its outbox.
//!
//! Replies are written directly (not through the outbox) so that a subscribe reply always precedes
//! the pushes of changes made after its snapshot; pushes already queued for a subscription are
//! dropped when their change is not newer than what the client was last shown.
//! Inbound memory is bounded because the next frame is read only after the reply to the previous
//! one has been written; outbound memory by the outbox policy (close 1013 on overflow).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use crate::hub::{Delivery, Hub, SubId, Topic};
use crate::outbox::{Outbound, Outbox, OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON};
use crate::server::Shared;
use crate::ws::{self, close};
use axum::extract::ws::{Message, WebSocket};

use super::auth::Identity;
use super::protocol::{self, Action, ClientMessage, Malformed};
use super::resource::Resource;

struct Subscription {
    resource: Resource,
    topic: Topic,
    /// The newest change of the topic the client has been shown (the subscribe snapshot or a push).
    seen_seq: u64,
}

/// The subscriptions of one connection. Each subscribe of a resource not currently subscribed gets
/// a fresh id, so pushes queued for an earlier, since-unsubscribed subscription are recognised and
/// dropped.
struct Session {
    identity: Identity,
    hub: Arc<Hub>,
    outbox: Outbox,
    max_subscriptions: usize,
    by_resource: HashMap<Resource, SubId>,
    subscriptions: HashMap<SubId, Subscription>,
    /// Total length of the subscribed ids; each is held several times (by resource, by id, topic).
    subscribed_id_bytes: usize,
    next_sub: SubId,
}

/// The subscribed ids of one connection, in all: a KV key may be as long as a message, so the
/// number of subscriptions alone does not bound what a connection holds.
const MAX_SUBSCRIBED_ID_BYTES: usize = 4 << 20;

impl Session {
    /// Answers what the socket yielded: a reply, nothing, or the end of the connection.
    fn on_frame(&mut self, incoming: Option<Result<Message, axum::Error>>) -> Handled {
        match incoming {
            None => Handled::End(End::Gone),
            Some(Err(err)) => Handled::End(match ws::close_for_read_error(&err) {
                Some((code, reason)) => End::Close(code, reason.into()),
                None => End::Gone,
            }),
            Some(Ok(Message::Text(text))) => self.handle_text(text.as_str()),
            Some(Ok(Message::Binary(_))) => Handled::Reply(self.malformed(Malformed::Binary)),
            // Pings are answered by the WebSocket layer; after a close frame the next read
            // completes the closing handshake and returns `None`.
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_))) => Handled::Silent,
        }
    }

    /// Answers one text frame: a reply, nothing (an unsubscribe), or the end of the connection.
    fn handle_text(&mut self, text: &str) -> Handled {
        match protocol::parse(text) {
            Ok(ClientMessage {
                action: Action::Subscribe,
                resource,
            }) => self.subscribe(resource),
            Ok(ClientMessage {
                action: Action::Unsubscribe,
                resource,
            }) => {
                self.unsubscribe(&resource);
                Handled::Silent
            }
            Err(why) => Handled::Reply(self.malformed(why)),
        }
    }

    fn malformed(&self, why: Malformed) -> String {
        tracing::debug!(user = %self.identity.user, %why, "m2: malformed message");
        protocol::invalid_format()
    }

    fn subscribe(&mut self, resource: Resource) -> Handled {
        let topic = match resource.topic(&self.identity) {
            Ok(topic) => topic,
            Err(unavailable) => {
                tracing::debug!(user = %self.identity.user, %unavailable, "m2: subscribe refused");
                return Handled::Reply(protocol::invalid_format());
            }
        };
        let sub = match self.by_resource.get(&resource) {
            Some(&sub) => sub,
            // The only documented error text is about format, so a client past the limit is told
            // by a close frame instead.
            None if self.subscriptions.len() >= self.max_subscriptions => {
                return Handled::End(End::Close(
                    close::POLICY_VIOLATION,
                    format!("too many subscriptions (limit {})", self.max_subscriptions),
                ));
            }
            None if self.subscribed_id_bytes + resource.id().len() > MAX_SUBSCRIBED_ID_BYTES => {
                return Handled::End(End::Close(
                    close::POLICY_VIOLATION,
                    format!(
                        "too many subscriptions (ids of {MAX_SUBSCRIBED_ID_BYTES} bytes in all)"
                    ),
                ));
            }
            None => {
                self.subscribed_id_bytes += resource.id().len();
                self.next_sub += 1;
                self.next_sub
            }
        };
        // Subscribing again under the same id replaces the hub registration: no duplicate pushes.
        let snapshot = self.hub.subscribe(&topic, sub, &self.outbox);
        let reply = match &snapshot.value {
            Some(value) => protocol::success(
                &self.identity.user,
                &resource,
                value,
                snapshot.at.unwrap_or_else(SystemTime::now),
            ),
            None => protocol::not_found(&resource),
        };
        self.by_resource.insert(resource.clone(), sub);
        self.subscriptions.insert(
            sub,
            Subscription {
                resource,
                topic,
                seen_seq: snapshot.seq,
            },
        );
        Handled::Reply(reply)
    }

    /// Unsubscribing from something not subscribed is not an error: there is nothing to undo.
    fn unsubscribe(&mut self, resource: &Resource) {
        if let Some(sub) = self.by_resource.remove(resource) {
            self.subscribed_id_bytes = self.subscribed_id_bytes.saturating_sub(resource.id().len());
            if let Some(s) = self.subscriptions.remove(&sub) {
                self.hub.unsubscribe(&s.topic, self.outbox.conn(), sub);
            }
        }
    }

    fn unsubscribe_all(&mut self) {
        for (sub, s) in self.subscriptions.drain() {
            self.hub.unsubscribe(&s.topic, self.outbox.conn(), sub);
        }
        self.by_resource.clear();
    }

    /// The push for one delivery, unless it is stale or for a subscription that has ended.
    fn render(&mut self, delivery: &Delivery) -> Option<String> {
        let s = self.subscriptions.get_mut(&delivery.sub)?;
        let change = &delivery.change;
        if change.seq <= s.seen_seq {
            return None;
        }
        s.seen_seq = change.seq;
        // The body is the resource's new value, `null` after a deletion.
        Some(protocol::success(
            &self.identity.user,
            &s.resource,
            &change.body,
            change.at,
        ))
    }
}

enum Handled {
    Reply(String),
    Silent,
    End(End),
}

/// How the loop ended: with a close frame to send, or with the peer already gone.
enum End {
    Close(u16, String),
    Gone,
}

pub async fn run(
    mut socket: WebSocket,
    shared: Shared,
    identity: Identity,
    max_subscriptions: usize,
) {
    let limits = shared.config.limits.clone();
    let conn = shared.hub.next_conn_id();
    let (outbox, mut inbox) = Outbox::new(conn, limits.outbound_queue);
    tracing::info!(conn, user = %identity.user, org = %identity.organization, "m2: connected");
    let mut session = Session {
        identity,
        hub: shared.hub.clone(),
        outbox,
        max_subscriptions,
        by_resource: HashMap::new(),
        subscriptions: HashMap::new(),
        subscribed_id_bytes: 0,
        next_sub: 0,
    };
    let shutdown = shared.shutting_down();
    tokio::pin!(shutdown);
    let mut batch = Vec::with_capacity(limits.write_batch);
    let end = loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break End::Close(close::GOING_AWAY, "server shutting down".into()),
            more = inbox.recv_batch(&mut batch, limits.write_batch.max(1)) => {
                if !more {
                    break End::Gone;
                }
                if inbox.overflowed() {
                    break End::Close(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON.into());
                }
                match write_batch(&mut session, &mut socket, &batch).await {
                    Ok(None) => {}
                    Ok(Some(end)) => break end,
                    Err(()) => break End::Gone,
                }
            }
            incoming = socket.recv() => match session.on_frame(incoming) {
                Handled::Reply(reply) => {
                    // Bounded like every other write: a client that stops reading its replies
                    // does not hold this task forever.
                    if ws::write_all(&mut socket, [Message::text(reply)]).await.is_err() {
                        break End::Gone;
                    }
                }
                Handled::Silent => {}
                Handled::End(end) => break end,
            },
        }
    };
    if let End::Close(code, reason) = &end {
        ws::send_close(&mut socket, *code, reason).await;
    }
    session.unsubscribe_all();
    tracing::info!(conn, "m2: disconnected");
}

/// Writes one batch from the outbox; `Ok(Some(end))` when it holds a close order.
async fn write_batch(
    session: &mut Session,
    socket: &mut WebSocket,
    batch: &[Outbound],
) -> Result<Option<End>, ()> {
    let mut frames = Vec::with_capacity(batch.len());
    let mut end = None;
    for item in batch {
        match item {
            Outbound::Text(text) => frames.push(Message::text(text.as_ref())),
            Outbound::Delivery(delivery) => {
                if let Some(frame) = session.render(delivery) {
                    frames.push(Message::text(frame));
                }
            }
            Outbound::Close(code, reason) => {
                end = Some(End::Close(*code, reason.to_string()));
                break;
            }
        }
    }
    ws::write_all(socket, frames).await.map_err(|_| ())?;
    Ok(end)
}
