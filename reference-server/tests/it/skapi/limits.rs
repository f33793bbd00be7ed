//! Message size, idle and age limits, and shutdown: each ends the connection with its close code.
//!
//! The idle and age limits are configured to a fraction of a second, so these tests wait for the
//! close itself (bounded), never for a period of time.

use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

use super::support::{bounded, login, member, start, start_with, Client};

const LIMIT: usize = 128 * 1024;

/// A broadcast frame of exactly `len` bytes.
fn broadcast_of_length(token: &str, len: usize) -> String {
    let frame = |padding: &str| {
        json!({"action": "broadcast", "rid": "room", "content": padding, "token": token})
            .to_string()
    };
    let overhead = frame("").len();
    frame(&"x".repeat(len.saturating_sub(overhead)))
}

#[tokio::test]
async fn a_message_at_the_limit_is_accepted_and_one_byte_more_closes_with_1009() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "room").await;
    let token = alice.login.identity_token();

    let at_limit = broadcast_of_length(&token, LIMIT);
    assert_eq!(at_limit.len(), LIMIT);
    alice.send_message(Message::text(at_limit)).await;
    let echoed = alice.recv().await;
    assert!(echoed["#message"]
        .as_str()
        .is_some_and(|c| c.len() > LIMIT / 2));

    let over_limit = broadcast_of_length(&token, LIMIT + 1);
    alice.send_message(Message::text(over_limit)).await;
    let (code, _) = alice.recv_close().await;
    assert_eq!(code, CloseCode::Size);
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn an_oversized_message_leaves_the_group_with_user_disconnected() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "room").await;
    let (mut bob, bob_cid) = member(addr, "bob", "room").await;
    let _bob_joined = alice.recv().await;
    bob.send_message(Message::text("x".repeat(LIMIT + 1))).await;
    assert_eq!(bob.recv_close().await.0, CloseCode::Size);
    let notice = alice.recv().await;
    assert_eq!(notice["#code"], "USER_DISCONNECTED");
    assert_eq!(notice["#scid"], bob_cid.as_str());
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn the_frame_limit_applies_to_each_frame_of_a_fragmented_message() {
    let server = start_with(reference_server::skapi::Config {
        max_frame_bytes: 1024,
        ..Default::default()
    })
    .await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "room").await;
    let token = alice.login.identity_token();

    let message = broadcast_of_length(&token, 2000).into_bytes();
    let (first, second) = message.split_at(1000);
    let text = OpCode::Data(Data::Text);
    let continuation = OpCode::Data(Data::Continue);
    alice
        .send_message(Message::Frame(Frame::message(first.to_vec(), text, false)))
        .await;
    alice
        .send_message(Message::Frame(Frame::message(
            second.to_vec(),
            continuation,
            true,
        )))
        .await;
    assert!(alice.recv().await["#message"].is_string());

    alice
        .send_message(Message::text(broadcast_of_length(&token, 2000)))
        .await;
    assert_eq!(alice.recv_close().await.0, CloseCode::Size);
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn an_idle_connection_is_closed_with_1001() {
    let server = start_with(reference_server::skapi::Config {
        idle_timeout: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let mut alice = Client::connect(&login(server.local_addr(), "alice").await).await;
    let (code, reason) = alice.recv_close().await;
    assert_eq!(code, CloseCode::Away);
    assert!(reason.contains("idle"), "{reason}");
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn a_connection_older_than_the_maximum_age_is_closed_with_1001() {
    let server = start_with(reference_server::skapi::Config {
        max_connection_age: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let mut alice = Client::connect(&login(server.local_addr(), "alice").await).await;
    let (code, reason) = alice.recv_close().await;
    assert_eq!(code, CloseCode::Away);
    assert!(reason.contains("maximum"), "{reason}");
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn shutting_down_closes_connections_with_1001() {
    let server = start().await;
    let mut alice = Client::connect(&login(server.local_addr(), "alice").await).await;
    let stopping = tokio::spawn(server.shutdown());
    let (code, _) = alice.recv_close().await;
    assert_eq!(code, CloseCode::Away);
    drop(alice);
    bounded("shutdown", stopping).await.ok();
}
