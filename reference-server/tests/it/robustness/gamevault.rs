//! The `gamevault` profile as the runners see it: alice's Socket.IO socket over an Engine.IO
//! WebSocket. A refused event gets an `exception` event; a frame that breaks Engine.IO or Socket.IO
//! ends the session with a close frame, as the protocol does.

use std::net::SocketAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::garbage::{Expect, Framing, Template};
use super::profile::{Answer, Profile};
use super::support::{http, next, open, send, text_until, Next, Socket};

const ALICE_SECRET: &str = "gv-demo-secret-alice";
const BOB_SECRET: &str = "gv-demo-secret-bob";
const BOB_ID: u64 = 2;
const KEEP_USER: &str = "robustness-keep";
const KEEP_PASSWORD: &str = "robustness-pw ✓";

/// A frame that breaks Socket.IO (the event name is not a name, the payload not an array).
const BROKEN_PACKET: Expect = Expect::close(&[1002]);

pub struct GameVault {
    addr: SocketAddr,
    /// Bob, BUSY, answering the heartbeat for as long as the test runs.
    witness: Option<AbortOnDrop>,
}

/// A task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl GameVault {
    pub fn new(addr: SocketAddr) -> GameVault {
        GameVault {
            addr,
            witness: None,
        }
    }

    /// Opens the Engine.IO WebSocket, joins `/`; returns the socket and the `activities` it got.
    async fn join(&self, secret: &str) -> (Socket, Vec<Value>) {
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.addr);
        let mut socket = open(&url, &[("X-Socket-Secret", secret)]).await;
        text_until(&mut socket, "the Engine.IO open packet", |t| {
            t.starts_with("0{")
        })
        .await;
        send(&mut socket, Message::text("40")).await;
        text_until(&mut socket, "the Socket.IO CONNECT answer", |t| {
            t.starts_with("40{")
        })
        .await;
        let activities = text_until(&mut socket, "the activities", |t| {
            t.starts_with("42[\"activities\"")
        })
        .await;
        let list = event(&activities)
            .and_then(|(_, mut args)| args.pop())
            .unwrap_or_default();
        let Value::Array(list) = list else {
            panic!("activities is not a list: {activities}");
        };
        (socket, list)
    }

    fn basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{KEEP_USER}:{KEEP_PASSWORD}"))
        )
    }
}

/// The name and arguments of a Socket.IO EVENT packet of namespace `/`.
fn event(text: &str) -> Option<(String, Vec<Value>)> {
    let Value::Array(mut items) = serde_json::from_str(text.strip_prefix("42")?).ok()? else {
        return None;
    };
    if items.is_empty() {
        return None;
    }
    match items.remove(0) {
        Value::String(name) => Some((name, items)),
        _ => None,
    }
}

impl Profile for GameVault {
    fn name(&self) -> &'static str {
        "gamevault"
    }

    async fn connect(&self) -> Socket {
        self.join(ALICE_SECRET).await.0
    }

    fn barrier(&self, n: usize) -> String {
        format!("42[\"barrier-{n}\"]")
    }

    fn is_barrier_answer(&self, n: usize, text: &str) -> bool {
        event(text).is_some_and(|(name, args)| {
            name == "exception"
                && args
                    .first()
                    .is_some_and(|e| e["cause"]["pattern"] == format!("barrier-{n}"))
        })
    }

    fn heartbeat_answer(&self, text: &str) -> Option<&'static str> {
        (text == "2").then_some("3")
    }

    fn classify(&self, text: &str) -> Answer {
        // The Engine.IO heartbeat.
        if text == "2" {
            return Answer::Push;
        }
        let Some((name, args)) = event(text) else {
            return Answer::Malformed("not an event of namespace /".into());
        };
        match (name.as_str(), args.as_slice()) {
            ("exception", [error])
                if error["status"] == "error" && error["message"].is_string() =>
            {
                Answer::Error
            }
            ("activities", [Value::Array(_)]) => Answer::Other,
            ("activity", [Value::Object(_)]) => Answer::Push,
            _ => Answer::Malformed(format!("unexpected event {name}")),
        }
    }

    fn templates(&self) -> Vec<Template> {
        // A payload or event name of another type breaks Socket.IO; a bad argument is an exception.
        let event = |json| {
            Template::new(json, BROKEN_PACKET, Expect::ERROR)
                .rule("/0", BROKEN_PACKET, Expect::ERROR)
                .rule("/1", Expect::ERROR, Expect::ERROR)
        };
        vec![
            event(json!(["set-activity", {"state": "ONLINE"}])).rule(
                "/1/state",
                Expect::ERROR,
                Expect::ERROR,
            ),
            event(json!(["set-activity", {"state": "PLAYING", "game_id": 3}]))
                .rule("/1/state", Expect::ERROR, Expect::ERROR)
                // Any positive integer is a game id.
                .rule("/1/game_id", Expect::ERROR, Expect::ANSWERED),
            event(json!(["get-activities"])),
        ]
    }

    fn framing(&self) -> Framing {
        Framing {
            prefix: "42",
            unparsable: BROKEN_PACKET,
            // Random text is an Engine.IO packet of some type: a pong or a noop is ignored, a
            // close packet closes normally, anything else breaks the protocol.
            random_text: Expect::ANSWERED.or_close(&[1000, 1002]),
            // A binary frame that no BINARY_EVENT announced.
            binary: BROKEN_PACKET,
        }
    }

    async fn store(&mut self) {
        let response = http()
            .post(format!("http://{}/api/auth/basic/register", self.addr))
            .json(&json!({"username": KEEP_USER, "password": KEEP_PASSWORD}))
            .send()
            .await
            .unwrap_or_else(|err| panic!("gamevault register: {err}"));
        assert_eq!(response.status(), 201, "gamevault register");

        let (mut witness, _) = self.join(BOB_SECRET).await;
        send(
            &mut witness,
            Message::text(r#"42["set-activity",{"state":"BUSY"}]"#),
        )
        .await;
        loop {
            match next(&mut witness).await {
                Next::Text(text) if text.starts_with("42[\"activity\"") => break,
                Next::Text(_) => continue,
                other => panic!("bob's activity was not broadcast: {other:?}"),
            }
        }
        let keeper = tokio::spawn(async move {
            loop {
                match next(&mut witness).await {
                    Next::Text(text) if text == "2" => {
                        send(&mut witness, Message::text("3")).await;
                    }
                    Next::Text(_) | Next::Silent => {}
                    Next::Binary(_) | Next::Closed(..) | Next::Dropped(_) => return,
                }
            }
        });
        self.witness = Some(AbortOnDrop(keeper));
    }

    async fn check_stored(&self) {
        let response = http()
            .get(format!("http://{}/api/users/me", self.addr))
            .header("authorization", self.basic())
            .send()
            .await
            .unwrap_or_else(|err| panic!("gamevault me: {err}"));
        assert_eq!(response.status(), 200, "gamevault me of {KEEP_USER}");
        let me: Value = response
            .json()
            .await
            .unwrap_or_else(|err| panic!("gamevault me: {err}"));
        assert_eq!(me["username"], KEEP_USER, "{me}");

        let (_, activities) = self.join(ALICE_SECRET).await;
        assert!(
            activities
                .iter()
                .any(|a| a["user_id"] == BOB_ID && a["state"] == "BUSY"),
            "bob's activity is gone: {activities:?}"
        );
    }

    fn flood_frame(&self, _i: usize) -> String {
        r#"42["get-activities"]"#.to_owned()
    }

    fn is_flood_answer(&self, text: &str) -> bool {
        text.starts_with("42[\"activities\"")
    }
}
