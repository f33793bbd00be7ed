//! The `[directus]` section of the server configuration; its defaults are the demo project.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

/// How a WebSocket connection authenticates (`WEBSOCKETS_REST_AUTH` on the real server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No authentication needed; the socket acts with the public role until it authenticates.
    Public,
    /// The first message must be an `auth` message, sent within `auth_timeout`.
    #[default]
    Handshake,
    /// A token is required when upgrading (`?access_token=` or the session cookie).
    Strict,
}

/// Auth, limits, users and collections of the Directus profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub auth_mode: AuthMode,
    /// How long a handshake-mode socket may stay silent before its first `auth` message, and how long a
    /// socket whose token expired has to re-authenticate.
    #[serde(with = "duration_text")]
    pub auth_timeout: Duration,
    /// Period of the server's `{"type":"ping"}`; a client silent for a whole period after a ping is
    /// closed. `"0s"` disables the heartbeat.
    #[serde(with = "duration_text")]
    pub heartbeat_period: Duration,
    /// Lifetime of the access tokens issued by a login or a refresh.
    #[serde(with = "duration_text")]
    pub access_token_ttl: Duration,
    /// Lifetime of the refresh tokens; each is single-use (a refresh rotates it).
    #[serde(with = "duration_text")]
    pub refresh_token_ttl: Duration,
    /// Largest message a client may send (a larger one closes with 1009); defaults to `limits.max_message_bytes`.
    pub max_message_bytes: Option<usize>,
    /// Open WebSocket connections at most; one more is refused with HTTP 403. Unlimited when absent.
    pub max_connections: Option<usize>,
    /// Subscriptions one socket may hold at once; one more is refused with `REQUESTS_EXCEEDED`.
    pub max_subscriptions_per_connection: usize,
    /// Origins allowed to open a WebSocket besides the server's own; `"*"` allows any. Requests without an
    /// `Origin` header (non-browser clients) are always allowed.
    pub allowed_origins: Vec<String>,
    /// Name of the cookie that may carry an access token at upgrade time.
    pub session_cookie_name: String,
    /// Per-connection message rate limit; none when absent.
    pub rate_limit: Option<RateLimitConfig>,
    pub users: Vec<UserConfig>,
    pub collections: Vec<CollectionConfig>,
}

/// At most `points` messages per `duration` window on one connection; more are answered with
/// `REQUESTS_EXCEEDED` and dropped.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub points: u32,
    #[serde(with = "duration_text")]
    pub duration: Duration,
}

/// One user who can log in with email and password, or with a static token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// A UUID, as Directus user ids are.
    pub id: String,
    pub email: String,
    pub password: String,
    /// Role name; collection permissions list role names.
    pub role: String,
    /// Administrators may do anything, whatever the permissions say.
    #[serde(default)]
    pub admin: bool,
    /// A token that never expires, usable wherever an access token is.
    #[serde(default)]
    pub static_token: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
}

/// Kind of a collection's primary key `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PrimaryKeyKind {
    /// Auto-increment integer (a client may still choose one).
    #[default]
    Integer,
    /// A UUID generated when the client gives none.
    Uuid,
    /// A string the client must give.
    String,
}

/// One collection: its fields, who may do what, and its initial items.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionConfig {
    pub name: String,
    #[serde(default)]
    pub primary_key: PrimaryKeyKind,
    /// Field names; `id` (the primary key) is added first when missing.
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub permissions: Permissions,
    /// Items present at start-up.
    #[serde(default)]
    pub items: Vec<Map<String, Value>>,
}

/// Role names allowed each action; administrators are always allowed. The role `public` stands for
/// unauthenticated requests and sockets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Permissions {
    pub read: Vec<String>,
    pub create: Vec<String>,
    pub update: Vec<String>,
    pub delete: Vec<String>,
}

/// The role name that stands for requests without credentials.
pub const PUBLIC_ROLE: &str = "public";

pub const DEMO_ADMIN_ID: &str = "d1ec7a5e-0000-4000-8000-00000000ad01";
pub const DEMO_ADMIN_EMAIL: &str = "admin@example.com";
pub const DEMO_ADMIN_PASSWORD: &str = "demo-password";
pub const DEMO_ADMIN_TOKEN: &str = "directus-demo-token";
pub const DEMO_READER_ID: &str = "d1ec7a5e-0000-4000-8000-0000000ead02";
pub const DEMO_READER_EMAIL: &str = "reader@example.com";
pub const DEMO_READER_PASSWORD: &str = "reader-password";
pub const DEMO_READER_TOKEN: &str = "directus-reader-token";

impl Default for Config {
    fn default() -> Self {
        Config {
            auth_mode: AuthMode::Handshake,
            auth_timeout: Duration::from_secs(10),
            heartbeat_period: Duration::from_secs(30),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            max_message_bytes: None,
            max_connections: None,
            max_subscriptions_per_connection: 1000,
            allowed_origins: Vec::new(),
            session_cookie_name: "directus_session_token".into(),
            rate_limit: None,
            users: vec![
                UserConfig {
                    id: DEMO_ADMIN_ID.into(),
                    email: DEMO_ADMIN_EMAIL.into(),
                    password: DEMO_ADMIN_PASSWORD.into(),
                    role: "administrator".into(),
                    admin: true,
                    static_token: Some(DEMO_ADMIN_TOKEN.into()),
                    first_name: Some("Admin".into()),
                    last_name: Some("User".into()),
                },
                UserConfig {
                    id: DEMO_READER_ID.into(),
                    email: DEMO_READER_EMAIL.into(),
                    password: DEMO_READER_PASSWORD.into(),
                    role: "reader".into(),
                    admin: false,
                    static_token: Some(DEMO_READER_TOKEN.into()),
                    first_name: None,
                    last_name: None,
                },
            ],
            collections: vec![
                CollectionConfig {
                    name: "messages".into(),
                    primary_key: PrimaryKeyKind::Integer,
                    fields: vec!["id".into(), "text".into(), "user".into()],
                    permissions: Permissions {
                        read: vec!["reader".into()],
                        ..Permissions::default()
                    },
                    items: Vec::new(),
                },
                CollectionConfig {
                    name: "secrets".into(),
                    primary_key: PrimaryKeyKind::Integer,
                    fields: vec!["id".into(), "value".into()],
                    permissions: Permissions::default(),
                    items: Vec::new(),
                },
            ],
        }
    }
}

/// Durations written as text: `"10s"`, `"500ms"`, `"15m"`, `"7days"`.
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(de)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_section_keeps_the_other_defaults() {
        let config: Config = toml::from_str(
            "auth_mode = \"strict\"\nauth_timeout = \"250ms\"\nheartbeat_period = \"0s\"\n",
        )
        .expect("valid section");
        assert_eq!(config.auth_mode, AuthMode::Strict);
        assert_eq!(config.auth_timeout, Duration::from_millis(250));
        assert_eq!(config.heartbeat_period, Duration::ZERO);
        assert_eq!(config.users.len(), 2);
        assert_eq!(config.collections.len(), 2);
    }

    #[test]
    fn collections_users_and_limits_are_configurable() {
        let config: Config = toml::from_str(
            r#"
max_connections = 3
allowed_origins = ["http://app.example"]
rate_limit = { points = 5, duration = "2s" }

[[users]]
id = "00000000-0000-4000-8000-000000000001"
email = "ed@example.com"
password = "pw"
role = "editor"

[[collections]]
name = "notes"
primary_key = "uuid"
fields = ["title"]
permissions = { read = ["editor", "public"], create = ["editor"] }
items = [{ id = "n1", title = "first" }]
"#,
        )
        .expect("valid section");
        assert_eq!(config.max_connections, Some(3));
        assert_eq!(config.users[0].role, "editor");
        assert_eq!(config.collections[0].primary_key, PrimaryKeyKind::Uuid);
        assert_eq!(config.collections[0].permissions.read, ["editor", "public"]);
        assert_eq!(config.collections[0].items.len(), 1);
        assert_eq!(config.rate_limit.map(|r| r.points), Some(5));
    }

    #[test]
    fn the_documented_example_parses() {
        let config = crate::config::Config::from_toml(
            r#"
[directus]
auth_mode = "public"
heartbeat_period = "0s"
refresh_token_ttl = "7days"

[[directus.users]]
id = "00000000-0000-4000-8000-000000000001"
email = "ed@example.com"
password = "ed-password"
role = "editor"
static_token = "ed-token"

[[directus.collections]]
name = "notes"
primary_key = "uuid"
fields = ["title", "body"]
permissions = { read = ["editor", "public"], create = ["editor"], update = ["editor"], delete = ["editor"] }
items = [{ title = "first" }]
"#,
        )
        .expect("the example in docs/directus.md");
        assert_eq!(config.directus.auth_mode, AuthMode::Public);
        assert_eq!(config.directus.users.len(), 1);
        assert_eq!(config.directus.collections[0].name, "notes");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("no_such_key = 1").is_err());
    }
}
