//! Groups: joining (one group per connection), leaving with `rid` null or "", moving, and the notices of each.

use serde_json::{json, Value};

use super::case;
use super::support::{self, message, notice, notice_about, TWO_USERS};
use crate::case::{sources, Case, CaseResult, Level, Reference};
use crate::client::skapi::SkapiConn;
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::ensure;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "skapi.group.joined-notice-to-every-member",
            Level::Should,
            "A join sends USER_JOINED to every member, the joiner included, naming the joiner (#user_id), its connection (#scid) and the group (#srid)",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "Notices go to every member of the group, the subject included",
            },
            TWO_USERS,
            |ctx| Box::pin(joined_notice_to_every_member(ctx)),
        ),
        case(
            "skapi.group.leave-with-null",
            Level::Should,
            "joinRoom with rid null leaves the group: every member, the leaver included, gets USER_LEFT and later broadcasts skip the leaver",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "{\"action\":\"joinRoom\",\"rid\":null,\"token\":\"<access JWT>\"} // leave (\"\" also leaves)",
            },
            TWO_USERS,
            |ctx| Box::pin(leave_with(ctx, Value::Null)),
        ),
        case(
            "skapi.group.leave-with-empty-string",
            Level::Should,
            "joinRoom with rid \"\" leaves the group like rid null",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "// leave (\"\" also leaves)",
            },
            TWO_USERS,
            |ctx| Box::pin(leave_with(ctx, json!(""))),
        ),
        case(
            "skapi.group.leave-outside-group-silent",
            Level::Should,
            "Leaving while in no group is accepted silently: no frame comes back and the connection can join afterwards",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "the server never acknowledges a frame",
            },
            TWO_USERS,
            |ctx| Box::pin(leave_outside_group_silent(ctx)),
        ),
        case(
            "skapi.group.join-another-moves",
            Level::Should,
            "Joining another group moves the connection: the old group gets USER_LEFT, then the new group USER_JOINED, and only the new group's broadcasts reach it",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "Joining another group moves the connection (leave old, join new).",
            },
            TWO_USERS,
            |ctx| Box::pin(join_another_moves(ctx)),
        ),
        case(
            "skapi.group.rejoin-changes-nothing",
            Level::Should,
            "Joining the group a connection is already in sends no notice and does not double its deliveries",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "// join group; one group per connection",
            },
            TWO_USERS,
            |ctx| Box::pin(rejoin_changes_nothing(ctx)),
        ),
    ]
}

/// Alice and Bob (one connection each) in one fresh group, Alice first; Alice has seen Bob's join probe.
pub(super) struct Pair {
    pub group: String,
    pub alice: SkapiConn,
    pub bob: SkapiConn,
    pub alice_cid: String,
    pub bob_cid: String,
}

pub(super) async fn pair_in_group(ctx: &Ctx) -> Result<Pair, crate::case::CaseError> {
    let skapi = ctx.skapi();
    let group = ctx.unique("group");
    let mut alice = skapi.connect("primary").await?;
    let mut bob = skapi.connect("secondary").await?;
    let alice_cid = support::join(ctx, &mut alice, &group).await?;
    let bob_cid = support::join(ctx, &mut bob, &group).await?;
    // Bob's join probe reaching Alice shows both are members; it is consumed so it cannot pass for a later message.
    let bob_probe = Pattern::kind("message").and(json!({"#user_id": bob.session.user_id}));
    alice.expect(bob_probe, ctx.wait()).await.map_err(|e| {
        e.context(format!(
            "{} joined {group:?} after {}",
            bob.label(),
            alice.label()
        ))
    })?;
    Ok(Pair {
        group,
        alice,
        bob,
        alice_cid,
        bob_cid,
    })
}

async fn joined_notice_to_every_member(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let group = ctx.unique("group");
    let mut alice = skapi.connect("primary").await?;
    let mut bob = skapi.connect("secondary").await?;
    let alice_cid = support::join(&ctx, &mut alice, &group).await?;
    bob.join(&group).await?;
    let bob_id = bob.session.user_id.clone();
    let joined = || notice("USER_JOINED", &bob_id, &group);
    let own = bob.expect(joined(), ctx.wait()).await?;
    let seen = alice.expect(joined(), ctx.wait()).await.map_err(|e| {
        e.context(format!(
            "{} was in the group before {} joined",
            alice.label(),
            bob.label()
        ))
    })?;
    let bob_cid = support::connection_id(&own)?;
    ensure!(
        seen.str("/#scid") == Some(bob_cid.as_str()),
        "the USER_JOINED {} received names connection {:?}, the one {} received names {bob_cid:?}: #scid must name the joiner's connection on every copy",
        alice.label(),
        seen.str("/#scid"),
        bob.label()
    );
    let content = support::marker(&ctx);
    bob.broadcast(&group, content.clone()).await?;
    let from_bob = alice.expect(message(&content), ctx.wait()).await?;
    ensure!(
        from_bob.str("/#scid") == Some(bob_cid.as_str()),
        "{}'s USER_JOINED named connection {bob_cid:?}, its broadcast names {:?}: both must name the same connection",
        bob.label(),
        from_bob.str("/#scid")
    );
    ensure!(
        bob_cid != alice_cid,
        "{} and {} were both named connection {bob_cid:?}: each connection has its own id",
        alice.label(),
        bob.label()
    );
    bob.expect_silence_of(notice_about(&alice.session.user_id), ctx.silence())
        .await
        .map_err(|e| e.context("a joiner gets no notice about members who joined before it"))
}

async fn leave_with(ctx: Ctx, rid: Value) -> CaseResult {
    let Pair {
        group,
        mut alice,
        mut bob,
        bob_cid,
        ..
    } = pair_in_group(&ctx).await?;
    bob.send_json(&json!({"action": "joinRoom", "rid": rid, "token": bob.session.access_token}))
        .await?;
    let bob_id = bob.session.user_id.clone();
    let left = alice
        .expect(notice("USER_LEFT", &bob_id, &group), ctx.wait())
        .await
        .map_err(|e| {
            e.context(format!(
                "after joinRoom with rid {rid}, the member left behind"
            ))
        })?;
    ensure!(
        left.str("/#scid") == Some(bob_cid.as_str()),
        "USER_LEFT names connection {:?}, the leaver's is {bob_cid:?}",
        left.str("/#scid")
    );
    bob.expect(notice("USER_LEFT", &bob_id, &group), ctx.wait())
        .await
        .map_err(|e| {
            e.context("the leaver gets its own USER_LEFT (our reading of \"whether the leaver gets its own USER_LEFT (ours: yes)\")")
        })?;
    let content = support::marker(&ctx);
    alice.broadcast(&group, content.clone()).await?;
    alice.expect(message(&content), ctx.wait()).await?;
    bob.expect_silence_of(Pattern::kind("message"), ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "a broadcast to {group:?} after {} left it",
                bob.label()
            ))
        })
}

async fn join_another_moves(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let (old, new) = (ctx.unique("old"), ctx.unique("new"));
    let mut mover = skapi.connect("primary").await?;
    let mut in_old = skapi.connect("secondary").await?;
    let mut in_new = skapi.connect("secondary").await?;
    support::join(&ctx, &mut in_old, &old).await?;
    support::join(&ctx, &mut in_new, &new).await?;
    let mover_cid = support::join(&ctx, &mut mover, &old).await?;
    let mover_id = mover.session.user_id.clone();
    in_old
        .expect(notice("USER_JOINED", &mover_id, &old), ctx.wait())
        .await?;

    mover.join(&new).await?;
    let first = mover.expect(notice_about(&mover_id), ctx.wait()).await?;
    ensure!(
        first.str("/#code") == Some("USER_LEFT") && first.str("/#srid") == Some(old.as_str()),
        "the mover's first notice after joining {new:?} should be its USER_LEFT of {old:?}, got {first}"
    );
    let second = mover.expect(notice_about(&mover_id), ctx.wait()).await?;
    ensure!(
        second.str("/#code") == Some("USER_JOINED") && second.str("/#srid") == Some(new.as_str()),
        "after its USER_LEFT of {old:?}, the mover's next notice should be its USER_JOINED of {new:?}, got {second}"
    );
    let left = in_old
        .expect(notice("USER_LEFT", &mover_id, &old), ctx.wait())
        .await?;
    ensure!(
        left.str("/#scid") == Some(mover_cid.as_str()),
        "USER_LEFT names connection {:?}, the mover's is {mover_cid:?}",
        left.str("/#scid")
    );
    in_new
        .expect(notice("USER_JOINED", &mover_id, &new), ctx.wait())
        .await?;

    let to_old = support::marker(&ctx);
    in_old.broadcast(&old, to_old.clone()).await?;
    in_old.expect(message(&to_old), ctx.wait()).await?;
    let to_new = support::marker(&ctx);
    in_new.broadcast(&new, to_new.clone()).await?;
    mover
        .expect(message(&to_new), ctx.wait())
        .await
        .map_err(|e| e.context(format!("a broadcast to the new group {new:?}")))?;
    mover
        .expect_silence_of(message(&to_old), ctx.silence())
        .await
        .map_err(|e| e.context(format!("a broadcast to the old group {old:?}")))
}

async fn rejoin_changes_nothing(ctx: Ctx) -> CaseResult {
    let Pair {
        group,
        mut alice,
        mut bob,
        ..
    } = pair_in_group(&ctx).await?;
    bob.join(&group).await?;
    let bob_id = bob.session.user_id.clone();
    // Bob's own broadcast coming back shows his second join was handled (one connection's frames are handled in
    // order); a notice about him before it would be the second join's.
    let probe = support::marker(&ctx);
    bob.broadcast(&group, probe.clone()).await?;
    let (mine, own_probe) = (bob_id.clone(), probe.clone());
    let first = bob
        .expect(
            Pattern::when("the probe or a notice about the joiner", move |f| {
                f.get("/#message") == Some(&own_probe)
                    || (f.is("notice") && f.str("/#user_id") == Some(mine.as_str()))
            }),
            ctx.wait(),
        )
        .await?;
    ensure!(
        first.get("/#message") == Some(&probe),
        "joining the group one is in again sent a notice: {first}"
    );
    let content = support::marker(&ctx);
    alice.broadcast(&group, content.clone()).await?;
    bob.expect(message(&content), ctx.wait()).await?;
    bob.expect_silence_of(message(&content), ctx.silence())
        .await
        .map_err(|e| e.context("a member that joined its group twice got a broadcast twice"))?;
    bob.expect_silence_of(notice_about(&bob_id), ctx.silence())
        .await
        .map_err(|e| e.context("joining the group one is in again"))?;
    alice
        .expect_silence_of(notice_about(&bob_id), ctx.silence())
        .await
        .map_err(|e| e.context("another member joining the group it is in again"))
}

async fn leave_outside_group_silent(ctx: Ctx) -> CaseResult {
    let mut alice = ctx.skapi().connect("primary").await?;
    alice.leave().await?;
    alice
        .send_json(&json!({"action": "joinRoom", "rid": "", "token": alice.session.access_token}))
        .await?;
    alice
        .expect_silence(ctx.silence())
        .await
        .map_err(|e| e.context("leaving while in no group"))?;
    support::join(&ctx, &mut alice, &ctx.unique("group"))
        .await
        .map(|_| ())
}
