//! A bare WebSocket for what no conforming client sends: a text frame whose bytes are not UTF-8.
//! It records what it sends and receives in the case's transcript; the frames it receives are not checked
//! against the schemas (the cases using it expect a close, nothing else).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::case::CaseError;
use crate::client::conn::ws_config;
use crate::client::Request;
use crate::ctx::Ctx;
use crate::transcript::EntryKind;

/// What a raw socket read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawEvent {
    Text(String),
    Binary(usize),
    /// The server closed the connection: its close code (1005 without one, 1006 without a close frame).
    Closed(u16),
    /// Nothing within the wait.
    Quiet,
}

/// A WebSocket without the harness's checks.
pub struct RawSocket {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    label: String,
    ctx: Ctx,
}

impl RawSocket {
    /// Opens `request` (its URL, headers and subprotocol) as `who`.
    pub async fn open(ctx: &Ctx, who: &str, request: &Request) -> Result<RawSocket, CaseError> {
        let label = ctx.next_label(&format!("{who}-raw"));
        let failed = |reason: String| CaseError::fail(format!("opening {}: {reason}", request.url));
        let mut http = request
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| failed(e.to_string()))?;
        for (name, value) in &request.headers {
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|e| failed(e.to_string()))?;
            let value = HeaderValue::from_str(value).map_err(|e| failed(e.to_string()))?;
            http.headers_mut().append(name, value);
        }
        if let Some(protocol) = &request.subprotocol {
            let value = HeaderValue::from_str(protocol).map_err(|e| failed(e.to_string()))?;
            http.headers_mut().insert("sec-websocket-protocol", value);
        }
        ctx.transcript()
            .record(&label, EntryKind::Connect, request.url.clone());
        let attempt = tokio_tungstenite::connect_async_with_config(http, Some(ws_config()), true);
        let (socket, _) = tokio::time::timeout(ctx.timeouts().connect, attempt)
            .await
            .map_err(|_| failed("no upgrade response in time".into()))?
            .map_err(|e| failed(e.to_string()))?;
        Ok(RawSocket {
            socket,
            label,
            ctx: ctx.clone(),
        })
    }

    pub async fn send_text(&mut self, text: &str) -> Result<(), CaseError> {
        self.record(EntryKind::Send, text.to_owned());
        self.send(Message::text(text.to_owned())).await
    }

    /// A text frame carrying `bytes` as they are, UTF-8 or not.
    pub async fn send_text_bytes(&mut self, bytes: &[u8]) -> Result<(), CaseError> {
        self.record(
            EntryKind::Send,
            format!(
                "<text frame, {} bytes, not UTF-8> {}",
                bytes.len(),
                String::from_utf8_lossy(bytes)
            ),
        );
        let frame = Frame::message(bytes.to_vec(), OpCode::Data(Data::Text), true);
        self.send(Message::Frame(frame)).await
    }

    async fn send(&mut self, message: Message) -> Result<(), CaseError> {
        self.socket
            .send(message)
            .await
            .map_err(|e| CaseError::fail(format!("sending on {} failed: {e}", self.label)))
    }

    /// The next text, binary or close within `wait`.
    pub async fn next(&mut self, wait: Duration) -> RawEvent {
        loop {
            let event = match tokio::time::timeout(wait, self.socket.next()).await {
                Err(_) => RawEvent::Quiet,
                Ok(None) | Ok(Some(Err(_))) => RawEvent::Closed(crate::client::ABNORMAL),
                Ok(Some(Ok(Message::Close(frame)))) => RawEvent::Closed(
                    frame
                        .map(|f| u16::from(f.code))
                        .unwrap_or(crate::client::NO_STATUS),
                ),
                Ok(Some(Ok(Message::Text(text)))) => RawEvent::Text(text.as_str().to_owned()),
                Ok(Some(Ok(Message::Binary(bytes)))) => RawEvent::Binary(bytes.len()),
                Ok(Some(Ok(_))) => continue,
            };
            match &event {
                RawEvent::Text(text) => self.record(EntryKind::Recv, text.clone()),
                RawEvent::Binary(len) => {
                    self.record(EntryKind::Recv, format!("<binary {len} bytes>"))
                }
                RawEvent::Closed(code) => self.record(EntryKind::Close, code.to_string()),
                RawEvent::Quiet => {}
            }
            return event;
        }
    }

    /// Reads until the server closes the connection or `wait` passes; the close code, if it closed.
    pub async fn closed_within(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                RawEvent::Closed(code) => return Some(code),
                RawEvent::Quiet => return None,
                RawEvent::Text(_) | RawEvent::Binary(_) => {}
            }
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    fn record(&self, kind: EntryKind, text: String) {
        self.ctx.transcript().record(&self.label, kind, text);
    }
}
