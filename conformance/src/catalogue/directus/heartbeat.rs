//! The application-level heartbeat: server pings, client pings and pongs, and closing silent clients.

use rand::Rng;
use serde_json::json;

use super::support::{ensure_usable, next_reply, not_heartbeat, require_time};
use crate::case::{sources, Case, CaseResult, Kind, Level, Need, Reference};
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::{ensure, fail};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "directus.heartbeat.server-ping",
            profile: Profile::Directus,
            level: Level::Should,
            title: "The server sends {\"type\":\"ping\"} to an authenticated socket within the heartbeat period",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "Server sends `{\"type\":\"ping\"}` every period (30 s default) to authenticated sockets",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Parameter("heartbeat")],
            run: |ctx| Box::pin(server_ping(ctx)),
        },
        Case {
            id: "directus.heartbeat.silent-client-closed",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A socket that sends nothing in the period after a server ping is closed",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "a client that sends no valid message within the next period is closed",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Parameter("heartbeat")],
            run: |ctx| Box::pin(silent_client_closed(ctx)),
        },
        Case {
            id: "directus.heartbeat.answered-stays-open",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A socket that answers each server ping, by a pong or by any other message, stays open",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "Any message counts; `{\"type\":\"pong\"}` gets no reply.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Parameter("heartbeat")],
            run: |ctx| Box::pin(answered_stays_open(ctx)),
        },
        Case {
            id: "directus.heartbeat.client-ping-pong",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A client ping is answered by a pong carrying the ping's uid with its JSON type, or none when it had none",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "Client `{\"type\":\"ping\",\"uid\":…}` → `{\"type\":\"pong\",\"uid\":…}` (uid echoed with its JSON type)",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(client_ping_pong(ctx)),
        },
        Case {
            id: "directus.heartbeat.pong-not-answered",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A client pong gets no reply and the socket stays usable",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "`{\"type\":\"pong\"}` gets no reply",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(pong_not_answered(ctx)),
        },
    ]
}

async fn server_ping(ctx: Ctx) -> CaseResult {
    let period = ctx.parameter_duration("heartbeat")?;
    require_time(&ctx, period, "waiting for a server ping")?;
    let mut conn = ctx.directus().connect("primary").await?;
    let ping = conn
        .expect(json!({"type": "ping"}), period + ctx.wait())
        .await
        .map_err(|e| e.context("waiting one heartbeat period for the server's ping"))?;
    ensure!(
        ping.get("/uid").is_none(),
        "the server's heartbeat ping carries a uid; a uid belongs to client requests: {ping}"
    );
    Ok(())
}

async fn silent_client_closed(ctx: Ctx) -> CaseResult {
    let period = ctx.parameter_duration("heartbeat")?;
    require_time(&ctx, period * 2 + ctx.wait(), "a silent heartbeat")?;
    let mut conn = ctx.directus().connect("primary").await?;
    conn.expect(json!({"type": "ping"}), period + ctx.wait())
        .await
        .map_err(|e| e.context("waiting for the server's ping"))?;
    conn.note("not answering the ping");
    conn.expect_close(period + ctx.wait())
        .await
        .map_err(|e| e.context("after a ping left unanswered for a whole period"))?;
    Ok(())
}

async fn answered_stays_open(ctx: Ctx) -> CaseResult {
    let period = ctx.parameter_duration("heartbeat")?;
    require_time(&ctx, period * 3 + ctx.wait() * 2, "three heartbeat periods")?;
    let mut conn = ctx.directus().connect("primary").await?;
    conn.expect(json!({"type": "ping"}), period + ctx.wait())
        .await
        .map_err(|e| e.context("waiting for the first ping"))?;
    conn.send_json(&json!({"type": "pong"})).await?;
    conn.expect(json!({"type": "ping"}), period + ctx.wait())
        .await
        .map_err(|e| e.context("waiting for the ping after the one answered by a pong"))?;
    let uid = ctx.unique("answer");
    conn.send_json(&json!({"type": "ping", "uid": uid})).await?;
    conn.expect(json!({"type": "pong", "uid": uid}), ctx.wait())
        .await?;
    conn.expect(json!({"type": "ping"}), period + ctx.wait())
        .await
        .map_err(|e| {
            e.context(
                "waiting for the ping after the one answered by a client ping (any message counts)",
            )
        })?;
    ensure_usable(
        &ctx,
        &mut conn,
        "three heartbeat periods, each ping answered",
    )
    .await
}

async fn client_ping_pong(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.directus().connect("primary").await?;
    let text_uid = ctx.unique("ping");
    conn.send_json(&json!({"type": "ping", "uid": text_uid}))
        .await?;
    let pong = next_reply(&ctx, &mut conn).await?;
    ensure!(
        pong.str("/type") == Some("pong") && pong.get("/uid") == Some(&json!(text_uid)),
        "a ping with uid {text_uid:?} expected {{\"type\":\"pong\",\"uid\":{text_uid:?}}}, got {pong}"
    );
    let number_uid = ctx.with_rng(|rng| rng.random_range(1..1_000_000_000u64));
    conn.send_json(&json!({"type": "ping", "uid": number_uid}))
        .await?;
    let pong = next_reply(&ctx, &mut conn).await?;
    ensure!(
        pong.str("/type") == Some("pong") && pong.get("/uid") == Some(&json!(number_uid)),
        "a ping with the numeric uid {number_uid} expected {{\"type\":\"pong\",\"uid\":{number_uid}}} (a number), got {pong}"
    );
    conn.send_json(&json!({"type": "ping"})).await?;
    let pong = next_reply(&ctx, &mut conn).await?;
    match (pong.str("/type"), pong.get("/uid")) {
        (Some("pong"), None) => Ok(()),
        (Some("pong"), Some(uid)) => {
            fail!("a ping without uid was answered with uid {uid}: {pong}")
        }
        _ => fail!("a ping without uid expected {{\"type\":\"pong\"}}, got {pong}"),
    }
}

async fn pong_not_answered(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.directus().connect("primary").await?;
    conn.send_json(&json!({"type": "pong"})).await?;
    conn.expect_silence_of(not_heartbeat(), ctx.silence())
        .await
        .map_err(|e| e.context("a client pong must get no reply"))?;
    ensure_usable(&ctx, &mut conn, "a client pong").await
}
