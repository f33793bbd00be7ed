//! The activities: set, broadcast to everyone, list, validation, one per user, OFFLINE when a
//! user's last socket goes, and the switch that turns the whole Socket.IO server off.

use reqwest::Method;
use serde_json::{json, Value};

use super::support::*;

#[tokio::test]
async fn an_activity_reaches_every_socket_including_the_sender() {
    let server = start().await;
    let addr = server.local_addr();
    let mut alice = Member::join(addr, &v9(ALICE_SECRET)).await;
    let mut bob = Member::join(addr, &v15(BOB_SECRET)).await;
    alice
        .socket
        .send("42[\"set-activity\",{\"state\":\"PLAYING\",\"game_id\":3}]")
        .await;
    let expected = json!({
        "state": "PLAYING", "game_id": 3, "user_id": ALICE_ID, "socket_id": alice.socket_id
    });
    assert_eq!(alice.next_activity().await, expected);
    assert_eq!(bob.next_activity().await, expected);
    assert_eq!(bob.activities().await, vec![expected.clone()]);

    let carol = Member::join(addr, &v15(BOB_SECRET)).await;
    assert_eq!(carol.activities, vec![expected], "sent right after CONNECT");
    stop(server).await;
}

#[tokio::test]
async fn a_user_has_one_activity_and_game_id_only_while_playing() {
    let server = start().await;
    let mut alice = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    alice
        .socket
        .send("42[\"set-activity\",{\"state\":\"PLAYING\",\"game_id\":3}]")
        .await;
    alice.next_activity().await;
    alice
        .socket
        .send("42[\"set-activity\",{\"state\":\"BUSY\",\"game_id\":7}]")
        .await;
    let busy = json!({"state": "BUSY", "user_id": ALICE_ID, "socket_id": alice.socket_id});
    assert_eq!(alice.next_activity().await, busy);
    assert_eq!(alice.activities().await, vec![busy]);
    stop(server).await;
}

#[tokio::test]
async fn invalid_reports_get_an_exception_and_the_connection_stays() {
    let server = start().await;
    let mut alice = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    let cases = [
        (json!({"state": "OFFLINE"}), "OFFLINE"),
        (json!({"state": "AWAY"}), "AWAY"),
        (json!({"state": "ONLINE", "user_id": 999}), "user_id"),
        (json!({"state": "PLAYING"}), "game_id"),
        (json!({"state": "PLAYING", "game_id": "3"}), "game_id"),
        (json!({"state": 1}), "state"),
        (json!("ONLINE"), "object"),
        (json!(null), "object"),
    ];
    for (data, mentioned) in cases {
        let packet = json!(["set-activity", data]).to_string();
        alice.socket.send(&format!("42{packet}")).await;
        let exception = alice.next_exception().await;
        assert_eq!(exception["status"], "error");
        assert_eq!(
            exception["cause"],
            json!({"pattern": "set-activity", "data": data})
        );
        let message = exception["message"].as_str().unwrap_or_default();
        assert!(message.contains(mentioned), "{data}: {message}");
    }
    alice.socket.send("42[\"set-activity\"]").await;
    let exception = alice.next_exception().await;
    assert_eq!(exception["cause"], json!({"pattern": "set-activity"}));

    alice.socket.send("42[\"get-activities\",1]").await;
    assert_eq!(
        alice.next_exception().await["cause"]["pattern"],
        "get-activities"
    );

    alice.socket.send("42[\"unknown-event\",{\"x\":1}]").await;
    let exception = alice.next_exception().await;
    assert_eq!(
        exception["cause"],
        json!({"pattern": "unknown-event", "data": {"x": 1}})
    );

    assert_eq!(
        alice.activities().await,
        Vec::<Value>::new(),
        "nothing was stored"
    );
    stop(server).await;
}

#[tokio::test]
async fn acks_when_switched_on_carry_the_outcome_after_the_events() {
    let server = start_with(|gv| gv.acknowledge_events = true).await;
    let mut alice = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    alice
        .socket
        .send("427[\"set-activity\",{\"state\":\"ONLINE\"}]")
        .await;
    let activity = alice.next_activity().await;
    assert_eq!(alice.socket.text().await, format!("437[{activity}]"));

    alice
        .socket
        .send("428[\"set-activity\",{\"state\":\"OFFLINE\"}]")
        .await;
    let exception = alice.next_exception().await;
    assert_eq!(alice.socket.text().await, format!("438[{exception}]"));
    stop(server).await;
}

#[tokio::test]
async fn the_last_socket_of_a_user_going_announces_offline() {
    let server = start().await;
    let addr = server.local_addr();
    let mut bob = Member::join(addr, &v15(BOB_SECRET)).await;
    let mut first = Member::join(addr, &v9(ALICE_SECRET)).await;
    let second = Member::join(addr, &v9(ALICE_SECRET)).await;
    first
        .socket
        .send("42[\"set-activity\",{\"state\":\"ONLINE\"}]")
        .await;
    let online = bob.next_activity().await;
    assert_eq!(online["socket_id"], json!(first.socket_id));

    first.close().await;
    assert_eq!(
        bob.activities().await,
        vec![online],
        "alice still has a socket"
    );

    let closing = second.socket_id.clone();
    second.close().await;
    assert_eq!(
        bob.next_activity().await,
        json!({"state": "OFFLINE", "user_id": ALICE_ID, "socket_id": closing})
    );
    assert_eq!(bob.activities().await, Vec::<Value>::new());
    stop(server).await;
}

#[tokio::test]
async fn a_namespace_disconnect_counts_as_leaving() {
    let server = start().await;
    let addr = server.local_addr();
    let mut bob = Member::join(addr, &v15(BOB_SECRET)).await;
    let mut alice = Member::join(addr, &v9(ALICE_SECRET)).await;
    alice
        .socket
        .send("42[\"set-activity\",{\"state\":\"BUSY\"}]")
        .await;
    bob.next_activity().await;
    alice.socket.send("41").await;
    let offline = bob.next_activity().await;
    assert_eq!(offline["state"], "OFFLINE");
    assert_eq!(offline["socket_id"], json!(alice.socket_id));
    stop(server).await;
}

#[tokio::test]
async fn a_user_without_an_activity_leaves_silently() {
    let server = start().await;
    let addr = server.local_addr();
    let mut bob = Member::join(addr, &v15(BOB_SECRET)).await;
    Member::join(addr, &v9(ALICE_SECRET)).await.close().await;
    bob.socket
        .send("42[\"set-activity\",{\"state\":\"ONLINE\"}]")
        .await;
    assert_eq!(
        bob.next_activity().await["user_id"],
        BOB_ID,
        "no OFFLINE for a user who never reported"
    );
    stop(server).await;
}

#[tokio::test]
async fn disabling_activities_removes_the_socket_io_server() {
    let server = start_with(|gv| gv.activities_disabled = true).await;
    let addr = server.local_addr();
    let (status, _) = request(
        Method::GET,
        &format!("http://{addr}/socket.io/?EIO=4&transport=polling"),
        &v9(ALICE_SECRET),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let refused = EioSocket::connect(addr, "EIO=4&transport=websocket", &v9(ALICE_SECRET))
        .await
        .err()
        .unwrap_or_else(|| panic!("upgraded although disabled"));
    assert_eq!(refused.status, 404);
    let (status, _) = request(Method::GET, &format!("http://{addr}/api/status"), &[], None).await;
    assert_eq!(status, 200, "the REST API stays");
    stop(server).await;
}
