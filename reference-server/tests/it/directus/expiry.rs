//! Access tokens that expire while connected: TOKEN_EXPIRED, then re-authentication within the auth
//! timeout, or AUTH_TIMEOUT (and a close, except in public mode). Short lifetimes are configured.

use std::time::Duration;

use reference_server::directus::config::{DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD};
use reference_server::directus::AuthMode;
use serde_json::{json, Value};

use super::support::{Client, Frame, Server};

fn token_expired() -> Value {
    json!({"type": "auth", "status": "error", "error": {"code": "TOKEN_EXPIRED", "message": "Token expired."}})
}

fn auth_timeout() -> Value {
    json!({"type": "auth", "status": "error", "error": {"code": "AUTH_TIMEOUT", "message": "Authentication timed out."}})
}

/// Logs in over the socket with email and password; returns the refresh token of the reply.
async fn password_login(socket: &mut Client, uid: &str) -> String {
    socket
        .send(json!({"type": "auth", "email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD, "uid": uid}))
        .await;
    let reply = socket.recv().await;
    assert_eq!(reply["status"], "ok", "{reply}");
    assert_eq!(reply["uid"], uid);
    reply["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token in {reply}"))
        .to_owned()
}

#[tokio::test]
async fn expiry_then_refresh_keeps_the_socket_and_its_subscriptions() {
    let server = Server::with(|c| {
        c.access_token_ttl = Duration::from_secs(1);
        c.auth_timeout = Duration::from_secs(5);
    })
    .await;
    let mut socket = Client::connect(&server.ws_url("/websocket")).await;
    let refresh = password_login(&mut socket, "login").await;
    socket
        .send(json!({"type": "subscribe", "collection": "messages", "event": "create", "uid": "s"}))
        .await;
    socket
        .expect(json!({"type": "subscription", "event": "init", "uid": "s"}))
        .await;
    socket.expect(token_expired()).await;

    // While expired the socket acts as the public role, which may not read messages.
    let (status, _) = server
        .rest("POST", "/items/messages", Some(json!({"text": "unseen"})))
        .await;
    assert_eq!(status, 200);
    socket.quiet().await;

    socket
        .send(json!({"type": "auth", "refresh_token": refresh, "uid": "reauth"}))
        .await;
    let reply = socket.recv().await;
    assert_eq!(reply["status"], "ok", "{reply}");
    assert_eq!(reply["uid"], "reauth");
    assert!(reply["refresh_token"].is_string() && reply["refresh_token"] != json!(refresh));

    let (status, _) = server
        .rest("POST", "/items/messages", Some(json!({"text": "seen"})))
        .await;
    assert_eq!(status, 200);
    socket
        .expect(json!({"type": "subscription", "event": "create", "data": [{"id": 2, "text": "seen", "user": null}], "uid": "s"}))
        .await;
    socket.close().await;
    server.stop().await;
}

#[tokio::test]
async fn expiry_without_reauthentication_closes() {
    let server = Server::with(|c| {
        c.access_token_ttl = Duration::from_millis(200);
        c.auth_timeout = Duration::from_millis(200);
    })
    .await;
    let mut socket = Client::connect(&server.ws_url("/websocket")).await;
    password_login(&mut socket, "login").await;
    let (frames, end) = socket.closed().await;
    assert_eq!(frames, vec![token_expired(), auth_timeout()]);
    assert_eq!(end, Frame::Close(None));
    server.stop().await;
}

#[tokio::test]
async fn expiry_in_public_mode_times_out_without_closing() {
    let server = Server::with(|c| {
        c.auth_mode = AuthMode::Public;
        c.access_token_ttl = Duration::from_millis(200);
        c.auth_timeout = Duration::from_millis(200);
    })
    .await;
    let mut socket = Client::connect(&server.ws_url("/websocket")).await;
    password_login(&mut socket, "login").await;
    socket.expect(token_expired()).await;
    socket.expect(auth_timeout()).await;
    socket.quiet().await;
    socket.close().await;
    server.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_refused_at_upgrade_and_in_auth() {
    let server = Server::with(|c| c.access_token_ttl = Duration::ZERO).await;
    let (status, body) = server
        .rest_as(
            None,
            "POST",
            "/auth/login",
            Some(json!({"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(status, 200);
    let token = body["data"]["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let url = server.ws_url(&format!("/websocket?access_token={token}"));
    assert_eq!(super::support::refused(&url, &[]).await, 401);

    let mut socket = Client::connect(&server.ws_url("/websocket")).await;
    socket
        .send(json!({"type": "auth", "access_token": token}))
        .await;
    let (frames, end) = socket.closed().await;
    assert_eq!(
        frames,
        vec![
            json!({"type": "auth", "status": "error", "error": {"code": "AUTH_FAILED", "message": "Authentication handshake failed."}})
        ]
    );
    assert_eq!(end, Frame::Close(None));

    let (status, body) = server
        .rest_as(Some(&token), "GET", "/items/messages", None)
        .await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"errors": [{"message": "Token expired.", "extensions": {"code": "TOKEN_EXPIRED"}}]})
        )
    );
    server.stop().await;
}
