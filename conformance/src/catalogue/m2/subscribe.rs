//! Subscribing: the document's three examples, the success reply of each resource type, the warning for a
//! resource that does not exist yet and the listener it leaves, and subscribing twice.

use serde_json::{json, Value};

use super::support::{
    ensure_collection, ensure_data, ensure_usable, ensure_user, expect_error_reply, note,
    reply_for, scenario, seed, shown, subscribe_existing, subscribe_missing, success_for, version,
};
use crate::case::{Case, CaseResult, Level, Need};
use crate::client::m2::kv_id;
use crate::ctx::Ctx;
use crate::ensure;

/// The seed's KVStore example, as printed.
const KV_EXAMPLE: &str = r#"{
    "action": "subscribe",
    "resource": {
        "type": "kvStore",
        "id": "World:kvstoreClient:testKey"
    }
}"#;

/// The seed's Collections example, as printed.
const COLLECTION_EXAMPLE: &str = r#"{
    "action": "subscribe",
    "resource": {
        "type": "collection",
        "id": "public"
    }
}"#;

/// The seed's Liveconfig example with its quotes straightened, as the protocol note prints it
/// (NOTES m2.liveconfig-typographic-quotes).
const LIVE_CONFIG_EXAMPLE: &str =
    r#"{"action":"subscribe","resource":{"type":"liveConfig","id":"game"}}"#;

/// The seed's Liveconfig example as printed: two opening quotes are U+201C, so it is not JSON.
const LIVE_CONFIG_EXAMPLE_AS_PRINTED: &str = "{\n    \"action\": \"subscribe\",\n    \"resource\": {\n        \"type\": \u{201c}liveConfig\",\n        \"id\": \u{201c}game\"\n    }\n}";

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "m2.subscribe.kvstore-example",
            Level::Must,
            "The document's KVStore subscribe example is answered with the value's success message or the resource_not_found warning",
            seed("\"id\": \"World:kvstoreClient:testKey\""),
            &[Need::Credential("primary")],
            |ctx| Box::pin(example(ctx, KV_EXAMPLE, "kvStore", "World:kvstoreClient:testKey")),
        ),
        scenario(
            "m2.subscribe.collection-example",
            Level::Must,
            "The document's Collections subscribe example is answered with the user's collection or the resource_not_found warning",
            seed("\"type\": \"collection\", \"id\": \"public\""),
            &[Need::Credential("primary")],
            |ctx| Box::pin(example(ctx, COLLECTION_EXAMPLE, "collection", "public")),
        ),
        scenario(
            "m2.subscribe.liveconfig-example",
            Level::Must,
            "The document's Liveconfig subscribe example, quotes straightened, is answered with the config's success message or the resource_not_found warning",
            note(r#"{"action":"subscribe","resource":{"type":"liveConfig","id":"game"}}"#),
            &[Need::Credential("primary")],
            |ctx| Box::pin(example(ctx, LIVE_CONFIG_EXAMPLE, "liveConfig", "game")),
        ),
        scenario(
            "m2.subscribe.liveconfig-example-as-printed",
            Level::Must,
            "The document's Liveconfig example as printed, with typographic quotes, is answered {\"error\": \"Invalid message format\"} and the connection stays usable",
            seed("\"type\": \u{201c}liveConfig\","),
            &[Need::Credential("primary")],
            |ctx| Box::pin(example_as_printed(ctx)),
        ),
        scenario(
            "m2.subscribe.kvstore-current-value",
            Level::Must,
            "Subscribing to an existing kvStore value answers a success message with the user, the resource, the value as data and an ISO version with milliseconds",
            seed("\"version\": \"2024-01-30T15:50:35.742Z\""),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(kvstore_current_value(ctx)),
        ),
        scenario(
            "m2.subscribe.collection-current-value",
            Level::Must,
            "Subscribing to a collection holding objects answers a success message whose data is {userId, datasourceId, userCollection} of the user",
            seed("\"datasourceId\": \"fakeDatasourceId\", \"userCollection\": []"),
            &[
                Need::Credential("primary"),
                Need::Actuator("collection_transfer"),
                Need::Parameter("public_datasource"),
            ],
            |ctx| Box::pin(collection_current_value(ctx)),
        ),
        scenario(
            "m2.subscribe.liveconfig-current-value",
            Level::Must,
            "Subscribing to an existing live config answers a success message whose data is the config object",
            note("`data` is the config JSON object"),
            &[Need::Credential("primary"), Need::Actuator("live_config_put")],
            |ctx| Box::pin(liveconfig_current_value(ctx)),
        ),
        scenario(
            "m2.subscribe.missing-resource-warning",
            Level::Must,
            "Subscribing to a kvStore key or a live config that does not exist answers the resource_not_found warning",
            seed("When subscribing if a resource doesn't exist yet a listener will be created"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(missing_resource_warning(ctx)),
        ),
        scenario(
            "m2.subscribe.listener-fires-on-create",
            Level::Must,
            "A subscription made before a kvStore key exists delivers the value once the key is created",
            seed("a listener will be created and will be triggered when the resource is created"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(listener_fires_on_create(ctx)),
        ),
        scenario(
            "m2.subscribe.twice-is-one-subscription",
            Level::Should,
            "Subscribing twice to the same resource answers both times and a later change is pushed once",
            seed("sending messages to the realtime service will subscribe you to different resources"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(twice_is_one_subscription(ctx)),
        ),
    ]
}

/// The example is sent verbatim; the reply names the same resource and the connection's user, or warns.
async fn example(ctx: Ctx, text: &'static str, kind: &'static str, id: &'static str) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    conn.send_text_raw(text).await?;
    let reply = conn.expect_next(reply_for(kind, id), ctx.wait()).await?;
    if reply.is("success") {
        ensure_user(&ctx, &reply, "primary").await?;
        version(&reply)?;
    }
    Ok(())
}

async fn example_as_printed(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    conn.send_text_raw(LIVE_CONFIG_EXAMPLE_AS_PRINTED).await?;
    expect_error_reply(
        &ctx,
        &mut conn,
        "the Liveconfig example with typographic quotes",
    )
    .await?;
    ensure_usable(&ctx, &mut conn, "the error").await
}

async fn kvstore_current_value(ctx: Ctx) -> CaseResult {
    let key = ctx.unique("current");
    let data = json!({"hp": 10, "tags": ["a", "b"], "key": key});
    ctx.m2()
        .kv_upsert("primary", "World", "kvstoreClient", &key, data.clone())
        .await?;
    let mut conn = ctx.m2().connect("primary").await?;
    let id = kv_id("World", "kvstoreClient", &key);
    let reply = subscribe_existing(&ctx, &mut conn, "kvStore", &id).await?;
    ensure_user(&ctx, &reply, "primary").await?;
    ensure_data(&reply, &data, "the reply to a subscribe of a stored value")?;
    version(&reply)?;
    Ok(())
}

async fn collection_current_value(ctx: Ctx) -> CaseResult {
    let datasource = ctx.parameter_str("public_datasource")?;
    let object = ctx.unique("object");
    ctx.m2()
        .collection_transfer("primary", &datasource, &object, 1)
        .await?;
    let mut conn = ctx.m2().connect("primary").await?;
    let reply = subscribe_existing(&ctx, &mut conn, "collection", "public").await?;
    ensure_user(&ctx, &reply, "primary").await?;
    ensure_collection(&ctx, &reply, "primary").await?;
    let objects = reply.get("/data/userCollection").and_then(Value::as_array);
    ensure!(
        objects.is_some_and(|o| !o.is_empty()),
        "the public collection holds object {object:?} (transferred before subscribing), yet its userCollection is {}",
        shown(reply.get("/data/userCollection"))
    );
    version(&reply)?;
    Ok(())
}

async fn liveconfig_current_value(ctx: Ctx) -> CaseResult {
    let name = ctx.unique("config");
    let data = json!({"difficulty": "hard", "rounds": 3, "name": name});
    ctx.m2()
        .live_config_put("primary", &name, data.clone())
        .await?;
    let mut conn = ctx.m2().connect("primary").await?;
    let reply = subscribe_existing(&ctx, &mut conn, "liveConfig", &name).await?;
    ensure_user(&ctx, &reply, "primary").await?;
    ensure_data(&reply, &data, "the reply to a subscribe of a stored config")?;
    version(&reply)?;
    Ok(())
}

async fn missing_resource_warning(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    let id = kv_id("World", "kvstoreClient", &ctx.unique("missing"));
    subscribe_missing(&ctx, &mut conn, "kvStore", &id).await?;
    let name = ctx.unique("missing-config");
    subscribe_missing(&ctx, &mut conn, "liveConfig", &name).await
}

async fn listener_fires_on_create(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    let key = ctx.unique("created");
    let id = kv_id("World", "kvstoreClient", &key);
    subscribe_missing(&ctx, &mut conn, "kvStore", &id).await?;
    let data = json!({"score": 42, "note": key});
    ctx.m2()
        .kv_upsert("primary", "World", "kvstoreClient", &key, data.clone())
        .await?;
    let update = conn
        .expect(success_for("kvStore", &id), ctx.wait())
        .await
        .map_err(|e| e.context("the listener must fire when the key is created"))?;
    ensure_user(&ctx, &update, "primary").await?;
    // NOTES m2.kvstore-data: `data` is the stored value itself.
    ensure_data(&update, &data, "the push on creation")
}

async fn twice_is_one_subscription(ctx: Ctx) -> CaseResult {
    let key = ctx.unique("twice");
    let id = kv_id("World", "kvstoreClient", &key);
    ctx.m2()
        .kv_upsert("primary", "World", "kvstoreClient", &key, json!(1))
        .await?;
    let mut conn = ctx.m2().connect("primary").await?;
    subscribe_existing(&ctx, &mut conn, "kvStore", &id).await?;
    subscribe_existing(&ctx, &mut conn, "kvStore", &id)
        .await
        .map_err(|e| e.context("the second subscribe must be answered too"))?;
    ctx.m2()
        .kv_upsert("primary", "World", "kvstoreClient", &key, json!(2))
        .await?;
    let push = conn
        .expect_next(success_for("kvStore", &id), ctx.wait())
        .await?;
    ensure_data(&push, &json!(2), "the push after the change")?;
    conn.expect_silence_of(success_for("kvStore", &id), ctx.silence())
        .await
        .map_err(|e| e.context("one change of a resource subscribed twice must be pushed once"))
}
