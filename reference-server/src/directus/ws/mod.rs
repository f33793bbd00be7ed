//! `GET /websocket`: the upgrade (origin, connection limit, token at upgrade time) and the connection.

mod frames;
mod items;
mod message;
mod session;
mod subscriptions;
mod timers;
mod validate;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::config::AuthMode;
use super::error::DirectusError;
use super::state::Directus;
use session::Start;

pub const PATH: &str = "/websocket";

/// Counts an open connection for `max_connections` until dropped, whether or not the upgrade completes.
struct ConnectionSlot(Arc<Directus>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

pub async fn upgrade(
    State(state): State<Arc<Directus>>,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return DirectusError::route_not_found(PATH).into_response();
    };
    if !origin_allowed(&state, &headers) {
        tracing::debug!("directus: upgrade refused, foreign origin");
        return StatusCode::FORBIDDEN.into_response();
    }
    let params = params.map(|Query(p)| p).unwrap_or_default();
    let token = params
        .iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.clone())
        .or_else(|| cookie(&headers, &state.config.session_cookie_name));
    let start = match (&token, state.config.auth_mode) {
        (Some(token), _) => match state.auth.verify(token) {
            Ok(verified) => Start::Authenticated(verified),
            Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
        },
        (None, AuthMode::Strict) => return StatusCode::UNAUTHORIZED.into_response(),
        (None, AuthMode::Public) => Start::Public,
        (None, AuthMode::Handshake) => Start::Handshake,
    };
    let Some(slot) = take_slot(&state) else {
        tracing::debug!("directus: upgrade refused, connection limit reached");
        return StatusCode::FORBIDDEN.into_response();
    };
    let upgrade = crate::ws::with_limits(upgrade, &state.limits, state.max_message_bytes());
    upgrade.on_upgrade(move |socket| async move {
        let state = slot.0.clone();
        session::run(socket, state, start).await;
        drop(slot);
    })
}

fn take_slot(state: &Arc<Directus>) -> Option<ConnectionSlot> {
    let before = state.connections.fetch_add(1, Ordering::AcqRel);
    let slot = ConnectionSlot(state.clone());
    match state.config.max_connections {
        Some(max) if before >= max => None,
        _ => Some(slot),
    }
}

/// No `Origin` (a non-browser client), the server's own origin, or one of `allowed_origins`.
fn origin_allowed(state: &Directus, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return headers.get(header::ORIGIN).is_none();
    };
    let allowed = &state.config.allowed_origins;
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
