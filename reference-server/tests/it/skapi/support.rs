//! Starting a server, logging in and talking to `/realtime`, every wait bounded.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reference_server::skapi::config::{DEMO_OWNER, DEMO_SERVICE, OTHER_OWNER, OTHER_SERVICE};
use reference_server::{serve, Config, ServerHandle};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound of every wait; reached only when the server misbehaves.
pub const WAIT: Duration = Duration::from_secs(10);

pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

pub async fn start() -> ServerHandle {
    start_with(reference_server::skapi::Config::default()).await
}

pub async fn start_with(skapi: reference_server::skapi::Config) -> ServerHandle {
    let config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        skapi,
        ..Config::default()
    };
    bounded("the server to start", serve(config))
        .await
        .unwrap_or_else(|err| panic!("server did not start: {err}"))
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .unwrap_or_else(|err| panic!("no HTTP client: {err}"))
}

/// The answer of `POST /skapi/login`.
#[derive(Debug, Clone)]
pub struct Login {
    pub addr: SocketAddr,
    pub service: String,
    pub owner: String,
    pub user_id: String,
    pub access_token: String,
    pub id_token: String,
}

impl Login {
    /// The `token` of broadcast and sendMessage frames.
    pub fn identity_token(&self) -> String {
        format!("IdT:{}:{}:{}", self.service, self.owner, self.id_token)
    }
}

pub async fn login(addr: SocketAddr, username: &str) -> Login {
    let service = match username {
        "carol" => OTHER_SERVICE,
        _ => DEMO_SERVICE,
    };
    let response = http()
        .post(format!("http://{addr}/skapi/login"))
        .json(&json!({
            "service": service,
            "username": username,
            "password": format!("{username}-password"),
        }))
        .send()
        .await
        .unwrap_or_else(|err| panic!("login request failed: {err}"));
    assert_eq!(response.status(), 200, "login of {username}");
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|err| panic!("login answer is not JSON: {err}"));
    let field = |name: &str| {
        body[name]
            .as_str()
            .unwrap_or_else(|| panic!("login answer lacks {name}: {body}"))
            .to_owned()
    };
    assert_eq!(
        field("owner"),
        if service == DEMO_SERVICE {
            DEMO_OWNER
        } else {
            OTHER_OWNER
        }
    );
    Login {
        addr,
        service: field("service"),
        owner: field("owner"),
        user_id: field("user_id"),
        access_token: field("access_token"),
        id_token: field("id_token"),
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
}

/// One realtime connection of a logged-in user.
pub struct Client {
    pub login: Login,
    socket: Socket,
}

impl Client {
    pub async fn connect(login: &Login) -> Client {
        let url = format!("ws://{}/realtime?token={}", login.addr, login.access_token);
        let (socket, response) = bounded(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async_with_config(url, Some(client_config()), true),
        )
        .await
        .unwrap_or_else(|err| panic!("handshake failed: {err}"));
        assert_eq!(response.status(), 101);
        Client {
            login: login.clone(),
            socket,
        }
    }

    pub fn user_id(&self) -> &str {
        &self.login.user_id
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_message(Message::text(frame.to_string())).await;
    }

    pub async fn send_message(&mut self, message: Message) {
        bounded("a frame to be sent", self.socket.send(message))
            .await
            .unwrap_or_else(|err| panic!("send failed: {err}"));
    }

    pub async fn join(&mut self, rid: Value) {
        let token = self.login.access_token.clone();
        self.send(json!({"action": "joinRoom", "rid": rid, "token": token}))
            .await;
    }

    pub async fn broadcast(&mut self, rid: &str, content: Value) {
        let token = self.login.identity_token();
        self.send(json!({
            "action": "broadcast",
            "rid": rid,
            "content": content,
            "notification": "",
            "notificationConfig": {},
            "token": token,
        }))
        .await;
    }

    pub async fn send_private(&mut self, uid: &str, content: Value) {
        let token = self.login.identity_token();
        self.send(json!({
            "action": "sendMessage",
            "uid": uid,
            "content": content,
            "notification": "",
            "notificationConfig": {},
            "token": token,
        }))
        .await;
    }

    pub async fn rtc(&mut self, cid: &str, content: Value) {
        let token = self.login.access_token.clone();
        self.send(json!({
            "action": "rtc",
            "uid": format!("cid:{cid}"),
            "content": content,
            "token": token,
        }))
        .await;
    }

    /// The next text frame, raw.
    pub async fn recv_text(&mut self) -> String {
        loop {
            let message = bounded("a frame", self.socket.next()).await;
            match message {
                Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next text frame as JSON.
    pub async fn recv(&mut self) -> Value {
        let text = self.recv_text().await;
        serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("frame is not JSON ({err}): {text}"))
    }

    /// The next frame must be an `#error`; returns its text.
    pub async fn recv_error(&mut self) -> String {
        let frame = self.recv().await;
        frame["#error"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an #error frame, got {frame}"))
            .to_owned()
    }

    /// Joins `rid` and reads its own USER_JOINED; returns this connection's id.
    pub async fn join_and_learn_cid(&mut self, rid: &str) -> String {
        self.join(json!(rid)).await;
        let notice = self.recv().await;
        assert_eq!(notice["#code"], "USER_JOINED", "{notice}");
        assert_eq!(notice["#user_id"], self.login.user_id.as_str());
        notice["#scid"]
            .as_str()
            .unwrap_or_else(|| panic!("notice without #scid: {notice}"))
            .to_owned()
    }

    /// Proves that nothing is queued for this connection: an unknown action is answered by an
    /// `#error`, which the server queues after anything already queued, so it must come next.
    pub async fn expect_nothing_pending(&mut self) {
        self.send(json!({"action": "barrier"})).await;
        let frame = self.recv().await;
        assert!(
            frame["#error"]
                .as_str()
                .is_some_and(|e| e.contains("barrier")),
            "expected nothing before the barrier's #error, got {frame}"
        );
    }

    /// Waits for the server's close frame and returns its code and reason.
    pub async fn recv_close(&mut self) -> (CloseCode, String) {
        loop {
            let message = bounded("the close frame", self.socket.next()).await;
            match message {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (frame.code, frame.reason.as_str().to_owned())
                }
                Some(Ok(Message::Close(None))) => panic!("close frame without a code"),
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Closes from the client side and waits for the server to finish the close handshake.
    pub async fn close(mut self) {
        let _ = bounded("the close to be sent", self.socket.close(None)).await;
        while let Some(Ok(_)) = bounded("the close handshake", self.socket.next()).await {}
    }
}

/// Connects and joins `rid`; returns the client and its connection id.
pub async fn member(addr: SocketAddr, username: &str, rid: &str) -> (Client, String) {
    let mut client = Client::connect(&login(addr, username).await).await;
    let cid = client.join_and_learn_cid(rid).await;
    (client, cid)
}

/// Checks a notice frame.
pub fn assert_notice(frame: &Value, code: &str, user_id: &str, cid: &str, rid: &str) {
    assert_eq!(frame["#code"], code, "{frame}");
    assert_eq!(frame["#user_id"], user_id, "{frame}");
    assert_eq!(frame["#scid"], cid, "{frame}");
    assert_eq!(frame["#srid"], rid, "{frame}");
    assert!(frame["#notice"].is_string(), "{frame}");
}
