//! Unsubscribing with the subscribe message's resource: pushes stop, other subscriptions go on, nothing is
//! answered.

use serde_json::json;

use super::support::{
    ensure_data, ensure_usable, organization_probe, scenario, seed, subscribe_existing,
    subscribe_missing, success_for,
};
use crate::case::{Case, CaseResult, Level, Need};
use crate::client::m2::kv_id;
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::fail;

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "m2.unsubscribe.stops-pushes",
            Level::Must,
            "After unsubscribing with the same resource, changes of it are no longer pushed while the connection's other subscriptions still are",
            seed("you can also unsubscribe from the resources by changing the action to \"unsubscribe\" and sending the same resource"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(stops_pushes(ctx)),
        ),
        scenario(
            "m2.unsubscribe.unanswered",
            Level::Should,
            "An unsubscribe, of a held resource or of one never subscribed, gets no reply and leaves the connection usable",
            seed("Using the same format, you can also unsubscribe from the resources"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(unanswered(ctx)),
        ),
    ]
}

async fn stops_pushes(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let dropped_key = ctx.unique("dropped");
    let kept_key = ctx.unique("kept");
    let dropped = kv_id("World", "kvstoreClient", &dropped_key);
    let kept = kv_id("World", "kvstoreClient", &kept_key);
    for key in [&dropped_key, &kept_key] {
        m2.kv_upsert("primary", "World", "kvstoreClient", key, json!(0))
            .await?;
    }
    let mut conn = m2.connect("primary").await?;
    subscribe_existing(&ctx, &mut conn, "kvStore", &dropped).await?;
    subscribe_existing(&ctx, &mut conn, "kvStore", &kept).await?;
    m2.unsubscribe(&conn, "kvStore", &dropped).await?;
    // No reply to the unsubscribe exists; the reply to a later frame shows the server has read it.
    subscribe_missing(&ctx, &mut conn, "kvStore", &organization_probe(&ctx))
        .await
        .map_err(|e| e.context("the subscribe sent after the unsubscribe"))?;

    // The write of the unsubscribed value comes first: had it been pushed, its push would precede the other's.
    m2.kv_upsert("primary", "World", "kvstoreClient", &dropped_key, json!(1))
        .await?;
    m2.kv_upsert("primary", "World", "kvstoreClient", &kept_key, json!(1))
        .await?;
    let either = {
        let (dropped_push, kept_push) = (
            success_for("kvStore", &dropped),
            success_for("kvStore", &kept),
        );
        Pattern::when(format!("a push for {dropped:?} or {kept:?}"), move |f| {
            dropped_push.matches(f) || kept_push.matches(f)
        })
    };
    let first = conn
        .expect(either, ctx.wait())
        .await
        .map_err(|e| e.context("the subscription that was kept must still push"))?;
    if success_for("kvStore", &dropped).matches(&first) {
        fail!("a change of {dropped:?} was pushed after it was unsubscribed: {first}");
    }
    ensure_data(&first, &json!(1), "the push of the kept subscription")?;
    conn.expect_silence_of(success_for("kvStore", &dropped), ctx.silence())
        .await
        .map_err(|e| e.context(format!("{dropped:?} was unsubscribed")))
}

async fn unanswered(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let mut conn = m2.connect("primary").await?;
    let held = organization_probe(&ctx);
    subscribe_missing(&ctx, &mut conn, "kvStore", &held).await?;
    m2.unsubscribe(&conn, "kvStore", &held).await?;
    let never = organization_probe(&ctx);
    m2.unsubscribe(&conn, "kvStore", &never).await?;
    conn.expect_silence(ctx.silence())
        .await
        .map_err(|e| e.context("an unsubscribe has no documented reply"))?;
    ensure_usable(&ctx, &mut conn, "two unsubscribes").await
}
