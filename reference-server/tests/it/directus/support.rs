//! Starting a server with a Directus section, WebSocket and HTTP clients; every wait is bounded.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reference_server::directus::config::{DEMO_ADMIN_TOKEN, DEMO_READER_TOKEN};
use reference_server::{serve, Config, ServerHandle};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound of every wait; reached only when the server misbehaves.
pub const WAIT: Duration = Duration::from_secs(10);

pub const ADMIN: &str = DEMO_ADMIN_TOKEN;
pub const READER: &str = DEMO_READER_TOKEN;

pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

pub struct Server {
    pub handle: ServerHandle,
    pub addr: SocketAddr,
}

impl Server {
    pub async fn start() -> Server {
        Server::with(|_| {}).await
    }

    /// A server whose Directus section is the demo one changed by `adjust`.
    pub async fn with(adjust: impl FnOnce(&mut reference_server::directus::Config)) -> Server {
        let mut directus = reference_server::directus::Config::default();
        adjust(&mut directus);
        let config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            directus,
            ..Config::default()
        };
        let handle = bounded("the server to start", serve(config))
            .await
            .unwrap_or_else(|err| panic!("server did not start: {err}"));
        let addr = handle.local_addr();
        Server { handle, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self, path_and_query: &str) -> String {
        format!("ws://{}{path_and_query}", self.addr)
    }

    pub async fn stop(self) {
        let _ = bounded("the server to stop", self.handle.shutdown()).await;
    }

    /// A socket opened at `/websocket` and authenticated with `token` through the handshake.
    pub async fn client(&self, token: &str) -> Client {
        let mut client = Client::connect(&self.ws_url("/websocket")).await;
        client
            .send(json!({"type": "auth", "access_token": token}))
            .await;
        client.expect(json!({"type": "auth", "status": "ok"})).await;
        client
    }

    /// An HTTP request with the admin's token; returns the status and the body (JSON, text, or null).
    pub async fn rest(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rest_as(Some(ADMIN), method, path, body).await
    }

    pub async fn rest_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .unwrap_or_else(|err| panic!("bad method {method}: {err}"));
        let mut request = http().request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = bounded("an HTTP response", request.send())
            .await
            .unwrap_or_else(|err| panic!("request to {path} failed: {err}"));
        let status = response.status().as_u16();
        let text = bounded("an HTTP body", response.text())
            .await
            .unwrap_or_else(|err| panic!("body of {path} unreadable: {err}"));
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .unwrap_or_else(|err| panic!("no HTTP client: {err}"))
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
}

/// What the server sent next.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Json(Value),
    /// A close frame: its code, or `None` for a close frame without status (seen as 1005).
    Close(Option<u16>),
    /// The connection ended without a close frame.
    Ended,
}

pub struct Client {
    socket: Socket,
}

/// Why a WebSocket could not be opened: the HTTP status of the refusal.
pub async fn refused(url: &str, headers: &[(&str, &str)]) -> u16 {
    match Client::try_connect(url, headers).await {
        Ok(_) => panic!("{url} was accepted"),
        Err(status) => status,
    }
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        Client::try_connect(url, &[])
            .await
            .unwrap_or_else(|status| panic!("{url} refused with HTTP {status}"))
    }

    /// Ok: the open socket; Err: the HTTP status that refused the upgrade.
    pub async fn try_connect(url: &str, headers: &[(&str, &str)]) -> Result<Client, u16> {
        let mut request = url
            .into_client_request()
            .unwrap_or_else(|err| panic!("bad URL {url}: {err}"));
        for (name, value) in headers {
            let value = HeaderValue::from_str(value)
                .unwrap_or_else(|err| panic!("bad header value {value}: {err}"));
            let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                .unwrap_or_else(|err| panic!("bad header name {name}: {err}"));
            request.headers_mut().insert(name, value);
        }
        let connected = bounded(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async_with_config(request, Some(client_config()), false),
        )
        .await;
        match connected {
            Ok((socket, _)) => Ok(Client { socket }),
            Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(err) => panic!("handshake with {url} failed: {err}"),
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_message(Message::text(frame.to_string())).await;
    }

    pub async fn send_message(&mut self, message: Message) {
        bounded("a frame to be sent", self.socket.send(message))
            .await
            .unwrap_or_else(|err| panic!("send failed: {err}"));
    }

    /// The next frame that is not a protocol-level ping or pong.
    pub async fn next_frame(&mut self) -> Frame {
        loop {
            let next = bounded("a frame from the server", self.socket.next()).await;
            return match next {
                None => Frame::Ended,
                Some(Err(_)) => Frame::Ended,
                Some(Ok(Message::Text(text))) => Frame::Json(
                    serde_json::from_str(text.as_str())
                        .unwrap_or_else(|err| panic!("server sent non-JSON {text}: {err}")),
                ),
                Some(Ok(Message::Close(frame))) => Frame::Close(frame.map(|f| u16::from(f.code))),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Binary(bytes))) => panic!("server sent a binary frame: {bytes:?}"),
            };
        }
    }

    /// The next JSON message (panics on a close).
    pub async fn recv(&mut self) -> Value {
        match self.next_frame().await {
            Frame::Json(value) => value,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    pub async fn expect(&mut self, expected: Value) {
        let got = self.recv().await;
        assert_eq!(got, expected);
    }

    /// The close the server sends next, after any messages, which are returned.
    pub async fn closed(&mut self) -> (Vec<Value>, Frame) {
        let mut before = Vec::new();
        loop {
            match self.next_frame().await {
                Frame::Json(value) => before.push(value),
                end => return (before, end),
            }
        }
    }

    /// Proves nothing else is queued for this client: a ping's pong must be the very next message.
    /// Server heartbeat pings may come in between and are skipped.
    pub async fn quiet(&mut self) {
        self.send(json!({"type": "ping", "uid": "barrier"})).await;
        loop {
            let got = self.recv().await;
            if got == json!({"type": "ping"}) {
                continue;
            }
            assert_eq!(
                got,
                json!({"type": "pong", "uid": "barrier"}),
                "an unexpected message"
            );
            return;
        }
    }

    pub async fn close(mut self) {
        let _ = bounded("the close to be sent", self.socket.close(None)).await;
    }
}
