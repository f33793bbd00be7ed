//! Pushes after the subscribe reply: every change with a newer version, a deletion, and the listener that
//! outlives the deletion.

use serde_json::{json, Value};

use super::support::{
    ensure_data, ensure_newer, note, scenario, seed, subscribe_existing, success_for, version,
};
use crate::case::{Case, CaseError, CaseResult, Level, Need};
use crate::client::m2::kv_id;
use crate::client::{Conn, Frame, Pattern};
use crate::ctx::Ctx;

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "m2.update.push-on-change",
            Level::Must,
            "Every later write of a subscribed kvStore value is pushed, in order, with the new value as data",
            seed("allowing you to listen to document updates in realtime"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(push_on_change(ctx)),
        ),
        scenario(
            "m2.update.newer-version",
            Level::Should,
            "Each push of a change carries a version newer than the one before it",
            note("pushed as a success-shaped message with the new `data` and a newer `version`"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(newer_version(ctx)),
        ),
        scenario(
            "m2.update.delete-pushes-null",
            Level::Should,
            "Deleting a subscribed kvStore value or live config pushes a success-shaped message with data null and a newer version",
            note("A deletion: we push a message with"),
            &[
                Need::Credential("primary"),
                Need::Actuator("kv_upsert"),
                Need::Actuator("kv_delete"),
                Need::Actuator("live_config_put"),
                Need::Actuator("live_config_delete"),
            ],
            |ctx| Box::pin(delete_pushes_null(ctx)),
        ),
        scenario(
            "m2.update.listener-survives-delete",
            Level::Must,
            "After a subscribed kvStore value is deleted the subscription remains: re-creating the value pushes it",
            seed("If the resource is deleted the listener will still exist"),
            &[
                Need::Credential("primary"),
                Need::Actuator("kv_upsert"),
                Need::Actuator("kv_delete"),
            ],
            |ctx| Box::pin(listener_survives_delete(ctx)),
        ),
    ]
}

/// Writes `data` under `key` (World scope, client store) and returns the push it causes on `conn`.
async fn write_and_expect_push(
    ctx: &Ctx,
    conn: &mut Conn,
    key: &str,
    data: Value,
) -> Result<Frame, CaseError> {
    let id = kv_id("World", "kvstoreClient", key);
    ctx.m2()
        .kv_upsert("primary", "World", "kvstoreClient", key, data.clone())
        .await?;
    let push = conn
        .expect_next(success_for("kvStore", &id), ctx.wait())
        .await
        .map_err(|e| e.context(format!("after writing {data}")))?;
    ensure_data(&push, &data, "the push of a change")?;
    Ok(push)
}

async fn push_on_change(ctx: Ctx) -> CaseResult {
    let key = ctx.unique("changing");
    ctx.m2()
        .kv_upsert(
            "primary",
            "World",
            "kvstoreClient",
            &key,
            json!({"step": 0}),
        )
        .await?;
    let mut conn = ctx.m2().connect("primary").await?;
    let id = kv_id("World", "kvstoreClient", &key);
    subscribe_existing(&ctx, &mut conn, "kvStore", &id).await?;
    for step in 1..=3 {
        write_and_expect_push(&ctx, &mut conn, &key, json!({"step": step})).await?;
    }
    Ok(())
}

async fn newer_version(ctx: Ctx) -> CaseResult {
    let key = ctx.unique("versioned");
    ctx.m2()
        .kv_upsert("primary", "World", "kvstoreClient", &key, json!("v0"))
        .await?;
    let mut conn = ctx.m2().connect("primary").await?;
    let id = kv_id("World", "kvstoreClient", &key);
    let reply = subscribe_existing(&ctx, &mut conn, "kvStore", &id).await?;
    let mut previous = version(&reply)?;
    for step in 1..=3 {
        let push = write_and_expect_push(&ctx, &mut conn, &key, json!(format!("v{step}"))).await?;
        let current = version(&push)?;
        ensure_newer(&previous, &current, &format!("write {step}"))?;
        previous = current;
    }
    Ok(())
}

async fn delete_pushes_null(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let key = ctx.unique("deleted");
    let id = kv_id("World", "kvstoreClient", &key);
    let name = ctx.unique("deleted-config");
    m2.kv_upsert(
        "primary",
        "World",
        "kvstoreClient",
        &key,
        json!({"alive": true}),
    )
    .await?;
    m2.live_config_put("primary", &name, json!({"alive": true}))
        .await?;
    let mut conn = m2.connect("primary").await?;
    let kv_reply = subscribe_existing(&ctx, &mut conn, "kvStore", &id).await?;
    let config_reply = subscribe_existing(&ctx, &mut conn, "liveConfig", &name).await?;

    m2.kv_delete("primary", "World", "kvstoreClient", &key)
        .await?;
    let push = conn
        .expect_next(success_for("kvStore", &id), ctx.wait())
        .await
        .map_err(|e| e.context("deleting the kvStore value"))?;
    ensure_data(&push, &Value::Null, "the push of a kvStore deletion")?;
    ensure_newer(
        &version(&kv_reply)?,
        &version(&push)?,
        "the kvStore deletion",
    )?;

    m2.live_config_delete("primary", &name).await?;
    let push = conn
        .expect_next(success_for("liveConfig", &name), ctx.wait())
        .await
        .map_err(|e| e.context("deleting the live config"))?;
    ensure_data(&push, &Value::Null, "the push of a live config deletion")?;
    ensure_newer(
        &version(&config_reply)?,
        &version(&push)?,
        "the live config deletion",
    )
}

async fn listener_survives_delete(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let key = ctx.unique("phoenix");
    let id = kv_id("World", "kvstoreClient", &key);
    m2.kv_upsert(
        "primary",
        "World",
        "kvstoreClient",
        &key,
        json!("first life"),
    )
    .await?;
    let mut conn = m2.connect("primary").await?;
    subscribe_existing(&ctx, &mut conn, "kvStore", &id).await?;
    m2.kv_delete("primary", "World", "kvstoreClient", &key)
        .await?;
    let reborn = json!("second life");
    m2.kv_upsert("primary", "World", "kvstoreClient", &key, reborn.clone())
        .await?;
    // Whatever the deletion pushed is passed over: this case is about the listener outliving it.
    let recreated = Pattern::when("carrying the re-created value", move |f| {
        f.get("/data") == Some(&reborn)
    });
    conn.expect(success_for("kvStore", &id).and(recreated), ctx.wait())
        .await
        .map_err(|e| {
            e.context(
                "the subscription must still exist after the deletion and fire on re-creation",
            )
        })?;
    Ok(())
}
