//! WebSocket plumbing shared by the profile adapters: limits, close codes, batched writes.

use std::error::Error as _;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite;

use crate::config::Limits;

/// RFC 6455 close codes the profiles use.
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const UNSUPPORTED_DATA: u16 = 1003;
    pub const INVALID_PAYLOAD: u16 = 1007;
    pub const POLICY_VIOLATION: u16 = 1008;
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    pub const INTERNAL_ERROR: u16 = 1011;
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// Applies the buffer sizes and the message-size limit to an upgrade.
pub fn with_limits(
    ws: WebSocketUpgrade,
    limits: &Limits,
    max_message_bytes: usize,
) -> WebSocketUpgrade {
    ws.read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes)
        .max_write_buffer_size(
            limits
                .max_write_buffer_bytes
                .max(limits.write_buffer_bytes + 1),
        )
        .max_message_size(max_message_bytes)
        .max_frame_size(max_message_bytes)
}

/// The close code and reason that answer a failed read, when the failure is the peer's fault.
pub fn close_for_read_error(err: &axum::Error) -> Option<(u16, &'static str)> {
    let inner = err.source()?.downcast_ref::<tungstenite::Error>()?;
    match inner {
        tungstenite::Error::Capacity(_) => Some((close::MESSAGE_TOO_BIG, "message too big")),
        tungstenite::Error::Utf8(_) => {
            Some((close::INVALID_PAYLOAD, "invalid UTF-8 in text frame"))
        }
        tungstenite::Error::Protocol(_) => Some((close::PROTOCOL_ERROR, "protocol error")),
        _ => None,
    }
}

pub fn close_frame(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// How long a close frame may wait to reach the peer. The peer being closed is often the one that
/// stopped reading (an overflowed queue); without a bound its connection task would wait forever.
pub const CLOSE_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends a close frame, ignoring a peer that is already gone or does not take it in time.
pub async fn send_close(socket: &mut WebSocket, code: u16, reason: &str) {
    let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, socket.send(close_frame(code, reason))).await;
}

/// How long one batch may take to reach the peer's socket. A peer that stops reading would
/// otherwise block its connection task forever while its TCP window stays full; after this long
/// the write fails and the connection ends like any other broken one.
pub const STALLED_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Feeds every frame, then flushes once: one syscall per wake-up instead of one per frame.
/// Fails when the peer is gone or has not taken the batch within [`STALLED_WRITE_TIMEOUT`].
pub async fn write_all(
    socket: &mut WebSocket,
    frames: impl IntoIterator<Item = Message>,
) -> Result<(), axum::Error> {
    let write = async {
        let mut fed = false;
        for frame in frames {
            socket.feed(frame).await?;
            fed = true;
        }
        if fed {
            socket.flush().await?;
        }
        Ok(())
    };
    match tokio::time::timeout(STALLED_WRITE_TIMEOUT, write).await {
        Ok(result) => result,
        Err(_) => Err(axum::Error::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "peer stopped reading",
        ))),
    }
}
