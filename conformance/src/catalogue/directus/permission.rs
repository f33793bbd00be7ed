//! Permissions: a user may not subscribe to a collection it cannot read, learns nothing about whether it exists,
//! and never receives its events.

use serde_json::json;

use super::support::{ensure_error, ensure_usable, next_reply};
use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::{Conn, Frame, Pattern};
use crate::ctx::Ctx;
use crate::ensure;
use crate::profile::Profile;

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "directus.permission.unreadable-collection-forbidden",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A subscribe to a collection the user may not read gets FORBIDDEN with the same message as a missing collection",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "A collection the user may not read is FORBIDDEN with the same message as a missing one (no existence leak).",
            },
            kind: Kind::Scenario,
            requires: &[
                Need::Credential("reader"),
                Need::Parameter("secret_collection"),
            ],
            run: |ctx| Box::pin(unreadable_collection_forbidden(ctx)),
        },
        Case {
            id: "directus.permission.no-events-from-unreadable",
            profile: Profile::Directus,
            level: Level::Should,
            title: "Changes to a collection a user may not read never reach that user's socket, while a reader of it gets them",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "one permission-checked read per subscriber per event",
            },
            kind: Kind::Scenario,
            requires: &[
                Need::Credential("primary"),
                Need::Credential("reader"),
                Need::Parameter("secret_collection"),
                Need::Parameter("secret_field"),
                Need::Actuator("create_item"),
            ],
            run: |ctx| Box::pin(no_events_from_unreadable(ctx)),
        },
    ]
}

/// Subscribes to `collection` with a fresh uid and returns the reply, which must be FORBIDDEN with that uid.
async fn forbidden(ctx: &Ctx, conn: &mut Conn, collection: &str) -> Result<Frame, CaseError> {
    let uid = ctx.unique("denied");
    conn.send_json(&json!({"type": "subscribe", "collection": collection, "uid": uid}))
        .await?;
    let reply = next_reply(ctx, conn).await.map_err(|e| {
        e.context(format!(
            "waiting for the answer to subscribing to {collection:?}"
        ))
    })?;
    ensure_error(
        &reply,
        "subscribe",
        "FORBIDDEN",
        &format!("a subscribe to {collection:?} by a user who may not read it"),
    )?;
    ensure!(
        reply.str("/uid") == Some(uid.as_str()),
        "the FORBIDDEN error should carry the subscribe's uid {uid:?}: {reply}"
    );
    Ok(reply)
}

/// The error message with the collection's name blanked, so messages about two collections can be compared.
fn message_shape(reply: &Frame, collection: &str) -> String {
    reply
        .str("/error/message")
        .unwrap_or_default()
        .replace(collection, "<collection>")
}

async fn unreadable_collection_forbidden(ctx: Ctx) -> CaseResult {
    let secret = ctx.parameter_str("secret_collection")?;
    let missing = ctx.unique("no_such_collection").replace('-', "_");
    let mut conn = ctx.directus().connect("reader").await?;
    let refused = forbidden(&ctx, &mut conn, &secret).await?;
    let absent = forbidden(&ctx, &mut conn, &missing).await?;
    let (refused_shape, absent_shape) = (
        message_shape(&refused, &secret),
        message_shape(&absent, &missing),
    );
    ensure!(
        refused_shape == absent_shape,
        "the refusal of the unreadable collection {secret:?} tells it apart from a missing one: {:?} vs {:?}",
        refused.str("/error/message").unwrap_or_default(),
        absent.str("/error/message").unwrap_or_default()
    );
    ensure_usable(&ctx, &mut conn, "two FORBIDDEN subscribes").await
}

async fn no_events_from_unreadable(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let secret = ctx.parameter_str("secret_collection")?;
    let field = ctx.parameter_str("secret_field")?;
    let readable = directus.collection()?;
    let mut reader = directus.connect("reader").await?;
    let reader_uid = ctx.unique("reader");
    directus
        .subscribe(&mut reader, &readable, Some(&reader_uid), json!({}))
        .await?;
    forbidden(&ctx, &mut reader, &secret).await?;
    let mut admin = directus.connect("primary").await?;
    let admin_uid = ctx.unique("admin");
    directus
        .subscribe(&mut admin, &secret, Some(&admin_uid), json!({}))
        .await?;
    let value = ctx.unique("classified");
    directus
        .create_item(&secret, json!({ field.as_str(): value }))
        .await
        .map_err(|e| e.context(format!("creating an item in {secret:?}")))?;
    let witnessed = Pattern::when(format!("a `create` event about {value:?}"), {
        let value = value.clone();
        move |f| f.str("/event") == Some("create") && f.text().is_some_and(|t| t.contains(&value))
    });
    admin
        .expect(witnessed, ctx.wait())
        .await
        .map_err(|e| e.context(format!("the administrator's subscription to {secret:?}")))?;
    let leak = Pattern::when(format!("frame mentioning {value:?}"), {
        let value = value.clone();
        move |f| f.text().is_some_and(|t| t.contains(&value))
    });
    reader
        .expect_silence_of(leak, ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "an item of {secret:?}, which the reader may not read"
            ))
        })
}
