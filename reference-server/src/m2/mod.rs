//! The `m2` profile: M2 Worlds realtime (kvStore / collection / liveConfig subscriptions) at
//! `GET /api/realtime/connect/`, and the HTTP API that changes what is subscribed to.
//!
//! - `config`, `credentials`, `auth`: tenancy, reading the connection headers (plain or base58 in
//!   `Sec-WebSocket-Protocol`), and checking them;
//! - `resource`, `protocol`: resource ids and their hub topics, the frames;
//! - `session`: one realtime connection;
//! - `store`, `collection`, `http`: changes through the hub, and their HTTP endpoints.

mod auth;
mod collection;
mod config;
mod credentials;
mod http;
mod protocol;
mod resource;
mod session;
mod store;

use std::sync::{Arc, Mutex};

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub use self::config::{ApiKey, Config, Organization, Project};
pub use self::credentials::encode_protocol;

use self::auth::{authenticate, AuthError};
use self::config::Tenancy;
use self::credentials::Credentials;
use crate::server::Shared;

/// The WebSocket path.
pub const CONNECT_PATH: &str = "/api/realtime/connect/";

/// What the profile's handlers share.
pub(crate) struct M2State {
    shared: Shared,
    tenancy: Tenancy,
    /// Serialises collection transfers (see `store::transfer`).
    transfers: Mutex<()>,
}

pub fn routes(shared: &Shared) -> Router {
    let state = Arc::new(M2State {
        shared: shared.clone(),
        tenancy: Tenancy::new(&shared.config.m2),
        transfers: Mutex::new(()),
    });
    Router::new()
        .route(CONNECT_PATH, get(connect))
        .route("/api/realtime/connect", get(connect))
        .merge(http::routes())
        .with_state(state)
}

/// Checks the credentials before upgrading, so a refusal is an HTTP status with a JSON reason.
async fn connect(
    State(state): State<Arc<M2State>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let (identity, protocol) = match handshake(&state.tenancy, &headers) {
        Ok(accepted) => accepted,
        Err(refused) => {
            tracing::debug!(%refused, "m2: handshake refused");
            return refused.into_response();
        }
    };
    let mut upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(not_websocket) => return not_websocket.into_response(),
    };
    // Browsers fail the handshake unless the server selects the subprotocol they offered.
    if let Some(protocol) = protocol {
        upgrade.set_selected_protocol(protocol);
    }
    let config = &state.shared.config;
    let max_message = config
        .m2
        .max_message_bytes
        .unwrap_or(config.limits.max_message_bytes);
    let max_subscriptions = config.m2.max_subscriptions_per_connection;
    let shared = state.shared.clone();
    crate::ws::with_limits(upgrade, &config.limits, max_message)
        .on_upgrade(move |socket| session::run(socket, shared, identity, max_subscriptions))
}

fn handshake(
    tenancy: &Tenancy,
    headers: &HeaderMap,
) -> Result<(auth::Identity, Option<axum::http::HeaderValue>), AuthError> {
    let from_headers = Credentials::from_headers(headers)?;
    let (creds, protocol) = match credentials::from_protocol_header(headers)? {
        Some((from_protocol, echo)) => (from_headers.merge(from_protocol)?, Some(echo)),
        None => (from_headers, None),
    };
    Ok((authenticate(tenancy, creds)?, protocol))
}
