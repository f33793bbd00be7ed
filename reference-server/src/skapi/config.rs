//! The `[skapi]` section of the server configuration; its defaults are the demo services.

use std::time::Duration;

use serde::Deserialize;

/// Services, users, token signing and connection limits of the Skapi profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The services this server hosts; connections of different services never see each other.
    pub services: Vec<ServiceConfig>,
    /// HMAC-SHA256 secret that signs and verifies every access and ID token.
    pub jwt_secret: String,
    /// Lifetime of the tokens `POST /skapi/login` issues, e.g. `"1h"`.
    #[serde(with = "duration_text")]
    pub token_ttl: Duration,
    /// Largest message a client may send; a larger one closes the connection with 1009.
    pub max_message_bytes: usize,
    /// Largest single WebSocket frame a client may send; a larger one closes the connection with 1009.
    /// Defaults to the message limit, so a message sent in one frame (as browsers do) may use all of
    /// it; 32768 reproduces the frame limit of the API Gateway the real service runs on.
    pub max_frame_bytes: usize,
    /// A connection that sends nothing for this long is closed with 1001.
    #[serde(with = "duration_text")]
    pub idle_timeout: Duration,
    /// A connection older than this is closed with 1001, however active.
    #[serde(with = "duration_text")]
    pub max_connection_age: Duration,
}

/// One service (a tenant): its id, its owner and its users.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The service id the SDK is constructed with; must not contain `/` or `#`.
    pub service: String,
    /// The owner id the SDK is constructed with (a UUID on the real service).
    pub owner: String,
    /// Human-readable name, answered by `GET /service`.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub users: Vec<UserConfig>,
}

/// One user of a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub username: String,
    pub password: String,
    /// The user id (`sub` of the tokens); a UUID, as the SDK checks before sending a private message.
    pub user_id: String,
}

pub const DEMO_SERVICE: &str = "ap21demo";
pub const DEMO_OWNER: &str = "00000000-0000-4000-8000-000000000000";
pub const OTHER_SERVICE: &str = "ap21other";
pub const OTHER_OWNER: &str = "00000000-0000-4000-8000-000000000001";
pub const ALICE_ID: &str = "a11ce000-0000-4000-8000-00000000a11c";
pub const BOB_ID: &str = "b0b00000-0000-4000-8000-000000000b0b";
pub const CAROL_ID: &str = "ca201000-0000-4000-8000-0000000ca201";
/// Signing secret of the demo configuration; set your own `jwt_secret` anywhere it matters.
pub const DEMO_JWT_SECRET: &str = "skapi-reference-demo-secret";

impl Default for Config {
    fn default() -> Self {
        Config {
            services: vec![
                ServiceConfig {
                    service: DEMO_SERVICE.into(),
                    owner: DEMO_OWNER.into(),
                    name: "Skapi demo service".into(),
                    description: "Demo service of the reference server".into(),
                    users: vec![
                        user("alice", "alice-password", ALICE_ID),
                        user("bob", "bob-password", BOB_ID),
                    ],
                },
                ServiceConfig {
                    service: OTHER_SERVICE.into(),
                    owner: OTHER_OWNER.into(),
                    name: "Skapi second service".into(),
                    description: "Second demo service, isolated from the first".into(),
                    users: vec![user("carol", "carol-password", CAROL_ID)],
                },
            ],
            jwt_secret: DEMO_JWT_SECRET.into(),
            token_ttl: Duration::from_secs(60 * 60),
            max_message_bytes: 128 * 1024,
            max_frame_bytes: 128 * 1024,
            idle_timeout: Duration::from_secs(10 * 60),
            max_connection_age: Duration::from_secs(2 * 60 * 60),
        }
    }
}

fn user(username: &str, password: &str, user_id: &str) -> UserConfig {
    UserConfig {
        username: username.into(),
        password: password.into(),
        user_id: user_id.into(),
    }
}

impl Config {
    pub fn service(&self, service: &str) -> Option<&ServiceConfig> {
        self.services.iter().find(|s| s.service == service)
    }
}

impl ServiceConfig {
    pub fn user_by_name(&self, username: &str) -> Option<&UserConfig> {
        self.users.iter().find(|u| u.username == username)
    }

    pub fn user_by_id(&self, user_id: &str) -> Option<&UserConfig> {
        self.users.iter().find(|u| u.user_id == user_id)
    }

    /// Service ids become part of hub topic names and of `<service>#<group>` list entries.
    pub fn has_usable_id(&self) -> bool {
        !self.service.is_empty() && !self.service.contains(['/', '#'])
    }
}

/// Durations written as humantime text (`"10m"`, `"2h"`, `"250ms"`).
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_services_read_from_toml() {
        let config: Config = toml::from_str(
            r#"
            idle_timeout = "250ms"
            max_connection_age = "3s"
            [[services]]
            service = "svc"
            owner = "own"
            [[services.users]]
            username = "u"
            password = "p"
            user_id = "00000000-0000-4000-8000-00000000000a"
            "#,
        )
        .expect("valid config");
        assert_eq!(config.idle_timeout, Duration::from_millis(250));
        assert_eq!(config.max_connection_age, Duration::from_secs(3));
        assert_eq!(config.max_message_bytes, 128 * 1024);
        let service = config.service("svc").expect("service");
        assert_eq!(
            service.user_by_name("u").map(|u| u.user_id.as_str()),
            Some("00000000-0000-4000-8000-00000000000a")
        );
    }

    #[test]
    fn a_bad_duration_is_a_config_error() {
        let err = toml::from_str::<Config>(r#"idle_timeout = "soon""#).expect_err("invalid");
        assert!(err.to_string().contains("idle_timeout"), "{err}");
    }
}
