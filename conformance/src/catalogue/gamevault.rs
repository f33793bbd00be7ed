//! gamevault cases: GameVault activities over Socket.IO.

use std::time::Duration;

use serde_json::json;

use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::sio::{EngineType, SocketType};
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::{ensure, fail};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "gamevault.engineio.open-packet-keys",
            profile: Profile::Gamevault,
            level: Level::Must,
            title: "The Engine.IO open packet carries sid, upgrades, pingInterval, pingTimeout and maxPayload",
            reference: Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "All five keys are required (the client throws without `upgrades`).",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(open_packet_keys(ctx)),
        },
        Case {
            id: "gamevault.handshake.secret-required",
            profile: Profile::Gamevault,
            level: Level::Must,
            title: "A Socket.IO handshake without the socket secret is refused",
            reference: Reference {
                source: sources::GAMEVAULT_SEED,
                quote: "This secret must be included in the headers (X-Socket-Secret) of every subsequent Socket.IO Handshake request to the server.",
            },
            kind: Kind::Scenario,
            requires: &[],
            run: |ctx| Box::pin(secret_required(ctx)),
        },
        Case {
            id: "gamevault.activity.broadcast-to-all",
            profile: Profile::Gamevault,
            level: Level::Must,
            title: "A reported activity is broadcast to every connected user, the reporter included",
            reference: Reference {
                source: sources::GAMEVAULT_SEED,
                quote: "Once a user reports his activity, it will propagate to all other users.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Credential("secondary")],
            run: |ctx| Box::pin(broadcast_to_all(ctx)),
        },
        Case {
            id: "gamevault.engineio.heartbeat-ping",
            profile: Profile::Gamevault,
            level: Level::Must,
            title: "The server pings (`2`) every pingInterval and keeps a session that answers (`3`) open",
            reference: Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Heartbeat: the **server** sends `2` every pingInterval; client answers `3` within pingTimeout or is closed.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(heartbeat_ping(ctx)),
        },
        Case {
            id: "gamevault.engineio.ping-timeout-close",
            profile: Profile::Gamevault,
            level: Level::Must,
            title: "A session that does not answer a ping within pingTimeout is closed",
            reference: Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Heartbeat: the **server** sends `2` every pingInterval; client answers `3` within pingTimeout or is closed.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(ping_timeout_close(ctx)),
        },
        Case {
            id: "gamevault.transport.polling-session",
            profile: Profile::Gamevault,
            level: Level::May,
            title: "Engine.IO long-polling opens a session that offers the websocket upgrade and accepts a CONNECT",
            reference: Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Implementing polling too makes the default client work (the real server has both).",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(polling_session(ctx)),
        },
    ]
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
    let deadline = std::time::Instant::now() + ctx.wait();
    while std::time::Instant::now() < deadline {
        let frames = polling.poll(ctx.wait()).await?;
        if let Some(frame) = frames.iter().find(|f| {
            f.packet
                .as_ref()
                .and_then(|p| p.socket.as_ref())
                .map(|s| s.kind)
                == Some(SocketType::Connect)
        }) {
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

async fn heartbeat_ping(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.gamevault().open_engine("primary").await?;
    conn.set_auto_pong(false);
    let interval = Duration::from_millis(conn.open.ping_interval_ms);
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
    let limit = Duration::from_millis(conn.open.ping_interval_ms + conn.open.ping_timeout_ms);
    conn.expect_close(limit + ctx.wait())
        .await
        .map_err(|e| e.context("no pong was sent"))?;
    Ok(())
}

async fn open_packet_keys(ctx: Ctx) -> CaseResult {
    // The connector parses the open packet and fails, naming the key, when one of the five is missing.
    let conn = ctx.gamevault().open_engine("primary").await?;
    ensure!(!conn.open.sid.is_empty(), "the open packet's sid is empty");
    ensure!(
        conn.open.ping_interval_ms > 0 && conn.open.ping_timeout_ms > 0,
        "pingInterval and pingTimeout must be positive: {:?}",
        conn.open
    );
    Ok(())
}

async fn secret_required(ctx: Ctx) -> CaseResult {
    let gamevault = ctx.gamevault();
    let opened = gamevault.open("anonymous", gamevault.request()?).await?;
    let mut conn = match opened {
        // Refusing before the upgrade is one of the two readings (protocols/gamevault.md).
        Err(e) if matches!(e.status(), Some(401 | 403)) => return Ok(()),
        Err(e) => return Err(e.into()),
        Ok(conn) => conn,
    };
    let reply = conn.connect_namespace(None, ctx.wait()).await?;
    let kind = reply
        .packet
        .as_ref()
        .and_then(|p| p.socket.as_ref())
        .map(|s| s.kind);
    if kind != Some(SocketType::ConnectError) {
        fail!(
            "a handshake without {} was answered {reply}, not CONNECT_ERROR",
            gamevault.secret_header()?
        );
    }
    Ok(())
}

async fn broadcast_to_all(ctx: Ctx) -> CaseResult {
    let gamevault = ctx.gamevault();
    let mut alice = gamevault.connect("primary").await?;
    let mut bob = gamevault.connect("secondary").await?;
    let game_id = ctx.with_rng(|rng| rand::Rng::random_range(rng, 1..10_000));
    alice
        .emit(
            "set-activity",
            &[json!({"state": "PLAYING", "game_id": game_id})],
        )
        .await?;
    let alice_sid = alice.sid.clone();
    for conn in [&mut alice, &mut bob] {
        let frame = loop {
            let frame = conn.expect_event("activity", ctx.wait()).await?;
            // Another user's earlier activity may arrive first; this one is the reporter's.
            if frame.event_args().first().and_then(|a| a.get("game_id")) == Some(&json!(game_id)) {
                break frame;
            }
        };
        let activity = frame.event_args().first().cloned().unwrap_or_default();
        ensure!(
            activity.get("state") == Some(&json!("PLAYING")),
            "{} received activity {activity}, expected state PLAYING",
            conn.label()
        );
        if let Some(sid) = &alice_sid {
            ensure!(
                activity.get("socket_id").and_then(|s| s.as_str()) == Some(sid.as_str()),
                "{} received activity {activity}, whose socket_id is not the reporter's socket {sid}",
                conn.label()
            );
        }
    }
    Ok(())
}
