//! Starting a server, connecting to `/api/realtime/connect/` and calling the HTTP API, every wait bounded.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reference_server::{serve, Config, ServerHandle};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound of every wait; reached only when the server misbehaves.
pub const WAIT: Duration = Duration::from_secs(10);

pub const DEMO_KEY: &str = "m2-demo-key";
pub const DEMO_KEY_2: &str = "m2-demo-key-2";
pub const SERVICE_KEY: &str = "m2-demo-service-key";
pub const OTHER_KEY: &str = "m2-other-key";

/// The document's only error frame; also the answer to [`Client::barrier`].
pub const INVALID: &str = r#"{"error":"Invalid message format"}"#;

pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

pub async fn start() -> ServerHandle {
    start_with(|_| {}).await
}

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

pub async fn stop(server: ServerHandle) {
    bounded("the server to stop", server.shutdown())
        .await
        .unwrap_or_else(|err| panic!("server did not stop cleanly: {err}"));
}

/// Where a caller is: the auth headers of the handshake and of the HTTP API.
#[derive(Debug, Clone, Copy)]
pub struct Tenant {
    pub key: &'static str,
    pub organization: &'static str,
    pub project: Option<&'static str>,
    pub world: Option<&'static str>,
}

impl Tenant {
    /// `demoUser` in `testOrg/testProj/testWorld`.
    pub const DEMO: Tenant = Tenant {
        key: DEMO_KEY,
        organization: "testOrg",
        project: Some("testProj"),
        world: Some("testWorld"),
    };
    /// `demoUser2` in the same world.
    pub const DEMO_2: Tenant = Tenant {
        key: DEMO_KEY_2,
        ..Tenant::DEMO
    };
    /// The service account `demoService` in the same world.
    pub const SERVICE: Tenant = Tenant {
        key: SERVICE_KEY,
        ..Tenant::DEMO
    };
    /// `otherUser` in `otherOrg/otherProj/otherWorld`.
    pub const OTHER: Tenant = Tenant {
        key: OTHER_KEY,
        organization: "otherOrg",
        project: Some("otherProj"),
        world: Some("otherWorld"),
    };

    pub const fn organization_only(self) -> Tenant {
        Tenant {
            project: None,
            world: None,
            ..self
        }
    }

    pub const fn project_only(self) -> Tenant {
        Tenant {
            world: None,
            ..self
        }
    }

    pub const fn in_world(self, world: &'static str) -> Tenant {
        Tenant {
            world: Some(world),
            ..self
        }
    }

    pub fn headers(&self) -> Vec<(&'static str, &'static str)> {
        let mut headers = vec![
            ("x-api-key", self.key),
            ("x-m2-organization-id", self.organization),
        ];
        if let Some(project) = self.project {
            headers.push(("x-m2-project-id", project));
        }
        if let Some(world) = self.world {
            headers.push(("x-m2-world-id", world));
        }
        headers
    }

    /// The header lines a browser would encode into its subprotocol.
    pub fn lines(&self) -> String {
        self.headers()
            .iter()
            .map(|(name, value)| format!("{name}:{value}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn base58(text: &str) -> String {
    bs58::encode(text.as_bytes()).into_string()
}

fn request(addr: SocketAddr, headers: &[(&str, &str)]) -> Request {
    let mut request = format!("ws://{addr}/api/realtime/connect/")
        .into_client_request()
        .unwrap_or_else(|err| panic!("bad request: {err}"));
    for (name, value) in headers {
        let value = HeaderValue::from_str(value).unwrap_or_else(|err| panic!("bad header: {err}"));
        let name: tokio_tungstenite::tungstenite::http::HeaderName = name
            .parse()
            .unwrap_or_else(|err| panic!("bad header name: {err}"));
        request.headers_mut().append(name, value);
    }
    request
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
}

/// The outcome of an upgrade request.
pub enum Handshake {
    /// 101, with the selected subprotocol.
    Accepted(Box<Client>, Option<String>),
    /// Refused before the upgrade: the status and the JSON body.
    Refused(u16, Value),
}

pub async fn handshake(addr: SocketAddr, headers: &[(&str, &str)]) -> Handshake {
    let attempt = bounded(
        "the WebSocket handshake",
        tokio_tungstenite::connect_async_with_config(
            request(addr, headers),
            Some(client_config()),
            true,
        ),
    )
    .await;
    match attempt {
        Ok((socket, response)) => {
            assert_eq!(response.status(), 101);
            let protocol = response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            Handshake::Accepted(Box::new(Client { socket }), protocol)
        }
        Err(WsError::Http(response)) => {
            let body = response.body().as_deref().unwrap_or_default();
            let json = serde_json::from_slice(body).unwrap_or_else(|err| {
                panic!(
                    "refusal body is not JSON ({err}): {:?}",
                    String::from_utf8_lossy(body)
                )
            });
            Handshake::Refused(response.status().as_u16(), json)
        }
        Err(err) => panic!("handshake failed: {err}"),
    }
}

/// Connects with plain headers and expects 101.
pub async fn connect(addr: SocketAddr, tenant: Tenant) -> Client {
    match handshake(addr, &tenant.headers()).await {
        Handshake::Accepted(client, _) => *client,
        Handshake::Refused(status, body) => panic!("refused with {status}: {body}"),
    }
}

/// Expects the handshake to be refused; returns the status and the `error` text.
pub async fn refused(addr: SocketAddr, headers: &[(&str, &str)]) -> (u16, String) {
    match handshake(addr, headers).await {
        Handshake::Accepted(..) => panic!("handshake with {headers:?} was accepted"),
        Handshake::Refused(status, body) => {
            let error = body["error"]
                .as_str()
                .unwrap_or_else(|| panic!("refusal without an error text: {body}"));
            assert!(!error.is_empty());
            (status, error.to_owned())
        }
    }
}

/// One realtime connection.
pub struct Client {
    socket: Socket,
}

impl Client {
    pub async fn send_message(&mut self, message: Message) {
        bounded("a frame to be sent", self.socket.send(message))
            .await
            .unwrap_or_else(|err| panic!("send failed: {err}"));
    }

    pub async fn send_text(&mut self, text: &str) {
        self.send_message(Message::text(text)).await;
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(&frame.to_string()).await;
    }

    /// The next text frame, as raw text.
    pub async fn recv_text(&mut self) -> String {
        loop {
            let next = bounded("a frame from the server", self.socket.next()).await;
            match next {
                Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next text frame, parsed.
    pub async fn recv(&mut self) -> Value {
        let text = self.recv_text().await;
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
    }

    pub async fn subscribe(&mut self, kind: &str, id: &str) -> Value {
        self.send(json!({"action": "subscribe", "resource": {"type": kind, "id": id}}))
            .await;
        self.recv().await
    }

    /// Sends an unsubscribe; none is acknowledged.
    pub async fn unsubscribe(&mut self, kind: &str, id: &str) {
        self.send(json!({"action": "unsubscribe", "resource": {"type": kind, "id": id}}))
            .await;
    }

    /// Every frame that arrives before the answer to a deliberately malformed probe.
    ///
    /// A change made before the probe was sent is already queued for this connection, and the
    /// server writes queued pushes before it reads the next client frame, so an empty answer
    /// proves that nothing was pushed — without waiting for a duration.
    pub async fn barrier(&mut self) -> Vec<Value> {
        self.send_text("barrier").await;
        let mut before = Vec::new();
        loop {
            let text = self.recv_text().await;
            if text == INVALID {
                return before;
            }
            before.push(
                serde_json::from_str(&text)
                    .unwrap_or_else(|err| panic!("not JSON ({err}): {text}")),
            );
        }
    }

    /// Expects nothing but the close frame; returns its code and reason.
    pub async fn expect_close(&mut self) -> (u16, String) {
        loop {
            let next = bounded("the server to close", self.socket.next()).await;
            match next {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.as_str().to_owned())
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }
}

/// The success message shape: `{"userId","resource":{"type","id"},"data","version"}`.
pub fn assert_success(message: &Value, user: &str, kind: &str, id: &str) {
    let object = message
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {message}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["data", "resource", "userId", "version"], "{message}");
    assert_eq!(message["userId"], user, "{message}");
    assert_eq!(
        message["resource"],
        json!({"type": kind, "id": id}),
        "{message}"
    );
    assert_version(&message["version"]);
}

/// ISO-8601 UTC with milliseconds, e.g. `2024-01-30T15:50:35.742Z`.
pub fn assert_version(version: &Value) {
    let text = version
        .as_str()
        .unwrap_or_else(|| panic!("version is not a string: {version}"));
    let shape: String = text
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:dd.dddZ", "version {text}");
    assert!(
        humantime::parse_rfc3339(text).is_ok(),
        "version {text} is not a real date-time"
    );
}

pub fn warning(type_name: &str) -> Value {
    json!({
        "warning": "resource_not_found",
        "message": format!(
            "{type_name} resource doesn't currently exist, subscription was still made successfully"
        ),
    })
}

/// The HTTP API as one tenant.
pub struct Api {
    client: reqwest::Client,
    base: String,
    tenant: Tenant,
}

impl Api {
    pub fn new(addr: SocketAddr, tenant: Tenant) -> Api {
        Api {
            client: reqwest::Client::builder()
                .timeout(WAIT)
                .build()
                .unwrap_or_else(|err| panic!("no HTTP client: {err}")),
            base: format!("http://{addr}"),
            tenant,
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in self.tenant.headers() {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("{path}: request failed: {err}"));
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .unwrap_or_else(|err| panic!("{path}: no body: {err}"));
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{path}: body is not JSON ({err}): {text}"))
        };
        (status, json)
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(&body.to_string()))
            .await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, path, Some(&body.to_string()))
            .await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// Stores `data` under `key` of the caller's own client store in `scope`; returns the version.
    pub async fn upsert(&self, user: &str, scope: &str, key: &str, data: Value) -> String {
        self.upsert_in(user, "kvstoreClient", scope, key, data)
            .await
    }

    pub async fn upsert_in(
        &self,
        user: &str,
        store: &str,
        scope: &str,
        key: &str,
        data: Value,
    ) -> String {
        let (status, body) = self
            .post(
                "/api/kvstore/upsert/",
                json!({"id": user, "store": store, "key": key, "data": data, "scope": scope}),
            )
            .await;
        assert_eq!(status, 200, "upsert: {body}");
        assert_eq!(body["status"], "ok");
        assert_version(&body["version"]);
        body["version"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn delete_keys(&self, user: &str, scope: &str, keys: &[&str]) -> Value {
        let (status, body) = self
            .post(
                "/api/kvstore/delete/",
                json!({"id": user, "store": "kvstoreClient", "keys": keys, "scope": scope}),
            )
            .await;
        assert_eq!(status, 200, "delete: {body}");
        body["deleted"].clone()
    }
}
