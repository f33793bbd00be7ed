//! `GET /realtime?token=<access token>`: the token is checked before the upgrade, so a bad one is an
//! HTTP 401 and never a WebSocket.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::auth;
use super::http::ApiError;
use super::jwt::TokenUse;
use super::{session, Skapi};
use crate::ws;

pub async fn realtime(
    State(skapi): State<Arc<Skapi>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let params = query.map(|Query(params)| params).unwrap_or_default();
    let Some(token) = params.get("token").filter(|t| !t.is_empty()) else {
        return ApiError::unauthorized(
            "The access token is required: /realtime?token=<access token>.",
        )
        .into_response();
    };
    let identity = match auth::verify(skapi.config(), token, TokenUse::Access) {
        Ok(identity) => identity,
        Err(err) => return ApiError::unauthorized(err.to_string()).into_response(),
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let config = skapi.config();
    let registration = session::Registration::new(skapi.clone(), identity);
    ws::with_limits(
        upgrade,
        &skapi.shared.config.limits,
        config.max_message_bytes,
    )
    .max_frame_size(config.max_frame_bytes)
    .on_upgrade(move |socket| session::run(registration, socket))
}
