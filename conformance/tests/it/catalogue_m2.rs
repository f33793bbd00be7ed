//! The m2 catalogue can fail: a small m2 server, wrong in one chosen way, makes the case checking that sentence
//! fail with a reason that says what went wrong; the same server without its flaw passes those cases.
//! The target is the m2 section of `targets/reference-server.toml` pointed at the test server, so the shipped
//! credentials and actuators are exercised too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use conformance::case::Outcome;
use conformance::runner::CaseReport;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{run_case, target_for};

/// The one way the test server departs from the documents, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    None,
    /// A frame that is not JSON gets no reply.
    SilentOnInvalidJson,
    /// The error reply is followed by a close.
    ClosesOnError,
    /// kvStore values are located by their id alone, whoever and wherever the writer is.
    CrossesOrganizations,
    /// A deletion pushes `data: null` and then forgets the subscription.
    DropsListenerOnDelete,
    /// Every message carries the seed example's version.
    FrozenVersion,
    /// An unsubscribe changes nothing.
    IgnoresUnsubscribe,
    /// A handshake without an organization is upgraded, in the API key's organization.
    AcceptsWithoutOrganization,
}

/// Runs catalogue case `id` against a fresh test server with `flaw`.
async fn run(id: &str, flaw: Flaw) -> CaseReport {
    let server = start(flaw).await;
    let section = m2_section(&server.ws_url);
    run_case(id, target_for(&section, &server.http_url)).await
}

/// The `[m2]` section of the shipped target file, its WebSocket URL replaced by the test server's.
fn m2_section(ws_url: &str) -> String {
    let shipped = include_str!("../../targets/reference-server.toml");
    let start = shipped
        .find("[m2]\n")
        .expect("the target file has an [m2] section");
    let rest = &shipped[start..];
    let end = rest.find("\n# ----").unwrap_or(rest.len());
    let section = &rest[..end];
    let url = "url = \"{{ws_endpoint}}/api/realtime/connect/\"";
    assert!(section.contains(url), "the [m2] url line moved: {section}");
    section.replace(url, &format!("url = \"{ws_url}\""))
}

fn failure(report: &CaseReport) -> &str {
    match &report.outcome {
        Outcome::Fail(reason) => reason,
        other => panic!(
            "{} should fail, got {other:?}\n{:#?}",
            report.case.id, report.transcript
        ),
    }
}

/// (case, the flaw that must fail it, words its reason must hold)
const FLAWED: &[(&str, Flaw, &[&str])] = &[
    (
        "m2.subscribe.liveconfig-example-as-printed",
        Flaw::SilentOnInvalidJson,
        &[
            "after sending the Liveconfig example with typographic quotes",
            "Invalid message format",
            "nothing arrived",
        ],
    ),
    (
        "m2.message.invalid-json",
        Flaw::ClosesOnError,
        &[
            "the connection must stay usable after the error answering subscribe kvStore",
            "the server closed it with code",
        ],
    ),
    (
        "m2.isolation.organization-kvstore",
        Flaw::CrossesOrganizations,
        &[
            "received the value a user of another organization (`other_tenant`) wrote under the same id",
            r#""writer":"other_tenant""#,
        ],
    ),
    (
        "m2.update.listener-survives-delete",
        Flaw::DropsListenerOnDelete,
        &[
            "the subscription must still exist after the deletion and fire on re-creation",
            "carrying the re-created value",
        ],
    ),
    (
        "m2.update.newer-version",
        Flaw::FrozenVersion,
        &["write 1: version \"2024-01-30T15:50:35.742Z\" is not newer than the previous"],
    ),
    (
        "m2.unsubscribe.stops-pushes",
        Flaw::IgnoresUnsubscribe,
        &["was pushed after it was unsubscribed", "dropped-"],
    ),
    (
        "m2.connect.missing-organization",
        Flaw::AcceptsWithoutOrganization,
        &["the server accepted the WebSocket upgrade of a handshake without x-m2-organization-id"],
    ),
];

#[tokio::test]
async fn each_flaw_fails_its_case_with_a_reason_naming_it() {
    for (id, flaw, words) in FLAWED {
        let report = run(id, *flaw).await;
        let reason = failure(&report);
        for word in *words {
            assert!(reason.contains(word), "{id} against {flaw:?}: {reason}");
        }
    }
}

#[tokio::test]
async fn the_same_cases_pass_against_the_server_without_flaw() {
    for (id, _, _) in FLAWED {
        let report = run(id, Flaw::None).await;
        assert_eq!(
            report.outcome,
            Outcome::Pass,
            "{id}\n{:#?}",
            report.transcript
        );
    }
}

#[tokio::test]
async fn a_flaw_does_not_fail_the_cases_of_other_sentences() {
    // The organization leak is invisible to a single user, and a frozen version to a single reply.
    for (id, flaw) in [
        (
            "m2.subscribe.listener-fires-on-create",
            Flaw::CrossesOrganizations,
        ),
        ("m2.subscribe.kvstore-current-value", Flaw::FrozenVersion),
        ("m2.update.push-on-change", Flaw::DropsListenerOnDelete),
    ] {
        let report = run(id, flaw).await;
        assert_eq!(
            report.outcome,
            Outcome::Pass,
            "{id} against {flaw:?}\n{:#?}",
            report.transcript
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The test server: WebSocket subscriptions on one loopback port, the kvStore and live-config actuators of the
// shipped target file on another. It shares no code with the reference server.

const KEYS: [(&str, &str, &str); 4] = [
    ("m2-demo-key", "demoUser", "testOrg"),
    ("m2-demo-key-2", "demoUser2", "testOrg"),
    ("m2-demo-service-key", "demoService", "testOrg"),
    ("m2-other-key", "otherUser", "otherOrg"),
];

const SEED_VERSION: &str = "2024-01-30T15:50:35.742Z";

#[derive(Debug, Clone)]
struct Who {
    user: String,
    organization: String,
    project: String,
    world: String,
}

/// Who the headers name; `Err(status)` refuses them.
fn who(flaw: Flaw, header: impl Fn(&str) -> Option<String>) -> Result<Who, u16> {
    let key = header("x-api-key").ok_or(401u16)?;
    let (_, user, organization) = KEYS.iter().find(|(k, _, _)| *k == key).ok_or(401u16)?;
    let asked = match header("x-m2-organization-id") {
        Some(asked) => asked,
        None if flaw == Flaw::AcceptsWithoutOrganization => (*organization).to_owned(),
        None => return Err(401),
    };
    if asked != *organization {
        return Err(403);
    }
    let project = header("x-m2-project-id");
    let world = header("x-m2-world-id");
    if world.is_some() && project.is_none() {
        return Err(400);
    }
    Ok(Who {
        user: (*user).to_owned(),
        organization: asked,
        project: project.unwrap_or_default(),
        world: world.unwrap_or_default(),
    })
}

struct Subscriber {
    who: Who,
    resources: BTreeSet<(String, String)>,
    outbox: mpsc::UnboundedSender<Message>,
}

struct State {
    flaw: Flaw,
    /// Stored thing → (data, version).
    values: BTreeMap<String, (Value, String)>,
    subscribers: BTreeMap<usize, Subscriber>,
    next_subscriber: usize,
    clock: u64,
}

impl State {
    /// The stored thing `kind`/`id` names for `user` connected as `who`; `None` for an id of the wrong form.
    fn identity(&self, who: &Who, user: &str, kind: &str, id: &str) -> Option<String> {
        match kind {
            "kvStore" => {
                let mut parts = id.splitn(3, ':');
                let (scope, store, key) = (parts.next()?, parts.next()?, parts.next()?);
                let place = match scope {
                    "Organization" => who.organization.clone(),
                    "Project" => format!("{}/{}", who.organization, who.project),
                    "World" => format!("{}/{}/{}", who.organization, who.project, who.world),
                    _ => return None,
                };
                let known_store = matches!(store, "kvstoreClient" | "kvstoreServer");
                if !known_store || key.is_empty() {
                    return None;
                }
                Some(if self.flaw == Flaw::CrossesOrganizations {
                    format!("kv|{scope}|{store}|{key}")
                } else {
                    format!("kv|{user}|{place}|{store}|{key}")
                })
            }
            "liveConfig" if !id.is_empty() && !id.contains(char::is_whitespace) => {
                Some(format!("config|{}|{}|{id}", who.organization, who.project))
            }
            "collection" if id == "public" || id == "private" => {
                Some(format!("collection|{user}|{id}"))
            }
            _ => None,
        }
    }

    fn tick(&mut self) -> String {
        if self.flaw == Flaw::FrozenVersion {
            return SEED_VERSION.to_owned();
        }
        self.clock += 1;
        let (seconds, millis) = (self.clock / 1000, self.clock % 1000);
        format!(
            "2024-01-30T{:02}:{:02}:{:02}.{millis:03}Z",
            (seconds / 3600) % 24,
            (seconds / 60) % 60,
            seconds % 60
        )
    }

    /// `writer` sets (`Some`) or deletes (`None`) what `kind`/`id` names for `user`; subscribers are told.
    fn change(&mut self, writer: &Who, user: &str, kind: &str, id: &str, data: Option<Value>) {
        let Some(target) = self.identity(writer, user, kind, id) else {
            return;
        };
        let version = self.tick();
        match &data {
            Some(value) => self
                .values
                .insert(target.clone(), (value.clone(), version.clone())),
            None => self.values.remove(&target),
        };
        let key = (kind.to_owned(), id.to_owned());
        let listening: Vec<usize> = self
            .subscribers
            .iter()
            .filter(|(_, s)| s.resources.contains(&key))
            .filter(|(_, s)| self.identity(&s.who, &s.who.user, kind, id).as_ref() == Some(&target))
            .map(|(n, _)| *n)
            .collect();
        for n in listening {
            let Some(subscriber) = self.subscribers.get_mut(&n) else {
                continue;
            };
            let frame = json!({
                "userId": subscriber.who.user,
                "resource": {"type": kind, "id": id},
                "data": data.clone().unwrap_or(Value::Null),
                "version": version,
            });
            let _ = subscriber.outbox.send(Message::text(frame.to_string()));
            if data.is_none() && self.flaw == Flaw::DropsListenerOnDelete {
                subscriber.resources.remove(&key);
            }
        }
    }
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Server {
    ws_url: String,
    http_url: String,
}

async fn start(flaw: Flaw) -> Server {
    let state: Shared = Arc::new(Mutex::new(State {
        flaw,
        values: BTreeMap::new(),
        subscribers: BTreeMap::new(),
        next_subscriber: 0,
        clock: 0,
    }));
    let ws = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let http = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let server = Server {
        ws_url: format!(
            "ws://{}/api/realtime/connect/",
            ws.local_addr().expect("address")
        ),
        http_url: format!("http://{}", http.local_addr().expect("address")),
    };
    let for_ws = state.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = ws.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(socket(stream, for_ws.clone()));
        }
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = http.accept().await {
            tokio::spawn(request(stream, state.clone()));
        }
    });
    server
}

async fn socket(stream: TcpStream, state: Shared) {
    let flaw = lock(&state).flaw;
    let mut caller = None;
    #[allow(clippy::result_large_err)] // tungstenite's callback signature
    let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        match who(flaw, header) {
            Ok(found) => {
                caller = Some(found);
                Ok(response)
            }
            Err(status) => {
                let mut refusal = ErrorResponse::new(Some("refused".into()));
                *refusal.status_mut() =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
                Err(refusal)
            }
        }
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    let Ok(socket) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)).await
    else {
        return;
    };
    let Some(caller) = caller else {
        return;
    };
    let (outbox, mut pending) = mpsc::unbounded_channel::<Message>();
    let me = {
        let mut state = lock(&state);
        state.next_subscriber += 1;
        let me = state.next_subscriber;
        state.subscribers.insert(
            me,
            Subscriber {
                who: caller.clone(),
                resources: BTreeSet::new(),
                outbox: outbox.clone(),
            },
        );
        me
    };
    let (mut sink, mut source) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(message) = pending.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
    });
    while let Some(Ok(message)) = source.next().await {
        let text = match message {
            Message::Text(text) => text.as_str().to_owned(),
            Message::Binary(_) => String::new(),
            _ => continue,
        };
        let reply = handle(&state, me, &caller, &text);
        let error = reply.as_ref().is_some_and(|r| r.get("error").is_some());
        if let Some(reply) = reply {
            let _ = outbox.send(Message::text(reply.to_string()));
        }
        if error && flaw == Flaw::ClosesOnError {
            let _ = outbox.send(Message::Close(None));
            break;
        }
    }
    lock(&state).subscribers.remove(&me);
    let _ = writer.await;
}

/// The reply to one client frame, if any.
fn handle(state: &Shared, me: usize, caller: &Who, text: &str) -> Option<Value> {
    let error = Some(json!({"error": "Invalid message format"}));
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        return if lock(state).flaw == Flaw::SilentOnInvalidJson {
            None
        } else {
            error
        };
    };
    let action = message.get("action").and_then(Value::as_str);
    let kind = message.pointer("/resource/type").and_then(Value::as_str);
    let id = message.pointer("/resource/id").and_then(Value::as_str);
    let (Some(action), Some(kind), Some(id)) = (action, kind, id) else {
        return error;
    };
    let mut state = lock(state);
    let Some(target) = state.identity(caller, &caller.user, kind, id) else {
        return error;
    };
    let key = (kind.to_owned(), id.to_owned());
    let ignores_unsubscribe = state.flaw == Flaw::IgnoresUnsubscribe;
    let subscriber = state.subscribers.get_mut(&me)?;
    match action {
        "subscribe" => {
            subscriber.resources.insert(key);
            Some(match state.values.get(&target) {
                Some((data, version)) => json!({
                    "userId": caller.user,
                    "resource": {"type": kind, "id": id},
                    "data": data,
                    "version": version,
                }),
                None => json!({
                    "warning": "resource_not_found",
                    "message": "Resource doesn't currently exist, subscription was still made successfully",
                }),
            })
        }
        "unsubscribe" => {
            if !ignores_unsubscribe {
                subscriber.resources.remove(&key);
            }
            None
        }
        _ => error,
    }
}

/// One HTTP request of the shipped target file's m2 actuators.
async fn request(mut stream: TcpStream, state: Shared) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head, body) = loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
        let length = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if buffer.len() >= end + 4 + length {
            break (head, buffer[end + 4..end + 4 + length].to_vec());
        }
    };
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let flaw = lock(&state).flaw;
    let status = match who(flaw, header) {
        Err(status) => status,
        Ok(writer) => act(&state, &writer, method, path, &body),
    };
    let reply = json!({"status": if status == 200 { "ok" } else { "error" }}).to_string();
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
        reply.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn act(state: &Shared, writer: &Who, method: &str, path: &str, body: &Value) -> u16 {
    let text = |pointer: &str| {
        body.pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let user = text("/id");
    let kv_id = |key: &str| format!("{}:{}:{key}", text("/scope"), text("/store"));
    let mut state = lock(state);
    match (method, path) {
        ("POST", "/api/kvstore/upsert/") => {
            let data = body.get("data").cloned().unwrap_or(Value::Null);
            state.change(writer, &user, "kvStore", &kv_id(&text("/key")), Some(data));
            200
        }
        ("POST", "/api/kvstore/delete/") => {
            let keys = body.get("keys").and_then(Value::as_array).cloned();
            for key in keys.unwrap_or_default() {
                let id = kv_id(key.as_str().unwrap_or_default());
                state.change(writer, &user, "kvStore", &id, None);
            }
            200
        }
        (method, path) if path.starts_with("/api/liveconfig/") => {
            let name = path.trim_start_matches("/api/liveconfig/");
            let user = writer.user.clone();
            match method {
                "PUT" => state.change(writer, &user, "liveConfig", name, Some(body.clone())),
                "DELETE" => state.change(writer, &user, "liveConfig", name, None),
                _ => return 405,
            }
            200
        }
        _ => 404,
    }
}
