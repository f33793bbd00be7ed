//! Server configuration: a TOML file, every field optional; the defaults are the demo tenant.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use crate::{directus, gamevault, m2, skapi};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on; `127.0.0.1:0` picks a free port.
    pub listen: SocketAddr,
    pub limits: Limits,
    pub m2: m2::Config,
    pub directus: directus::Config,
    pub skapi: skapi::Config,
    pub gamevault: gamevault::Config,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            limits: Limits::default(),
            m2: m2::Config::default(),
            directus: directus::Config::default(),
            skapi: skapi::Config::default(),
            gamevault: gamevault::Config::default(),
        }
    }
}

/// Limits shared by every profile; a profile may override the message size with its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest message accepted from a peer; a larger one closes the connection with 1009.
    pub max_message_bytes: usize,
    /// Outbound queue capacity per connection, in frames (see `outbox` for the overflow policy).
    pub outbound_queue: usize,
    /// Frames written per flush at most.
    pub write_batch: usize,
    pub read_buffer_bytes: usize,
    pub write_buffer_bytes: usize,
    pub max_write_buffer_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 1 << 20,
            outbound_queue: 1024,
            write_batch: 64,
            read_buffer_bytes: 8 * 1024,
            write_buffer_bytes: 8 * 1024,
            max_write_buffer_bytes: 16 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_toml(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    pub fn from_toml(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }
}
