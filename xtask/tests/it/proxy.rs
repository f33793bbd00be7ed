//! A deliberately altered server: a loopback proxy in front of a reference server that passes everything
//! through unchanged, except the WebSocket text frames from the server that its rewrite function changes.
//!
//! Everything is copied byte for byte — plain HTTP (actuators, long-polling, refused upgrades), the upgrade,
//! every frame the client sends, close handshakes — except the server's text frames the rewrite changes,
//! which are re-framed with the new text.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

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
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // What the client sends goes through byte for byte (close handshakes included).
    let upstream = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    });
    relay_server_frames(early, &mut server_read, &mut client_write, rewrite).await;
    let _ = client_write.shutdown().await;
    upstream.abort();
}

/// Copies the server's frames to the client, rewriting whole unmasked text frames; everything read in one go is
/// written in one go, so frames the server wrote together arrive together, as on a direct connection.
async fn relay_server_frames(
    mut buffer: Vec<u8>,
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    rewrite: Rewrite,
) {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let mut out = Vec::new();
        while let Some(length) = frame_length(&buffer) {
            let frame: Vec<u8> = buffer.drain(..length).collect();
            out.extend(rewrite_frame(&frame, rewrite).unwrap_or(frame));
        }
        if !out.is_empty() && to.write_all(&out).await.is_err() {
            return;
        }
        match from.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                let _ = to.write_all(&buffer).await;
                return;
            }
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The length of the complete frame at the start of `bytes` (RFC 6455 section 5.2), if it is all there.
fn frame_length(bytes: &[u8]) -> Option<usize> {
    let second = *bytes.get(1)?;
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    let (header, payload) = match second & 0x7f {
        126 => (
            4,
            usize::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?])),
        ),
        127 => {
            let raw: [u8; 8] = bytes.get(2..10)?.try_into().ok()?;
            (10, usize::try_from(u64::from_be_bytes(raw)).ok()?)
        }
        short => (2, usize::from(short)),
    };
    let total = header + mask + payload;
    (bytes.len() >= total).then_some(total)
}

/// `frame` with its text rewritten, when it is a whole unmasked text frame the rewrite changes.
fn rewrite_frame(frame: &[u8], rewrite: Rewrite) -> Option<Vec<u8>> {
    let (first, second) = (*frame.first()?, *frame.get(1)?);
    if first != 0x81 || second & 0x80 != 0 {
        return None;
    }
    let header = match second & 0x7f {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    let text = std::str::from_utf8(frame.get(header..)?).ok()?;
    let changed = rewrite(text)?.into_bytes();
    let mut out = vec![first];
    match changed.len() {
        n if n < 126 => out.push(u8::try_from(n).ok()?),
        n if n <= usize::from(u16::MAX) => {
            out.push(126);
            out.extend(u16::try_from(n).ok()?.to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend(u64::try_from(n).ok()?.to_be_bytes());
        }
    }
    out.extend(changed);
    Some(out)
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
