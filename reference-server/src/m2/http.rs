//! The HTTP API around the realtime service: KV store, collection transfers, live config.
//!
//! Same auth headers as the WebSocket handshake. Every write goes through the hub, so realtime
//! subscribers are pushed the change. Errors are `{"error": "..."}` with 400 (bad body or query),
//! 401/403 (credentials, permission) or 404 (no such live config).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{authenticate, AuthError, Identity};
use super::credentials::Credentials;
use super::protocol::version;
use super::resource::{
    is_valid_config_name, is_valid_key, kv_store_prefix, kv_topic, live_config_topic, Datasource,
    Scope, Store,
};
use super::store::{self, Transfer};
use super::M2State;

pub fn routes() -> Router<Arc<M2State>> {
    // Both with and without the trailing slash: the documented paths end in `/`, clients often drop it.
    Router::new()
        .route("/api/kvstore/read/", post(read))
        .route("/api/kvstore/read", post(read))
        .route("/api/kvstore/keys/", get(keys))
        .route("/api/kvstore/keys", get(keys))
        .route("/api/kvstore/upsert/", post(upsert))
        .route("/api/kvstore/upsert", post(upsert))
        .route("/api/kvstore/delete/", post(delete))
        .route("/api/kvstore/delete", post(delete))
        .route("/api/kvstore/clear/", post(clear))
        .route("/api/kvstore/clear", post(clear))
        .route("/api/datasources/transfer", post(transfer))
        .route("/api/datasources/transfer/", post(transfer))
        .route(
            "/api/liveconfig/{name}",
            get(get_config).put(put_config).delete(delete_config),
        )
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> ApiError {
        ApiError::new(err.status(), err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn caller(state: &M2State, headers: &HeaderMap) -> Result<Identity, ApiError> {
    let creds = Credentials::from_headers(headers).map_err(AuthError::from)?;
    Ok(authenticate(&state.tenancy, creds)?)
}

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))
}

fn ok(value: Value) -> ApiResult {
    Ok(Json(value).into_response())
}

/// The store a request names, checked.
struct StoreRef {
    user: String,
    store: Store,
    scope: Scope,
}

impl StoreRef {
    fn new(
        identity: &Identity,
        user: String,
        store: &str,
        scope: Option<&str>,
    ) -> Result<StoreRef, ApiError> {
        let store = Store::parse(store)
            .ok_or_else(|| ApiError::bad_request("store must be kvstoreClient or kvstoreServer"))?;
        let scope = match scope {
            None => Scope::default_for(identity),
            Some(s) => Scope::parse(s).ok_or_else(|| {
                ApiError::bad_request("scope must be Organization, Project or World")
            })?,
        };
        kv_store_prefix(identity, &user, scope, store)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok(StoreRef { user, store, scope })
    }

    /// The user's own stores, or any store for a service account.
    fn check_read(&self, identity: &Identity) -> Result<(), ApiError> {
        if identity.service || identity.user == self.user {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "cannot read the stores of user {}",
                self.user
            )))
        }
    }

    /// A user writes only its own `kvstoreClient`; service accounts write any store.
    fn check_write(&self, identity: &Identity) -> Result<(), ApiError> {
        match self.store {
            _ if identity.service => Ok(()),
            Store::Server => Err(ApiError::forbidden(
                "kvstoreServer is written by service accounts only",
            )),
            Store::Client if identity.user == self.user => Ok(()),
            Store::Client => Err(ApiError::forbidden(format!(
                "cannot write the kvstoreClient of user {}",
                self.user
            ))),
        }
    }

    fn topic(&self, identity: &Identity, key: &str) -> Result<crate::hub::Topic, ApiError> {
        if !is_valid_key(key) {
            return Err(ApiError::bad_request(
                "key must be non-empty text without control characters",
            ));
        }
        kv_topic(identity, &self.user, self.scope, self.store, key)
            .map_err(|e| ApiError::bad_request(e.to_string()))
    }

    fn prefix(&self, identity: &Identity) -> Result<String, ApiError> {
        kv_store_prefix(identity, &self.user, self.scope, self.store)
            .map_err(|e| ApiError::bad_request(e.to_string()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadItem {
    id: String,
    store: String,
    key: String,
    #[serde(default)]
    scope: Option<String>,
}

async fn read(State(state): State<Arc<M2State>>, headers: HeaderMap, bytes: Bytes) -> ApiResult {
    let identity = caller(&state, &headers)?;
    let items: Vec<ReadItem> = body(&bytes)?;
    let mut targets = Vec::with_capacity(items.len());
    for item in items {
        let target = StoreRef::new(&identity, item.id, &item.store, item.scope.as_deref())?;
        target.check_read(&identity)?;
        let topic = target.topic(&identity, &item.key)?;
        targets.push((target, item.key, topic));
    }
    let results: Vec<Value> = targets
        .into_iter()
        .map(|(target, key, topic)| match state.shared.hub.get(&topic) {
            Some(data) => json!({
                "status": "ok", "id": target.user, "store": target.store.as_str(),
                "object": { "key": key, "data": data },
            }),
            None => json!({
                "status": "not_found", "id": target.user, "store": target.store.as_str(),
                "object": { "key": key },
            }),
        })
        .collect();
    ok(Value::Array(results))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysQuery {
    id: String,
    store: String,
    #[serde(default)]
    scope: Option<String>,
}

async fn keys(
    State(state): State<Arc<M2State>>,
    headers: HeaderMap,
    query: Result<Query<KeysQuery>, QueryRejection>,
) -> ApiResult {
    let identity = caller(&state, &headers)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let target = StoreRef::new(&identity, query.id, &query.store, query.scope.as_deref())?;
    target.check_read(&identity)?;
    let keys = store::keys(&state.shared.hub, &target.prefix(&identity)?);
    ok(json!({ "keys": keys }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpsertBody {
    id: String,
    store: String,
    key: String,
    data: Value,
    #[serde(default)]
    scope: Option<String>,
}

async fn upsert(State(state): State<Arc<M2State>>, headers: HeaderMap, bytes: Bytes) -> ApiResult {
    let identity = caller(&state, &headers)?;
    let request: UpsertBody = body(&bytes)?;
    if request.data.is_null() {
        return Err(ApiError::bad_request(
            "data must not be null; use /api/kvstore/delete/ to remove a key",
        ));
    }
    let target = StoreRef::new(
        &identity,
        request.id,
        &request.store,
        request.scope.as_deref(),
    )?;
    target.check_write(&identity)?;
    let topic = target.topic(&identity, &request.key)?;
    let at = store::put(&state.shared.hub, &topic, request.data);
    ok(json!({ "status": "ok", "version": version(at) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    id: String,
    store: String,
    keys: Vec<String>,
    #[serde(default)]
    scope: Option<String>,
}

async fn delete(State(state): State<Arc<M2State>>, headers: HeaderMap, bytes: Bytes) -> ApiResult {
    let identity = caller(&state, &headers)?;
    let request: DeleteBody = body(&bytes)?;
    let target = StoreRef::new(
        &identity,
        request.id,
        &request.store,
        request.scope.as_deref(),
    )?;
    target.check_write(&identity)?;
    let topics = request
        .keys
        .iter()
        .map(|key| Ok((key, target.topic(&identity, key)?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let deleted: Vec<&String> = topics
        .into_iter()
        .filter(|(_, topic)| store::remove(&state.shared.hub, topic))
        .map(|(key, _)| key)
        .collect();
    ok(json!({ "status": "ok", "deleted": deleted }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearBody {
    id: String,
    store: String,
    #[serde(default, rename = "keysToIgnore")]
    keys_to_ignore: Vec<String>,
    #[serde(default)]
    scope: Option<String>,
}

async fn clear(State(state): State<Arc<M2State>>, headers: HeaderMap, bytes: Bytes) -> ApiResult {
    let identity = caller(&state, &headers)?;
    let request: ClearBody = body(&bytes)?;
    let target = StoreRef::new(
        &identity,
        request.id,
        &request.store,
        request.scope.as_deref(),
    )?;
    target.check_write(&identity)?;
    let hub = &state.shared.hub;
    let mut deleted = Vec::new();
    for key in store::keys(hub, &target.prefix(&identity)?) {
        if request.keys_to_ignore.contains(&key) {
            continue;
        }
        if store::remove(hub, &target.topic(&identity, &key)?) {
            deleted.push(key);
        }
    }
    ok(json!({ "status": "ok", "deleted": deleted }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TransferItem {
    user_id: String,
    datasource_id: String,
    object_definition_id: String,
    change: i64,
}

async fn transfer(
    State(state): State<Arc<M2State>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult {
    let identity = caller(&state, &headers)?;
    let items: Vec<TransferItem> = body(&bytes)?;
    let mut lines = Vec::with_capacity(items.len());
    for item in items {
        let datasource = Datasource::parse(&item.datasource_id)
            .ok_or_else(|| ApiError::bad_request("datasourceId must be public or private"))?;
        if item.object_definition_id.is_empty() {
            return Err(ApiError::bad_request(
                "objectDefinitionId must not be empty",
            ));
        }
        if !identity.service && item.user_id != identity.user {
            return Err(ApiError::forbidden(format!(
                "cannot change the collection of user {}",
                item.user_id
            )));
        }
        lines.push(Transfer {
            user: item.user_id,
            datasource,
            object_definition_id: item.object_definition_id,
            change: item.change,
        });
    }
    store::transfer(&state.shared.hub, &state.transfers, &identity, &lines)
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, e.to_string()))?;
    ok(json!({ "status": "ok" }))
}

fn config_name(name: &str) -> Result<(), ApiError> {
    if is_valid_config_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "a live config name is 1-128 of A-Z a-z 0-9 _ . -",
        ))
    }
}

fn no_config(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("live config {name} does not exist"),
    )
}

async fn put_config(
    State(state): State<Arc<M2State>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult {
    let identity = caller(&state, &headers)?;
    config_name(&name)?;
    let config: Value = body(&bytes)?;
    if !config.is_object() {
        return Err(ApiError::bad_request("a live config is a JSON object"));
    }
    let at = store::put(
        &state.shared.hub,
        &live_config_topic(&identity, &name),
        config,
    );
    ok(json!({ "status": "ok", "version": version(at) }))
}

async fn get_config(
    State(state): State<Arc<M2State>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let identity = caller(&state, &headers)?;
    config_name(&name)?;
    let topic = live_config_topic(&identity, &name);
    let snapshot = state.shared.hub.snapshot(&topic);
    match (snapshot.value, snapshot.at) {
        (Some(data), Some(at)) => ok(json!({ "name": name, "data": data, "version": version(at) })),
        _ => Err(no_config(&name)),
    }
}

async fn delete_config(
    State(state): State<Arc<M2State>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let identity = caller(&state, &headers)?;
    config_name(&name)?;
    if store::remove(&state.shared.hub, &live_config_topic(&identity, &name)) {
        ok(json!({ "status": "ok" }))
    } else {
        Err(no_config(&name))
    }
}
