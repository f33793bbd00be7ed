//! A WebSocket client connection with a background task that timestamps, checks and records every frame.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::check::{FrameCheck, Wire};
use super::frame::{Frame, Pattern, Payload};
use super::sio::EngineType;
use crate::case::CaseError;
use crate::transcript::{EntryKind, Transcript};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// tungstenite's default read buffer is 128 KiB; cases open few connections but benchmarks open thousands.
pub const READ_BUFFER_BYTES: usize = 8 * 1024;

/// The client WebSocket configuration every connector uses.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(READ_BUFFER_BYTES)
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The close code; 1005 for a close frame without one, 1006 when the TCP connection ended without a close frame.
    pub code: u16,
    pub reason: String,
    pub at: Duration,
}

/// Close code meaning "no status code was present" (RFC 6455 §7.1.5).
pub const NO_STATUS: u16 = 1005;
/// Close code meaning "closed without a close frame" (RFC 6455 §7.1.5).
pub const ABNORMAL: u16 = 1006;

enum Command {
    Send {
        message: Message,
        shown: String,
        done: oneshot::Sender<Result<(), String>>,
    },
    Close {
        frame: Option<CloseFrame>,
    },
}

enum Event {
    Frame(Box<Frame>),
    Violation { frame: Box<Frame>, reason: String },
    Closed(Closed),
}

/// What the server answered to the upgrade.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    pub status: u16,
    /// The `Sec-WebSocket-Protocol` the server selected.
    pub subprotocol: Option<String>,
}

/// One open WebSocket connection of a case.
pub struct Conn {
    label: String,
    handshake: Handshake,
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<Event>,
    closed: Option<Closed>,
    transcript: Transcript,
    check: FrameCheck,
    auto_pong: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Conn {
    pub(crate) fn start(
        socket: Socket,
        label: String,
        handshake: Handshake,
        transcript: Transcript,
        check: FrameCheck,
    ) -> Conn {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let auto_pong = Arc::new(AtomicBool::new(check.wire() == Wire::SocketIo));
        let pump = Pump {
            label: label.clone(),
            transcript: transcript.clone(),
            check: check.clone(),
            auto_pong: auto_pong.clone(),
            events: event_tx,
        };
        let task = tokio::spawn(pump.run(socket, command_rx));
        Conn {
            label,
            handshake,
            commands,
            events,
            closed: None,
            transcript,
            check,
            auto_pong,
            task,
        }
    }

    /// The label used in transcripts, e.g. `alice#1`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// What the server answered to the upgrade.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// Adds a note to the transcript under this connection's label.
    pub fn note(&self, text: impl Into<String>) {
        self.transcript.record(&self.label, EntryKind::Note, text);
    }

    /// Gamevault: whether Engine.IO pings (`2`) are answered (`3`) in the background and kept out of
    /// expectations. On by default; heartbeat cases turn it off to see and answer pings themselves.
    pub fn set_auto_pong(&self, on: bool) {
        self.auto_pong.store(on, Ordering::Relaxed);
    }

    /// Sends a JSON frame after checking it against the profile's client schemas; a frame the schemas
    /// reject is a harness error and is not sent (use [`Conn::send_text_raw`] for deliberate violations).
    pub async fn send_json(&self, value: &Value) -> Result<(), CaseError> {
        if self.check.wire() != Wire::Json {
            return Err(CaseError::harness(
                "send_json on a Socket.IO connection; use the gamevault connector's emit",
            ));
        }
        self.check.outgoing_json(value).map_err(|v| {
            CaseError::harness(format!("the frame {value} breaks the client schema: {v}"))
        })?;
        let text = value.to_string();
        self.send(Message::text(text.clone()), text).await
    }

    /// Sends an Engine.IO / Socket.IO packet after checking its framing and payload (gamevault).
    pub async fn send_packet(&self, text: &str) -> Result<(), CaseError> {
        self.check.outgoing_packet(text).map_err(|v| {
            CaseError::harness(format!("the packet {text} breaks the client schema: {v}"))
        })?;
        self.send(Message::text(text.to_owned()), text.to_owned())
            .await
    }

    /// Sends a text frame exactly as given, unchecked: for cases that send invalid input on purpose.
    pub async fn send_text_raw(&self, text: &str) -> Result<(), CaseError> {
        self.send(Message::text(text.to_owned()), text.to_owned())
            .await
    }

    /// Sends a binary frame exactly as given, unchecked.
    pub async fn send_binary_raw(&self, bytes: &[u8]) -> Result<(), CaseError> {
        let shown = format!(
            "<binary {} bytes> {}",
            bytes.len(),
            String::from_utf8_lossy(bytes)
        );
        self.send(Message::binary(bytes.to_vec()), shown).await
    }

    async fn send(&self, message: Message, shown: String) -> Result<(), CaseError> {
        let (done, result) = oneshot::channel();
        let closed = || {
            CaseError::fail(format!(
                "cannot send on {}: the connection is closed",
                self.label
            ))
        };
        self.commands
            .send(Command::Send {
                message,
                shown,
                done,
            })
            .map_err(|_| closed())?;
        match result.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CaseError::fail(format!(
                "sending on {} failed: {e}",
                self.label
            ))),
            Err(_) => Err(closed()),
        }
    }

    /// The next frame, within `timeout`.
    pub async fn recv(&mut self, timeout: Duration) -> Result<Frame, CaseError> {
        self.expect_next(Pattern::any(), timeout).await
    }

    /// Waits up to `timeout` for a frame matching `pattern`; frames before it that do not match are passed over
    /// (they stay in the transcript). A frame breaking the server schemas fails at once.
    pub async fn expect(
        &mut self,
        pattern: impl Into<Pattern>,
        timeout: Duration,
    ) -> Result<Frame, CaseError> {
        let pattern = pattern.into();
        let deadline = Instant::now() + timeout;
        let mut passed = Vec::new();
        loop {
            match self.next_event(deadline).await? {
                Some(frame) if pattern.matches(&frame) => return Ok(frame),
                Some(frame) => passed.push(frame.to_string()),
                None => {
                    return Err(self.missing(&pattern, timeout, &passed));
                }
            }
        }
    }

    /// The very next frame must match `pattern`, within `timeout`.
    pub async fn expect_next(
        &mut self,
        pattern: impl Into<Pattern>,
        timeout: Duration,
    ) -> Result<Frame, CaseError> {
        let pattern = pattern.into();
        let deadline = Instant::now() + timeout;
        match self.next_event(deadline).await? {
            Some(frame) if pattern.matches(&frame) => Ok(frame),
            Some(frame) => Err(CaseError::fail(format!(
                "{} expected {} next, got {frame}",
                self.label,
                pattern.description()
            ))),
            None => Err(self.missing(&pattern, timeout, &[])),
        }
    }

    /// Nothing at all may arrive within `window`.
    pub async fn expect_silence(&mut self, window: Duration) -> Result<(), CaseError> {
        self.expect_silence_of(Pattern::any(), window).await
    }

    /// No frame matching `pattern` may arrive within `window`; other frames are passed over.
    pub async fn expect_silence_of(
        &mut self,
        pattern: impl Into<Pattern>,
        window: Duration,
    ) -> Result<(), CaseError> {
        let pattern = pattern.into();
        let deadline = Instant::now() + window;
        loop {
            match self.next_event(deadline).await {
                Ok(Some(frame)) if pattern.matches(&frame) => {
                    return Err(CaseError::fail(format!(
                        "{} expected no {} within {}, got {frame}",
                        self.label,
                        pattern.description(),
                        humantime::format_duration(window)
                    )))
                }
                Ok(Some(_)) => {}
                Ok(None) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits up to `timeout` for the server to end the connection; returns the close code
    /// (1005 for a close frame without a code, 1006 for a connection dropped without a close frame).
    /// Frames before the close are passed over.
    pub async fn expect_close(&mut self, timeout: Duration) -> Result<u16, CaseError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(closed) = &self.closed {
                return Ok(closed.code);
            }
            match self.next_event(deadline).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(CaseError::fail(format!(
                        "{} expected the server to close the connection within {}, it stayed open",
                        self.label,
                        humantime::format_duration(timeout)
                    )))
                }
                Err(_) if self.closed.is_some() => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// How the connection ended, if it did.
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// Discards every frame already received and not yet looked at.
    pub fn drain(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            if let Event::Closed(closed) = event {
                self.closed = Some(closed);
            }
        }
    }

    /// Sends a close frame (1000) and waits briefly for the server's.
    pub async fn close(mut self) {
        self.close_with(1000, "").await;
    }

    /// Sends a close frame with `code` and waits briefly for the server's.
    pub async fn close_with(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_owned().into(),
        };
        if self
            .commands
            .send(Command::Close { frame: Some(frame) })
            .is_ok()
        {
            let _ = self.expect_close(Duration::from_secs(1)).await;
        }
    }

    /// The next frame before `deadline`; `Ok(None)` when the deadline passes; an error when the connection
    /// is closed or the frame breaks the schemas.
    async fn next_event(&mut self, deadline: Instant) -> Result<Option<Frame>, CaseError> {
        if let Some(closed) = &self.closed {
            return Err(self.closed_error(closed));
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(wait, self.events.recv()).await {
            Err(_) => Ok(None),
            Ok(Some(Event::Frame(frame))) => Ok(Some(*frame)),
            Ok(Some(Event::Violation { frame, reason })) => Err(CaseError::fail(format!(
                "{} received a frame no {} server schema allows: {reason}\n  frame: {frame}",
                self.label,
                self.check.profile()
            ))),
            Ok(Some(Event::Closed(closed))) => {
                let error = self.closed_error(&closed);
                self.closed = Some(closed);
                Err(error)
            }
            Ok(None) => {
                let closed = Closed {
                    code: ABNORMAL,
                    reason: "connection task ended".into(),
                    at: self.transcript.elapsed(),
                };
                let error = self.closed_error(&closed);
                self.closed = Some(closed);
                Err(error)
            }
        }
    }

    fn closed_error(&self, closed: &Closed) -> CaseError {
        let reason = if closed.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", closed.reason)
        };
        CaseError::fail(format!(
            "{}: the server closed the connection with code {}{reason}",
            self.label, closed.code
        ))
    }

    fn missing(&self, pattern: &Pattern, timeout: Duration, passed: &[String]) -> CaseError {
        let mut reason = format!(
            "{} expected {} within {}",
            self.label,
            pattern.description(),
            humantime::format_duration(timeout)
        );
        const SHOWN: usize = 5;
        match passed.len() {
            0 => reason.push_str(", nothing arrived"),
            n if n <= SHOWN => reason.push_str(&format!(", got only: {}", passed.join(" | "))),
            n => reason.push_str(&format!(
                ", got only {n} other frames, the last {SHOWN}: {}",
                passed[n - SHOWN..].join(" | ")
            )),
        }
        CaseError::fail(reason)
    }
}

/// The background half of a connection: reads, timestamps, checks, records; writes what the case sends.
struct Pump {
    label: String,
    transcript: Transcript,
    check: FrameCheck,
    auto_pong: Arc<AtomicBool>,
    events: mpsc::UnboundedSender<Event>,
}

impl Pump {
    async fn run(self, mut socket: Socket, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut server_closed = false;
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None => break,
                    Some(Command::Send { message, shown, done }) => {
                        let result = socket.send(message).await.map_err(|e| e.to_string());
                        if result.is_ok() {
                            self.transcript.record(&self.label, EntryKind::Send, shown);
                        }
                        let _ = done.send(result);
                    }
                    Some(Command::Close { frame }) => {
                        let shown = frame.as_ref().map(|f| format!("sent close {}", u16::from(f.code))).unwrap_or_default();
                        self.transcript.record(&self.label, EntryKind::Close, shown);
                        let _ = socket.close(frame).await;
                    }
                },
                message = socket.next() => {
                    let at = Instant::now();
                    match message {
                        None | Some(Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)) => {
                            if !server_closed {
                                self.finish(at, ABNORMAL, "the connection ended without a close frame".into());
                            }
                            break;
                        }
                        Some(Err(error)) => {
                            if !server_closed {
                                self.finish(at, ABNORMAL, error.to_string());
                            }
                            break;
                        }
                        Some(Ok(message)) => {
                            if !self.on_message(&mut socket, at, message).await {
                                server_closed = true;
                            }
                        }
                    }
                }
            }
        }
    }

    fn finish(&self, at: Instant, code: u16, reason: String) {
        self.transcript.record_at(
            at,
            &self.label,
            EntryKind::Close,
            format!("{code} {reason}").trim_end().to_owned(),
        );
        let _ = self.events.send(Event::Closed(Closed {
            code,
            reason,
            at: at.saturating_duration_since(self.transcript.start()),
        }));
    }

    /// Returns false once the server has sent its close frame.
    async fn on_message(&self, socket: &mut Socket, at: Instant, message: Message) -> bool {
        let payload = match message {
            Message::Text(text) => Payload::Text(text.as_str().to_owned()),
            Message::Binary(bytes) => Payload::Binary(bytes.to_vec()),
            Message::Ping(data) => {
                self.transcript.record_at(
                    at,
                    &self.label,
                    EntryKind::Recv,
                    format!("<ping frame {} bytes>", data.len()),
                );
                return true;
            }
            Message::Pong(data) => {
                self.transcript.record_at(
                    at,
                    &self.label,
                    EntryKind::Recv,
                    format!("<pong frame {} bytes>", data.len()),
                );
                return true;
            }
            Message::Close(frame) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.as_str().to_owned()))
                    .unwrap_or((NO_STATUS, String::new()));
                self.finish(at, code, reason);
                return false;
            }
            Message::Frame(_) => return true,
        };
        let shown = match &payload {
            Payload::Text(t) => t.clone(),
            Payload::Binary(b) => {
                format!("<binary {} bytes> {}", b.len(), String::from_utf8_lossy(b))
            }
        };
        self.transcript
            .record_at(at, &self.label, EntryKind::Recv, shown);
        let checked = self.check.incoming(
            at.saturating_duration_since(self.transcript.start()),
            payload,
        );
        if let Some(reason) = checked.violation {
            self.transcript
                .record_at(at, &self.label, EntryKind::Violation, reason.clone());
            let _ = self.events.send(Event::Violation {
                frame: Box::new(checked.frame),
                reason,
            });
            return true;
        }
        let is_ping = checked
            .frame
            .packet
            .as_ref()
            .is_some_and(|p| p.engine == EngineType::Ping);
        if is_ping && self.auto_pong.load(Ordering::Relaxed) {
            // Heartbeats are answered here so that no case has to, and none is surprised by one.
            let pong = format!(
                "3{}",
                checked
                    .frame
                    .packet
                    .as_ref()
                    .map(|p| p.engine_data.as_str())
                    .unwrap_or("")
            );
            if socket.send(Message::text(pong.clone())).await.is_ok() {
                self.transcript.record(
                    &self.label,
                    EntryKind::Send,
                    format!("{pong} (heartbeat, answered automatically)"),
                );
            }
            return true;
        }
        let _ = self.events.send(Event::Frame(Box::new(checked.frame)));
        true
    }
}
