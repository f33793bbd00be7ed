//! Private messages: to every connection of the recipient, echoed to the sending connection, and to nobody else.

use serde_json::json;

use super::case;
use super::support::{self, error, private, OTHER_SERVICE, TWO_USERS};
use crate::case::{sources, Case, CaseError, CaseResult, Level, Reference};
use crate::client::skapi::SkapiConn;
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::ensure;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "skapi.private.reaches-recipient",
            Level::Must,
            "A private message reaches its recipient as #private naming the sender",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "\"private\": When there is private data transfer between the users.",
            },
            TWO_USERS,
            |ctx| Box::pin(reaches_recipient(ctx)),
        ),
        case(
            "skapi.private.only-recipient",
            Level::Must,
            "A private message reaches no other user: not a user of another service, not a third user of the service when the target names one",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "\"private\": When there is private data transfer between the users.",
            },
            OTHER_SERVICE,
            |ctx| Box::pin(only_recipient(ctx)),
        ),
        case(
            "skapi.private.every-recipient-connection",
            Level::Should,
            "A private message reaches every open connection of the recipient once, whatever group each is in",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "whether a private message reaches all of the recipient's connections (ours: all)",
            },
            TWO_USERS,
            |ctx| Box::pin(every_recipient_connection(ctx)),
        ),
        case(
            "skapi.private.echoed-to-sending-connection",
            Level::Should,
            "A private message is echoed once to the connection that sent it, and not to the sender's other connections",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "// to recipient, echoed to sender",
            },
            TWO_USERS,
            |ctx| Box::pin(echoed_to_sending_connection(ctx)),
        ),
        case(
            "skapi.private.to-self-once-per-connection",
            Level::Should,
            "A private message to one's own user reaches each of one's connections exactly once, the sending one included",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "the echo all of the sender's (ours: the sending one)",
            },
            TWO_USERS,
            |ctx| Box::pin(to_self_once_per_connection(ctx)),
        ),
        case(
            "skapi.private.recipient-not-connected-error",
            Level::Should,
            "A private message to a user with no open connection in the service gets #error and no echo",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "{\"#error\":\"Recipient is not connected.\"}",
            },
            OTHER_SERVICE,
            |ctx| Box::pin(recipient_not_connected_error(ctx)),
        ),
    ]
}

async fn reaches_recipient(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let alice = skapi.connect("primary").await?;
    let mut bob = skapi.connect("secondary").await?;
    support::settle(&ctx, &mut bob).await?;
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

/// Connects credential set `name` when the target has it; `None` (with a note) when it has not.
async fn optional_connection(ctx: &Ctx, name: &str) -> Result<Option<SkapiConn>, CaseError> {
    match ctx.skapi().connect(name).await {
        Ok(conn) => Ok(Some(conn)),
        Err(CaseError::Skip(reason)) => {
            ctx.note(format!("no third user of the service is checked: {reason}"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

async fn only_recipient(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let alice = skapi.connect("primary").await?;
    let mut bob = skapi.connect("secondary").await?;
    let mut carol = skapi.connect("other_tenant").await?;
    support::ensure_other_service(&alice, &carol)?;
    let mut third = optional_connection(&ctx, "third").await?;
    support::settle(&ctx, &mut bob).await?;
    support::settle(&ctx, &mut carol).await?;
    if let Some(third) = third.as_mut() {
        support::settle(&ctx, third).await?;
    }
    let content = support::marker(&ctx);
    alice
        .send_private(&bob.session.user_id, content.clone())
        .await?;
    bob.expect(private(&content), ctx.wait()).await?;
    let mut listeners = vec![&mut carol];
    listeners.extend(third.as_mut());
    for listener in listeners {
        let context = format!(
            "{} sent a private message to {}; {} (user {} of service {:?}) listened",
            alice.label(),
            bob.label(),
            listener.label(),
            listener.session.user_id,
            listener.session.service
        );
        listener
            .expect_silence_of(Pattern::kind("private"), ctx.silence())
            .await
            .map_err(|e| e.context(context))?;
    }
    let across = support::marker(&ctx);
    alice
        .send_private(&carol.session.user_id, across.clone())
        .await?;
    let context = format!(
        "{} of service {:?} sent a private message to the user id of {} of service {:?}",
        alice.label(),
        alice.session.service,
        carol.label(),
        carol.session.service
    );
    carol
        .expect_silence_of(Pattern::kind("private"), ctx.silence())
        .await
        .map_err(|e| e.context(context))
}

async fn every_recipient_connection(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let alice = skapi.connect("primary").await?;
    let mut bob_nowhere = skapi.connect("secondary").await?;
    let mut bob_in_group = skapi.connect("secondary").await?;
    support::settle(&ctx, &mut bob_nowhere).await?;
    support::join(&ctx, &mut bob_in_group, &ctx.unique("group")).await?;
    let content = support::marker(&ctx);
    alice
        .send_private(&bob_nowhere.session.user_id, content.clone())
        .await?;
    for bob in [&mut bob_nowhere, &mut bob_in_group] {
        let frame = bob.expect(private(&content), ctx.wait()).await?;
        ensure!(
            frame.str("/#user_id") == Some(alice.session.user_id.as_str()),
            "{} got the #private naming sender {:?}, not {}",
            bob.label(),
            frame.str("/#user_id"),
            alice.session.user_id
        );
    }
    for bob in [&mut bob_nowhere, &mut bob_in_group] {
        bob.expect_silence_of(private(&content), ctx.silence())
            .await
            .map_err(|e| e.context("each connection of the recipient gets one copy"))?;
    }
    Ok(())
}

async fn echoed_to_sending_connection(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let mut sending = skapi.connect("primary").await?;
    let mut other = skapi.connect("primary").await?;
    let mut bob = skapi.connect("secondary").await?;
    for conn in [&mut sending, &mut other, &mut bob] {
        support::settle(&ctx, conn).await?;
    }
    let content = support::marker(&ctx);
    sending
        .send_private(&bob.session.user_id, content.clone())
        .await?;
    let delivered = bob.expect(private(&content), ctx.wait()).await?;
    let echo = sending
        .expect(private(&content), ctx.wait())
        .await
        .map_err(|e| e.context("the sending connection's echo"))?;
    ensure!(
        echo.str("/#user_id") == Some(sending.session.user_id.as_str()),
        "the echo names sender {:?}, not {}",
        echo.str("/#user_id"),
        sending.session.user_id
    );
    ensure!(
        echo.str("/#scid") == delivered.str("/#scid"),
        "the echo names connection {:?}, the recipient's copy {:?}: both name the sending connection",
        echo.str("/#scid"),
        delivered.str("/#scid")
    );
    sending
        .expect_silence_of(private(&content), ctx.silence())
        .await
        .map_err(|e| e.context("the sending connection gets one echo"))?;
    other
        .expect_silence_of(private(&content), ctx.silence())
        .await
        .map_err(|e| e.context("the sender's other connection, which did not send the message"))
}

async fn recipient_not_connected_error(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let mut alice = skapi.connect("primary").await?;
    let mut carol = skapi.connect("other_tenant").await?;
    support::settle(&ctx, &mut carol).await?;
    let nobody = support::unknown_user_id(&ctx);
    let recipients = [
        (nobody.clone(), format!("user {nobody}, whom no user has")),
        (
            carol.session.user_id.clone(),
            format!(
                "user {} of service {:?}, connected there only",
                carol.session.user_id, carol.session.service
            ),
        ),
    ];
    for (recipient, who) in recipients {
        let content = support::marker(&ctx);
        alice.send_private(&recipient, content.clone()).await?;
        alice
            .expect(error(), ctx.wait())
            .await
            .map_err(|e| e.context(format!("a private message to {who}")))?;
        alice
            .expect_silence_of(private(&content), ctx.silence())
            .await
            .map_err(|e| {
                e.context(format!(
                    "a private message to {who} was delivered to nobody, so it is not echoed"
                ))
            })?;
    }
    Ok(())
}

async fn to_self_once_per_connection(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let mut sending = skapi.connect("primary").await?;
    let mut other = skapi.connect("primary").await?;
    let mut bob = skapi.connect("secondary").await?;
    // Joining a group is a frame the server must handle on each connection, so both are set up before the message.
    for conn in [&mut sending, &mut other, &mut bob] {
        support::join(&ctx, conn, &ctx.unique("own")).await?;
    }
    let content = support::marker(&ctx);
    let own = sending.session.user_id.clone();
    sending.send_private(&own, content.clone()).await?;
    for conn in [&mut sending, &mut other] {
        conn.expect(private(&content), ctx.wait()).await?;
    }
    for conn in [&mut sending, &mut other] {
        conn.expect_silence_of(private(&content), ctx.silence())
            .await
            .map_err(|e| {
                e.context("a private message to one's own user, one copy per connection")
            })?;
    }
    bob.expect_silence_of(private(&content), ctx.silence())
        .await
        .map_err(|e| e.context("another user's private message to itself"))
}
