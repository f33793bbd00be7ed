//! Login, discovery, service information and `get-ws-group`.

use reference_server::skapi::config::{
    ALICE_ID, DEMO_JWT_SECRET, DEMO_OWNER, DEMO_SERVICE, OTHER_SERVICE,
};
use reference_server::skapi::jwt::{self, TokenUse};
use serde_json::{json, Value};

use super::support::{bounded, http, login, member, start, Login};

async fn post_json(url: String, body: &Value) -> (u16, Value) {
    let response = http()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap_or_else(|err| panic!("request failed: {err}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get_json(url: String) -> (u16, Value) {
    let response = http()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|err| panic!("request failed: {err}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn login_issues_signed_access_and_id_tokens() {
    let server = start().await;
    let addr = server.local_addr();
    let (status, body) = post_json(
        format!("http://{addr}/skapi/login"),
        &json!({"service": DEMO_SERVICE, "username": "alice", "password": "alice-password"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], ALICE_ID);
    assert_eq!(body["service"], DEMO_SERVICE);
    assert_eq!(body["owner"], DEMO_OWNER);
    let secret = DEMO_JWT_SECRET.as_bytes();
    let now = jwt::now_seconds();
    let access = jwt::verify(
        body["access_token"].as_str().unwrap_or_default(),
        secret,
        TokenUse::Access,
        now,
    )
    .unwrap_or_else(|err| panic!("access token: {err}"));
    assert_eq!(access.sub, ALICE_ID);
    assert_eq!(access.service, DEMO_SERVICE);
    assert_eq!(access.owner, DEMO_OWNER);
    assert!(access.exp > now);
    let id = jwt::verify(
        body["id_token"].as_str().unwrap_or_default(),
        secret,
        TokenUse::Id,
        now,
    )
    .unwrap_or_else(|err| panic!("ID token: {err}"));
    assert_eq!(id.sub, ALICE_ID);
    assert_eq!(id.username.as_deref(), Some("alice"));
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn bad_logins_are_refused_with_a_reason() {
    let server = start().await;
    let url = format!("http://{}/skapi/login", server.local_addr());
    let cases = [
        (
            json!({"service": DEMO_SERVICE, "username": "alice", "password": "wrong"}),
            401,
        ),
        (
            json!({"service": DEMO_SERVICE, "username": "carol", "password": "carol-password"}),
            401,
        ),
        (
            json!({"service": "nope", "username": "alice", "password": "alice-password"}),
            404,
        ),
        (json!({"service": DEMO_SERVICE, "username": "alice"}), 400),
        (
            json!({"service": DEMO_SERVICE, "username": 7, "password": "x"}),
            400,
        ),
        (json!([1]), 400),
    ];
    for (body, expected) in cases {
        let (status, answer) = post_json(url.clone(), &body).await;
        assert_eq!(status, expected, "{body} → {answer}");
        assert!(answer["message"].is_string(), "{answer}");
        assert!(answer["code"].is_string(), "{answer}");
    }
    let response = http()
        .post(&url)
        .body("{not json")
        .send()
        .await
        .unwrap_or_else(|err| panic!("request failed: {err}"));
    assert_eq!(response.status(), 400);
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn discovery_names_the_socket_of_the_host_asked_and_it_works() {
    let server = start().await;
    let addr = server.local_addr();
    for version in ["v1", "v2"] {
        let (status, record) = get_json(format!("http://{addr}/skapi/record-{version}.json")).await;
        assert_eq!(status, 200);
        assert_eq!(record["websocket_private"], format!("ws://{addr}/realtime"));
        assert_eq!(record["record_private"], format!("http://{addr}/"));
        let (status, admin) = get_json(format!("http://{addr}/skapi/admin-{version}.json")).await;
        assert_eq!(status, 200);
        assert_eq!(admin["service_public"], format!("http://{addr}/"));
        assert!(admin["userpool_id"].is_string());
    }
    // The discovered socket URL accepts a token the way the SDK appends it.
    let (_, record) = get_json(format!("http://{addr}/skapi/record-v1.json")).await;
    let alice = login(addr, "alice").await;
    let url = format!(
        "{}?token={}",
        record["websocket_private"].as_str().unwrap_or_default(),
        alice.access_token
    );
    let (_, response) = bounded("the handshake", tokio_tungstenite::connect_async(url))
        .await
        .unwrap_or_else(|err| panic!("handshake failed: {err}"));
    assert_eq!(response.status(), 101);

    let (status, service) = get_json(format!(
        "http://{addr}/service?service={DEMO_SERVICE}&owner={DEMO_OWNER}"
    ))
    .await;
    assert_eq!(status, 200, "{service}");
    assert_eq!(service["service"], DEMO_SERVICE);
    assert!(service["service_name"].is_string());
    assert!(service["opt"].is_object());
    let (status, _) = get_json(format!("http://{addr}/service?service=nope")).await;
    assert_eq!(status, 404);
    let (status, _) = get_json(format!("http://{addr}/service")).await;
    assert_eq!(status, 400);
    bounded("shutdown", server.shutdown()).await.ok();
}

async fn get_ws_group(login: &Login, authorization: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = http()
        .post(format!("http://{}/get-ws-group", login.addr))
        .json(&body);
    if let Some(token) = authorization {
        request = request.header("Authorization", token);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|err| panic!("request failed: {err}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn get_ws_group_lists_the_users_of_a_group_and_the_groups() {
    let server = start().await;
    let addr = server.local_addr();
    let (alice, alice_cid) = member(addr, "alice", "room").await;
    let (bob, bob_cid) = member(addr, "bob", "room").await;
    let (bob_in_lobby, _) = member(addr, "bob", "lobby").await;
    let (_carol, _) = member(addr, "carol", "carols-room").await;
    let a = &alice.login;
    let token = Some(a.id_token.as_str());
    let bob_id = bob.user_id().to_owned();

    let (status, users) = get_ws_group(
        a,
        token,
        json!({"service": DEMO_SERVICE, "owner": DEMO_OWNER, "group": "room"}),
    )
    .await;
    assert_eq!(status, 200, "{users}");
    assert_eq!(
        users,
        json!({"list": [
            {"uid": format!("{DEMO_SERVICE}#{}", a.user_id), "cid": alice_cid},
            {"uid": format!("{DEMO_SERVICE}#{bob_id}"), "cid": bob_cid},
        ], "endOfList": true})
    );
    let (_, only_bob) = get_ws_group(
        a,
        token,
        json!({"service": DEMO_SERVICE, "group": "room", "user_id": bob_id}),
    )
    .await;
    assert_eq!(
        only_bob["list"].as_array().map(Vec::len),
        Some(1),
        "{only_bob}"
    );

    let (status, groups) = get_ws_group(
        a,
        token,
        json!({"service": DEMO_SERVICE, "searchFor": "group", "value": " ", "condition": ">"}),
    )
    .await;
    assert_eq!(status, 200, "{groups}");
    assert_eq!(
        groups,
        json!({"list": [
            {"rid": format!("{DEMO_SERVICE}#lobby"), "cnt": 1},
            {"rid": format!("{DEMO_SERVICE}#room"), "cnt": 2},
        ], "endOfList": true})
    );
    let (_, crowded) = get_ws_group(
        a,
        token,
        json!({"searchFor": "number_of_users", "value": 2, "condition": ">="}),
    )
    .await;
    assert_eq!(
        crowded["list"],
        json!([{"rid": format!("{DEMO_SERVICE}#room"), "cnt": 2}])
    );
    let (_, named) = get_ws_group(a, token, json!({"searchFor": "group", "value": "lobby"})).await;
    assert_eq!(
        named["list"],
        json!([{"rid": format!("{DEMO_SERVICE}#lobby"), "cnt": 1}])
    );

    // After bob's lobby connection goes, the lobby is gone from the list.
    bob_in_lobby.close().await;
    let (_, groups) = get_ws_group(a, token, json!({})).await;
    assert_eq!(
        groups["list"],
        json!([{"rid": format!("{DEMO_SERVICE}#room"), "cnt": 2}])
    );
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn get_ws_group_requires_an_id_token_of_the_service_asked() {
    let server = start().await;
    let addr = server.local_addr();
    let alice = login(addr, "alice").await;
    let body = json!({"service": DEMO_SERVICE, "group": "room"});
    let (status, answer) = get_ws_group(&alice, None, body.clone()).await;
    assert_eq!(status, 401, "{answer}");
    let (status, _) = get_ws_group(&alice, Some(&alice.access_token), body.clone()).await;
    assert_eq!(status, 401);
    let (status, _) = get_ws_group(&alice, Some("garbage"), body.clone()).await;
    assert_eq!(status, 401);
    let bearer = format!("Bearer {}", alice.id_token);
    let (status, _) = get_ws_group(&alice, Some(&bearer), body).await;
    assert_eq!(status, 200);
    let (status, _) = get_ws_group(
        &alice,
        Some(&alice.id_token),
        json!({"service": OTHER_SERVICE, "searchFor": "group"}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) =
        get_ws_group(&alice, Some(&alice.id_token), json!({"searchFor": "size"})).await;
    assert_eq!(status, 400);
    let (status, _) = get_ws_group(&alice, Some(&alice.id_token), json!({"group": 5})).await;
    assert_eq!(status, 400);
    // Nobody connected: empty lists, not errors.
    let (status, empty) =
        get_ws_group(&alice, Some(&alice.id_token), json!({"group": "room"})).await;
    assert_eq!(
        (status, empty),
        (200, json!({"list": [], "endOfList": true}))
    );
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn browsers_of_other_origins_may_call_every_endpoint() {
    let server = start().await;
    let addr = server.local_addr();
    let preflight = http()
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{addr}/get-ws-group"),
        )
        .header("Origin", "http://app.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,content-meta",
        )
        .send()
        .await
        .unwrap_or_else(|err| panic!("preflight failed: {err}"));
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let header = |name: &str| {
        preflight
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("access-control-allow-origin"), "*");
    assert!(header("access-control-allow-headers").contains("authorization"));
    assert!(header("access-control-allow-methods").contains("POST"));

    let answer = http()
        .get(format!("http://{addr}/skapi/record-v1.json"))
        .header("Origin", "http://app.example")
        .send()
        .await
        .unwrap_or_else(|err| panic!("request failed: {err}"));
    assert_eq!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
    bounded("shutdown", server.shutdown()).await.ok();
}
