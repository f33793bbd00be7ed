//! Engine.IO v4: the open packet, the server's heartbeat, client packets that end the transport, refused
//! handshakes, and long-polling.

use std::time::{Duration, Instant};

use crate::case::{sources, Case, CaseError, CaseResult, Level, Need, Reference};
use crate::client::connect::Request;
use crate::client::sio::{EngineType, SocketType};
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::{ensure, fail};

use super::support::{
    check_transport_error, expect_closed_by, fits_in_case, scenario, socket_kind,
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "gamevault.engineio.open-packet-keys",
            Level::Must,
            "The first frame is the Engine.IO open packet with sid, upgrades, pingInterval, pingTimeout and maxPayload",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "All five keys are required (the client throws without `upgrades`).",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(open_packet_keys(ctx)),
        ),
        scenario(
            "gamevault.engineio.heartbeat-ping",
            Level::Must,
            "The server pings (`2`) every pingInterval and keeps a session that answers (`3`) open",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Heartbeat: the **server** sends `2` every pingInterval; client answers `3` within pingTimeout or is closed.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(heartbeat_ping(ctx)),
        ),
        scenario(
            "gamevault.engineio.ping-timeout-close",
            Level::Must,
            "A session that does not answer a ping within pingTimeout is closed",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Heartbeat: the **server** sends `2` every pingInterval; client answers `3` within pingTimeout or is closed.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(ping_timeout_close(ctx)),
        ),
        scenario(
            "gamevault.engineio.client-ping-closes",
            Level::Must,
            "A ping (`2`) from the client is a protocol error and closes the connection",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "A client `2` is a protocol error → close.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(client_ping_closes(ctx)),
        ),
        scenario(
            "gamevault.engineio.client-close-packet",
            Level::Should,
            "An Engine.IO close packet (`1`) from the client closes the transport",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "`1` from the client closes the transport (the Node server ignores it over websocket; closing is conformant).",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(client_close_packet(ctx)),
        ),
        scenario(
            "gamevault.engineio.unsupported-version",
            Level::Should,
            "A handshake with a missing or other EIO version is refused with HTTP 400 {\"code\":5,\"message\":\"Unsupported protocol version\"}",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Missing/invalid `EIO` or `transport` → HTTP 400 (`{\"code\":5,\"message\":\"Unsupported protocol version\"}`",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(unsupported_version(ctx)),
        ),
        scenario(
            "gamevault.engineio.unknown-transport",
            Level::Should,
            "A handshake with a missing or unknown transport is refused with HTTP 400 {\"code\":0,\"message\":\"Transport unknown\"}",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "`{\"code\":0,\"message\":\"Transport unknown\"}`",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(unknown_transport(ctx)),
        ),
        scenario(
            "gamevault.transport.polling-session",
            Level::May,
            "Engine.IO long-polling opens a session that offers the websocket upgrade and accepts a CONNECT",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Implementing polling too makes the default client work (the real server has both).",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(polling_session(ctx)),
        ),
    ]
}

async fn open_packet_keys(ctx: Ctx) -> CaseResult {
    // The connector requires the open packet as the very first frame and fails, naming the key, when one of the
    // five is missing or mistyped; the open schema judges their values.
    let conn = ctx.gamevault().open_engine("primary").await?;
    ensure!(!conn.open.sid.is_empty(), "the open packet's sid is empty");
    ensure!(
        conn.open.ping_interval_ms > 0 && conn.open.ping_timeout_ms > 0,
        "pingInterval and pingTimeout must be positive: {:?}",
        conn.open
    );
    Ok(())
}

async fn heartbeat_ping(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.gamevault().open_engine("primary").await?;
    conn.set_auto_pong(false);
    let interval = Duration::from_millis(conn.open.ping_interval_ms);
    fits_in_case(&ctx, 2 * (interval + ctx.wait()), "two heartbeat rounds")?;
    for round in 1..=2 {
        conn.expect(Pattern::engine(EngineType::Ping), interval + ctx.wait())
            .await
            .map_err(|e| e.context(format!("heartbeat round {round}")))?;
        conn.send_text_raw("3").await?;
    }
    ensure!(
        conn.closed().is_none(),
        "the session was closed although every ping was answered"
    );
    Ok(())
}

async fn ping_timeout_close(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.gamevault().open_engine("primary").await?;
    conn.set_auto_pong(false);
    let interval = Duration::from_millis(conn.open.ping_interval_ms);
    let timeout = Duration::from_millis(conn.open.ping_timeout_ms);
    fits_in_case(
        &ctx,
        interval + timeout + 2 * ctx.wait(),
        "a ping and its timeout",
    )?;
    conn.expect(Pattern::engine(EngineType::Ping), interval + ctx.wait())
        .await
        .map_err(|e| e.context("waiting for the first ping"))?;
    conn.note("the ping is deliberately left unanswered");
    conn.expect_close(timeout + ctx.wait()).await.map_err(|e| {
        e.context(format!(
            "the ping was not answered (pingTimeout {timeout:?})"
        ))
    })?;
    Ok(())
}

async fn client_ping_closes(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.gamevault().connect("primary").await?;
    expect_closed_by(&ctx, &mut conn, "2").await
}

async fn client_close_packet(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.gamevault().connect("primary").await?;
    expect_closed_by(&ctx, &mut conn, "1").await
}

async fn unsupported_version(ctx: Ctx) -> CaseResult {
    for (query, what) in [
        ("EIO=3&transport=websocket", "the handshake with EIO=3"),
        ("transport=websocket", "the handshake without EIO"),
    ] {
        refused_with(&ctx, query, 5, what).await?;
    }
    Ok(())
}

async fn unknown_transport(ctx: Ctx) -> CaseResult {
    let transport = ctx.unique("carrier");
    refused_with(
        &ctx,
        &format!("EIO=4&transport={transport}"),
        0,
        &format!("the handshake with transport={transport}"),
    )
    .await?;
    refused_with(&ctx, "EIO=4", 0, "the handshake without transport").await
}

/// Upgrades with `query` instead of the connector's, the secret included, and requires HTTP 400 with the
/// Engine.IO error `code`.
async fn refused_with(ctx: &Ctx, query: &str, code: u64, what: &str) -> CaseResult {
    let gamevault = ctx.gamevault();
    let (authenticated, who) = gamevault.request_for("primary").await?;
    let url = ctx.ws_url()?;
    let base = url.split('?').next().unwrap_or(&url);
    let request = Request {
        url: format!("{base}?{query}"),
        ..authenticated
    };
    match gamevault.open(&who, request).await? {
        Ok(_) => fail!("{what} was accepted (HTTP 101), not refused with 400"),
        Err(e) => check_transport_error(ctx, &e, code, what),
    }
}

async fn polling_session(ctx: Ctx) -> CaseResult {
    let polling = match ctx.gamevault().open_polling(Some("primary")).await? {
        Ok(polling) => polling,
        // schemas/gamevault/NOTES.md GV-TRANSPORTS: a WebSocket-only server answers 400 `Transport unknown`.
        Err(e) if e.status() == Some(400) => {
            return Err(CaseError::unsupported(format!(
                "the server offers no long-polling: {e}"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    ensure!(
        polling.open.upgrades.iter().any(|u| u == "websocket"),
        "the polling open packet offers upgrades {:?}, without `websocket`",
        polling.open.upgrades
    );
    polling.send(&["40"], ctx.wait()).await?;
    let deadline = Instant::now() + ctx.wait();
    while Instant::now() < deadline {
        let frames = polling.poll(ctx.wait()).await?;
        if let Some(frame) = frames
            .iter()
            .find(|f| socket_kind(f) == Some(SocketType::Connect))
        {
            ensure!(
                frame.str("/sid").is_some(),
                "the CONNECT answer carries no sid: {frame}"
            );
            return Ok(());
        }
    }
    fail!(
        "no CONNECT answer reached the polling session within {:?}",
        ctx.wait()
    )
}
