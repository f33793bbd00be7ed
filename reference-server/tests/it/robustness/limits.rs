//! What one connection may hold is bounded, and a burst of changes reaches a subscriber whole.

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::support::{http, next, open, send, start_with, stop, Next, Socket};

const ADMIN_TOKEN: &str = "directus-demo-token";

async fn directus_socket(addr: std::net::SocketAddr) -> Socket {
    open(
        &format!("ws://{addr}/websocket?access_token={ADMIN_TOKEN}"),
        &[],
    )
    .await
}

/// The next text frame as JSON, skipping the server's heartbeat.
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match next(socket).await {
            Next::Text(text) => {
                let value: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|err| panic!("not JSON ({err}): {text}"));
                if value["type"] != "ping" {
                    return value;
                }
            }
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

async fn subscribe(socket: &mut Socket, uid: &str, query: Value) -> Value {
    let frame = json!({"type": "subscribe", "collection": "messages", "uid": uid, "query": query});
    send(socket, Message::text(frame.to_string())).await;
    next_json(socket).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directus_refuses_subscriptions_past_the_limit_of_a_socket() {
    let server = start_with(|config| config.directus.max_subscriptions_per_connection = 3).await;
    let mut socket = directus_socket(server.local_addr()).await;
    for uid in ["a", "b", "c"] {
        let init = subscribe(&mut socket, uid, json!({})).await;
        assert_eq!(init["event"], "init", "{init}");
    }
    let refused = subscribe(&mut socket, "d", json!({})).await;
    assert_eq!(refused["status"], "error", "{refused}");
    assert_eq!(refused["error"]["code"], "REQUESTS_EXCEEDED", "{refused}");
    // Replacing a subscription by its uid, or ending one, makes room again.
    let replaced = subscribe(&mut socket, "b", json!({"limit": 1})).await;
    assert_eq!(replaced["event"], "init", "{replaced}");
    send(
        &mut socket,
        Message::text(json!({"type": "unsubscribe", "uid": "a"}).to_string()),
    )
    .await;
    assert_eq!(next_json(&mut socket).await["event"], "unsubscribe");
    let init = subscribe(&mut socket, "d", json!({})).await;
    assert_eq!(init["event"], "init", "{init}");
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directus_bounds_what_the_subscriptions_of_a_socket_hold() {
    let server = start_with(|_| {}).await;
    let mut socket = directus_socket(server.local_addr()).await;
    // Four queries of 900 kB fit in 4 MiB; a fifth does not.
    let words: Vec<String> = (0..90_000).map(|i| format!("w{i:06}")).collect();
    let query = json!({"filter": {"text": {"_in": words}}});
    assert!(query.to_string().len() > 900_000);
    for uid in ["a", "b", "c", "d"] {
        let init = subscribe(&mut socket, uid, query.clone()).await;
        assert_eq!(init["event"], "init", "{uid}");
    }
    let refused = subscribe(&mut socket, "e", query.clone()).await;
    assert_eq!(refused["error"]["code"], "REQUESTS_EXCEEDED", "{refused}");
    let small = subscribe(&mut socket, "e", json!({"limit": 1})).await;
    assert_eq!(small["event"], "init", "{small}");

    // Uids count too.
    let mut socket = directus_socket(server.local_addr()).await;
    for i in 0..4 {
        let uid = format!("{i}{}", "u".repeat(1_000_000));
        let init = subscribe(&mut socket, &uid, json!({})).await;
        assert_eq!(init["event"], "init", "uid {i}");
    }
    let uid = format!("4{}", "u".repeat(1_000_000));
    let refused = subscribe(&mut socket, &uid, json!({})).await;
    assert_eq!(refused["error"]["code"], "REQUESTS_EXCEEDED", "{refused}");
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directus_delivers_a_burst_of_created_items_whole_and_in_order() {
    let server = start_with(|_| {}).await;
    let addr = server.local_addr();
    let mut socket = directus_socket(addr).await;
    let init = subscribe(&mut socket, "all", json!({})).await;
    assert_eq!(init["event"], "init", "{init}");
    const ITEMS: usize = 3_000;
    let records: Vec<Value> = (0..ITEMS)
        .map(|i| json!({"text": format!("burst {i}")}))
        .collect();
    let response = http()
        .post(format!("http://{addr}/items/messages"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&records)
        .send()
        .await
        .unwrap_or_else(|err| panic!("create: {err}"));
    assert_eq!(response.status(), 200);
    // One event per created item, as the real server emits them.
    for i in 0..ITEMS {
        let event = next_json(&mut socket).await;
        assert_eq!(event["event"], "create", "item {i}: {event}");
        assert_eq!(event["data"][0]["text"], format!("burst {i}"), "item {i}");
    }
    send(
        &mut socket,
        Message::text(json!({"type": "ping", "uid": "after"}).to_string()),
    )
    .await;
    let pong = next_json(&mut socket).await;
    assert_eq!(pong["uid"], "after", "{pong}");
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m2_bounds_the_ids_a_connection_subscribes_to() {
    let server = start_with(|_| {}).await;
    let url = format!("ws://{}/api/realtime/connect/", server.local_addr());
    let mut socket = open(&url, &super::m2::HEADERS).await;
    // Four ids of a million bytes fit in 4 MiB; a fifth does not.
    for i in 0..5 {
        let id = format!("{i}{}", "x".repeat(1_000_000));
        let frame = json!({"action": "subscribe", "resource": {"type": "liveConfig", "id": id}});
        send(&mut socket, Message::text(frame.to_string())).await;
        match next(&mut socket).await {
            Next::Text(text) if i < 4 => assert!(text.contains("resource_not_found"), "{text}"),
            Next::Closed(code, reason) if i == 4 => {
                assert_eq!(code, 1008, "{reason}");
            }
            other => panic!("subscription {i}: {other:?}"),
        }
    }
    // The next connection starts afresh.
    let mut fresh = open(&url, &super::m2::HEADERS).await;
    let frame = json!({"action": "subscribe", "resource": {"type": "liveConfig", "id": "game"}});
    send(&mut fresh, Message::text(frame.to_string())).await;
    assert!(matches!(next(&mut fresh).await, Next::Text(t) if t.contains("resource_not_found")));
    stop(server).await;
}
