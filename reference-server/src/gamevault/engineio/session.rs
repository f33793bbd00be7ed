//! One Engine.IO session: a task that owns the application, the current transport (a polling
//! buffer or a WebSocket), a probe WebSocket during an upgrade, and the heartbeat.

use std::sync::Arc;

use axum::extract::ws::{Message as Frame, WebSocket};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep_until, Instant};

use super::packet::Packet;
use super::registry::Sessions;
use super::request::{EngineError, TransportKind};
use super::websocket::{close, close_detached, read_frame, receive, to_frame};
use super::{Application, CloseReason, EngineConfig, Message, Outgoing};
use crate::gamevault::ids;
use crate::ws;

/// Commands queued per session before HTTP handlers wait.
const COMMAND_QUEUE: usize = 16;

/// What reaches a session from outside its task.
pub(crate) enum Command {
    /// A long-polling GET waiting for packets.
    Poll(oneshot::Sender<PollReply>),
    /// A long-polling POST body, already checked for size and UTF-8.
    Post(String, oneshot::Sender<Result<(), EngineError>>),
    /// A WebSocket opened with this session's id, to upgrade to.
    Probe(Box<WebSocket>),
    /// End the session (the HTTP layer saw an oversized or undecodable body).
    Abort(CloseReason),
}

pub(crate) enum PollReply {
    /// A polling body: one or more packets.
    Payload(String),
    Refused(EngineError),
}

/// Everything a session needs from the engine.
pub(super) struct SessionContext {
    pub config: Arc<EngineConfig>,
    pub sessions: Arc<Sessions>,
    pub shutdown: watch::Receiver<bool>,
}

pub(super) struct Session<A: Application> {
    sid: String,
    app: A,
    context: SessionContext,
    commands: mpsc::Receiver<Command>,
    transport: Transport,
    probe: Option<Probe>,
    heartbeat: Heartbeat,
    out: Outgoing,
}

enum Transport {
    Polling(Polling),
    WebSocket(Box<WebSocket>),
}

#[derive(Default)]
struct Polling {
    buffer: Vec<Packet>,
    waiting: Option<oneshot::Sender<PollReply>>,
}

/// A WebSocket opened to upgrade a polling session, until the client sends `5`.
struct Probe {
    socket: Box<WebSocket>,
    /// `2probe` was answered with `3probe`: the client has paused polling.
    probed: bool,
    deadline: Instant,
}

/// The server-driven heartbeat of Engine.IO v4: ping every interval, expect a pong within the timeout.
struct Heartbeat {
    interval: std::time::Duration,
    timeout: std::time::Duration,
    due: Instant,
    awaiting_pong: bool,
}

impl Heartbeat {
    fn new(config: &EngineConfig) -> Heartbeat {
        Heartbeat {
            interval: config.ping_interval,
            timeout: config.ping_timeout,
            due: Instant::now() + config.ping_interval,
            awaiting_pong: false,
        }
    }

    /// The deadline passed: time to ping, or the pong is late.
    fn fire(&mut self) -> Result<(), CloseReason> {
        if self.awaiting_pong {
            return Err(CloseReason::Timeout("ping timeout"));
        }
        self.awaiting_pong = true;
        self.due = Instant::now() + self.timeout;
        Ok(())
    }

    // A pong nobody asked for does not move the schedule, or a chatty client would get two
    // pings per interval.
    fn pong(&mut self) {
        if self.awaiting_pong {
            self.awaiting_pong = false;
            self.due = Instant::now() + self.interval;
        }
    }
}

enum Wake<E> {
    Shutdown,
    Command(Option<Command>),
    Frame(Option<Result<Frame, axum::Error>>),
    ProbeFrame(Option<Result<Frame, axum::Error>>),
    Heartbeat,
    ProbeExpired,
    App(E),
}

impl<A: Application> Session<A> {
    /// Registers a new session and returns it with its open packet. `None` only if no free id
    /// could be drawn (practically never).
    pub(super) fn open(
        app: A,
        context: SessionContext,
        kind: TransportKind,
    ) -> Option<(Session<A>, Packet)> {
        let (tx, commands) = mpsc::channel(COMMAND_QUEUE);
        let sid = (0..8)
            .map(|_| ids::session_id())
            .find(|sid| context.sessions.insert(sid, tx.clone()))?;
        let upgrades: &[&str] = match kind {
            TransportKind::Polling => &["websocket"],
            TransportKind::WebSocket => &[],
        };
        let config = &context.config;
        let open = serde_json::json!({
            "sid": sid,
            "upgrades": upgrades,
            "pingInterval": config.ping_interval.as_millis(),
            "pingTimeout": config.ping_timeout.as_millis(),
            "maxPayload": config.max_payload,
        });
        let heartbeat = Heartbeat::new(config);
        tracing::debug!(%sid, transport = kind.name(), "engine.io session opened");
        let session = Session {
            sid,
            app,
            context,
            commands,
            transport: Transport::Polling(Polling::default()),
            probe: None,
            heartbeat,
            out: Outgoing::default(),
        };
        Some((session, Packet::Open(open.to_string())))
    }

    /// Runs a session whose handshake was a long-polling GET (already answered with the open packet).
    pub(super) async fn run_polling(self) {
        self.run().await;
    }

    /// Runs a session whose handshake was a WebSocket: the open packet is its first frame.
    pub(super) async fn run_websocket(mut self, socket: WebSocket, open: Packet) {
        self.transport = Transport::WebSocket(Box::new(socket));
        self.out.push(open);
        match self.flush().await {
            Ok(()) => self.run().await,
            Err(reason) => self.finish(reason).await,
        }
    }

    async fn run(mut self) {
        let reason = loop {
            let wake = self.next_wake().await;
            if let Err(reason) = self.handle(wake).await {
                break reason;
            }
            if let Err(reason) = self.flush().await {
                break reason;
            }
        };
        self.finish(reason).await;
    }

    async fn next_wake(&mut self) -> Wake<A::Event> {
        let main = match &mut self.transport {
            Transport::WebSocket(socket) => Some(&mut **socket),
            Transport::Polling(_) => None,
        };
        let probe_deadline = self.probe.as_ref().map(|p| p.deadline);
        let probe = self.probe.as_mut().map(|p| &mut *p.socket);
        let shutdown = &mut self.context.shutdown;
        tokio::select! {
            _ = shutdown.wait_for(|down| *down) => Wake::Shutdown,
            command = self.commands.recv() => Wake::Command(command),
            frame = receive(main) => Wake::Frame(frame),
            frame = receive(probe) => Wake::ProbeFrame(frame),
            () = sleep_until(self.heartbeat.due) => Wake::Heartbeat,
            () = sleep_until_some(probe_deadline) => Wake::ProbeExpired,
            event = self.app.next_event() => Wake::App(event),
        }
    }

    async fn handle(&mut self, wake: Wake<A::Event>) -> Result<(), CloseReason> {
        match wake {
            // The engine dropped every sender: the server is gone.
            Wake::Shutdown | Wake::Command(None) => Err(CloseReason::Shutdown),
            Wake::Command(Some(command)) => self.on_command(command),
            Wake::Frame(frame) => match read_frame(frame)? {
                Some(packet) => self.on_packet(packet),
                None => Ok(()),
            },
            Wake::ProbeFrame(frame) => {
                self.on_probe_frame(frame).await;
                Ok(())
            }
            Wake::Heartbeat => {
                self.heartbeat.fire()?;
                self.out.push(Packet::Ping(String::new()));
                Ok(())
            }
            Wake::ProbeExpired => {
                self.abort_probe(CloseReason::Timeout("upgrade timeout"));
                Ok(())
            }
            Wake::App(event) => self.app.on_event(event, &mut self.out),
        }
    }

    fn on_packet(&mut self, packet: Packet) -> Result<(), CloseReason> {
        match packet {
            Packet::Message(text) => self.app.on_message(Message::Text(text), &mut self.out),
            Packet::Binary(bytes) => self.app.on_message(Message::Binary(bytes), &mut self.out),
            Packet::Pong(_) => {
                self.heartbeat.pong();
                Ok(())
            }
            Packet::Ping(_) => Err(CloseReason::protocol("invalid heartbeat direction")),
            Packet::Close => Err(CloseReason::ClientClose),
            // Left over from an upgrade; meaningless but harmless.
            Packet::Upgrade | Packet::Noop => Ok(()),
            Packet::Open(_) => Err(CloseReason::protocol("unexpected open packet")),
        }
    }

    fn on_command(&mut self, command: Command) -> Result<(), CloseReason> {
        match command {
            Command::Poll(reply) => self.on_poll(reply),
            Command::Post(body, reply) => self.on_post(&body, reply),
            Command::Probe(socket) => {
                if self.probe.is_some() || matches!(self.transport, Transport::WebSocket(_)) {
                    close_detached(
                        *socket,
                        CloseReason::protocol("session already upgraded or upgrading"),
                    );
                } else {
                    self.probe = Some(Probe {
                        socket,
                        probed: false,
                        deadline: Instant::now() + self.context.config.upgrade_timeout,
                    });
                }
                Ok(())
            }
            Command::Abort(reason) => Err(reason),
        }
    }

    fn on_poll(&mut self, reply: oneshot::Sender<PollReply>) -> Result<(), CloseReason> {
        let Transport::Polling(polling) = &mut self.transport else {
            let _ = reply.send(PollReply::Refused(EngineError::BadRequest));
            return Ok(());
        };
        if polling.waiting.as_ref().is_some_and(|w| !w.is_closed()) {
            let _ = reply.send(PollReply::Refused(EngineError::BadRequest));
            return Err(CloseReason::protocol("overlapping poll requests"));
        }
        polling.waiting = Some(reply);
        Ok(())
    }

    fn on_post(
        &mut self,
        body: &str,
        reply: oneshot::Sender<Result<(), EngineError>>,
    ) -> Result<(), CloseReason> {
        if !matches!(self.transport, Transport::Polling(_)) {
            let _ = reply.send(Err(EngineError::BadRequest));
            return Ok(());
        }
        let packets = match Packet::decode_payload(body) {
            Ok(packets) => packets,
            Err(err) => {
                let _ = reply.send(Err(EngineError::BadRequest));
                return Err(CloseReason::protocol(err.to_string()));
            }
        };
        for packet in packets {
            if let Err(reason) = self.on_packet(packet) {
                let answer = match reason {
                    CloseReason::ClientClose => Ok(()),
                    _ => Err(EngineError::BadRequest),
                };
                let _ = reply.send(answer);
                return Err(reason);
            }
        }
        let _ = reply.send(Ok(()));
        Ok(())
    }

    async fn on_probe_frame(&mut self, frame: Option<Result<Frame, axum::Error>>) {
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        let packet = match read_frame(frame) {
            Ok(Some(packet)) => packet,
            Ok(None) => return,
            Err(reason) => {
                self.abort_probe(reason);
                return;
            }
        };
        match packet {
            Packet::Ping(data) if data == "probe" && !probe.probed => {
                let pong = to_frame(Packet::Pong("probe".into()));
                let sent = ws::write_all(&mut probe.socket, [pong]).await;
                if sent.is_ok() {
                    probe.probed = true;
                } else {
                    self.abort_probe(CloseReason::TransportClosed);
                }
            }
            Packet::Upgrade if probe.probed => self.complete_upgrade(),
            _ => self.abort_probe(CloseReason::protocol("unexpected packet during upgrade")),
        }
    }

    /// Moves the session onto the probe WebSocket; whatever polling still held goes out first.
    fn complete_upgrade(&mut self) {
        let Some(probe) = self.probe.take() else {
            return;
        };
        let previous = std::mem::replace(&mut self.transport, Transport::WebSocket(probe.socket));
        if let Transport::Polling(polling) = previous {
            if let Some(waiting) = polling.waiting {
                let _ = waiting.send(PollReply::Payload(Packet::Noop.encode()));
            }
            self.out.prepend(polling.buffer);
        }
        tracing::debug!(sid = %self.sid, "engine.io session upgraded to websocket");
    }

    fn abort_probe(&mut self, reason: CloseReason) {
        if let Some(probe) = self.probe.take() {
            close_detached(*probe.socket, reason);
        }
    }

    /// Hands what the session produced to the transport: writes it to the WebSocket, or
    /// buffers it for the next poll and answers a waiting one.
    async fn flush(&mut self) -> Result<(), CloseReason> {
        let upgrading = self.probe.as_ref().is_some_and(|p| p.probed);
        match &mut self.transport {
            Transport::WebSocket(socket) => {
                if self.out.is_empty() {
                    return Ok(());
                }
                let frames = self.out.take().into_iter().map(to_frame);
                ws::write_all(socket, frames)
                    .await
                    .map_err(|_| CloseReason::TransportClosed)
            }
            Transport::Polling(polling) => {
                polling.buffer.append(&mut self.out.take());
                if polling.buffer.len() > self.context.config.max_buffered_packets {
                    return Err(CloseReason::Overflow);
                }
                let Some(waiting) = polling.waiting.take() else {
                    return Ok(());
                };
                if !polling.buffer.is_empty() {
                    let body = Packet::encode_payload(&polling.buffer);
                    // A poll whose client went away keeps nothing: the packets wait for the next.
                    if waiting.send(PollReply::Payload(body)).is_ok() {
                        polling.buffer.clear();
                    }
                } else if upgrading {
                    let _ = waiting.send(PollReply::Payload(Packet::Noop.encode()));
                } else {
                    polling.waiting = Some(waiting);
                }
                Ok(())
            }
        }
    }

    async fn finish(mut self, reason: CloseReason) {
        self.context.sessions.remove(&self.sid);
        self.app.on_close(&reason);
        if let Some(probe) = self.probe.take() {
            close_detached(*probe.socket, reason.clone());
        }
        match self.transport {
            Transport::Polling(polling) => {
                if let Some(waiting) = polling.waiting {
                    // A client that asked to close gets a noop for its pending poll, as the
                    // reference server answers; any other end is announced with a close packet.
                    let last = match reason {
                        CloseReason::ClientClose => Packet::Noop,
                        _ => Packet::Close,
                    };
                    let _ = waiting.send(PollReply::Payload(last.encode()));
                }
            }
            Transport::WebSocket(socket) => close(*socket, &reason).await,
        }
        tracing::debug!(sid = %self.sid, ?reason, "engine.io session closed");
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
