//! What the directus cases share: telling heartbeats from replies, proving a socket still works, comparing keys,
//! creating the items a case watches, and gathering the events of several subscriptions at once.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::case::{CaseError, CaseResult};
use crate::client::directus::AuthMode;
use crate::client::{Conn, Frame, Pattern};
use crate::ctx::Ctx;
use crate::{ensure, fail};

/// A collection every Directus server has and refuses `items` requests on.
pub(super) const SYSTEM_COLLECTION: &str = "directus_users";

/// Any frame but the server's heartbeat `{"type":"ping"}`, which may come at any time.
pub(super) fn not_heartbeat() -> Pattern {
    Pattern::when("a frame other than a heartbeat ping", |f| {
        f.str("/type") != Some("ping")
    })
}

/// The next frame that is not a heartbeat ping.
pub(super) async fn next_reply(ctx: &Ctx, conn: &mut Conn) -> Result<Frame, CaseError> {
    conn.expect(not_heartbeat(), ctx.wait()).await
}

/// A ping with a fresh uid must be answered by a pong with that uid: the socket is open and still served.
pub(super) async fn ensure_usable(ctx: &Ctx, conn: &mut Conn, after: &str) -> CaseResult {
    let uid = ctx.unique("alive");
    conn.send_json(&json!({"type": "ping", "uid": uid}))
        .await
        .map_err(|e| e.context(format!("the connection is not usable after {after}")))?;
    conn.expect(json!({"type": "pong", "uid": uid}), ctx.wait())
        .await
        .map_err(|e| e.context(format!("the connection is not usable after {after}")))?;
    Ok(())
}

/// The error code of an error reply.
pub(super) fn error_code(frame: &Frame) -> Option<&str> {
    frame.str("/error/code")
}

/// Fails unless `frame` is `{"type": kind, "status": "error", "error": {"code": code, …}}`.
pub(super) fn ensure_error(frame: &Frame, kind: &str, code: &str, what: &str) -> CaseResult {
    ensure!(
        frame.str("/type") == Some(kind)
            && frame.str("/status") == Some("error")
            && error_code(frame) == Some(code),
        "{what} expected an error reply of type `{kind}` with code {code}, got {frame}"
    );
    Ok(())
}

/// The text of a primary key: keys compare by value across JSON types (`"2"` equals `2`).
pub(super) fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn same_key(a: &Value, b: &Value) -> bool {
    matches!((key_text(a), key_text(b)), (Some(a), Some(b)) if a == b)
}

/// The items (or keys) of a `data` member: the elements of an array, or the value itself.
pub(super) fn elements(data: &Value) -> Vec<&Value> {
    match data {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Whether `frame` is a `subscription` message of `event` for the subscription `uid` (`None`: made without uid).
pub(super) fn is_event(frame: &Frame, event: &str, uid: Option<&str>) -> bool {
    frame.str("/type") == Some("subscription")
        && frame.str("/event") == Some(event)
        && match uid {
            Some(uid) => frame.str("/uid") == Some(uid),
            None => frame.get("/uid").is_none(),
        }
}

/// Whether one of the frame's `data` items has member `field` equal to `value`.
pub(super) fn has_item_with(frame: &Frame, field: &str, value: &Value) -> bool {
    frame
        .get("/data")
        .is_some_and(|data| elements(data).iter().any(|i| i.get(field) == Some(value)))
}

/// Whether the frame's `data` names `key` (delete events: keys, or items carrying `id`).
pub(super) fn names_key(frame: &Frame, key: &Value) -> bool {
    frame.get("/data").is_some_and(|data| {
        elements(data)
            .iter()
            .any(|k| same_key(k, key) || k.get("id").is_some_and(|id| same_key(id, key)))
    })
}

/// A `subscription` `event` for subscription `uid` with an item whose `text` is `text`.
pub(super) fn event_with_text(event: &str, uid: Option<&str>, text: &str) -> Pattern {
    let (event, uid, text) = (event.to_owned(), uid.map(str::to_owned), json!(text));
    Pattern::when(
        format!(
            "a `{event}` event for subscription {} with an item whose text is {text}",
            show_uid(uid.as_deref())
        ),
        move |f| is_event(f, &event, uid.as_deref()) && has_item_with(f, "text", &text),
    )
}

/// A `subscription` `event` for subscription `uid` naming key `key`.
pub(super) fn event_with_key(event: &str, uid: Option<&str>, key: &Value) -> Pattern {
    let (event, uid, key) = (event.to_owned(), uid.map(str::to_owned), key.clone());
    Pattern::when(
        format!(
            "a `{event}` event for subscription {} naming key {key}",
            show_uid(uid.as_deref())
        ),
        move |f| is_event(f, &event, uid.as_deref()) && names_key(f, &key),
    )
}

pub(super) fn show_uid(uid: Option<&str>) -> String {
    uid.map(|u| format!("{u:?}"))
        .unwrap_or_else(|| "(no uid)".into())
}

/// An item of the test collection created for a case.
pub(super) struct Created {
    pub id: Value,
    /// The item as the create reply returned it.
    pub item: Value,
}

/// Creates an item `{"text": text, "user": user}` in the case collection (over the socket, or through the
/// target's actuator) and returns it with its key.
pub(super) async fn create_message(
    ctx: &Ctx,
    text: &str,
    user: &str,
) -> Result<Created, CaseError> {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let data = directus
        .create_item(&collection, json!({"text": text, "user": user}))
        .await
        .map_err(|e| e.context("creating an item"))?;
    let item = match data {
        Value::Array(mut items) if items.len() == 1 => items.remove(0),
        other => other,
    };
    let Some(id) = item.get("id").filter(|id| key_text(id).is_some()).cloned() else {
        fail!("the reply to creating {{\"text\": {text:?}}} carries no item key `id`: {item}");
    };
    Ok(Created { id, item })
}

/// Frames gathered while waiting for several events at once.
pub(super) struct Gathered {
    pub frames: Vec<Frame>,
}

impl Gathered {
    pub fn any(&self, pattern: &Pattern) -> bool {
        self.frames.iter().any(|f| pattern.matches(f))
    }

    pub fn count(&self, pattern: &Pattern) -> usize {
        self.frames.iter().filter(|f| pattern.matches(f)).count()
    }

    pub fn first(&self, pattern: &Pattern) -> Option<&Frame> {
        self.frames.iter().find(|f| pattern.matches(f))
    }

    fn shown(&self) -> String {
        if self.frames.is_empty() {
            return "nothing".into();
        }
        self.frames
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

/// Receives every frame but heartbeats until each of `wanted` has matched one (within the case's wait), then
/// listens for the silence window so that frames that must not come have had their chance; returns them all.
pub(super) async fn gather(
    ctx: &Ctx,
    conn: &mut Conn,
    wanted: &[Pattern],
) -> Result<Gathered, CaseError> {
    let mut gathered = Gathered { frames: Vec::new() };
    let wait_until = Instant::now() + ctx.wait();
    while !wanted.iter().all(|p| gathered.any(p)) {
        let left = wait_until.saturating_duration_since(Instant::now());
        match receive(conn, left).await? {
            Some(frame) => gathered.frames.push(frame),
            None => {
                let missing: Vec<&str> = wanted
                    .iter()
                    .filter(|p| !gathered.any(p))
                    .map(Pattern::description)
                    .collect();
                fail!(
                    "{} expected {} within {}, got {}",
                    conn.label(),
                    missing.join(" and "),
                    humantime::format_duration(ctx.wait()),
                    gathered.shown()
                );
            }
        }
    }
    let silence_until = Instant::now() + ctx.silence();
    loop {
        let left = silence_until.saturating_duration_since(Instant::now());
        match receive(conn, left).await? {
            Some(frame) => gathered.frames.push(frame),
            None => return Ok(gathered),
        }
    }
}

/// The next frame other than a heartbeat within `left`; `None` when the time runs out.
async fn receive(conn: &mut Conn, left: Duration) -> Result<Option<Frame>, CaseError> {
    if left.is_zero() {
        return Ok(None);
    }
    match conn.expect(not_heartbeat(), left).await {
        Ok(frame) => Ok(Some(frame)),
        Err(error) if conn.closed().is_some() => Err(error),
        Err(CaseError::Fail(reason)) if reason.contains("expected a frame other than") => Ok(None),
        Err(error) => Err(error),
    }
}

/// Fails when a frame matching `pattern` was gathered; `why` says what it would mean.
pub(super) fn ensure_none(gathered: &Gathered, pattern: &Pattern, why: &str) -> CaseResult {
    if let Some(frame) = gathered.first(pattern) {
        fail!("{why}: {frame}");
    }
    Ok(())
}

/// Skips the case when the target's auth mode is not `mode`.
pub(super) fn require_mode(ctx: &Ctx, mode: AuthMode) -> CaseResult {
    let actual = ctx.directus().auth_mode()?;
    if actual != mode {
        return Err(CaseError::skip(format!(
            "the case checks {mode:?} auth mode; the target's auth_mode is {actual:?}"
        )));
    }
    Ok(())
}

/// Skips the case when waiting `needed` (plus one wait) would not fit in the target's case timeout.
pub(super) fn require_time(ctx: &Ctx, needed: Duration, what: &str) -> CaseResult {
    let case = ctx.timeouts().case;
    if needed + ctx.wait() >= case {
        return Err(CaseError::skip(format!(
            "{what} needs {} and the target's case timeout is {}; raise [timeouts] case to run it",
            humantime::format_duration(needed + ctx.wait()),
            humantime::format_duration(case)
        )));
    }
    Ok(())
}

/// Opens a socket that has not sent `auth` yet, as `who`: a plain upgrade, or in strict mode (where a plain one
/// is refused) an upgrade with `credential`'s URL token.
pub(super) async fn open_before_auth(
    ctx: &Ctx,
    who: &str,
    credential: &str,
) -> Result<Conn, CaseError> {
    let directus = ctx.directus();
    if directus.auth_mode()? == AuthMode::Strict {
        return directus.connect_with_url_token(credential).await;
    }
    Ok(directus.open(who, directus.request()?).await??)
}
