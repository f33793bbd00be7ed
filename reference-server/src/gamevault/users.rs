//! GameVault users: the configured ones and those who register, with their passwords and socket
//! secrets, in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use serde_json::{json, Value};

use super::config::UserConfig;
use super::ids;

/// Longest username or password accepted at registration, in characters.
const MAX_CREDENTIAL_CHARS: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: u64,
    pub username: String,
    password: String,
    pub socket_secret: String,
}

impl User {
    /// The user as the HTTP API shows it; the secret appears under both names GameVault used
    /// (`socket_secret` up to 14.x, `api_key` from 15.0).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "username": self.username,
            "socket_secret": self.socket_secret,
            "api_key": self.socket_secret,
            "email": null,
            "first_name": null,
            "last_name": null,
            "activated": true,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("The username \"{0}\" is already taken.")]
    Taken(String),
    #[error("{0}")]
    Invalid(&'static str),
}

#[derive(Default)]
struct Directory {
    by_id: BTreeMap<u64, User>,
    by_name: HashMap<String, u64>,
    by_secret: HashMap<String, u64>,
}

impl Directory {
    fn add(&mut self, user: User) -> bool {
        if self.by_id.contains_key(&user.id)
            || self.by_name.contains_key(&user.username)
            || self.by_secret.contains_key(&user.socket_secret)
        {
            return false;
        }
        self.by_name.insert(user.username.clone(), user.id);
        self.by_secret.insert(user.socket_secret.clone(), user.id);
        self.by_id.insert(user.id, user);
        true
    }
}

pub struct Users {
    directory: RwLock<Directory>,
}

impl Users {
    /// The configured users; one whose id, name or secret repeats an earlier one is left out
    /// (with a warning), so every lookup stays unambiguous.
    pub fn new(configured: &[UserConfig]) -> Users {
        let mut directory = Directory::default();
        for user in configured {
            let added = user.id != 0
                && directory.add(User {
                    id: user.id,
                    username: user.username.clone(),
                    password: user.password.clone(),
                    socket_secret: user.socket_secret.clone(),
                });
            if !added {
                tracing::warn!(
                    id = user.id,
                    username = %user.username,
                    "gamevault user ignored: id 0, or id, username or secret already used"
                );
            }
        }
        Users {
            directory: RwLock::new(directory),
        }
    }

    /// Creates a user with the next free id and a new random secret.
    pub fn register(&self, username: &str, password: &str) -> Result<User, RegisterError> {
        validate(username, password)?;
        let mut directory = self.write();
        if directory.by_name.contains_key(username) {
            return Err(RegisterError::Taken(username.to_owned()));
        }
        let id = match directory.by_id.keys().next_back() {
            None => 1,
            // A configured user may hold the largest id.
            Some(last) => last
                .checked_add(1)
                .ok_or(RegisterError::Invalid("no user id is left"))?,
        };
        let mut user = User {
            id,
            username: username.to_owned(),
            password: password.to_owned(),
            socket_secret: ids::secret(),
        };
        // 256 random bits do not collide; the loop only makes the invariant local.
        while directory.by_secret.contains_key(&user.socket_secret) {
            user.socket_secret = ids::secret();
        }
        directory.add(user.clone());
        Ok(user)
    }

    pub fn by_id(&self, id: u64) -> Option<User> {
        self.read().by_id.get(&id).cloned()
    }

    pub fn by_secret(&self, secret: &str) -> Option<User> {
        let directory = self.read();
        let id = directory.by_secret.get(secret)?;
        directory.by_id.get(id).cloned()
    }

    /// The user with this name and password.
    pub fn authenticate(&self, username: &str, password: &str) -> Option<User> {
        let directory = self.read();
        let id = directory.by_name.get(username)?;
        directory
            .by_id
            .get(id)
            .filter(|user| user.password == password)
            .cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Directory> {
        self.directory.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Directory> {
        self.directory.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn validate(username: &str, password: &str) -> Result<(), RegisterError> {
    if username.is_empty() {
        return Err(RegisterError::Invalid("username must not be empty"));
    }
    if username.chars().count() > MAX_CREDENTIAL_CHARS {
        return Err(RegisterError::Invalid(
            "username must be at most 128 characters long",
        ));
    }
    // Basic authentication separates the name from the password with the first colon.
    if username.contains(':') || username.chars().any(char::is_control) {
        return Err(RegisterError::Invalid(
            "username must not contain ':' or control characters",
        ));
    }
    if password.is_empty() {
        return Err(RegisterError::Invalid("password must not be empty"));
    }
    if password.chars().count() > MAX_CREDENTIAL_CHARS {
        return Err(RegisterError::Invalid(
            "password must be at most 128 characters long",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gamevault::Config;

    #[test]
    fn demo_users_are_found_by_secret_and_password() {
        let users = Users::new(&Config::default().users);
        let alice = users.by_secret("gv-demo-secret-alice").expect("alice");
        assert_eq!((alice.id, alice.username.as_str()), (1, "alice"));
        assert_eq!(
            users.authenticate("bob", "bob-password").map(|u| u.id),
            Some(2)
        );
        assert!(users.authenticate("bob", "alice-password").is_none());
        assert!(users.by_secret("nope").is_none());
    }

    #[test]
    fn registration_assigns_the_next_id_and_a_hex_secret() {
        let users = Users::new(&Config::default().users);
        let carol = users.register("carol", "pw").expect("registered");
        assert_eq!(carol.id, 3);
        assert_eq!(carol.socket_secret.len(), 64);
        assert_eq!(users.by_secret(&carol.socket_secret), Some(carol.clone()));
        assert_eq!(
            users.register("carol", "other"),
            Err(RegisterError::Taken("carol".into()))
        );
        assert!(matches!(
            users.register("a:b", "pw"),
            Err(RegisterError::Invalid(_))
        ));
        assert!(matches!(
            users.register("dave", ""),
            Err(RegisterError::Invalid(_))
        ));
    }

    #[test]
    fn duplicate_configured_users_are_left_out() {
        let mut config = Config::default().users;
        let mut copy = config[0].clone();
        copy.id = 9;
        copy.username = "mallory".into();
        config.push(copy);
        let users = Users::new(&config);
        assert!(users.by_id(9).is_none());
        assert_eq!(
            users.by_secret("gv-demo-secret-alice").map(|u| u.id),
            Some(1)
        );
    }
}
