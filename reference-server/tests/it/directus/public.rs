//! Public mode: no authentication needed, the public role's permissions apply, a failed `auth`
//! keeps the socket open, and a successful one upgrades it.

use reference_server::directus::AuthMode;
use serde_json::json;

use super::support::{Client, Server, ADMIN};

fn forbidden(kind: &str, collection: &str, uid: &str) -> serde_json::Value {
    json!({
        "type": kind,
        "status": "error",
        "error": {
            "code": "FORBIDDEN",
            "message": format!("You don't have permission to access collection \"{collection}\" or it does not exist. Queried in root."),
        },
        "uid": uid,
    })
}

#[tokio::test]
async fn without_public_permissions_nothing_is_readable() {
    let server = Server::with(|c| c.auth_mode = AuthMode::Public).await;
    let mut socket = Client::connect(&server.ws_url("/websocket")).await;
    socket
        .send(json!({"type": "subscribe", "collection": "secrets", "uid": "pub-secrets"}))
        .await;
    socket
        .expect(forbidden("subscribe", "secrets", "pub-secrets"))
        .await;
    socket
        .send(json!({"type": "subscribe", "collection": "messages", "uid": "pub-msgs", "query": {"limit": 1}}))
        .await;
    socket
        .expect(forbidden("subscribe", "messages", "pub-msgs"))
        .await;

    socket
        .send(json!({"type": "auth", "access_token": "bogus", "uid": "bad"}))
        .await;
    socket
        .expect(json!({
            "type": "auth", "status": "error",
            "error": {"code": "AUTH_FAILED", "message": "Authentication failed."},
            "uid": "bad",
        }))
        .await;
    // Still open after the failed auth.
    socket
        .send(json!({"type": "ping", "uid": "still-open-after-failed-auth"}))
        .await;
    socket
        .expect(json!({"type": "pong", "uid": "still-open-after-failed-auth"}))
        .await;

    socket
        .send(json!({"type": "auth", "access_token": ADMIN, "uid": "upgrade"}))
        .await;
    socket
        .expect(json!({"type": "auth", "status": "ok", "uid": "upgrade"}))
        .await;
    socket
        .send(json!({"type": "subscribe", "collection": "secrets", "event": "create", "uid": "now-admin"}))
        .await;
    socket
        .expect(json!({"type": "subscription", "event": "init", "uid": "now-admin"}))
        .await;
    socket.close().await;
    server.stop().await;
}

#[tokio::test]
async fn public_read_permission_lets_anonymous_sockets_subscribe_but_not_write() {
    let server = Server::with(|c| {
        c.auth_mode = AuthMode::Public;
        if let Some(messages) = c.collections.iter_mut().find(|c| c.name == "messages") {
            messages.permissions.read.push("public".into());
        }
    })
    .await;
    let (status, _) = server
        .rest(
            "POST",
            "/items/messages",
            Some(json!({"text": "first", "user": "p"})),
        )
        .await;
    assert_eq!(status, 200);

    let mut socket = Client::connect(&server.ws_url("/websocket")).await;
    socket
        .send(json!({"type": "subscribe", "collection": "messages", "uid": "pub", "query": {"limit": 1, "sort": ["-id"]}}))
        .await;
    socket
        .expect(json!({"type": "subscription", "event": "init", "data": [{"id": 1, "text": "first", "user": "p"}], "uid": "pub"}))
        .await;

    socket
        .send(json!({"type": "items", "collection": "messages", "action": "create", "data": {"text": "anon"}, "uid": "anon-create"}))
        .await;
    socket
        .expect(forbidden("items", "messages", "anon-create"))
        .await;

    let (status, _) = server
        .rest(
            "POST",
            "/items/messages",
            Some(json!({"text": "seen by public?", "user": "p"})),
        )
        .await;
    assert_eq!(status, 200);
    socket
        .expect(json!({"type": "subscription", "event": "create", "data": [{"id": 2, "text": "seen by public?", "user": "p"}], "uid": "pub"}))
        .await;

    // Anonymous REST reads follow the same permission.
    let (status, body) = server
        .rest_as(None, "GET", "/items/messages?fields=id", None)
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"data": [{"id": 1}, {"id": 2}]}))
    );
    let (status, _) = server.rest_as(None, "GET", "/items/secrets", None).await;
    assert_eq!(status, 403);
    socket.close().await;
    server.stop().await;
}

#[tokio::test]
async fn public_sockets_receive_heartbeat_pings() {
    let server = Server::with(|c| {
        c.auth_mode = AuthMode::Public;
        c.heartbeat_period = std::time::Duration::from_millis(600);
    })
    .await;
    let mut socket = Client::connect(&server.ws_url("/websocket")).await;
    socket.expect(json!({"type": "ping"})).await;
    socket.send(json!({"type": "pong"})).await;
    socket.expect(json!({"type": "ping"})).await;
    socket.close().await;
    server.stop().await;
}
