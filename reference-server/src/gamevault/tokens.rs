//! The bearer tokens of the HTTP API: HS256 JSON Web Tokens signed with a key drawn at start,
//! so tokens do not outlive the server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde_json::{json, Value};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    fn claim(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

pub struct Tokens {
    key: [u8; 32],
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl Tokens {
    pub fn new(access_ttl: Duration, refresh_ttl: Duration) -> Tokens {
        let mut key = [0u8; 32];
        rand::rng().fill(&mut key);
        Tokens {
            key,
            access_ttl,
            refresh_ttl,
        }
    }

    pub fn issue(&self, user_id: u64, kind: TokenKind) -> String {
        let now = unix_now();
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        let header = json!({ "alg": "HS256", "typ": "JWT" });
        let claims = json!({
            "sub": user_id.to_string(),
            "typ": kind.claim(),
            "iat": now,
            "exp": now.saturating_add(ttl.as_secs()),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signing_input).finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The user id of a valid, unexpired token of this kind.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Option<u64> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let (_, claims) = signing_input.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        self.mac(signing_input).verify_slice(&signature).ok()?;
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
        if claims.get("typ")?.as_str()? != kind.claim() {
            return None;
        }
        if claims.get("exp")?.as_u64()? <= unix_now() {
            return None;
        }
        claims.get("sub")?.as_str()?.parse().ok()
    }

    fn mac(&self, input: &str) -> HmacSha256 {
        // HMAC accepts keys of any length; this cannot fail for a 32-byte key.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(input.as_bytes());
        mac
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(Duration::from_secs(60), Duration::from_secs(600))
    }

    #[test]
    fn issued_tokens_verify_for_their_kind_only() {
        let tokens = tokens();
        let access = tokens.issue(7, TokenKind::Access);
        assert_eq!(tokens.verify(&access, TokenKind::Access), Some(7));
        assert_eq!(tokens.verify(&access, TokenKind::Refresh), None);
        let refresh = tokens.issue(7, TokenKind::Refresh);
        assert_eq!(tokens.verify(&refresh, TokenKind::Refresh), Some(7));
    }

    #[test]
    fn forged_expired_and_foreign_tokens_are_refused() {
        let tokens = tokens();
        let access = tokens.issue(7, TokenKind::Access);
        let mut forged = access.clone();
        forged.push('x');
        assert_eq!(tokens.verify(&forged, TokenKind::Access), None);
        assert_eq!(tokens.verify("a.b", TokenKind::Access), None);
        assert_eq!(tokens.verify("", TokenKind::Access), None);
        let other_server = Tokens::new(Duration::from_secs(60), Duration::from_secs(60));
        assert_eq!(other_server.verify(&access, TokenKind::Access), None);
        let expired = Tokens::new(Duration::ZERO, Duration::ZERO);
        let stale = expired.issue(7, TokenKind::Access);
        assert_eq!(expired.verify(&stale, TokenKind::Access), None);
    }
}
