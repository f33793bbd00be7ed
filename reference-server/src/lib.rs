//! The bundled reference server: all four profiles on one port, an in-memory multi-tenant store with
//! a subscription hub, and an HTTP API to change data and issue credentials.
//!
//! Start it in-process with [`serve`]; the binary `reference-server` wraps the same call.

pub mod config;
pub mod hub;
pub mod outbox;
pub mod server;
pub mod ws;

pub mod directus;
pub mod gamevault;
pub mod m2;
pub mod skapi;

pub use config::Config;
pub use server::{router, serve, ServeError, ServerHandle, Shared};
