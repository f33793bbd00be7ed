//! skapi message properties.
//!
//! Constraints on generated messages, because they name server state: `token` is the session's access token in
//! `joinRoom` and `rtc` frames and its `IdT:` identity token in `broadcast` and `sendMessage` frames
//! (NOTES.md SKAPI-TOKEN-FORMS); a `broadcast` goes to the group the connection joined first (a broadcast from
//! outside is an error, SKAPI-BROADCAST-OUTSIDER); `sendMessage` goes to the connection's own user (the one user
//! known to be connected); an `rtc` signal goes to the connection itself (`cid:` + its id, learnt from its own
//! USER_JOINED notice). Connections use credential set `primary`.
//! Invalid messages: every structural mutation the client envelope refuses, and cut JSON text, get `#error`
//! (SKAPI-ERROR). Oversized messages (parameter `max_message_bytes`) close with 1009 (SKAPI-SIZE-LIMITS).

use proptest::prelude::*;
use serde_json::{json, Value};

use super::exchange::{none, Exchange};
use super::{describe_message, describe_mutated, generator, invalid, messages, Message};
use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::skapi::{Session, SkapiConn};
use crate::ctx::Ctx;
use crate::generate::{Mutated, Mutation, Overrides, Wire};
use crate::model::explore::{check, Noun};
use crate::model::quiet;
use crate::model::session::shown;
use crate::profile::Profile;
use crate::{ensure, fail};

const WHO: &str = "primary";

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "skapi.property.valid-message-accepted",
            profile: Profile::Skapi,
            level: Level::Must,
            title: "Generated valid keepAlive, joinRoom, leave, broadcast, sendMessage and rtc frames are never \
                    answered with #error",
            reference: Reference {
                source: sources::SKAPI_SEED,
                quote: "message is the data passed from the server. It can be any JSON data.",
            },
            kind: Kind::Property,
            requires: &[Need::Credential(WHO)],
            run: |ctx| Box::pin(valid_accepted(ctx)),
        },
        Case {
            id: "skapi.property.invalid-message-error-and-usable",
            profile: Profile::Skapi,
            level: Level::Should,
            title: "Generated invalid frames (schema mutations, cut JSON) are answered with #error and the \
                    connection keeps working",
            reference: Reference {
                source: sources::SKAPI_SEED,
                quote: "\"error\": When there is an error.",
            },
            kind: Kind::Property,
            requires: &[Need::Credential(WHO)],
            run: |ctx| Box::pin(invalid_answered(ctx)),
        },
        Case {
            id: "skapi.property.oversized-message-closed",
            profile: Profile::Skapi,
            level: Level::Should,
            title: "A message over the size limit closes the connection with 1009; a new connection works",
            reference: Reference {
                source: sources::SKAPI_NOTES,
                quote: "128 KB per message (larger → close 1009)",
            },
            kind: Kind::Property,
            requires: &[Need::Credential(WHO), Need::Parameter("max_message_bytes")],
            run: |ctx| Box::pin(oversized_closed(ctx)),
        },
    ]
}

fn kinds(session: &Session) -> Vec<(&'static str, Overrides)> {
    let access = json!(session.access_token);
    let identity = json!(session.identity_token());
    vec![
        ("keep-alive", Overrides::none()),
        (
            "join-room",
            Overrides::none().fixed("/token", access.clone()),
        ),
        (
            "leave-room",
            Overrides::none().fixed("/token", access.clone()),
        ),
        (
            "broadcast",
            Overrides::none().fixed("/token", identity.clone()),
        ),
        ("send-message", Overrides::none().fixed("/token", identity)),
        ("rtc", Overrides::none().fixed("/token", access)),
    ]
}

/// A connection in group `group`, and its own connection id (from its USER_JOINED notice).
async fn joined(
    ctx: &Ctx,
    exchange: &Exchange,
    group: &str,
) -> Result<(SkapiConn, String), CaseError> {
    let mut conn = ctx.skapi().connect(WHO).await?;
    conn.join(group).await?;
    exchange.sent(conn.label(), format!("joinRoom {group} (setup)"));
    let replies = exchange
        .collect(&mut conn, 1, ctx.wait(), quiet(ctx), none)
        .await;
    let notice = replies
        .frames
        .iter()
        .find(|f| f.str("/#code") == Some("USER_JOINED"))
        .ok_or_else(|| {
            CaseError::fail(format!(
                "joining {group} must announce USER_JOINED to the joiner; got {:?}",
                replies.values()
            ))
        })?;
    let cid = notice
        .str("/#scid")
        .map(str::to_owned)
        .ok_or_else(|| CaseError::fail("the USER_JOINED notice carries no #scid"))?;
    Ok((conn, cid))
}

/// `message` aimed at what exists: the joined group, the connection's own user and connection.
fn aim(message: &Message, group: &str, user_id: &str, cid: &str) -> Value {
    let mut value = message.value.clone();
    match message.kind.as_str() {
        "broadcast" => value["rid"] = json!(group),
        "send-message" => value["uid"] = json!(user_id),
        "rtc" => value["uid"] = json!(format!("cid:{cid}")),
        _ => {}
    }
    value
}

/// How many frames the sender receives for a valid `kind` sent while in `group`.
fn replies_to(kind: &str, value: &Value, group: &str) -> usize {
    match kind {
        "keep-alive" => 0,
        "join-room" if value.get("rid").and_then(Value::as_str) == Some(group) => 0,
        "join-room" => 2,
        _ => 1,
    }
}

async fn valid_accepted(ctx: Ctx) -> CaseResult {
    let session = ctx.skapi().session(WHO).await?;
    let strategy = messages(&generator(&ctx)?, kinds(&session))?;
    check(
        &ctx,
        Noun("message"),
        strategy,
        describe_message,
        |message: Message| {
            let ctx = ctx.clone();
            let session = session.clone();
            async move {
                let exchange = Exchange::new();
                let result = send_valid(&ctx, &exchange, &message, &session).await;
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
    session: &Session,
) -> CaseResult {
    let group = ctx.unique("group");
    let (mut conn, cid) = joined(ctx, exchange, &group).await?;
    let value = aim(message, &group, &session.user_id, &cid);
    conn.send_json(&value).await?;
    exchange.sent(conn.label(), shown(&value));
    let want = replies_to(&message.kind, &value, &group);
    let replies = exchange
        .collect(&mut conn, want, ctx.wait(), quiet(ctx), none)
        .await;
    ensure!(
        replies.closed.is_none(),
        "the server closed the connection after a valid `{}`",
        message.kind
    );
    if let Some(error) = replies.frames.iter().find(|f| f.is("error")) {
        fail!(
            "a valid `{}` was answered with #error: {error}",
            message.kind
        );
    }
    ensure!(
        replies.frames.len() == want,
        "a `{}` gets {want} frame(s) back, got {:?}",
        message.kind,
        replies.values()
    );
    let content = value.get("content");
    let echoed = match message.kind.as_str() {
        "broadcast" => replies.frames[0].get("/#message"),
        "send-message" => replies.frames[0].get("/#private"),
        "rtc" => replies.frames[0].get("/#rtc"),
        _ => content,
    };
    ensure!(
        echoed == content,
        "the `{}` content {} came back as {}",
        message.kind,
        content.cloned().unwrap_or(Value::Null),
        echoed.cloned().unwrap_or(Value::Null)
    );
    conn.conn.close().await;
    Ok(())
}

async fn invalid_answered(ctx: Ctx) -> CaseResult {
    let session = ctx.skapi().session(WHO).await?;
    let cut = |m: &Mutation| matches!(m, Mutation::Truncated { .. });
    let strategy = invalid(
        &generator(&ctx)?,
        kinds(&session),
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
            let session = session.clone();
            async move {
                let exchange = Exchange::new();
                let result = send_invalid(&ctx, &exchange, &mutated, &session).await;
                exchange.verdict(result)
            }
        },
    )
    .await
}

/// A private message to oneself comes back: the connection still works.
async fn still_answers(
    ctx: &Ctx,
    exchange: &Exchange,
    conn: &mut SkapiConn,
    user_id: &str,
) -> CaseResult {
    let marker = ctx.unique("after");
    conn.send_private(user_id, json!(marker)).await?;
    exchange.sent(
        conn.label(),
        format!("follow-up: sendMessage {marker} to itself"),
    );
    let after = exchange
        .collect(conn, 1, ctx.wait(), quiet(ctx), none)
        .await;
    ensure!(
        after.frames.first().and_then(|f| f.get("/#private")) == Some(&json!(marker)),
        "the connection must keep working: a private message to itself got {:?}",
        after.values()
    );
    Ok(())
}

async fn send_invalid(
    ctx: &Ctx,
    exchange: &Exchange,
    mutated: &Mutated,
    session: &Session,
) -> CaseResult {
    let mut conn = ctx.skapi().connect(WHO).await?;
    exchange.note(format!("mutation: {}", mutated.mutation));
    let Wire::Text(text) = &mutated.wire else {
        return Err(CaseError::harness("this property sends text frames only"));
    };
    conn.send_text_raw(text).await?;
    exchange.sent(conn.label(), &mutated.wire);
    let replies = exchange
        .collect(&mut conn, 1, ctx.wait(), quiet(ctx), none)
        .await;
    ensure!(
        replies.closed.is_none(),
        "the server closed the connection over an invalid frame"
    );
    ensure!(
        replies.frames.len() == 1 && replies.frames[0].is("error"),
        "an invalid frame is answered by exactly one #error, got {:?}",
        replies.values()
    );
    still_answers(ctx, exchange, &mut conn, &session.user_id).await?;
    conn.conn.close().await;
    Ok(())
}

async fn oversized_closed(ctx: Ctx) -> CaseResult {
    let limit = usize::try_from(ctx.parameter_u64("max_message_bytes")?).unwrap_or(usize::MAX);
    let session = ctx.skapi().session(WHO).await?;
    let generator = generator(&ctx)?;
    let valid = messages(&generator, kinds(&session))?
        .prop_map(|m| m.value)
        .sboxed();
    let strategy = generator
        .transport_mutations(valid, Some(limit))
        .prop_filter("an oversized frame", |m| {
            matches!(m.mutation, Mutation::Oversized { .. })
        })
        .sboxed();
    check(
        &ctx,
        Noun("frame"),
        strategy,
        describe_mutated,
        |mutated: Mutated| {
            let ctx = ctx.clone();
            let session = session.clone();
            async move {
                let exchange = Exchange::new();
                let result = send_oversized(&ctx, &exchange, &mutated, &session).await;
                exchange.verdict(result)
            }
        },
    )
    .await
}

async fn send_oversized(
    ctx: &Ctx,
    exchange: &Exchange,
    mutated: &Mutated,
    session: &Session,
) -> CaseResult {
    let Wire::Text(text) = &mutated.wire else {
        return Err(CaseError::harness("oversized frames are text frames"));
    };
    let mut conn = ctx.skapi().connect(WHO).await?;
    let code = super::send_oversized(ctx, exchange, &mut conn, text).await?;
    ensure!(
        code == 1009,
        "a message of {} bytes (over the limit) must close the connection with 1009, got {code}",
        text.len()
    );
    let mut fresh = ctx.skapi().connect(WHO).await?;
    still_answers(ctx, exchange, &mut fresh, &session.user_id).await?;
    fresh.conn.close().await;
    Ok(())
}
