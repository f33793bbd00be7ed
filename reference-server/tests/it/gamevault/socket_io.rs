//! Socket.IO v5 inside the Engine.IO session: CONNECT and its answers, namespaces, the connect
//! timeout, invalid packets, acknowledgements, DISCONNECT, binary events.

use serde_json::json;

use super::support::*;

#[tokio::test]
async fn connect_answers_a_socket_id_distinct_from_the_session_id() {
    let server = start().await;
    let member = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    assert!(is_socket_id(&member.socket_id), "{}", member.socket_id);
    assert!(is_socket_id(&member.session_id), "{}", member.session_id);
    assert_ne!(member.socket_id, member.session_id);
    assert_eq!(member.activities, Vec::<serde_json::Value>::new());
    stop(server).await;
}

#[tokio::test]
async fn connect_with_an_auth_payload_is_accepted() {
    let server = start().await;
    let (mut socket, _) = EioSocket::open(server.local_addr(), &v15(BOB_SECRET)).await;
    socket.send("40{\"token\":\"123\"}").await;
    let answer = connect_answer(&socket.text().await);
    assert_eq!(answer.as_object().map(|o| o.len()), Some(1), "{answer}");
    assert!(is_socket_id(answer["sid"].as_str().unwrap_or_default()));
    assert_eq!(argument(&socket.text().await, "activities"), json!([]));
    stop(server).await;
}

#[tokio::test]
async fn other_namespaces_are_refused_and_the_connection_stays() {
    let server = start().await;
    let (mut socket, _) = EioSocket::open(server.local_addr(), &v9(ALICE_SECRET)).await;
    socket.send("40/admin,").await;
    assert_eq!(
        socket.text().await,
        "44/admin,{\"message\":\"Invalid namespace\"}"
    );
    socket.send("40/random").await;
    assert_eq!(
        socket.text().await,
        "44/random,{\"message\":\"Invalid namespace\"}"
    );
    socket.send("40").await;
    assert!(socket.text().await.starts_with("40{\"sid\":"));
    stop(server).await;
}

#[tokio::test]
async fn a_session_that_never_connects_is_closed_after_the_connect_timeout() {
    let server = start_with(|gv| gv.connect_timeout_ms = 100).await;
    let (mut socket, _) = EioSocket::open(server.local_addr(), &v9(ALICE_SECRET)).await;
    assert_eq!(socket.closed().await, Some(1008));
    stop(server).await;
}

#[tokio::test]
async fn a_refused_connect_does_not_stop_the_connect_timeout() {
    let server = start_with(|gv| gv.connect_timeout_ms = 100).await;
    let (mut socket, _) = EioSocket::open(server.local_addr(), &[]).await;
    socket.send("40").await;
    assert!(socket.text().await.starts_with("44{"));
    assert_eq!(socket.closed().await, Some(1008));
    stop(server).await;
}

#[tokio::test]
async fn the_connect_timeout_spares_a_connected_session() {
    let server = start_with(|gv| gv.connect_timeout_ms = 50).await;
    let mut member = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    // Several times the timeout; a slow machine only makes this wait longer, never fail.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(member.activities().await, Vec::<serde_json::Value>::new());
    member.close().await;
    stop(server).await;
}

#[tokio::test]
async fn protocol_violations_close_the_connection() {
    let server = start().await;
    let addr = server.local_addr();
    let after_connect = [
        "40",
        "4abc",
        "42{}",
        "42",
        "42[]",
        "42[1]",
        "42[\"connect\"]",
        "42abc[\"get-activities\"]",
        "44{\"message\":\"x\"}",
        "41/admin,",
        "42/admin,[\"get-activities\"]",
        "41{}",
        "4",
    ];
    for packet in after_connect {
        let mut member = Member::join(addr, &v9(ALICE_SECRET)).await;
        member.socket.send(packet).await;
        assert_eq!(member.socket.closed().await, Some(1002), "{packet:?}");
    }
    for packet in ["42[\"get-activities\"]", "41", "4abc", "43[]"] {
        let (mut socket, _) = EioSocket::open(addr, &v9(ALICE_SECRET)).await;
        socket.send(packet).await;
        assert_eq!(
            socket.closed().await,
            Some(1002),
            "before CONNECT: {packet:?}"
        );
    }
    stop(server).await;
}

#[tokio::test]
async fn an_event_with_an_ack_id_gets_an_ack_when_acks_are_on() {
    let server = start_with(|gv| gv.acknowledge_events = true).await;
    let mut member = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    member.socket.send("42456[\"get-activities\"]").await;
    assert_eq!(
        member.next_activities().await,
        Vec::<serde_json::Value>::new()
    );
    assert_eq!(member.socket.text().await, "43456[[]]");
    stop(server).await;
}

#[tokio::test]
async fn acks_from_the_client_are_ignored() {
    let server = start().await;
    let mut member = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    member.socket.send("437[\"whatever\"]").await;
    assert_eq!(member.activities().await, Vec::<serde_json::Value>::new());
    stop(server).await;
}

#[tokio::test]
async fn disconnect_leaves_the_namespace_and_keeps_the_session() {
    let server = start().await;
    let mut member = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    member.socket.send("41").await;
    member.socket.send("40").await;
    let again = connect_answer(&member.socket.text().await);
    let new_id = again["sid"].as_str().unwrap_or_default();
    assert!(is_socket_id(new_id));
    assert_ne!(new_id, member.socket_id, "a new socket gets a new id");
    assert_eq!(
        member.next_activities().await,
        Vec::<serde_json::Value>::new()
    );
    member.socket.send("41").await;
    member.socket.send("42[\"get-activities\"]").await;
    assert_eq!(
        member.socket.closed().await,
        Some(1002),
        "events after DISCONNECT are for a namespace not joined"
    );
    stop(server).await;
}

#[tokio::test]
async fn binary_events_are_reassembled_then_refused_by_the_activities() {
    let server = start().await;
    let mut member = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    member
        .socket
        .send("451-[\"set-activity\",{\"_placeholder\":true,\"num\":0}]")
        .await;
    member.socket.send_binary(&[1, 2, 3]).await;
    let exception = member.next_exception().await;
    assert_eq!(exception["status"], "error");
    assert_eq!(exception["cause"]["pattern"], "set-activity");
    assert!(
        exception["message"]
            .as_str()
            .unwrap_or_default()
            .contains("binary"),
        "{exception}"
    );
    assert_eq!(member.activities().await, Vec::<serde_json::Value>::new());
    stop(server).await;
}

#[tokio::test]
async fn stray_binary_frames_and_interrupted_attachments_close_the_connection() {
    let server = start().await;
    let mut member = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    member.socket.send_binary(&[1, 2, 3]).await;
    assert_eq!(member.socket.closed().await, Some(1002));

    let mut member = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    member
        .socket
        .send("452-[\"x\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]")
        .await;
    member.socket.send_binary(&[1]).await;
    member.socket.send("42[\"get-activities\"]").await;
    assert_eq!(member.socket.closed().await, Some(1002));
    stop(server).await;
}

#[tokio::test]
async fn no_acks_by_default_like_the_real_server() {
    let server = start().await;
    let mut member = Member::join(server.local_addr(), &v9(ALICE_SECRET)).await;
    member.socket.send("427[\"get-activities\"]").await;
    assert_eq!(
        member.next_activities().await,
        Vec::<serde_json::Value>::new()
    );
    // Had an ack been sent, it would come before this answer.
    assert_eq!(member.activities().await, Vec::<serde_json::Value>::new());
    stop(server).await;
}
