//! The REST API: login, refresh and logout, collections, items CRUD and its query parameters,
//! Directus-shaped errors, permissions.

use reference_server::directus::config::{
    DEMO_ADMIN_EMAIL, DEMO_READER_EMAIL, DEMO_READER_PASSWORD,
};
use serde_json::{json, Value};

use super::support::{Server, READER};

fn error(message: &str, code: &str) -> Value {
    json!({"errors": [{"message": message, "extensions": {"code": code}}]})
}

fn forbidden_collection(collection: &str) -> Value {
    error(
        &format!("You don't have permission to access collection \"{collection}\" or it does not exist. Queried in root."),
        "FORBIDDEN",
    )
}

#[tokio::test]
async fn login_refresh_and_logout() {
    let server = Server::start().await;
    let (status, body) = server
        .rest_as(
            None,
            "POST",
            "/auth/login",
            Some(json!({"email": DEMO_READER_EMAIL, "password": DEMO_READER_PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["expires"], 900_000);
    let access = body["data"]["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let refresh = body["data"]["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!access.is_empty() && !refresh.is_empty());

    let (status, _) = server
        .rest_as(Some(&access), "GET", "/items/messages", None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = server
        .rest_as(
            None,
            "GET",
            &format!("/items/messages?access_token={access}"),
            None,
        )
        .await;
    assert_eq!((status, body), (200, json!({"data": []})));

    let (status, body) = server
        .rest_as(
            None,
            "POST",
            "/auth/refresh",
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(status, 200);
    let rotated = body["data"]["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(rotated, refresh);
    let (status, body) = server
        .rest_as(
            None,
            "POST",
            "/auth/refresh",
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            401,
            error("Invalid user credentials.", "INVALID_CREDENTIALS")
        )
    );

    let (status, _) = server
        .rest_as(
            None,
            "POST",
            "/auth/logout",
            Some(json!({"refresh_token": rotated})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .rest_as(
            None,
            "POST",
            "/auth/refresh",
            Some(json!({"refresh_token": rotated})),
        )
        .await;
    assert_eq!(status, 401);

    let (status, body) = server
        .rest_as(
            None,
            "POST",
            "/auth/login",
            Some(json!({"email": DEMO_ADMIN_EMAIL, "password": "wrong"})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            401,
            error("Invalid user credentials.", "INVALID_CREDENTIALS")
        )
    );
    let (status, body) = server
        .rest_as(
            None,
            "POST",
            "/auth/login",
            Some(json!({"email": DEMO_ADMIN_EMAIL})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_PAYLOAD");
    let (status, body) = server
        .rest_as(Some("bogus"), "GET", "/items/messages", None)
        .await;
    assert_eq!(
        (status, body),
        (
            401,
            error("Invalid user credentials.", "INVALID_CREDENTIALS")
        )
    );
    server.stop().await;
}

#[tokio::test]
async fn items_crud_with_query_parameters() {
    let server = Server::start().await;
    let (status, body) = server
        .rest(
            "POST",
            "/items/messages",
            Some(json!([{"text": "a", "user": "ann"}, {"text": "b", "user": "bob"}, {"text": "c", "user": "ann"}])),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().map(Vec::len), Some(3));
    let (status, body) = server
        .rest(
            "POST",
            "/items/messages?fields=id",
            Some(json!({"text": "d"})),
        )
        .await;
    assert_eq!((status, body), (200, json!({"data": {"id": 4}})));

    let (_, body) = server
        .rest(
            "GET",
            "/items/messages?fields=id,text&sort=-id&limit=2&meta=*",
            None,
        )
        .await;
    assert_eq!(
        body,
        json!({"data": [{"id": 4, "text": "d"}, {"id": 3, "text": "c"}], "meta": {"total_count": 4, "filter_count": 4}})
    );
    let (_, body) = server
        .rest(
            "GET",
            "/items/messages?filter[user][_eq]=ann&fields=id",
            None,
        )
        .await;
    assert_eq!(body, json!({"data": [{"id": 1}, {"id": 3}]}));
    let filter = r#"{"_or":[{"user":{"_eq":"bob"}},{"id":{"_gte":4}}]}"#;
    let url = reqwest::Url::parse_with_params(
        &server.url("/items/messages"),
        &[
            ("filter", filter),
            ("fields", "id"),
            ("meta", "filter_count"),
        ],
    )
    .unwrap_or_else(|err| panic!("bad URL: {err}"));
    let (_, body) = server
        .rest(
            "GET",
            &format!("{}?{}", url.path(), url.query().unwrap_or_default()),
            None,
        )
        .await;
    assert_eq!(
        body,
        json!({"data": [{"id": 2}, {"id": 4}], "meta": {"filter_count": 2}})
    );

    let (_, body) = server.rest("GET", "/items/messages/2", None).await;
    assert_eq!(body, json!({"data": {"id": 2, "text": "b", "user": "bob"}}));
    let (_, body) = server
        .rest("PATCH", "/items/messages/2", Some(json!({"text": "B"})))
        .await;
    assert_eq!(body, json!({"data": {"id": 2, "text": "B", "user": "bob"}}));
    let (_, body) = server
        .rest(
            "PATCH",
            "/items/messages",
            Some(json!({"keys": [1, 3], "data": {"user": "cy"}})),
        )
        .await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(2));
    let (_, body) = server
        .rest(
            "PATCH",
            "/items/messages",
            Some(json!({"query": {"filter": {"user": {"_eq": "cy"}}}, "data": {"text": "z"}})),
        )
        .await;
    assert_eq!(
        body["data"],
        json!([{"id": 1, "text": "z", "user": "cy"}, {"id": 3, "text": "z", "user": "cy"}])
    );

    let (status, body) = server.rest("DELETE", "/items/messages/2", None).await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, _) = server
        .rest("DELETE", "/items/messages", Some(json!([1, 3])))
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .rest(
            "DELETE",
            "/items/messages",
            Some(json!({"query": {"filter": {"id": {"_eq": 4}}}})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, body) = server.rest("GET", "/items/messages", None).await;
    assert_eq!(body, json!({"data": []}));

    let (status, body) = server.rest("GET", "/items/messages/99", None).await;
    assert_eq!(
        (status, body),
        (
            403,
            error("You don't have permission to access this.", "FORBIDDEN")
        )
    );
    let (status, body) = server.rest("GET", "/items/nope", None).await;
    assert_eq!((status, body), (403, forbidden_collection("nope")));
    let (status, body) = server
        .rest("GET", "/items/messages?fields=nope", None)
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let (status, body) = server.rest("GET", "/items/messages?limit=many", None).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_QUERY");
    let (status, body) = server
        .rest("POST", "/items/messages", Some(json!(42)))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_PAYLOAD");
    let (status, _) = server.rest("GET", "/items/directus_users", None).await;
    assert_eq!(status, 403);
    server.stop().await;
}

#[tokio::test]
async fn the_reader_reads_messages_only() {
    let server = Server::start().await;
    server
        .rest(
            "POST",
            "/items/secrets",
            Some(json!({"value": "admin only"})),
        )
        .await;
    let (status, body) = server
        .rest_as(Some(READER), "GET", "/collections", None)
        .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["data"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|c| c["collection"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, ["messages"]);
    let (_, body) = server.rest("GET", "/collections", None).await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(2));

    let (status, _) = server
        .rest_as(Some(READER), "GET", "/items/messages", None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = server
        .rest_as(Some(READER), "GET", "/items/secrets", None)
        .await;
    assert_eq!((status, body), (403, forbidden_collection("secrets")));
    let (status, body) = server
        .rest_as(
            Some(READER),
            "POST",
            "/items/messages",
            Some(json!({"text": "no"})),
        )
        .await;
    assert_eq!((status, body), (403, forbidden_collection("messages")));
    let (status, body) = server
        .rest_as(
            Some(READER),
            "POST",
            "/collections",
            Some(json!({"collection": "mine"})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            403,
            error("You don't have permission to access this.", "FORBIDDEN")
        )
    );

    let (status, body) = server
        .rest(
            "POST",
            "/collections",
            Some(json!({"collection": "messages"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_PAYLOAD");
    let (status, _) = server
        .rest(
            "POST",
            "/collections",
            Some(json!({"collection": "directus_things"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = server.rest_as(None, "GET", "/server/ping", None).await;
    assert_eq!((status, body), (200, json!("pong")));
    server.stop().await;
}
