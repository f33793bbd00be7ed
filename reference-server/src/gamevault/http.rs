//! The REST endpoints a GameVault client needs around the socket: register, log in, read the
//! current user (with its socket secret), and the server status.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::auth::{bearer_token, http_user};
use super::tokens::{TokenKind, Tokens};
use super::users::{RegisterError, User, Users};

/// The GameVault version whose REST dialect these endpoints follow.
pub const EMULATED_VERSION: &str = "16.2.0";

pub struct Api {
    pub users: Arc<Users>,
    pub tokens: Tokens,
}

pub fn routes(api: Arc<Api>) -> Router {
    Router::new()
        .route("/api/auth/basic/register", post(register))
        .route("/api/users/register", post(register))
        .route("/api/auth/basic/login", get(login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/users/me", get(me))
        .route("/api/status", get(status))
        .with_state(api)
}

#[derive(Deserialize)]
struct Registration {
    username: String,
    password: String,
}

/// The error body of the GameVault API (NestJS style).
fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "message": message,
        "error": status.canonical_reason().unwrap_or("Error"),
        "statusCode": status.as_u16(),
    });
    (status, Json(body)).into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "message": "Unauthorized", "statusCode": 401 })),
    )
        .into_response()
}

async fn register(
    State(api): State<Arc<Api>>,
    body: Result<Json<Registration>, JsonRejection>,
) -> Response {
    let Json(registration) = match body {
        Ok(body) => body,
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "expected a JSON body {{\"username\", \"password\"}}: {}",
                    rejection.body_text()
                ),
            )
        }
    };
    match api
        .users
        .register(&registration.username, &registration.password)
    {
        Ok(user) => (StatusCode::CREATED, Json(user.to_json())).into_response(),
        Err(err @ RegisterError::Taken(_)) => error(StatusCode::CONFLICT, &err.to_string()),
        Err(err @ RegisterError::Invalid(_)) => error(StatusCode::BAD_REQUEST, &err.to_string()),
    }
}

fn token_pair(tokens: &Tokens, user: &User) -> Response {
    Json(json!({
        "access_token": tokens.issue(user.id, TokenKind::Access),
        "refresh_token": tokens.issue(user.id, TokenKind::Refresh),
    }))
    .into_response()
}

async fn login(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    match http_user(&headers, &api.users, &api.tokens) {
        Some(user) => token_pair(&api.tokens, &user),
        None => unauthorized(),
    }
}

async fn refresh(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let user = bearer_token(&headers)
        .and_then(|token| api.tokens.verify(token, TokenKind::Refresh))
        .and_then(|id| api.users.by_id(id));
    match user {
        Some(user) => token_pair(&api.tokens, &user),
        None => unauthorized(),
    }
}

async fn me(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    match http_user(&headers, &api.users, &api.tokens) {
        Some(user) => Json(user.to_json()).into_response(),
        None => unauthorized(),
    }
}

async fn status() -> Response {
    Json(json!({ "status": "HEALTHY", "version": EMULATED_VERSION })).into_response()
}
