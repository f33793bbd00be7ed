//! Live configs (the `live_config_put` / `live_config_delete` actuators): every change of a subscribed config
//! is pushed, a subscription made before the config exists fires on creation and outlives a deletion.

use serde_json::json;

use super::support::{
    ensure_data, ensure_user, scenario, seed, subscribe_existing, subscribe_missing, success_for,
};
use crate::case::{Case, CaseResult, Level, Need};
use crate::client::Pattern;
use crate::ctx::Ctx;

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "m2.liveconfig.put-pushes",
            Level::Must,
            "Each new content of a subscribed live config is pushed with the config object as data",
            seed("allowing you to listen to document updates in realtime"),
            &[Need::Credential("primary"), Need::Actuator("live_config_put")],
            |ctx| Box::pin(put_pushes(ctx)),
        ),
        scenario(
            "m2.liveconfig.listener-fires-on-create",
            Level::Must,
            "A subscription made before a live config exists delivers the config once it is created",
            seed("a listener will be created and will be triggered when the resource is created"),
            &[Need::Credential("primary"), Need::Actuator("live_config_put")],
            |ctx| Box::pin(listener_fires_on_create(ctx)),
        ),
        scenario(
            "m2.liveconfig.listener-survives-delete",
            Level::Must,
            "After a subscribed live config is deleted the subscription remains: creating it again pushes it",
            seed("If the resource is deleted the listener will still exist so make sure to unsubscribe when you no longer need the resource"),
            &[
                Need::Credential("primary"),
                Need::Actuator("live_config_put"),
                Need::Actuator("live_config_delete"),
            ],
            |ctx| Box::pin(listener_survives_delete(ctx)),
        ),
    ]
}

async fn put_pushes(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let name = ctx.unique("tuning");
    m2.live_config_put("primary", &name, json!({"speed": 1}))
        .await?;
    let mut conn = m2.connect("primary").await?;
    subscribe_existing(&ctx, &mut conn, "liveConfig", &name).await?;
    for speed in 2..=3 {
        let data = json!({"speed": speed, "mode": format!("mode-{speed}")});
        m2.live_config_put("primary", &name, data.clone()).await?;
        let push = conn
            .expect_next(success_for("liveConfig", &name), ctx.wait())
            .await
            .map_err(|e| e.context(format!("after setting the config to {data}")))?;
        ensure_user(&ctx, &push, "primary").await?;
        ensure_data(&push, &data, "the pushed config")?;
    }
    Ok(())
}

async fn listener_fires_on_create(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let name = ctx.unique("future");
    let mut conn = m2.connect("primary").await?;
    subscribe_missing(&ctx, &mut conn, "liveConfig", &name).await?;
    let data = json!({"created": true, "name": name});
    m2.live_config_put("primary", &name, data.clone()).await?;
    let push = conn
        .expect(success_for("liveConfig", &name), ctx.wait())
        .await
        .map_err(|e| e.context("the listener must fire when the config is created"))?;
    ensure_data(&push, &data, "the push on creation")
}

async fn listener_survives_delete(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let name = ctx.unique("phoenix-config");
    m2.live_config_put("primary", &name, json!({"life": 1}))
        .await?;
    let mut conn = m2.connect("primary").await?;
    subscribe_existing(&ctx, &mut conn, "liveConfig", &name).await?;
    m2.live_config_delete("primary", &name).await?;
    let reborn = json!({"life": 2});
    m2.live_config_put("primary", &name, reborn.clone()).await?;
    // Whatever the deletion pushed is passed over: this case is about the listener outliving it.
    let recreated = Pattern::when("carrying the re-created config", move |f| {
        f.get("/data") == Some(&reborn)
    });
    conn.expect(success_for("liveConfig", &name).and(recreated), ctx.wait())
        .await
        .map_err(|e| {
            e.context(
                "the subscription must still exist after the deletion and fire on re-creation",
            )
        })?;
    Ok(())
}
