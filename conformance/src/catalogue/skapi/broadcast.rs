//! Broadcasts: to every member of the group, the sender included, and to nobody else.

use serde_json::json;

use super::case;
use super::group::{pair_in_group, Pair};
use super::support::{self, error, message, OTHER_SERVICE, TWO_USERS};
use crate::case::{sources, Case, CaseResult, Level, Reference};
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::ensure;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "skapi.broadcast.reaches-group-including-sender",
            Level::Must,
            "A broadcast reaches every member of the group once, the sender included, with sender and group named",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "to every member, sender included",
            },
            TWO_USERS,
            |ctx| Box::pin(reaches_group_including_sender(ctx)),
        ),
        case(
            "skapi.broadcast.not-outside-group",
            Level::Must,
            "A broadcast reaches no connection outside the group: not a member of another group, not one in no group",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "to every member, sender included",
            },
            TWO_USERS,
            |ctx| Box::pin(not_outside_group(ctx)),
        ),
        case(
            "skapi.broadcast.not-other-service",
            Level::Must,
            "A broadcast never reaches another service, even a member of a group of the same name there",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "connections of different services never see each other",
            },
            OTHER_SERVICE,
            |ctx| Box::pin(not_other_service(ctx)),
        ),
        case(
            "skapi.broadcast.outsider-gets-error",
            Level::Should,
            "A broadcast to a group the sending connection is not in gets #error and reaches no member",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "broadcast to a group the sender is not in (ours: `#error`)",
            },
            TWO_USERS,
            |ctx| Box::pin(outsider_gets_error(ctx)),
        ),
        case(
            "skapi.broadcast.sender-connection-id",
            Level::Must,
            "#scid names the sending connection: two connections of one user are told apart, and every member sees the same id",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "sender_cid is the connection ID of the message sender. It can be used to track the sender's connection.",
            },
            TWO_USERS,
            |ctx| Box::pin(sender_connection_id(ctx)),
        ),
    ]
}

async fn reaches_group_including_sender(ctx: Ctx) -> CaseResult {
    let Pair {
        group,
        mut alice,
        mut bob,
        alice_cid,
        ..
    } = pair_in_group(&ctx).await?;
    let content =
        json!({"text": ctx.unique("hello"), "n": 1, "nested": {"list": [1, "two", null]}});
    alice.broadcast(&group, content.clone()).await?;
    let sender = alice.session.user_id.clone();
    for conn in [&mut alice, &mut bob] {
        let frame = conn.expect(Pattern::kind("message"), ctx.wait()).await?;
        ensure!(
            frame.get("/#message") == Some(&content),
            "{} received #message {}, the broadcast sent {content}",
            conn.label(),
            frame.get("/#message").cloned().unwrap_or_default()
        );
        ensure!(
            frame.str("/#user_id") == Some(sender.as_str()),
            "{} received a broadcast whose #user_id is not the sender {sender}: {frame}",
            conn.label()
        );
        ensure!(
            frame.str("/#srid") == Some(group.as_str()),
            "{} received a broadcast whose #srid is not the group {group}: {frame}",
            conn.label()
        );
        ensure!(
            frame.str("/#scid") == Some(alice_cid.as_str()),
            "{} received a broadcast whose #scid is not the sending connection {alice_cid}: {frame}",
            conn.label()
        );
    }
    for conn in [&mut alice, &mut bob] {
        conn.expect_silence_of(message(&content), ctx.silence())
            .await
            .map_err(|e| e.context("each member gets one copy of a broadcast"))?;
    }
    Ok(())
}

async fn not_outside_group(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let (group, other) = (ctx.unique("group"), ctx.unique("other"));
    let mut alice = skapi.connect("primary").await?;
    let mut bob_elsewhere = skapi.connect("secondary").await?;
    let mut bob_nowhere = skapi.connect("secondary").await?;
    support::settle(&ctx, &mut bob_nowhere).await?;
    support::join(&ctx, &mut bob_elsewhere, &other).await?;
    support::join(&ctx, &mut alice, &group).await?;
    let content = support::marker(&ctx);
    alice.broadcast(&group, content.clone()).await?;
    alice.expect(message(&content), ctx.wait()).await?;
    for conn in [&mut bob_elsewhere, &mut bob_nowhere] {
        let context = format!(
            "{} is not in {group:?} but is a connection of the same service",
            conn.label()
        );
        let (leaked, named) = (content.clone(), group.clone());
        let of_group = Pattern::when(
            format!("the broadcast or any frame of group {group:?}"),
            move |f| f.get("/#message") == Some(&leaked) || f.str("/#srid") == Some(named.as_str()),
        );
        conn.expect_silence_of(of_group, ctx.silence())
            .await
            .map_err(|e| e.context(context))?;
    }
    Ok(())
}

async fn not_other_service(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let group = ctx.unique("group");
    let mut alice = skapi.connect("primary").await?;
    let mut carol = skapi.connect("other_tenant").await?;
    support::ensure_other_service(&alice, &carol)?;
    support::join(&ctx, &mut carol, &group).await?;
    support::join(&ctx, &mut alice, &group).await?;
    let content = support::marker(&ctx);
    alice.broadcast(&group, content.clone()).await?;
    alice.expect(message(&content), ctx.wait()).await?;
    let context = format!(
        "{} is in a group named {group:?} of service {:?}; {} broadcast to {group:?} of service {:?}",
        carol.label(),
        carol.session.service,
        alice.label(),
        alice.session.service
    );
    carol
        .expect_silence_of(
            Pattern::when("a #message or a #notice of the other service", |f| {
                f.is("message") || f.is("notice")
            }),
            ctx.silence(),
        )
        .await
        .map_err(|e| e.context(context))
}

async fn outsider_gets_error(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let group = ctx.unique("group");
    let mut alice = skapi.connect("primary").await?;
    let mut bob = skapi.connect("secondary").await?;
    support::join(&ctx, &mut bob, &group).await?;
    let content = support::marker(&ctx);
    alice.broadcast(&group, content.clone()).await?;
    alice.expect(error(), ctx.wait()).await.map_err(|e| {
        e.context(format!(
            "{} broadcast to {group:?} without being in it",
            alice.label()
        ))
    })?;
    bob.expect_silence_of(message(&content), ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "a broadcast from {}, which is not in {group:?}",
                alice.label()
            ))
        })?;
    alice
        .expect_silence_of(message(&content), ctx.silence())
        .await
        .map_err(|e| e.context("a refused broadcast"))
}

async fn sender_connection_id(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let group = ctx.unique("group");
    let mut conns = [
        skapi.connect("secondary").await?,
        skapi.connect("primary").await?,
        skapi.connect("primary").await?,
    ];
    for conn in conns.iter_mut() {
        support::join(&ctx, conn, &group).await?;
    }
    let mut seen = Vec::new();
    for sender in 1..conns.len() {
        let content = support::marker(&ctx);
        conns[sender].broadcast(&group, content.clone()).await?;
        let mut ids = Vec::new();
        for conn in conns.iter_mut() {
            let frame = conn.expect(message(&content), ctx.wait()).await?;
            ids.push((conn.label().to_owned(), support::connection_id(&frame)?));
        }
        let sender_label = conns[sender].label().to_owned();
        let first = ids.first().map(|(_, id)| id.clone()).unwrap_or_default();
        ensure!(
            ids.iter().all(|(_, id)| *id == first),
            "the members saw different #scid for one broadcast of {sender_label}: {ids:?}"
        );
        seen.push((sender_label, first));
    }
    if let [(a, a_id), (b, b_id)] = seen.as_slice() {
        ensure!(
            a_id != b_id,
            "two connections of one user, {a} and {b}, were both named #scid {a_id:?}"
        );
    }
    Ok(())
}
