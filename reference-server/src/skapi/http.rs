//! The HTTP companions: login, the endpoint discovery files, service information.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Map, Value};

use super::{auth, jwt, Skapi};

/// An HTTP error answer: `{"code","message"}` with a status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    fn unknown_service() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_EXISTS",
            "Service does not exist.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "code": self.code, "message": self.message })),
        )
            .into_response()
    }
}

/// Parses a request body that must be a JSON object.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(ApiError::bad_request("Body must be a JSON object.")),
        Err(_) => Err(ApiError::bad_request("Body is not valid JSON.")),
    }
}

/// The string field `name` of a request body.
pub fn string_field<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    match fields.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::bad_request(format!(
            "\"{name}\" must be a string."
        ))),
        None => Err(ApiError::bad_request(format!("\"{name}\" is required."))),
    }
}

/// `POST /skapi/login {"service","username","password"}`.
pub async fn login(State(skapi): State<Arc<Skapi>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let fields = json_object(&body)?;
    let service_id = string_field(&fields, "service")?;
    let username = string_field(&fields, "username")?;
    let password = string_field(&fields, "password")?;
    let config = skapi.config();
    let service = skapi
        .service(service_id)
        .ok_or_else(ApiError::unknown_service)?;
    let user = service
        .user_by_name(username)
        .filter(|user| same_secret(&user.password, password))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "INCORRECT_USERNAME_OR_PASSWORD",
                "Incorrect username or password.",
            )
        })?;
    let tokens = auth::issue(config, service, user, jwt::now_seconds());
    Ok(Json(json!({
        "user_id": user.user_id,
        "service": service.service,
        "owner": service.owner,
        "access_token": tokens.access_token,
        "id_token": tokens.id_token,
    })))
}

/// Compares without stopping at the first difference, so the time taken tells nothing of the secret.
fn same_secret(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// `GET /skapi/record-v1.json`: where the SDK finds the record API and the realtime socket.
pub async fn record_endpoints(headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let host = request_host(&headers)?;
    let api = format!("http://{host}/");
    let mut endpoints = Map::new();
    for key in [
        "record_public",
        "record_private",
        "record_public_2",
        "record_private_2",
        "post_public",
        "post_private",
        "get_public",
        "get_private",
        "del_private",
    ] {
        endpoints.insert(key.into(), Value::String(api.clone()));
    }
    endpoints.insert(
        "websocket_private".into(),
        Value::String(format!("ws://{host}/realtime")),
    );
    Ok(Json(Value::Object(endpoints)))
}

/// `GET /skapi/admin-v1.json`: where the SDK finds the admin API and `service`.
pub async fn admin_endpoints(headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let host = request_host(&headers)?;
    let api = format!("http://{host}/");
    let mut endpoints = Map::new();
    for key in [
        "admin_public",
        "admin_private",
        "admin_public_2",
        "admin_private_2",
        "get_users_private",
        "service_public",
        "extra_public",
        "extra_private",
        "extra_public_2",
        "extra_private_2",
    ] {
        endpoints.insert(key.into(), Value::String(api.clone()));
    }
    // Not a real user pool: the SDK's pool constructor only checks the `<region>_<id>` shape.
    // Sign in through `POST /skapi/login` instead.
    endpoints.insert("userpool_id".into(), json!("local-1_reference"));
    endpoints.insert("userpool_client".into(), json!("reference"));
    Ok(Json(Value::Object(endpoints)))
}

/// `GET /service?service=<id>&owner=<owner>`: the connection information the SDK starts with.
pub async fn service(
    State(skapi): State<Arc<Skapi>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let params = query.map(|Query(params)| params).unwrap_or_default();
    let service_id = params
        .get("service")
        .ok_or_else(|| ApiError::bad_request("\"service\" is required."))?;
    let service = skapi
        .service(service_id)
        .ok_or_else(ApiError::unknown_service)?;
    if params
        .get("owner")
        .is_some_and(|owner| *owner != service.owner)
    {
        return Err(ApiError::unknown_service());
    }
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ip = peer
        .map(|Extension(ConnectInfo(addr))| addr.ip().to_string())
        .unwrap_or_default();
    Ok(Json(json!({
        "service": service.service,
        "owner": service.owner,
        "service_name": service.name,
        "service_description": service.description,
        "group": 3,
        "locale": "",
        "ip": ip,
        "user_agent": user_agent,
        "opt": {
            "freeze_database": false,
            "prevent_inquiry": true,
            "prevent_signup": true,
            "prevent_anonymous": true,
        },
    })))
}

/// The `Host` the client used, so discovery names the address it can reach.
fn request_host(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|host| is_plausible_host(host))
        .ok_or_else(|| ApiError::bad_request("A valid Host header is required."))
}

/// A host name or address with an optional port: nothing that could change the URL's meaning.
fn is_plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("alice-password", "alice-password"));
        assert!(!same_secret("alice-password", "alice-passwore"));
        assert!(!same_secret("alice-password", "alice"));
        assert!(!same_secret("", "x"));
    }

    #[test]
    fn hosts_with_url_syntax_are_refused() {
        assert!(is_plausible_host("127.0.0.1:8080"));
        assert!(is_plausible_host("[::1]:80"));
        assert!(is_plausible_host("localhost"));
        assert!(!is_plausible_host("evil.com/path"));
        assert!(!is_plausible_host("a b"));
        assert!(!is_plausible_host("user@host"));
        assert!(!is_plausible_host(""));
    }
}
