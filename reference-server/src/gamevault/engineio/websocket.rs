//! The WebSocket transport: one Engine.IO packet per frame, text for text packets and binary
//! frames for binary messages.

use std::time::Duration;

use axum::extract::ws::{Message as Frame, WebSocket};
use futures_util::SinkExt;

use super::packet::Packet;
use super::CloseReason;
use crate::ws;

/// How long a closing handshake may take before the socket is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What one received frame means for the session: a packet, nothing (control frames), or the end.
pub(super) fn read_frame(
    frame: Option<Result<Frame, axum::Error>>,
) -> Result<Option<Packet>, CloseReason> {
    match frame {
        None | Some(Ok(Frame::Close(_))) => Err(CloseReason::TransportClosed),
        Some(Err(err)) => Err(match ws::close_for_read_error(&err) {
            Some((code, reason)) => CloseReason::Wire(code, reason.into()),
            None => CloseReason::TransportClosed,
        }),
        Some(Ok(Frame::Text(text))) => Packet::decode_text(text.as_str())
            .map(Some)
            .map_err(|err| CloseReason::protocol(err.to_string())),
        Some(Ok(Frame::Binary(bytes))) => Ok(Some(Packet::Binary(bytes))),
        Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => Ok(None),
    }
}

pub(super) fn to_frame(packet: Packet) -> Frame {
    match packet {
        Packet::Binary(bytes) => Frame::Binary(bytes),
        other => Frame::Text(other.encode().into()),
    }
}

/// Receives from `socket` if there is one; never resolves otherwise (for `select!`).
pub(super) async fn receive(socket: Option<&mut WebSocket>) -> Option<Result<Frame, axum::Error>> {
    match socket {
        Some(socket) => socket.recv().await,
        None => std::future::pending().await,
    }
}

/// Ends a WebSocket: a close frame for `reason`, or just the closing handshake when the peer is
/// gone; bounded in time.
pub(super) async fn close(mut socket: WebSocket, reason: &CloseReason) {
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        match reason.close_frame() {
            Some((code, text)) => ws::send_close(&mut socket, code, &text).await,
            None => {
                let _ = socket.close().await;
            }
        }
    })
    .await;
}

/// Closes a WebSocket the session will not use, without holding the session up.
pub(super) fn close_detached(socket: WebSocket, reason: CloseReason) {
    tokio::spawn(async move { close(socket, &reason).await });
}
