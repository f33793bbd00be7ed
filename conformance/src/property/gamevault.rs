//! gamevault message properties.
//!
//! Constraints: none on generated payloads — activities name no server state (the server sets `user_id` and
//! `socket_id`, NOTES.md GV-VALIDATION), and the CONNECT auth object authenticates nothing (GV-AUTH-PAYLOAD).
//! Connections use credential set `primary`.
//! Invalid events: structural mutations of `set-activity` and `get-activities` payloads that no client event
//! schema accepts; one that still decodes as an event (an array whose first element is a string) gets one
//! `exception` and the socket stays (GV-VALIDATION), anything else — and a cut packet — closes the connection
//! (GV-TRANSPORT-ERRORS); either way the server keeps accepting connections.

use proptest::prelude::*;
use serde_json::Value;

use super::exchange::{none, Exchange};
use super::{describe_message, describe_mutated, generator, invalid, messages, Message};
use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::gamevault::SioConn;
use crate::client::sio::SocketType;
use crate::ctx::Ctx;
use crate::generate::{Generator, Mutated, Mutation, Overrides, Wire};
use crate::model::explore::{check, Noun};
use crate::model::quiet;
use crate::model::session::shown;
use crate::profile::Profile;
use crate::{ensure, fail};

const WHO: &str = "primary";

/// The client event kinds.
const EVENTS: [&str; 2] = ["set-activity", "get-activities"];

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "gamevault.property.valid-event-accepted",
            profile: Profile::Gamevault,
            level: Level::Must,
            title: "Generated valid set-activity and get-activities events and CONNECT auth objects are \
                    answered as documented, never with an exception",
            reference: Reference {
                source: sources::GAMEVAULT_SEED,
                quote: "Clients have the freedom to report their activities.",
            },
            kind: Kind::Property,
            requires: &[Need::Credential(WHO)],
            run: |ctx| Box::pin(valid_accepted(ctx)),
        },
        Case {
            id: "gamevault.property.invalid-event-exception-or-close",
            profile: Profile::Gamevault,
            level: Level::Should,
            title: "Generated invalid events get one exception when they still decode as events, and close the \
                    connection when they do not; the server keeps accepting connections",
            reference: Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "payload must be a non-empty array whose first element is a string name; else close.",
            },
            kind: Kind::Property,
            requires: &[Need::Credential(WHO)],
            run: |ctx| Box::pin(invalid_answered(ctx)),
        },
    ]
}

fn kinds() -> Vec<(&'static str, Overrides)> {
    EVENTS.iter().map(|k| (*k, Overrides::none())).collect()
}

/// A socket connected to `/`, its initial `activities` read.
async fn connected(ctx: &Ctx, exchange: &Exchange) -> Result<SioConn, CaseError> {
    let mut conn = ctx.gamevault().connect(WHO).await?;
    let first = exchange
        .collect(&mut conn, 1, ctx.wait(), quiet(ctx), none)
        .await;
    ensure!(
        first.frames.first().and_then(|f| f.event_name()) == Some("activities"),
        "a new socket receives `activities` first, got {:?}",
        first.values()
    );
    Ok(conn)
}

async fn valid_accepted(ctx: Ctx) -> CaseResult {
    let generator = generator(&ctx)?;
    let events = messages(&generator, kinds())?;
    let connects = messages(&generator, vec![("connect", Overrides::none())])?;
    let strategy = prop_oneof![3 => events, 1 => connects].sboxed();
    check(
        &ctx,
        Noun("message"),
        strategy,
        describe_message,
        |message: Message| {
            let ctx = ctx.clone();
            async move {
                let exchange = Exchange::new();
                let result = send_valid(&ctx, &exchange, &message).await;
                exchange.verdict(result)
            }
        },
    )
    .await
}

async fn send_valid(ctx: &Ctx, exchange: &Exchange, message: &Message) -> CaseResult {
    if message.kind == "connect" {
        let mut conn = ctx.gamevault().open_engine(WHO).await?;
        exchange.sent(conn.label(), format!("40{}", message.value));
        let reply = conn
            .connect_namespace(Some(message.value.clone()), ctx.wait())
            .await?;
        let kind = reply
            .packet
            .as_ref()
            .and_then(|p| p.socket.as_ref())
            .map(|s| s.kind);
        ensure!(
            kind == Some(SocketType::Connect),
            "a CONNECT with auth object {} was answered {reply}",
            shown(&message.value)
        );
        let first = exchange
            .collect(&mut conn, 1, ctx.wait(), quiet(ctx), none)
            .await;
        ensure!(
            first.frames.first().and_then(|f| f.event_name()) == Some("activities"),
            "after CONNECT the socket receives `activities`, got {:?}",
            first.values()
        );
        conn.conn.close().await;
        return Ok(());
    }
    let mut conn = connected(ctx, exchange).await?;
    let packet = format!("42{}", message.value);
    conn.send_packet(&packet).await?;
    exchange.sent(conn.label(), &packet);
    let replies = exchange
        .collect(&mut conn, 1, ctx.wait(), quiet(ctx), none)
        .await;
    ensure!(
        replies.closed.is_none(),
        "the server closed the connection after a valid `{}`",
        message.kind
    );
    if let Some(exception) = replies
        .frames
        .iter()
        .find(|f| f.event_name() == Some("exception"))
    {
        fail!(
            "a valid `{}` was answered with an exception: {exception}",
            message.kind
        );
    }
    let answer = if message.kind == "set-activity" {
        "activity"
    } else {
        "activities"
    };
    ensure!(
        replies.frames.len() == 1 && replies.frames[0].event_name() == Some(answer),
        "a `{}` is answered by one `{answer}` event, got {:?}",
        message.kind,
        replies.values()
    );
    if message.kind == "set-activity" {
        let activity = replies.frames[0]
            .event_args()
            .first()
            .cloned()
            .unwrap_or_default();
        let state = message.value.pointer("/1/state");
        ensure!(
            activity.get("state") == state,
            "the broadcast activity {activity} does not carry the reported state {}",
            state.cloned().unwrap_or_default()
        );
        ensure!(
            activity.get("socket_id").and_then(Value::as_str) == conn.sid.as_deref(),
            "the broadcast activity {activity} does not name the reporting socket {:?}",
            conn.sid
        );
    }
    conn.conn.close().await;
    Ok(())
}

/// Whether the payload still decodes as a Socket.IO event: a non-empty array starting with a string.
fn decodes_as_event(value: &Value) -> bool {
    value
        .as_array()
        .and_then(|items| items.first())
        .is_some_and(Value::is_string)
}

fn is_other_event(generator: &Generator, value: &Value) -> bool {
    EVENTS
        .iter()
        .any(|kind| generator.accepts(&format!("client/{kind}"), value))
}

async fn invalid_answered(ctx: Ctx) -> CaseResult {
    let generator = generator(&ctx)?;
    let cut = |m: &Mutation| matches!(m, Mutation::Truncated { .. });
    let mut strategies = Vec::new();
    for (kind, overrides) in kinds() {
        let judged = invalid(
            &generator,
            vec![(kind, overrides)],
            &format!("client/{kind}"),
            super::every,
            Some((None, cut)),
        )?;
        let events = generator.clone();
        strategies.push(
            judged
                .prop_filter("refused by every client event schema", move |m| {
                    m.value.as_ref().is_none_or(|v| !is_other_event(&events, v))
                })
                .sboxed(),
        );
    }
    let strategy = proptest::strategy::Union::new(strategies).sboxed();
    check(
        &ctx,
        Noun("event"),
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
    let Wire::Text(text) = &mutated.wire else {
        return Err(CaseError::harness("this property sends text frames only"));
    };
    let mut conn = connected(ctx, exchange).await?;
    exchange.note(format!("mutation: {}", mutated.mutation));
    let packet = format!("42{text}");
    conn.send_text_raw(&packet).await?;
    exchange.sent(conn.label(), &packet);
    let event = mutated.value.as_ref().is_some_and(decodes_as_event);
    let replies = exchange
        .collect(&mut conn, 1, ctx.wait(), quiet(ctx), none)
        .await;
    if event {
        ensure!(
            replies.closed.is_none(),
            "an event that decodes but is refused gets an exception; the connection was closed instead"
        );
        ensure!(
            replies.frames.len() == 1 && replies.frames[0].event_name() == Some("exception"),
            "a refused event is answered by one `exception`, got {:?}",
            replies.values()
        );
        let name = mutated.value.as_ref().and_then(|v| v.get(0));
        if let Some(pattern) = replies.frames[0]
            .event_args()
            .first()
            .and_then(|e| e.pointer("/cause/pattern"))
        {
            ensure!(
                Some(pattern) == name,
                "the exception's cause names event {pattern}, the event was {}",
                name.cloned().unwrap_or_default()
            );
        }
        conn.emit("get-activities", &[]).await?;
        exchange.sent(conn.label(), "follow-up 42[\"get-activities\"]");
        let after = exchange
            .collect(&mut conn, 1, ctx.wait(), quiet(ctx), none)
            .await;
        ensure!(
            after.frames.first().and_then(|f| f.event_name()) == Some("activities"),
            "after an exception the socket must keep answering get-activities, got {:?}",
            after.values()
        );
        conn.conn.close().await;
    } else {
        let code = match replies.closed {
            Some(code) => Some(code),
            None => conn.expect_close(ctx.wait()).await.ok(),
        };
        ensure!(
            code.is_some(),
            "a packet that does not decode as an event must close the connection; it stayed open ({:?})",
            replies.values()
        );
        exchange.note("follow-up: a new socket connects");
        let fresh = connected(ctx, exchange).await?;
        fresh.conn.close().await;
    }
    Ok(())
}
