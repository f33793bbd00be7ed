//! The `m2` profile as the runners see it: every malformed message gets `Invalid message format`.

use std::net::SocketAddr;

use serde_json::{json, Value};

use super::garbage::{Expect, Framing, Template};
use super::profile::{Answer, Profile};
use super::support::{http, open, Socket};

const INVALID: &str = r#"{"error":"Invalid message format"}"#;
pub const HEADERS: [(&str, &str); 4] = [
    ("x-api-key", "m2-demo-key"),
    ("x-m2-organization-id", "testOrg"),
    ("x-m2-project-id", "testProj"),
    ("x-m2-world-id", "testWorld"),
];
/// The key stored before the garbage; subscribing to it is the barrier.
const KEEP: &str = "World:kvstoreClient:robustness-keep";

pub struct M2 {
    addr: SocketAddr,
}

impl M2 {
    pub fn new(addr: SocketAddr) -> M2 {
        M2 { addr }
    }

    fn kept() -> Value {
        json!({"kept": [1, 2.5, "ünïcødé"], "nested": {"null": null}})
    }

    async fn api(&self, path: &str, body: Value) -> (u16, Value) {
        let mut request = http().post(format!("http://{}{path}", self.addr));
        for (name, value) in HEADERS {
            request = request.header(name, value);
        }
        let response = request
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|err| panic!("m2 {path}: {err}"));
        let status = response.status().as_u16();
        let body = response
            .json()
            .await
            .unwrap_or_else(|err| panic!("m2 {path}: answer is not JSON: {err}"));
        (status, body)
    }
}

impl Profile for M2 {
    fn name(&self) -> &'static str {
        "m2"
    }

    async fn connect(&self) -> Socket {
        open(
            &format!("ws://{}/api/realtime/connect/", self.addr),
            &HEADERS,
        )
        .await
    }

    fn barrier(&self, _n: usize) -> String {
        json!({"action": "subscribe", "resource": {"type": "kvStore", "id": KEEP}}).to_string()
    }

    /// Answers come in order, one per message, so the barrier needs no number; its answer also
    /// proves the stored value is intact.
    fn is_barrier_answer(&self, _n: usize, text: &str) -> bool {
        serde_json::from_str::<Value>(text)
            .is_ok_and(|v| v["resource"]["id"] == KEEP && v["data"] == M2::kept())
    }

    fn classify(&self, text: &str) -> Answer {
        if text == INVALID {
            return Answer::Error;
        }
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
            return Answer::Malformed("not a JSON object".into());
        };
        let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        keys.sort_unstable();
        match keys.as_slice() {
            ["message", "warning"] | ["data", "resource", "userId", "version"] => Answer::Other,
            _ => Answer::Malformed(format!("unexpected members {keys:?}")),
        }
    }

    fn templates(&self) -> Vec<Template> {
        let strict = |json| Template::new(json, Expect::ERROR, Expect::ERROR);
        vec![
            strict(
                json!({"action": "subscribe", "resource": {"type": "kvStore", "id": "World:kvstoreClient:robustness-probe"}}),
            ),
            strict(
                json!({"action": "unsubscribe", "resource": {"type": "collection", "id": "public"}}),
            ),
            // Any name without whitespace is a live config one may subscribe to.
            strict(
                json!({"action": "subscribe", "resource": {"type": "liveConfig", "id": "game"}}),
            )
            .rule("/resource/id", Expect::ERROR, Expect::ANSWERED),
        ]
    }

    fn framing(&self) -> Framing {
        Framing {
            prefix: "",
            unparsable: Expect::ERROR,
            random_text: Expect::ERROR,
            binary: Expect::ERROR,
        }
    }

    async fn store(&mut self) {
        let (status, body) = self
            .api(
                "/api/kvstore/upsert/",
                json!({"id": "demoUser", "store": "kvstoreClient", "key": "robustness-keep",
                       "scope": "World", "data": M2::kept()}),
            )
            .await;
        assert_eq!(status, 200, "m2 upsert: {body}");
    }

    async fn check_stored(&self) {
        let (status, body) = self
            .api(
                "/api/kvstore/read/",
                json!([{"id": "demoUser", "store": "kvstoreClient", "key": "robustness-keep", "scope": "World"}]),
            )
            .await;
        assert_eq!(status, 200, "m2 read: {body}");
        assert_eq!(body[0]["object"]["data"], M2::kept(), "m2 read: {body}");
        let mut socket = self.connect().await;
        super::support::send(
            &mut socket,
            tokio_tungstenite::tungstenite::Message::text(self.barrier(0)),
        )
        .await;
        super::support::text_until(&mut socket, "the stored m2 value", |t| {
            self.is_barrier_answer(0, t)
        })
        .await;
    }

    fn flood_frame(&self, _i: usize) -> String {
        self.barrier(0)
    }

    fn is_flood_answer(&self, text: &str) -> bool {
        self.is_barrier_answer(0, text)
    }
}
