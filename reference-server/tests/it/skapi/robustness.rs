//! Malformed input is answered with a clear `#error` and the connection stays usable.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::support::{bounded, member, start};

#[tokio::test]
async fn malformed_frames_get_an_error_and_the_connection_stays_open() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "room").await;
    let token = alice.login.access_token.clone();
    let malformed: Vec<(Message, &str)> = vec![
        (Message::text("not json"), "not valid JSON"),
        (Message::text("[1,2]"), "JSON object"),
        (Message::text("\"joinRoom\""), "JSON object"),
        (Message::text("{}"), "\"action\""),
        (Message::text(r#"{"action":null}"#), "\"action\""),
        (
            Message::text(r#"{"action":"dance"}"#),
            "Unknown action \"dance\"",
        ),
        (
            Message::text(json!({"action": "joinRoom", "token": token}).to_string()),
            "\"rid\"",
        ),
        (
            Message::text(json!({"action": "joinRoom", "rid": 42, "token": token}).to_string()),
            "\"rid\"",
        ),
        (
            Message::text(json!({"action": "joinRoom", "rid": "a#b", "token": token}).to_string()),
            "#",
        ),
        (
            Message::text(json!({"action": "joinRoom", "rid": "x"}).to_string()),
            "\"token\"",
        ),
        (
            Message::text(json!({"action": "broadcast", "rid": "room", "token": "t"}).to_string()),
            "\"content\"",
        ),
        (
            Message::text(
                json!({"action": "sendMessage", "uid": "bob", "content": 1, "token": "t"})
                    .to_string(),
            ),
            "user id",
        ),
        (
            Message::text(
                json!({"action": "broadcast", "rid": "room", "content": 1, "notification": 5,
                       "token": "t"})
                .to_string(),
            ),
            "\"notification\"",
        ),
        (Message::binary(vec![0x7b, 0x7d]), "Binary frames"),
    ];
    for (message, reason) in malformed {
        let shown = format!("{message:?}");
        alice.send_message(message).await;
        let error = alice.recv_error().await;
        assert!(error.contains(reason), "{shown} → {error}");
    }
    // The connection is still open and still in its group.
    alice.broadcast("room", json!("still fine")).await;
    assert_eq!(alice.recv().await["#message"], "still fine");
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn unknown_fields_are_refused_as_the_schemas_require() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "room").await;
    let token = alice.login.identity_token();
    let access = alice.login.access_token.clone();
    for frame in [
        json!({"action": "broadcast", "rid": "room", "content": "x", "token": token,
               "future": {"field": true}}),
        json!({"action": "keepAlive", "token": access}),
        json!({"action": "broadcast", "rid": "room", "content": "x", "token": token,
               "notificationConfig": {"always": true, "sound": "ding"}}),
    ] {
        alice.send(frame.clone()).await;
        let error = alice.recv_error().await;
        assert!(
            error.contains("has no field") || error.contains("notificationConfig"),
            "{frame} → {error}"
        );
    }
    // The web-push fields themselves are accepted and do not appear in the delivery.
    alice
        .send(
            json!({"action": "broadcast", "rid": "room", "content": "x", "token": token,
                     "notification": "{\"title\":\"t\",\"body\":\"b\"}",
                     "notificationConfig": {"always": true}}),
        )
        .await;
    let delivered = alice.recv().await;
    assert_eq!(
        delivered.as_object().map(|o| o.len()),
        Some(4),
        "{delivered}"
    );
    assert_eq!(delivered["#message"], "x");
    bounded("shutdown", server.shutdown()).await.ok();
}
