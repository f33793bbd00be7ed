//! Subscriptions beyond the recordings: permissions at delivery time, socket batch writes, filters,
//! single items written over the socket, uid handling.

use reference_server::directus::config::{CollectionConfig, UserConfig};
use serde_json::{json, Value};

use super::support::{Server, ADMIN, READER};

const OUTSIDER_TOKEN: &str = "outsider-token";

/// The demo project plus a user whose role may read nothing.
async fn server_with_outsider() -> Server {
    Server::with(|c| {
        c.users.push(UserConfig {
            id: "00000000-0000-4000-8000-0000000000aa".into(),
            email: "outsider@example.com".into(),
            password: "outsider-password".into(),
            role: "nobody".into(),
            admin: false,
            static_token: Some(OUTSIDER_TOKEN.into()),
            first_name: None,
            last_name: None,
        })
    })
    .await
}

fn created(data: Value, uid: &str) -> Value {
    json!({"type": "subscription", "event": "create", "data": data, "uid": uid})
}

#[tokio::test]
async fn events_reach_only_sockets_that_may_read_the_collection() {
    let server = server_with_outsider().await;
    let mut watcher = server.client(ADMIN).await;
    watcher
        .send(json!({"type": "subscribe", "collection": "messages", "event": "create", "uid": "w"}))
        .await;
    watcher
        .expect(json!({"type": "subscription", "event": "init", "uid": "w"}))
        .await;
    let mut reader = server.client(READER).await;
    reader
        .send(json!({"type": "subscribe", "collection": "messages", "event": "create", "uid": "r"}))
        .await;
    reader
        .expect(json!({"type": "subscription", "event": "init", "uid": "r"}))
        .await;

    // The watcher becomes a user who may not read messages: its subscription stays but is silent.
    watcher
        .send(json!({"type": "auth", "access_token": OUTSIDER_TOKEN, "uid": "switch"}))
        .await;
    watcher
        .expect(json!({"type": "auth", "status": "ok", "uid": "switch"}))
        .await;
    let (status, _) = server
        .rest("POST", "/items/messages", Some(json!({"text": "one"})))
        .await;
    assert_eq!(status, 200);
    reader
        .expect(created(
            json!([{"id": 1, "text": "one", "user": null}]),
            "r",
        ))
        .await;
    watcher.quiet().await;

    // Back as the administrator, it hears the next change.
    watcher
        .send(json!({"type": "auth", "access_token": ADMIN}))
        .await;
    watcher
        .expect(json!({"type": "auth", "status": "ok"}))
        .await;
    server
        .rest("POST", "/items/messages", Some(json!({"text": "two"})))
        .await;
    watcher
        .expect(created(
            json!([{"id": 2, "text": "two", "user": null}]),
            "w",
        ))
        .await;
    reader
        .expect(created(
            json!([{"id": 2, "text": "two", "user": null}]),
            "r",
        ))
        .await;

    // The outsider cannot subscribe, and gets the same message as for a missing collection.
    let mut outsider = server.client(OUTSIDER_TOKEN).await;
    outsider
        .send(json!({"type": "subscribe", "collection": "messages", "uid": 5}))
        .await;
    outsider
        .expect(json!({
            "type": "subscribe", "status": "error",
            "error": {"code": "FORBIDDEN", "message": "You don't have permission to access collection \"messages\" or it does not exist. Queried in root."},
            "uid": 5,
        }))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn socket_batch_writes_give_one_event_per_created_item_and_one_per_update() {
    let server = Server::start().await;
    let mut watcher = server.client(ADMIN).await;
    watcher
        .send(json!({"type": "subscribe", "collection": "messages", "uid": "all", "query": {"fields": ["id", "text"]}}))
        .await;
    watcher
        .expect(json!({"type": "subscription", "event": "init", "data": [], "uid": "all"}))
        .await;
    let mut writer = server.client(ADMIN).await;
    writer
        .send(json!({"type": "items", "collection": "messages", "action": "create", "data": [{"text": "a"}, {"text": "b"}], "uid": 1}))
        .await;
    writer
        .expect(json!({"type": "items", "data": [{"id": 1, "text": "a", "user": null}, {"id": 2, "text": "b", "user": null}], "uid": 1}))
        .await;
    watcher
        .expect(created(json!([{"id": 1, "text": "a"}]), "all"))
        .await;
    watcher
        .expect(created(json!([{"id": 2, "text": "b"}]), "all"))
        .await;

    writer
        .send(json!({"type": "items", "collection": "messages", "action": "update", "data": [{"id": 1, "text": "A"}, {"id": 2, "text": "B"}]}))
        .await;
    writer
        .expect(json!({"type": "items", "data": [{"id": 1, "text": "A", "user": null}, {"id": 2, "text": "B", "user": null}]}))
        .await;
    watcher
        .expect(json!({"type": "subscription", "event": "update", "data": [{"id": 1, "text": "A"}, {"id": 2, "text": "B"}], "uid": "all"}))
        .await;

    writer
        .send(
            json!({"type": "items", "collection": "messages", "action": "delete", "ids": [1, "2"]}),
        )
        .await;
    writer
        .expect(json!({"type": "items", "data": [1, "2"]}))
        .await;
    watcher
        .expect(json!({"type": "subscription", "event": "delete", "data": [1, "2"], "uid": "all"}))
        .await;
    watcher.quiet().await;
    server.stop().await;
}

#[tokio::test]
async fn filters_select_events_and_unknown_operators_are_invalid_queries() {
    let server = Server::start().await;
    let mut socket = server.client(ADMIN).await;
    socket
        .send(json!({
            "type": "subscribe", "collection": "messages", "uid": "f", "event": "create",
            "query": {"filter": {"_or": [{"user": {"_in": ["ann", "bob"]}}, {"text": {"_contains": "urgent"}}]}},
        }))
        .await;
    socket
        .expect(json!({"type": "subscription", "event": "init", "uid": "f"}))
        .await;
    for (text, user) in [
        ("hi", "ann"),
        ("hi", "zed"),
        ("urgent: call", "zed"),
        ("yo", "bob"),
    ] {
        server
            .rest(
                "POST",
                "/items/messages",
                Some(json!({"text": text, "user": user})),
            )
            .await;
    }
    socket
        .expect(created(
            json!([{"id": 1, "text": "hi", "user": "ann"}]),
            "f",
        ))
        .await;
    socket
        .expect(created(
            json!([{"id": 3, "text": "urgent: call", "user": "zed"}]),
            "f",
        ))
        .await;
    socket
        .expect(created(
            json!([{"id": 4, "text": "yo", "user": "bob"}]),
            "f",
        ))
        .await;

    socket
        .send(json!({"type": "subscribe", "collection": "messages", "uid": "bad-op", "query": {"filter": {"id": {"_like": 1}}}}))
        .await;
    socket
        .expect(json!({
            "type": "subscribe", "status": "error",
            "error": {"code": "INVALID_QUERY", "message": "Invalid query. \"_like\" is not a valid filter operator."},
            "uid": "bad-op",
        }))
        .await;
    socket
        .send(json!({"type": "items", "collection": "messages", "action": "read", "query": {"filter": {"user": {"_nnull": true}}, "sort": "-id", "limit": 2, "fields": "id"}, "uid": "r"}))
        .await;
    socket
        .expect(json!({"type": "items", "data": [{"id": 4}, {"id": 3}], "uid": "r"}))
        .await;
    socket.quiet().await;
    server.stop().await;
}

#[tokio::test]
async fn single_item_subscription_follows_socket_updates_by_number() {
    let server = Server::start().await;
    server
        .rest(
            "POST",
            "/items/messages",
            Some(json!([{"text": "watched"}, {"text": "other"}])),
        )
        .await;
    let mut socket = server.client(ADMIN).await;
    socket
        .send(json!({"type": "subscribe", "collection": "messages", "item": "1", "uid": "one", "query": {"fields": ["text"]}}))
        .await;
    socket
        .expect(json!({"type": "subscription", "event": "init", "data": {"text": "watched"}, "uid": "one"}))
        .await;
    socket
        .send(json!({"type": "items", "collection": "messages", "action": "update", "id": 2, "data": {"text": "x"}}))
        .await;
    socket
        .expect(json!({"type": "items", "data": {"id": 2, "text": "x", "user": null}}))
        .await;
    socket
        .send(json!({"type": "items", "collection": "messages", "action": "update", "id": 1, "data": {"text": "edited"}}))
        .await;
    // The event was queued while the update was made; the reply is written first.
    socket
        .expect(json!({"type": "items", "data": {"id": 1, "text": "edited", "user": null}}))
        .await;
    socket
        .expect(json!({"type": "subscription", "event": "update", "data": {"text": "edited"}, "uid": "one"}))
        .await;
    socket
        .send(json!({"type": "items", "collection": "messages", "action": "delete", "id": 1}))
        .await;
    socket.expect(json!({"type": "items", "data": 1})).await;
    socket
        .expect(json!({"type": "subscription", "event": "delete", "data": "1", "uid": "one"}))
        .await;

    socket
        .send(json!({"type": "subscribe", "collection": "messages", "item": 99, "uid": "missing"}))
        .await;
    socket
        .expect(json!({
            "type": "subscribe", "status": "error",
            "error": {"code": "FORBIDDEN", "message": "You don't have permission to access this."},
            "uid": "missing",
        }))
        .await;
    socket.quiet().await;
    server.stop().await;
}

#[tokio::test]
async fn numeric_uids_and_unsubscribe_acknowledgements() {
    let server = Server::start().await;
    let mut socket = server.client(ADMIN).await;
    socket
        .send(json!({"type": "subscribe", "collection": "messages", "event": "delete", "uid": 7}))
        .await;
    socket
        .expect(json!({"type": "subscription", "event": "init", "uid": "7"}))
        .await;
    // Unsubscribing by the number reaches the subscription made with it; the ack echoes the number.
    socket.send(json!({"type": "unsubscribe", "uid": 7})).await;
    socket
        .expect(json!({"type": "subscription", "event": "unsubscribe", "uid": 7}))
        .await;
    server
        .rest("POST", "/items/messages", Some(json!({"text": "t"})))
        .await;
    server.rest("DELETE", "/items/messages/1", None).await;
    socket.quiet().await;
    server.stop().await;
}

#[tokio::test]
async fn collections_created_at_run_time_can_be_subscribed() {
    let server = Server::with(|c| {
        c.collections.push(CollectionConfig {
            name: "notes".into(),
            primary_key: reference_server::directus::config::PrimaryKeyKind::Uuid,
            fields: vec!["title".into()],
            permissions: Default::default(),
            items: vec![json!({"id": "n1", "title": "seeded"})
                .as_object()
                .cloned()
                .unwrap_or_default()],
        })
    })
    .await;
    let (status, body) = server
        .rest(
            "POST",
            "/collections",
            Some(json!({"collection": "tasks", "fields": ["title", {"field": "done"}]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["collection"], "tasks");

    let mut socket = server.client(ADMIN).await;
    socket
        .send(json!({"type": "subscribe", "collection": "tasks", "uid": "t"}))
        .await;
    socket
        .expect(json!({"type": "subscription", "event": "init", "data": [], "uid": "t"}))
        .await;
    server
        .rest(
            "POST",
            "/items/tasks",
            Some(json!({"title": "write tests", "done": false})),
        )
        .await;
    socket
        .expect(created(
            json!([{"id": 1, "title": "write tests", "done": false}]),
            "t",
        ))
        .await;

    socket
        .send(json!({"type": "items", "collection": "notes", "action": "read", "uid": "n"}))
        .await;
    socket
        .expect(json!({"type": "items", "data": [{"id": "n1", "title": "seeded"}], "uid": "n"}))
        .await;
    socket
        .send(json!({"type": "items", "collection": "notes", "action": "create", "data": {"title": "fresh"}, "uid": "c"}))
        .await;
    let reply = socket.recv().await;
    assert!(
        reply["data"]["id"]
            .as_str()
            .is_some_and(|id| id.len() == 36),
        "{reply}"
    );
    server.stop().await;
}
