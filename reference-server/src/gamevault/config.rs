//! The `[gamevault]` section of the server configuration.

use serde::Deserialize;

/// Settings of the GameVault profile; `Default` is the demo tenant (users alice and bob).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Users that exist at start; more can register through `POST /api/auth/basic/register`.
    pub users: Vec<UserConfig>,
    /// Engine.IO `pingInterval`: the server sends a ping this long after the previous pong.
    pub ping_interval_ms: u64,
    /// Engine.IO `pingTimeout`: a session whose client does not answer a ping within this is closed.
    pub ping_timeout_ms: u64,
    /// Socket.IO `connectTimeout`: a session that has not joined a namespace by then is closed.
    pub connect_timeout_ms: u64,
    /// A polling-to-WebSocket upgrade must complete (`5`) within this after the probe WebSocket opens.
    pub upgrade_timeout_ms: u64,
    /// Engine.IO `maxPayload` in bytes: the largest WebSocket message or polling POST body accepted.
    pub max_payload: usize,
    /// Accept the socket secret in `X-Socket-Secret` (the dialect the GameVault document describes).
    pub accept_socket_secret_header: bool,
    /// Accept the socket secret in `X-Api-Key` (the dialect of GameVault 15 and later).
    pub accept_api_key_header: bool,
    /// Also accept the secret from the Socket.IO CONNECT auth payload (`socket_secret` or `api_key`),
    /// for browsers, which cannot set headers on a WebSocket handshake.
    pub allow_auth_payload_secret: bool,
    /// Answer an event that carries an ack id with an ACK, as the Socket.IO protocol requires;
    /// the real GameVault server never acknowledges (false emulates it).
    pub acknowledge_events: bool,
    /// No Socket.IO server at all: `/socket.io/` answers 404 (GameVault's `SERVER_ONLINE_ACTIVITIES_DISABLED`).
    pub activities_disabled: bool,
    /// Lifetime of the access tokens `GET /api/auth/basic/login` issues.
    pub access_token_ttl_secs: u64,
    /// Lifetime of the refresh tokens.
    pub refresh_token_ttl_secs: u64,
}

/// A user that exists when the server starts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub id: u64,
    pub username: String,
    pub password: String,
    /// Sent back as both `socket_secret` and `api_key` by `GET /api/users/me`.
    pub socket_secret: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            users: vec![
                UserConfig {
                    id: 1,
                    username: "alice".into(),
                    password: "alice-password".into(),
                    socket_secret: "gv-demo-secret-alice".into(),
                },
                UserConfig {
                    id: 2,
                    username: "bob".into(),
                    password: "bob-password".into(),
                    socket_secret: "gv-demo-secret-bob".into(),
                },
            ],
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            connect_timeout_ms: 45_000,
            upgrade_timeout_ms: 10_000,
            max_payload: 1_000_000,
            accept_socket_secret_header: true,
            accept_api_key_header: true,
            allow_auth_payload_secret: false,
            acknowledge_events: false,
            activities_disabled: false,
            access_token_ttl_secs: 3_600,
            refresh_token_ttl_secs: 30 * 24 * 3_600,
        }
    }
}
