//! kvStore ids: the three scopes and the two stores are distinct resources, the server store is written by a
//! service account, keys may hold colons, and a value is any JSON.

use serde_json::{json, Value};

use super::support::{
    ensure_data, ensure_user, note, scenario, seed, subscribe_existing, subscribe_missing,
    success_for,
};
use crate::case::{Case, CaseResult, Level, Need};
use crate::client::m2::kv_id;
use crate::ctx::Ctx;
use crate::target::template::Vars;

const SCOPES: [&str; 3] = ["Organization", "Project", "World"];

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "m2.kvstore.scopes-are-distinct",
            Level::Should,
            "The same key at Organization, Project and World scope names three values: a write at one scope is pushed to that scope's subscription only",
            note("scope `Organization|Project|World` (only `World` is attested)"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(scopes_are_distinct(ctx)),
        ),
        scenario(
            "m2.kvstore.stores-are-distinct",
            Level::Should,
            "The same key in kvstoreClient and kvstoreServer names two values: a write to the client store is not pushed to the server store's subscription",
            note("each user has a client store, written by the user, and a server store"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(stores_are_distinct(ctx)),
        ),
        scenario(
            "m2.kvstore.server-store-written-by-service",
            Level::Should,
            "A value a service account writes in a user's kvstoreServer is pushed to that user's subscription",
            note("written by a server/service account; both readable by the user"),
            &[
                Need::Credential("primary"),
                Need::Credential("service"),
                Need::Actuator("kv_upsert"),
            ],
            |ctx| Box::pin(server_store_written_by_service(ctx)),
        ),
        scenario(
            "m2.kvstore.key-with-colons",
            Level::Should,
            "A key holding colons is everything after the store: World:kvstoreClient:a:b names the key a:b",
            note("key free text"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(key_with_colons(ctx)),
        ),
        scenario(
            "m2.kvstore.any-json-value",
            Level::Should,
            "A kvStore value may be any JSON value: strings, numbers, booleans, arrays and objects are pushed as written",
            seed("Provides real-time updates from the Key/Value Store via WebSockets"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(any_json_value(ctx)),
        ),
    ]
}

async fn scopes_are_distinct(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let key = ctx.unique("scoped");
    let mut conn = m2.connect("primary").await?;
    for scope in SCOPES {
        subscribe_missing(
            &ctx,
            &mut conn,
            "kvStore",
            &kv_id(scope, "kvstoreClient", &key),
        )
        .await?;
    }
    // Project first: the middle scope, so a server mixing it up with either neighbour pushes the wrong id.
    for scope in ["Project", "Organization", "World"] {
        let id = kv_id(scope, "kvstoreClient", &key);
        let data = json!({"scope": scope});
        m2.kv_upsert("primary", scope, "kvstoreClient", &key, data.clone())
            .await?;
        let push = conn
            .expect_next(success_for("kvStore", &id), ctx.wait())
            .await
            .map_err(|e| e.context(format!("after a write at {scope} scope")))?;
        ensure_data(&push, &data, &format!("the push for {id}"))?;
    }
    conn.expect_silence(ctx.silence())
        .await
        .map_err(|e| e.context("each write must be pushed to its own scope's subscription only"))
}

async fn stores_are_distinct(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let key = ctx.unique("stored");
    let client = kv_id("World", "kvstoreClient", &key);
    let server = kv_id("World", "kvstoreServer", &key);
    let mut conn = m2.connect("primary").await?;
    subscribe_missing(&ctx, &mut conn, "kvStore", &server).await?;
    subscribe_missing(&ctx, &mut conn, "kvStore", &client).await?;
    let data = json!({"store": "kvstoreClient"});
    m2.kv_upsert("primary", "World", "kvstoreClient", &key, data.clone())
        .await?;
    let push = conn
        .expect_next(success_for("kvStore", &client), ctx.wait())
        .await
        .map_err(|e| e.context("after a write to the client store"))?;
    ensure_data(&push, &data, "the client store's push")?;
    conn.expect_silence_of(success_for("kvStore", &server), ctx.silence())
        .await
        .map_err(|e| {
            e.context("a write to kvstoreClient must not reach the kvstoreServer subscription")
        })
}

async fn server_store_written_by_service(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let key = ctx.unique("granted");
    let id = kv_id("World", "kvstoreServer", &key);
    let user = m2.user_id("primary").await?;
    let mut conn = m2.connect("primary").await?;
    subscribe_missing(&ctx, &mut conn, "kvStore", &id).await?;
    let data = json!({"granted": "by the service", "key": key});
    // The service account acts on the subscriber's store: the user id is the subscriber's.
    let args = Vars::from([
        ("user_id".to_owned(), Value::String(user)),
        ("scope".to_owned(), json!("World")),
        ("store".to_owned(), json!("kvstoreServer")),
        ("key".to_owned(), Value::String(key.clone())),
        ("data".to_owned(), data.clone()),
    ]);
    ctx.actuate("kv_upsert", Some("service"), args).await?;
    let push = conn
        .expect_next(success_for("kvStore", &id), ctx.wait())
        .await
        .map_err(|e| e.context("after the service account's write"))?;
    ensure_user(&ctx, &push, "primary").await?;
    ensure_data(&push, &data, "the service account's write")
}

async fn key_with_colons(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let key = format!("{}:level:7", ctx.unique("colons"));
    let id = kv_id("World", "kvstoreClient", &key);
    let data = json!({"key": key});
    m2.kv_upsert("primary", "World", "kvstoreClient", &key, data.clone())
        .await?;
    let mut conn = m2.connect("primary").await?;
    let reply = subscribe_existing(&ctx, &mut conn, "kvStore", &id)
        .await
        .map_err(|e| e.context(format!("the key {key:?} was written over HTTP")))?;
    ensure_data(&reply, &data, "the value of a key holding colons")
}

async fn any_json_value(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let key = ctx.unique("shapes");
    let id = kv_id("World", "kvstoreClient", &key);
    let mut conn = m2.connect("primary").await?;
    subscribe_missing(&ctx, &mut conn, "kvStore", &id).await?;
    let values = [
        json!("a string"),
        json!(-12.5),
        json!(0),
        json!(true),
        json!(false),
        json!([1, "two", {"three": 3}]),
        json!({"nested": {"list": [], "empty": {}}}),
        json!(""),
    ];
    for value in values {
        m2.kv_upsert("primary", "World", "kvstoreClient", &key, value.clone())
            .await?;
        let push = conn
            .expect_next(success_for("kvStore", &id), ctx.wait())
            .await
            .map_err(|e| e.context(format!("after writing {value}")))?;
        ensure_data(&push, &value, "the value as written")?;
    }
    Ok(())
}
