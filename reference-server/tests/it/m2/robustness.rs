//! Malformed input gets the documented error and leaves the connection usable; limits close it.

use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

use super::support::*;

#[tokio::test]
async fn malformed_messages_get_the_error_and_the_connection_stays_usable() {
    let server = start().await;
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    let malformed = [
        "not json",
        "",
        "[]",
        "null",
        "\"subscribe\"",
        "{}",
        r#"{"action":"subscribe"}"#,
        r#"{"action":"subscribe","resource":"public"}"#,
        r#"{"action":"subscribe","resource":{"type":"collection"}}"#,
        r#"{"action":"subscribe","resource":{"type":"collection","id":7}}"#,
        r#"{"action":7,"resource":{"type":"collection","id":"public"}}"#,
        r#"{"action":"publish","resource":{"type":"collection","id":"public"}}"#,
        r#"{"action":"Subscribe","resource":{"type":"collection","id":"public"}}"#,
        r#"{"action":"subscribe","resource":{"type":"table","id":"public"}}"#,
        r#"{"action":"subscribe","resource":{"type":"kvstore","id":"World:kvstoreClient:k"}}"#,
        r#"{"action":"subscribe","resource":{"type":"collection","id":"shared"}}"#,
        r#"{"action":"subscribe","resource":{"type":"kvStore","id":"testKey"}}"#,
        r#"{"action":"subscribe","resource":{"type":"kvStore","id":"World:kvstoreClient:"}}"#,
        r#"{"action":"subscribe","resource":{"type":"kvStore","id":"Galaxy:kvstoreClient:k"}}"#,
        r#"{"action":"subscribe","resource":{"type":"kvStore","id":"World:kvstore:k"}}"#,
        r#"{"action":"subscribe","resource":{"type":"liveConfig","id":""}}"#,
        r#"{"action":"subscribe","resource":{"type":"liveConfig","id":"two words"}}"#,
        r#"{"action":"subscribe","resource":{"type":"collection","id":"public"},"extra":1}"#,
        r#"{"action":"subscribe","resource":{"type":"collection","id":"public","extra":1}}"#,
        r#"{"action":"unsubscribe","resource":{"type":"collection","id":"shared"}}"#,
        r#"{"action":"subscribe","resource":{"type":"collection","id":"public"}"#,
    ];
    for text in malformed {
        client.send_text(text).await;
        assert_eq!(client.recv_text().await, INVALID, "{text:?}");
    }
    client
        .send_message(Message::binary(
            br#"{"action":"subscribe","resource":{"type":"collection","id":"public"}}"#.to_vec(),
        ))
        .await;
    assert_eq!(client.recv_text().await, INVALID, "binary frame");

    assert_eq!(
        client.subscribe("collection", "public").await,
        warning("Collection")
    );
    stop(server).await;
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let server = start_with(|config| config.m2.max_message_bytes = Some(1024)).await;
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    let fits =
        json!({"action": "subscribe", "resource": {"type": "liveConfig", "id": "x".repeat(900)}});
    client.send(fits).await;
    assert_eq!(client.recv().await, warning("LiveConfig"));
    let too_big =
        json!({"action": "subscribe", "resource": {"type": "liveConfig", "id": "x".repeat(2000)}});
    client.send(too_big).await;
    let (code, _) = client.expect_close().await;
    assert_eq!(code, 1009);
    stop(server).await;
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let server = start().await;
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    let frame = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    client.send_message(Message::Frame(frame)).await;
    let (code, _) = client.expect_close().await;
    assert_eq!(code, 1007);
    stop(server).await;
}

#[tokio::test]
async fn a_flood_of_frames_is_answered_one_by_one() {
    let server = start().await;
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    const FLOOD: usize = 2000;
    // Sent without reading: the server reads the next frame only after answering the previous
    // one, so what piles up is in the socket buffers, not in server memory.
    let writer = async {
        for i in 0..FLOOD {
            let text = if i % 2 == 0 {
                "flood".to_owned()
            } else {
                json!({"action": "subscribe", "resource": {"type": "liveConfig", "id": format!("c{i}")}}).to_string()
            };
            client.send_text(&text).await;
        }
        client
    };
    let mut client = bounded("the flood to be sent", writer).await;
    for i in 0..FLOOD {
        let reply = client.recv().await;
        if i % 2 == 0 {
            assert_eq!(reply["error"], "Invalid message format", "frame {i}");
        } else {
            assert_eq!(reply, warning("LiveConfig"), "frame {i}");
        }
    }
    assert_eq!(
        client.subscribe("collection", "private").await,
        warning("Collection")
    );
    stop(server).await;
}

#[tokio::test]
async fn subscriptions_beyond_the_limit_close_the_connection() {
    let server = start_with(|config| config.m2.max_subscriptions_per_connection = 2).await;
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    assert_eq!(
        client.subscribe("collection", "public").await,
        warning("Collection")
    );
    assert_eq!(
        client.subscribe("collection", "private").await,
        warning("Collection")
    );
    // Re-subscribing to a held resource does not count.
    assert_eq!(
        client.subscribe("collection", "public").await,
        warning("Collection")
    );
    client
        .send(json!({"action": "subscribe", "resource": {"type": "liveConfig", "id": "game"}}))
        .await;
    let (code, reason) = client.expect_close().await;
    assert_eq!(code, 1008, "{reason}");
    stop(server).await;
}

#[tokio::test]
async fn shutdown_closes_with_1001() {
    let server = start().await;
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    assert_eq!(
        client.subscribe("collection", "public").await,
        warning("Collection")
    );
    let stopping = tokio::spawn(stop(server));
    let (code, _) = client.expect_close().await;
    assert_eq!(code, 1001);
    bounded("the server to stop", stopping)
        .await
        .unwrap_or_else(|err| panic!("stop task failed: {err}"));
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_is_closed_with_1013() {
    let server = start_with(|config| config.limits.outbound_queue = 4).await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    for key in &keys {
        api.upsert("demoUser", "World", key, json!(1)).await;
        let reply = client
            .subscribe("kvStore", &format!("World:kvstoreClient:{key}"))
            .await;
        assert_eq!(reply["data"], 1);
    }
    // One clear deletes all ten keys in one step, faster than any connection drains: ten pushes
    // meet a queue of four.
    let (status, body) = api
        .post(
            "/api/kvstore/clear/",
            json!({"id": "demoUser", "store": "kvstoreClient"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (code, reason) = client.expect_close().await;
    assert_eq!((code, reason.as_str()), (1013, "outbound queue full"));
    stop(server).await;
}
