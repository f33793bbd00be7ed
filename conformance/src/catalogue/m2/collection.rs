//! Collections: transfers (the `collection_transfer` actuator) change a user's public or private collection,
//! and each change is pushed to that collection's subscribers only.

use serde_json::Value;

use super::support::{
    ensure_collection, note, scenario, seed, shown, subscribe_either, success_for,
};
use crate::case::{Case, CaseError, CaseResult, Level, Need};
use crate::client::{Conn, Frame};
use crate::ctx::Ctx;
use crate::ensure;

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "m2.collection.transfer-pushes",
            Level::Must,
            "Each transfer into or out of a subscribed collection pushes the user's changed collection",
            seed("allowing you to listen to document updates in realtime"),
            &[
                Need::Credential("primary"),
                Need::Actuator("collection_transfer"),
                Need::Parameter("public_datasource"),
            ],
            |ctx| Box::pin(transfer_pushes(ctx)),
        ),
        scenario(
            "m2.collection.public-private-distinct",
            Level::Should,
            "A transfer into the private collection is pushed to its subscription and not to the public collection's",
            note("a user's collection of objects from public/private datasources"),
            &[
                Need::Credential("primary"),
                Need::Actuator("collection_transfer"),
                Need::Parameter("private_datasource"),
            ],
            |ctx| Box::pin(public_private_distinct(ctx)),
        ),
    ]
}

/// Transfers `change` of `object` and returns the push of `collection` it causes; its data must differ from
/// `before`.
async fn transfer_and_expect_push(
    ctx: &Ctx,
    conn: &mut Conn,
    datasource: &str,
    collection: &str,
    object: &str,
    change: i64,
    before: Option<&Value>,
) -> Result<Frame, CaseError> {
    ctx.m2()
        .collection_transfer("primary", datasource, object, change)
        .await?;
    let push = conn
        .expect_next(success_for("collection", collection), ctx.wait())
        .await
        .map_err(|e| e.context(format!("after transferring {change} of {object:?}")))?;
    ensure_collection(ctx, &push, "primary").await?;
    ensure!(
        before.is_none() || push.get("/data/userCollection") != before,
        "after transferring {change} of {object:?} the pushed userCollection is unchanged: {}",
        shown(push.get("/data/userCollection"))
    );
    Ok(push)
}

async fn transfer_pushes(ctx: Ctx) -> CaseResult {
    let datasource = ctx.parameter_str("public_datasource")?;
    let object = ctx.unique("object");
    let mut conn = ctx.m2().connect("primary").await?;
    let reply = subscribe_either(&ctx, &mut conn, "collection", "public").await?;
    let before = reply.and_then(|r| r.get("/data/userCollection").cloned());
    let added = transfer_and_expect_push(
        &ctx,
        &mut conn,
        &datasource,
        "public",
        &object,
        2,
        before.as_ref(),
    )
    .await?;
    let after_add = added.get("/data/userCollection").cloned();
    transfer_and_expect_push(
        &ctx,
        &mut conn,
        &datasource,
        "public",
        &object,
        -1,
        after_add.as_ref(),
    )
    .await?;
    Ok(())
}

async fn public_private_distinct(ctx: Ctx) -> CaseResult {
    let datasource = ctx.parameter_str("private_datasource")?;
    let object = ctx.unique("secret-object");
    let mut conn = ctx.m2().connect("primary").await?;
    subscribe_either(&ctx, &mut conn, "collection", "public").await?;
    let reply = subscribe_either(&ctx, &mut conn, "collection", "private").await?;
    let before = reply.and_then(|r| r.get("/data/userCollection").cloned());
    transfer_and_expect_push(
        &ctx,
        &mut conn,
        &datasource,
        "private",
        &object,
        1,
        before.as_ref(),
    )
    .await?;
    conn.expect_silence_of(success_for("collection", "public"), ctx.silence())
        .await
        .map_err(|e| e.context("a transfer into the private collection must not reach the public one's subscription"))
}
