//! Bad input: the documented error replies, none of which closes the connection, and the one limit that does.

use serde_json::json;

use super::support::{ensure_error, ensure_usable, next_reply, not_heartbeat, show_uid};
use crate::case::{sources, Case, CaseResult, Kind, Level, Need, Reference};
use crate::ctx::Ctx;
use crate::ensure;
use crate::profile::Profile;

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "directus.errors.unparseable",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A frame that is not JSON gets a server error INVALID_PAYLOAD and the socket stays usable",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "\"message\":\"Unable to parse the incoming message.\"",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(unparseable(ctx)),
        },
        Case {
            id: "directus.errors.non-object",
            profile: Profile::Directus,
            level: Level::Should,
            title: "JSON that is not a message object (an array, a number, an object without type) gets a server error INVALID_PAYLOAD each time, and the socket stays usable",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "[1,2,3] / 42 / {}   <- {\"type\":\"server\",\"status\":\"error\",\"error\":{\"code\":\"INVALID_PAYLOAD\",\"message\":\"Validation error: …\"}}",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(non_object(ctx)),
        },
        Case {
            id: "directus.errors.unknown-type-ignored",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A message of an unknown type gets no reply and the socket stays usable",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "{\"type\":\"foo\"}      (no reply at all)",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(unknown_type_ignored(ctx)),
        },
        Case {
            id: "directus.errors.subscribe-without-collection",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A subscribe without collection gets a subscribe error INVALID_PAYLOAD and the socket stays usable",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "{\"type\":\"subscribe\",\"uid\":\"no-coll\"}   <- {\"type\":\"subscribe\",\"status\":\"error\",\"error\":{\"code\":\"INVALID_PAYLOAD\",…}}",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(subscribe_without_collection(ctx)),
        },
        Case {
            id: "directus.errors.unknown-event-refused",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A subscribe whose event is not create, update or delete gets a subscribe error INVALID_PAYLOAD and no subscription",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "Using the optional event argument you can filter for specific create , update , and delete events.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(unknown_event_refused(ctx)),
        },
        Case {
            id: "directus.errors.missing-collection-forbidden",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A subscribe to a collection that does not exist gets a subscribe error FORBIDDEN with its uid, and the socket stays usable",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "\"error\":{\"code\":\"FORBIDDEN\",\"message\":\"You don't have permission to access collection \\\"nope\\\" or it does not exist. Queried in root.\"},\"uid\":\"nx\"}",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(missing_collection_forbidden(ctx)),
        },
    ]
}

async fn unparseable(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.directus().connect("primary").await?;
    conn.send_text_raw("{not json").await?;
    let reply = next_reply(&ctx, &mut conn).await?;
    ensure_error(&reply, "server", "INVALID_PAYLOAD", "the text `{not json`")?;
    ensure_usable(&ctx, &mut conn, "a frame that is not JSON").await
}

async fn non_object(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.directus().connect("primary").await?;
    for text in ["[1,2,3]", "42", "{}"] {
        conn.send_text_raw(text).await?;
        let reply = next_reply(&ctx, &mut conn)
            .await
            .map_err(|e| e.context(format!("after sending `{text}`")))?;
        ensure_error(
            &reply,
            "server",
            "INVALID_PAYLOAD",
            &format!("the frame `{text}`"),
        )?;
    }
    ensure_usable(&ctx, &mut conn, "frames that are not message objects").await
}

async fn unknown_type_ignored(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.directus().connect("primary").await?;
    let uid = ctx.unique("foo");
    conn.send_text_raw(&json!({"type": "foo", "uid": uid}).to_string())
        .await?;
    conn.expect_silence_of(not_heartbeat(), ctx.silence())
        .await
        .map_err(|e| e.context("a message of unknown type `foo` must get no reply"))?;
    ensure_usable(&ctx, &mut conn, "a message of unknown type").await
}

async fn subscribe_without_collection(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.directus().connect("primary").await?;
    let uid = ctx.unique("no-collection");
    conn.send_text_raw(&json!({"type": "subscribe", "uid": uid}).to_string())
        .await?;
    let reply = next_reply(&ctx, &mut conn).await?;
    ensure_error(
        &reply,
        "subscribe",
        "INVALID_PAYLOAD",
        "a subscribe without collection",
    )?;
    ensure_usable(&ctx, &mut conn, "a subscribe without collection").await
}

async fn missing_collection_forbidden(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.directus().connect("primary").await?;
    let collection = ctx.unique("no_such_collection").replace('-', "_");
    let uid = ctx.unique("missing");
    conn.send_json(&json!({"type": "subscribe", "collection": collection, "uid": uid}))
        .await?;
    let reply = next_reply(&ctx, &mut conn).await?;
    ensure_error(
        &reply,
        "subscribe",
        "FORBIDDEN",
        &format!("a subscribe to the missing collection {collection:?}"),
    )?;
    ensure!(
        reply.str("/uid") == Some(uid.as_str()),
        "the FORBIDDEN error should carry the subscribe's uid {}: {reply}",
        show_uid(Some(&uid))
    );
    ensure_usable(&ctx, &mut conn, "a subscribe to a missing collection").await
}

async fn unknown_event_refused(ctx: Ctx) -> CaseResult {
    let collection = ctx.directus().collection()?;
    let mut conn = ctx.directus().connect("primary").await?;
    let uid = ctx.unique("upsert");
    let frame =
        json!({"type": "subscribe", "collection": collection, "event": "upsert", "uid": uid});
    conn.send_text_raw(&frame.to_string()).await?;
    let reply = next_reply(&ctx, &mut conn).await?;
    ensure_error(
        &reply,
        "subscribe",
        "INVALID_PAYLOAD",
        "a subscribe with event \"upsert\"",
    )?;
    ensure_usable(&ctx, &mut conn, "a subscribe with an unknown event").await
}
