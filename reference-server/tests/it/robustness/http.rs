//! Malformed HTTP requests to every profile: each gets a 4xx status, never a 5xx and never a
//! dropped connection, and the server keeps what it stored.

use std::net::SocketAddr;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;

use super::directus::Directus;
use super::gamevault::GameVault;
use super::m2::M2;
use super::profile::Profile;
use super::skapi::Skapi;
use super::support::{assert_running, http, raw_status, start, stop, LIMIT};

/// One request written by hand, so that nothing a client library would refuse is out of reach.
struct Request {
    method: &'static str,
    target: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
}

impl Request {
    fn new(method: &'static str, target: impl Into<String>) -> Request {
        Request {
            method,
            target: target.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Request {
        self.headers.push((name, value.into()));
        self
    }

    fn headers(mut self, pairs: &[(&'static str, &str)]) -> Request {
        for (name, value) in pairs {
            self.headers.push((name, value.as_bytes().to_vec()));
        }
        self
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    fn json(self, body: impl Into<Vec<u8>>) -> Request {
        self.header("content-type", "application/json").body(body)
    }

    fn upgrade(self) -> Request {
        self.header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    }

    /// The head with a `Content-Length` of the body (unless one was given).
    fn head(&self) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.target).into_bytes();
        let given = |name: &str| self.headers.iter().any(|(n, _)| *n == name);
        if !given("host") {
            head.extend_from_slice(b"host: 127.0.0.1\r\n");
        }
        if !given("connection") {
            head.extend_from_slice(b"connection: close\r\n");
        }
        for (name, value) in &self.headers {
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        }
        if !self.headers.iter().any(|(n, _)| *n == "content-length") {
            head.extend_from_slice(format!("content-length: {}\r\n", self.body.len()).as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        head
    }
}

/// Sends each request; its status must be one of those given.
async fn check(addr: SocketAddr, cases: Vec<(&str, Request, &[u16])>) {
    for (what, request, expected) in cases {
        let status = raw_status(addr, &request.head(), request.body).await;
        assert!(status < 500, "{what}: server error {status}");
        assert!(
            expected.contains(&status),
            "{what}: status {status}, expected one of {expected:?}"
        );
    }
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// A JSON string body of three megabytes, over every body limit.
fn huge_body() -> String {
    format!("\"{}\"", "x".repeat(3 << 20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m2_answers_malformed_requests_with_4xx() {
    let mut server = start().await;
    let addr = server.local_addr();
    let mut m2 = M2::new(addr);
    m2.store().await;
    let upsert = "/api/kvstore/upsert/";
    let valid = r#"{"id":"demoUser","store":"kvstoreClient","key":"k","data":1}"#;
    let with_auth = |method, path: &str| Request::new(method, path).headers(&super::m2::HEADERS);
    let many_tokens = vec!["json"; 100].join(", ");
    // Digits of the base58 alphabet (encoding real text that long would take the test minutes).
    let long_token = "2NEpo7TZRRrLZSi2U".repeat(16_000);
    let cases: Vec<(&str, Request, &[u16])> = vec![
        ("no credentials", Request::new("POST", upsert).json(valid), &[401]),
        (
            "an unknown key",
            Request::new("POST", upsert)
                .header("x-api-key", "nope")
                .header("x-m2-organization-id", "testOrg")
                .json(valid),
            &[401],
        ),
        (
            "a key that is not text",
            Request::new("POST", upsert)
                .header("x-api-key", vec![0xff, 0xfe, 0x80])
                .header("x-m2-organization-id", "testOrg")
                .json(valid),
            &[400],
        ),
        ("not JSON", with_auth("POST", upsert).json("{not json"), &[400]),
        ("an empty body", with_auth("POST", upsert).json(""), &[400]),
        ("10000 nested arrays", with_auth("POST", upsert).json(nested(10_000)), &[400]),
        (
            "a number out of range",
            with_auth("POST", upsert).json(valid.replace("\"data\":1", "\"data\":1e400")),
            &[400],
        ),
        (
            "a number where text belongs",
            with_auth("POST", upsert).json(valid.replace("\"demoUser\"", "5")),
            &[400],
        ),
        ("three megabytes", with_auth("POST", upsert).json(huge_body()), &[413]),
        (
            "a read that is not a list",
            with_auth("POST", "/api/kvstore/read/").json("{}"),
            &[400],
        ),
        (
            "keys without an id",
            with_auth("GET", "/api/kvstore/keys/?store=kvstoreClient"),
            &[400],
        ),
        (
            "a transfer of i64::MIN",
            with_auth("POST", "/api/datasources/transfer").json(
                r#"[{"userId":"demoUser","datasourceId":"public","objectDefinitionId":"o","change":-9223372036854775808}]"#,
            ),
            &[409],
        ),
        (
            "a transfer beyond i64",
            with_auth("POST", "/api/datasources/transfer").json(
                r#"[{"userId":"demoUser","datasourceId":"public","objectDefinitionId":"o","change":9223372036854775808}]"#,
            ),
            &[400],
        ),
        ("a config name that is not UTF-8", with_auth("PUT", "/api/liveconfig/%FF%FE").json("{}"), &[400]),
        ("a config name with a space", with_auth("PUT", "/api/liveconfig/a%20b").json("{}"), &[400]),
        ("a config that does not exist", with_auth("GET", "/api/liveconfig/missing"), &[404]),
        (
            "a hundred offered subprotocols",
            Request::new("GET", "/api/realtime/connect/")
                .upgrade()
                .header("sec-websocket-protocol", many_tokens),
            &[400],
        ),
        (
            "a subprotocol token of 272 000 base58 digits",
            Request::new("GET", "/api/realtime/connect/")
                .upgrade()
                .header("sec-websocket-protocol", long_token),
            &[400, 431],
        ),
        (
            "credentials but no upgrade",
            with_auth("GET", "/api/realtime/connect/"),
            &[400, 426],
        ),
    ];
    check(addr, cases).await;
    assert_running(&mut server);
    m2.check_stored().await;
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directus_answers_malformed_requests_with_4xx() {
    let mut server = start().await;
    let addr = server.local_addr();
    let mut directus = Directus::new(addr);
    directus.store().await;
    let admin = [("authorization", "Bearer directus-demo-token")];
    let reader = [("authorization", "Bearer directus-reader-token")];
    let deep_filter = format!("/items/messages?filter{}=1", "[a]".repeat(5_000));
    let cases: Vec<(&str, Request, &[u16])> = vec![
        (
            "login without a body",
            Request::new("POST", "/auth/login").json(""),
            &[400],
        ),
        (
            "login with bad JSON",
            Request::new("POST", "/auth/login").json("{\"email\":"),
            &[400],
        ),
        (
            "login with a number",
            Request::new("POST", "/auth/login").json(r#"{"email":5,"password":5}"#),
            &[400],
        ),
        (
            "login of three megabytes",
            Request::new("POST", "/auth/login").json(huge_body()),
            &[413],
        ),
        (
            "a wrong password",
            Request::new("POST", "/auth/login")
                .json(r#"{"email":"admin@example.com","password":"nope"}"#),
            &[401],
        ),
        (
            "a filter nested 5000 deep",
            Request::new("GET", deep_filter).headers(&reader),
            &[400],
        ),
        (
            "a filter that is not JSON",
            Request::new("GET", "/items/messages?filter=%7Bnope").headers(&reader),
            &[400],
        ),
        (
            "a limit beyond i64",
            Request::new("GET", "/items/messages?limit=99999999999999999999").headers(&reader),
            &[400],
        ),
        (
            "a negative page",
            Request::new("GET", "/items/messages?page=-1").headers(&reader),
            &[400],
        ),
        (
            "a token that means nothing",
            Request::new("GET", "/items/messages").header("authorization", "Bearer nonsense"),
            &[401],
        ),
        (
            "an item id that is not UTF-8",
            Request::new("GET", "/items/messages/%FF").headers(&reader),
            &[400],
        ),
        (
            "a delete that is not JSON",
            Request::new("DELETE", "/items/messages")
                .headers(&admin)
                .json("["),
            &[400],
        ),
        (
            "an update whose filter is not a list",
            Request::new("PATCH", "/items/messages")
                .headers(&admin)
                .json(r#"{"data":{},"query":{"filter":{"_and":5}}}"#),
            &[400],
        ),
        (
            "the socket path without an upgrade",
            Request::new("GET", "/websocket"),
            &[404],
        ),
        (
            "an upgrade with a bad token",
            Request::new("GET", "/websocket?access_token=nonsense").upgrade(),
            &[401],
        ),
        (
            "an item with the largest id",
            Request::new("POST", "/items/messages")
                .headers(&admin)
                .json(r#"{"id":9223372036854775807,"text":"last"}"#),
            &[200],
        ),
        (
            "an item after the largest id",
            Request::new("POST", "/items/messages")
                .headers(&admin)
                .json(r#"{"text":"next"}"#),
            &[400],
        ),
    ];
    check(addr, cases).await;
    assert_running(&mut server);
    directus.check_stored().await;
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skapi_answers_malformed_requests_with_4xx() {
    let mut server = start().await;
    let addr = server.local_addr();
    let mut skapi = Skapi::new(addr).await;
    skapi.store().await;
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(r#"{"sub":"x","exp":99999999999}"#)
    );
    let id_token = login_id_token(addr).await;
    let cases: Vec<(&str, Request, &[u16])> = vec![
        (
            "login with bad JSON",
            Request::new("POST", "/skapi/login").json("nope"),
            &[400],
        ),
        (
            "login with numbers",
            Request::new("POST", "/skapi/login").json(r#"{"service":5}"#),
            &[400],
        ),
        (
            "login of three megabytes",
            Request::new("POST", "/skapi/login").json(huge_body()),
            &[413],
        ),
        (
            "login to no service",
            Request::new("POST", "/skapi/login")
                .json(r#"{"service":"nope","username":"alice","password":"x"}"#),
            &[404],
        ),
        (
            "a wrong password",
            Request::new("POST", "/skapi/login")
                .json(r#"{"service":"ap21demo","username":"alice","password":"x"}"#),
            &[401],
        ),
        (
            "a socket without a token",
            Request::new("GET", "/realtime").upgrade(),
            &[401],
        ),
        (
            "a socket with a bad token",
            Request::new("GET", "/realtime?token=a.b.c").upgrade(),
            &[401],
        ),
        (
            "a socket with an unsigned token",
            Request::new("GET", format!("/realtime?token={unsigned}")).upgrade(),
            &[401],
        ),
        (
            "groups without a token",
            Request::new("POST", "/get-ws-group").json("{}"),
            &[401],
        ),
        (
            "groups with a token of 100 000 characters",
            Request::new("POST", "/get-ws-group")
                .header("authorization", format!("Bearer {}", "e".repeat(100_000)))
                .json("{}"),
            &[401],
        ),
        (
            "groups with bad JSON",
            Request::new("POST", "/get-ws-group")
                .header("authorization", id_token.as_str())
                .json("["),
            &[400],
        ),
        (
            "a service without its id",
            Request::new("GET", "/service"),
            &[400],
        ),
        (
            "a service that does not exist",
            Request::new("GET", "/service?service=nope"),
            &[404],
        ),
        (
            "endpoints for a host with a path",
            Request::new("GET", "/skapi/record-v1.json").header("host", "evil.example/path"),
            &[400],
        ),
    ];
    check(addr, cases).await;
    assert_running(&mut server);
    skapi.check_stored().await;
    stop(server).await;
}

async fn login_id_token(addr: SocketAddr) -> String {
    let body: Value = http()
        .post(format!("http://{addr}/skapi/login"))
        .json(
            &serde_json::json!({"service": "ap21demo", "username": "alice",
                                  "password": "alice-password"}),
        )
        .send()
        .await
        .unwrap_or_else(|err| panic!("skapi login: {err}"))
        .json()
        .await
        .unwrap_or_else(|err| panic!("skapi login: {err}"));
    body["id_token"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gamevault_answers_malformed_requests_with_4xx() {
    let mut server = start().await;
    let addr = server.local_addr();
    let mut gamevault = GameVault::new(addr);
    gamevault.store().await;
    let sid = polling_session(addr).await;
    let polling = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let basic = |text: &str| format!("Basic {}", STANDARD.encode(text));
    let register = "/api/auth/basic/register";
    let cases: Vec<(&str, Request, &[u16])> = vec![
        (
            "register with bad JSON",
            Request::new("POST", register).json("{"),
            &[400],
        ),
        (
            "register without a content type",
            Request::new("POST", register).body("{}"),
            &[400],
        ),
        (
            "register with numbers",
            Request::new("POST", register).json(r#"{"username":1,"password":2}"#),
            &[400],
        ),
        // The GameVault API answers every unreadable body with 400.
        (
            "register of three megabytes",
            Request::new("POST", register).json(huge_body()),
            &[400, 413],
        ),
        (
            "a name too long",
            Request::new("POST", register).json(format!(
                r#"{{"username":"{}","password":"p"}}"#,
                "n".repeat(129)
            )),
            &[400],
        ),
        (
            "Basic credentials that are not base64",
            Request::new("GET", "/api/auth/basic/login").header("authorization", "Basic !!!"),
            &[401],
        ),
        (
            "Basic credentials without a colon",
            Request::new("GET", "/api/auth/basic/login").header("authorization", basic("nocolon")),
            &[401],
        ),
        (
            "Basic credentials that are not UTF-8",
            Request::new("GET", "/api/auth/basic/login").header(
                "authorization",
                format!("Basic {}", STANDARD.encode([0xff, b':', 0xfe])),
            ),
            &[401],
        ),
        (
            "an authorization that is not text",
            Request::new("GET", "/api/users/me").header("authorization", vec![0xff, 0x80]),
            &[401],
        ),
        (
            "a bearer token that means nothing",
            Request::new("GET", "/api/users/me").header("authorization", "Bearer a.b.c"),
            &[401],
        ),
        ("no query", Request::new("GET", "/socket.io/"), &[400]),
        (
            "an old protocol",
            Request::new("GET", "/socket.io/?EIO=3&transport=polling"),
            &[400],
        ),
        (
            "an unknown transport",
            Request::new("GET", "/socket.io/?EIO=4&transport=pigeon"),
            &[400],
        ),
        (
            "an unknown session",
            Request::new("GET", "/socket.io/?EIO=4&transport=polling&sid=nope"),
            &[400],
        ),
        (
            "a polling body that is not a packet",
            Request::new("POST", polling.clone()).json("x"),
            &[400],
        ),
        ("the session it ended", Request::new("GET", polling), &[400]),
    ];
    check(addr, cases).await;

    let sid = polling_session(addr).await;
    let polling = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let sid2 = polling_session(addr).await;
    let polling2 = format!("/socket.io/?EIO=4&transport=polling&sid={sid2}");
    let sid3 = polling_session(addr).await;
    let polling3 = format!("/socket.io/?EIO=4&transport=polling&sid={sid3}");
    let cases: Vec<(&str, Request, &[u16])> = vec![
        (
            "a polling body one byte over maxPayload",
            Request::new("POST", polling).json(format!("4{}", "x".repeat(LIMIT))),
            &[413],
        ),
        (
            "a polling body announcing a terabyte",
            Request::new("POST", polling2)
                .header("content-length", "1000000000000")
                .json(""),
            &[413],
        ),
        (
            "a polling body that is not UTF-8",
            Request::new("POST", polling3).json(vec![b'4', 0xff, 0xfe]),
            &[400],
        ),
    ];
    check(addr, cases).await;
    assert_running(&mut server);
    gamevault.check_stored().await;
    stop(server).await;
}

/// Opens an Engine.IO long-polling session; its id.
async fn polling_session(addr: SocketAddr) -> String {
    let open = http()
        .get(format!("http://{addr}/socket.io/?EIO=4&transport=polling"))
        .send()
        .await
        .unwrap_or_else(|err| panic!("polling handshake: {err}"))
        .text()
        .await
        .unwrap_or_else(|err| panic!("polling handshake: {err}"));
    let json: Value = serde_json::from_str(open.strip_prefix('0').unwrap_or_default())
        .unwrap_or_else(|err| panic!("open packet {open:?}: {err}"));
    json["sid"].as_str().unwrap_or_default().to_owned()
}
