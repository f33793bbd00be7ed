//! The `directus` profile: Directus WebSocket subscriptions at `/websocket`, with the REST API
//! around it (`/auth/*`, `/collections`, `/items/*`).
//!
//! Collections live in the hub, one topic per collection (`directus/items/<name>`) whose value holds
//! the items; every write is one atomic hub update whose change reaches each subscription of the
//! collection, rendered per subscription (event filter, item, query, permission) by its connection.

pub mod auth;
pub mod config;
pub mod error;
pub mod filter;
pub mod http;
pub mod items;
pub mod query;
pub mod schema;
pub mod state;
pub mod system;
pub mod table;
pub mod ws;

use axum::routing::get;
use axum::Router;

use crate::server::Shared;

pub use config::{AuthMode, Config};

pub fn routes(shared: &Shared) -> Router {
    let state = state::Directus::new(shared);
    Router::new()
        .route(ws::PATH, get(ws::upgrade))
        .with_state(state.clone())
        .merge(http::routes(state))
}
