//! Closing: a closed connection leaves its group; the rest of the group gets USER_DISCONNECTED.

use super::case;
use super::group::{pair_in_group, Pair};
use super::support::{self, message, notice_about, TWO_USERS};
use crate::case::{sources, Case, CaseResult, Level, Need, Reference};
use crate::client::skapi::SkapiConn;
use crate::ctx::Ctx;
use crate::{ensure, fail};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "skapi.close.removed-from-group",
            Level::Must,
            "When a connection closes, the rest of its group gets USER_DISCONNECTED for it and the group carries on without it",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "And when the connection is closed user will be removed from the group.",
            },
            TWO_USERS,
            |ctx| Box::pin(removed_from_group(ctx, Ending::CloseFrame)),
        ),
        case(
            "skapi.close.dropped-socket-removed",
            Level::Should,
            "A connection whose socket drops without a close frame is removed the same way, with USER_DISCONNECTED and no USER_LEFT",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "others see `USER_DISCONNECTED` and the user is removed from the group",
            },
            TWO_USERS,
            |ctx| Box::pin(removed_from_group(ctx, Ending::Dropped)),
        ),
        case(
            "skapi.close.client-close-answered",
            Level::Should,
            "A client closing the connection (closeRealtime) gets the server's close frame back, not a dropped socket",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "You can close the realtime connection by calling closeRealtime() method.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(client_close_answered(ctx)),
        ),
    ]
}

async fn client_close_answered(ctx: Ctx) -> CaseResult {
    let mut alice = ctx.skapi().connect("primary").await?;
    alice.close_with(1000, "").await;
    match alice.closed() {
        Some(closed) => {
            ensure!(
                closed.code == 1000,
                "{} closed with 1000 and the server answered {} ({}); RFC 6455 §5.5.1: the answer echoes the code",
                alice.label(),
                closed.code,
                closed.reason
            );
            Ok(())
        }
        None => fail!(
            "{} sent a close frame (1000) and the server did not close within the grace period",
            alice.label()
        ),
    }
}

/// How the member's connection ends.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// A close frame with 1001 (going away), what a browser sends when a tab closes.
    CloseFrame,
    /// The TCP connection ends without a close frame.
    Dropped,
}

async fn end(ctx: &Ctx, mut conn: SkapiConn, ending: Ending) {
    match ending {
        Ending::CloseFrame => conn.close_with(1001, "").await,
        Ending::Dropped => {
            ctx.note(format!(
                "{}: the socket is dropped without a close frame",
                conn.label()
            ));
            drop(conn);
        }
    }
}

async fn removed_from_group(ctx: Ctx, ending: Ending) -> CaseResult {
    let Pair {
        group,
        mut alice,
        bob,
        bob_cid,
        ..
    } = pair_in_group(&ctx).await?;
    let mut bob_elsewhere = ctx.skapi().connect("secondary").await?;
    let bob_id = bob.session.user_id.clone();
    let bob_label = bob.label().to_owned();
    end(&ctx, bob, ending).await;

    let first = alice
        .expect(notice_about(&bob_id), ctx.wait())
        .await
        .map_err(|e| {
            e.context(format!(
                "{bob_label}, a member of {group:?}, closed its connection ({ending:?})"
            ))
        })?;
    ensure!(
        first.str("/#code") == Some("USER_DISCONNECTED"),
        "after {bob_label} closed its connection ({ending:?}) the group's next notice about it should be USER_DISCONNECTED, got {first}"
    );
    ensure!(
        first.str("/#srid") == Some(group.as_str())
            && first.str("/#scid") == Some(bob_cid.as_str()),
        "USER_DISCONNECTED should name group {group:?} and connection {bob_cid:?}: {first}"
    );
    let content = support::marker(&ctx);
    alice.broadcast(&group, content.clone()).await?;
    alice
        .expect(message(&content), ctx.wait())
        .await
        .map_err(|e| {
            e.context(format!(
                "the group {group:?} after {bob_label} left it by closing"
            ))
        })?;
    alice
        .expect_silence_of(notice_about(&bob_id), ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "one notice, USER_DISCONNECTED, for {bob_label}'s closing"
            ))
        })?;
    bob_elsewhere
        .expect_silence_of(message(&content), ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "{} is another connection of the closed member's user and was never in {group:?}",
                bob_elsewhere.label()
            ))
        })
}
