//! WebRTC signalling: an `rtc` frame is relayed to exactly one connection, named `cid:<id>` from its `#scid`.

use serde_json::{json, Value};

use super::case;
use super::support::{self, error, OTHER_SERVICE, TWO_USERS};
use crate::case::{sources, Case, CaseResult, Level, Reference};
use crate::client::skapi::SkapiConn;
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::ensure;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "skapi.rtc.relayed-to-target-connection",
            Level::Should,
            "An rtc signal to `cid:<id>` reaches that one connection, unchanged and naming the sender, and no other connection of the same user",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "// only to the target connection",
            },
            TWO_USERS,
            |ctx| Box::pin(relayed_to_target_connection(ctx)),
        ),
        case(
            "skapi.rtc.unknown-connection-error",
            Level::Should,
            "An rtc signal to a connection that does not exist in the service, or exists only in another service, gets #error and reaches nobody",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "connections of different services never see each other",
            },
            OTHER_SERVICE,
            |ctx| Box::pin(unknown_connection_error(ctx)),
        ),
    ]
}

/// `{"action":"rtc","uid":"cid:<target>","content":<signal>,"token":<access token>}` from `conn`.
async fn send_rtc(conn: &SkapiConn, target: &str, signal: &Value) -> CaseResult {
    conn.send_json(&json!({
        "action": "rtc",
        "uid": format!("cid:{target}"),
        "content": signal,
        "token": conn.session.access_token,
    }))
    .await
}

fn offer(ctx: &Ctx) -> Value {
    let session = ctx.unique("sdp");
    json!({"sdpoffer": {"type": "offer", "sdp": format!("v=0\r\no=- {session} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")}})
}

async fn relayed_to_target_connection(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let group = ctx.unique("call");
    let mut alice = skapi.connect("primary").await?;
    let mut target = skapi.connect("secondary").await?;
    let mut bystander = skapi.connect("secondary").await?;
    let alice_cid = support::join(&ctx, &mut alice, &group).await?;
    support::join(&ctx, &mut target, &group).await?;
    support::join(&ctx, &mut bystander, &group).await?;
    // Alice learns the target connection's id the way an SDK client does: from #scid of a frame it sent.
    let hello = support::marker(&ctx);
    target.broadcast(&group, hello.clone()).await?;
    let seen = alice.expect(support::message(&hello), ctx.wait()).await?;
    let target_cid = support::connection_id(&seen)?;

    let signal = offer(&ctx);
    send_rtc(&alice, &target_cid, &signal).await?;
    let relayed = target
        .expect(Pattern::kind("rtc"), ctx.wait())
        .await
        .map_err(|e| e.context(format!("an rtc signal to cid:{target_cid}")))?;
    ensure!(
        relayed.get("/#rtc") == Some(&signal),
        "the relayed #rtc is {}, the signal sent was {signal}",
        relayed.get("/#rtc").cloned().unwrap_or_default()
    );
    ensure!(
        relayed.str("/#user_id") == Some(alice.session.user_id.as_str()),
        "the relayed #rtc names sender {:?}, not {}",
        relayed.str("/#user_id"),
        alice.session.user_id
    );
    ensure!(
        relayed.str("/#scid") == Some(alice_cid.as_str()),
        "the relayed #rtc names connection {:?}, the sending connection is {alice_cid:?}",
        relayed.str("/#scid")
    );
    bystander
        .expect_silence_of(Pattern::kind("rtc"), ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "{} is another connection of the same user as the target cid:{target_cid}",
                bystander.label()
            ))
        })?;
    alice
        .expect_silence_of(Pattern::kind("rtc"), ctx.silence())
        .await
        .map_err(|e| e.context("the sender of an rtc signal"))
}

async fn unknown_connection_error(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let mut alice = skapi.connect("primary").await?;
    let mut carol = skapi.connect("other_tenant").await?;
    support::ensure_other_service(&alice, &carol)?;
    let carol_cid = support::join(&ctx, &mut carol, &ctx.unique("call")).await?;
    let nobody = ctx.unique("nobody");
    let targets = [
        (
            nobody.clone(),
            format!("cid:{nobody}, which no connection has"),
        ),
        (
            carol_cid.clone(),
            format!(
                "cid:{carol_cid}, a connection of service {:?} only",
                carol.session.service
            ),
        ),
    ];
    for (target, what) in targets {
        send_rtc(&alice, &target, &offer(&ctx)).await?;
        alice
            .expect(error(), ctx.wait())
            .await
            .map_err(|e| e.context(format!("an rtc signal to {what}")))?;
    }
    carol
        .expect_silence_of(Pattern::kind("rtc"), ctx.silence())
        .await
        .map_err(|e| e.context(format!("{} of another service", alice.label())))
}
