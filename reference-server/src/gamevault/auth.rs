//! Who is calling: the socket secret of a Socket.IO handshake, and the Basic or Bearer
//! credentials of the HTTP API.

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

use super::config::Config;
use super::tokens::{TokenKind, Tokens};
use super::users::{User, Users};

/// The handshake header of the GameVault document (backend 9.0.0 – 14.x).
pub const SOCKET_SECRET_HEADER: &str = "X-Socket-Secret";
/// The handshake header of GameVault 15 and later.
pub const API_KEY_HEADER: &str = "X-Api-Key";
/// Keys of the CONNECT auth payload that may carry the secret when the config allows it.
pub const AUTH_PAYLOAD_KEYS: [&str; 2] = ["socket_secret", "api_key"];

pub const INVALID_SECRET: &str = "Invalid socket secret.";

/// Why a Socket.IO CONNECT is refused; the message is the CONNECT_ERROR's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRefusal {
    /// No accepted header carried a secret.
    Missing,
    /// A secret was given and matches no user (or two given secrets disagree).
    Invalid,
}

/// The ways a client may present its secret under `config`.
pub struct SecretPolicy {
    socket_secret_header: bool,
    api_key_header: bool,
    auth_payload: bool,
}

impl SecretPolicy {
    pub fn new(config: &Config) -> SecretPolicy {
        SecretPolicy {
            socket_secret_header: config.accept_socket_secret_header,
            api_key_header: config.accept_api_key_header,
            auth_payload: config.allow_auth_payload_secret,
        }
    }

    fn headers(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            (self.socket_secret_header, SOCKET_SECRET_HEADER),
            (self.api_key_header, API_KEY_HEADER),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
    }

    /// The user whose secret the handshake headers carry.
    pub fn check_headers(&self, headers: &HeaderMap, users: &Users) -> Result<User, SecretRefusal> {
        let mut found: Option<User> = None;
        for name in self.headers() {
            for value in headers.get_all(name) {
                // An empty header is how some clients leave a secret out.
                if value.as_bytes().iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let user = value
                    .to_str()
                    .ok()
                    .and_then(|secret| users.by_secret(secret.trim()))
                    .ok_or(SecretRefusal::Invalid)?;
                match &found {
                    Some(earlier) if earlier.id != user.id => return Err(SecretRefusal::Invalid),
                    _ => found = Some(user),
                }
            }
        }
        found.ok_or(SecretRefusal::Missing)
    }

    /// The user whose secret the CONNECT auth payload carries, when the config allows that.
    pub fn check_auth_payload(
        &self,
        auth: Option<&Value>,
        users: &Users,
    ) -> Result<User, SecretRefusal> {
        if !self.auth_payload {
            return Err(SecretRefusal::Missing);
        }
        let secret = AUTH_PAYLOAD_KEYS
            .iter()
            .find_map(|key| auth.and_then(|a| a.get(key)))
            .ok_or(SecretRefusal::Missing)?;
        secret
            .as_str()
            .and_then(|s| users.by_secret(s))
            .ok_or(SecretRefusal::Invalid)
    }

    /// The CONNECT_ERROR message of a refusal, naming what was expected.
    pub fn message(&self, refusal: &SecretRefusal) -> String {
        match refusal {
            SecretRefusal::Invalid => INVALID_SECRET.to_owned(),
            SecretRefusal::Missing => {
                let headers: Vec<&str> = self.headers().collect();
                let header_part = match headers.as_slice() {
                    [] => None,
                    [one] => Some(format!("{one} Header")),
                    [first, second, ..] => Some(format!("{first} or {second} Header")),
                };
                match (header_part, self.auth_payload) {
                    (Some(h), false) => format!("Missing {h}."),
                    (Some(h), true) => {
                        format!("Missing {h}, or socket_secret in the CONNECT auth payload.")
                    }
                    (None, true) => "Missing socket_secret in the CONNECT auth payload.".into(),
                    (None, false) => {
                        "This server accepts no socket secret: every handshake header is disabled."
                            .into()
                    }
                }
            }
        }
    }
}

/// The user an HTTP request authenticates as: `Authorization: Bearer <access token>` or
/// `Authorization: Basic <username:password>`.
pub fn http_user(headers: &HeaderMap, users: &Users, tokens: &Tokens) -> Option<User> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, credentials) = value.split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        let id = tokens.verify(credentials, TokenKind::Access)?;
        users.by_id(id)
    } else if scheme.eq_ignore_ascii_case("basic") {
        let (username, password) = basic_credentials(credentials)?;
        users.authenticate(&username, &password)
    } else {
        None
    }
}

/// The bearer token of a request, whatever it is.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn basic_credentials(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some((username.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn users() -> Users {
        Users::new(&Config::default().users)
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn either_header_dialect_identifies_the_user() {
        let policy = SecretPolicy::new(&Config::default());
        let users = users();
        let v9 = headers(&[("x-socket-secret", "gv-demo-secret-alice")]);
        let v15 = headers(&[("X-API-KEY", "gv-demo-secret-bob")]);
        assert_eq!(policy.check_headers(&v9, &users).map(|u| u.id), Ok(1));
        assert_eq!(policy.check_headers(&v15, &users).map(|u| u.id), Ok(2));
        assert_eq!(
            policy.check_headers(&HeaderMap::new(), &users),
            Err(SecretRefusal::Missing)
        );
        assert_eq!(
            policy.check_headers(&headers(&[("x-api-key", "wrong")]), &users),
            Err(SecretRefusal::Invalid)
        );
        let disagreeing = headers(&[
            ("x-socket-secret", "gv-demo-secret-alice"),
            ("x-api-key", "gv-demo-secret-bob"),
        ]);
        assert_eq!(
            policy.check_headers(&disagreeing, &users),
            Err(SecretRefusal::Invalid)
        );
    }

    #[test]
    fn a_disabled_header_is_ignored_and_no_longer_named() {
        let config = Config {
            accept_api_key_header: false,
            ..Config::default()
        };
        let policy = SecretPolicy::new(&config);
        let v15 = headers(&[("x-api-key", "gv-demo-secret-bob")]);
        assert_eq!(
            policy.check_headers(&v15, &users()),
            Err(SecretRefusal::Missing)
        );
        assert_eq!(
            policy.message(&SecretRefusal::Missing),
            "Missing X-Socket-Secret Header."
        );
        let both = SecretPolicy::new(&Config::default());
        assert_eq!(
            both.message(&SecretRefusal::Missing),
            "Missing X-Socket-Secret or X-Api-Key Header."
        );
        assert_eq!(both.message(&SecretRefusal::Invalid), INVALID_SECRET);
    }

    #[test]
    fn the_auth_payload_counts_only_when_allowed() {
        let users = users();
        let auth = json!({ "socket_secret": "gv-demo-secret-alice" });
        let strict = SecretPolicy::new(&Config::default());
        assert_eq!(
            strict.check_auth_payload(Some(&auth), &users),
            Err(SecretRefusal::Missing)
        );
        let lenient = SecretPolicy::new(&Config {
            allow_auth_payload_secret: true,
            ..Config::default()
        });
        assert_eq!(
            lenient
                .check_auth_payload(Some(&auth), &users)
                .map(|u| u.id),
            Ok(1)
        );
        assert_eq!(
            lenient.check_auth_payload(Some(&json!({ "api_key": 5 })), &users),
            Err(SecretRefusal::Invalid)
        );
        assert_eq!(
            lenient.check_auth_payload(None, &users),
            Err(SecretRefusal::Missing)
        );
    }

    #[test]
    fn http_requests_authenticate_with_basic_or_bearer() {
        let users = users();
        let tokens = Tokens::new(
            std::time::Duration::from_secs(60),
            std::time::Duration::from_secs(60),
        );
        let basic = headers(&[("authorization", "Basic Ym9iOmJvYi1wYXNzd29yZA==")]);
        assert_eq!(http_user(&basic, &users, &tokens).map(|u| u.id), Some(2));
        let token = tokens.issue(1, TokenKind::Access);
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).expect("ascii"),
        );
        assert_eq!(http_user(&bearer, &users, &tokens).map(|u| u.id), Some(1));
        let wrong = headers(&[("authorization", "Basic Ym9iOm5vcGU=")]);
        assert!(http_user(&wrong, &users, &tokens).is_none());
        assert!(http_user(&HeaderMap::new(), &users, &tokens).is_none());
    }
}
