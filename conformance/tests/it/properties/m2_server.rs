//! A minimal m2-like server for model tests: WebSocket subscriptions on one loopback port, the kvStore and
//! live-config HTTP actuators on another. It can be right, or wrong in one chosen way.
//! It shares no code with the reference server and speaks just enough m2 for the m2 model and property cases;
//! like a lenient server, it ignores members it does not know.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// How the server departs from the document, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Follows the document.
    None,
    /// Ignores unsubscribe: changes keep arriving after it.
    LeaksAfterUnsubscribe,
    /// Locates kvStore values and live configs by their id alone, ignoring user and organization.
    CrossesTenants,
}

/// Who an API key is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Who {
    user_id: String,
    organization: String,
    project: Option<String>,
    world: Option<String>,
}

const KEYS: [(&str, &str, &str); 3] = [
    ("m2-demo-key", "demoUser", "testOrg"),
    ("m2-demo-key-2", "demoUser2", "testOrg"),
    ("m2-other-key", "otherUser", "otherOrg"),
];

fn who(header: impl Fn(&str) -> Option<String>) -> Option<Who> {
    let key = header("x-api-key")?;
    let (_, user, organization) = KEYS.iter().find(|(k, _, _)| *k == key)?;
    let asked = header("x-m2-organization-id")?;
    (asked == *organization).then(|| Who {
        user_id: (*user).to_owned(),
        organization: (*organization).to_owned(),
        project: header("x-m2-project-id"),
        world: header("x-m2-world-id"),
    })
}

struct Subscriber {
    who: Who,
    resources: BTreeSet<(String, String)>,
    outbox: mpsc::UnboundedSender<String>,
}

struct State {
    fault: Fault,
    values: BTreeMap<String, Value>,
    subscribers: BTreeMap<usize, Subscriber>,
    next_id: usize,
    clock: u64,
}

impl State {
    /// The stored thing a resource names for `who`.
    fn identity(&self, who: &Who, kind: &str, id: &str) -> Option<String> {
        let tenant_blind = self.fault == Fault::CrossesTenants;
        match kind {
            "kvStore" => {
                let mut parts = id.splitn(3, ':');
                let scope = parts.next()?;
                let store = parts.next()?;
                let key = parts.next()?;
                if tenant_blind {
                    return Some(format!("kv|{scope}|{store}|{key}"));
                }
                let project = who.project.clone().unwrap_or_default();
                let world = who.world.clone().unwrap_or_default();
                let place = match scope {
                    "Organization" => who.organization.clone(),
                    "Project" => format!("{}/{project}", who.organization),
                    "World" => format!("{}/{project}/{world}", who.organization),
                    _ => return None,
                };
                Some(format!("kv|{}|{place}|{store}|{key}", who.user_id))
            }
            "collection" => Some(format!(
                "collection|{}|{}|{id}",
                who.organization, who.user_id
            )),
            "liveConfig" if tenant_blind => Some(format!("config|{id}")),
            "liveConfig" => Some(format!(
                "config|{}|{}|{id}",
                who.organization,
                who.project.clone().unwrap_or_default()
            )),
            _ => None,
        }
    }

    fn version(&mut self) -> String {
        self.clock += 1;
        let millis = self.clock % 1000;
        let seconds = self.clock / 1000;
        format!(
            "2024-01-30T{:02}:{:02}:{:02}.{millis:03}Z",
            (seconds / 3600) % 24,
            (seconds / 60) % 60,
            seconds % 60
        )
    }

    fn frame(&mut self, who: &Who, kind: &str, id: &str, data: &Value) -> String {
        json!({
            "userId": who.user_id,
            "resource": {"type": kind, "id": id},
            "data": data,
            "version": self.version(),
        })
        .to_string()
    }

    /// `writer` sets (or, with `None`, deletes) what `kind`/`id` names for it; subscribers are told.
    fn change(&mut self, writer: &Who, kind: &str, id: &str, data: Option<Value>) {
        let Some(target) = self.identity(writer, kind, id) else {
            return;
        };
        match &data {
            Some(value) => self.values.insert(target.clone(), value.clone()),
            None => self.values.remove(&target),
        };
        let data = data.unwrap_or(Value::Null);
        let listeners: Vec<(Who, mpsc::UnboundedSender<String>)> = self
            .subscribers
            .values()
            .filter(|s| s.resources.contains(&(kind.to_owned(), id.to_owned())))
            .filter(|s| self.identity(&s.who, kind, id).as_ref() == Some(&target))
            .map(|s| (s.who.clone(), s.outbox.clone()))
            .collect();
        for (who, outbox) in listeners {
            let frame = self.frame(&who, kind, id, &data);
            let _ = outbox.send(frame);
        }
    }
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running server: its WebSocket URL and its HTTP base URL.
pub struct Server {
    pub ws_url: String,
    pub http_url: String,
}

pub async fn start(fault: Fault) -> Server {
    let state: Shared = Arc::new(Mutex::new(State {
        fault,
        values: BTreeMap::new(),
        subscribers: BTreeMap::new(),
        next_id: 0,
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
            // Small frames must not wait for the client's delayed ACK (Nagle).
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
        caller = who(header);
        if caller.is_some() {
            Ok(response)
        } else {
            let mut refusal = ErrorResponse::new(Some("bad credentials".into()));
            *refusal.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
            Err(refusal)
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
    let (outbox, mut pending) = mpsc::unbounded_channel::<String>();
    let id = {
        let mut state = lock(&state);
        state.next_id += 1;
        let id = state.next_id;
        state.subscribers.insert(
            id,
            Subscriber {
                who: caller.clone(),
                resources: BTreeSet::new(),
                outbox: outbox.clone(),
            },
        );
        id
    };
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(frame) = pending.recv().await {
            if sink.send(Message::text(frame)).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        if let Some(reply) = handle(&state, id, &caller, text.as_str()) {
            let _ = outbox.send(reply);
        }
    }
    writer.abort();
    lock(&state).subscribers.remove(&id);
}

fn handle(state: &Shared, id: usize, caller: &Who, text: &str) -> Option<String> {
    let error = || Some(json!({"error": "Invalid message format"}).to_string());
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        return error();
    };
    let action = message.get("action").and_then(Value::as_str);
    let kind = message.pointer("/resource/type").and_then(Value::as_str);
    let resource = message.pointer("/resource/id").and_then(Value::as_str);
    let (Some(action), Some(kind), Some(resource)) = (action, kind, resource) else {
        return error();
    };
    let mut state = lock(state);
    let key = (kind.to_owned(), resource.to_owned());
    match action {
        "subscribe" => {
            let target = state.identity(caller, kind, resource)?;
            if let Some(subscriber) = state.subscribers.get_mut(&id) {
                subscriber.resources.insert(key);
            }
            match state.values.get(&target).cloned() {
                Some(data) => Some(state.frame(caller, kind, resource, &data)),
                None => Some(
                    json!({"warning": "resource_not_found", "message": "Resource doesn't currently exist, subscription was still made successfully"})
                        .to_string(),
                ),
            }
        }
        "unsubscribe" => {
            if state.fault != Fault::LeaksAfterUnsubscribe {
                if let Some(subscriber) = state.subscribers.get_mut(&id) {
                    subscriber.resources.remove(&key);
                }
            }
            None
        }
        _ => error(),
    }
}

/// One HTTP request: the kvStore upsert/delete and live-config put/delete actuators.
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
    let status = match who(header) {
        None => 401,
        Some(writer) => act(&state, &writer, method, path, &body),
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
    };
    let kv_id = |key: &str| format!("{}:{}:{key}", text("/scope"), text("/store"));
    let mut state = lock(state);
    match (method, path) {
        ("POST", "/api/kvstore/upsert/") => {
            let data = body.get("data").cloned().unwrap_or(Value::Null);
            state.change(writer, "kvStore", &kv_id(text("/key")), Some(data));
            200
        }
        ("POST", "/api/kvstore/delete/") => {
            for key in body
                .get("keys")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                state.change(
                    writer,
                    "kvStore",
                    &kv_id(key.as_str().unwrap_or_default()),
                    None,
                );
            }
            200
        }
        (method, path) if path.starts_with("/api/liveconfig/") => {
            let name = path.trim_start_matches("/api/liveconfig/");
            match method {
                "PUT" => state.change(writer, "liveConfig", name, Some(body.clone())),
                "DELETE" => state.change(writer, "liveConfig", name, None),
                _ => return 405,
            }
            200
        }
        _ => 404,
    }
}
