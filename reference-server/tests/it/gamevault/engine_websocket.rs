//! Engine.IO v4 over a WebSocket-only session: the open packet, query errors, the heartbeat and
//! its timeout, the close packet, malformed packets and the payload limit.

use reqwest::Method;
use serde_json::Value;

use super::support::*;

#[tokio::test]
async fn the_open_packet_has_exactly_the_five_keys() {
    let server = start().await;
    let (mut socket, open) = EioSocket::open(server.local_addr(), &v9(ALICE_SECRET)).await;
    let Value::Object(fields) = &open else {
        panic!("open payload is not an object: {open}");
    };
    let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert!(
        is_socket_id(open["sid"].as_str().unwrap_or_default()),
        "{open}"
    );
    assert_eq!(open["upgrades"], serde_json::json!([]));
    assert_eq!(open["pingInterval"], 25000);
    assert_eq!(open["pingTimeout"], 20000);
    assert_eq!(open["maxPayload"], 1_000_000);
    socket.send("1").await;
    socket.closed().await;
    stop(server).await;
}

#[tokio::test]
async fn bad_queries_get_the_engine_io_error_codes() {
    let server = start().await;
    let addr = server.local_addr();
    let cases = [
        ("transport=polling", 5, "Unsupported protocol version"),
        ("EIO=3&transport=polling", 5, "Unsupported protocol version"),
        (
            "EIO=abc&transport=polling",
            5,
            "Unsupported protocol version",
        ),
        ("EIO=4", 0, "Transport unknown"),
        ("EIO=4&transport=abc", 0, "Transport unknown"),
        (
            "EIO=4&transport=polling&sid=unknown",
            1,
            "Session ID unknown",
        ),
    ];
    for (query, code, message) in cases {
        let (status, body) = request(
            Method::GET,
            &format!("http://{addr}/socket.io/?{query}"),
            &[],
            None,
        )
        .await;
        assert_eq!(status, 400, "{query}");
        let json: Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"code": code, "message": message}),
            "{query}"
        );
    }
    for (query, code) in [
        ("transport=websocket", 5),
        ("EIO=3&transport=websocket", 5),
        ("EIO=4&transport=websocket&sid=unknown", 1),
    ] {
        let refused = EioSocket::connect(addr, query, &[])
            .await
            .err()
            .unwrap_or_else(|| panic!("{query} was upgraded"));
        assert_eq!(refused.status, 400, "{query}");
        let json: Value = serde_json::from_str(&refused.body).unwrap_or_default();
        assert_eq!(json["code"], code, "{query}");
    }
    stop(server).await;
}

#[tokio::test]
async fn the_server_pings_and_a_client_that_answers_stays_connected() {
    let server = start_with(|gv| {
        gv.ping_interval_ms = 50;
        gv.ping_timeout_ms = 5_000;
    })
    .await;
    let (mut socket, open) = EioSocket::open(server.local_addr(), &v9(ALICE_SECRET)).await;
    assert_eq!(open["pingInterval"], 50);
    for _ in 0..3 {
        assert_eq!(socket.text().await, "2");
        socket.send("3").await;
    }
    socket.send("40").await;
    let next = socket.text().await;
    assert!(next.starts_with("40{"), "{next}");
    stop(server).await;
}

#[tokio::test]
async fn a_client_that_does_not_pong_is_closed() {
    let server = start_with(|gv| {
        gv.ping_interval_ms = 50;
        gv.ping_timeout_ms = 50;
    })
    .await;
    let (mut socket, _) = EioSocket::open(server.local_addr(), &v9(ALICE_SECRET)).await;
    assert_eq!(socket.text().await, "2");
    assert_eq!(socket.closed().await, Some(1008));
    stop(server).await;
}

#[tokio::test]
async fn a_ping_from_the_client_is_a_protocol_error() {
    let server = start().await;
    let (mut socket, _) = EioSocket::open(server.local_addr(), &v9(ALICE_SECRET)).await;
    socket.send("2").await;
    assert_eq!(socket.closed().await, Some(1002));
    stop(server).await;
}

#[tokio::test]
async fn the_close_packet_ends_the_session() {
    let server = start().await;
    let (mut socket, _) = EioSocket::open(server.local_addr(), &v9(ALICE_SECRET)).await;
    socket.send("1").await;
    assert_eq!(socket.closed().await, Some(1000));
    stop(server).await;
}

#[tokio::test]
async fn malformed_engine_io_packets_close_the_connection() {
    let server = start().await;
    for packet in ["abc", "", "7", "0{}"] {
        let (mut socket, _) = EioSocket::open(server.local_addr(), &v9(ALICE_SECRET)).await;
        socket.send(packet).await;
        assert_eq!(socket.closed().await, Some(1002), "{packet:?}");
    }
    stop(server).await;
}

#[tokio::test]
async fn a_message_over_max_payload_closes_with_1009() {
    let server = start_with(|gv| gv.max_payload = 1_000).await;
    let (mut socket, open) = EioSocket::open(server.local_addr(), &v9(ALICE_SECRET)).await;
    assert_eq!(open["maxPayload"], 1_000);
    socket.send("40").await;
    socket.text().await;
    socket.text().await;
    let big = format!("42[\"set-activity\",\"{}\"]", "x".repeat(2_000));
    socket.try_send(&big).await;
    assert_eq!(socket.closed().await, Some(1009));
    stop(server).await;
}

#[tokio::test]
async fn upgrade_and_noop_packets_are_ignored_on_an_open_session() {
    let server = start().await;
    let (mut socket, _) = EioSocket::open(server.local_addr(), &v9(ALICE_SECRET)).await;
    socket.send("5").await;
    socket.send("6").await;
    socket.send("3").await;
    socket.send("40").await;
    assert!(socket.text().await.starts_with("40{"));
    stop(server).await;
}

#[tokio::test]
async fn shutdown_closes_sessions_with_going_away() {
    let server = start().await;
    let (mut socket, _) = EioSocket::open(server.local_addr(), &v9(ALICE_SECRET)).await;
    let stopping = tokio::spawn(stop(server));
    assert_eq!(socket.closed().await, Some(1001));
    bounded("the server to stop", stopping)
        .await
        .unwrap_or_else(|err| panic!("stop task: {err}"));
}
