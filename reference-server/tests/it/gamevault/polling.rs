//! Engine.IO v4 over HTTP long-polling, and the upgrade of a polling session to WebSocket.

use reqwest::Method;
use serde_json::{json, Value};

use super::support::*;

#[tokio::test]
async fn the_handshake_answers_the_open_packet_with_the_websocket_upgrade() {
    let server = start().await;
    let addr = server.local_addr();
    let url = format!("http://{addr}/socket.io/?EIO=4&transport=polling");
    let response = bounded("the handshake", http_client().get(&url).send())
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let (polling, open) = Polling::handshake(addr, &v9(ALICE_SECRET)).await;
    assert_eq!(open["upgrades"], json!(["websocket"]));
    assert_eq!(open.as_object().map(|o| o.len()), Some(5), "{open}");
    assert!(is_socket_id(&polling.sid));
    stop(server).await;
}

#[tokio::test]
async fn post_sends_and_a_poll_receives_packets_joined_by_the_record_separator() {
    let server = start().await;
    let (polling, _) = Polling::handshake(server.local_addr(), &v15(ALICE_SECRET)).await;
    assert_eq!(polling.post("40").await, (200, "ok".into()));
    let packets = polling.packets().await;
    assert_eq!(packets.len(), 2, "{packets:?}");
    let socket_id = connect_answer(&packets[0])["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(socket_id, polling.sid);
    assert_eq!(argument(&packets[1], "activities"), json!([]));

    let batch = "42[\"set-activity\",{\"state\":\"ONLINE\"}]\x1e42[\"get-activities\"]";
    assert_eq!(polling.post(batch).await, (200, "ok".into()));
    let mut packets = Vec::new();
    while packets.len() < 2 {
        packets.extend(polling.packets().await);
    }
    let expected = json!({"state": "ONLINE", "user_id": ALICE_ID, "socket_id": socket_id});
    assert_eq!(argument(&packets[0], "activity"), expected);
    assert_eq!(argument(&packets[1], "activities"), json!([expected]));
    stop(server).await;
}

#[tokio::test]
async fn a_pending_poll_completes_when_a_broadcast_arrives() {
    let server = start().await;
    let addr = server.local_addr();
    let (polling, _) = Polling::handshake(addr, &v9(ALICE_SECRET)).await;
    polling.post("40").await;
    assert_eq!(polling.packets().await.len(), 2);
    let pending = tokio::spawn(async move {
        let packets = polling.packets().await;
        (polling, packets)
    });
    let mut bob = Member::join(addr, &v9(BOB_SECRET)).await;
    bob.socket
        .send("42[\"set-activity\",{\"state\":\"PLAYING\",\"game_id\":9}]")
        .await;
    let broadcast = bob.next_activity().await;
    let (_, packets) = bounded("the long poll", pending)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(packets.len(), 1, "{packets:?}");
    assert_eq!(argument(&packets[0], "activity"), broadcast);
    stop(server).await;
}

#[tokio::test]
async fn a_close_packet_ends_the_session_and_its_sid() {
    let server = start().await;
    let (polling, _) = Polling::handshake(server.local_addr(), &v9(ALICE_SECRET)).await;
    assert_eq!(polling.post("1").await, (200, "ok".into()));
    let (status, body) = polling.get().await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap_or_default(),
        json!({"code": 1, "message": "Session ID unknown"})
    );
    stop(server).await;
}

#[tokio::test]
async fn the_handshake_accepts_only_get() {
    let server = start().await;
    let url = format!(
        "http://{}/socket.io/?EIO=4&transport=polling",
        server.local_addr()
    );
    for method in [Method::POST, Method::PUT] {
        let (status, body) = request(method.clone(), &url, &[], Some("40".into())).await;
        assert_eq!(status, 400, "{method}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap_or_default(),
            json!({"code": 2, "message": "Bad handshake method"})
        );
    }
    stop(server).await;
}

#[tokio::test]
async fn an_invalid_body_is_refused_and_ends_the_session() {
    let server = start().await;
    for body in ["abc", "", "4a\x1e\x1e", "b!!", "2"] {
        let (polling, _) = Polling::handshake(server.local_addr(), &v9(ALICE_SECRET)).await;
        let (status, _) = polling.post(body).await;
        assert_eq!(status, 400, "{body:?}");
        assert_eq!(polling.get().await.0, 400, "{body:?}: the session is gone");
    }
    stop(server).await;
}

#[tokio::test]
async fn a_body_over_max_payload_gets_413_and_ends_the_session() {
    let server = start_with(|gv| gv.max_payload = 100).await;
    let (polling, open) = Polling::handshake(server.local_addr(), &v9(ALICE_SECRET)).await;
    assert_eq!(open["maxPayload"], 100);
    let (status, _) = polling.post(&format!("4{}", "x".repeat(200))).await;
    assert_eq!(status, 413);
    assert_eq!(polling.get().await.0, 400);
    stop(server).await;
}

#[tokio::test]
async fn pings_travel_in_polls_and_pongs_in_posts() {
    let server = start_with(|gv| {
        gv.ping_interval_ms = 50;
        gv.ping_timeout_ms = 5_000;
    })
    .await;
    let (polling, _) = Polling::handshake(server.local_addr(), &v9(ALICE_SECRET)).await;
    for _ in 0..3 {
        assert_eq!(polling.packets().await, vec!["2".to_owned()]);
        assert_eq!(polling.post("3").await, (200, "ok".into()));
    }
    stop(server).await;
}

#[tokio::test]
async fn a_polling_client_that_does_not_pong_is_closed() {
    let server = start_with(|gv| {
        gv.ping_interval_ms = 50;
        gv.ping_timeout_ms = 50;
    })
    .await;
    let (polling, _) = Polling::handshake(server.local_addr(), &v9(ALICE_SECRET)).await;
    assert_eq!(polling.packets().await, vec!["2".to_owned()]);
    // The next poll waits for the timeout: it is answered with a close packet, or refused
    // if it arrives after the session ended.
    let (status, body) = polling.get().await;
    assert!(
        (status, body.as_str()) == (200, "1") || status == 400,
        "{status} {body:?}"
    );
    assert_eq!(polling.get().await.0, 400);
    stop(server).await;
}

/// Polling handshake, CONNECT, then the WebSocket probe up to `3probe`.
async fn probed(addr: std::net::SocketAddr) -> (Polling, EioSocket, String) {
    let (polling, _) = Polling::handshake(addr, &v9(ALICE_SECRET)).await;
    polling.post("40").await;
    let packets = polling.packets().await;
    let socket_id = connect_answer(&packets[0])["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut probe = EioSocket::connect(
        addr,
        &format!("EIO=4&transport=websocket&sid={}", polling.sid),
        &[],
    )
    .await
    .unwrap_or_else(|refused| panic!("probe refused: {refused:?}"));
    probe.send("2probe").await;
    assert_eq!(probe.text().await, "3probe");
    (polling, probe, socket_id)
}

#[tokio::test]
async fn a_polling_session_upgrades_to_websocket() {
    let server = start().await;
    let addr = server.local_addr();
    let (polling, _) = Polling::handshake(addr, &v9(ALICE_SECRET)).await;
    polling.post("40").await;
    assert_eq!(polling.packets().await.len(), 2);
    let sid = polling.sid.clone();
    let pending = tokio::spawn(async move {
        let answer = polling.get().await;
        (polling, answer)
    });
    let mut socket = EioSocket::connect(addr, &format!("EIO=4&transport=websocket&sid={sid}"), &[])
        .await
        .unwrap_or_else(|refused| panic!("probe refused: {refused:?}"));
    socket.send("2probe").await;
    assert_eq!(socket.text().await, "3probe");
    let (polling, answer) = bounded("the pending poll", pending)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(answer, (200, "6".to_owned()), "noop ends the pending poll");

    // Broadcast while the client is between probe and upgrade: it must arrive over WebSocket.
    let mut bob = Member::join(addr, &v15(BOB_SECRET)).await;
    bob.socket
        .send("42[\"set-activity\",{\"state\":\"BUSY\"}]")
        .await;
    let broadcast = bob.next_activity().await;
    socket.send("5").await;
    assert_eq!(argument(&socket.text().await, "activity"), broadcast);

    socket.send("42[\"get-activities\"]").await;
    assert_eq!(
        argument(&socket.text().await, "activities"),
        json!([broadcast])
    );

    let (status, body) = polling.get().await;
    assert_eq!(status, 400, "polling after the upgrade: {body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap_or_default(),
        json!({"code": 3, "message": "Bad request"})
    );
    assert_eq!(polling.post("42[\"get-activities\"]").await.0, 400);

    let mut second = EioSocket::connect(addr, &format!("EIO=4&transport=websocket&sid={sid}"), &[])
        .await
        .unwrap_or_else(|refused| panic!("second socket refused: {refused:?}"));
    assert!(
        second.closed().await.is_some(),
        "a second WebSocket is closed"
    );

    socket.send("42[\"get-activities\"]").await;
    assert!(socket.text().await.starts_with("42[\"activities\""));
    stop(server).await;
}

#[tokio::test]
async fn the_upgraded_session_keeps_its_socket_and_heartbeat() {
    let server = start_with(|gv| {
        gv.ping_interval_ms = 50;
        gv.ping_timeout_ms = 5_000;
    })
    .await;
    let (_polling, mut socket, socket_id) = probed(server.local_addr()).await;
    socket.send("5").await;
    socket
        .send("42[\"set-activity\",{\"state\":\"ONLINE\"}]")
        .await;
    let mut seen_activity = false;
    let mut pings = 0;
    while !(seen_activity && pings >= 2) {
        let packet = socket.text().await;
        if packet == "2" {
            pings += 1;
            socket.send("3").await;
        } else {
            assert_eq!(
                argument(&packet, "activity"),
                json!({"state": "ONLINE", "user_id": ALICE_ID, "socket_id": socket_id})
            );
            seen_activity = true;
        }
    }
    stop(server).await;
}

#[tokio::test]
async fn an_aborted_probe_leaves_the_polling_session_working() {
    let server = start_with(|gv| gv.upgrade_timeout_ms = 50).await;
    let addr = server.local_addr();
    let (polling, _) = Polling::handshake(addr, &v9(ALICE_SECRET)).await;
    polling.post("40").await;
    assert_eq!(polling.packets().await.len(), 2);

    let mut idle = EioSocket::connect(
        addr,
        &format!("EIO=4&transport=websocket&sid={}", polling.sid),
        &[],
    )
    .await
    .unwrap_or_else(|refused| panic!("probe refused: {refused:?}"));
    assert_eq!(idle.closed().await, Some(1008), "upgrade timeout");

    let mut confused = EioSocket::connect(
        addr,
        &format!("EIO=4&transport=websocket&sid={}", polling.sid),
        &[],
    )
    .await
    .unwrap_or_else(|refused| panic!("probe refused: {refused:?}"));
    confused.send("42[\"get-activities\"]").await;
    assert_eq!(confused.closed().await, Some(1002), "not a probe");

    assert_eq!(
        polling.post("42[\"get-activities\"]").await,
        (200, "ok".into())
    );
    let packets = polling.packets().await;
    assert_eq!(argument(&packets[0], "activities"), json!([]));
    stop(server).await;
}

#[tokio::test]
async fn overlapping_polls_end_the_session() {
    let server = start().await;
    let (polling, _) = Polling::handshake(server.local_addr(), &v9(ALICE_SECRET)).await;
    // Whichever poll arrives second is refused and the first is answered with a close packet;
    // nothing else is sent in between (no ping within the default interval).
    let (first, second) = tokio::join!(polling.get(), polling.get());
    let mut answers = [first, second];
    answers.sort();
    assert_eq!(answers[0], (200, "1".to_owned()), "{answers:?}");
    assert_eq!(answers[1].0, 400, "{answers:?}");
    assert_eq!(polling.get().await.0, 400, "the session is gone");
    stop(server).await;
}

#[tokio::test]
async fn a_close_post_answers_a_pending_poll_with_noop() {
    let server = start().await;
    let (polling, _) = Polling::handshake(server.local_addr(), &v9(ALICE_SECRET)).await;
    let (poll, close) = tokio::join!(polling.get(), polling.post("1"));
    assert_eq!(close, (200, "ok".to_owned()));
    // A poll that arrived after the close finds no session.
    assert!(poll == (200, "6".to_owned()) || poll.0 == 400, "{poll:?}");
    stop(server).await;
}
