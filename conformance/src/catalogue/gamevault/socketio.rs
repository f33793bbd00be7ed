//! Socket.IO v5 inside Engine.IO messages: CONNECT and its answers, the connect timeout, packets that are
//! protocol errors, events with ack ids, and DISCONNECT.

use std::time::Instant;

use serde_json::json;

use crate::case::{sources, Case, CaseResult, Level, Need, Reference};
use crate::client::sio::SocketType;
use crate::client::{Frame, Pattern};
use crate::ctx::Ctx;
use crate::{ensure, fail};

use super::session::Session;
use super::support::{
    activity_with_game, either, expect_closed_by, fits_in_case, game_id, namespace, scenario,
    socket_kind,
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "gamevault.socketio.connect-sid",
            Level::Must,
            "CONNECT (`40`) is answered `40{\"sid\"}` with a Socket.IO sid distinct from the Engine.IO sid",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "The Engine.IO sid and the Socket.IO sid are distinct 20-char ids; GameVault's `socket_id` is the Socket.IO sid.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(connect_sid(ctx)),
        ),
        scenario(
            "gamevault.socketio.connect-auth-payload",
            Level::Must,
            "CONNECT with an auth object (`40{\"token\":…}`) is answered `40{\"sid\"}` like a bare `40`",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Client `40` or `40{\"token\":\"…\"}` (auth payload, an object) → server `40{\"sid\":\"<socket id>\"}` (`sid` required).",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(connect_auth_payload(ctx)),
        ),
        scenario(
            "gamevault.socketio.invalid-namespace",
            Level::Must,
            "CONNECT to a namespace other than `/` is answered CONNECT_ERROR \"Invalid namespace\" for that namespace, and the transport stays usable",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Other namespace → `44/admin,{\"message\":\"Invalid namespace\"}` [run].",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(invalid_namespace(ctx)),
        ),
        scenario(
            "gamevault.socketio.connect-timeout",
            Level::Must,
            "A session that sends no CONNECT within connectTimeout is closed",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "No CONNECT within connectTimeout (45000 ms by default) → close.",
            },
            &[Need::Credential("primary"), Need::Parameter("connect_timeout")],
            |ctx| Box::pin(connect_timeout(ctx)),
        ),
        scenario(
            "gamevault.socketio.event-before-connect",
            Level::Must,
            "An event sent before CONNECT closes the connection",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "A second `40`, or an event before `40` → close.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(event_before_connect(ctx)),
        ),
        scenario(
            "gamevault.socketio.second-connect",
            Level::Must,
            "A second CONNECT to `/` on a connected socket closes the connection",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "A second `40`, or an event before `40` → close.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(second_connect(ctx)),
        ),
        scenario(
            "gamevault.socketio.invalid-packet-type",
            Level::Must,
            "A Socket.IO packet with an invalid type (`4abc`, `49`) closes the connection",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Invalid packet type (`4abc`), `42{}` → close.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(invalid_packet_type(ctx)),
        ),
        scenario(
            "gamevault.socketio.malformed-event",
            Level::Must,
            "An event whose payload is not a non-empty array starting with a string name (`42{}`, `42\"x\"`, `42[]`, `42[1]`, a non-numeric ack id) closes the connection",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Event `42[\"name\",args…]` — payload must be a non-empty array whose first element is a string name; else close.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(malformed_event(ctx)),
        ),
        scenario(
            "gamevault.socketio.event-with-ack-id",
            Level::Must,
            "An event carrying an ack id (`42<id>[…]`) is handled like the same event without one; an ACK, if any, names that id",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "No acks are sent for these events by the real server; replies to different messages may be reordered there.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(event_with_ack_id(ctx)),
        ),
        scenario(
            "gamevault.socketio.disconnect",
            Level::Must,
            "DISCONNECT (`41`) takes the socket out of `/` without a reply: no activity reaches it afterwards",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "`41` disconnects the namespace; no reply.",
            },
            &[Need::Credential("primary"), Need::Credential("secondary")],
            |ctx| Box::pin(disconnect(ctx)),
        ),
    ]
}

async fn connect_sid(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.gamevault().open_engine("primary").await?;
    let reply = conn.connect_namespace(None, ctx.wait()).await?;
    ensure!(
        socket_kind(&reply) == Some(SocketType::Connect),
        "CONNECT to / was answered {reply}, not `40{{\"sid\":…}}`"
    );
    let Some(sid) = reply.str("/sid") else {
        fail!("the CONNECT answer {reply} carries no sid");
    };
    ensure!(
        sid != conn.open.sid,
        "the Socket.IO sid {sid} is the Engine.IO sid of the open packet; they must differ"
    );
    Ok(())
}

async fn connect_auth_payload(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.gamevault().open_engine("primary").await?;
    let token = ctx.unique("token");
    let reply = conn
        .connect_namespace(Some(json!({ "token": token })), ctx.wait())
        .await?;
    ensure!(
        socket_kind(&reply) == Some(SocketType::Connect) && reply.str("/sid").is_some(),
        "CONNECT with an auth object was answered {reply}, not `40{{\"sid\":…}}`"
    );
    Ok(())
}

async fn invalid_namespace(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.gamevault().open_engine("primary").await?;
    let nsp = format!("/{}", ctx.unique("nsp"));
    conn.send_packet(&format!("40{nsp},")).await?;
    let reply = conn
        .expect(
            either(
                Pattern::socket(SocketType::Connect),
                Pattern::socket(SocketType::ConnectError),
            ),
            ctx.wait(),
        )
        .await
        .map_err(|e| e.context(format!("after CONNECT to {nsp}")))?;
    ensure!(
        socket_kind(&reply) == Some(SocketType::ConnectError),
        "CONNECT to namespace {nsp} was answered {reply}, not CONNECT_ERROR"
    );
    ensure!(
        namespace(&reply) == Some(nsp.as_str()),
        "the CONNECT_ERROR {reply} names namespace {:?}, not {nsp}",
        namespace(&reply)
    );
    ensure!(
        reply.str("/message") == Some("Invalid namespace"),
        "the CONNECT_ERROR for {nsp} says {:?}, not \"Invalid namespace\"",
        reply.str("/message")
    );
    let main = conn
        .connect_namespace(None, ctx.wait())
        .await
        .map_err(|e| e.context("CONNECT to / after the refused namespace"))?;
    ensure!(
        socket_kind(&main) == Some(SocketType::Connect),
        "after the refused namespace, CONNECT to / was answered {main}, not `40{{\"sid\":…}}`"
    );
    Ok(())
}

async fn connect_timeout(ctx: Ctx) -> CaseResult {
    let limit = ctx.parameter_duration("connect_timeout")?;
    fits_in_case(&ctx, limit + ctx.wait(), "the connect timeout")?;
    let mut conn = ctx.gamevault().open_engine("primary").await?;
    conn.note(format!(
        "no CONNECT is sent; the target's connectTimeout is {limit:?}"
    ));
    conn.expect_close(limit + ctx.wait())
        .await
        .map_err(|e| e.context("no CONNECT was sent"))?;
    Ok(())
}

async fn event_before_connect(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.gamevault().open_engine("primary").await?;
    expect_closed_by(&ctx, &mut conn, r#"42["get-activities"]"#).await
}

async fn second_connect(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.gamevault().connect("primary").await?;
    expect_closed_by(&ctx, &mut conn, "40").await
}

async fn invalid_packet_type(ctx: Ctx) -> CaseResult {
    for packet in ["4abc", r#"49["get-activities"]"#] {
        let mut conn = ctx.gamevault().connect("primary").await?;
        expect_closed_by(&ctx, &mut conn, packet).await?;
    }
    Ok(())
}

async fn malformed_event(ctx: Ctx) -> CaseResult {
    for packet in [
        "42{}",
        r#"42"set-activity""#,
        "42[]",
        "42[1]",
        r#"42abc["get-activities"]"#,
    ] {
        let mut conn = ctx.gamevault().connect("primary").await?;
        expect_closed_by(&ctx, &mut conn, packet).await?;
    }
    Ok(())
}

async fn event_with_ack_id(ctx: Ctx) -> CaseResult {
    let mut session = Session::open(&ctx, "primary").await?;
    let ack_id = ctx.with_rng(|rng| rand::Rng::random_range(rng, 1..1_000_000u64));
    session
        .conn
        .emit_with_ack(ack_id, "get-activities", &[])
        .await?;
    handled(&ctx, &mut session, ack_id, || Pattern::event("activities"))
        .await
        .map_err(|e| e.context(format!("get-activities with ack id {ack_id}")))?;
    let game = game_id(&ctx);
    let ack_id = ack_id + 1;
    session
        .conn
        .emit_with_ack(
            ack_id,
            "set-activity",
            &[json!({"state": "PLAYING", "game_id": game})],
        )
        .await?;
    handled(&ctx, &mut session, ack_id, || activity_with_game(game))
        .await
        .map_err(|e| e.context(format!("set-activity with ack id {ack_id}")))
}

/// Waits for the frame `answer` describes; an ACK arriving on the way must name `ack_id`.
async fn handled(
    ctx: &Ctx,
    session: &mut Session,
    ack_id: u64,
    answer: impl Fn() -> Pattern,
) -> CaseResult {
    let deadline = Instant::now() + ctx.wait();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = session
            .conn
            .expect(either(answer(), Pattern::socket(SocketType::Ack)), left)
            .await?;
        let Some(socket) = frame.packet.as_ref().and_then(|p| p.socket.as_ref()) else {
            return Ok(());
        };
        if socket.kind != SocketType::Ack {
            return Ok(());
        }
        ensure!(
            socket.ack_id == Some(ack_id),
            "the ACK {frame} names id {:?}, the event asked with {ack_id}",
            socket.ack_id
        );
    }
}

async fn disconnect(ctx: Ctx) -> CaseResult {
    let mut alice = Session::open(&ctx, "primary").await?;
    let mut bob = Session::open(&ctx, "secondary").await?;
    alice.conn.send_packet("41").await?;
    // Listening for a reply first also lets the server take the DISCONNECT in before bob reports.
    alice
        .conn
        .expect_silence_of(any_socket_packet(), ctx.silence())
        .await
        .map_err(|e| e.context("DISCONNECT (41) has no reply"))?;
    let game = game_id(&ctx);
    bob.set_activity(&ctx, json!({"state": "PLAYING", "game_id": game}))
        .await?;
    alice
        .conn
        .expect_silence_of(activity_with_game(game), ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "after DISCONNECT (41), {} reported game {game}",
                bob.conn.label()
            ))
        })?;
    Ok(())
}

fn any_socket_packet() -> Pattern {
    Pattern::when("any Socket.IO packet", |f: &Frame| socket_kind(f).is_some())
}
