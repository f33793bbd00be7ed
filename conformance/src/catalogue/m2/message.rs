//! Frames that are not a subscribe or unsubscribe message: each is answered with the one documented error, and
//! the connection and its subscriptions stay as they were.

use serde_json::json;

use super::support::{
    ensure_data, ensure_usable, expect_error_reply, note, scenario, seed, subscribe_existing,
    success_for,
};
use crate::case::{Case, CaseResult, Level, Need};
use crate::client::m2::{kv_id, subscribe_frame};
use crate::client::Conn;
use crate::ctx::Ctx;

/// The seed's Error example, the quote of every case here.
const ERROR_EXAMPLE: &str = "\"error\": \"Invalid message format\"";

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "m2.message.invalid-json",
            Level::Must,
            "A text frame that is not JSON is answered {\"error\": \"Invalid message format\"} and the connection stays usable",
            seed(ERROR_EXAMPLE),
            &[Need::Credential("primary")],
            |ctx| Box::pin(invalid_json(ctx)),
        ),
        scenario(
            "m2.message.invalid-format-error",
            Level::Should,
            "A message with an unknown action is answered {\"error\": \"Invalid message format\"} and the connection stays usable",
            seed(ERROR_EXAMPLE),
            &[Need::Credential("primary")],
            |ctx| Box::pin(unknown_action(ctx)),
        ),
        scenario(
            "m2.message.unknown-resource-type",
            Level::Should,
            "A subscribe to a resource type other than kvStore, collection and liveConfig is answered with the error",
            seed("Example messages for subscribing to the resources available in the realtime service"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(unknown_resource_type(ctx)),
        ),
        scenario(
            "m2.message.missing-members",
            Level::Should,
            "JSON that is not an object with an action and a resource of a type and an id is answered with the error, each frame in turn",
            seed(ERROR_EXAMPLE),
            &[Need::Credential("primary")],
            |ctx| Box::pin(missing_members(ctx)),
        ),
        scenario(
            "m2.message.malformed-resource-id",
            Level::Should,
            "A kvStore id not of the form <scope>:<store>:<key>, a collection other than public and private, or a live config name with whitespace is answered with the error",
            seed("\"id\": \"World:kvstoreClient:testKey\""),
            &[Need::Credential("primary")],
            |ctx| Box::pin(malformed_resource_id(ctx)),
        ),
        scenario(
            "m2.message.binary-frame",
            Level::Should,
            "A binary frame, even one holding a valid subscribe, is answered with the error and the connection stays usable",
            note("Messages (text frames, JSON)"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(binary_frame(ctx)),
        ),
        scenario(
            "m2.message.subscriptions-survive-errors",
            Level::Should,
            "After errors the connection's subscriptions still push changes and a new subscribe finds the stored value",
            seed(ERROR_EXAMPLE),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(subscriptions_survive_errors(ctx)),
        ),
    ]
}

/// Sends each text frame and expects the error for each, in order.
async fn each_answered(ctx: &Ctx, conn: &mut Conn, frames: &[&str]) -> CaseResult {
    let mut previous: Option<&str> = None;
    for frame in frames {
        let answered = match conn.send_text_raw(frame).await {
            Ok(()) => expect_error_reply(ctx, conn, frame).await,
            Err(e) => Err(e),
        };
        if let Err(e) = answered {
            return Err(match previous {
                Some(before) => e.context(format!(
                    "the connection must stay usable after the error answering {before}{}",
                    closed_by_server(conn)
                )),
                None => e,
            });
        }
        previous = Some(frame);
    }
    Ok(())
}

/// ` (the server closed it with code N)` when it did.
fn closed_by_server(conn: &mut Conn) -> String {
    conn.drain();
    conn.closed()
        .map(|closed| format!(" (the server closed it with code {})", closed.code))
        .unwrap_or_default()
}

async fn invalid_json(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    each_answered(
        &ctx,
        &mut conn,
        &[
            "subscribe kvStore World:kvstoreClient:testKey",
            r#"{"action":"subscribe","resource":{"type":"kvStore","id":"World:kvstoreClient:testKey"}"#,
            r#"{'action':'subscribe'}"#,
        ],
    )
    .await?;
    ensure_usable(&ctx, &mut conn, "frames that are not JSON").await
}

async fn unknown_action(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    let id = kv_id("World", "kvstoreClient", "testKey");
    let frames = [
        json!({"action": "dance", "resource": {"type": "kvStore", "id": id}}).to_string(),
        json!({"action": "publish", "resource": {"type": "kvStore", "id": id}}).to_string(),
    ];
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    each_answered(&ctx, &mut conn, &frames).await?;
    ensure_usable(&ctx, &mut conn, "unknown actions").await
}

async fn unknown_resource_type(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    let frames = [
        json!({"action": "subscribe", "resource": {"type": "document", "id": "game"}}).to_string(),
        // The seed's KVStore heading, not the type's spelling in its example.
        json!({"action": "subscribe", "resource": {"type": "KVStore", "id": "World:kvstoreClient:testKey"}})
            .to_string(),
    ];
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    each_answered(&ctx, &mut conn, &frames).await?;
    ensure_usable(&ctx, &mut conn, "unknown resource types").await
}

async fn missing_members(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    let id = "World:kvstoreClient:testKey";
    let frames = [
        json!({"action": "subscribe"}).to_string(),
        json!({"resource": {"type": "kvStore", "id": id}}).to_string(),
        json!({"action": "subscribe", "resource": {"type": "kvStore"}}).to_string(),
        json!({"action": "subscribe", "resource": {"id": id}}).to_string(),
        json!({"action": "subscribe", "resource": id}).to_string(),
        json!(["subscribe", {"type": "kvStore", "id": id}]).to_string(),
        "42".to_owned(),
    ];
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    each_answered(&ctx, &mut conn, &frames).await?;
    ensure_usable(&ctx, &mut conn, "messages with missing members").await
}

async fn malformed_resource_id(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    let frames: Vec<String> = [
        ("kvStore", "testKey"),
        ("kvStore", "Galaxy:kvstoreClient:testKey"),
        ("kvStore", "World:kvstoreShared:testKey"),
        ("kvStore", "World:kvstoreClient:"),
        ("collection", "shared"),
        ("liveConfig", "two words"),
    ]
    .into_iter()
    .map(|(kind, id)| subscribe_frame(kind, id).to_string())
    .collect();
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    each_answered(&ctx, &mut conn, &frames).await?;
    ensure_usable(&ctx, &mut conn, "ids of the wrong form").await
}

async fn binary_frame(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    let id = kv_id("Organization", "kvstoreClient", &ctx.unique("binary"));
    let frame = subscribe_frame("kvStore", &id).to_string();
    conn.send_binary_raw(frame.as_bytes()).await?;
    expect_error_reply(&ctx, &mut conn, "a subscribe in a binary frame").await?;
    ensure_usable(&ctx, &mut conn, "a binary frame").await
}

async fn subscriptions_survive_errors(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let key = ctx.unique("survivor");
    let id = kv_id("World", "kvstoreClient", &key);
    m2.kv_upsert("primary", "World", "kvstoreClient", &key, json!("before"))
        .await?;
    let mut conn = m2.connect("primary").await?;
    subscribe_existing(&ctx, &mut conn, "kvStore", &id).await?;
    each_answered(
        &ctx,
        &mut conn,
        &[
            "not json",
            r#"{"action":"dance","resource":{"type":"kvStore","id":"World:kvstoreClient:testKey"}}"#,
        ],
    )
    .await?;
    conn.send_binary_raw(b"\x00\x01").await?;
    expect_error_reply(&ctx, &mut conn, "a binary frame").await?;

    let after = json!("after");
    m2.kv_upsert("primary", "World", "kvstoreClient", &key, after.clone())
        .await?;
    let push = conn
        .expect_next(success_for("kvStore", &id), ctx.wait())
        .await
        .map_err(|e| e.context("the subscription made before the errors must still push"))?;
    ensure_data(&push, &after, "the push after the errors")?;
    let reply = subscribe_existing(&ctx, &mut conn, "kvStore", &id).await?;
    ensure_data(&reply, &after, "a new subscribe after the errors")
}
