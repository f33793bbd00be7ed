//! The REST API around the socket: login and refresh, collections, and items CRUD. Writes here reach
//! the socket subscribers exactly like writes over the socket.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query as QueryParams, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::auth::Tokens;
use super::config::{Permissions, PrimaryKeyKind};
use super::error::DirectusError;
use super::query::Query;
use super::schema::{is_system_collection, Accountability, Action, CollectionDef};
use super::state::Directus;

type Params = Result<QueryParams<Vec<(String, String)>>, QueryRejection>;
type Reply = Result<Response, DirectusError>;

pub fn routes(state: Arc<Directus>) -> Router {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/server/ping", get(ping))
        .route(
            "/collections",
            get(list_collections).post(create_collection),
        )
        .route("/collections/{collection}", get(read_collection))
        .route(
            "/items/{collection}",
            get(read_items)
                .post(create_items)
                .patch(update_items)
                .delete(delete_items),
        )
        .route(
            "/items/{collection}/{id}",
            get(read_item).patch(update_item).delete(delete_item),
        )
        .with_state(state)
}

/// Who the request acts as: `Authorization: Bearer <token>` or `?access_token=`; none is the public role.
fn accountability(
    state: &Directus,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<Accountability, DirectusError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let from_query = params
        .iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.as_str());
    match bearer.or(from_query) {
        Some(token) => Ok(state.auth.verify(token)?.who),
        None => Ok(Accountability::Public),
    }
}

fn params(params: Params) -> Result<Vec<(String, String)>, DirectusError> {
    params
        .map(|QueryParams(p)| p)
        .map_err(|e| DirectusError::invalid_query(format!("Malformed query string ({e})")))
}

fn body_json(body: &Bytes) -> Result<Value, DirectusError> {
    if body.is_empty() {
        return Err(DirectusError::invalid_payload("A JSON body is required"));
    }
    serde_json::from_slice(body)
        .map_err(|e| DirectusError::invalid_payload(format!("Invalid JSON ({e})")))
}

fn data(value: Value) -> Response {
    Json(json!({ "data": value })).into_response()
}

fn string_field<'a>(body: &'a Value, name: &str) -> Result<&'a str, DirectusError> {
    body.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| DirectusError::invalid_payload(format!("\"{name}\" is required")))
}

fn tokens_reply(tokens: Tokens) -> Response {
    data(json!({
        "expires": tokens.expires_ms,
        "refresh_token": tokens.refresh_token,
        "access_token": tokens.access_token,
    }))
}

async fn login(State(state): State<Arc<Directus>>, body: Bytes) -> Reply {
    let body = body_json(&body)?;
    let email = string_field(&body, "email")?;
    let password = string_field(&body, "password")?;
    Ok(tokens_reply(state.auth.login(email, password)?))
}

async fn refresh(State(state): State<Arc<Directus>>, body: Bytes) -> Reply {
    let body = body_json(&body)?;
    let token = string_field(&body, "refresh_token")?;
    Ok(tokens_reply(state.auth.refresh(token)?))
}

async fn logout(State(state): State<Arc<Directus>>, body: Bytes) -> Reply {
    let body = body_json(&body)?;
    state.auth.logout(string_field(&body, "refresh_token")?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn ping() -> &'static str {
    "pong"
}

fn collection_json(def: &CollectionDef) -> Value {
    json!({
        "collection": def.name,
        "meta": {"collection": def.name, "hidden": false, "singleton": false},
        "schema": {"name": def.name},
        "fields": def.fields,
    })
}

async fn list_collections(
    State(state): State<Arc<Directus>>,
    headers: HeaderMap,
    query: Params,
) -> Reply {
    let who = accountability(&state, &headers, &params(query)?)?;
    let visible: Vec<Value> = state
        .schema
        .list()
        .iter()
        .filter(|def| def.allows(&who, Action::Read))
        .map(|def| collection_json(def))
        .collect();
    Ok(data(Value::Array(visible)))
}

async fn read_collection(
    State(state): State<Arc<Directus>>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    query: Params,
) -> Reply {
    let who = accountability(&state, &headers, &params(query)?)?;
    let def = state.authorize(&who, &collection, Action::Read)?;
    Ok(data(collection_json(&def)))
}

/// `{"collection": "notes", "fields": ["title", {"field": "body"}, {"field": "id", "type": "uuid"}]}`;
/// administrators only. The new collection is readable and writable by administrators alone.
async fn create_collection(
    State(state): State<Arc<Directus>>,
    headers: HeaderMap,
    query: Params,
    body: Bytes,
) -> Reply {
    let who = accountability(&state, &headers, &params(query)?)?;
    if !who.is_admin() {
        return Err(DirectusError::forbidden());
    }
    let body = body_json(&body)?;
    let name = string_field(&body, "collection")?;
    if name.is_empty() || name.contains('/') {
        return Err(DirectusError::invalid_payload(
            "\"collection\" is not a valid name",
        ));
    }
    if is_system_collection(name) {
        return Err(DirectusError::invalid_payload(
            "Collections can't start with \"directus_\"",
        ));
    }
    let (primary_key, fields) = parse_fields(body.get("fields"))?;
    let def = CollectionDef::new(name, primary_key, &fields, Permissions::default());
    let def = state.schema.add(def)?;
    state.seed(&def, &[]);
    Ok(data(collection_json(&def)))
}

fn parse_fields(fields: Option<&Value>) -> Result<(PrimaryKeyKind, Vec<String>), DirectusError> {
    let mut primary_key = PrimaryKeyKind::Integer;
    let mut names = Vec::new();
    let list = match fields {
        None | Some(Value::Null) => return Ok((primary_key, names)),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(DirectusError::invalid_payload(
                "\"fields\" must be an array",
            ))
        }
    };
    for field in list {
        let (name, kind) = match field {
            Value::String(name) => (name.as_str(), None),
            Value::Object(spec) => (
                spec.get("field").and_then(Value::as_str).ok_or_else(|| {
                    DirectusError::invalid_payload("Each field needs a \"field\" name")
                })?,
                spec.get("type").and_then(Value::as_str),
            ),
            _ => {
                return Err(DirectusError::invalid_payload(
                    "Each field must be a name or an object",
                ))
            }
        };
        if name.is_empty() {
            return Err(DirectusError::invalid_payload("A field name is empty"));
        }
        if name == "id" {
            primary_key = match kind {
                Some("uuid") => PrimaryKeyKind::Uuid,
                Some("string") => PrimaryKeyKind::String,
                _ => PrimaryKeyKind::Integer,
            };
        }
        names.push(name.to_owned());
    }
    Ok((primary_key, names))
}

/// The collection for an items route: system collections are not items, and the action must be allowed.
fn items_collection(
    state: &Directus,
    who: &Accountability,
    collection: &str,
    action: Action,
) -> Result<Arc<CollectionDef>, DirectusError> {
    if is_system_collection(collection) {
        return Err(DirectusError::forbidden());
    }
    state.authorize(who, collection, action)
}

fn records(value: &Value) -> Result<Vec<Map<String, Value>>, DirectusError> {
    match value {
        Value::Object(map) => Ok(vec![map.clone()]),
        Value::Array(list) => list
            .iter()
            .map(|v| {
                v.as_object()
                    .cloned()
                    .ok_or_else(|| DirectusError::invalid_payload("Each item must be an object"))
            })
            .collect(),
        _ => Err(DirectusError::invalid_payload(
            "The body must be an object or an array of objects",
        )),
    }
}

/// Answers a write with the items read back through the query, or 204 when the caller may not read.
fn written(
    state: &Directus,
    who: &Accountability,
    def: &CollectionDef,
    keys: &[Value],
    query: &Query,
    single: bool,
) -> Reply {
    if !def.allows(who, Action::Read) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let items = state.items(def);
    if single {
        match keys.first() {
            Some(key) => Ok(data(items.read_one(key, query)?)),
            None => Err(DirectusError::forbidden()),
        }
    } else {
        Ok(data(Value::Array(items.read_many(keys, query))))
    }
}

fn primary_keys(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .filter_map(|i| i.get(super::schema::PRIMARY_KEY).cloned())
        .collect()
}

async fn read_items(
    State(state): State<Arc<Directus>>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    query: Params,
) -> Reply {
    let params = params(query)?;
    let who = accountability(&state, &headers, &params)?;
    let def = items_collection(&state, &who, &collection, Action::Read)?;
    let query = Query::from_params(&params, &def)?;
    let (items, meta) = state.items(&def).read_by_query(&query);
    let mut reply = Map::new();
    reply.insert("data".into(), Value::Array(items));
    if let Some(meta) = meta {
        reply.insert("meta".into(), meta);
    }
    Ok(Json(Value::Object(reply)).into_response())
}

async fn read_item(
    State(state): State<Arc<Directus>>,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
    query: Params,
) -> Reply {
    let params = params(query)?;
    let who = accountability(&state, &headers, &params)?;
    let def = items_collection(&state, &who, &collection, Action::Read)?;
    let query = Query::from_params(&params, &def)?;
    Ok(data(
        state.items(&def).read_one(&Value::String(id), &query)?,
    ))
}

async fn create_items(
    State(state): State<Arc<Directus>>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    query: Params,
    body: Bytes,
) -> Reply {
    let params = params(query)?;
    let who = accountability(&state, &headers, &params)?;
    let def = items_collection(&state, &who, &collection, Action::Create)?;
    let query = Query::from_params(&params, &def)?;
    let body = body_json(&body)?;
    let created = state.items(&def).create(&records(&body)?)?;
    written(
        &state,
        &who,
        &def,
        &primary_keys(&created),
        &query,
        body.is_object(),
    )
}

/// `PATCH /items/<c>`: an array of items with their ids, `{"keys": [...], "data": {...}}`, or
/// `{"query": {...}, "data": {...}}`.
async fn update_items(
    State(state): State<Arc<Directus>>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    query: Params,
    body: Bytes,
) -> Reply {
    let params = params(query)?;
    let who = accountability(&state, &headers, &params)?;
    let def = items_collection(&state, &who, &collection, Action::Update)?;
    let query = Query::from_params(&params, &def)?;
    let body = body_json(&body)?;
    let items = state.items(&def);
    let keys = match &body {
        Value::Array(_) => primary_keys(&items.update_batch(&records(&body)?)?),
        Value::Object(map) => {
            let patch = map.get("data").and_then(Value::as_object).ok_or_else(|| {
                DirectusError::invalid_payload("\"data\" is required and must be an object")
            })?;
            match (map.get("keys"), map.get("query")) {
                (Some(Value::Array(keys)), _) => {
                    items.update_many(keys, patch)?;
                    keys.clone()
                }
                (None, Some(selector)) => {
                    let selector = Query::parse(Some(selector), &def)?;
                    items.update_by_query(&selector, patch)?
                }
                _ => {
                    return Err(DirectusError::invalid_payload(
                        "Either \"keys\" or \"query\" is required",
                    ))
                }
            }
        }
        _ => {
            return Err(DirectusError::invalid_payload(
                "The body must be an object or an array of objects",
            ))
        }
    };
    written(&state, &who, &def, &keys, &query, false)
}

async fn update_item(
    State(state): State<Arc<Directus>>,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
    query: Params,
    body: Bytes,
) -> Reply {
    let params = params(query)?;
    let who = accountability(&state, &headers, &params)?;
    let def = items_collection(&state, &who, &collection, Action::Update)?;
    let query = Query::from_params(&params, &def)?;
    let body = body_json(&body)?;
    let patch = body
        .as_object()
        .ok_or_else(|| DirectusError::invalid_payload("The body must be an object"))?;
    let key = Value::String(id);
    state
        .items(&def)
        .update_many(std::slice::from_ref(&key), patch)?;
    written(&state, &who, &def, &[key], &query, true)
}

/// `DELETE /items/<c>` with an array of keys, `{"keys": [...]}` or `{"query": {...}}`.
async fn delete_items(
    State(state): State<Arc<Directus>>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    query: Params,
    body: Bytes,
) -> Reply {
    let params = params(query)?;
    let who = accountability(&state, &headers, &params)?;
    let def = items_collection(&state, &who, &collection, Action::Delete)?;
    let body = body_json(&body)?;
    let items = state.items(&def);
    match &body {
        Value::Array(keys) => items.delete_many(keys)?,
        Value::Object(map) => match (map.get("keys"), map.get("query")) {
            (Some(Value::Array(keys)), _) => items.delete_many(keys)?,
            (None, Some(selector)) => {
                items.delete_by_query(&Query::parse(Some(selector), &def)?)?;
            }
            _ => {
                return Err(DirectusError::invalid_payload(
                    "Either \"keys\" or \"query\" is required",
                ))
            }
        },
        _ => {
            return Err(DirectusError::invalid_payload(
                "The body must be an array of keys or an object",
            ))
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_item(
    State(state): State<Arc<Directus>>,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
    query: Params,
) -> Reply {
    let params = params(query)?;
    let who = accountability(&state, &headers, &params)?;
    let def = items_collection(&state, &who, &collection, Action::Delete)?;
    state.items(&def).delete_many(&[Value::String(id)])?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
