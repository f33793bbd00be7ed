//! Opening a connection: only a logged-in user's access token in `?token=` opens one; keepAlive keeps it.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use super::case;
use super::support::{self, ONE_USER, TWO_USERS};
use crate::case::{sources, Case, CaseError, CaseResult, Level, Reference};
use crate::client::{Conn, ConnectError, Pattern, Request};
use crate::ctx::Ctx;
use crate::{ensure, fail};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "skapi.connect.invalid-token-rejected",
            Level::Must,
            "An upgrade with an invalid token is refused with HTTP 401",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "An invalid token → HTTP 401 on the upgrade",
            },
            &[],
            |ctx| Box::pin(invalid_token_rejected(ctx)),
        ),
        case(
            "skapi.connect.missing-token-rejected",
            Level::Must,
            "An upgrade without a token, or with an empty one, is refused with HTTP 401: only a logged-in user connects",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "User must be logged in to call this method",
            },
            &[],
            |ctx| Box::pin(missing_token_rejected(ctx)),
        ),
        case(
            "skapi.connect.expired-token-rejected",
            Level::Must,
            "An upgrade with the user's access token made to look expired is refused with HTTP 401",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "An invalid token → HTTP 401 on the upgrade",
            },
            ONE_USER,
            |ctx| Box::pin(expired_token_rejected(ctx)),
        ),
        case(
            "skapi.connect.forged-token-rejected",
            Level::Must,
            "An upgrade with a forged token (another user's id under the user's signature, or an unsigned token) is refused with HTTP 401",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "Identity comes from the token: `sub` = user id",
            },
            TWO_USERS,
            |ctx| Box::pin(forged_token_rejected(ctx)),
        ),
        case(
            "skapi.connect.access-token-opens",
            Level::Must,
            "A logged-in user's access token in `?token=` opens a realtime connection that stays open",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "Before you start sending realtime data, you must create a realtime connection.",
            },
            ONE_USER,
            |ctx| Box::pin(access_token_opens(ctx)),
        ),
        case(
            "skapi.connect.receives-once-established",
            Level::Must,
            "A connection receives realtime data as soon as its upgrade is answered: a private message sent right then reaches it",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "Once the connection is established, you can start receiving realtime data from the RealtimeCallback.",
            },
            TWO_USERS,
            |ctx| Box::pin(receives_once_established(ctx)),
        ),
        case(
            "skapi.connect.nothing-unprompted",
            Level::Should,
            "The server sends nothing on a new connection: `success` is made by the SDK, not sent",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "The seed's callback `type`s `success` and `close` are made by the SDK itself",
            },
            ONE_USER,
            |ctx| Box::pin(nothing_unprompted(ctx)),
        ),
        case(
            "skapi.connect.keepalive-unanswered",
            Level::Should,
            "keepAlive gets no reply and the connection stays open and in its group",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "{\"action\":\"keepAlive\"} // every 15 s; no reply",
            },
            ONE_USER,
            |ctx| Box::pin(keepalive_unanswered(ctx)),
        ),
    ]
}

/// Expects the upgrade of `request` to be refused with 401; `what` says what was wrong with it.
async fn expect_401(ctx: &Ctx, request: Request, what: &str) -> CaseResult {
    match ctx.open("anonymous", request).await {
        Ok(_) => fail!("the server accepted a WebSocket upgrade with {what}"),
        Err(ConnectError::Rejected { status: 401, .. }) => Ok(()),
        Err(e) => fail!("expected HTTP 401 for an upgrade with {what}, got: {e}"),
    }
}

async fn invalid_token_rejected(ctx: Ctx) -> CaseResult {
    let request = ctx.skapi().request("not-a-valid-token")?;
    expect_401(&ctx, request, "token `not-a-valid-token`").await
}

async fn missing_token_rejected(ctx: Ctx) -> CaseResult {
    let url = ctx.ws_url()?;
    expect_401(&ctx, Request::new(url.clone()), "no `token` parameter").await?;
    expect_401(
        &ctx,
        Request::new(url).query("token", ""),
        "an empty `token`",
    )
    .await
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

fn not_a_jwt(name: &str) -> CaseError {
    CaseError::skip(format!(
        "the access token of `{name}` is not a JWT, so the case cannot make a look-alike of it"
    ))
}

async fn expired_token_rejected(ctx: Ctx) -> CaseResult {
    let session = ctx.skapi().session("primary").await?;
    let now = now_seconds();
    let expired = support::rewrite_claims(&session.access_token, |claims| {
        claims.insert("exp".into(), json!(now - 3600));
        claims.insert("iat".into(), json!(now - 7200));
    })
    .ok_or_else(|| not_a_jwt(&session.name))?;
    ctx.note("the user's access token with `exp` an hour ago and its signature kept");
    let request = ctx.skapi().request(&expired)?;
    expect_401(
        &ctx,
        request,
        "an access token whose `exp` passed an hour ago",
    )
    .await
}

async fn forged_token_rejected(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let alice = skapi.session("primary").await?;
    let bob = skapi.session("secondary").await?;
    let impersonating = support::rewrite_claims(&alice.access_token, |claims| {
        claims.insert("sub".into(), json!(bob.user_id));
    })
    .ok_or_else(|| not_a_jwt(&alice.name))?;
    let request = skapi.request(&impersonating)?;
    expect_401(
        &ctx,
        request,
        &format!(
            "{}'s access token rewritten to name {} (`sub`) under {}'s signature",
            alice.label, bob.label, alice.label
        ),
    )
    .await?;
    let claims = alice
        .access_token
        .split('.')
        .nth(1)
        .ok_or_else(|| not_a_jwt(&alice.name))?;
    let unsigned_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{unsigned_header}.{claims}.");
    let request = skapi.request(&unsigned)?;
    expect_401(
        &ctx,
        request,
        &format!(
            "{}'s claims in an unsigned token (`alg: none`)",
            alice.label
        ),
    )
    .await
}

/// Never matches: waiting "for silence of" it only checks that the connection stays open.
fn nothing() -> Pattern {
    Pattern::when("nothing (only that the connection stays open)", |_| false)
}

fn stays_open(conn: &Conn) -> String {
    format!("{} did not stay open", conn.label())
}

async fn access_token_opens(ctx: Ctx) -> CaseResult {
    let mut alice = ctx.skapi().connect("primary").await?;
    ensure!(
        alice.handshake().status == 101,
        "the upgrade answered {}, not 101",
        alice.handshake().status
    );
    let context = stays_open(&alice);
    alice
        .expect_silence_of(nothing(), ctx.silence())
        .await
        .map_err(|e| e.context(context))
}

/// How many fresh connections the case tries: a server that finishes setting up a connection after answering
/// the upgrade loses a message only when the message wins the race, so one attempt may not show it.
const FRESH_CONNECTIONS: usize = 20;

async fn receives_once_established(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let mut alice = skapi.connect("primary").await?;
    support::settle(&ctx, &mut alice).await?;
    let mut earlier = Vec::new();
    for attempt in 1..=FRESH_CONNECTIONS {
        let mut bob = skapi.connect("secondary").await?;
        let content = support::marker(&ctx);
        alice
            .send_private(&bob.session.user_id, content.clone())
            .await?;
        let context = format!(
            "attempt {attempt} of {FRESH_CONNECTIONS}: {} sent a private message to {} as soon as {}'s upgrade was answered",
            alice.label(),
            bob.session.label,
            bob.label()
        );
        bob.expect(support::private(&content), ctx.wait())
            .await
            .map_err(|e| e.context(&context))?;
        earlier.push(bob);
    }
    Ok(())
}

async fn nothing_unprompted(ctx: Ctx) -> CaseResult {
    let mut alice = ctx.skapi().connect("primary").await?;
    alice.expect_silence(ctx.silence()).await
}

async fn keepalive_unanswered(ctx: Ctx) -> CaseResult {
    let mut alice = ctx.skapi().connect("primary").await?;
    let group = ctx.unique("group");
    support::join(&ctx, &mut alice, &group).await?;
    for _ in 0..3 {
        alice.keep_alive().await?;
    }
    alice
        .expect_silence(ctx.silence())
        .await
        .map_err(|e| e.context("after three keepAlive frames"))?;
    support::still_member(&ctx, &mut alice, &group).await
}
