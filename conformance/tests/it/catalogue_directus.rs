//! The directus catalogue can fail: a small in-test Directus-ish server passes the cases below when it is right,
//! and, wrong in one chosen way, makes the case checking that sentence fail for the reason the sentence gives.
//! The server shares no code with the reference server and speaks only what these cases need.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use conformance::case::Outcome;
use conformance::runner::CaseReport;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{run_case, target_for};

/// The one way the server is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// None: the server does what the cases below check.
    Correct,
    /// Sends every kind of event to a subscription made with an `event` filter.
    IgnoresEventFilter,
    /// Sends whole items to a subscription made with `query.fields`.
    IgnoresFields,
    /// Update events carry only the key and the changed fields.
    UpdateCarriesChangesOnly,
    /// A second subscribe with a uid in use adds a subscription instead of replacing it.
    ResubscribeAdds,
    /// An unsubscribe without uid is acknowledged but removes nothing.
    UnsubscribeAllIgnored,
    /// An unsubscribe with a uid removes the subscriptions of that uid on every socket.
    UnsubscribeAcrossSockets,
    /// A collection that exists but may not be read is refused with its own message.
    ForbiddenTellsExistence,
    /// Events go to every subscription of every collection.
    EventsIgnoreCollection,
    /// An unknown message type gets an error reply.
    RepliesToUnknownType,
    /// A frame that is not JSON closes the connection.
    ClosesOnBadJson,
    /// A ping's numeric uid comes back as a string on the pong.
    PongUidAsString,
    /// A first message other than `auth` is served as if the socket were an administrator's.
    AcceptsSubscribeBeforeAuth,
}

const TARGET: &str = r#"
[directus]
url = "{{ws_endpoint}}/websocket"
parameters = { auth_mode = "handshake", collection = "messages", secret_collection = "secrets", secret_field = "value" }
[directus.credentials.primary]
label = "admin"
access_token = "admin-token"
[directus.credentials.reader]
label = "reader"
access_token = "reader-token"
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Admin,
    Reader,
}

impl Role {
    fn may_read(self, collection: &str) -> bool {
        match self {
            Role::Admin => COLLECTIONS.contains(&collection),
            Role::Reader => collection == "messages",
        }
    }
}

const COLLECTIONS: [&str; 2] = ["messages", "secrets"];

struct Subscription {
    conn: u64,
    uid: Option<String>,
    collection: String,
    event: Option<String>,
    fields: Option<Vec<String>>,
    out: mpsc::UnboundedSender<Outgoing>,
}

enum Outgoing {
    Text(String),
    /// A close frame without status, as the real server sends.
    Close,
}

struct State {
    flaw: Flaw,
    subscriptions: Mutex<Vec<Subscription>>,
    items: Mutex<BTreeMap<String, BTreeMap<u64, Value>>>,
    next_id: AtomicU64,
    next_conn: AtomicU64,
}

async fn serve(flaw: Flaw) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let state = Arc::new(State {
        flaw,
        subscriptions: Mutex::default(),
        items: Mutex::default(),
        next_id: AtomicU64::new(0),
        next_conn: AtomicU64::new(0),
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream, state.clone()));
        }
    });
    format!("http://{addr}")
}

fn key_text(uid: &Value) -> Option<String> {
    match uid {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `value` with member `uid` added when the request had one.
fn with_uid(mut value: Value, uid: Option<&Value>) -> Value {
    if let (Value::Object(members), Some(uid)) = (&mut value, uid) {
        members.insert("uid".into(), uid.clone());
    }
    value
}

fn error(kind: &str, code: &str, message: &str) -> Value {
    json!({"type": kind, "status": "error", "error": {"code": code, "message": message}})
}

fn project(item: &Value, fields: Option<&[String]>) -> Value {
    match (item, fields) {
        (Value::Object(members), Some(fields)) => Value::Object(
            members
                .iter()
                .filter(|(k, _)| fields.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<_, _>>(),
        ),
        _ => item.clone(),
    }
}

async fn connection(stream: TcpStream, state: Arc<State>) {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    let Ok(socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut source) = socket.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Outgoing>();
    tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            let message = match message {
                Outgoing::Text(text) => Message::text(text),
                Outgoing::Close => Message::Close(None),
            };
            if sink.send(message).await.is_err() {
                break;
            }
        }
    });
    let mut role: Option<Role> = None;
    while let Some(Ok(message)) = source.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let send = |value: Value| {
            let _ = out.send(Outgoing::Text(value.to_string()));
        };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            if state.flaw == Flaw::ClosesOnBadJson {
                let _ = out.send(Outgoing::Close);
                break;
            }
            send(error(
                "server",
                "INVALID_PAYLOAD",
                "Unable to parse the incoming message.",
            ));
            continue;
        };
        let Some(kind) = frame.get("type").and_then(Value::as_str) else {
            send(error(
                "server",
                "INVALID_PAYLOAD",
                "Validation error: expected a message object with a type",
            ));
            continue;
        };
        let uid = frame.get("uid");
        if kind == "auth" || role.is_none() {
            let token = frame.get("access_token").and_then(Value::as_str);
            let granted = match (kind, token) {
                ("auth", Some("admin-token")) => Some(Role::Admin),
                ("auth", Some("reader-token")) => Some(Role::Reader),
                ("auth", _) => None,
                _ if state.flaw == Flaw::AcceptsSubscribeBeforeAuth => Some(Role::Admin),
                _ => None,
            };
            match granted {
                Some(granted) => role = Some(granted),
                None => {
                    send(error(
                        "auth",
                        "AUTH_FAILED",
                        "Authentication handshake failed.",
                    ));
                    let _ = out.send(Outgoing::Close);
                    break;
                }
            }
            if kind == "auth" {
                send(with_uid(json!({"type": "auth", "status": "ok"}), uid));
                continue;
            }
        }
        let Some(role) = role else { continue };
        match kind {
            "ping" => {
                let echoed = match (state.flaw, uid) {
                    (Flaw::PongUidAsString, Some(uid)) => key_text(uid).map(Value::String),
                    (_, uid) => uid.cloned(),
                };
                send(with_uid(json!({"type": "pong"}), echoed.as_ref()));
            }
            "subscribe" => subscribe(&state, conn, role, &frame, &out),
            "unsubscribe" => {
                let named = uid.and_then(key_text);
                let mut subscriptions = state.subscriptions.lock().unwrap();
                match &named {
                    Some(named) if state.flaw == Flaw::UnsubscribeAcrossSockets => {
                        subscriptions.retain(|s| s.uid.as_deref() != Some(named.as_str()))
                    }
                    Some(named) => subscriptions
                        .retain(|s| !(s.conn == conn && s.uid.as_deref() == Some(named.as_str()))),
                    None if state.flaw == Flaw::UnsubscribeAllIgnored => {}
                    None => subscriptions.retain(|s| s.conn != conn),
                }
                drop(subscriptions);
                let ack = json!({"type": "subscription", "event": "unsubscribe"});
                send(with_uid(ack, named.map(Value::String).as_ref()));
            }
            "items" => send(with_uid(items(&state, role, &frame), uid)),
            "pong" => {}
            _ if state.flaw == Flaw::RepliesToUnknownType => send(error(
                "server",
                "INVALID_PAYLOAD",
                "Validation error: unknown type",
            )),
            _ => {}
        }
    }
    state
        .subscriptions
        .lock()
        .unwrap()
        .retain(|s| s.conn != conn);
}

fn subscribe(
    state: &State,
    conn: u64,
    role: Role,
    frame: &Value,
    out: &mpsc::UnboundedSender<Outgoing>,
) {
    let uid = frame.get("uid");
    let send = |value: Value| {
        let _ = out.send(Outgoing::Text(value.to_string()));
    };
    let Some(collection) = frame.get("collection").and_then(Value::as_str) else {
        send(error(
            "subscribe",
            "INVALID_PAYLOAD",
            "Validation error: expected string at \"collection\"",
        ));
        return;
    };
    if !role.may_read(collection) {
        let message = if state.flaw == Flaw::ForbiddenTellsExistence
            && COLLECTIONS.contains(&collection)
        {
            format!("You may not read collection \"{collection}\".")
        } else {
            format!(
                "You don't have permission to access collection \"{collection}\" or it does not exist."
            )
        };
        send(with_uid(error("subscribe", "FORBIDDEN", &message), uid));
        return;
    }
    let event = frame
        .get("event")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let fields = frame
        .pointer("/query/fields")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
    let uid = uid.and_then(key_text);
    let mut subscriptions = state.subscriptions.lock().unwrap();
    if uid.is_some() && state.flaw != Flaw::ResubscribeAdds {
        subscriptions.retain(|s| !(s.conn == conn && s.uid == uid));
    }
    subscriptions.push(Subscription {
        conn,
        uid: uid.clone(),
        collection: collection.to_owned(),
        event: event.clone(),
        fields: fields.clone(),
        out: out.clone(),
    });
    drop(subscriptions);
    let mut init = json!({"type": "subscription", "event": "init"});
    if event.is_none() {
        let items = state.items.lock().unwrap();
        let data: Vec<Value> = items
            .get(collection)
            .map(|c| c.values().map(|i| project(i, fields.as_deref())).collect())
            .unwrap_or_default();
        init["data"] = Value::Array(data);
    }
    send(with_uid(init, uid.map(Value::String).as_ref()));
}

/// Handles an `items` request; returns the reply without uid.
fn items(state: &State, role: Role, frame: &Value) -> Value {
    let collection = frame
        .get("collection")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let action = frame
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let forbidden = || {
        error(
            "items",
            "FORBIDDEN",
            &format!(
                "You don't have permission to access collection \"{collection}\" or it does not exist."
            ),
        )
    };
    if collection.starts_with("directus_") {
        return error(
            "items",
            "INVALID_COLLECTION",
            "Cannot trigger an action on a system collection.",
        );
    }
    if !role.may_read(collection) || (action != "read" && role != Role::Admin) {
        return forbidden();
    }
    let id = frame
        .get("id")
        .and_then(|id| key_text(id)?.parse::<u64>().ok());
    let mut items = state.items.lock().unwrap();
    let stored = items.entry(collection.to_owned()).or_default();
    let (reply, event) = match (action, id) {
        ("create", _) => {
            let id = state.next_id.fetch_add(1, Ordering::Relaxed) + 1;
            let mut item = frame.get("data").cloned().unwrap_or(json!({}));
            item["id"] = json!(id);
            stored.insert(id, item.clone());
            (item.clone(), Some(("create", json!([item]))))
        }
        ("read", Some(id)) => match stored.get(&id) {
            Some(item) => (item.clone(), None),
            None => {
                return error(
                    "items",
                    "FORBIDDEN",
                    "You don't have permission to access this.",
                );
            }
        },
        ("update", Some(id)) => {
            let Some(item) = stored.get_mut(&id) else {
                return forbidden();
            };
            let changes = frame.get("data").cloned().unwrap_or(json!({}));
            if let (Value::Object(members), Value::Object(changed)) = (&mut *item, &changes) {
                members.extend(changed.clone());
            }
            let shown = if state.flaw == Flaw::UpdateCarriesChangesOnly {
                let mut partial = changes;
                partial["id"] = json!(id);
                partial
            } else {
                item.clone()
            };
            (item.clone(), Some(("update", json!([shown]))))
        }
        ("delete", Some(id)) => {
            stored.remove(&id);
            (json!(id), Some(("delete", json!([id]))))
        }
        _ => {
            return error(
                "items",
                "INVALID_PAYLOAD",
                "Either 'ids', 'id' or 'query' is required for a DELETE request.",
            );
        }
    };
    drop(items);
    if let Some((event, data)) = event {
        emit(state, collection, event, &data);
    }
    json!({"type": "items", "data": reply})
}

fn emit(state: &State, collection: &str, event: &str, data: &Value) {
    for subscription in state.subscriptions.lock().unwrap().iter() {
        let collection_matches =
            subscription.collection == collection || state.flaw == Flaw::EventsIgnoreCollection;
        let event_matches = subscription.event.as_deref().is_none_or(|e| e == event)
            || state.flaw == Flaw::IgnoresEventFilter;
        if !collection_matches || !event_matches {
            continue;
        }
        let fields = match state.flaw {
            Flaw::IgnoresFields => None,
            _ if event == "delete" => None,
            _ => subscription.fields.as_deref(),
        };
        let shaped = match data {
            Value::Array(items) => Value::Array(items.iter().map(|i| project(i, fields)).collect()),
            other => other.clone(),
        };
        let message = json!({"type": "subscription", "event": event, "data": shaped});
        let message = with_uid(
            message,
            subscription.uid.clone().map(Value::String).as_ref(),
        );
        let _ = subscription.out.send(Outgoing::Text(message.to_string()));
    }
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

/// Runs case `id` against a server with `flaw`; it must fail with a reason containing each of `because`.
async fn fails_because(flaw: Flaw, id: &str, because: &[&str]) {
    let endpoint = serve(flaw).await;
    let report = run_case(id, target_for(TARGET, &endpoint)).await;
    let reason = failure(&report);
    for part in because {
        assert!(
            reason.contains(part),
            "{id} against a server that {flaw:?}: the reason should say {part:?}: {reason}"
        );
    }
}

/// The cases proven below, each of which the correct in-test server passes.
const PROVEN: &[&str] = &[
    "directus.subscribe.event-filter",
    "directus.subscribe.query-fields",
    "directus.events.update-full-item",
    "directus.subscribe.resubscribe-replaces",
    "directus.unsubscribe.all",
    "directus.unsubscribe.other-socket-unaffected",
    "directus.permission.unreadable-collection-forbidden",
    "directus.permission.no-events-from-unreadable",
    "directus.errors.unknown-type-ignored",
    "directus.errors.unparseable",
    "directus.heartbeat.client-ping-pong",
    "directus.auth.first-frame-not-auth",
];

#[tokio::test]
async fn a_correct_server_passes_every_case_proven_here() {
    let endpoint = serve(Flaw::Correct).await;
    for id in PROVEN {
        let report = run_case(id, target_for(TARGET, &endpoint)).await;
        assert_eq!(
            report.outcome,
            Outcome::Pass,
            "{id} against the correct in-test server\n{:#?}",
            report.transcript
        );
    }
}

#[tokio::test]
async fn events_of_a_filtered_out_kind_fail_event_filter() {
    fails_because(
        Flaw::IgnoresEventFilter,
        "directus.subscribe.event-filter",
        &["a subscription filtered to one event received another kind"],
    )
    .await;
}

#[tokio::test]
async fn whole_items_despite_query_fields_fail_query_fields() {
    fails_because(
        Flaw::IgnoresFields,
        "directus.subscribe.query-fields",
        &[
            "query.fields [\"text\"] asked for only those fields",
            "\"user\"",
        ],
    )
    .await;
}

#[tokio::test]
async fn an_update_event_with_only_the_changes_fails_update_full_item() {
    fails_because(
        Flaw::UpdateCarriesChangesOnly,
        "directus.events.update-full-item",
        &["should be the full item", "field \"user\" is missing"],
    )
    .await;
}

#[tokio::test]
async fn a_resubscribe_that_adds_fails_resubscribe_replaces() {
    fails_because(
        Flaw::ResubscribeAdds,
        "directus.subscribe.resubscribe-replaces",
        &["2 times", "should replace the first"],
    )
    .await;
}

#[tokio::test]
async fn an_ignored_unsubscribe_all_fails_unsubscribe_all() {
    fails_because(
        Flaw::UnsubscribeAllIgnored,
        "directus.unsubscribe.all",
        &[
            "after an unsubscribe without uid",
            "expected no subscription event",
        ],
    )
    .await;
}

#[tokio::test]
async fn an_unsubscribe_reaching_other_sockets_fails_other_socket_unaffected() {
    fails_because(
        Flaw::UnsubscribeAcrossSockets,
        "directus.unsubscribe.other-socket-unaffected",
        &["of a socket that did not unsubscribe", "nothing arrived"],
    )
    .await;
}

#[tokio::test]
async fn a_refusal_that_tells_existence_fails_unreadable_collection_forbidden() {
    fails_because(
        Flaw::ForbiddenTellsExistence,
        "directus.permission.unreadable-collection-forbidden",
        &[
            "tells it apart from a missing one",
            "You may not read collection",
        ],
    )
    .await;
}

#[tokio::test]
async fn events_crossing_collections_fail_no_events_from_unreadable() {
    fails_because(
        Flaw::EventsIgnoreCollection,
        "directus.permission.no-events-from-unreadable",
        &["which the reader may not read", "classified-"],
    )
    .await;
}

#[tokio::test]
async fn a_reply_to_an_unknown_type_fails_unknown_type_ignored() {
    fails_because(
        Flaw::RepliesToUnknownType,
        "directus.errors.unknown-type-ignored",
        &["must get no reply", "INVALID_PAYLOAD"],
    )
    .await;
}

#[tokio::test]
async fn closing_on_bad_json_fails_unparseable() {
    fails_because(
        Flaw::ClosesOnBadJson,
        "directus.errors.unparseable",
        &["closed the connection"],
    )
    .await;
}

#[tokio::test]
async fn a_numeric_uid_echoed_as_text_fails_client_ping_pong() {
    fails_because(
        Flaw::PongUidAsString,
        "directus.heartbeat.client-ping-pong",
        &["(a number)"],
    )
    .await;
}

#[tokio::test]
async fn serving_before_auth_fails_first_frame_not_auth() {
    fails_because(
        Flaw::AcceptsSubscribeBeforeAuth,
        "directus.auth.first-frame-not-auth",
        &[
            "expected an error reply of type `auth` with code AUTH_FAILED",
            "\"event\":\"init\"",
        ],
    )
    .await;
}
