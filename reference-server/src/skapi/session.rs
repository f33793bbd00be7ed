//! One realtime connection: reads client frames, acts on them, and writes what its outbox receives.
//!
//! Every frame this connection writes passes through its own outbox (group deliveries, private
//! messages, relayed signals, its own `#error` answers and echoes), so they leave in the order they
//! were produced and one writer batches them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures_util::SinkExt;
use tokio::time::Instant;

use crate::hub::{ConnId, Delivery, Hub, SubId};
use crate::outbox::{Outbound, Outbox, OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON};
use crate::ws::{self, close};

use super::auth::{self, AuthError, Identity};
use super::groups::{self, Membership};
use super::inbound::{self, ClientFrame, FrameError};
use super::lifetime::{Expiry, Lifetime};
use super::outbound::{self, NoticeCode, Origin};
use super::Skapi;

/// The subscription of the user's private inbox; group memberships use 1, 2, 3, … .
const INBOX_SUB: SubId = 0;

/// Why a client frame was refused; the text is the `#error` answer.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("Not a member of group \"{0}\"; join it before broadcasting.")]
    NotInGroup(String),
    #[error("Recipient is not connected.")]
    RecipientNotConnected,
    #[error("Connection \"cid:{0}\" is not connected.")]
    ConnectionNotConnected(String),
}

/// How the read/write loop ended.
enum End {
    /// The client sent a close frame; the reply is flushed.
    ClosedByPeer,
    /// The transport is gone.
    Lost,
    /// The server closes with this code and reason.
    Close(u16, &'static str),
}

struct Session {
    skapi: Arc<Skapi>,
    me: Identity,
    cid: Arc<str>,
    conn: ConnId,
    outbox: Outbox,
    membership: Option<Membership>,
    /// Subscriptions of groups left, with the sequence number of their last frame for this connection.
    retired: HashMap<SubId, u64>,
    next_sub: SubId,
}

/// A connection registered before its 101 is sent, so a message addressed to it in the moment
/// between the upgrade and the session's start is queued, not lost (the real service, too,
/// registers a connection before accepting it). Dropped without [`run`], it unregisters itself.
pub struct Registration {
    skapi: Arc<Skapi>,
    me: Identity,
    cid: Arc<str>,
    conn: ConnId,
    outbox: Outbox,
    inbox: Option<crate::outbox::Inbox>,
}

impl Registration {
    pub fn new(skapi: Arc<Skapi>, me: Identity) -> Registration {
        let conn = skapi.hub().next_conn_id();
        let (outbox, inbox) = Outbox::new(conn, skapi.shared.config.limits.outbound_queue);
        let cid = skapi.registry.register(&me.service, outbox.clone());
        skapi.hub().subscribe(
            &groups::inbox_topic(&me.service, &me.user_id),
            INBOX_SUB,
            &outbox,
        );
        Registration {
            skapi,
            me,
            cid,
            conn,
            outbox,
            inbox: Some(inbox),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Still holding the inbox means the session never started: the upgrade failed.
        if self.inbox.is_some() {
            self.skapi.hub().unsubscribe(
                &groups::inbox_topic(&self.me.service, &self.me.user_id),
                self.conn,
                INBOX_SUB,
            );
            self.skapi.registry.unregister(&self.me.service, &self.cid);
        }
    }
}

pub async fn run(mut registration: Registration, mut socket: WebSocket) {
    let Some(mut inbox) = registration.inbox.take() else {
        return;
    };
    let Registration {
        ref skapi,
        ref me,
        ref cid,
        conn,
        ref outbox,
        ..
    } = registration;
    tracing::info!(service = %me.service, user = %me.user_id, %cid, "skapi connection opened");
    let mut session = Session {
        skapi: skapi.clone(),
        me: me.clone(),
        cid: cid.clone(),
        conn,
        outbox: outbox.clone(),
        membership: None,
        retired: HashMap::new(),
        next_sub: INBOX_SUB + 1,
    };
    let end = session.serve(&mut socket, &mut inbox).await;
    session.finish();
    match end {
        End::ClosedByPeer => {
            // Bounded: a peer may close and stop reading before our reply leaves.
            let _ = tokio::time::timeout(ws::CLOSE_WRITE_TIMEOUT, socket.flush()).await;
        }
        End::Lost => {}
        End::Close(code, reason) => ws::send_close(&mut socket, code, reason).await,
    }
}

impl Session {
    fn hub(&self) -> &Hub {
        self.skapi.hub()
    }

    fn origin(&self) -> Origin<'_> {
        Origin {
            user_id: &self.me.user_id,
            cid: &self.cid,
        }
    }

    async fn serve(&mut self, socket: &mut WebSocket, inbox: &mut crate::outbox::Inbox) -> End {
        let config = self.skapi.config();
        let mut lifetime = Lifetime::new(
            Instant::now(),
            config.idle_timeout,
            config.max_connection_age,
        );
        let write_batch = self.skapi.shared.config.limits.write_batch.max(1);
        let shared = self.skapi.shared.clone();
        let shutdown = shared.shutting_down();
        tokio::pin!(shutdown);
        let mut batch = Vec::with_capacity(write_batch);
        loop {
            if inbox.overflowed() {
                return End::Close(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON);
            }
            // Unbiased: a busy inbox must not starve reading, nor a chatty client starve writing.
            tokio::select! {
                () = &mut shutdown => return End::Close(close::GOING_AWAY, "server shutting down"),
                expiry = expire(lifetime.deadline()) => {
                    return End::Close(close::GOING_AWAY, expiry.close_reason());
                }
                open = inbox.recv_batch(&mut batch, write_batch) => {
                    if !open || inbox.overflowed() {
                        return End::Close(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON);
                    }
                    let mut frames = Vec::with_capacity(batch.len());
                    let mut close_with = None;
                    for item in batch.drain(..) {
                        match item {
                            Outbound::Text(text) => frames.push(Message::text(&*text)),
                            Outbound::Delivery(delivery) => {
                                if let Some(text) = self.shown(&delivery) {
                                    frames.push(Message::text(text));
                                }
                            }
                            Outbound::Close(code, reason) => {
                                close_with = Some((code, reason));
                                break;
                            }
                        }
                    }
                    if ws::write_all(socket, frames).await.is_err() {
                        return End::Lost;
                    }
                    if let Some((code, reason)) = close_with {
                        ws::send_close(socket, code, &reason).await;
                        return End::Lost;
                    }
                }
                incoming = socket.recv() => match incoming {
                    None => return End::Lost,
                    Some(Err(err)) => {
                        return match ws::close_for_read_error(&err) {
                            Some((code, reason)) => End::Close(code, reason),
                            None => End::Lost,
                        };
                    }
                    Some(Ok(message)) => {
                        lifetime.touch(Instant::now());
                        match message {
                            Message::Text(text) => self.on_text(text.as_str()),
                            Message::Binary(_) => self.refuse(&Refusal::Frame(FrameError::Binary)),
                            Message::Ping(_) | Message::Pong(_) => {}
                            Message::Close(_) => return End::ClosedByPeer,
                        }
                    }
                },
            }
        }
    }

    /// The text of a group or inbox delivery, if this connection is to show it: group frames from its
    /// own USER_JOINED up to its own USER_LEFT, nothing of a group before or after.
    fn shown<'d>(&mut self, delivery: &'d Delivery) -> Option<&'d str> {
        let seq = delivery.change.seq;
        let show = if delivery.sub == INBOX_SUB {
            true
        } else if let Some(current) = self.membership.as_ref().filter(|m| m.sub == delivery.sub) {
            seq >= current.joined_seq
        } else if let Some(&last) = self.retired.get(&delivery.sub) {
            if seq >= last {
                self.retired.remove(&delivery.sub);
            }
            seq <= last
        } else {
            false
        };
        if show {
            delivery.change.body.as_str()
        } else {
            None
        }
    }

    fn on_text(&mut self, text: &str) {
        let result = inbound::parse(text)
            .map_err(Refusal::from)
            .and_then(|frame| self.act(frame));
        if let Err(refusal) = result {
            self.refuse(&refusal);
        }
    }

    fn refuse(&self, refusal: &Refusal) {
        tracing::debug!(cid = %self.cid, %refusal, "skapi frame refused");
        self.outbox.text(outbound::error(&refusal.to_string()));
    }

    fn act(&mut self, frame: ClientFrame) -> Result<(), Refusal> {
        let config = self.skapi.config();
        match frame {
            ClientFrame::KeepAlive => Ok(()),
            ClientFrame::JoinRoom { rid, token } => {
                auth::verify_frame_access(config, &token, &self.me)?;
                self.move_to(rid.as_deref());
                Ok(())
            }
            ClientFrame::Broadcast {
                rid,
                content,
                token,
            } => {
                auth::verify_frame_identity(config, &token, &self.me)?;
                let membership = self
                    .membership
                    .as_ref()
                    .filter(|m| *m.rid == *rid)
                    .ok_or(Refusal::NotInGroup(rid))?;
                let frame = outbound::message(&content, self.origin(), &membership.rid);
                groups::broadcast(self.hub(), membership, &frame);
                Ok(())
            }
            ClientFrame::SendMessage {
                uid,
                content,
                token,
            } => {
                auth::verify_frame_identity(config, &token, &self.me)?;
                let frame = outbound::private(&content, self.origin());
                if !groups::send_private(self.hub(), &self.me.service, &uid, &frame) {
                    return Err(Refusal::RecipientNotConnected);
                }
                // A message to oneself already reached this connection through its own inbox.
                if !uid.eq_ignore_ascii_case(&self.me.user_id) {
                    self.outbox.text(frame);
                }
                Ok(())
            }
            ClientFrame::Rtc {
                target,
                content,
                token,
            } => {
                auth::verify_frame_access(config, &token, &self.me)?;
                let target_outbox = self
                    .skapi
                    .registry
                    .outbox(&self.me.service, &target)
                    .ok_or(Refusal::ConnectionNotConnected(target))?;
                target_outbox.text(outbound::rtc(&content, self.origin()));
                Ok(())
            }
        }
    }

    /// Leaves the current group (USER_LEFT) and joins `rid` (USER_JOINED); joining the group the
    /// connection is already in changes nothing.
    fn move_to(&mut self, rid: Option<&str>) {
        if self.membership.as_ref().map(|m| &*m.rid) == rid {
            return;
        }
        self.leave(NoticeCode::Left);
        if let Some(rid) = rid {
            let sub = self.next_sub;
            self.next_sub += 1;
            let membership = groups::join(
                self.hub(),
                &self.me.service,
                rid,
                self.origin(),
                &self.outbox,
                sub,
            );
            self.membership = Some(membership);
        }
    }

    fn leave(&mut self, code: NoticeCode) {
        if let Some(membership) = self.membership.take() {
            let last = groups::leave(self.hub(), &membership, self.origin(), self.conn, code);
            self.retired.insert(membership.sub, last);
        }
    }

    /// Removes every trace of the connection: others in its group see USER_DISCONNECTED.
    fn finish(&mut self) {
        self.leave(NoticeCode::Disconnected);
        self.hub().unsubscribe(
            &groups::inbox_topic(&self.me.service, &self.me.user_id),
            self.conn,
            INBOX_SUB,
        );
        self.skapi.registry.unregister(&self.me.service, &self.cid);
        tracing::debug!(service = %self.me.service, cid = %self.cid, "skapi connection closed");
    }
}

/// Resolves at the lifetime's next deadline; never when there is none.
async fn expire(deadline: Option<(Instant, Expiry)>) -> Expiry {
    match deadline {
        Some((at, expiry)) => {
            tokio::time::sleep_until(at).await;
            expiry
        }
        None => std::future::pending().await,
    }
}
