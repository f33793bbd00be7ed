//! What the gamevault cases share: building a case, reading packets, activity patterns, refusals, closes and
//! refused upgrades.

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

/// A random game id (from the case's seeded source), so a case tells its own activity from others'.
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
