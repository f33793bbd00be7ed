//! The REST endpoints: register, log in, refresh, the current user with its secret, status.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Value};

use super::support::*;

fn basic(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{username}:{password}"))
    )
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|err| panic!("not JSON ({err}): {body}"))
}

#[tokio::test]
async fn status_reports_healthy() {
    let server = start().await;
    let (status, body) = request(
        Method::GET,
        &format!("http://{}/api/status", server.local_addr()),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let body = parse(&body);
    assert_eq!(body["status"], "HEALTHY");
    assert!(body["version"].is_string());
    stop(server).await;
}

#[tokio::test]
async fn login_then_users_me_shows_the_secret_under_both_names() {
    let server = start().await;
    let base = format!("http://{}", server.local_addr());
    let auth = basic("alice", "alice-password");
    let (status, body) = request(
        Method::GET,
        &format!("{base}/api/auth/basic/login"),
        &[("Authorization", auth.as_str())],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let tokens = parse(&body);
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(tokens["refresh_token"].is_string());

    let bearer = format!("Bearer {access}");
    for authorization in [bearer.as_str(), auth.as_str()] {
        let (status, body) = request(
            Method::GET,
            &format!("{base}/api/users/me"),
            &[("Authorization", authorization)],
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let me = parse(&body);
        assert_eq!(me["id"], ALICE_ID);
        assert_eq!(me["username"], "alice");
        assert_eq!(me["socket_secret"], ALICE_SECRET);
        assert_eq!(me["api_key"], ALICE_SECRET);
    }

    let refresh = format!(
        "Bearer {}",
        tokens["refresh_token"].as_str().unwrap_or_default()
    );
    let (status, body) = request(
        Method::POST,
        &format!("{base}/api/auth/refresh"),
        &[("Authorization", refresh.as_str())],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(parse(&body)["access_token"].is_string());
    stop(server).await;
}

#[tokio::test]
async fn bad_credentials_get_401() {
    let server = start().await;
    let base = format!("http://{}", server.local_addr());
    let wrong = basic("alice", "nope");
    let cases: [(&str, Vec<(&str, &str)>); 5] = [
        ("/api/users/me", vec![]),
        ("/api/users/me", vec![("Authorization", wrong.as_str())]),
        (
            "/api/users/me",
            vec![("Authorization", "Bearer forged.token.here")],
        ),
        ("/api/users/me", vec![("X-Api-Key", ALICE_SECRET)]),
        (
            "/api/auth/basic/login",
            vec![("Authorization", wrong.as_str())],
        ),
    ];
    for (path, headers) in cases {
        let (status, body) = request(Method::GET, &format!("{base}{path}"), &headers, None).await;
        assert_eq!(status, 401, "{path} {headers:?}");
        assert_eq!(
            parse(&body),
            json!({"message": "Unauthorized", "statusCode": 401})
        );
    }
    stop(server).await;
}

#[tokio::test]
async fn a_registered_user_gets_a_secret_that_opens_the_socket() {
    let server = start().await;
    let addr = server.local_addr();
    let base = format!("http://{addr}");
    let registration = json!({"username": "carol", "password": "carol-password"}).to_string();
    let (status, body) = request(
        Method::POST,
        &format!("{base}/api/auth/basic/register"),
        &[("Content-Type", "application/json")],
        Some(registration.clone()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let user = parse(&body);
    assert_eq!(user["id"], 3);
    assert_eq!(user["username"], "carol");
    let secret = user["socket_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(secret.len(), 64);
    assert!(secret
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(user["api_key"], json!(secret));

    let (status, _) = request(
        Method::POST,
        &format!("{base}/api/auth/basic/register"),
        &[("Content-Type", "application/json")],
        Some(registration),
    )
    .await;
    assert_eq!(status, 409, "the name is taken");
    for bad in ["{}", "not json", "{\"username\":\"\",\"password\":\"x\"}"] {
        let (status, _) = request(
            Method::POST,
            &format!("{base}/api/auth/basic/register"),
            &[("Content-Type", "application/json")],
            Some(bad.to_owned()),
        )
        .await;
        assert_eq!(status, 400, "{bad}");
    }

    let (mut socket, _) = EioSocket::open(addr, &[("X-Api-Key", secret.as_str())]).await;
    socket.send("40").await;
    assert!(socket.text().await.starts_with("40{\"sid\""));
    socket
        .send("42[\"set-activity\",{\"state\":\"ONLINE\"}]")
        .await;
    socket.text().await;
    assert_eq!(argument(&socket.text().await, "activity")["user_id"], 3);
    stop(server).await;
}
