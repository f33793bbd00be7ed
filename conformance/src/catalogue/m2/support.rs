//! What the m2 cases share: how a case is declared, the patterns of the three server frames, the subscribe
//! steps, refused handshakes, and checks of `version` stamps.

use serde_json::{json, Value};

use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference, RunFn};
use crate::client::m2::{kv_id, M2Handshake};
use crate::client::{Conn, Frame, Pattern};
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::{ensure, fail};

/// The one documented error text (seed "Error:" example; NOTES m2.single-error).
pub(super) const ERROR_TEXT: &str = "Invalid message format";

/// Statuses a handshake refused before the upgrade may carry (protocol note "Connecting": "HTTP 401/400";
/// a key of another organization is forbidden, 403).
pub(super) const REFUSAL_STATUSES: [u16; 3] = [400, 401, 403];

/// An m2 scenario case.
pub(super) const fn scenario(
    id: &'static str,
    level: Level,
    title: &'static str,
    reference: Reference,
    requires: &'static [Need],
    run: RunFn,
) -> Case {
    Case {
        id,
        profile: Profile::M2,
        level,
        title,
        reference,
        kind: Kind::Scenario,
        requires,
        run,
    }
}

/// A quote of the seed document.
pub(super) const fn seed(quote: &'static str) -> Reference {
    Reference {
        source: sources::M2_SEED,
        quote,
    }
}

/// A quote of the protocol note.
pub(super) const fn note(quote: &'static str) -> Reference {
    Reference {
        source: sources::M2_NOTES,
        quote,
    }
}

/// `{"type": kind, "id": id}`.
pub(super) fn resource(kind: &str, id: &str) -> Value {
    json!({"type": kind, "id": id})
}

/// A success-shaped message (a subscribe reply or a later push) about `kind` `id`.
pub(super) fn success_for(kind: &str, id: &str) -> Pattern {
    let wanted = resource(kind, id);
    Pattern::when(format!("a success message for {kind} {id:?}"), move |f| {
        f.is("success") && f.get("/resource") == Some(&wanted)
    })
}

/// The `resource_not_found` warning.
pub(super) fn warning() -> Pattern {
    Pattern::when("the resource_not_found warning", |f| {
        f.is("warning") && f.str("/warning") == Some("resource_not_found")
    })
}

/// `{"error": "Invalid message format"}`.
pub(super) fn error() -> Pattern {
    Pattern::when(format!("the error {{\"error\": {ERROR_TEXT:?}}}"), |f| {
        f.is("error") && f.str("/error") == Some(ERROR_TEXT)
    })
}

/// The reply to a subscribe of a resource that may or may not exist: its success message or the warning.
pub(super) fn reply_for(kind: &str, id: &str) -> Pattern {
    let success = success_for(kind, id);
    let warning = warning();
    Pattern::when(
        format!("a success message for {kind} {id:?} or the resource_not_found warning"),
        move |f| success.matches(f) || warning.matches(f),
    )
}

/// A kvStore id in the user's client store at `Organization` scope, which every connection can address
/// (the organization header is required).
pub(super) fn organization_probe(ctx: &Ctx) -> String {
    kv_id("Organization", "kvstoreClient", &ctx.unique("probe"))
}

/// Subscribes to a resource that does not exist; the very next frame must be the warning.
pub(super) async fn subscribe_missing(
    ctx: &Ctx,
    conn: &mut Conn,
    kind: &str,
    id: &str,
) -> CaseResult {
    ctx.m2().subscribe(conn, kind, id).await?;
    conn.expect_next(warning(), ctx.wait()).await.map_err(|e| {
        e.context(format!(
            "subscribing to {kind} {id:?}, which does not exist"
        ))
    })?;
    Ok(())
}

/// Subscribes to an existing resource; the very next frame must be its success message, which is returned.
pub(super) async fn subscribe_existing(
    ctx: &Ctx,
    conn: &mut Conn,
    kind: &str,
    id: &str,
) -> Result<Frame, CaseError> {
    ctx.m2().subscribe(conn, kind, id).await?;
    conn.expect_next(success_for(kind, id), ctx.wait())
        .await
        .map_err(|e| e.context(format!("subscribing to {kind} {id:?}, which exists")))
}

/// Subscribes to a resource that may exist (a user's collection); returns its success message, or `None`
/// after the warning.
pub(super) async fn subscribe_either(
    ctx: &Ctx,
    conn: &mut Conn,
    kind: &str,
    id: &str,
) -> Result<Option<Frame>, CaseError> {
    ctx.m2().subscribe(conn, kind, id).await?;
    let reply = conn
        .expect_next(reply_for(kind, id), ctx.wait())
        .await
        .map_err(|e| e.context(format!("subscribing to {kind} {id:?}")))?;
    Ok(reply.is("success").then_some(reply))
}

/// The very next frame must be the error; `sent` says what provoked it.
pub(super) async fn expect_error_reply(ctx: &Ctx, conn: &mut Conn, sent: &str) -> CaseResult {
    conn.expect_next(error(), ctx.wait())
        .await
        .map_err(|e| e.context(format!("after sending {sent}")))?;
    Ok(())
}

/// The connection still answers: a subscribe of a resource that does not exist gets its warning.
pub(super) async fn ensure_usable(ctx: &Ctx, conn: &mut Conn, after: &str) -> CaseResult {
    let id = organization_probe(ctx);
    subscribe_missing(ctx, conn, "kvStore", &id)
        .await
        .map_err(|e| e.context(format!("the connection must stay usable after {after}")))
}

/// The success message's `userId` is the user of credential set `credential`.
pub(super) async fn ensure_user(ctx: &Ctx, frame: &Frame, credential: &str) -> CaseResult {
    let user = ctx.m2().user_id(credential).await?;
    ensure!(
        frame.str("/userId") == Some(user.as_str()),
        "the message's userId is {}, the connection's user is {user:?}: {frame}",
        shown(frame.get("/userId"))
    );
    Ok(())
}

/// A collection message's data is the collection object of credential set `credential`'s user.
pub(super) async fn ensure_collection(ctx: &Ctx, frame: &Frame, credential: &str) -> CaseResult {
    let user = ctx.m2().user_id(credential).await?;
    ensure!(
        frame.str("/data/userId") == Some(user.as_str()),
        "the collection's data.userId is {}, the connection's user is {user:?}: {frame}",
        shown(frame.get("/data/userId"))
    );
    ensure!(
        frame
            .get("/data/userCollection")
            .is_some_and(Value::is_array),
        "the collection's data has no userCollection array: {frame}"
    );
    Ok(())
}

/// The message's `data` equals `expected`.
pub(super) fn ensure_data(frame: &Frame, expected: &Value, what: &str) -> CaseResult {
    ensure!(
        frame.get("/data") == Some(expected),
        "{what}: the message carries data {}, expected {expected}",
        shown(frame.get("/data"))
    );
    Ok(())
}

/// A JSON value for reasons; `(absent)` for none.
pub(super) fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), Value::to_string)
}

/// Whether `text` has the JavaScript `toISOString()` form of the seed's example, `2024-01-30T15:50:35.742Z`.
pub(super) fn is_iso_millis(text: &str) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd.dddZ";
    text.len() == SHAPE.len()
        && text.bytes().zip(SHAPE).all(|(c, s)| match s {
            b'd' => c.is_ascii_digit(),
            other => c == *other,
        })
}

/// The message's `version`, which must have the seed's form.
pub(super) fn version(frame: &Frame) -> Result<String, CaseError> {
    match frame.str("/version") {
        Some(v) if is_iso_millis(v) => Ok(v.to_owned()),
        Some(v) => fail!(
            "version {v:?} is not an ISO-8601 UTC timestamp with milliseconds like \"2024-01-30T15:50:35.742Z\": {frame}"
        ),
        None => fail!("the message has no string version: {frame}"),
    }
}

/// `later` is a strictly newer version than `earlier` (both in the seed's form, so text order is time order).
pub(super) fn ensure_newer(earlier: &str, later: &str, what: &str) -> CaseResult {
    ensure!(
        later > earlier,
        "{what}: version {later:?} is not newer than the previous {earlier:?}"
    );
    Ok(())
}

/// The handshake must be refused before the upgrade with 400, 401 or 403; `what` describes it.
pub(super) async fn expect_refused(ctx: &Ctx, handshake: M2Handshake, what: &str) -> CaseResult {
    // A server accepting the upgrade while not echoing an offered subprotocol fails inside `open`, saying so.
    match ctx.m2().open(handshake).await? {
        Ok(conn) => {
            conn.close().await;
            fail!(
                "the server accepted the WebSocket upgrade of a handshake {what}; it must refuse it before the upgrade"
            )
        }
        Err(refused) => match refused.status() {
            Some(status) if REFUSAL_STATUSES.contains(&status) => Ok(()),
            Some(status) => fail!(
                "a handshake {what} was refused with HTTP {status}, not 400, 401 or 403: {refused}"
            ),
            None => fail!("a handshake {what} was neither refused with an HTTP status nor accepted: {refused}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_millis_is_the_seed_form_only() {
        assert!(is_iso_millis("2024-01-30T15:50:35.742Z"));
        assert!(!is_iso_millis("2024-01-30T15:50:35Z"));
        assert!(!is_iso_millis("2024-01-30T15:50:35.742+01:00"));
        assert!(!is_iso_millis("2024-01-30 15:50:35.742Z"));
        assert!(!is_iso_millis("1706629835742"));
    }

    #[test]
    fn text_order_of_seed_form_versions_is_time_order() {
        assert!(ensure_newer("2024-01-30T15:50:35.742Z", "2024-01-30T15:50:35.743Z", "x").is_ok());
        assert!(ensure_newer("2024-01-30T15:50:35.742Z", "2024-01-30T15:50:35.742Z", "x").is_err());
        assert!(ensure_newer("2024-12-31T23:59:59.999Z", "2025-01-01T00:00:00.000Z", "x").is_ok());
    }
}
