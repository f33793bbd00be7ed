//! One WebSocket connection: the auth handshake, messages, subscriptions, heartbeat, token expiry.
//!
//! A single task owns the socket. It waits on the socket, on the connection's outbox (subscription
//! changes published by the hub), on its next timer, and on server shutdown. Replies to the client's
//! own messages are written directly, in order; changes are rendered per subscription when written.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::ws::{Message, WebSocket};
use serde_json::Value;
use tokio::time::Instant;

use crate::directus::auth::Verified;
use crate::directus::config::AuthMode;
use crate::directus::error::DirectusError;
use crate::directus::schema::{is_system_collection, Accountability, Action};
use crate::directus::state::Directus;
use crate::directus::system;
use crate::directus::table::{self, Table};
use crate::hub::{ConnId, Topic};
use crate::outbox::{Outbound, Outbox, OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON};
use crate::ws::{self as wsutil, close};

use super::frames;
use super::items;
use super::message::{uid_text, Credentials, Envelope, EnvelopeError, SubscribeRequest};
use super::subscriptions::{init_frame, render, Subscription, Subscriptions};
use super::timers::{Beat, Heartbeat, RateLimit};

/// How long a closing connection waits for the peer's close frame before dropping the TCP stream.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// The uids, items and queries (as JSON text) of one connection's subscriptions, in all: each is
/// kept for the life of its subscription and may be as long as a message, so their number alone
/// does not bound what a connection holds.
const MAX_HELD_BYTES_PER_CONNECTION: usize = 4 << 20;

/// How a connection begins.
pub enum Start {
    /// A token came with the upgrade request.
    Authenticated(Verified),
    /// Public mode without a token: the public role until an `auth` message.
    Public,
    /// Handshake mode: the first message must authenticate.
    Handshake,
}

/// What the loop does after handling one event.
enum Flow {
    Continue,
    /// Close with this status, or with none at all (`None`), as the real server's bare `close()`.
    Close(Option<(u16, String)>),
    /// The peer is gone.
    Gone,
}

enum Phase {
    Handshake { deadline: Instant },
    Open,
}

/// The identity an `auth` message established.
struct Authenticated {
    verified: Verified,
    refresh_token: Option<String>,
}

struct Session {
    state: Arc<Directus>,
    conn: ConnId,
    outbox: Outbox,
    who: Accountability,
    phase: Phase,
    token_expiry: Option<Instant>,
    reauth_deadline: Option<Instant>,
    heartbeat: Option<Heartbeat>,
    rate: Option<RateLimit>,
    subscriptions: Subscriptions,
    /// Frames to write once the current event is handled.
    pending: Vec<String>,
    /// Outbox items taken but not yet rendered: one change may render into many frames per
    /// subscription, so rendering pauses whenever a write's worth of frames is pending.
    unrendered: VecDeque<Outbound>,
    /// Frames rendered per write at most (`limits.write_batch`).
    write_batch: usize,
}

pub async fn run(mut socket: WebSocket, state: Arc<Directus>, start: Start) {
    let limits = state.limits.clone();
    let conn = state.hub.next_conn_id();
    let (outbox, mut inbox) = Outbox::new(conn, limits.outbound_queue);
    let now = Instant::now();
    let mut session = Session {
        conn,
        outbox,
        who: Accountability::Public,
        phase: Phase::Open,
        token_expiry: None,
        reauth_deadline: None,
        heartbeat: None,
        rate: state
            .config
            .rate_limit
            .as_ref()
            .map(|r| RateLimit::new(r.points, r.duration, now)),
        subscriptions: Subscriptions::default(),
        pending: Vec::new(),
        unrendered: VecDeque::new(),
        write_batch: limits.write_batch.max(1),
        state: state.clone(),
    };
    match start {
        Start::Authenticated(verified) => session.open(verified, now),
        Start::Public => session.open_public(now),
        Start::Handshake => {
            session.phase = Phase::Handshake {
                deadline: now + state.config.auth_timeout,
            }
        }
    }
    tracing::debug!(conn, "directus: connected");

    let shutdown = state.shared.shutting_down();
    tokio::pin!(shutdown);
    let write_batch = limits.write_batch.max(1);
    let mut batch = Vec::with_capacity(write_batch);
    let end = loop {
        let deadline = session.next_deadline();
        let flow = if !session.unrendered.is_empty() {
            session.deliver()
        } else {
            tokio::select! {
            biased;
            () = &mut shutdown => Flow::Close(Some((close::GOING_AWAY, "server shutting down".into()))),
            more = inbox.recv_batch(&mut batch, write_batch) => {
                if !more {
                    Flow::Gone
                } else if inbox.overflowed() {
                    Flow::Close(Some((OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON.into())))
                } else {
                    session.unrendered.extend(batch.drain(..));
                    session.deliver()
                }
            }
            incoming = socket.recv() => match incoming {
                None => Flow::Gone,
                Some(Err(err)) => match wsutil::close_for_read_error(&err) {
                    Some((code, reason)) => Flow::Close(Some((code, reason.into()))),
                    None => Flow::Gone,
                },
                Some(Ok(message)) => session.on_message(message),
            },
            () = sleep_until(deadline) => session.on_timer(Instant::now()),
            }
        };
        if !session.pending.is_empty() {
            let frames = session.pending.drain(..).map(Message::text);
            if wsutil::write_all(&mut socket, frames).await.is_err() {
                break Flow::Gone;
            }
        }
        if !matches!(flow, Flow::Continue) {
            break flow;
        }
    };
    if let Flow::Close(status) = end {
        let frame = match status {
            Some((code, reason)) => wsutil::close_frame(code, &reason),
            None => Message::Close(None),
        };
        // Bounded: the peer being closed may be one that stopped reading.
        let sent = tokio::time::timeout(wsutil::CLOSE_WRITE_TIMEOUT, socket.send(frame)).await;
        if matches!(sent, Ok(Ok(()))) {
            linger(&mut socket).await;
        }
    }
    session.unsubscribe_all();
    tracing::debug!(conn, "directus: disconnected");
}

/// Reads until the peer answers our close frame (or a short while passes), so it sees a clean close.
async fn linger(socket: &mut WebSocket) {
    let drain = async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_LINGER, drain).await;
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn instant_of(at: SystemTime) -> Instant {
    let left = at
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Instant::now() + left
}

impl Session {
    fn mode(&self) -> AuthMode {
        self.state.config.auth_mode
    }

    fn open(&mut self, verified: Verified, now: Instant) {
        self.who = verified.who;
        self.token_expiry = verified.expires_at.map(instant_of);
        self.open_public(now);
    }

    fn open_public(&mut self, now: Instant) {
        self.phase = Phase::Open;
        self.heartbeat = Heartbeat::start(self.state.config.heartbeat_period, now);
    }

    fn next_deadline(&self) -> Option<Instant> {
        let handshake = match self.phase {
            Phase::Handshake { deadline } => Some(deadline),
            Phase::Open => None,
        };
        [
            handshake,
            self.token_expiry,
            self.reauth_deadline,
            self.heartbeat.as_ref().map(Heartbeat::deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_timer(&mut self, now: Instant) -> Flow {
        if let Phase::Handshake { deadline } = self.phase {
            if now >= deadline {
                return self.fail_handshake();
            }
        }
        if self.token_expiry.is_some_and(|at| now >= at) {
            // The socket stays open but acts as the public role until it re-authenticates.
            self.token_expiry = None;
            self.who = Accountability::Public;
            self.pending.push(frames::token_expired());
            self.reauth_deadline = Some(now + self.state.config.auth_timeout);
        }
        if self.reauth_deadline.is_some_and(|at| now >= at) {
            self.reauth_deadline = None;
            self.pending.push(frames::auth_timeout());
            if self.mode() != AuthMode::Public {
                return Flow::Close(None);
            }
        }
        if let Some(heartbeat) = &mut self.heartbeat {
            match heartbeat.tick(now) {
                Beat::Wait => {}
                Beat::SendPing => self.pending.push(frames::ping()),
                Beat::Close => return Flow::Close(None),
            }
        }
        Flow::Continue
    }

    fn fail_handshake(&mut self) -> Flow {
        self.pending.push(frames::handshake_failed());
        Flow::Close(None)
    }

    fn on_message(&mut self, message: Message) -> Flow {
        match message {
            Message::Text(text) => self.on_text(text.as_str()),
            // Binary frames are read as UTF-8 text; invalid bytes become U+FFFD, as on the real server.
            Message::Binary(bytes) => self.on_text(&String::from_utf8_lossy(&bytes)),
            // The WebSocket layer answers pings; after a close frame the next read ends the loop.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Flow::Continue,
        }
    }

    fn on_text(&mut self, text: &str) -> Flow {
        if let Phase::Handshake { .. } = self.phase {
            return self.on_handshake(text);
        }
        if let Some(rate) = &mut self.rate {
            if let Err(wait) = rate.consume(Instant::now()) {
                self.pending.push(frames::rate_limited(wait.as_millis()));
                return Flow::Continue;
            }
        }
        let envelope = match Envelope::parse(text) {
            Ok(envelope) => envelope,
            Err(EnvelopeError::Unparsable) => {
                self.pending.push(frames::unparsable());
                return Flow::Continue;
            }
            Err(EnvelopeError::Invalid(message)) => {
                self.pending
                    .push(frames::error("server", "INVALID_PAYLOAD", &message, None));
                return Flow::Continue;
            }
        };
        if let Some(heartbeat) = &mut self.heartbeat {
            heartbeat.message_received();
        }
        match envelope.kind.as_str() {
            "auth" => return self.on_auth(&envelope),
            "ping" => self.pending.push(frames::pong(envelope.uid.as_ref())),
            "subscribe" => self.on_subscribe(&envelope),
            "unsubscribe" => self.on_unsubscribe(&envelope),
            "items" => {
                let reply = items::handle(&self.state, &self.who, &envelope);
                self.pending.push(reply);
            }
            // `pong` answers our ping (already counted above); other types get no reply.
            _ => {}
        }
        Flow::Continue
    }

    fn on_handshake(&mut self, text: &str) -> Flow {
        let Ok(envelope) = Envelope::parse(text) else {
            return self.fail_handshake();
        };
        if envelope.kind != "auth" {
            return self.fail_handshake();
        }
        let Some(credentials) = Credentials::from_body(&envelope.body) else {
            return self.fail_handshake();
        };
        match self.authenticate(&credentials) {
            Ok(auth) => {
                self.pending.push(frames::auth_ok(
                    envelope.uid.as_ref(),
                    auth.refresh_token.as_deref(),
                ));
                self.open(auth.verified, Instant::now());
                Flow::Continue
            }
            Err(_) => self.fail_handshake(),
        }
    }

    fn on_auth(&mut self, envelope: &Envelope) -> Flow {
        // Any auth message ends the wait after a token expiry; a failed one is answered below.
        self.reauth_deadline = None;
        // A malformed auth message after the handshake is ignored, as on the real server.
        let Some(credentials) = Credentials::from_body(&envelope.body) else {
            return Flow::Continue;
        };
        match self.authenticate(&credentials) {
            Ok(auth) => {
                self.who = auth.verified.who;
                self.token_expiry = auth.verified.expires_at.map(instant_of);
                self.pending.push(frames::auth_ok(
                    envelope.uid.as_ref(),
                    auth.refresh_token.as_deref(),
                ));
                Flow::Continue
            }
            Err(_) => {
                self.who = Accountability::Public;
                self.token_expiry = None;
                self.pending
                    .push(frames::auth_failed(envelope.uid.as_ref()));
                if self.mode() == AuthMode::Public {
                    Flow::Continue
                } else {
                    Flow::Close(None)
                }
            }
        }
    }

    fn authenticate(&self, credentials: &Credentials) -> Result<Authenticated, DirectusError> {
        let auth = &self.state.auth;
        let (tokens, refresh_token) = match credentials {
            Credentials::AccessToken(token) => {
                return Ok(Authenticated {
                    verified: auth.verify(token)?,
                    refresh_token: None,
                })
            }
            Credentials::Password { email, password } => {
                let tokens = auth.login(email, password)?;
                let refresh = tokens.refresh_token.clone();
                (tokens, refresh)
            }
            Credentials::RefreshToken(token) => {
                let tokens = auth.refresh(token)?;
                let refresh = tokens.refresh_token.clone();
                (tokens, refresh)
            }
        };
        Ok(Authenticated {
            verified: auth.verify(&tokens.access_token)?,
            refresh_token: Some(refresh_token),
        })
    }

    fn on_subscribe(&mut self, envelope: &Envelope) {
        let uid = envelope.uid.as_ref();
        let request = match SubscribeRequest::from_body(&envelope.body) {
            Ok(request) => request,
            // The real server drops the uid from validation errors of subscribe messages.
            Err(message) => {
                self.pending.push(frames::error(
                    "subscribe",
                    "INVALID_PAYLOAD",
                    &message,
                    None,
                ));
                return;
            }
        };
        match self.subscribe(envelope, request) {
            Ok(init) => self.pending.push(init),
            Err(err) => self
                .pending
                .push(frames::directus_error("subscribe", &err, uid)),
        }
    }

    fn subscribe(
        &mut self,
        envelope: &Envelope,
        request: SubscribeRequest,
    ) -> Result<String, DirectusError> {
        let state = self.state.clone();
        let (collection, topic, is_users) = if is_system_collection(&request.collection) {
            if !self.who.is_admin() {
                return Err(DirectusError::forbidden_collection(&request.collection));
            }
            if request.collection != system::USERS {
                return Err(DirectusError::invalid_payload(format!(
                    "\"{}\" is currently not supported.",
                    request.collection
                )));
            }
            let topic = Topic::new(format!("directus/system/{}", system::USERS));
            (Arc::new(system::users_collection()), topic, true)
        } else {
            let def = state.authorize(&self.who, &request.collection, Action::Read)?;
            let topic = table::topic(&def.name);
            (def, topic, false)
        };
        let query = crate::directus::query::Query::parse(request.query.as_ref(), &collection)?;
        let uid = envelope.uid_text();
        let held_bytes = [
            request.query.as_ref(),
            request.item.as_ref(),
            envelope.uid.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|v| v.to_string().len())
        .sum();
        let max = state.config.max_subscriptions_per_connection;
        let max_held_bytes = MAX_HELD_BYTES_PER_CONNECTION;
        if !self
            .subscriptions
            .admits(uid.as_deref(), held_bytes, max, max_held_bytes)
        {
            return Err(DirectusError::too_many_subscriptions(max, max_held_bytes));
        }
        if let Some(uid) = &uid {
            if let Some((old_id, old)) = self.subscriptions.take_by_uid(uid) {
                state.hub.unsubscribe(&old.topic, self.conn, old_id);
            }
        }
        let sub = Subscription {
            uid,
            collection,
            event: request.event,
            item: request.item.as_ref().map(uid_text),
            query,
            topic: topic.clone(),
            held_bytes,
        };
        let id = self.subscriptions.reserve_id();
        // Registering and taking the snapshot happen under the topic's lock: every change after the
        // snapshot is delivered, none before it.
        let snapshot = state.hub.subscribe(&topic, id, &self.outbox);
        let users;
        let current: Vec<&Value> = if is_users {
            users = system::user_items(&state.auth);
            users.iter().collect()
        } else {
            Table::new(&snapshot.value).items().collect()
        };
        match init_frame(&sub, &current) {
            Ok(init) => {
                self.subscriptions.insert(id, sub);
                Ok(init)
            }
            Err(err) => {
                state.hub.unsubscribe(&topic, self.conn, id);
                Err(err)
            }
        }
    }

    fn on_unsubscribe(&mut self, envelope: &Envelope) {
        match envelope.uid_text() {
            Some(uid) => {
                if let Some((id, sub)) = self.subscriptions.take_by_uid(&uid) {
                    self.state.hub.unsubscribe(&sub.topic, self.conn, id);
                }
            }
            None => self.unsubscribe_all(),
        }
        self.pending
            .push(frames::unsubscribed(envelope.uid.as_ref()));
    }

    fn unsubscribe_all(&mut self) {
        for (id, sub) in self.subscriptions.take_all() {
            self.state.hub.unsubscribe(&sub.topic, self.conn, id);
        }
    }

    /// Renders unrendered outbox items until a write's worth of frames is pending.
    fn deliver(&mut self) -> Flow {
        while self.pending.len() < self.write_batch {
            let Some(item) = self.unrendered.pop_front() else {
                break;
            };
            match item {
                Outbound::Text(text) => self.pending.push(text.to_string()),
                Outbound::Delivery(delivery) => {
                    if let Some(sub) = self.subscriptions.get(delivery.sub) {
                        let frames = render(&self.state, &self.who, sub, &delivery.change);
                        self.pending.extend(frames);
                    }
                }
                Outbound::Close(code, reason) => {
                    return Flow::Close(Some((code, reason.to_string())))
                }
            }
        }
        Flow::Continue
    }
}
