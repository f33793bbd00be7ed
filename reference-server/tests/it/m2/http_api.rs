//! The HTTP API: KV store, transfers, live config; permissions and bad bodies.

use serde_json::{json, Value};

use super::support::*;

#[tokio::test]
async fn kv_read_keys_upsert_delete_and_clear() {
    let server = start().await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    for (key, data) in [
        ("a", json!(1)),
        ("b", json!({"x": [true]})),
        ("c:d", json!("s")),
        ("keep", json!(0)),
    ] {
        api.upsert("demoUser", "World", key, data).await;
    }
    let (status, body) = api
        .post(
            "/api/kvstore/read/",
            json!([
                {"id": "demoUser", "store": "kvstoreClient", "key": "b"},
                {"id": "demoUser", "store": "kvstoreClient", "key": "missing", "scope": "World"},
                {"id": "demoUser", "store": "kvstoreClient", "key": "a", "scope": "Project"},
            ]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([
            {"status": "ok", "id": "demoUser", "store": "kvstoreClient", "object": {"key": "b", "data": {"x": [true]}}},
            {"status": "not_found", "id": "demoUser", "store": "kvstoreClient", "object": {"key": "missing"}},
            {"status": "not_found", "id": "demoUser", "store": "kvstoreClient", "object": {"key": "a"}},
        ])
    );

    let (status, body) = api
        .get("/api/kvstore/keys/?id=demoUser&store=kvstoreClient&scope=World")
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"keys": ["a", "b", "c:d", "keep"]}))
    );
    // Without `scope`, the deepest scope the headers name (World here).
    let (_, body) = api
        .get("/api/kvstore/keys/?id=demoUser&store=kvstoreClient")
        .await;
    assert_eq!(body, json!({"keys": ["a", "b", "c:d", "keep"]}));

    assert_eq!(
        api.delete_keys("demoUser", "World", &["a", "never"]).await,
        json!(["a"])
    );
    let (status, body) = api
        .post(
            "/api/kvstore/clear/",
            json!({"id": "demoUser", "store": "kvstoreClient", "keysToIgnore": ["keep"], "scope": "World"}),
        )
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"status": "ok", "deleted": ["b", "c:d"]}))
    );
    let (_, body) = api
        .get("/api/kvstore/keys/?id=demoUser&store=kvstoreClient&scope=World")
        .await;
    assert_eq!(body, json!({"keys": ["keep"]}));
    stop(server).await;
}

#[tokio::test]
async fn clear_pushes_a_deletion_to_each_subscriber() {
    let server = start().await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    api.upsert("demoUser", "World", "gone", json!(1)).await;
    api.upsert("demoUser", "World", "kept", json!(2)).await;
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    for key in ["gone", "kept"] {
        let reply = client
            .subscribe("kvStore", &format!("World:kvstoreClient:{key}"))
            .await;
        assert_success(
            &reply,
            "demoUser",
            "kvStore",
            &format!("World:kvstoreClient:{key}"),
        );
    }
    api.post(
        "/api/kvstore/clear/",
        json!({"id": "demoUser", "store": "kvstoreClient", "keysToIgnore": ["kept"]}),
    )
    .await;
    let push = client.recv().await;
    assert_eq!(
        (&push["resource"]["id"], &push["data"]),
        (&json!("World:kvstoreClient:gone"), &Value::Null)
    );
    assert!(client.barrier().await.is_empty());
    stop(server).await;
}

#[tokio::test]
async fn permissions() {
    let server = start().await;
    let addr = server.local_addr();
    let user = Api::new(addr, Tenant::DEMO);
    let service = Api::new(addr, Tenant::SERVICE);
    let write = |id: &str, store: &str| json!({"id": id, "store": store, "key": "k", "data": 1});

    // A user writes only its own client store.
    assert_eq!(
        user.post("/api/kvstore/upsert/", write("demoUser", "kvstoreClient"))
            .await
            .0,
        200
    );
    assert_eq!(
        user.post("/api/kvstore/upsert/", write("demoUser", "kvstoreServer"))
            .await
            .0,
        403
    );
    assert_eq!(
        user.post("/api/kvstore/upsert/", write("demoUser2", "kvstoreClient"))
            .await
            .0,
        403
    );
    let (status, body) = user
        .post(
            "/api/kvstore/delete/",
            json!({"id": "demoUser", "store": "kvstoreServer", "keys": ["k"]}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].is_string());
    // ... and reads only its own stores.
    let (status, _) = user
        .post(
            "/api/kvstore/read/",
            json!([{"id": "demoUser2", "store": "kvstoreClient", "key": "k"}]),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        user.get("/api/kvstore/keys/?id=demoUser2&store=kvstoreClient")
            .await
            .0,
        403
    );

    // A service account writes any user's stores of its organization.
    assert_eq!(
        service
            .post("/api/kvstore/upsert/", write("demoUser", "kvstoreServer"))
            .await
            .0,
        200
    );
    assert_eq!(
        service
            .post("/api/kvstore/upsert/", write("demoUser2", "kvstoreClient"))
            .await
            .0,
        200
    );
    let (_, body) = user
        .post(
            "/api/kvstore/read/",
            json!([{"id": "demoUser", "store": "kvstoreServer", "key": "k"}]),
        )
        .await;
    assert_eq!(body[0]["object"]["data"], 1);

    // Transfers: a user changes only its own collection.
    let transfer = |user_id: &str| json!([{"userId": user_id, "datasourceId": "public", "objectDefinitionId": "o", "change": 1}]);
    assert_eq!(
        user.post("/api/datasources/transfer", transfer("demoUser2"))
            .await
            .0,
        403
    );
    assert_eq!(
        service
            .post("/api/datasources/transfer", transfer("demoUser2"))
            .await
            .0,
        200
    );

    // Credentials are checked as in the handshake.
    let anonymous = Api::new(
        addr,
        Tenant {
            key: "nope",
            ..Tenant::DEMO
        },
    );
    assert_eq!(
        anonymous
            .post("/api/kvstore/upsert/", write("demoUser", "kvstoreClient"))
            .await
            .0,
        401
    );
    let foreign = Api::new(
        addr,
        Tenant {
            key: OTHER_KEY,
            ..Tenant::DEMO
        },
    );
    assert_eq!(foreign.get("/api/liveconfig/game").await.0, 403);
    stop(server).await;
}

#[tokio::test]
async fn bad_bodies_are_400_with_a_reason() {
    let server = start().await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    let cases: Vec<(&str, &str)> = vec![
        ("/api/kvstore/upsert/", "not json"),
        ("/api/kvstore/upsert/", "{}"),
        (
            "/api/kvstore/upsert/",
            r#"{"id":"demoUser","store":"kvstoreClient","key":"k"}"#,
        ),
        (
            "/api/kvstore/upsert/",
            r#"{"id":"demoUser","store":"kvstoreClient","key":"k","data":null}"#,
        ),
        (
            "/api/kvstore/upsert/",
            r#"{"id":"demoUser","store":"kvstore","key":"k","data":1}"#,
        ),
        (
            "/api/kvstore/upsert/",
            r#"{"id":"demoUser","store":"kvstoreClient","key":"","data":1}"#,
        ),
        (
            "/api/kvstore/upsert/",
            r#"{"id":"demoUser","store":"kvstoreClient","key":"k","data":1,"scope":"Galaxy"}"#,
        ),
        (
            "/api/kvstore/upsert/",
            r#"{"id":"demoUser","store":"kvstoreClient","key":"k","data":1,"extra":true}"#,
        ),
        (
            "/api/kvstore/read/",
            r#"{"id":"demoUser","store":"kvstoreClient","key":"k"}"#,
        ),
        (
            "/api/kvstore/delete/",
            r#"{"id":"demoUser","store":"kvstoreClient","keys":"k"}"#,
        ),
        (
            "/api/kvstore/clear/",
            r#"{"id":"demoUser","store":"kvstoreClient","keysToIgnore":[1]}"#,
        ),
        (
            "/api/datasources/transfer",
            r#"[{"userId":"demoUser","datasourceId":"shared","objectDefinitionId":"o","change":1}]"#,
        ),
        (
            "/api/datasources/transfer",
            r#"[{"userId":"demoUser","datasourceId":"public","objectDefinitionId":"o","change":1.5}]"#,
        ),
        (
            "/api/datasources/transfer",
            r#"[{"userId":"demoUser","datasourceId":"public","objectDefinitionId":"","change":1}]"#,
        ),
    ];
    for (path, body) in cases {
        let (status, answer) = api.call(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{answer}"
        );
    }
    let (status, answer) = api.put("/api/liveconfig/game", json!([1, 2])).await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = api.get("/api/kvstore/keys/?store=kvstoreClient").await;
    assert_eq!(status, 400);

    // A scope the headers do not name.
    let org_only = Api::new(server.local_addr(), Tenant::DEMO.organization_only());
    let (status, answer) = org_only
        .post("/api/kvstore/upsert/", json!({"id": "demoUser", "store": "kvstoreClient", "key": "k", "data": 1, "scope": "World"}))
        .await;
    assert_eq!(status, 400, "{answer}");
    stop(server).await;
}

#[tokio::test]
async fn live_config_endpoints() {
    let server = start().await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    let (status, body) = api.get("/api/liveconfig/game").await;
    assert_eq!(status, 404, "{body}");
    let (status, put) = api.put("/api/liveconfig/game", json!({"speed": 2})).await;
    assert_eq!(status, 200);
    assert_eq!(put["status"], "ok");
    assert_version(&put["version"]);
    let (status, body) = api.get("/api/liveconfig/game").await;
    assert_eq!(
        (status, &body["data"], &body["version"]),
        (200, &json!({"speed": 2}), &put["version"])
    );
    assert_eq!(
        api.delete("/api/liveconfig/game").await,
        (200, json!({"status": "ok"}))
    );
    assert_eq!(api.delete("/api/liveconfig/game").await.0, 404);
    assert_eq!(api.get("/api/liveconfig/game").await.0, 404);
    stop(server).await;
}

#[tokio::test]
async fn a_transfer_that_would_go_negative_changes_nothing() {
    let server = start().await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    assert_eq!(
        client.subscribe("collection", "public").await,
        warning("Collection")
    );
    let (status, body) = api
        .post(
            "/api/datasources/transfer",
            json!([
                {"userId": "demoUser", "datasourceId": "public", "objectDefinitionId": "gem", "change": 3},
                {"userId": "demoUser", "datasourceId": "private", "objectDefinitionId": "key", "change": -1},
            ]),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(client.barrier().await.is_empty(), "no line applied");
    stop(server).await;
}
