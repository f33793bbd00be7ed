//! What the gamevault cases share: building a case, sessions that have read their first `activities`, activity
//! patterns, refusals and closes.

use std::time::Duration;

use serde_json::{json, Value};

use crate::case::{Case, CaseError, CaseResult, Kind, Level, Need, Reference, RunFn};
use crate::client::connect::{ConnectError, Request};
use crate::client::gamevault::SioConn;
use crate::client::sio::SocketType;
use crate::client::{Frame, Pattern};
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::{ensure, fail};

/// A gamevault scenario case.
pub(super) fn scenario(
    id: &'static str,
    level: Level,
    title: &'static str,
    reference: Reference,
    requires: &'static [Need],
    run: RunFn,
) -> Case {
    Case {
        id,
        profile: Profile::Gamevault,
        level,
        title,
        reference,
        kind: Kind::Scenario,
        requires,
        run,
    }
}

/// Skips the case when waiting `needed` cannot fit in the target's case timeout: a timer the server announces
/// or the target declares is not a finding about the server, and the case would only time out.
pub(super) fn fits_in_case(ctx: &Ctx, needed: Duration, what: &str) -> CaseResult {
    let case = ctx.timeouts().case;
    if needed >= case {
        return Err(CaseError::skip(format!(
            "{what} takes up to {}, longer than the target's [timeouts] case ({}); raise it to run this case",
            humantime::format_duration(needed),
            humantime::format_duration(case)
        )));
    }
    Ok(())
}

/// The Socket.IO packet type of a frame.
pub(super) fn socket_kind(frame: &Frame) -> Option<SocketType> {
    frame.packet.as_ref()?.socket.as_ref().map(|s| s.kind)
}

/// The namespace a Socket.IO packet names (`/` when it names none).
pub(super) fn namespace(frame: &Frame) -> Option<&str> {
    frame
        .packet
        .as_ref()?
        .socket
        .as_ref()
        .map(|s| s.namespace.as_str())
}

/// The first argument of an event (the activity of an `activity` event, the list of an `activities` event).
pub(super) fn first_arg(frame: &Frame) -> Value {
    frame.event_args().first().cloned().unwrap_or(Value::Null)
}

/// A game id no other case of this run uses (with the case's seeded random source).
pub(super) fn game_id(ctx: &Ctx) -> u64 {
    ctx.with_rng(|rng| rand::Rng::random_range(rng, 1..1_000_000_000))
}

/// A frame matching `a` or `b`.
pub(super) fn either(a: Pattern, b: Pattern) -> Pattern {
    let description = format!("{} or {}", a.description(), b.description());
    Pattern::when(description, move |f: &Frame| a.matches(f) || b.matches(f))
}

/// An `activity` event whose activity satisfies `test`.
pub(super) fn activity_where(
    description: impl Into<String>,
    test: impl Fn(&Value) -> bool + Send + Sync + 'static,
) -> Pattern {
    Pattern::event("activity").and(Pattern::when(description, move |f: &Frame| {
        f.event_args().first().is_some_and(&test)
    }))
}

/// An `activity` event for game `game`.
pub(super) fn activity_with_game(game: u64) -> Pattern {
    activity_where(format!("with game_id {game}"), move |a| {
        a.get("game_id") == Some(&json!(game))
    })
}

/// An `activity` event reported by socket `sid`.
pub(super) fn activity_of_socket(sid: &str) -> Pattern {
    let sid = sid.to_owned();
    activity_where(format!("with socket_id {sid}"), move |a| {
        a.get("socket_id").and_then(Value::as_str) == Some(sid.as_str())
    })
}

/// A connected socket whose Socket.IO sid is known and whose first `activities` list has been read.
pub(super) struct Session {
    pub conn: SioConn,
    pub sid: String,
    /// The `activities` list received right after CONNECT; `None` when none came within the wait.
    pub initial: Option<Vec<Value>>,
}

impl Session {
    /// Connects as `credential` and reads the `activities` list that follows CONNECT. A server that sends no
    /// list is noted, not failed: `gamevault.activity.list-on-connect` is the case that judges it.
    pub async fn open(ctx: &Ctx, credential: &str) -> Result<Session, CaseError> {
        let mut conn = ctx.gamevault().connect(credential).await?;
        let sid = conn.sid.clone().ok_or_else(|| {
            CaseError::fail(format!(
                "{}: the CONNECT answer carries no sid",
                conn.label()
            ))
        })?;
        let initial = match conn.expect_event("activities", ctx.wait()).await {
            Ok(frame) => Some(activity_list(&frame)?),
            Err(CaseError::Fail(reason)) if conn.closed().is_none() => {
                conn.note(format!(
                    "no `activities` list followed CONNECT; going on without it ({reason})"
                ));
                None
            }
            Err(e) => return Err(e),
        };
        Ok(Session { conn, sid, initial })
    }

    /// Reports `activity` and waits for this socket's own broadcast of it; returns the broadcast activity.
    pub async fn set_activity(&mut self, ctx: &Ctx, activity: Value) -> Result<Value, CaseError> {
        self.conn
            .emit("set-activity", std::slice::from_ref(&activity))
            .await?;
        let state = activity.get("state").cloned().unwrap_or(Value::Null);
        let sid = self.sid.clone();
        let pattern = activity_where(
            format!("reported by this socket ({sid}) with state {state}"),
            move |a| {
                a.get("socket_id").and_then(Value::as_str) == Some(sid.as_str())
                    && a.get("state") == Some(&state)
            },
        );
        let frame = self
            .conn
            .expect(pattern, ctx.wait())
            .await
            .map_err(|e| e.context(format!("after set-activity {activity}")))?;
        Ok(first_arg(&frame))
    }

    /// Sends `get-activities` and returns the list of the `activities` answer.
    pub async fn list(&mut self, ctx: &Ctx) -> Result<Vec<Value>, CaseError> {
        self.conn.emit("get-activities", &[]).await?;
        let frame = self
            .conn
            .expect_event("activities", ctx.wait())
            .await
            .map_err(|e| e.context("after get-activities"))?;
        activity_list(&frame)
    }

    /// The user id the server gives this socket's activities, learnt by reporting `ONLINE`.
    pub async fn learn_user_id(&mut self, ctx: &Ctx) -> Result<Value, CaseError> {
        let activity = self.set_activity(ctx, json!({"state": "ONLINE"})).await?;
        activity.get("user_id").cloned().ok_or_else(|| {
            CaseError::fail(format!(
                "{}: the activity {activity} carries no user_id",
                self.conn.label()
            ))
        })
    }
}

/// The activities of an `activities` event.
pub(super) fn activity_list(frame: &Frame) -> Result<Vec<Value>, CaseError> {
    match frame.event_args().first() {
        Some(Value::Array(items)) => Ok(items.clone()),
        _ => fail!("the `activities` event {frame} carries no list"),
    }
}

/// The entries of `list` for user `user_id`.
pub(super) fn entries_of<'a>(list: &'a [Value], user_id: &Value) -> Vec<&'a Value> {
    list.iter()
        .filter(|a| a.get("user_id").is_some_and(|u| same_id(u, user_id)))
        .collect()
}

/// Whether two ids are the same, whatever JSON type a target file gave one of them.
pub(super) fn same_id(a: &Value, b: &Value) -> bool {
    crate::target::template::string_form(a) == crate::target::template::string_form(b)
}

/// How the server answered a handshake that must be refused.
pub(super) enum Refusal {
    /// The upgrade was refused with this HTTP status.
    Http(u16),
    /// CONNECT was answered with CONNECT_ERROR carrying this message.
    ConnectError(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Http(status) => write!(f, "the upgrade was refused with HTTP {status}"),
            Refusal::ConnectError(message) => write!(f, "CONNECT_ERROR {message:?}"),
        }
    }
}

/// Opens `request` as `who`, sends CONNECT with `auth`, and requires a refusal: HTTP 401/403 before the upgrade,
/// or CONNECT_ERROR (the reading of schemas/gamevault/NOTES.md GV-HANDSHAKE-REFUSAL). `what` describes the handshake.
pub(super) async fn expect_refusal(
    ctx: &Ctx,
    who: &str,
    request: Request,
    auth: Option<Value>,
    what: &str,
) -> Result<Refusal, CaseError> {
    let mut conn = match ctx.gamevault().open(who, request).await? {
        Err(e) if matches!(e.status(), Some(401 | 403)) => {
            return Ok(Refusal::Http(e.status().unwrap_or_default()))
        }
        Err(e) => return Err(CaseError::from(e).context(what)),
        Ok(conn) => conn,
    };
    let reply = conn
        .connect_namespace(auth, ctx.wait())
        .await
        .map_err(|e| e.context(what))?;
    match socket_kind(&reply) {
        Some(SocketType::ConnectError) => Ok(Refusal::ConnectError(
            reply.str("/message").unwrap_or_default().to_owned(),
        )),
        _ => fail!(
            "{what} was accepted: CONNECT was answered {reply}, not CONNECT_ERROR (nor was the upgrade refused with 401/403)"
        ),
    }
}

/// Sends `packet` unchecked and requires the server to close the connection within the wait.
pub(super) async fn expect_closed_by(ctx: &Ctx, conn: &mut SioConn, packet: &str) -> CaseResult {
    conn.send_text_raw(packet).await?;
    conn.expect_close(ctx.wait())
        .await
        .map_err(|e| e.context(format!("after {packet}")))?;
    Ok(())
}

/// The body of a refused handshake, checked against `http/transport-error.json` and for the expected code.
pub(super) fn check_transport_error(
    ctx: &Ctx,
    error: &ConnectError,
    code: u64,
    what: &str,
) -> CaseResult {
    let ConnectError::Rejected { status, body, .. } = error else {
        fail!("{what}: expected HTTP 400, got {error}");
    };
    ensure!(*status == 400, "{what}: expected HTTP 400, got {error}");
    let value: Value = serde_json::from_str(body).map_err(|e| {
        CaseError::fail(format!(
            "{what}: the 400 body {body:?} is not the Engine.IO JSON error: {e}"
        ))
    })?;
    let group = ctx
        .schemas()
        .get(Profile::Gamevault)
        .and_then(|p| p.group("http"))
        .ok_or_else(|| CaseError::harness("no gamevault `http` schemas are loaded"))?;
    group
        .check_kind("transport-error", &value)
        .map_err(|v| CaseError::fail(format!("{what}: the 400 body {value} breaks {v}")))?;
    ensure!(
        value.get("code") == Some(&json!(code)),
        "{what}: the 400 body {value} has code {:?}, expected {code}",
        value.get("code")
    );
    Ok(())
}
