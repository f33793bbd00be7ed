//! m2 message properties.
//!
//! Constraints: none on generated messages — a subscribe to any well-formed resource id is acceptable (a missing
//! resource answers the `resource_not_found` warning, m2.subscribe-reply), and an unsubscribe of anything is not
//! an error (m2.no-unsubscribe-ack). Connections use credential set `primary`.
//! Invalid messages: every structural mutation the client envelope refuses, and JSON text cut short (non-JSON
//! text gets the error too, m2.single-error); frames the documents say nothing about (bad UTF-8, binary,
//! oversized) are not generated.

use serde_json::json;

use super::exchange::{none, Exchange};
use super::{describe_message, describe_mutated, generator, invalid, messages, Message};
use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::m2::kv_id;
use crate::ctx::Ctx;
use crate::ensure;
use crate::generate::{Mutated, Mutation, Overrides, Wire};
use crate::model::explore::{check, Noun};
use crate::model::quiet;
use crate::model::session::shown;
use crate::profile::Profile;

const WHO: &str = "primary";

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "m2.property.valid-subscribe-accepted",
            profile: Profile::M2,
            level: Level::Must,
            title: "Generated valid subscribe/unsubscribe messages are never answered with an error: a subscribe \
                    gets its resource's data or the resource_not_found warning, an unsubscribe nothing",
            reference: Reference {
                source: sources::M2_SEED,
                quote: "Example messages for subscribing to the resources available in the realtime service",
            },
            kind: Kind::Property,
            requires: &[Need::Credential(WHO)],
            run: |ctx| Box::pin(valid_accepted(ctx)),
        },
        Case {
            id: "m2.property.invalid-message-error-and-usable",
            profile: Profile::M2,
            level: Level::Should,
            title: "Generated invalid messages (schema mutations, cut JSON) are answered with the documented \
                    error and the connection keeps working",
            reference: Reference {
                source: sources::M2_SEED,
                quote: "\"error\": \"Invalid message format\"",
            },
            kind: Kind::Property,
            requires: &[Need::Credential(WHO)],
            run: |ctx| Box::pin(invalid_answered(ctx)),
        },
    ]
}

fn kinds() -> Vec<(&'static str, Overrides)> {
    vec![
        ("subscribe", Overrides::none()),
        ("unsubscribe", Overrides::none()),
    ]
}

async fn valid_accepted(ctx: Ctx) -> CaseResult {
    let strategy = messages(&generator(&ctx)?, kinds())?;
    let user_id = ctx.m2().user_id(WHO).await?;
    check(
        &ctx,
        Noun("message"),
        strategy,
        describe_message,
        |message: Message| {
            let ctx = ctx.clone();
            let user_id = user_id.clone();
            async move {
                let exchange = Exchange::new();
                let result = send_valid(&ctx, &exchange, &message, &user_id).await;
                exchange.verdict(result)
            }
        },
    )
    .await
}

async fn send_valid(
    ctx: &Ctx,
    exchange: &Exchange,
    message: &Message,
    user_id: &str,
) -> CaseResult {
    let mut conn = ctx.m2().connect(WHO).await?;
    conn.send_json(&message.value).await?;
    exchange.sent(conn.label(), shown(&message.value));
    let subscribe = message.kind == "subscribe";
    let replies = exchange
        .collect(
            &mut conn,
            usize::from(subscribe),
            ctx.wait(),
            quiet(ctx),
            none,
        )
        .await;
    ensure!(
        replies.closed.is_none(),
        "the server closed the connection after a valid `{}`",
        message.kind
    );
    let values = replies.values();
    if let Some(error) = replies.frames.iter().find(|f| f.is("error")) {
        crate::fail!(
            "a valid `{}` was answered with an error: {error}",
            message.kind
        );
    }
    if !subscribe {
        ensure!(values.is_empty(), "an unsubscribe was answered: {values:?}");
        conn.close().await;
        return Ok(());
    }
    ensure!(
        values.len() == 1,
        "a subscribe is answered once, got {} frames: {values:?}",
        values.len()
    );
    let reply = &replies.frames[0];
    if reply.is("success") {
        ensure!(
            reply.get("/resource") == message.value.get("resource"),
            "the reply names resource {}, the subscribe named {}",
            reply.get("/resource").cloned().unwrap_or_default(),
            message.value["resource"]
        );
        ensure!(
            reply.str("/userId") == Some(user_id),
            "the reply is for user {:?}, the connection's user is {user_id:?}",
            reply.str("/userId")
        );
    } else {
        ensure!(
            reply.is("warning"),
            "a subscribe is answered with the resource's data or the resource_not_found warning, got {reply}"
        );
    }
    conn.close().await;
    Ok(())
}

async fn invalid_answered(ctx: Ctx) -> CaseResult {
    let cut = |m: &Mutation| matches!(m, Mutation::Truncated { .. });
    let strategy = invalid(
        &generator(&ctx)?,
        kinds(),
        "client/envelope",
        super::every,
        Some((None, cut)),
    )?;
    check(
        &ctx,
        Noun("message"),
        strategy,
        describe_mutated,
        |mutated: Mutated| {
            let ctx = ctx.clone();
            async move {
                let exchange = Exchange::new();
                let result = send_invalid(&ctx, &exchange, &mutated).await;
                exchange.verdict(result)
            }
        },
    )
    .await
}

async fn send_invalid(ctx: &Ctx, exchange: &Exchange, mutated: &Mutated) -> CaseResult {
    let mut conn = ctx.m2().connect(WHO).await?;
    exchange.note(format!("mutation: {}", mutated.mutation));
    match &mutated.wire {
        Wire::Text(text) => conn.send_text_raw(text).await?,
        Wire::Binary(bytes) => conn.send_binary_raw(bytes).await?,
        Wire::InvalidText(_) => {
            return Err(CaseError::harness(
                "m2 properties send no text that is not UTF-8",
            ))
        }
    }
    exchange.sent(conn.label(), &mutated.wire);
    let replies = exchange
        .collect(&mut conn, 1, ctx.wait(), quiet(ctx), none)
        .await;
    ensure!(
        replies.closed.is_none(),
        "the server closed the connection instead of answering the error"
    );
    let values = replies.values();
    ensure!(
        values == [json!({"error": "Invalid message format"})],
        "expected exactly {{\"error\": \"Invalid message format\"}}, got {values:?}"
    );
    let id = kv_id("World", "kvstoreClient", &ctx.unique("after-error"));
    ctx.m2().subscribe(&conn, "kvStore", &id).await?;
    exchange.note(format!("follow-up: subscribe to kvStore {id}"));
    let after = exchange
        .collect(&mut conn, 1, ctx.wait(), quiet(ctx), none)
        .await;
    ensure!(
        after.frames.first().is_some_and(|f| f.is("warning")),
        "after the error the connection must still answer a subscribe (with the resource_not_found warning); \
         got {:?}",
        after.values()
    );
    conn.close().await;
    Ok(())
}
