//! Replays the recordings of the real Directus 12.4.0 server against ours and compares every frame.
//!
//! Each line of a recording is an action (connect, send, REST call, close) or an expectation (a
//! frame, a close, a refused upgrade). Expected frames are checked when the recording next acts, so
//! events caused by a REST call (logged after the event, since the event overtook the response) are
//! awaited after that call. When the client closes, a ping/pong round trip proves no unexpected frame
//! was sent. Credentials of the recording are mapped to the demo ones; tokens the server issues are
//! learned from its replies and substituted into later messages.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use base64::Engine;
use reference_server::directus::config::{
    DEMO_ADMIN_PASSWORD, DEMO_ADMIN_TOKEN, DEMO_READER_TOKEN,
};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::support::{Client, Frame, Server};

const RECORDED_HOST: &str = "127.0.0.1:18055";

/// Rewrites a recorded or received message before comparison (both sides get it).
pub type Normalize = fn(&Value) -> Value;

pub struct Replay<'a> {
    server: &'a Server,
    scenario: String,
    lines: Vec<Value>,
    skip: HashSet<String>,
    normalize: Normalize,
    /// Recorded credential → ours.
    substitutions: Vec<(String, String)>,
}

fn keep(value: &Value) -> Value {
    value.clone()
}

/// Drops `expires` (the recording's access-token lifetime) from REST replies.
pub fn without_expires(value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(data) = value.get_mut("data").and_then(Value::as_object_mut) {
        data.remove("expires");
    }
    value
}

struct Connection {
    client: Client,
    expected: Vec<(usize, Value)>,
    client_closing: bool,
}

fn recording(scenario: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/directus/transcripts/real-12.4.0")
        .join(format!("{scenario}.jsonl"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|err| panic!("bad line in {scenario}: {err}"))
        })
        .collect()
}

impl<'a> Replay<'a> {
    pub fn new(server: &'a Server, scenario: &str) -> Replay<'a> {
        Replay {
            server,
            scenario: scenario.to_owned(),
            lines: recording(scenario),
            skip: HashSet::new(),
            normalize: keep,
            substitutions: vec![
                (
                    "research-static-admin-token".into(),
                    DEMO_ADMIN_TOKEN.into(),
                ),
                (
                    "research-static-user-token".into(),
                    DEMO_READER_TOKEN.into(),
                ),
                ("adminpass123".into(), DEMO_ADMIN_PASSWORD.into()),
                (RECORDED_HOST.into(), server.addr.to_string()),
            ],
        }
    }

    /// Leaves out a connection of the recording (and everything it did).
    pub fn skip(mut self, conn: &str) -> Self {
        self.skip.insert(conn.to_owned());
        self
    }

    pub fn normalize(mut self, normalize: Normalize) -> Self {
        self.normalize = normalize;
        self
    }

    fn substitute(&self, text: &str) -> String {
        self.substitutions
            .iter()
            .fold(text.to_owned(), |acc, (from, to)| acc.replace(from, to))
    }

    fn place(&self, line: usize) -> String {
        format!("{} line {}", self.scenario, line + 1)
    }

    pub async fn run(mut self) {
        let lines = std::mem::take(&mut self.lines);
        let mut conns: HashMap<String, Connection> = HashMap::new();
        for (n, line) in lines.iter().enumerate() {
            let conn = line["conn"].as_str().unwrap_or_default().to_owned();
            if self.skip.contains(&conn) {
                continue;
            }
            match line["dir"].as_str().unwrap_or_default() {
                "s2c" => {
                    if let Some(c) = conns.get_mut(&conn) {
                        c.expected.push((n, line["json"].clone()));
                    } else {
                        panic!("{}: frame for an unknown connection", self.place(n));
                    }
                }
                "c2s" => {
                    self.flush_all(&mut conns).await;
                    let message = if let Some(text) = line["text"].as_str() {
                        Message::text(self.substitute(text))
                    } else if let Some(b64) = line["binary_b64"].as_str() {
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .unwrap_or_else(|err| panic!("{}: bad base64: {err}", self.place(n)));
                        Message::binary(bytes)
                    } else if line["ws_ping_frame"].is_string() {
                        Message::Ping(Default::default())
                    } else {
                        panic!(
                            "{}: this kind of frame is not replayable; skip the connection",
                            self.place(n)
                        );
                    };
                    match conns.get_mut(&conn) {
                        Some(c) => c.client.send_message(message).await,
                        None => panic!("{}: send on an unknown connection", self.place(n)),
                    }
                }
                "rest" => self.rest(n, line).await,
                "evt" => self.event(n, line, &lines, &conn, &mut conns).await,
                _ => {}
            }
        }
        self.flush_all(&mut conns).await;
        for (_, c) in conns.drain() {
            c.client.close().await;
        }
    }

    async fn flush_all(&mut self, conns: &mut HashMap<String, Connection>) {
        let mut names: Vec<String> = conns.keys().cloned().collect();
        names.sort();
        for name in names {
            if let Some(c) = conns.get_mut(&name) {
                let expected = std::mem::take(&mut c.expected);
                for (n, frame) in expected {
                    let got = c.client.recv().await;
                    self.compare(n, &frame, &got);
                }
            }
        }
    }

    fn compare(&mut self, n: usize, recorded: &Value, got: &Value) {
        let recorded = (self.normalize)(recorded);
        let got = (self.normalize)(got);
        if !self.unify(&recorded, &got) {
            panic!(
                "{}: frame differs\n recorded: {recorded}\n      got: {got}",
                self.place(n)
            );
        }
    }

    /// Structural equality, except issued tokens, which are learned: recorded token → ours.
    fn unify(&mut self, recorded: &Value, got: &Value) -> bool {
        match (recorded, got) {
            (Value::Object(r), Value::Object(g)) => {
                r.len() == g.len()
                    && r.iter().all(|(k, rv)| match g.get(k) {
                        Some(gv) if k == "access_token" || k == "refresh_token" => {
                            match (rv.as_str(), gv.as_str()) {
                                (Some(rt), Some(gt)) => {
                                    self.substitutions.push((rt.to_owned(), gt.to_owned()));
                                    true
                                }
                                _ => false,
                            }
                        }
                        Some(gv) => self.unify(rv, gv),
                        None => false,
                    })
            }
            (Value::Array(r), Value::Array(g)) => {
                r.len() == g.len() && r.iter().zip(g).all(|(rv, gv)| self.unify(rv, gv))
            }
            _ => recorded == got,
        }
    }

    async fn rest(&mut self, n: usize, line: &Value) {
        let method = line["method"].as_str().unwrap_or("GET");
        let path = self.substitute(line["path"].as_str().unwrap_or("/"));
        let body = line.get("req").map(|b| {
            serde_json::from_str(&self.substitute(&b.to_string()))
                .unwrap_or_else(|err| panic!("{}: bad request body: {err}", self.place(n)))
        });
        let (status, got) = self.server.rest(method, &path, body).await;
        assert_eq!(
            Some(u64::from(status)),
            line["status"].as_u64(),
            "{}: status of {method} {path} ({got})",
            self.place(n)
        );
        let recorded = match &line["res"] {
            Value::String(s) if s.is_empty() => Value::Null,
            other => other.clone(),
        };
        self.compare(n, &recorded, &got);
    }

    async fn event(
        &mut self,
        n: usize,
        line: &Value,
        lines: &[Value],
        conn: &str,
        conns: &mut HashMap<String, Connection>,
    ) {
        match line["evt"].as_str().unwrap_or_default() {
            "connect" => {
                let url = self.substitute(line["url"].as_str().unwrap_or_default());
                let headers: Vec<(String, String)> = line["headers"]
                    .as_object()
                    .map(|h| {
                        h.iter()
                            .map(|(k, v)| {
                                (k.clone(), self.substitute(v.as_str().unwrap_or_default()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let refusal = refusal_after(lines, n, conn);
                let header_refs: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                match (Client::try_connect(&url, &header_refs).await, refusal) {
                    (Ok(client), None) => {
                        conns.insert(
                            conn.to_owned(),
                            Connection {
                                client,
                                expected: Vec::new(),
                                client_closing: false,
                            },
                        );
                    }
                    (Err(status), Some(expected)) => {
                        assert_eq!(
                            u64::from(status),
                            expected,
                            "{}: refusal status",
                            self.place(n)
                        )
                    }
                    (Ok(_), Some(expected)) => {
                        panic!(
                            "{}: accepted, the real server answered {expected}",
                            self.place(n)
                        )
                    }
                    (Err(status), None) => {
                        panic!(
                            "{}: refused with {status}, the real server accepted",
                            self.place(n)
                        )
                    }
                }
            }
            "client-close" => {
                self.flush_all(conns).await;
                if let Some(c) = conns.get_mut(conn) {
                    c.client.quiet().await;
                    let frame = line["code"].as_u64().map(|code| CloseFrame {
                        code: CloseCode::from(u16::try_from(code).unwrap_or(1000)),
                        reason: line["reason"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned()
                            .into(),
                    });
                    c.client.send_message(Message::Close(frame)).await;
                    c.client_closing = true;
                }
            }
            "close" => {
                self.flush_all(conns).await;
                let Some(mut c) = conns.remove(conn) else {
                    return;
                };
                let code = line["code"].as_u64();
                if c.client_closing {
                    // Our own close is echoed; nothing to compare beyond the end of the stream.
                    let (extra, _) = c.client.closed().await;
                    assert!(
                        extra.is_empty(),
                        "{}: frames after close: {extra:?}",
                        self.place(n)
                    );
                } else if code == Some(1006) {
                    // The recording's client dropped the connection without a close frame.
                    drop(c);
                } else {
                    let (extra, end) = c.client.closed().await;
                    assert!(
                        extra.is_empty(),
                        "{}: unexpected frames {extra:?}",
                        self.place(n)
                    );
                    let expected = match code {
                        Some(1005) | None => Frame::Close(None),
                        Some(code) => Frame::Close(u16::try_from(code).ok()),
                    };
                    assert_eq!(end, expected, "{}: close", self.place(n));
                }
            }
            _ => {}
        }
    }
}

/// The status of an `unexpected-response` recorded for `conn` after line `n`, if the upgrade failed.
fn refusal_after(lines: &[Value], n: usize, conn: &str) -> Option<u64> {
    lines
        .iter()
        .skip(n + 1)
        .filter(|l| l["conn"] == json!(conn))
        .take_while(|l| l["evt"] != json!("open"))
        .find(|l| l["evt"] == json!("unexpected-response"))
        .and_then(|l| l["status"].as_u64())
}
