//! The `skapi` profile: Skapi realtime groups, broadcasts, private messages, membership notices and
//! WebRTC signalling over one WebSocket per connection, with the HTTP companions the SDK calls.
//!
//! Entry points: [`routes`] and [`Config`]. Code map: `handshake` (token check, upgrade), `session`
//! (one connection), `inbound` / `rtc_signal` (client frames), `outbound` (server frames), `groups`
//! (groups and inboxes as hub topics), `registry` (connection ids for `rtc`), `auth` / `jwt` (tokens),
//! `http` (login, discovery, service), `ws_group` (`get-ws-group`), `lifetime` (idle and age limits).

mod auth;
pub mod config;
mod groups;
mod handshake;
mod http;
mod inbound;
pub mod jwt;
mod lifetime;
mod outbound;
mod registry;
mod rtc_signal;
mod session;
mod ws_group;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub use config::{Config, ServiceConfig, UserConfig};

use crate::hub::Hub;
use crate::server::Shared;
use registry::Registry;

/// The profile's state, shared by its handlers and connections.
pub(crate) struct Skapi {
    shared: Shared,
    registry: Registry,
}

impl Skapi {
    fn config(&self) -> &Config {
        &self.shared.config.skapi
    }

    fn hub(&self) -> &Arc<Hub> {
        &self.shared.hub
    }

    /// A configured service whose id can be used (see [`ServiceConfig::has_usable_id`]).
    fn service(&self, id: &str) -> Option<&ServiceConfig> {
        self.config().service(id).filter(|s| s.has_usable_id())
    }
}

pub fn routes(shared: &Shared) -> Router {
    for service in &shared.config.skapi.services {
        if !service.has_usable_id() {
            tracing::warn!(
                service = %service.service,
                "skapi service ignored: its id must be non-empty and contain neither '/' nor '#'"
            );
        }
    }
    let state = Arc::new(Skapi {
        shared: shared.clone(),
        registry: Registry::default(),
    });
    Router::new()
        .route("/realtime", get(handshake::realtime))
        .route("/skapi/login", post(http::login))
        .route("/skapi/record-v1.json", get(http::record_endpoints))
        .route("/skapi/record-v2.json", get(http::record_endpoints))
        .route("/skapi/admin-v1.json", get(http::admin_endpoints))
        .route("/skapi/admin-v2.json", get(http::admin_endpoints))
        .route("/service", get(http::service))
        .route("/get-ws-group", post(ws_group::get_ws_group))
        .layer(middleware::from_fn(allow_cross_origin))
        .with_state(state)
}

/// The SDK runs in web pages served from another origin than this server, so every HTTP answer of
/// the profile allows any origin, and preflight requests are answered here.
async fn allow_cross_origin(request: Request, next: Next) -> Response {
    let requested_headers = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned();
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Some(requested) = requested_headers {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
    }
    response
}
