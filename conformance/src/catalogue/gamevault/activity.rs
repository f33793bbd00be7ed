//! Activities on `/`: the list a new socket gets, `set-activity` broadcast to everyone, `get-activities`, one
//! activity per user, `game_id`, refused payloads, and what happens when a user's sockets go.

use serde_json::{json, Value};

use crate::case::{sources, Case, CaseError, CaseResult, Level, Need, Reference};
use crate::client::sio::SocketType;
use crate::client::{Frame, Pattern};
use crate::ctx::Ctx;
use crate::{ensure, fail};

use super::session::{activity_list, entries_of, same_id, Session};
use super::support::{
    activity_of_socket, activity_where, activity_with_game, either, first_arg, game_id, scenario,
    socket_kind,
};

const ALICE_BOB: &[Need] = &[Need::Credential("primary"), Need::Credential("secondary")];

/// The note's reading on refused payloads.
const VALIDATION: &str = "The reference server validates against the schema and answers an `exception` with a clear message; the connection stays open.";

/// The note's reading on a user's last socket.
const OFFLINE_READING: &str = "the reference server should broadcast an OFFLINE activity (or the removal) when a user's last socket goes.";

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "gamevault.activity.broadcast-to-all",
            Level::Must,
            "A reported activity is broadcast once to every connected user, the reporter included, with the reporter's socket_id",
            Reference {
                source: sources::GAMEVAULT_SEED,
                quote: "Once a user reports his activity, it will propagate to all other users.",
            },
            ALICE_BOB,
            |ctx| Box::pin(broadcast_to_all(ctx)),
        ),
        scenario(
            "gamevault.activity.reported-states",
            Level::Must,
            "Each activity a user can report (online, playing a game, busy) reaches the other users with that state",
            Reference {
                source: sources::GAMEVAULT_SEED,
                quote: "User 3 is playing Mindustry.",
            },
            ALICE_BOB,
            |ctx| Box::pin(reported_states(ctx)),
        ),
        scenario(
            "gamevault.activity.server-sets-ids",
            Level::Must,
            "user_id and socket_id of an activity are the server's: a client claiming another user's ids cannot spoof them",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "`user_id` and `socket_id` are set by the server (a client cannot spoof them).",
            },
            ALICE_BOB,
            |ctx| Box::pin(server_sets_ids(ctx)),
        ),
        scenario(
            "gamevault.activity.unreported-user-offline",
            Level::Must,
            "A connected user who reports no activity is shown as offline: absent from the list, or OFFLINE",
            Reference {
                source: sources::GAMEVAULT_SEED,
                quote: "If they don't, the server will display them as offline by default.",
            },
            ALICE_BOB,
            |ctx| Box::pin(unreported_user_offline(ctx)),
        ),
        scenario(
            "gamevault.activity.list-on-connect",
            Level::Should,
            "Right after `40{\"sid\"}` a new socket receives `activities`, listing the activities already reported",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Sent to the new socket right after `40{\"sid\"}`, and to the requester in reply to `get-activities`.",
            },
            ALICE_BOB,
            |ctx| Box::pin(list_on_connect(ctx)),
        ),
        scenario(
            "gamevault.activity.get-activities",
            Level::Should,
            "`get-activities` is answered, to the requester only, with `activities` listing the current activities",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Sent to the new socket right after `40{\"sid\"}`, and to the requester in reply to `get-activities`.",
            },
            ALICE_BOB,
            |ctx| Box::pin(get_activities(ctx)),
        ),
        scenario(
            "gamevault.activity.one-per-user",
            Level::Should,
            "A user has one activity: the last report from any of the user's sockets replaces the previous one",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "One activity per user, in memory; only users who set one are listed.",
            },
            ALICE_BOB,
            |ctx| Box::pin(one_per_user(ctx)),
        ),
        scenario(
            "gamevault.activity.game-id-only-playing",
            Level::Should,
            "game_id is kept for PLAYING and dropped for the other states",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "`game_id` kept only for PLAYING.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(game_id_only_playing(ctx)),
        ),
        scenario(
            "gamevault.activity.malformed-payload",
            Level::Should,
            "`set-activity` without an activity object is answered `exception`; nothing is stored and the socket stays usable",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: VALIDATION,
            },
            ALICE_BOB,
            |ctx| Box::pin(malformed_payload(ctx)),
        ),
        scenario(
            "gamevault.activity.invalid-activity",
            Level::Should,
            "`set-activity` with OFFLINE, no or an unknown state, PLAYING without a game or unknown keys is answered `exception`; nothing is stored and the socket stays usable",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: VALIDATION,
            },
            ALICE_BOB,
            |ctx| Box::pin(invalid_activity(ctx)),
        ),
        scenario(
            "gamevault.activity.offline-when-last-socket-goes",
            Level::Should,
            "When a user's last socket goes, every other socket receives that user's OFFLINE activity and the list drops the user",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: OFFLINE_READING,
            },
            ALICE_BOB,
            |ctx| Box::pin(offline_when_last_socket_goes(ctx)),
        ),
        scenario(
            "gamevault.activity.other-socket-keeps-activity",
            Level::Should,
            "When one of a user's two sockets goes, the user does not go offline and keeps the current activity",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: OFFLINE_READING,
            },
            ALICE_BOB,
            |ctx| Box::pin(other_socket_keeps_activity(ctx)),
        ),
    ]
}

/// The user id of credential set `credential`: its `user_id` field, or the `login` actuator's output; skips
/// the case when the target gives neither.
async fn known_user_id(ctx: &Ctx, credential: &str) -> Result<Value, CaseError> {
    let set = if ctx.has_actuator("login") {
        ctx.login(credential, &["user_id"]).await?
    } else {
        ctx.credential(credential).await?
    };
    set.fields.get("user_id").cloned().ok_or_else(|| {
        CaseError::skip(format!(
            "gamevault credential set `{credential}` has no `user_id` and the target has no `login` actuator giving one"
        ))
    })
}

async fn broadcast_to_all(ctx: Ctx) -> CaseResult {
    let mut alice = Session::open(&ctx, "primary").await?;
    let mut bob = Session::open(&ctx, "secondary").await?;
    let game = game_id(&ctx);
    alice
        .conn
        .emit(
            "set-activity",
            &[json!({"state": "PLAYING", "game_id": game})],
        )
        .await?;
    let reporter = alice.sid.clone();
    for session in [&mut alice, &mut bob] {
        let frame = session
            .conn
            .expect(activity_with_game(game), ctx.wait())
            .await?;
        let activity = first_arg(&frame);
        let label = session.conn.label().to_owned();
        ensure!(
            activity.get("state") == Some(&json!("PLAYING")),
            "{label} received activity {activity}, expected state PLAYING"
        );
        ensure!(
            activity.get("socket_id").and_then(Value::as_str) == Some(reporter.as_str()),
            "{label} received activity {activity}, whose socket_id is not the reporter's socket {reporter}"
        );
        ensure!(
            activity.get("user_id").is_some(),
            "{label} received activity {activity} without user_id"
        );
    }
    for session in [&mut alice, &mut bob] {
        session
            .conn
            .expect_silence_of(activity_with_game(game), ctx.silence())
            .await
            .map_err(|e| e.context("the activity arrived twice"))?;
    }
    Ok(())
}

async fn reported_states(ctx: Ctx) -> CaseResult {
    let mut alice = Session::open(&ctx, "primary").await?;
    let mut bob = Session::open(&ctx, "secondary").await?;
    let game = game_id(&ctx);
    for reported in [
        json!({"state": "ONLINE"}),
        json!({"state": "PLAYING", "game_id": game}),
        json!({"state": "BUSY"}),
    ] {
        // The reporter's own copy fixes what every other socket must receive, ids included.
        let broadcast = alice.set_activity(&ctx, reported.clone()).await?;
        let wanted = broadcast.clone();
        bob.conn
            .expect(
                activity_where(format!("equal to {broadcast}"), move |a| *a == wanted),
                ctx.wait(),
            )
            .await
            .map_err(|e| e.context(format!("{} reported {reported}", alice.conn.label())))?;
    }
    Ok(())
}

async fn server_sets_ids(ctx: Ctx) -> CaseResult {
    let mut alice = Session::open(&ctx, "primary").await?;
    let mut bob = Session::open(&ctx, "secondary").await?;
    let alice_id = alice.learn_user_id(&ctx).await?;
    let bob_id = bob.learn_user_id(&ctx).await?;
    ensure!(
        !same_id(&alice_id, &bob_id),
        "two users' activities carry the same user_id {alice_id}"
    );
    let game = game_id(&ctx);
    let claim =
        json!({"state": "PLAYING", "game_id": game, "user_id": bob_id, "socket_id": bob.sid});
    // The client schema refuses these keys, so the frame goes out unchecked.
    alice
        .conn
        .send_text_raw(&format!("42{}", json!(["set-activity", claim])))
        .await?;
    let answer = alice
        .conn
        .expect(
            either(Pattern::event("exception"), activity_with_game(game)),
            ctx.wait(),
        )
        .await
        .map_err(|e| e.context(format!("after set-activity {claim}")))?;
    if answer.event_name() == Some("activity") {
        let activity = first_arg(&answer);
        ensure!(
            activity.get("user_id").is_some_and(|u| same_id(u, &alice_id))
                && activity.get("socket_id").and_then(Value::as_str) == Some(alice.sid.as_str()),
            "a client claiming {}'s ids got them: {activity} (the reporter is user {alice_id}, socket {})",
            bob.conn.label(),
            alice.sid
        );
    }
    let bob_sid = bob.sid.clone();
    let spoofed = activity_where(
        format!("claiming game {game} for user {bob_id} or socket {bob_sid}"),
        move |a| {
            a.get("game_id") == Some(&json!(game))
                && (a.get("user_id").is_some_and(|u| same_id(u, &bob_id))
                    || a.get("socket_id").and_then(Value::as_str) == Some(bob_sid.as_str()))
        },
    );
    bob.conn
        .expect_silence_of(spoofed, ctx.silence())
        .await
        .map_err(|e| e.context("a spoofed activity reached its victim"))?;
    Ok(())
}

async fn unreported_user_offline(ctx: Ctx) -> CaseResult {
    let bob_id = known_user_id(&ctx, "secondary").await?;
    let bob = Session::open(&ctx, "secondary").await?;
    let mut alice = Session::open(&ctx, "primary").await?;
    let requested = alice.list(&ctx).await?;
    for (list, which) in [
        (alice.initial.as_ref(), "the list after CONNECT"),
        (Some(&requested), "the get-activities list"),
    ] {
        let shown = not_offline(list.map(Vec::as_slice).unwrap_or_default(), &bob_id);
        ensure!(
            shown.is_empty(),
            "{} is connected and reported nothing, yet {which} shows {shown:?} for user {bob_id}",
            bob.conn.label()
        );
    }
    Ok(())
}

async fn list_on_connect(ctx: Ctx) -> CaseResult {
    let mut alice = Session::open(&ctx, "primary").await?;
    let game = game_id(&ctx);
    let reported = alice
        .set_activity(&ctx, json!({"state": "PLAYING", "game_id": game}))
        .await?;
    let mut bob = ctx.gamevault().open_engine("secondary").await?;
    let reply = bob.connect_namespace(None, ctx.wait()).await?;
    ensure!(
        socket_kind(&reply) == Some(SocketType::Connect),
        "CONNECT was answered {reply}"
    );
    let frame = bob
        .expect_next(Pattern::event("activities"), ctx.wait())
        .await
        .map_err(|e| e.context("right after `40{\"sid\"}`"))?;
    let list = activity_list(&frame)?;
    ensure!(
        list.contains(&reported),
        "the `activities` list a new socket received lacks {}'s current activity {reported}: {}",
        alice.conn.label(),
        Value::Array(list.clone())
    );
    Ok(())
}

async fn get_activities(ctx: Ctx) -> CaseResult {
    let mut alice = Session::open(&ctx, "primary").await?;
    let mut bob = Session::open(&ctx, "secondary").await?;
    let game = game_id(&ctx);
    let reported = alice
        .set_activity(&ctx, json!({"state": "PLAYING", "game_id": game}))
        .await?;
    let list = bob.list(&ctx).await?;
    ensure!(
        list.contains(&reported),
        "get-activities lists {}, without {}'s current activity {reported}",
        Value::Array(list.clone()),
        alice.conn.label()
    );
    alice
        .conn
        .expect_silence_of(Pattern::event("activities"), ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "{} asked for the list, not {}",
                bob.conn.label(),
                alice.conn.label()
            ))
        })?;
    Ok(())
}

async fn one_per_user(ctx: Ctx) -> CaseResult {
    let mut first = Session::open(&ctx, "primary").await?;
    let mut second = Session::open(&ctx, "primary").await?;
    let mut bob = Session::open(&ctx, "secondary").await?;
    let alice_id = first.learn_user_id(&ctx).await?;
    let game = game_id(&ctx);
    let latest = second
        .set_activity(&ctx, json!({"state": "PLAYING", "game_id": game}))
        .await?;
    let list = bob.list(&ctx).await?;
    let entries = entries_of(&list, &alice_id);
    ensure!(
        entries == [&latest],
        "after {} reported ONLINE and then {} PLAYING, the list holds {entries:?} for user {alice_id}, not just {latest}",
        first.conn.label(),
        second.conn.label()
    );
    Ok(())
}

async fn game_id_only_playing(ctx: Ctx) -> CaseResult {
    let mut alice = Session::open(&ctx, "primary").await?;
    let game = game_id(&ctx);
    let playing = alice
        .set_activity(&ctx, json!({"state": "PLAYING", "game_id": game}))
        .await?;
    ensure!(
        playing.get("game_id") == Some(&json!(game)),
        "PLAYING game {game} was broadcast as {playing}"
    );
    for state in ["BUSY", "ONLINE"] {
        let other = alice
            .set_activity(&ctx, json!({"state": state, "game_id": game}))
            .await?;
        ensure!(
            other.get("game_id").is_none(),
            "{state} with game_id {game} was broadcast as {other}, keeping the game"
        );
    }
    Ok(())
}

async fn malformed_payload(ctx: Ctx) -> CaseResult {
    refused_payloads(
        &ctx,
        &[
            r#"42["set-activity","ONLINE"]"#,
            r#"42["set-activity"]"#,
            r#"42["set-activity",null]"#,
            r#"42["set-activity",[{"state":"ONLINE"}]]"#,
            r#"42["set-activity",7]"#,
        ],
    )
    .await
}

async fn invalid_activity(ctx: Ctx) -> CaseResult {
    refused_payloads(
        &ctx,
        &[
            r#"42["set-activity",{"state":"OFFLINE"}]"#,
            r#"42["set-activity",{"game_id":5}]"#,
            r#"42["set-activity",{"state":"DANCING"}]"#,
            r#"42["set-activity",{"state":"PLAYING"}]"#,
            r#"42["set-activity",{"state":"PLAYING","game_id":"five"}]"#,
            r#"42["set-activity",{"state":"ONLINE","mood":"happy"}]"#,
        ],
    )
    .await
}

/// Each packet must be answered `exception` (never broadcast); afterwards the reporter's earlier activity is
/// unchanged and the socket still answers `get-activities`.
async fn refused_payloads(ctx: &Ctx, packets: &[&str]) -> CaseResult {
    let mut alice = Session::open(ctx, "primary").await?;
    let mut bob = Session::open(ctx, "secondary").await?;
    let game = game_id(ctx);
    let stored = alice
        .set_activity(ctx, json!({"state": "PLAYING", "game_id": game}))
        .await?;
    for packet in packets {
        alice.conn.send_text_raw(packet).await?;
        let answer = alice
            .conn
            .expect(
                either(Pattern::event("exception"), activity_of_socket(&alice.sid)),
                ctx.wait(),
            )
            .await
            .map_err(|e| e.context(format!("after {packet}")))?;
        check_exception(&answer, packet)?;
    }
    let own = alice
        .list(ctx)
        .await
        .map_err(|e| e.context("the socket must stay usable after refused events"))?;
    let seen = bob.list(ctx).await?;
    for list in [&own, &seen] {
        ensure!(
            list.contains(&stored),
            "after refused events the list is {}, without the activity {stored} reported before them",
            Value::Array(list.to_vec())
        );
    }
    Ok(())
}

fn check_exception(answer: &Frame, packet: &str) -> CaseResult {
    if answer.event_name() != Some("exception") {
        fail!("{packet} was stored and broadcast as {answer}, not refused with an `exception`");
    }
    let exception = first_arg(answer);
    if let Some(pattern) = exception.pointer("/cause/pattern") {
        ensure!(
            pattern == "set-activity",
            "the exception {exception} answering {packet} names pattern {pattern}, not set-activity"
        );
    }
    Ok(())
}

/// The entries of `list` that show user `user_id` as anything but OFFLINE.
fn not_offline<'a>(list: &'a [Value], user_id: &Value) -> Vec<&'a Value> {
    entries_of(list, user_id)
        .into_iter()
        .filter(|a| a.get("state") != Some(&json!("OFFLINE")))
        .collect()
}

fn offline_of(user_id: &Value) -> Pattern {
    let user = user_id.clone();
    activity_where(format!("OFFLINE for user {user_id}"), move |a| {
        a.get("state") == Some(&json!("OFFLINE"))
            && a.get("user_id").is_some_and(|u| same_id(u, &user))
    })
}

async fn offline_when_last_socket_goes(ctx: Ctx) -> CaseResult {
    let mut alice = Session::open(&ctx, "primary").await?;
    let mut bob = Session::open(&ctx, "secondary").await?;
    let alice_id = alice.learn_user_id(&ctx).await?;
    let label = alice.conn.label().to_owned();
    alice.conn.close_with(1000, "").await;
    bob.conn
        .expect(offline_of(&alice_id), ctx.wait())
        .await
        .map_err(|e| e.context(format!("{label}, the user's only socket, closed")))?;
    let list = bob.list(&ctx).await?;
    let shown = not_offline(&list, &alice_id);
    ensure!(
        shown.is_empty(),
        "user {alice_id} has no socket left, yet the list shows {shown:?}"
    );
    Ok(())
}

async fn other_socket_keeps_activity(ctx: Ctx) -> CaseResult {
    let mut first = Session::open(&ctx, "primary").await?;
    let mut second = Session::open(&ctx, "primary").await?;
    let mut bob = Session::open(&ctx, "secondary").await?;
    let alice_id = first.learn_user_id(&ctx).await?;
    let current = second.set_activity(&ctx, json!({"state": "BUSY"})).await?;
    let label = first.conn.label().to_owned();
    first.conn.close_with(1000, "").await;
    bob.conn
        .expect_silence_of(offline_of(&alice_id), ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "{label} closed while {} stays connected",
                second.conn.label()
            ))
        })?;
    let list = bob.list(&ctx).await?;
    let entries = entries_of(&list, &alice_id);
    ensure!(
        entries == [&current],
        "{label} closed while {} stays connected: the list holds {entries:?} for user {alice_id}, not {current}",
        second.conn.label()
    );
    Ok(())
}
