//! The skapi catalogue can fail: a small in-test skapi server passes every scenario case when it is right, and
//! each way it is made wrong fails the case written for that sentence, with a reason that says why.
//!
//! The server shares no code with the reference server; it speaks just enough skapi for the catalogue, with
//! literal tokens instead of a login.

use std::sync::{Arc, Mutex};

use conformance::case::{Kind, Outcome};
use conformance::runner::CaseReport;
use conformance::{catalogue, Profile};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{run_case, target_for};

/// The one way the server is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    None,
    /// Writes `%` as is instead of `\u0025`.
    RawPercent,
    /// Delivers a broadcast to every connection of the service, members or not.
    BroadcastToWholeService,
    /// Keys groups by name only, so same-named groups of two services are one.
    GroupsAcrossServices,
    /// Delivers a private message to every connection of every service.
    PrivateToEveryone,
    /// Sends no USER_DISCONNECTED when a member's connection closes.
    NoDisconnectNotice,
    /// Skips falsy content (what the SDK's own dispatch does, wrongly, on the client side).
    DropsFalsyContent,
    /// Accepts messages of any size.
    NoSizeLimit,
    /// Lets an upgrade without a token in, as the first user.
    AcceptsMissingToken,
    /// Registers a connection only when it sends its first frame.
    LateRegistration,
    /// Announces a join again when a connection joins the group it is in.
    RejoinAnnounced,
}

const MAX_MESSAGE_BYTES: usize = 4096;

struct User {
    name: &'static str,
    service: &'static str,
    owner: &'static str,
    user_id: &'static str,
}

const USERS: [User; 3] = [
    User {
        name: "alice",
        service: "demo",
        owner: "owner-demo",
        user_id: "a11ce000-0000-4000-8000-00000000a11c",
    },
    User {
        name: "bob",
        service: "demo",
        owner: "owner-demo",
        user_id: "b0b00000-0000-4000-8000-000000000b0b",
    },
    User {
        name: "carol",
        service: "other",
        owner: "owner-other",
        user_id: "ca201000-0000-4000-8000-0000000ca201",
    },
];

impl User {
    fn access_token(&self) -> String {
        format!("access-{}", self.name)
    }

    fn identity_token(&self) -> String {
        format!("IdT:{}:{}:id-{}", self.service, self.owner, self.name)
    }

    fn credential_set(&self, set: &str) -> String {
        format!(
            "[skapi.credentials.{set}]\nlabel = \"{}\"\nuser_id = \"{}\"\naccess_token = \"{}\"\nid_token = \"id-{}\"\nservice = \"{}\"\nowner = \"{}\"\n",
            self.name,
            self.user_id,
            self.access_token(),
            self.name,
            self.service,
            self.owner
        )
    }
}

fn section() -> String {
    format!(
        "[skapi]\nurl = \"{{{{ws_endpoint}}}}/realtime\"\nparameters = {{ max_message_bytes = {MAX_MESSAGE_BYTES} }}\n{}{}{}",
        USERS[0].credential_set("primary"),
        USERS[1].credential_set("secondary"),
        USERS[2].credential_set("other_tenant"),
    )
}

struct Connection {
    cid: String,
    user: &'static User,
    group: Option<String>,
    out: mpsc::UnboundedSender<Message>,
}

#[derive(Default)]
struct State {
    connections: Vec<Connection>,
    next: u64,
}

type Shared = Arc<Mutex<State>>;

/// Starts the server on an ephemeral loopback port; returns its base URL. Its tasks end with the test's runtime.
async fn serve(flaw: Flaw) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let state = Shared::default();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream, flaw, state.clone()));
        }
    });
    format!("http://{addr}")
}

fn user_of(request: &Request, flaw: Flaw) -> Option<&'static User> {
    let query = request.uri().query().unwrap_or_default();
    let token = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| !t.is_empty());
    match token {
        Some(token) => USERS.iter().find(|u| u.access_token() == token),
        None if flaw == Flaw::AcceptsMissingToken => USERS.first(),
        None => None,
    }
}

fn register(state: &Shared, user: &'static User, out: &mpsc::UnboundedSender<Message>) -> String {
    let mut state = state.lock().unwrap();
    state.next += 1;
    let cid = format!("conn{}", state.next);
    state.connections.push(Connection {
        cid: cid.clone(),
        user,
        group: None,
        out: out.clone(),
    });
    cid
}

async fn connection(stream: TcpStream, flaw: Flaw, state: Shared) {
    let (out, mut outgoing) = mpsc::unbounded_channel::<Message>();
    let mut identity: Option<(&'static User, Option<String>)> = None;
    // The callback signature is tungstenite's, large error type included.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let Some(user) = user_of(request, flaw) else {
            let mut refusal = ErrorResponse::new(Some("invalid token".to_owned()));
            *refusal.status_mut() = http::StatusCode::UNAUTHORIZED;
            return Err(refusal);
        };
        // Registered before the upgrade is answered, so a message sent right after the 101 reaches it.
        let cid = (flaw != Flaw::LateRegistration).then(|| register(&state, user, &out));
        identity = Some((user, cid));
        Ok(response)
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096)
        .max_message_size(Some(1 << 20));
    let Ok(socket) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await
    else {
        return;
    };
    let Some((user, mut cid)) = identity else {
        return;
    };
    let (mut sink, mut source) = socket.split();
    tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
    });
    while let Some(Ok(message)) = source.next().await {
        let cid = cid
            .get_or_insert_with(|| register(&state, user, &out))
            .clone();
        let text = match message {
            Message::Text(text) => text.as_str().to_owned(),
            Message::Binary(_) => {
                send(
                    &out,
                    flaw,
                    json!({"#error": "Binary frames are not accepted."}),
                );
                continue;
            }
            // Reading on lets tungstenite send its answer to the close.
            Message::Close(_) => continue,
            _ => continue,
        };
        if text.len() > MAX_MESSAGE_BYTES && flaw != Flaw::NoSizeLimit {
            let _ = out.send(Message::Close(Some(CloseFrame {
                code: CloseCode::Size,
                reason: "message too big".into(),
            })));
            break;
        }
        let reply = handle(&state, flaw, &cid, user, &text);
        if let Err(reason) = reply {
            send(&out, flaw, json!({"#error": reason}));
        }
    }
    if let Some(cid) = cid {
        disconnect(&state, flaw, &cid);
    }
}

fn send(out: &mpsc::UnboundedSender<Message>, flaw: Flaw, value: Value) {
    let text = value.to_string();
    let text = if flaw == Flaw::RawPercent {
        text
    } else {
        text.replace('%', "\\u0025")
    };
    let _ = out.send(Message::text(text));
}

fn notice(user: &User, cid: &str, group: &str, code: &str, verb: &str) -> Value {
    json!({
        "#notice": format!("User \"{}\" {verb}.", user.user_id),
        "#user_id": user.user_id,
        "#scid": cid,
        "#srid": group,
        "#code": code,
    })
}

fn same_group(flaw: Flaw, a: &Connection, service: &str, group: &str) -> bool {
    a.group.as_deref() == Some(group)
        && (flaw == Flaw::GroupsAcrossServices || a.user.service == service)
}

fn to_group(state: &State, flaw: Flaw, service: &str, group: &str, value: &Value) {
    for member in state
        .connections
        .iter()
        .filter(|c| same_group(flaw, c, service, group))
    {
        send(&member.out, flaw, value.clone());
    }
}

fn field<'a>(frame: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    frame
        .get(name)
        .ok_or_else(|| format!("`{name}` is missing."))
}

fn handle(
    state: &Shared,
    flaw: Flaw,
    cid: &str,
    user: &'static User,
    text: &str,
) -> Result<(), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("Not JSON: {e}."))?;
    let Value::Object(frame) = value else {
        return Err("A frame must be a JSON object.".into());
    };
    let action = frame
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut state = state.lock().unwrap();
    let own_group = state
        .connections
        .iter()
        .find(|c| c.cid == cid)
        .and_then(|c| c.group.clone());
    match action {
        "keepAlive" => Ok(()),
        "joinRoom" => {
            if field(&frame, "token")? != &json!(user.access_token()) {
                return Err("Invalid token.".into());
            }
            let next = match field(&frame, "rid")? {
                Value::Null => None,
                Value::String(rid) if rid.is_empty() => None,
                Value::String(rid) => Some(rid.clone()),
                _ => return Err("`rid` must be a string or null.".into()),
            };
            if next == own_group {
                if let (Some(group), Flaw::RejoinAnnounced) = (&next, flaw) {
                    let joined = notice(
                        user,
                        cid,
                        group,
                        "USER_JOINED",
                        "has joined the message group",
                    );
                    to_group(&state, flaw, user.service, group, &joined);
                }
                return Ok(());
            }
            if let Some(old) = &own_group {
                let left = notice(user, cid, old, "USER_LEFT", "has left the message group");
                to_group(&state, flaw, user.service, old, &left);
            }
            if let Some(me) = state.connections.iter_mut().find(|c| c.cid == cid) {
                me.group = next.clone();
            }
            if let Some(new) = &next {
                let joined = notice(
                    user,
                    cid,
                    new,
                    "USER_JOINED",
                    "has joined the message group",
                );
                to_group(&state, flaw, user.service, new, &joined);
            }
            Ok(())
        }
        "broadcast" => {
            let rid = field(&frame, "rid")?
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let content = field(&frame, "content")?.clone();
            if field(&frame, "token")? != &json!(user.identity_token()) {
                return Err("Invalid token.".into());
            }
            if own_group.as_deref() != Some(rid.as_str()) {
                return Err("Not a member of the group.".into());
            }
            if flaw == Flaw::DropsFalsyContent && is_falsy(&content) {
                return Ok(());
            }
            let message =
                json!({"#message": content, "#user_id": user.user_id, "#scid": cid, "#srid": rid});
            if flaw == Flaw::BroadcastToWholeService {
                for c in state
                    .connections
                    .iter()
                    .filter(|c| c.user.service == user.service)
                {
                    send(&c.out, flaw, message.clone());
                }
            } else {
                to_group(&state, flaw, user.service, &rid, &message);
            }
            Ok(())
        }
        "sendMessage" => {
            let recipient = field(&frame, "uid")?
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let content = field(&frame, "content")?.clone();
            if field(&frame, "token")? != &json!(user.identity_token()) {
                return Err("Invalid token.".into());
            }
            let private = json!({"#private": content, "#user_id": user.user_id, "#scid": cid});
            let recipients: Vec<&Connection> = state
                .connections
                .iter()
                .filter(|c| {
                    flaw == Flaw::PrivateToEveryone
                        || (c.user.service == user.service
                            && c.user.user_id.eq_ignore_ascii_case(&recipient))
                })
                .collect();
            if recipients.is_empty() {
                return Err("Recipient is not connected.".into());
            }
            for c in &recipients {
                send(&c.out, flaw, private.clone());
            }
            if !recipients.iter().any(|c| c.cid == cid) {
                if let Some(me) = state.connections.iter().find(|c| c.cid == cid) {
                    send(&me.out, flaw, private);
                }
            }
            Ok(())
        }
        "rtc" => {
            let target = field(&frame, "uid")?
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let content = field(&frame, "content")?.clone();
            if field(&frame, "token")? != &json!(user.access_token()) {
                return Err("Invalid token.".into());
            }
            let to = state.connections.iter().find(|c| {
                c.user.service == user.service
                    && Some(c.cid.as_str()) == target.strip_prefix("cid:")
            });
            let Some(to) = to else {
                return Err(format!("Connection \"{target}\" is not connected."));
            };
            send(
                &to.out,
                flaw,
                json!({"#rtc": content, "#user_id": user.user_id, "#scid": cid}),
            );
            Ok(())
        }
        other => Err(format!("Unknown action {other:?}.")),
    }
}

fn is_falsy(content: &Value) -> bool {
    matches!(content, Value::Null | Value::Bool(false))
        || content == &json!(0)
        || content == &json!("")
}

fn disconnect(state: &Shared, flaw: Flaw, cid: &str) {
    let mut state = state.lock().unwrap();
    let Some(at) = state.connections.iter().position(|c| c.cid == cid) else {
        return;
    };
    let gone = state.connections.remove(at);
    if let (Some(group), false) = (&gone.group, flaw == Flaw::NoDisconnectNotice) {
        let notice = notice(
            gone.user,
            cid,
            group,
            "USER_DISCONNECTED",
            "has been disconnected",
        );
        to_group(&state, flaw, gone.user.service, group, &notice);
    }
}

async fn run(flaw: Flaw, id: &str) -> CaseReport {
    let endpoint = serve(flaw).await;
    run_case(id, target_for(&section(), &endpoint)).await
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

async fn fails_with(flaw: Flaw, id: &str, expected: &[&str]) {
    let report = run(flaw, id).await;
    let reason = failure(&report);
    for words in expected {
        assert!(
            reason.contains(words),
            "{id} against a server with {flaw:?}: the reason lacks {words:?}: {reason}"
        );
    }
}

#[tokio::test]
async fn a_correct_server_passes_every_scenario_case() {
    let endpoint = serve(Flaw::None).await;
    let mut problems = Vec::new();
    let mut passed = 0;
    for case in catalogue::cases(Profile::Skapi)
        .into_iter()
        .filter(|c| c.kind == Kind::Scenario)
    {
        let report = run_case(case.id, target_for(&section(), &endpoint)).await;
        match &report.outcome {
            Outcome::Pass => passed += 1,
            // Token look-alikes need JWTs, listings need actuators: this server has neither.
            Outcome::Skip(reason)
                if case.id.starts_with("skapi.listing.") || reason.contains("is not a JWT") => {}
            other => problems.push(format!("{}: {other:?}", case.id)),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(passed >= 30, "only {passed} cases passed");
}

#[tokio::test]
async fn a_literal_percent_fails_the_decode_uri_case() {
    fails_with(
        Flaw::RawPercent,
        "skapi.content.percent-survives-decodeuri",
        &["decodeURI throws", "must be written `\\u0025`"],
    )
    .await;
}

#[tokio::test]
async fn a_broadcast_to_the_whole_service_fails_the_group_case() {
    fails_with(
        Flaw::BroadcastToWholeService,
        "skapi.broadcast.not-outside-group",
        &[
            "is not in",
            "expected no the broadcast or any frame of group",
        ],
    )
    .await;
}

#[tokio::test]
async fn groups_shared_across_services_fail_the_isolation_case() {
    fails_with(
        Flaw::GroupsAcrossServices,
        "skapi.broadcast.not-other-service",
        &[
            "of service \"other\"",
            "expected no a #message or a #notice",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_private_message_to_everyone_fails_the_recipient_case() {
    fails_with(
        Flaw::PrivateToEveryone,
        "skapi.private.only-recipient",
        &["carol", "listened", "expected no a `private` frame"],
    )
    .await;
}

#[tokio::test]
async fn no_disconnect_notice_fails_the_close_case() {
    fails_with(
        Flaw::NoDisconnectNotice,
        "skapi.close.removed-from-group",
        &["closed its connection", "expected a `notice` frame"],
    )
    .await;
}

#[tokio::test]
async fn dropped_falsy_content_fails_the_falsy_case() {
    fails_with(
        Flaw::DropsFalsyContent,
        "skapi.content.falsy-delivered",
        &["broadcasting content 0", "carrying 0"],
    )
    .await;
}

#[tokio::test]
async fn no_size_limit_fails_the_oversized_case() {
    fails_with(
        Flaw::NoSizeLimit,
        "skapi.limits.oversized-message-closed",
        &["4097 bytes", "stayed open"],
    )
    .await;
}

#[tokio::test]
async fn an_upgrade_without_token_let_in_fails_the_login_case() {
    fails_with(
        Flaw::AcceptsMissingToken,
        "skapi.connect.missing-token-rejected",
        &["accepted a WebSocket upgrade with no `token` parameter"],
    )
    .await;
}

#[tokio::test]
async fn late_registration_fails_the_established_case() {
    fails_with(
        Flaw::LateRegistration,
        "skapi.connect.receives-once-established",
        &["attempt 1 of", "as soon as", "upgrade was answered"],
    )
    .await;
}

#[tokio::test]
async fn announcing_a_rejoin_fails_the_rejoin_case() {
    fails_with(
        Flaw::RejoinAnnounced,
        "skapi.group.rejoin-changes-nothing",
        &[
            "joining the group one is in again sent a notice",
            "USER_JOINED",
        ],
    )
    .await;
}
