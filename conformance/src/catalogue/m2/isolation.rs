//! Isolation: a change another user, another world or another organization makes under the same resource id
//! never reaches a subscriber. Each case has the other party write first and the subscriber write second, so a
//! leaked push comes before the subscriber's own one.

use serde_json::json;

use super::support::{
    ensure_collection, ensure_data, note, scenario, shown, subscribe_either, subscribe_missing,
    success_for,
};
use crate::case::{Case, CaseResult, Level, Need};
use crate::client::m2::kv_id;
use crate::ctx::Ctx;
use crate::ensure;

const ORGANIZATIONS: &str =
    "A subscriber in organization A must never receive a change made in organization B";

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "m2.isolation.organization-kvstore",
            Level::Must,
            "A kvStore value written in another organization under the same id is not pushed to a subscriber",
            note(ORGANIZATIONS),
            &[
                Need::Credential("primary"),
                Need::Credential("other_tenant"),
                Need::Actuator("kv_upsert"),
            ],
            |ctx| Box::pin(kvstore_isolated(ctx, "other_tenant", "a user of another organization")),
        ),
        scenario(
            "m2.isolation.organization-liveconfig",
            Level::Must,
            "A live config of the same name set in another organization is not pushed to a subscriber",
            note(ORGANIZATIONS),
            &[
                Need::Credential("primary"),
                Need::Credential("other_tenant"),
                Need::Actuator("live_config_put"),
            ],
            |ctx| Box::pin(liveconfig_isolated(ctx)),
        ),
        scenario(
            "m2.isolation.organization-collection",
            Level::Must,
            "A transfer into the collection of a user of another organization is not pushed to a subscriber of the same collection id",
            note(ORGANIZATIONS),
            &[
                Need::Credential("primary"),
                Need::Credential("other_tenant"),
                Need::Actuator("collection_transfer"),
                Need::Parameter("public_datasource"),
            ],
            |ctx| Box::pin(collection_isolated(ctx, "other_tenant", "a user of another organization")),
        ),
        scenario(
            "m2.isolation.user-kvstore",
            Level::Should,
            "A kvStore value another user of the same organization writes under the same id is not pushed to a subscriber",
            note("The concrete organization/project/world come from the connection's headers; the user from its credentials."),
            &[
                Need::Credential("primary"),
                Need::Credential("secondary"),
                Need::Actuator("kv_upsert"),
            ],
            |ctx| Box::pin(kvstore_isolated(ctx, "secondary", "another user of the same organization")),
        ),
        scenario(
            "m2.isolation.user-collection",
            Level::Should,
            "A transfer into another user's collection of the same organization is not pushed to a subscriber of the same collection id",
            note("a user's collection of objects from public/private datasources"),
            &[
                Need::Credential("primary"),
                Need::Credential("secondary"),
                Need::Actuator("collection_transfer"),
                Need::Parameter("public_datasource"),
            ],
            |ctx| Box::pin(collection_isolated(ctx, "secondary", "another user of the same organization")),
        ),
        scenario(
            "m2.isolation.world-kvstore",
            Level::Should,
            "A World-scoped kvStore value the same user writes in another world is not pushed to a subscriber connected to its own world",
            note("Data and subscriptions are scoped by organization (and project/world)."),
            &[
                Need::Credential("primary"),
                Need::Credential("other_world"),
                Need::Actuator("kv_upsert"),
            ],
            |ctx| Box::pin(kvstore_isolated(ctx, "other_world", "the same user in another world")),
        ),
    ]
}

/// `primary` subscribes to a World-scoped key; `writer` writes the same id in its own place, then `primary`
/// writes: the one push must be `primary`'s own value.
async fn kvstore_isolated(ctx: Ctx, writer: &'static str, who: &'static str) -> CaseResult {
    let m2 = ctx.m2();
    let key = ctx.unique("same-id");
    let id = kv_id("World", "kvstoreClient", &key);
    let mut conn = m2.connect("primary").await?;
    subscribe_missing(&ctx, &mut conn, "kvStore", &id).await?;
    let foreign = json!({"writer": writer, "key": key});
    m2.kv_upsert(writer, "World", "kvstoreClient", &key, foreign.clone())
        .await?;
    let own = json!({"writer": "primary", "key": key});
    m2.kv_upsert("primary", "World", "kvstoreClient", &key, own.clone())
        .await?;
    let push = conn
        .expect(success_for("kvStore", &id), ctx.wait())
        .await
        .map_err(|e| e.context("the subscriber's own write must be pushed"))?;
    ensure!(
        push.get("/data") != Some(&foreign),
        "the subscription to {id} received the value {who} (`{writer}`) wrote under the same id: {push}"
    );
    ensure_data(&push, &own, "the subscriber's own write")?;
    conn.expect_silence_of(success_for("kvStore", &id), ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "only the subscriber's own write may be pushed, not {who}'s"
            ))
        })
}

async fn liveconfig_isolated(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let name = ctx.unique("same-name");
    let mut conn = m2.connect("primary").await?;
    subscribe_missing(&ctx, &mut conn, "liveConfig", &name).await?;
    let foreign = json!({"organization": "other", "name": name});
    m2.live_config_put("other_tenant", &name, foreign.clone())
        .await?;
    let own = json!({"organization": "own", "name": name});
    m2.live_config_put("primary", &name, own.clone()).await?;
    let push = conn
        .expect(success_for("liveConfig", &name), ctx.wait())
        .await
        .map_err(|e| e.context("the subscriber's own organization's config must be pushed"))?;
    ensure!(
        push.get("/data") != Some(&foreign),
        "the subscription to live config {name:?} received the config another organization set under that name: {push}"
    );
    ensure_data(
        &push,
        &own,
        "the config set in the subscriber's organization",
    )?;
    conn.expect_silence_of(success_for("liveConfig", &name), ctx.silence())
        .await
        .map_err(|e| e.context("only the subscriber's organization's config may be pushed"))
}

/// `primary` subscribes to its `public` collection; `writer` transfers into its own, then `primary` into its
/// own: the one push must be `primary`'s collection.
async fn collection_isolated(ctx: Ctx, writer: &'static str, who: &'static str) -> CaseResult {
    let m2 = ctx.m2();
    let datasource = ctx.parameter_str("public_datasource")?;
    let writer_user = m2.user_id(writer).await?;
    let mut conn = m2.connect("primary").await?;
    subscribe_either(&ctx, &mut conn, "collection", "public").await?;
    m2.collection_transfer(writer, &datasource, &ctx.unique("foreign-object"), 1)
        .await?;
    m2.collection_transfer("primary", &datasource, &ctx.unique("own-object"), 1)
        .await?;
    let push = conn
        .expect(success_for("collection", "public"), ctx.wait())
        .await
        .map_err(|e| e.context("the subscriber's own transfer must be pushed"))?;
    ensure!(
        push.str("/data/userId") != Some(writer_user.as_str()),
        "the subscription to the public collection received {who}'s collection (data.userId {}): {push}",
        shown(push.get("/data/userId"))
    );
    ensure_collection(&ctx, &push, "primary").await?;
    conn.expect_silence_of(success_for("collection", "public"), ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "only the subscriber's own transfer may be pushed, not {who}'s"
            ))
        })
}
