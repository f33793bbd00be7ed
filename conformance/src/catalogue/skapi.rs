//! skapi cases: the Skapi realtime connection.

use serde_json::json;

use crate::case::{sources, Case, CaseResult, Kind, Level, Need, Reference};
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::ensure;
use crate::profile::Profile;

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "skapi.connect.invalid-token-rejected",
            profile: Profile::Skapi,
            level: Level::Must,
            title: "An upgrade with an invalid token is refused with HTTP 401",
            reference: Reference {
                source: sources::SKAPI_NOTES,
                quote: "An invalid token → HTTP 401 on the upgrade",
            },
            kind: Kind::Scenario,
            requires: &[],
            run: |ctx| Box::pin(invalid_token_rejected(ctx)),
        },
        Case {
            id: "skapi.broadcast.reaches-group-including-sender",
            profile: Profile::Skapi,
            level: Level::Must,
            title: "A broadcast reaches every member of the group, the sender included, with sender and group named",
            reference: Reference {
                source: sources::SKAPI_NOTES,
                quote: "to every member, sender included",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Credential("secondary")],
            run: |ctx| Box::pin(broadcast_reaches_group(ctx)),
        },
        Case {
            id: "skapi.private.reaches-recipient",
            profile: Profile::Skapi,
            level: Level::Must,
            title: "A private message reaches its recipient as #private naming the sender",
            reference: Reference {
                source: sources::SKAPI_SEED,
                quote: "\"private\": When there is private data transfer between the users.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Credential("secondary")],
            run: |ctx| Box::pin(private_reaches_recipient(ctx)),
        },
    ]
}

async fn invalid_token_rejected(ctx: Ctx) -> CaseResult {
    let attempt = ctx
        .skapi()
        .open_with_token("anonymous", "not-a-valid-token")
        .await?;
    match attempt {
        Ok(_) => {
            crate::fail!("the server accepted a WebSocket upgrade with token `not-a-valid-token`")
        }
        Err(e) => {
            ensure!(
                e.status() == Some(401),
                "expected HTTP 401 for an invalid token, got: {e}"
            );
            Ok(())
        }
    }
}

async fn broadcast_reaches_group(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let group = ctx.unique("group");
    let mut alice = skapi.connect("primary").await?;
    let mut bob = skapi.connect("secondary").await?;
    // Joins are ordered so that Alice is in the group before Bob joins: her own notice, where the server sends
    // one, marks that; Bob's notice reaching her then shows both are members before the broadcast.
    alice.join(&group).await?;
    let alice_id = alice.session.user_id.clone();
    let own_notice = Pattern::subset(json!({"#code": "USER_JOINED", "#user_id": alice_id}));
    if alice.expect(own_notice, ctx.wait()).await.is_err() {
        ctx.note("no USER_JOINED notice to the joiner itself; going on");
    }
    bob.join(&group).await?;
    let bob_id = bob.session.user_id.clone();
    alice
        .expect(
            json!({"#code": "USER_JOINED", "#user_id": bob_id}),
            ctx.wait(),
        )
        .await?;
    let content = json!({"text": ctx.unique("hello"), "n": 1});
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
    }
    Ok(())
}

async fn private_reaches_recipient(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let alice = skapi.connect("primary").await?;
    let mut bob = skapi.connect("secondary").await?;
    let content = json!({"secret": ctx.unique("whisper")});
    alice
        .send_private(&bob.session.user_id, content.clone())
        .await?;
    let frame = bob.expect(Pattern::kind("private"), ctx.wait()).await?;
    ensure!(
        frame.get("/#private") == Some(&content),
        "the recipient got #private {}, the sender sent {content}",
        frame.get("/#private").cloned().unwrap_or_default()
    );
    ensure!(
        frame.str("/#user_id") == Some(alice.session.user_id.as_str()),
        "the #private frame names sender {:?}, not {}",
        frame.str("/#user_id"),
        alice.session.user_id
    );
    Ok(())
}
