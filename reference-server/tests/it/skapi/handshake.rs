//! `/realtime?token=…`: only a valid access token of a configured user opens a connection.

use reference_server::skapi::config::{ALICE_ID, DEMO_JWT_SECRET, DEMO_OWNER, DEMO_SERVICE};
use reference_server::skapi::jwt::{self, Claims, TokenUse};
use serde_json::Value;
use tokio_tungstenite::tungstenite;

use super::support::{bounded, http, login, start, Client};

fn alice_claims(token_use: TokenUse, iat: u64, exp: u64) -> Claims {
    Claims {
        sub: ALICE_ID.into(),
        service: DEMO_SERVICE.into(),
        owner: DEMO_OWNER.into(),
        token_use,
        iat,
        exp,
        username: None,
        cognito_username: None,
    }
}

/// The status of an upgrade attempt with this query string.
async fn upgrade_status(addr: std::net::SocketAddr, query: &str) -> u16 {
    let url = format!("ws://{addr}/realtime{query}");
    match bounded("the handshake", tokio_tungstenite::connect_async(url)).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected handshake error: {other}"),
    }
}

/// The JSON reason a plain GET with this query string is refused with.
async fn refusal(addr: std::net::SocketAddr, query: &str) -> (u16, Value) {
    let response = http()
        .get(format!("http://{addr}/realtime{query}"))
        .send()
        .await
        .unwrap_or_else(|err| panic!("request failed: {err}"));
    let status = response.status().as_u16();
    let body = response
        .json()
        .await
        .unwrap_or_else(|err| panic!("refusal is not JSON: {err}"));
    (status, body)
}

#[tokio::test]
async fn bad_or_missing_tokens_are_refused_with_401_before_the_upgrade() {
    let server = start().await;
    let addr = server.local_addr();
    let now = jwt::now_seconds();
    let secret = DEMO_JWT_SECRET.as_bytes();
    let expired = jwt::sign(
        &alice_claims(TokenUse::Access, now - 7200, now - 3600),
        secret,
    );
    let id_token = jwt::sign(&alice_claims(TokenUse::Id, now, now + 3600), secret);
    let forged = jwt::sign(
        &alice_claims(TokenUse::Access, now, now + 3600),
        b"not the secret",
    );
    let cases = [
        (String::new(), "required"),
        ("?token=".to_owned(), "required"),
        ("?token=garbage".to_owned(), "not a JWT"),
        (format!("?token={expired}"), "expired"),
        (format!("?token={id_token}"), "access token is required"),
        (format!("?token={forged}"), "signature"),
    ];
    for (query, reason) in cases {
        assert_eq!(upgrade_status(addr, &query).await, 401, "{query}");
        let (status, body) = refusal(addr, &query).await;
        assert_eq!(status, 401, "{query}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{query}: {body}");
    }
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn a_valid_access_token_opens_a_connection() {
    let server = start().await;
    let alice = login(server.local_addr(), "alice").await;
    let mut client = Client::connect(&alice).await;
    // The connection is usable: a keepAlive gets no answer, the next frame answers the barrier.
    client
        .send(serde_json::json!({"action": "keepAlive"}))
        .await;
    client.expect_nothing_pending().await;
    client.close().await;
    bounded("shutdown", server.shutdown()).await.ok();
}
