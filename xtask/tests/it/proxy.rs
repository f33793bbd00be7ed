//! A deliberately altered server: a loopback proxy in front of a reference server that passes everything
//! through unchanged, except the WebSocket text frames from the server that its rewrite function changes.
//!
//! Plain HTTP (actuators, long-polling, refused upgrades) is copied byte for byte. An upgrade is forwarded as
//! it came; once the server answers 101, both sides speak WebSocket and each frame is relayed.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Changes a server frame's text, or `None` to pass it on as it is.
pub type Rewrite = fn(&str) -> Option<String>;

/// The largest HTTP head the proxy reads.
const MAX_HEAD: usize = 64 * 1024;

pub struct Proxy {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on an ephemeral loopback port and relays to `upstream`.
    pub async fn start(upstream: SocketAddr, rewrite: Rewrite) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the proxy binds a loopback port");
        let addr = listener.local_addr().expect("the proxy has an address");
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, rewrite));
            }
        });
        Proxy { addr, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads until the end of an HTTP head; returns everything read and where the head ends.
async fn read_head(stream: &mut TcpStream) -> Option<(Vec<u8>, usize)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some((buffer, end + 4));
        }
        if buffer.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

async fn relay(mut client: TcpStream, upstream: SocketAddr, rewrite: Rewrite) {
    let Some((request, head_end)) = read_head(&mut client).await else {
        return;
    };
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    if server.write_all(&request).await.is_err() {
        return;
    }
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    if !head.contains("upgrade: websocket") {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        return;
    }
    let Some((response, response_end)) = read_head(&mut server).await else {
        return;
    };
    if client.write_all(&response[..response_end]).await.is_err() {
        return;
    }
    if !response.starts_with(b"HTTP/1.1 101") {
        if client.write_all(&response[response_end..]).await.is_ok() {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        }
        return;
    }
    let early = response[response_end..].to_vec();
    let client = WebSocketStream::from_raw_socket(client, Role::Server, None).await;
    let server = WebSocketStream::from_partially_read(server, early, Role::Client, None).await;
    relay_frames(client, server, rewrite).await;
}

async fn relay_frames(
    client: WebSocketStream<TcpStream>,
    server: WebSocketStream<TcpStream>,
    rewrite: Rewrite,
) {
    let (mut to_client, mut from_client) = client.split();
    let (mut to_server, mut from_server) = server.split();
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(message)) => {
                    if to_server.send(message).await.is_err() {
                        break;
                    }
                }
                _ => break,
            },
            message = from_server.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let message = match rewrite(text.as_str()) {
                        Some(changed) => Message::text(changed),
                        None => Message::Text(text),
                    };
                    if to_client.send(message).await.is_err() {
                        break;
                    }
                }
                Some(Ok(message)) => {
                    if to_client.send(message).await.is_err() {
                        break;
                    }
                }
                _ => break,
            },
        }
    }
    // Dropping both halves ends the TCP connections without a close frame of the proxy's own, so a server
    // that drops a connection is seen dropping it.
}

/// The alteration the tests make: m2 `resource_not_found` warnings carry another message text (the schema
/// allows any text, so only the transcript changes, not the verdict).
pub fn alter_m2_warning(text: &str) -> Option<String> {
    let mut frame: serde_json::Value = serde_json::from_str(text).ok()?;
    if frame.get("warning")?.as_str()? != "resource_not_found" {
        return None;
    }
    let message = frame.get_mut("message")?;
    *message = serde_json::Value::String(ALTERED_MESSAGE.to_owned());
    Some(frame.to_string())
}

/// The message text [`alter_m2_warning`] puts in.
pub const ALTERED_MESSAGE: &str = "The resource does not exist yet (altered by the test proxy)";
