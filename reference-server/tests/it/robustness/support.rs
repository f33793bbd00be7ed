//! One server with small message limits, bounded waits, and a WebSocket client that sends raw frames
//! and reports how the server answered, without ever waiting for a duration.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use reference_server::{serve, Config, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound of every wait; reached only when the server misbehaves.
pub const WAIT: Duration = Duration::from_secs(10);

/// The largest message every profile accepts in these tests. Small, so that a frame just over it
/// sits whole in the socket buffers and the server's close frame is never lost to a reset.
pub const LIMIT: usize = 64 * 1024;

/// Code a tungstenite client reports for a close frame without a status.
pub const NO_STATUS: u16 = 1005;

pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Every profile on one ephemeral port, each with [`LIMIT`] as its message limit.
pub async fn start() -> ServerHandle {
    start_with(|config| {
        config.m2.max_message_bytes = Some(LIMIT);
        config.directus.max_message_bytes = Some(LIMIT);
        config.skapi.max_message_bytes = LIMIT;
        config.skapi.max_frame_bytes = LIMIT;
        config.gamevault.max_payload = LIMIT;
    })
    .await
}

/// The demo configuration on an ephemeral port, as `adjust` changes it.
pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> ServerHandle {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    adjust(&mut config);
    bounded("the server to start", serve(config))
        .await
        .unwrap_or_else(|err| panic!("server did not start: {err}"))
}

/// The server task has not stopped by itself (it stops only when its listener fails).
pub fn assert_running(server: &mut ServerHandle) {
    if let Some(result) = server.stopped().now_or_never() {
        panic!("the server stopped: {result:?}");
    }
}

pub async fn stop(server: ServerHandle) {
    bounded("the server to stop", server.shutdown())
        .await
        .unwrap_or_else(|err| panic!("server did not stop cleanly: {err}"));
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .unwrap_or_else(|err| panic!("no HTTP client: {err}"))
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket with extra request headers; panics unless the server answers 101.
pub async fn open(url: &str, headers: &[(&str, &str)]) -> Socket {
    let mut request = url
        .into_client_request()
        .unwrap_or_else(|err| panic!("bad request {url}: {err}"));
    for (name, value) in headers {
        let name: HeaderName = name
            .parse()
            .unwrap_or_else(|err| panic!("bad header name: {err}"));
        let value = HeaderValue::from_str(value).unwrap_or_else(|err| panic!("bad value: {err}"));
        request.headers_mut().append(name, value);
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024);
    let attempt = bounded(
        "a WebSocket handshake",
        tokio_tungstenite::connect_async_with_config(request, Some(config), true),
    )
    .await;
    match attempt {
        Ok((socket, _)) => socket,
        Err(WsError::Http(response)) => panic!("{url}: upgrade refused: {}", response.status()),
        Err(err) => panic!("{url}: handshake failed: {err}"),
    }
}

/// What the socket yielded next, control frames left out.
#[derive(Debug)]
pub enum Next {
    Text(String),
    Binary(Vec<u8>),
    /// A close frame: its code ([`NO_STATUS`] when it has none) and reason.
    Closed(u16, String),
    /// The connection ended without a close frame.
    Dropped(String),
    /// Nothing came within [`WAIT`].
    Silent,
}

pub async fn next<S>(socket: &mut S) -> Next
where
    S: futures_util::Stream<Item = Result<Message, WsError>> + Unpin,
{
    loop {
        let Ok(item) = tokio::time::timeout(WAIT, socket.next()).await else {
            return Next::Silent;
        };
        return match item {
            Some(Ok(Message::Text(text))) => Next::Text(text.as_str().to_owned()),
            Some(Ok(Message::Binary(bytes))) => Next::Binary(bytes.to_vec()),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Close(Some(frame)))) => {
                Next::Closed(u16::from(frame.code), frame.reason.as_str().to_owned())
            }
            Some(Ok(Message::Close(None))) => Next::Closed(NO_STATUS, String::new()),
            Some(Err(err)) => Next::Dropped(err.to_string()),
            None => Next::Dropped("end of stream".into()),
        };
    }
}

/// Sends one frame; false when the connection is already gone (the server closed it first).
pub async fn send(socket: &mut Socket, message: Message) -> bool {
    bounded("a frame to be sent", socket.send(message))
        .await
        .is_ok()
}

/// Reads text frames until `wanted` accepts one; panics on anything else that ends the wait.
pub async fn text_until(socket: &mut Socket, what: &str, wanted: impl Fn(&str) -> bool) -> String {
    loop {
        match next(socket).await {
            Next::Text(text) if wanted(&text) => return text,
            Next::Text(_) => continue,
            other => panic!("waiting for {what}: {other:?}"),
        }
    }
}

/// One HTTP/1.1 request written by hand (for heads a client library refuses to send); the status
/// of the answer. The body is written while the answer is read, so a server that answers before
/// reading it all is seen answering.
pub async fn raw_status(addr: SocketAddr, head: &[u8], body: Vec<u8>) -> u16 {
    let stream = bounded("a TCP connection", TcpStream::connect(addr))
        .await
        .unwrap_or_else(|err| panic!("cannot connect: {err}"));
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let head = head.to_vec();
    let sending = tokio::spawn(async move {
        // The server may answer and close before taking everything: a failed write is expected then.
        if writer.write_all(&head).await.is_ok() {
            let _ = writer.write_all(&body).await;
        }
        writer
    });
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    let status = loop {
        if let Some(status) = status_of(&received) {
            break status;
        }
        let read = bounded("an HTTP answer", reader.read(&mut chunk)).await;
        match read {
            Ok(0) | Err(_) => panic!(
                "connection ended before a status line: {:?}",
                String::from_utf8_lossy(&received)
            ),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    };
    sending.abort();
    status
}

fn status_of(received: &[u8]) -> Option<u16> {
    let line_end = received.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&received[..line_end]).ok()?;
    let mut parts = line.split(' ');
    match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => code.parse().ok(),
        _ => panic!("not an HTTP status line: {line:?}"),
    }
}
