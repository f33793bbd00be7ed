//! directus message properties.
//!
//! Constraints on generated messages, because they name server state:
//! - `collection` is the target's collection (parameter `collection`, `primary` may read and write it);
//! - `query.fields` and `query.sort` name only that collection's fields (`id`, `text`, `user`, or `*`);
//!   `query.filter` is `{}`; `groupBy`, `aggregate`, `deep` and `alias` are left out (their values are field
//!   names and grammar the documents do not give);
//! - `subscribe` has no `item`, `items` reads have no `id`/`ids` (a missing item is refused as FORBIDDEN);
//!   created items are `{"text", "user"}` objects, created without a `query` (a query that filters the new item
//!   out of the reply turns the reply into a refusal);
//! - `auth` carries the credentials of `primary` (no refresh token is known); updates and deletes over the
//!   socket are not generated, they need items that exist.
//!
//! Invalid messages: structural mutations of ping, pong, subscribe, unsubscribe and items reads that the client
//! envelope refuses, and cut JSON text; an unknown `type` may go unanswered (NOTES.md directus.unknown-type).
//! Unknown members are not generated: the real server drops them silently (so does the reference server), and
//! no document says they are refused.
//!
//! Transport: bad UTF-8 closes with 1007, a binary frame is read as text, an oversized frame (when the target
//! gives `max_message_bytes`) closes with 1009.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::exchange::{Exchange, Replies};
use super::raw::RawSocket;
use super::{describe_message, describe_mutated, generator, invalid, messages, Message};
use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::directus::{AuthMode, Directus};
use crate::ctx::Ctx;
use crate::generate::{free_strings, Mutated, Mutation, Overrides, Wire};
use crate::model::explore::{check, Noun};
use crate::model::quiet;
use crate::model::session::shown;
use crate::profile::Profile;
use crate::{ensure, fail};

const WHO: &str = "primary";

/// The `type`s of client messages (schemas/directus/client).
const CLIENT_TYPES: [&str; 6] = ["auth", "ping", "pong", "subscribe", "unsubscribe", "items"];

/// Server kinds that are errors.
const ERROR_KINDS: [&str; 4] = [
    "auth-error",
    "items-error",
    "server-error",
    "subscribe-error",
];

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "directus.property.valid-message-accepted",
            profile: Profile::Directus,
            level: Level::Must,
            title: "Generated valid auth, ping, pong, subscribe, unsubscribe and items messages get their reply, \
                    never an error, with the uid echoed",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "You can have multiple ongoing CRUD operations and subscriptions at a time.",
            },
            kind: Kind::Property,
            requires: &[Need::Credential(WHO)],
            run: |ctx| Box::pin(valid_accepted(ctx)),
        },
        Case {
            id: "directus.property.invalid-message-error-and-usable",
            profile: Profile::Directus,
            level: Level::Should,
            title: "Generated invalid messages get one error reply (or none for an unknown type) and the \
                    connection keeps answering",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "Errors — none closes the connection",
            },
            kind: Kind::Property,
            requires: &[Need::Credential(WHO)],
            run: |ctx| Box::pin(invalid_answered(ctx)),
        },
        Case {
            id: "directus.property.transport-frames",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A text frame that is not UTF-8 closes the connection with 1007, a binary frame is read as \
                    text, and a frame over the size limit closes it with 1009",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "Invalid UTF-8 → close 1007; frame over the size limit → 1009.",
            },
            kind: Kind::Property,
            requires: &[Need::Credential(WHO)],
            run: |ctx| Box::pin(transport_frames(ctx)),
        },
    ]
}

fn query(overrides: Overrides) -> Overrides {
    overrides
        .one_of(
            "/query/fields",
            vec![
                json!(["*"]),
                json!(["id", "text"]),
                json!(["text"]),
                json!("id,text"),
                json!("*"),
            ],
        )
        .one_of(
            "/query/sort",
            vec![
                json!(["id"]),
                json!(["-id"]),
                json!("text"),
                json!(["user", "-id"]),
            ],
        )
        .fixed("/query/filter", json!({}))
        .forbid("/query/groupBy")
        .forbid("/query/aggregate")
        .forbid("/query/deep")
        .forbid("/query/alias")
}

/// The kinds generated, each with its constraints.
fn kinds(
    ctx: &Ctx,
    credential: &crate::target::Credential,
    with_auth: bool,
) -> Result<Vec<(&'static str, Overrides)>, CaseError> {
    let collection = json!(ctx.directus().collection()?);
    let item = (free_strings(0, Some(16)), free_strings(0, Some(8)))
        .prop_map(|(text, user)| json!({"text": text, "user": user}));
    let data = prop_oneof![
        3 => item.clone(),
        1 => proptest::collection::vec(item, 1..=3).prop_map(Value::Array),
    ]
    .sboxed();
    let mut kinds = vec![
        ("ping", Overrides::none()),
        ("pong", Overrides::none()),
        (
            "subscribe",
            query(
                Overrides::none()
                    .fixed("/collection", collection.clone())
                    .forbid("/item"),
            ),
        ),
        ("unsubscribe", Overrides::none()),
        (
            "items-read",
            query(
                Overrides::none()
                    .fixed("/collection", collection.clone())
                    .forbid("/id")
                    .forbid("/ids"),
            ),
        ),
    ];
    if with_auth {
        kinds.push((
            "items-create",
            Overrides::none()
                .fixed("/collection", collection)
                .generate("/data", data)
                .forbid("/query"),
        ));
        let mut auth = Overrides::none().forbid("/refresh_token");
        for (field, path) in [
            ("access_token", "/access_token"),
            ("email", "/email"),
            ("password", "/password"),
        ] {
            auth = match credential.get(field) {
                Some(value) => auth.fixed(path, json!(value)),
                None => auth.forbid(path),
            };
        }
        kinds.push(("auth", auth));
    }
    Ok(kinds)
}

/// Mutations a directus server must refuse: not members it does not know, which the real server drops
/// silently (and the reference server with it), so their refusal is not documented behaviour.
fn documented(mutation: &Mutation) -> bool {
    !matches!(
        mutation,
        Mutation::ExtraMember { .. } | Mutation::Garbage { .. }
    )
}

/// Heartbeat pings are answered and left out.
fn heartbeat(frame: &Value) -> Option<Option<Value>> {
    (frame == &json!({"type": "ping"})).then(|| Some(json!({"type": "pong"})))
}

fn is_error(replies: &Replies) -> Option<String> {
    replies
        .frames
        .iter()
        .find(|f| ERROR_KINDS.iter().any(|k| f.is(k)))
        .map(ToString::to_string)
}

async fn valid_accepted(ctx: Ctx) -> CaseResult {
    let credential = ctx.credential(WHO).await?;
    let strategy = messages(&generator(&ctx)?, kinds(&ctx, &credential, true)?)?;
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
    let mut conn = ctx.directus().connect(WHO).await?;
    conn.send_json(&message.value).await?;
    exchange.sent(conn.label(), shown(&message.value));
    let want = usize::from(message.kind != "pong");
    let replies = exchange
        .collect(&mut conn, want, ctx.wait(), quiet(ctx), heartbeat)
        .await;
    ensure!(
        replies.closed.is_none(),
        "the server closed the connection after a valid `{}`",
        message.kind
    );
    if let Some(error) = is_error(&replies) {
        fail!(
            "a valid `{}` was answered with an error: {error}",
            message.kind
        );
    }
    ensure!(
        replies.frames.len() == want,
        "a `{}` is answered with {want} frame(s), got {}: {:?}",
        message.kind,
        replies.frames.len(),
        replies.values()
    );
    if let (Some(reply), Some(uid)) = (replies.frames.first(), message.value.get("uid")) {
        // Messages about a subscription carry the uid as a string; other replies, the unsubscribe
        // acknowledgement among them, echo its JSON type (directus.numeric-uid).
        let about_a_subscription = reply.str("/type") == Some("subscription")
            && reply.str("/event") != Some("unsubscribe");
        let expected = if about_a_subscription {
            json!(uid
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| uid.to_string()))
        } else {
            uid.clone()
        };
        ensure!(
            reply.get("/uid") == Some(&expected),
            "the reply carries uid {}, the message had {uid}",
            reply.get("/uid").cloned().unwrap_or(Value::Null)
        );
    }
    conn.close().await;
    Ok(())
}

async fn invalid_answered(ctx: Ctx) -> CaseResult {
    let credential = ctx.credential(WHO).await?;
    let cut = |m: &Mutation| matches!(m, Mutation::Truncated { .. });
    let strategy = invalid(
        &generator(&ctx)?,
        kinds(&ctx, &credential, false)?,
        "client/envelope",
        documented,
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

/// A ping with a fresh uid answered by its pong: the connection still works.
async fn still_answers(
    ctx: &Ctx,
    exchange: &Exchange,
    conn: &mut crate::client::Conn,
) -> CaseResult {
    let uid = ctx.unique("after");
    conn.send_json(&json!({"type": "ping", "uid": uid})).await?;
    exchange.sent(conn.label(), format!("follow-up ping {uid}"));
    let after = exchange
        .collect(conn, 1, ctx.wait(), quiet(ctx), heartbeat)
        .await;
    ensure!(
        after
            .values()
            .contains(&json!({"type": "pong", "uid": uid})),
        "the connection must keep answering: a ping with uid {uid} got {:?}",
        after.values()
    );
    Ok(())
}

async fn send_invalid(ctx: &Ctx, exchange: &Exchange, mutated: &Mutated) -> CaseResult {
    let mut conn = ctx.directus().connect(WHO).await?;
    exchange.note(format!("mutation: {}", mutated.mutation));
    let Wire::Text(text) = &mutated.wire else {
        return Err(CaseError::harness("this property sends text frames only"));
    };
    conn.send_text_raw(text).await?;
    exchange.sent(conn.label(), &mutated.wire);
    let unknown_type = mutated
        .value
        .as_ref()
        .and_then(|v| v.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| !CLIENT_TYPES.contains(&t));
    let replies = exchange
        .collect(
            &mut conn,
            usize::from(!unknown_type),
            ctx.wait(),
            quiet(ctx),
            heartbeat,
        )
        .await;
    ensure!(
        replies.closed.is_none(),
        "the server closed the connection over an invalid message"
    );
    let errors = replies
        .frames
        .iter()
        .filter(|f| ERROR_KINDS.iter().any(|k| f.is(k)) && !f.is("auth-error"))
        .count();
    let fits = if unknown_type {
        replies.frames.len() == errors && errors <= 1
    } else {
        replies.frames.len() == 1 && errors == 1
    };
    ensure!(
        fits,
        "an invalid message is answered by one error reply{}; got {:?}",
        if unknown_type {
            " or none (unknown type)"
        } else {
            ""
        },
        replies.values()
    );
    still_answers(ctx, exchange, &mut conn).await?;
    conn.close().await;
    Ok(())
}

async fn transport_frames(ctx: Ctx) -> CaseResult {
    let limit = ctx
        .parameter_u64("max_message_bytes")
        .ok()
        .and_then(|n| usize::try_from(n).ok());
    let generator = generator(&ctx)?;
    let pings = generator
        .valid("client/ping")
        .map_err(|e| CaseError::harness(format!("generating pings: {e}")))?;
    let strategy = generator
        .transport_mutations(pings, limit)
        .prop_filter("a frame-level mutation", |m| {
            !matches!(m.mutation, Mutation::Truncated { .. })
        })
        .sboxed();
    check(
        &ctx,
        Noun("frame"),
        strategy,
        describe_mutated,
        |mutated: Mutated| {
            let ctx = ctx.clone();
            async move {
                let exchange = Exchange::new();
                let result = send_frame(&ctx, &exchange, &mutated).await;
                exchange.verdict(result)
            }
        },
    )
    .await
}

async fn send_frame(ctx: &Ctx, exchange: &Exchange, mutated: &Mutated) -> CaseResult {
    exchange.note(format!("mutation: {}", mutated.mutation));
    match &mutated.wire {
        Wire::InvalidText(bytes) => {
            let credential = ctx.credential(WHO).await?;
            let directus = ctx.directus();
            let mut request = directus.request()?;
            if directus.auth_mode()? == AuthMode::Strict {
                let token = credential
                    .get("access_token")
                    .ok_or_else(|| CaseError::skip("strict auth mode needs an access_token"))?;
                request = request.query("access_token", token);
            }
            let mut raw = RawSocket::open(ctx, credential.label(), &request).await?;
            if directus.auth_mode()? != AuthMode::Strict {
                raw.send_text(&Directus::auth_frame(&credential)?.to_string())
                    .await?;
                raw.next(ctx.wait()).await;
            }
            raw.send_text_bytes(bytes).await?;
            exchange.sent(raw.label(), &mutated.wire);
            let code = raw.closed_within(ctx.wait()).await;
            exchange.note(format!("close code: {code:?}"));
            ensure!(
                code == Some(1007),
                "a text frame that is not UTF-8 must close the connection with 1007, got {}",
                code.map_or("no close".to_owned(), |c| c.to_string())
            );
            let mut conn = directus.connect(WHO).await?;
            still_answers(ctx, exchange, &mut conn).await?;
        }
        Wire::Binary(bytes) => {
            let mut conn = ctx.directus().connect(WHO).await?;
            conn.send_binary_raw(bytes).await?;
            exchange.sent(conn.label(), &mutated.wire);
            let replies = exchange
                .collect(&mut conn, 1, ctx.wait(), quiet(ctx), heartbeat)
                .await;
            let mut pong = json!({"type": "pong"});
            if let Some(uid) = mutated.original.get("uid") {
                pong["uid"] = uid.clone();
            }
            ensure!(
                replies.values() == [pong.clone()],
                "a ping in a binary frame is read as text and answered {pong}; got {:?}",
                replies.values()
            );
        }
        Wire::Text(text) => {
            let mut conn = ctx.directus().connect(WHO).await?;
            let code = super::send_oversized(ctx, exchange, &mut conn, text).await?;
            ensure!(
                code == 1009,
                "a frame of {} bytes over the size limit must close the connection with 1009, got {code}",
                text.len()
            );
            let mut conn = ctx.directus().connect(WHO).await?;
            still_answers(ctx, exchange, &mut conn).await?;
        }
    }
    Ok(())
}
