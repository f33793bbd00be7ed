//! Who a token names: issuing tokens at login and checking them on the handshake, in frames and on
//! `get-ws-group`.

use std::sync::Arc;

use super::config::{Config, ServiceConfig, UserConfig};
use super::jwt::{self, Claims, JwtError, TokenUse};

/// A user of a service, as proven by a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub service: Arc<str>,
    pub owner: Arc<str>,
    pub user_id: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Invalid token: {0}")]
    Token(#[from] JwtError),
    #[error("Invalid token: service \"{0}\" does not exist.")]
    UnknownService(String),
    #[error("Invalid token: the user does not exist in this service.")]
    UnknownUser,
    #[error("Invalid token: the owner does not match the service.")]
    WrongOwner,
    #[error("Invalid token: expected \"IdT:<service>:<owner>:<id token>\".")]
    NotIdentityForm,
    #[error("Invalid token: it names another service or owner than its ID token.")]
    PrefixMismatch,
    #[error("Token does not belong to the user of this connection.")]
    NotThisConnection,
}

/// The tokens `POST /skapi/login` answers with.
pub struct IssuedTokens {
    pub access_token: String,
    pub id_token: String,
}

/// Signs a fresh access token and ID token for `user` of `service`.
pub fn issue(
    config: &Config,
    service: &ServiceConfig,
    user: &UserConfig,
    now: u64,
) -> IssuedTokens {
    let exp = now.saturating_add(config.token_ttl.as_secs().max(1));
    let access = Claims {
        sub: user.user_id.clone(),
        service: service.service.clone(),
        owner: service.owner.clone(),
        token_use: TokenUse::Access,
        iat: now,
        exp,
        username: None,
        cognito_username: None,
    };
    let id = Claims {
        token_use: TokenUse::Id,
        username: Some(user.username.clone()),
        cognito_username: Some(user.username.clone()),
        ..access.clone()
    };
    let secret = config.jwt_secret.as_bytes();
    IssuedTokens {
        access_token: jwt::sign(&access, secret),
        id_token: jwt::sign(&id, secret),
    }
}

/// Checks a bare JWT of the given use and that it names a configured user.
pub fn verify(config: &Config, token: &str, expected: TokenUse) -> Result<Identity, AuthError> {
    let claims = jwt::verify(
        token,
        config.jwt_secret.as_bytes(),
        expected,
        jwt::now_seconds(),
    )?;
    let service = config
        .service(&claims.service)
        .filter(|s| s.has_usable_id())
        .ok_or_else(|| AuthError::UnknownService(claims.service.chars().take(64).collect()))?;
    if service.owner != claims.owner {
        return Err(AuthError::WrongOwner);
    }
    if service.user_by_id(&claims.sub).is_none() {
        return Err(AuthError::UnknownUser);
    }
    Ok(Identity {
        service: service.service.as_str().into(),
        owner: service.owner.as_str().into(),
        user_id: claims.sub.into(),
    })
}

/// The access token of a `joinRoom` or `rtc` frame: valid and of the connection's user.
pub fn verify_frame_access(config: &Config, token: &str, me: &Identity) -> Result<(), AuthError> {
    same_user(&verify(config, token, TokenUse::Access)?, me)
}

/// The `IdT:<service>:<owner>:<id token>` of a `broadcast` or `sendMessage` frame: a valid ID token
/// of the connection's user, under the prefix of its own service and owner.
pub fn verify_frame_identity(config: &Config, token: &str, me: &Identity) -> Result<(), AuthError> {
    let mut parts = token
        .strip_prefix("IdT:")
        .ok_or(AuthError::NotIdentityForm)?
        .splitn(3, ':');
    let (Some(service), Some(owner), Some(id_token)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::NotIdentityForm);
    };
    let identity = verify(config, id_token, TokenUse::Id)?;
    if *identity.service != *service || *identity.owner != *owner {
        return Err(AuthError::PrefixMismatch);
    }
    same_user(&identity, me)
}

fn same_user(identity: &Identity, me: &Identity) -> Result<(), AuthError> {
    if identity.service == me.service && identity.user_id == me.user_id {
        Ok(())
    } else {
        Err(AuthError::NotThisConnection)
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::{ALICE_ID, BOB_ID, DEMO_OWNER, DEMO_SERVICE, OTHER_SERVICE};
    use super::*;

    fn login(config: &Config, service: &str, username: &str) -> IssuedTokens {
        let service = config.service(service).expect("service");
        let user = service.user_by_name(username).expect("user");
        issue(config, service, user, jwt::now_seconds())
    }

    fn alice() -> Identity {
        Identity {
            service: DEMO_SERVICE.into(),
            owner: DEMO_OWNER.into(),
            user_id: ALICE_ID.into(),
        }
    }

    #[test]
    fn issued_tokens_name_the_user() {
        let config = Config::default();
        let tokens = login(&config, DEMO_SERVICE, "alice");
        assert_eq!(
            verify(&config, &tokens.access_token, TokenUse::Access),
            Ok(alice())
        );
        assert_eq!(verify(&config, &tokens.id_token, TokenUse::Id), Ok(alice()));
        assert!(matches!(
            verify(&config, &tokens.id_token, TokenUse::Access),
            Err(AuthError::Token(JwtError::WrongUse { .. }))
        ));
    }

    #[test]
    fn frame_tokens_must_be_the_connections_user() {
        let config = Config::default();
        let alice_tokens = login(&config, DEMO_SERVICE, "alice");
        let bob_tokens = login(&config, DEMO_SERVICE, "bob");
        let me = alice();
        assert_eq!(
            verify_frame_access(&config, &alice_tokens.access_token, &me),
            Ok(())
        );
        assert_eq!(
            verify_frame_access(&config, &bob_tokens.access_token, &me),
            Err(AuthError::NotThisConnection)
        );
        let idt = format!("IdT:{DEMO_SERVICE}:{DEMO_OWNER}:{}", alice_tokens.id_token);
        assert_eq!(verify_frame_identity(&config, &idt, &me), Ok(()));
        let bob_idt = format!("IdT:{DEMO_SERVICE}:{DEMO_OWNER}:{}", bob_tokens.id_token);
        assert_eq!(
            verify_frame_identity(&config, &bob_idt, &me),
            Err(AuthError::NotThisConnection)
        );
        assert_eq!(
            Some(BOB_ID),
            verify(&config, &bob_tokens.id_token, TokenUse::Id)
                .ok()
                .map(|i| i.user_id.to_string())
                .as_deref()
        );
    }

    #[test]
    fn malformed_identity_tokens_are_refused() {
        let config = Config::default();
        let me = alice();
        let tokens = login(&config, DEMO_SERVICE, "alice");
        let carol = login(&config, OTHER_SERVICE, "carol");
        for (token, expected) in [
            (tokens.id_token.clone(), AuthError::NotIdentityForm),
            (format!("IdT:{DEMO_SERVICE}"), AuthError::NotIdentityForm),
            (
                format!("IdT:{DEMO_SERVICE}:{DEMO_OWNER}:null"),
                AuthError::Token(JwtError::Malformed),
            ),
            (
                format!("IdT:{OTHER_SERVICE}:{DEMO_OWNER}:{}", tokens.id_token),
                AuthError::PrefixMismatch,
            ),
            (
                format!("IdT:{DEMO_SERVICE}:{DEMO_OWNER}:{}", tokens.access_token),
                AuthError::Token(JwtError::WrongUse {
                    expected: TokenUse::Id,
                    found: TokenUse::Access,
                }),
            ),
        ] {
            assert_eq!(
                verify_frame_identity(&config, &token, &me),
                Err(expected),
                "{token}"
            );
        }
        let carol_idt = format!(
            "IdT:{OTHER_SERVICE}:00000000-0000-4000-8000-000000000001:{}",
            carol.id_token
        );
        assert_eq!(
            verify_frame_identity(&config, &carol_idt, &me),
            Err(AuthError::NotThisConnection)
        );
    }

    #[test]
    fn tokens_of_another_secret_or_unknown_service_are_refused() {
        let config = Config::default();
        let tokens = login(&config, DEMO_SERVICE, "alice");
        let other = Config {
            jwt_secret: "another".into(),
            ..Config::default()
        };
        assert_eq!(
            verify(&other, &tokens.access_token, TokenUse::Access),
            Err(AuthError::Token(JwtError::BadSignature))
        );
        let without_demo = Config {
            services: Config::default()
                .services
                .into_iter()
                .filter(|s| s.service != DEMO_SERVICE)
                .collect(),
            ..Config::default()
        };
        assert_eq!(
            verify(&without_demo, &tokens.access_token, TokenUse::Access),
            Err(AuthError::UnknownService(DEMO_SERVICE.into()))
        );
    }
}
