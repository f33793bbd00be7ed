//! Starting a server, raw Engine.IO clients over WebSocket and HTTP long-polling, and the
//! Socket.IO steps every test repeats; every wait bounded.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reference_server::{serve, Config, ServerHandle};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound of every wait; reached only when the server misbehaves.
pub const WAIT: Duration = Duration::from_secs(10);

pub const ALICE_SECRET: &str = "gv-demo-secret-alice";
pub const BOB_SECRET: &str = "gv-demo-secret-bob";
pub const ALICE_ID: u64 = 1;
pub const BOB_ID: u64 = 2;

/// The handshake header of the GameVault document.
pub fn v9(secret: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![("X-Socket-Secret", secret)]
}

/// The handshake header of GameVault 15 and later.
pub fn v15(secret: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![("X-Api-Key", secret)]
}

pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

pub async fn start() -> ServerHandle {
    start_with(|_| {}).await
}

pub async fn start_with(
    adjust: impl FnOnce(&mut reference_server::gamevault::Config),
) -> ServerHandle {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    adjust(&mut config.gamevault);
    bounded("the server to start", serve(config))
        .await
        .unwrap_or_else(|err| panic!("server did not start: {err}"))
}

pub async fn stop(server: ServerHandle) {
    bounded("the server to stop", server.shutdown())
        .await
        .unwrap_or_else(|err| panic!("server did not stop cleanly: {err}"));
}

/// What a raw client reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
    /// The connection ended; the close code if there was a close frame.
    Closed(Option<u16>),
}

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An Engine.IO client over WebSocket that shows every packet as it comes.
pub struct EioSocket {
    socket: Stream,
}

/// A refused WebSocket upgrade: the HTTP status and body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

impl EioSocket {
    /// Opens `/socket.io/?<query>` as a WebSocket.
    pub async fn connect(
        addr: SocketAddr,
        query: &str,
        headers: &[(&str, &str)],
    ) -> Result<EioSocket, Refused> {
        let mut request = format!("ws://{addr}/socket.io/?{query}")
            .into_client_request()
            .unwrap_or_else(|err| panic!("bad request: {err}"));
        for (name, value) in headers {
            let name: HeaderName = name.parse().unwrap_or_else(|err| panic!("bad name: {err}"));
            let value =
                HeaderValue::from_str(value).unwrap_or_else(|err| panic!("bad value: {err}"));
            request.headers_mut().append(name, value);
        }
        let config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .write_buffer_size(8 * 1024);
        let attempt = bounded(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async_with_config(request, Some(config), false),
        )
        .await;
        match attempt {
            Ok((socket, _)) => Ok(EioSocket { socket }),
            Err(WsError::Http(response)) => Err(Refused {
                status: response.status().as_u16(),
                body: String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                    .into_owned(),
            }),
            Err(err) => panic!("WebSocket handshake failed: {err}"),
        }
    }

    /// A WebSocket-only session: connects and reads the open packet.
    pub async fn open(addr: SocketAddr, headers: &[(&str, &str)]) -> (EioSocket, Value) {
        let mut socket = EioSocket::connect(addr, "EIO=4&transport=websocket", headers)
            .await
            .unwrap_or_else(|refused| panic!("upgrade refused: {refused:?}"));
        let open = socket.text().await;
        let json = open
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("first packet is not an open packet: {open:?}"));
        let open = serde_json::from_str(json).unwrap_or_else(|err| panic!("open JSON: {err}"));
        (socket, open)
    }

    pub async fn send(&mut self, text: &str) {
        bounded("a send", self.socket.send(Message::text(text)))
            .await
            .unwrap_or_else(|err| panic!("send {text:?} failed: {err}"));
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        bounded("a send", self.socket.send(Message::binary(bytes.to_vec())))
            .await
            .unwrap_or_else(|err| panic!("binary send failed: {err}"));
    }

    /// Sends without caring whether the server already closed.
    pub async fn try_send(&mut self, text: &str) {
        let _ = bounded("a send", self.socket.send(Message::text(text))).await;
    }

    pub async fn recv(&mut self) -> Frame {
        bounded("a frame", async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Text(text))) => return Frame::Text(text.to_string()),
                    Some(Ok(Message::Binary(bytes))) => return Frame::Binary(bytes.to_vec()),
                    Some(Ok(Message::Close(frame))) => {
                        return Frame::Closed(frame.map(|f| u16::from(f.code)))
                    }
                    Some(Ok(_)) => continue,
                    None | Some(Err(_)) => return Frame::Closed(None),
                }
            }
        })
        .await
    }

    /// The next text packet; anything else fails the test.
    pub async fn text(&mut self) -> String {
        match self.recv().await {
            Frame::Text(text) => text,
            other => panic!("expected a text packet, got {other:?}"),
        }
    }

    /// Waits for the end of the connection, skipping whatever comes first; the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Frame::Closed(code) = self.recv().await {
                return code;
            }
        }
    }
}

/// The name and arguments of an EVENT packet `42[...]`.
pub fn event(packet: &str) -> (String, Vec<Value>) {
    let json = packet
        .strip_prefix("42")
        .unwrap_or_else(|| panic!("not an event: {packet:?}"));
    let Ok(Value::Array(mut items)) = serde_json::from_str(json) else {
        panic!("event payload is not an array: {packet:?}");
    };
    let Value::String(name) = items.remove(0) else {
        panic!("event without a name: {packet:?}");
    };
    (name, items)
}

/// The single argument of an event named `name`.
pub fn argument(packet: &str, name: &str) -> Value {
    let (got, mut args) = event(packet);
    assert_eq!(got, name, "unexpected event in {packet:?}");
    assert_eq!(args.len(), 1, "expected one argument in {packet:?}");
    args.remove(0)
}

/// The JSON of a CONNECT answer `40{...}` on the main namespace.
pub fn connect_answer(packet: &str) -> Value {
    let json = packet
        .strip_prefix("40")
        .unwrap_or_else(|| panic!("not a CONNECT answer: {packet:?}"));
    serde_json::from_str(json).unwrap_or_else(|err| panic!("CONNECT JSON: {err}"))
}

pub fn is_socket_id(id: &str) -> bool {
    id.len() == 20
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A client that joined `/` over a WebSocket-only session.
pub struct Member {
    pub socket: EioSocket,
    /// The Engine.IO session id.
    pub session_id: String,
    /// The Socket.IO socket id, which the activities carry.
    pub socket_id: String,
    /// The `activities` event that followed the CONNECT answer.
    pub activities: Vec<Value>,
}

impl Member {
    pub async fn join(addr: SocketAddr, headers: &[(&str, &str)]) -> Member {
        let (mut socket, open) = EioSocket::open(addr, headers).await;
        socket.send("40").await;
        let answer = connect_answer(&socket.text().await);
        let socket_id = answer["sid"].as_str().unwrap_or_default().to_owned();
        let Value::Array(activities) = argument(&socket.text().await, "activities") else {
            panic!("activities is not an array");
        };
        Member {
            socket,
            session_id: open["sid"].as_str().unwrap_or_default().to_owned(),
            socket_id,
            activities,
        }
    }

    /// `get-activities`, and the list it answers.
    pub async fn activities(&mut self) -> Vec<Value> {
        self.socket.send("42[\"get-activities\"]").await;
        self.next_activities().await
    }

    pub async fn next_activities(&mut self) -> Vec<Value> {
        match argument(&self.socket.text().await, "activities") {
            Value::Array(list) => list,
            other => panic!("activities is not an array: {other}"),
        }
    }

    pub async fn next_activity(&mut self) -> Value {
        argument(&self.socket.text().await, "activity")
    }

    pub async fn next_exception(&mut self) -> Value {
        argument(&self.socket.text().await, "exception")
    }

    /// Ends the Engine.IO session with `1` and waits until the server closed it; by then the
    /// server has also let the socket leave.
    pub async fn close(mut self) {
        self.socket.send("1").await;
        self.socket.closed().await;
    }
}

/// An Engine.IO client over HTTP long-polling.
pub struct Polling {
    http: reqwest::Client,
    base: String,
    pub sid: String,
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .unwrap_or_else(|err| panic!("HTTP client: {err}"))
}

/// Any request to the server: the status and the body.
pub async fn request(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> (u16, String) {
    let mut builder = http_client().request(method, url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    if let Some(body) = body {
        builder = builder.body(body);
    }
    let response = bounded("an HTTP response", builder.send())
        .await
        .unwrap_or_else(|err| panic!("HTTP request to {url} failed: {err}"));
    let status = response.status().as_u16();
    let body = bounded("an HTTP body", response.text())
        .await
        .unwrap_or_else(|err| panic!("HTTP body of {url}: {err}"));
    (status, body)
}

impl Polling {
    /// The handshake GET; returns the client and the open packet's JSON.
    pub async fn handshake(addr: SocketAddr, headers: &[(&str, &str)]) -> (Polling, Value) {
        let base = format!("http://{addr}/socket.io/?EIO=4&transport=polling");
        let (status, body) = request(reqwest::Method::GET, &base, headers, None).await;
        assert_eq!(status, 200, "handshake refused: {body}");
        let json = body
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("handshake answer is not an open packet: {body:?}"));
        let open: Value =
            serde_json::from_str(json).unwrap_or_else(|err| panic!("open JSON: {err}"));
        let sid = open["sid"].as_str().unwrap_or_default().to_owned();
        let polling = Polling {
            http: http_client(),
            base,
            sid,
        };
        (polling, open)
    }

    pub fn url(&self) -> String {
        format!("{}&sid={}", self.base, self.sid)
    }

    pub async fn get(&self) -> (u16, String) {
        let response = bounded("a poll", self.http.get(self.url()).send())
            .await
            .unwrap_or_else(|err| panic!("poll failed: {err}"));
        let status = response.status().as_u16();
        (
            status,
            bounded("a poll body", response.text())
                .await
                .unwrap_or_default(),
        )
    }

    pub async fn post(&self, body: &str) -> (u16, String) {
        let response = bounded(
            "a POST",
            self.http.post(self.url()).body(body.to_owned()).send(),
        )
        .await
        .unwrap_or_else(|err| panic!("POST failed: {err}"));
        let status = response.status().as_u16();
        (
            status,
            bounded("a POST body", response.text())
                .await
                .unwrap_or_default(),
        )
    }

    /// Packets of the next poll that answers 200.
    pub async fn packets(&self) -> Vec<String> {
        let (status, body) = self.get().await;
        assert_eq!(status, 200, "poll refused: {body}");
        body.split('\x1e').map(str::to_owned).collect()
    }
}
