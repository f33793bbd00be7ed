//! Users, static tokens, and the sessions a login opens: short-lived access tokens and single-use
//! refresh tokens that rotate.
//!
//! Access tokens are opaque random strings looked up in a table (Directus issues JWTs; clients treat
//! both as opaque), which lets expiry be exact to the millisecond and a token be checked without a
//! signature scheme.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use rand::distr::Alphanumeric;
use rand::Rng;

use super::config::{Config, UserConfig};
use super::error::DirectusError;
use super::schema::Accountability;

/// Expired sessions are kept this long after expiry, so that using one says "expired", not "invalid".
const EXPIRED_GRACE: Duration = Duration::from_secs(3600);

/// The credentials a login or a refresh hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Lifetime of the access token in milliseconds.
    pub expires_ms: u128,
    pub expires_at: SystemTime,
}

/// The identity a token resolves to, and when it stops being valid (`None`: a static token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub who: Accountability,
    pub expires_at: Option<SystemTime>,
}

struct Session {
    user: usize,
    expires_at: SystemTime,
}

pub struct Auth {
    users: Vec<UserConfig>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    access: Mutex<HashMap<String, Session>>,
    refresh: Mutex<HashMap<String, Session>>,
}

impl Auth {
    pub fn new(config: &Config) -> Auth {
        Auth {
            users: config.users.clone(),
            access_ttl: config.access_token_ttl,
            refresh_ttl: config.refresh_token_ttl,
            access: Mutex::new(HashMap::new()),
            refresh: Mutex::new(HashMap::new()),
        }
    }

    pub fn users(&self) -> &[UserConfig] {
        &self.users
    }

    /// Email and password → a new session.
    pub fn login(&self, email: &str, password: &str) -> Result<Tokens, DirectusError> {
        let user = self
            .users
            .iter()
            .position(|u| u.email.eq_ignore_ascii_case(email) && u.password == password)
            .ok_or_else(DirectusError::invalid_credentials)?;
        Ok(self.open_session(user))
    }

    /// A refresh token → a new session; the refresh token is spent.
    pub fn refresh(&self, refresh_token: &str) -> Result<Tokens, DirectusError> {
        let session = lock(&self.refresh)
            .remove(refresh_token)
            .ok_or_else(DirectusError::invalid_credentials)?;
        if session.expires_at <= SystemTime::now() {
            return Err(DirectusError::invalid_credentials());
        }
        Ok(self.open_session(session.user))
    }

    /// Spends a refresh token without opening a session.
    pub fn logout(&self, refresh_token: &str) -> Result<(), DirectusError> {
        lock(&self.refresh)
            .remove(refresh_token)
            .map(|_| ())
            .ok_or_else(DirectusError::invalid_credentials)
    }

    /// A static or access token → who it is.
    pub fn verify(&self, token: &str) -> Result<Verified, DirectusError> {
        if let Some(user) = self
            .users
            .iter()
            .find(|u| u.static_token.as_deref() == Some(token))
        {
            return Ok(Verified {
                who: accountability(user),
                expires_at: None,
            });
        }
        let access = lock(&self.access);
        let session = access
            .get(token)
            .ok_or_else(DirectusError::invalid_credentials)?;
        if session.expires_at <= SystemTime::now() {
            return Err(DirectusError::token_expired());
        }
        let user = self
            .users
            .get(session.user)
            .ok_or_else(DirectusError::invalid_credentials)?;
        Ok(Verified {
            who: accountability(user),
            expires_at: Some(session.expires_at),
        })
    }

    fn open_session(&self, user: usize) -> Tokens {
        let now = SystemTime::now();
        let access_token = random_token(48);
        let refresh_token = random_token(64);
        let expires_at = now + self.access_ttl;
        insert_pruning(
            &self.access,
            access_token.clone(),
            Session { user, expires_at },
            now,
        );
        insert_pruning(
            &self.refresh,
            refresh_token.clone(),
            Session {
                user,
                expires_at: now + self.refresh_ttl,
            },
            now,
        );
        Tokens {
            access_token,
            refresh_token,
            expires_ms: self.access_ttl.as_millis(),
            expires_at,
        }
    }
}

pub fn accountability(user: &UserConfig) -> Accountability {
    Accountability::User {
        id: user.id.as_str().into(),
        role: user.role.as_str().into(),
        admin: user.admin,
    }
}

fn insert_pruning(
    table: &Mutex<HashMap<String, Session>>,
    token: String,
    session: Session,
    now: SystemTime,
) {
    let mut table = lock(table);
    // Amortised: a sweep every 256 insertions keeps the table bounded by the live sessions.
    if table.len() % 256 == 255 {
        table.retain(|_, s| s.expires_at + EXPIRED_GRACE > now);
    }
    table.insert(token, session);
}

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `text` looks like an email address, as the real server checks before trying a login.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
        && domain
            .split('.')
            .collect::<Vec<_>>()
            .split_last()
            .is_some_and(|(tld, rest)| {
                !rest.is_empty() && tld.len() >= 2 && rest.iter().all(|p| !p.is_empty())
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(ttl: Duration) -> Auth {
        Auth::new(&Config {
            access_token_ttl: ttl,
            ..Config::default()
        })
    }

    #[test]
    fn login_refresh_rotates_and_spends_the_refresh_token() {
        let auth = auth(Duration::from_secs(60));
        let first = auth
            .login("admin@example.com", "demo-password")
            .expect("valid credentials");
        assert!(auth
            .verify(&first.access_token)
            .is_ok_and(|v| v.who.is_admin()));
        let second = auth.refresh(&first.refresh_token).expect("fresh token");
        assert_ne!(second.refresh_token, first.refresh_token);
        assert_eq!(
            auth.refresh(&first.refresh_token).map_err(|e| e.code),
            Err("INVALID_CREDENTIALS")
        );
        assert!(auth.logout(&second.refresh_token).is_ok());
    }

    #[test]
    fn wrong_password_unknown_and_expired_tokens_are_refused() {
        let auth = auth(Duration::ZERO);
        assert_eq!(
            auth.login("admin@example.com", "nope").map_err(|e| e.code),
            Err("INVALID_CREDENTIALS")
        );
        assert_eq!(
            auth.verify("bogus").map_err(|e| e.code),
            Err("INVALID_CREDENTIALS")
        );
        let tokens = auth
            .login("reader@example.com", "reader-password")
            .expect("valid credentials");
        assert_eq!(
            auth.verify(&tokens.access_token).map_err(|e| e.code),
            Err("TOKEN_EXPIRED")
        );
        let static_token = auth.verify("directus-reader-token").expect("static token");
        assert_eq!(static_token.expires_at, None);
        assert_eq!(static_token.who.role(), "reader");
    }

    #[test]
    fn email_shapes() {
        assert!(is_email("admin@example.com"));
        assert!(!is_email("not-an-email"));
        assert!(!is_email("a@b"));
        assert!(!is_email("@example.com"));
        assert!(!is_email("a b@example.com"));
    }
}
