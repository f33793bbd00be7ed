//! Binds the listener, assembles the profiles' routes, and shuts down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::hub::Hub;
use crate::{directus, gamevault, m2, skapi};

/// What every profile adapter is built from.
#[derive(Clone)]
pub struct Shared {
    pub config: Arc<Config>,
    pub hub: Arc<Hub>,
    /// Becomes `true` when the server shuts down; connection tasks close with 1001 then.
    pub shutdown: watch::Receiver<bool>,
}

impl Shared {
    /// Resolves when the server begins to shut down.
    pub async fn shutting_down(&self) {
        let mut rx = self.shutdown.clone();
        let _ = rx.wait_for(|down| *down).await;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running server.
pub struct ServerHandle {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl ServerHandle {
    /// The address actually bound (the real port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection with 1001 and waits for the listener to stop.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join)),
        }
    }

    /// Resolves if the server stops by itself (only on an I/O error of the listener).
    /// Call [`ServerHandle::shutdown`] only if this has not resolved.
    pub async fn stopped(&mut self) -> std::io::Result<()> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join)),
        }
    }
}

/// The router of every profile, for embedding in another axum application.
pub fn router(shared: &Shared) -> Router {
    Router::new()
        .merge(m2::routes(shared))
        .merge(directus::routes(shared))
        .merge(skapi::routes(shared))
        .merge(gamevault::routes(shared))
}

/// Starts the server on `config.listen` and returns once it accepts connections.
pub async fn serve(config: Config) -> Result<ServerHandle, ServeError> {
    let addr = config.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let shared = Shared {
        config: Arc::new(config),
        hub: Arc::new(Hub::new()),
        shutdown: shutdown_rx,
    };
    let app = router(&shared);
    let stop = shared.clone();
    let task = tokio::spawn(async move {
        // Connection info lets handlers see the peer address (skapi's `GET /service` reports it).
        // Small frames must leave at once: without TCP_NODELAY a push waits for the peer's
        // delayed ACK (tens of milliseconds) behind Nagle's algorithm.
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
        });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.shutting_down().await })
        .await
    });
    tracing::info!(%local, "reference server listening");
    Ok(ServerHandle {
        addr: local,
        shutdown: shutdown_tx,
        task,
    })
}
