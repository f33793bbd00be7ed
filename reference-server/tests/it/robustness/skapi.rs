//! The `skapi` profile as the runners see it: alice's socket, where every refused frame gets one
//! `#error`; bob's connection in a group is the state stored before the garbage.

use std::net::SocketAddr;

use reference_server::skapi::config::{ALICE_ID, BOB_ID, DEMO_SERVICE};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::garbage::{Expect, Framing, Template};
use super::profile::{Answer, Profile};
use super::support::{http, open, send, text_until, Socket};

const KEEP_GROUP: &str = "robustness-keep";
const PROBE_GROUP: &str = "robustness-probe";

#[derive(Debug, Clone)]
struct Tokens {
    access: String,
    id: String,
    owner: String,
}

impl Tokens {
    fn identity(&self) -> String {
        format!("IdT:{DEMO_SERVICE}:{}:{}", self.owner, self.id)
    }
}

pub struct Skapi {
    addr: SocketAddr,
    alice: Tokens,
    /// Bob in the kept group, for as long as the test runs.
    witness: Option<Socket>,
}

async fn login(addr: SocketAddr, username: &str) -> Tokens {
    let response = http()
        .post(format!("http://{addr}/skapi/login"))
        .json(&json!({"service": DEMO_SERVICE, "username": username,
                      "password": format!("{username}-password")}))
        .send()
        .await
        .unwrap_or_else(|err| panic!("skapi login: {err}"));
    assert_eq!(response.status(), 200, "skapi login of {username}");
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|err| panic!("skapi login: {err}"));
    let text = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    Tokens {
        access: text("access_token"),
        id: text("id_token"),
        owner: text("owner"),
    }
}

async fn connect_as(addr: SocketAddr, tokens: &Tokens) -> Socket {
    open(
        &format!("ws://{addr}/realtime?token={}", tokens.access),
        &[],
    )
    .await
}

impl Skapi {
    pub async fn new(addr: SocketAddr) -> Skapi {
        Skapi {
            addr,
            alice: login(addr, "alice").await,
            witness: None,
        }
    }
}

impl Profile for Skapi {
    fn name(&self) -> &'static str {
        "skapi"
    }

    async fn connect(&self) -> Socket {
        connect_as(self.addr, &self.alice).await
    }

    fn barrier(&self, n: usize) -> String {
        json!({"action": format!("barrier-{n}")}).to_string()
    }

    fn is_barrier_answer(&self, n: usize, text: &str) -> bool {
        serde_json::from_str::<Value>(text).is_ok_and(|v| {
            v["#error"]
                .as_str()
                .is_some_and(|e| e.contains(&format!("\"barrier-{n}\"")))
        })
    }

    fn classify(&self, text: &str) -> Answer {
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
            return Answer::Malformed("not a JSON object".into());
        };
        if fields.keys().any(|k| !k.starts_with('#')) {
            return Answer::Malformed("a member without #".into());
        }
        if fields.get("#error").is_some_and(Value::is_string) {
            Answer::Error
        } else if ["#message", "#private", "#notice", "#rtc"]
            .iter()
            .any(|k| fields.contains_key(*k))
        {
            Answer::Other
        } else {
            Answer::Malformed("no documented member".into())
        }
    }

    fn templates(&self) -> Vec<Template> {
        let strict = |json| Template::new(json, Expect::ERROR, Expect::ERROR);
        let access = self.alice.access.clone();
        let identity = self.alice.identity();
        vec![
            // A null or empty group leaves; any other name without '#' joins.
            strict(json!({"action": "joinRoom", "rid": PROBE_GROUP, "token": access})).rule(
                "/rid",
                Expect::ANSWERED,
                Expect::ANSWERED,
            ),
            // Any content is relayed to the group, if the socket is in it.
            strict(
                json!({"action": "broadcast", "rid": PROBE_GROUP, "content": {"msg": "hi"},
                          "token": identity}),
            )
            // A mutated joinRoom may have put the socket in a group of any name.
            .rule("/rid", Expect::ERROR, Expect::ANSWERED)
            .rule("/content", Expect::ANSWERED, Expect::ANSWERED)
            .rule("/content/msg", Expect::ANSWERED, Expect::ANSWERED),
            strict(
                json!({"action": "sendMessage", "uid": ALICE_ID, "content": "hi",
                          "token": identity}),
            )
            .rule("/content", Expect::ANSWERED, Expect::ANSWERED),
            strict(
                json!({"action": "rtc", "uid": "cid:nobody", "content": {"pickup": ALICE_ID},
                          "token": access}),
            ),
            strict(json!({"action": "keepAlive"})),
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
        let bob = login(self.addr, "bob").await;
        let mut witness = connect_as(self.addr, &bob).await;
        let join = json!({"action": "joinRoom", "rid": KEEP_GROUP, "token": bob.access});
        send(&mut witness, Message::text(join.to_string())).await;
        text_until(&mut witness, "bob's USER_JOINED", |t| {
            t.contains("USER_JOINED") && t.contains(BOB_ID)
        })
        .await;
        self.witness = Some(witness);
    }

    async fn check_stored(&self) {
        let response = http()
            .post(format!("http://{}/get-ws-group", self.addr))
            .header("authorization", &self.alice.id)
            .json(&json!({"group": KEEP_GROUP}))
            .send()
            .await
            .unwrap_or_else(|err| panic!("skapi get-ws-group: {err}"));
        assert_eq!(response.status(), 200, "skapi get-ws-group");
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|err| panic!("skapi get-ws-group: {err}"));
        let bob = format!("{DEMO_SERVICE}#{BOB_ID}");
        assert!(
            body["list"]
                .as_array()
                .is_some_and(|l| l.iter().any(|m| m["uid"] == bob.as_str())),
            "bob is no longer in {KEEP_GROUP}: {body}"
        );
    }

    fn flood_frame(&self, i: usize) -> String {
        json!({"action": "sendMessage", "uid": ALICE_ID, "content": i,
               "token": self.alice.identity()})
        .to_string()
    }

    fn is_flood_answer(&self, text: &str) -> bool {
        serde_json::from_str::<Value>(text).is_ok_and(|v| v["#private"].is_u64())
    }
}
