//! The `gamevault` profile: GameVault's activities over Socket.IO v5 / Engine.IO v4 at
//! `/socket.io/` (WebSocket and HTTP long-polling with upgrade), and the REST endpoints around it.
//!
//! Layers, bottom up: [`engineio`] (transport, heartbeat, sessions), [`socketio`] (packets,
//! namespaces, acknowledgements), [`activities`] (what GameVault does with the events). The
//! socket secret of the handshake headers ([`auth`]) decides whether the CONNECT to `/` is accepted.

pub mod activities;
pub mod auth;
mod config;
pub mod engineio;
mod http;
mod ids;
pub mod socketio;
mod tokens;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::server::Shared;
use activities::{Activities, SocketContext, SocketFactory};
use auth::SecretPolicy;
pub use config::{Config, UserConfig};
use engineio::{Engine, EngineConfig};
pub use http::EMULATED_VERSION;
use users::Users;

/// Where the Socket.IO server listens.
pub const SOCKET_IO_PATH: &str = "/socket.io/";

pub fn routes(shared: &Shared) -> Router {
    let config = &shared.config.gamevault;
    let limits = &shared.config.limits;
    let users = Arc::new(Users::new(&config.users));
    let api = Arc::new(http::Api {
        users: users.clone(),
        tokens: tokens::Tokens::new(
            Duration::from_secs(config.access_token_ttl_secs),
            Duration::from_secs(config.refresh_token_ttl_secs),
        ),
    });
    let router = http::routes(api);
    if config.activities_disabled {
        return router;
    }
    let context = SocketContext {
        activities: Arc::new(Activities::new(shared.hub.clone())),
        users,
        policy: SecretPolicy::new(config),
        write_batch: limits.write_batch,
        acknowledge_events: config.acknowledge_events,
    };
    let factory = SocketFactory {
        context: Arc::new(context),
        hub: shared.hub.clone(),
        outbound_queue: limits.outbound_queue,
        connect_timeout: millis(config.connect_timeout_ms),
        max_payload: config.max_payload,
    };
    let engine = Engine::new(
        EngineConfig {
            ping_interval: millis(config.ping_interval_ms),
            ping_timeout: millis(config.ping_timeout_ms),
            upgrade_timeout: millis(config.upgrade_timeout_ms),
            max_payload: config.max_payload.max(1),
            max_buffered_packets: limits.outbound_queue.max(1),
            limits: limits.clone(),
        },
        factory,
        shared.shutdown.clone(),
    );
    router.merge(engineio::router(Arc::new(engine), SOCKET_IO_PATH))
}

/// A period from the config; zero would make a timer spin, so it counts as one millisecond.
fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms.max(1))
}
