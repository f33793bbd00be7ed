//! What the skapi cases share: the join barrier, frame patterns, throw-away names and ids, and token forgeries.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::case::{CaseError, Need};
use crate::client::skapi::SkapiConn;
use crate::client::{Frame, Pattern};
use crate::ctx::Ctx;
use crate::profile::Profile;

/// What two users of one service need.
pub(super) const TWO_USERS: &[Need] = &[Need::Credential("primary"), Need::Credential("secondary")];
/// One user of the service and a user of another service.
pub(super) const OTHER_SERVICE: &[Need] = &[
    Need::Credential("primary"),
    Need::Credential("secondary"),
    Need::Credential("other_tenant"),
];
/// One logged-in user.
pub(super) const ONE_USER: &[Need] = &[Need::Credential("primary")];

/// Joins `group` and waits until the join took effect. The server acknowledges no frame (NOTES.md SKAPI-NO-ACK),
/// so the joiner broadcasts a probe to the group right after joining: one connection's frames are handled in order,
/// and a broadcast reaches its sender only when it is a member (NOTES.md SKAPI-SENDER-INCLUDED). Frames before
/// the probe (the joiner's own USER_JOINED) are passed over. Returns the connection's id (`#scid` of the probe).
/// Other members receive the probe too: cases that listen for silence there use exact-content patterns.
pub(super) async fn join(
    ctx: &Ctx,
    conn: &mut SkapiConn,
    group: &str,
) -> Result<String, CaseError> {
    conn.join(group).await?;
    let probe = json!({"probe": ctx.unique("joined")});
    conn.broadcast(group, probe.clone()).await?;
    let frame = conn.expect(message(&probe), ctx.wait()).await.map_err(|e| {
        e.context(format!(
            "joining group {group:?}: a broadcast sent right after joinRoom did not come back to the joiner, so the join never took effect"
        ))
    })?;
    connection_id(&frame)
}

/// Waits until the server handles frames of `conn`: a private message to its own user comes back to it (each
/// connection of a user gets one copy, NOTES.md SKAPI-PRIVATE-FANOUT). A server may finish setting up a connection
/// after answering the upgrade; cases about something else settle their connections first, and
/// `skapi.connect.receives-once-established` checks that no such delay shows.
pub(super) async fn settle(ctx: &Ctx, conn: &mut SkapiConn) -> Result<(), CaseError> {
    let content = json!({"settle": ctx.unique("s")});
    let own = conn.session.user_id.clone();
    conn.send_private(&own, content.clone()).await?;
    conn.expect(private(&content), ctx.wait())
        .await
        .map(|_| ())
        .map_err(|e| {
            e.context(format!(
                "settling {}: a private message to its own user did not come back",
                conn.label()
            ))
        })
}

/// The `#scid` of a frame.
pub(super) fn connection_id(frame: &Frame) -> Result<String, CaseError> {
    frame
        .str("/#scid")
        .map(str::to_owned)
        .ok_or_else(|| CaseError::fail(format!("the frame names no connection (#scid): {frame}")))
}

/// A `#notice` of `code` about `user_id` in `group`.
pub(super) fn notice(code: &str, user_id: &str, group: &str) -> Pattern {
    Pattern::subset(json!({"#code": code, "#user_id": user_id, "#srid": group}))
}

/// Any `#notice` about `user_id`.
pub(super) fn notice_about(user_id: &str) -> Pattern {
    Pattern::kind("notice").and(json!({"#user_id": user_id}))
}

/// A `#message` whose content equals `content` exactly.
pub(super) fn message(content: &Value) -> Pattern {
    exact("#message", content)
}

/// A `#private` whose content equals `content` exactly.
pub(super) fn private(content: &Value) -> Pattern {
    exact("#private", content)
}

/// A frame with `key` present and equal to `content` (null included, so falsy contents are told apart from
/// missing ones).
fn exact(key: &'static str, content: &Value) -> Pattern {
    let content = content.clone();
    let pointer = format!("/{key}");
    Pattern::when(format!("a {key} frame carrying {content}"), move |f| {
        f.get(&pointer) == Some(&content)
    })
}

/// An `#error` frame.
pub(super) fn error() -> Pattern {
    Pattern::kind("error")
}

/// Content no other frame of the run carries.
pub(super) fn marker(ctx: &Ctx) -> Value {
    json!({"marker": ctx.unique("m")})
}

/// Broadcasts a marker to `group` and waits for it to come back: the connection is open, its frames are still
/// read, and it is still a member of `group` (a broadcast reaches its sender, NOTES.md SKAPI-SENDER-INCLUDED).
pub(super) async fn still_member(
    ctx: &Ctx,
    conn: &mut SkapiConn,
    group: &str,
) -> Result<(), CaseError> {
    let content = marker(ctx);
    conn.broadcast(group, content.clone()).await?;
    conn.expect(message(&content), ctx.wait())
        .await
        .map(|_| ())
        .map_err(|e| {
            e.context(format!(
                "afterwards a broadcast to its own group {group:?} did not come back, so the connection no longer works as a member"
            ))
        })
}

/// A user id (UUID v4 form) no user has.
pub(super) fn unknown_user_id(ctx: &Ctx) -> String {
    let n: u128 = ctx.with_rng(|rng| rng.random());
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// `token` with its JWT claims changed by `edit` and its signature kept; `None` when `token` is not a JWT whose
/// claims are a JSON object.
pub(super) fn rewrite_claims(
    token: &str,
    edit: impl FnOnce(&mut Map<String, Value>),
) -> Option<String> {
    let mut parts = token.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decoded = URL_SAFE_NO_PAD.decode(claims.trim_end_matches('=')).ok()?;
    let Value::Object(mut map) = serde_json::from_slice::<Value>(&decoded).ok()? else {
        return None;
    };
    edit(&mut map);
    let encoded = URL_SAFE_NO_PAD.encode(Value::Object(map).to_string());
    Some(format!("{header}.{encoded}.{signature}"))
}

/// The isolation cases need `other_tenant` to be of another service than `primary`.
pub(super) fn ensure_other_service(ours: &SkapiConn, theirs: &SkapiConn) -> Result<(), CaseError> {
    if ours.session.service == theirs.session.service {
        return Err(CaseError::harness(format!(
            "credential sets `{}` and `{}` are both of service {:?}; `other_tenant` must be of another service",
            ours.session.name, theirs.session.name, ours.session.service
        )));
    }
    Ok(())
}

/// Checks an HTTP body against `schemas/skapi/http/<kind>.json`.
pub(super) fn check_http_body(ctx: &Ctx, kind: &str, body: &Value) -> Result<(), CaseError> {
    let group = ctx
        .schemas()
        .get(Profile::Skapi)
        .and_then(|p| p.group("http"))
        .ok_or_else(|| CaseError::harness("no skapi http schemas loaded"))?;
    group.check_kind(kind, body).map_err(|v| {
        CaseError::fail(format!(
            "the get-ws-group answer breaks the schema: {v}\n  body: {body}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_rewritten_and_the_signature_kept() {
        let claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"a","exp":9}"#);
        let token = format!("h.{claims}.sig");
        let rewritten = rewrite_claims(&token, |c| {
            c.insert("exp".into(), json!(1));
        })
        .unwrap();
        let parts: Vec<&str> = rewritten.split('.').collect();
        assert_eq!((parts[0], parts[2]), ("h", "sig"));
        let decoded: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(decoded, json!({"sub": "a", "exp": 1}));
    }

    #[test]
    fn tokens_that_are_not_jwts_are_left_alone() {
        assert_eq!(rewrite_claims("opaque-token", |_| {}), None);
        assert_eq!(rewrite_claims("a.b.c.d", |_| {}), None);
        let not_object = URL_SAFE_NO_PAD.encode("[1]");
        assert_eq!(rewrite_claims(&format!("h.{not_object}.s"), |_| {}), None);
    }
}
