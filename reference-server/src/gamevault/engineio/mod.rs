//! Engine.IO v4 server: the handshake, the heartbeat, the HTTP long-polling and WebSocket transports,
//! and the upgrade from one to the other. It carries opaque messages for an [`Application`]
//! (here the Socket.IO layer) and knows nothing of what they mean.
//!
//! Each session is one task ([`session`]) that owns the application, the current transport and
//! the timers; HTTP requests and probe WebSockets reach it as [`session::Command`]s through the
//! [`registry::Sessions`] map, keyed by session id.

mod endpoint;
pub mod packet;
mod registry;
pub mod request;
mod session;
mod websocket;

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::any;
use axum::Router;
use tokio::sync::watch;

use crate::config::Limits;
use crate::outbox::{OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON};
use crate::ws::close;

pub use packet::Packet;
pub use registry::Sessions;

/// A message the client sent, as the application receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Binary(Bytes),
}

/// Packets the application wants sent, in order; the session writes them to whichever transport
/// is current.
#[derive(Debug, Default)]
pub struct Outgoing(Vec<Packet>);

impl Outgoing {
    pub fn message(&mut self, text: String) {
        self.0.push(Packet::Message(text));
    }

    pub fn binary(&mut self, bytes: Bytes) {
        self.0.push(Packet::Binary(bytes));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn packets(&self) -> &[Packet] {
        &self.0
    }

    fn push(&mut self, packet: Packet) {
        self.0.push(packet);
    }

    fn take(&mut self) -> Vec<Packet> {
        std::mem::take(&mut self.0)
    }

    fn prepend(&mut self, mut earlier: Vec<Packet>) {
        earlier.append(&mut self.0);
        self.0 = earlier;
    }
}

/// Why a session ended; decides the WebSocket close frame or the answer to a pending poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent the close packet `1`.
    ClientClose,
    /// The WebSocket closed or failed under us.
    TransportClosed,
    /// A timer of the protocol ran out (`ping timeout`, `connect timeout`).
    Timeout(&'static str),
    /// The client broke the protocol; the text says how.
    ProtocolError(Cow<'static, str>),
    /// A close with its own code: a failed WebSocket read (1007, 1009, 1002), or one the
    /// application asked for.
    Wire(u16, Cow<'static, str>),
    /// A message or a polling body larger than `maxPayload`.
    TooLarge,
    /// The client does not read what it is sent (see `outbox`).
    Overflow,
    /// The server is shutting down.
    Shutdown,
}

impl CloseReason {
    pub fn protocol(reason: impl Into<Cow<'static, str>>) -> CloseReason {
        CloseReason::ProtocolError(reason.into())
    }

    /// The WebSocket close frame for this reason; `None` when the peer is already gone.
    pub fn close_frame(&self) -> Option<(u16, Cow<'static, str>)> {
        match self {
            CloseReason::ClientClose => Some((close::NORMAL, "client closed".into())),
            CloseReason::TransportClosed => None,
            CloseReason::Timeout(what) => Some((close::POLICY_VIOLATION, (*what).into())),
            CloseReason::ProtocolError(why) => Some((close::PROTOCOL_ERROR, why.clone())),
            CloseReason::Wire(code, why) => Some((*code, why.clone())),
            CloseReason::TooLarge => Some((close::MESSAGE_TOO_BIG, "message too big".into())),
            CloseReason::Overflow => Some((OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON.into())),
            CloseReason::Shutdown => Some((close::GOING_AWAY, "server shutting down".into())),
        }
    }
}

/// What rides on an Engine.IO session (the Socket.IO layer). One value per session, driven by
/// the session's task.
pub trait Application: Send + 'static {
    /// Something the application produced by itself (a broadcast, a timer).
    type Event: Send;

    /// A message from the client; replies go to `out`. `Err` closes the session.
    fn on_message(&mut self, message: Message, out: &mut Outgoing) -> Result<(), CloseReason>;

    /// Waits for the next event of the application. Must be cancel-safe: the session drops it
    /// whenever something else happens first.
    fn next_event(&mut self) -> impl Future<Output = Self::Event> + Send;

    /// Handles an event from [`Application::next_event`]. `Err` closes the session.
    fn on_event(&mut self, event: Self::Event, out: &mut Outgoing) -> Result<(), CloseReason>;

    /// The session ended, for this reason; called exactly once.
    fn on_close(&mut self, reason: &CloseReason);
}

/// Builds the application of a new session from the handshake request's headers.
pub trait AppFactory: Send + Sync + 'static {
    type App: Application;

    fn create(&self, headers: &HeaderMap) -> Self::App;
}

/// Timing and size settings of the Engine.IO server.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub upgrade_timeout: Duration,
    /// Largest WebSocket message or polling body accepted, in bytes; announced as `maxPayload`.
    pub max_payload: usize,
    /// Packets a polling session may hold for a client that does not poll, before it is closed.
    pub max_buffered_packets: usize,
    pub limits: Limits,
}

/// An Engine.IO server: its settings, its live sessions and the factory of their applications.
pub struct Engine<F> {
    config: Arc<EngineConfig>,
    sessions: Arc<Sessions>,
    factory: F,
    shutdown: watch::Receiver<bool>,
}

impl<F: AppFactory> Engine<F> {
    pub fn new(config: EngineConfig, factory: F, shutdown: watch::Receiver<bool>) -> Engine<F> {
        Engine {
            config: Arc::new(config),
            sessions: Arc::new(Sessions::default()),
            factory,
            shutdown,
        }
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }
}

/// Serves the engine at `path` (with and without its trailing slash), for every method: the
/// endpoint itself answers the methods it does not accept.
pub fn router<F: AppFactory>(engine: Arc<Engine<F>>, path: &str) -> Router {
    let trimmed = path.trim_end_matches('/');
    let mut router = Router::new().route(&format!("{trimmed}/"), any(endpoint::entry::<F>));
    if !trimmed.is_empty() {
        router = router.route(trimmed, any(endpoint::entry::<F>));
    }
    router.with_state(engine)
}
