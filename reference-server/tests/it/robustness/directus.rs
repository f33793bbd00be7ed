//! The `directus` profile as the runners see it: an administrator's socket, where a malformed frame
//! gets an error of its message's type and a frame of unknown type gets nothing.

use std::net::SocketAddr;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::garbage::{Expect, Framing, Template};
use super::profile::{Answer, Profile};
use super::support::{http, open, send, text_until, Socket, NO_STATUS};

const ADMIN_TOKEN: &str = "directus-demo-token";
const READER_TOKEN: &str = "directus-reader-token";
const KEEP_TEXT: &str = "robustness-keep ✓ \u{1f980}";
const ERROR_CODES: &[&str] = &[
    "AUTH_FAILED",
    "AUTH_TIMEOUT",
    "TOKEN_EXPIRED",
    "INVALID_PAYLOAD",
    "FORBIDDEN",
    "INVALID_COLLECTION",
    "REQUESTS_EXCEEDED",
    "INVALID_QUERY",
    "RECORD_NOT_UNIQUE",
];

pub struct Directus {
    addr: SocketAddr,
    /// The id of the item stored before the garbage.
    kept: Option<Value>,
}

impl Directus {
    pub fn new(addr: SocketAddr) -> Directus {
        Directus { addr, kept: None }
    }

    fn kept_id(&self) -> Value {
        self.kept
            .clone()
            .unwrap_or_else(|| panic!("directus: nothing stored"))
    }
}

impl Profile for Directus {
    fn name(&self) -> &'static str {
        "directus"
    }

    async fn connect(&self) -> Socket {
        open(
            &format!("ws://{}/websocket?access_token={ADMIN_TOKEN}", self.addr),
            &[],
        )
        .await
    }

    fn barrier(&self, n: usize) -> String {
        json!({"type": "ping", "uid": format!("barrier-{n}")}).to_string()
    }

    fn is_barrier_answer(&self, n: usize, text: &str) -> bool {
        serde_json::from_str::<Value>(text)
            .is_ok_and(|v| v["type"] == "pong" && v["uid"] == format!("barrier-{n}"))
    }

    fn classify(&self, text: &str) -> Answer {
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
            return Answer::Malformed("not a JSON object".into());
        };
        let Some(kind) = fields.get("type").and_then(Value::as_str) else {
            return Answer::Malformed("no type".into());
        };
        match fields.get("status").and_then(Value::as_str) {
            Some("error") => {
                let error = &fields["error"];
                let code_known = error["code"]
                    .as_str()
                    .is_some_and(|c| ERROR_CODES.contains(&c));
                if code_known && error["message"].is_string() {
                    Answer::Error
                } else {
                    Answer::Malformed("an error without a documented code and message".into())
                }
            }
            Some("ok") | None => match (kind, fields.get("event").and_then(Value::as_str)) {
                // The server's heartbeat, and changes pushed to subscriptions made by the stream.
                ("ping", _) if !fields.contains_key("uid") => Answer::Push,
                ("subscription", Some("create" | "update" | "delete")) => Answer::Push,
                ("pong" | "auth" | "items" | "subscription", _) => Answer::Other,
                _ => Answer::Malformed(format!("unknown type {kind}")),
            },
            Some(other) => Answer::Malformed(format!("status {other}")),
        }
    }

    fn templates(&self) -> Vec<Template> {
        // An unknown type is ignored; a uid may be a string or a number.
        let base = |json| {
            Template::new(json, Expect::ERROR, Expect::ANSWERED)
                .rule("/type", Expect::ERROR, Expect::ANSWERED)
                .rule("/uid", Expect::ANSWERED, Expect::ANSWERED)
        };
        vec![
            base(json!({"type": "ping", "uid": "p1"})),
            base(json!({"type": "subscribe", "collection": "messages",
                        "query": {"fields": ["id", "text"], "limit": 5}, "uid": "s1"}))
            .rule("/collection", Expect::ERROR, Expect::ERROR)
            // `fields` may also be one comma-separated text.
            .rule("/query/fields", Expect::ANSWERED, Expect::ANSWERED)
            .rule("/query/fields/0", Expect::ERROR, Expect::ERROR)
            .rule("/query/fields/1", Expect::ERROR, Expect::ERROR)
            .rule("/query/limit", Expect::ERROR, Expect::ANSWERED),
            base(
                json!({"type": "items", "collection": "messages", "action": "read",
                        "query": {"limit": 1}, "uid": "r1"}),
            )
            .rule("/collection", Expect::ERROR, Expect::ERROR)
            .rule("/action", Expect::ERROR, Expect::ERROR)
            // A null query is no query.
            .rule("/query", Expect::ANSWERED, Expect::ANSWERED)
            .rule("/query/limit", Expect::ERROR, Expect::ANSWERED),
            base(
                json!({"type": "items", "collection": "messages", "action": "create",
                        "data": {"text": "probe"}, "uid": "c1"}),
            )
            .rule("/collection", Expect::ERROR, Expect::ERROR)
            .rule("/action", Expect::ERROR, Expect::ERROR)
            // An empty list creates nothing; any value is a valid text.
            .rule("/data", Expect::ANSWERED, Expect::ANSWERED)
            .rule("/data/text", Expect::ANSWERED, Expect::ANSWERED),
            // A malformed auth message is ignored; a wrong token fails and closes the socket.
            base(json!({"type": "auth", "access_token": ADMIN_TOKEN, "uid": "a1"})).rule(
                "/access_token",
                Expect::ANSWERED,
                Expect::ERROR.or_close(&[NO_STATUS]),
            ),
            base(json!({"type": "unsubscribe", "uid": "nothing"})),
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
        let response = http()
            .post(format!("http://{}/items/messages", self.addr))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"text": KEEP_TEXT}))
            .send()
            .await
            .unwrap_or_else(|err| panic!("directus create: {err}"));
        assert_eq!(response.status(), 200, "directus create");
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|err| panic!("directus create: {err}"));
        assert_eq!(body["data"]["text"], KEEP_TEXT, "{body}");
        self.kept = Some(body["data"]["id"].clone());
    }

    async fn check_stored(&self) {
        let id = self.kept_id();
        let response = http()
            .get(format!("http://{}/items/messages/{id}", self.addr))
            .bearer_auth(READER_TOKEN)
            .send()
            .await
            .unwrap_or_else(|err| panic!("directus read: {err}"));
        assert_eq!(response.status(), 200, "directus read of item {id}");
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|err| panic!("directus read: {err}"));
        assert_eq!(body["data"]["text"], KEEP_TEXT, "{body}");

        let mut socket = self.connect().await;
        let read = json!({"type": "items", "collection": "messages", "action": "read",
                          "id": id, "uid": "kept"});
        send(&mut socket, Message::text(read.to_string())).await;
        let answer = text_until(&mut socket, "the stored directus item", |t| {
            serde_json::from_str::<Value>(t).is_ok_and(|v| v["uid"] == "kept")
        })
        .await;
        let answer: Value = serde_json::from_str(&answer).unwrap_or_default();
        assert_eq!(answer["data"]["text"], KEEP_TEXT, "{answer}");
    }

    fn flood_frame(&self, i: usize) -> String {
        json!({"type": "ping", "uid": i}).to_string()
    }

    fn is_flood_answer(&self, text: &str) -> bool {
        serde_json::from_str::<Value>(text).is_ok_and(|v| v["type"] == "pong" && v["uid"].is_u64())
    }
}
