//! The document's exchanges and the life of a subscription: warning, creation, update, deletion,
//! unsubscribe.

use serde_json::json;

use super::support::*;

#[tokio::test]
async fn the_documents_subscribe_examples() {
    let server = start().await;
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    let kv = r#"{
        "action": "subscribe",
        "resource": {
            "type": "kvStore",
            "id": "World:kvstoreClient:testKey"
        }
    }"#;
    client.send_text(kv).await;
    // The document's own warning text, verbatim.
    assert_eq!(
        client.recv_text().await,
        r#"{"warning":"resource_not_found","message":"KVStore resource doesn't currently exist, subscription was still made successfully"}"#
    );
    let collection = r#"{
        "action": "subscribe",
        "resource": {
            "type": "collection",
            "id": "public"
        }
    }"#;
    client.send_text(collection).await;
    assert_eq!(client.recv().await, warning("Collection"));
    // The liveConfig example has typographic opening quotes: not JSON, so the documented error.
    let typographic = "{\n    \"action\": \"subscribe\",\n    \"resource\": {\n        \"type\": \u{201c}liveConfig\",\n        \"id\": \u{201c}game\"\n    }\n}";
    client.send_text(typographic).await;
    assert_eq!(client.recv_text().await, INVALID);
    let straight = r#"{
        "action": "subscribe",
        "resource": {
            "type": "liveConfig",
            "id": "game"
        }
    }"#;
    client.send_text(straight).await;
    assert_eq!(client.recv().await, warning("LiveConfig"));
    stop(server).await;
}

#[tokio::test]
async fn a_kv_subscription_from_warning_to_creation_update_deletion_and_back() {
    let server = start().await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    let id = "World:kvstoreClient:testKey";
    assert_eq!(client.subscribe("kvStore", id).await, warning("KVStore"));

    let created = api
        .upsert("demoUser", "World", "testKey", json!({"hp": 10}))
        .await;
    let push = client.recv().await;
    assert_success(&push, "demoUser", "kvStore", id);
    assert_eq!(push["data"], json!({"hp": 10}));
    assert_eq!(push["version"], created);

    let updated = api
        .upsert("demoUser", "World", "testKey", json!([1, "two"]))
        .await;
    let push = client.recv().await;
    assert_success(&push, "demoUser", "kvStore", id);
    assert_eq!(push["data"], json!([1, "two"]));
    assert_eq!(push["version"], updated);
    assert!(
        updated > created,
        "versions increase: {created} then {updated}"
    );

    assert_eq!(
        api.delete_keys("demoUser", "World", &["testKey"]).await,
        json!(["testKey"])
    );
    let push = client.recv().await;
    assert_success(&push, "demoUser", "kvStore", id);
    assert_eq!(push["data"], json!(null));

    // The listener survives the deletion.
    let recreated = api
        .upsert("demoUser", "World", "testKey", json!("back"))
        .await;
    let push = client.recv().await;
    assert_eq!(push["data"], "back");
    assert_eq!(push["version"], recreated);
    assert!(client.barrier().await.is_empty());
    stop(server).await;
}

#[tokio::test]
async fn subscribing_to_an_existing_value_replies_with_it() {
    let server = start().await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    let version = api
        .upsert("demoUser", "Organization", "coins", json!(42))
        .await;
    let mut client = connect(server.local_addr(), Tenant::DEMO.organization_only()).await;
    let reply = client
        .subscribe("kvStore", "Organization:kvstoreClient:coins")
        .await;
    assert_success(
        &reply,
        "demoUser",
        "kvStore",
        "Organization:kvstoreClient:coins",
    );
    assert_eq!(reply["data"], 42);
    assert_eq!(reply["version"], version);
    stop(server).await;
}

#[tokio::test]
async fn unsubscribe_stops_pushes_and_is_not_acknowledged() {
    let server = start().await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    let id = "World:kvstoreClient:k";
    assert_eq!(client.subscribe("kvStore", id).await, warning("KVStore"));
    api.upsert("demoUser", "World", "k", json!(1)).await;
    assert_eq!(client.recv().await["data"], 1);

    client.unsubscribe("kvStore", id).await;
    api.upsert("demoUser", "World", "k", json!(2)).await;
    api.delete_keys("demoUser", "World", &["k"]).await;
    assert_eq!(
        client.barrier().await,
        Vec::<serde_json::Value>::new(),
        "nothing after unsubscribe"
    );

    // Unsubscribing again, or from something never subscribed, is silent too.
    client.unsubscribe("kvStore", id).await;
    client.unsubscribe("collection", "private").await;
    assert!(client.barrier().await.is_empty());

    // Subscribing again works as the first time.
    assert_eq!(client.subscribe("kvStore", id).await, warning("KVStore"));
    api.upsert("demoUser", "World", "k", json!(3)).await;
    assert_eq!(client.recv().await["data"], 3);
    stop(server).await;
}

#[tokio::test]
async fn a_duplicate_subscribe_answers_again_without_duplicate_pushes() {
    let server = start().await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    let id = "Project:kvstoreClient:dup";
    assert_eq!(client.subscribe("kvStore", id).await, warning("KVStore"));
    assert_eq!(client.subscribe("kvStore", id).await, warning("KVStore"));
    api.upsert("demoUser", "Project", "dup", json!("v1")).await;
    // The push of v1 was queued before the repeated subscribe was read, so it comes first; the
    // reply then repeats the current state.
    let push = client.subscribe("kvStore", id).await;
    let reply = client.recv().await;
    for message in [&push, &reply] {
        assert_success(message, "demoUser", "kvStore", id);
        assert_eq!(message["data"], "v1");
    }
    api.upsert("demoUser", "Project", "dup", json!("v2")).await;
    assert_eq!(client.recv().await["data"], "v2");
    assert!(client.barrier().await.is_empty(), "one push per change");
    stop(server).await;
}

#[tokio::test]
async fn collections_change_through_transfers() {
    let server = start().await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    assert_eq!(
        client.subscribe("collection", "private").await,
        warning("Collection")
    );
    let (status, body) = api
        .post(
            "/api/datasources/transfer",
            json!([{"userId": "demoUser", "datasourceId": "private", "objectDefinitionId": "sword", "change": 2}]),
        )
        .await;
    assert_eq!((status, &body), (200, &json!({"status": "ok"})));
    let push = client.recv().await;
    assert_success(&push, "demoUser", "collection", "private");
    assert_eq!(
        push["data"],
        json!({"userId": "demoUser", "datasourceId": "private",
               "userCollection": [{"objectDefinitionId": "sword", "count": 2}]})
    );
    api.post(
        "/api/datasources/transfer",
        json!([{"userId": "demoUser", "datasourceId": "private", "objectDefinitionId": "sword", "change": -2}]),
    )
    .await;
    let push = client.recv().await;
    assert_eq!(push["data"]["userCollection"], json!([]));
    // A transfer into the public collection is another resource.
    api.post(
        "/api/datasources/transfer",
        json!([{"userId": "demoUser", "datasourceId": "public", "objectDefinitionId": "hat", "change": 1}]),
    )
    .await;
    assert!(client.barrier().await.is_empty());
    let reply = client.subscribe("collection", "public").await;
    assert_success(&reply, "demoUser", "collection", "public");
    assert_eq!(
        reply["data"]["userCollection"],
        json!([{"objectDefinitionId": "hat", "count": 1}])
    );
    stop(server).await;
}

#[tokio::test]
async fn live_config_put_and_delete_are_pushed() {
    let server = start().await;
    let api = Api::new(server.local_addr(), Tenant::DEMO);
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    assert_eq!(
        client.subscribe("liveConfig", "game").await,
        warning("LiveConfig")
    );
    let (status, body) = api
        .put("/api/liveconfig/game", json!({"maxPlayers": 8}))
        .await;
    assert_eq!(status, 200, "{body}");
    let push = client.recv().await;
    assert_success(&push, "demoUser", "liveConfig", "game");
    assert_eq!(push["data"], json!({"maxPlayers": 8}));
    assert_eq!(push["version"], body["version"]);

    let (status, _) = api.delete("/api/liveconfig/game").await;
    assert_eq!(status, 200);
    let push = client.recv().await;
    assert_success(&push, "demoUser", "liveConfig", "game");
    assert_eq!(push["data"], json!(null));

    api.put("/api/liveconfig/game", json!({"maxPlayers": 4}))
        .await;
    assert_eq!(client.recv().await["data"], json!({"maxPlayers": 4}));
    stop(server).await;
}

#[tokio::test]
async fn the_server_store_is_written_by_a_service_and_read_by_its_user() {
    let server = start().await;
    let service = Api::new(server.local_addr(), Tenant::SERVICE);
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    let id = "World:kvstoreServer:rank";
    assert_eq!(client.subscribe("kvStore", id).await, warning("KVStore"));
    service
        .upsert_in("demoUser", "kvstoreServer", "World", "rank", json!("gold"))
        .await;
    let push = client.recv().await;
    assert_success(&push, "demoUser", "kvStore", id);
    assert_eq!(push["data"], "gold");
    stop(server).await;
}

#[tokio::test]
async fn a_scope_the_connection_did_not_name_is_an_error() {
    let server = start().await;
    let mut client = connect(server.local_addr(), Tenant::DEMO.organization_only()).await;
    assert_eq!(
        client.subscribe("kvStore", "World:kvstoreClient:k").await,
        serde_json::from_str::<serde_json::Value>(INVALID).unwrap_or_default()
    );
    client.send(json!({"action": "subscribe", "resource": {"type": "kvStore", "id": "Project:kvstoreClient:k"}})).await;
    assert_eq!(client.recv_text().await, INVALID);
    assert_eq!(
        client
            .subscribe("kvStore", "Organization:kvstoreClient:k")
            .await,
        warning("KVStore")
    );
    stop(server).await;
}
