//! The gamevault catalogue can fail: a small in-test Socket.IO server, correct or wrong in one chosen way, on a
//! loopback ephemeral port. Against the correct one the cases pass; each flaw fails the case that checks it, with
//! a reason that says why. The server shares no code with the reference server.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use conformance::case::Outcome;
use conformance::runner::CaseReport;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{run_case, target_for};

/// The one way the server is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    None,
    /// Lets sockets without a secret into `/` and sends them every broadcast, as GameVault 16.2.0 does.
    AcceptsAnonymous,
    /// Ignores events it cannot decode instead of closing.
    KeepsMalformed,
    /// Takes `user_id` and `socket_id` from the client's activity.
    TrustsClientIds,
    /// Broadcasts an activity to everyone but its reporter.
    SkipsReporter,
    /// Answers CONNECT with the Engine.IO sid.
    ReusesEngineSid,
    /// Drops a user's activity silently when the last socket goes.
    SilentOffline,
    /// Stores and broadcasts whatever activity a client reports, as GameVault 16.2.0 does.
    StoresAnything,
    /// Never pings.
    NeverPings,
}

/// The heartbeat timers the server announces, short so heartbeat cases finish quickly.
const PING_INTERVAL: Duration = Duration::from_millis(300);
const PING_TIMEOUT: Duration = Duration::from_millis(300);

const SECRETS: [(&str, u64); 2] = [("secret-alice", 1), ("secret-bob", 2)];

const SECTION: &str = r#"
[gamevault]
url = "{{ws_endpoint}}/socket.io/"
[gamevault.credentials.primary]
label = "alice"
secret = "secret-alice"
[gamevault.credentials.secondary]
label = "bob"
secret = "secret-bob"
"#;

struct Socket {
    sid: String,
    user_id: u64,
    out: mpsc::UnboundedSender<String>,
}

#[derive(Default)]
struct State {
    sockets: Mutex<Vec<Socket>>,
    activities: Mutex<BTreeMap<u64, Value>>,
    next_id: AtomicU64,
}

impl State {
    /// A 20-character id of the URL-safe alphabet, as Engine.IO and Socket.IO make them.
    fn id(&self, prefix: char) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}{n:019}")
    }

    fn broadcast(&self, activity: &Value, except: Option<&str>) {
        let packet = format!("42{}", json!(["activity", activity]));
        for socket in lock(&self.sockets).iter() {
            if Some(socket.sid.as_str()) != except {
                let _ = socket.out.send(packet.clone());
            }
        }
    }

    fn list(&self) -> String {
        let list: Vec<Value> = lock(&self.activities).values().cloned().collect();
        format!("42{}", json!(["activities", list]))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn serve(flaw: Flaw) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let state = Arc::new(State::default());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream, flaw, state.clone()));
        }
    });
    format!("http://{addr}")
}

/// What one decoded client packet asks for.
enum Packet {
    Connect,
    Disconnect,
    Event(String, Vec<Value>),
    /// A protocol error: the connection is closed.
    Invalid,
}

fn decode(text: &str) -> Packet {
    match text {
        "40" => return Packet::Connect,
        "41" => return Packet::Disconnect,
        _ => {}
    }
    if text.starts_with("40{") {
        return Packet::Connect;
    }
    let Some(body) = text.strip_prefix("42") else {
        return Packet::Invalid;
    };
    let body = body.trim_start_matches(|c: char| c.is_ascii_digit());
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Array(items)) => match items.split_first() {
            Some((Value::String(name), args)) => Packet::Event(name.clone(), args.to_vec()),
            _ => Packet::Invalid,
        },
        _ => Packet::Invalid,
    }
}

/// The activity a valid `set-activity` argument stands for, or why it is refused.
fn activity(arg: Option<&Value>, flaw: Flaw, user_id: u64, sid: &str) -> Result<Value, String> {
    let Some(Value::Object(fields)) = arg else {
        return Err("the activity must be an object".into());
    };
    let state = fields.get("state").and_then(Value::as_str).unwrap_or("");
    if flaw == Flaw::StoresAnything {
        let mut activity = Value::Object(fields.clone());
        activity["user_id"] = json!(user_id);
        activity["socket_id"] = json!(sid);
        return Ok(activity);
    }
    if !["ONLINE", "BUSY", "PLAYING"].contains(&state) {
        return Err(format!("unknown state {state:?}"));
    }
    let allowed = if flaw == Flaw::TrustsClientIds {
        ["state", "game_id", "user_id", "socket_id"].as_slice()
    } else {
        ["state", "game_id"].as_slice()
    };
    if let Some(key) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("unknown key {key}"));
    }
    let mut activity = json!({"state": state, "user_id": user_id, "socket_id": sid});
    if state == "PLAYING" {
        match fields.get("game_id").and_then(Value::as_u64) {
            Some(game) if game > 0 => activity["game_id"] = json!(game),
            _ => return Err("PLAYING needs a game_id".into()),
        }
    }
    if flaw == Flaw::TrustsClientIds {
        for key in ["user_id", "socket_id"] {
            if let Some(value) = fields.get(key) {
                activity[key] = value.clone();
            }
        }
    }
    Ok(activity)
}

async fn connection(stream: TcpStream, flaw: Flaw, state: Arc<State>) {
    let mut secret = None;
    // The callback signature is tungstenite's, large error type included.
    #[allow(clippy::result_large_err)]
    let read_secret = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        secret = request
            .headers()
            .get("x-socket-secret")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(response)
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    let Ok(mut ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, read_secret, Some(config)).await
    else {
        return;
    };
    let user = SECRETS
        .iter()
        .find(|(s, _)| secret.as_deref() == Some(*s))
        .map(|(_, id)| *id);
    let engine_sid = state.id('E');
    let open = json!({
        "sid": engine_sid,
        "upgrades": [],
        "pingInterval": PING_INTERVAL.as_millis() as u64,
        "pingTimeout": PING_TIMEOUT.as_millis() as u64,
        "maxPayload": 100000,
    });
    if ws.send(Message::text(format!("0{open}"))).await.is_err() {
        return;
    }
    let (out, mut outbox) = mpsc::unbounded_channel::<String>();
    let mut joined: Option<(String, u64)> = None;
    let mut heartbeat = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    let mut unanswered_since: Option<Instant> = None;
    loop {
        let text = tokio::select! {
            Some(packet) = outbox.recv() => {
                if ws.send(Message::text(packet)).await.is_err() { break; }
                continue;
            }
            _ = heartbeat.tick(), if flaw != Flaw::NeverPings => {
                if unanswered_since.is_some_and(|since| since.elapsed() >= PING_TIMEOUT) {
                    break;
                }
                if ws.send(Message::text("2")).await.is_err() { break; }
                unanswered_since.get_or_insert_with(Instant::now);
                continue;
            }
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => text.as_str().to_owned(),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
        };
        if text == "3" {
            unanswered_since = None;
            continue;
        }
        let reply = match (decode(&text), &joined) {
            (Packet::Connect, None) => {
                let user_id = match (user, flaw) {
                    (Some(id), _) => id,
                    (None, Flaw::AcceptsAnonymous) => 99,
                    (None, _) => {
                        let _ =
                            out.send(r#"44{"message":"Missing X-Socket-Secret Header."}"#.into());
                        continue;
                    }
                };
                let sid = if flaw == Flaw::ReusesEngineSid {
                    engine_sid.clone()
                } else {
                    state.id('S')
                };
                lock(&state.sockets).push(Socket {
                    sid: sid.clone(),
                    user_id,
                    out: out.clone(),
                });
                let _ = out.send(format!("40{}", json!({ "sid": sid })));
                joined = Some((sid, user_id));
                Some(state.list())
            }
            (Packet::Disconnect, Some((sid, _))) => {
                lock(&state.sockets).retain(|s| &s.sid != sid);
                joined = None;
                None
            }
            (Packet::Event(name, args), Some((sid, user_id))) => match name.as_str() {
                "set-activity" => match activity(args.first(), flaw, *user_id, sid) {
                    Ok(activity) => {
                        lock(&state.activities).insert(*user_id, activity.clone());
                        let except = (flaw == Flaw::SkipsReporter).then_some(sid.as_str());
                        state.broadcast(&activity, except);
                        None
                    }
                    Err(message) => Some(format!(
                        "42{}",
                        json!(["exception", {"status": "error", "message": message, "cause": {"pattern": name}}])
                    )),
                },
                "get-activities" => Some(state.list()),
                _ => None,
            },
            (Packet::Invalid, _) if flaw == Flaw::KeepsMalformed => None,
            _ => break,
        };
        if let Some(reply) = reply {
            let _ = out.send(reply);
        }
    }
    if let Some((sid, user_id)) = joined {
        let last = {
            let mut sockets = lock(&state.sockets);
            sockets.retain(|s| s.sid != sid);
            !sockets.iter().any(|s| s.user_id == user_id)
        };
        if last && lock(&state.activities).remove(&user_id).is_some() && flaw != Flaw::SilentOffline
        {
            state.broadcast(
                &json!({"state": "OFFLINE", "user_id": user_id, "socket_id": sid}),
                None,
            );
        }
    }
    let _ = ws.close(None).await;
}

async fn run(id: &str, flaw: Flaw) -> CaseReport {
    let endpoint = serve(flaw).await;
    run_case(id, target_for(SECTION, &endpoint)).await
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

#[tokio::test]
async fn a_correct_server_passes_the_cases_the_flaws_break() {
    for id in [
        "gamevault.engineio.heartbeat-ping",
        "gamevault.engineio.ping-timeout-close",
        "gamevault.socketio.connect-sid",
        "gamevault.socketio.malformed-event",
        "gamevault.handshake.secret-required",
        "gamevault.handshake.refused-socket-isolated",
        "gamevault.activity.broadcast-to-all",
        "gamevault.activity.server-sets-ids",
        "gamevault.activity.invalid-activity",
        "gamevault.activity.offline-when-last-socket-goes",
        "gamevault.activity.other-socket-keeps-activity",
    ] {
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
async fn accepting_anonymous_sockets_fails_the_secret_cases() {
    let report = run(
        "gamevault.handshake.secret-required",
        Flaw::AcceptsAnonymous,
    )
    .await;
    let reason = failure(&report);
    assert!(
        reason.contains("without X-Socket-Secret was accepted")
            && reason.contains("not CONNECT_ERROR"),
        "{reason}"
    );
    let report = run(
        "gamevault.handshake.refused-socket-isolated",
        Flaw::AcceptsAnonymous,
    )
    .await;
    let reason = failure(&report);
    assert!(
        reason.contains("a socket without a secret must not see alice#"),
        "{reason}"
    );
    assert!(reason.contains("expected no"), "{reason}");
}

#[tokio::test]
async fn ignoring_malformed_events_fails_the_close_case() {
    let report = run("gamevault.socketio.malformed-event", Flaw::KeepsMalformed).await;
    let reason = failure(&report);
    assert!(
        reason.starts_with("after 42{}") && reason.contains("it stayed open"),
        "{reason}"
    );
}

#[tokio::test]
async fn trusting_client_ids_fails_the_spoofing_case() {
    let report = run("gamevault.activity.server-sets-ids", Flaw::TrustsClientIds).await;
    let reason = failure(&report);
    assert!(
        reason.contains("a client claiming bob#") && reason.contains("ids got them"),
        "{reason}"
    );
}

#[tokio::test]
async fn leaving_out_the_reporter_fails_the_broadcast_case() {
    let report = run("gamevault.activity.broadcast-to-all", Flaw::SkipsReporter).await;
    let reason = failure(&report);
    assert!(
        reason.starts_with("alice#") && reason.contains("`activity` event and with game_id"),
        "{reason}"
    );
}

#[tokio::test]
async fn reusing_the_engine_sid_fails_the_connect_case() {
    let report = run("gamevault.socketio.connect-sid", Flaw::ReusesEngineSid).await;
    let reason = failure(&report);
    assert!(reason.contains("is the Engine.IO sid"), "{reason}");
}

#[tokio::test]
async fn a_silent_last_disconnect_fails_the_offline_case() {
    let report = run(
        "gamevault.activity.offline-when-last-socket-goes",
        Flaw::SilentOffline,
    )
    .await;
    let reason = failure(&report);
    assert!(
        reason.contains("the user's only socket, closed") && reason.contains("OFFLINE for user 1"),
        "{reason}"
    );
}

#[tokio::test]
async fn storing_invalid_activities_fails_the_validation_case() {
    let report = run("gamevault.activity.invalid-activity", Flaw::StoresAnything).await;
    let reason = failure(&report);
    assert!(
        reason.contains(r#"42["set-activity",{"state":"OFFLINE"}] was stored and broadcast as"#),
        "{reason}"
    );
}

#[tokio::test]
async fn a_server_that_never_pings_fails_the_heartbeat_case() {
    let report = run("gamevault.engineio.heartbeat-ping", Flaw::NeverPings).await;
    let reason = failure(&report);
    assert!(
        reason.starts_with("heartbeat round 1: alice#1 expected an Engine.IO Ping packet"),
        "{reason}"
    );
}
