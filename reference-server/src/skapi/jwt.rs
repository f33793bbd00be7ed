//! HS256 JSON Web Tokens: the access and ID tokens this server issues and checks.
//!
//! Only what the profile needs: one algorithm, one secret, and the claims of [`Claims`]. Anything
//! else in a token (another `alg`, a bad signature, a missing claim) is refused.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// What a token is for; a token of one use is refused where the other is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    Access,
    Id,
}

impl std::fmt::Display for TokenUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
        })
    }
}

/// The claims of both token kinds. `username` and `cognito:username` are present in ID tokens only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub service: String,
    pub owner: String,
    pub token_use: TokenUse,
    /// Seconds since the Unix epoch.
    pub iat: u64,
    /// Seconds since the Unix epoch; the token is refused from this second on.
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(
        rename = "cognito:username",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cognito_username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a JWT (expected three base64url parts separated by dots)")]
    Malformed,
    #[error("the token's algorithm is not HS256")]
    UnsupportedAlgorithm,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token's claims are missing or invalid")]
    BadClaims,
    #[error("the token has expired")]
    Expired,
    #[error("an {found} token was given where an {expected} token is required")]
    WrongUse { expected: TokenUse, found: TokenUse },
}

/// Seconds since the Unix epoch, now.
pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs `claims` with `secret`.
pub fn sign(claims: &Claims, secret: &[u8]) -> String {
    // Serializing a struct of strings and integers cannot fail.
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = URL_SAFE_NO_PAD.encode(
        mac(secret, signing_input.as_bytes())
            .finalize()
            .into_bytes(),
    );
    format!("{signing_input}.{signature}")
}

/// Checks the signature, the algorithm, the expiry (against `now`, in Unix seconds) and the use.
pub fn verify(
    token: &str,
    secret: &[u8],
    expected: TokenUse,
    now: u64,
) -> Result<Claims, JwtError> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(JwtError::Malformed)?;
    let (header, payload) = signing_input.split_once('.').ok_or(JwtError::Malformed)?;
    if payload.contains('.') {
        return Err(JwtError::Malformed);
    }
    let header_value: serde_json::Value =
        serde_json::from_slice(&decode(header)?).map_err(|_| JwtError::Malformed)?;
    if header_value.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(JwtError::UnsupportedAlgorithm);
    }
    mac(secret, signing_input.as_bytes())
        .verify_slice(&decode(signature)?)
        .map_err(|_| JwtError::BadSignature)?;
    let claims: Claims =
        serde_json::from_slice(&decode(payload)?).map_err(|_| JwtError::BadClaims)?;
    if now >= claims.exp {
        return Err(JwtError::Expired);
    }
    if claims.token_use != expected {
        return Err(JwtError::WrongUse {
            expected,
            found: claims.token_use,
        });
    }
    Ok(claims)
}

fn decode(part: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)
}

fn mac(secret: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(token_use: TokenUse, exp: u64) -> Claims {
        Claims {
            sub: "a11ce000-0000-4000-8000-00000000a11c".into(),
            service: "svc".into(),
            owner: "own".into(),
            token_use,
            iat: 100,
            exp,
            username: None,
            cognito_username: None,
        }
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims() {
        let c = claims(TokenUse::Access, 200);
        let token = sign(&c, b"secret");
        assert_eq!(verify(&token, b"secret", TokenUse::Access, 150), Ok(c));
    }

    #[test]
    fn the_signature_matches_the_published_hs256_example() {
        // The HS256 example of jwt.io, computed by another implementation.
        let signing_input = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
            eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ";
        let signature = mac(b"your-256-bit-secret", signing_input.as_bytes()).finalize();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(signature.into_bytes()),
            "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        );
    }

    #[test]
    fn another_secret_is_a_bad_signature() {
        let token = sign(&claims(TokenUse::Access, 200), b"secret");
        assert_eq!(
            verify(&token, b"other", TokenUse::Access, 150),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn a_changed_payload_is_a_bad_signature() {
        let token = sign(&claims(TokenUse::Access, 200), b"secret");
        let forged_payload = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&claims(TokenUse::Access, 9_999_999_999)).unwrap_or_default(),
        );
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(
            verify(&forged, b"secret", TokenUse::Access, 150),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn expiry_and_use_are_checked() {
        let token = sign(&claims(TokenUse::Access, 200), b"secret");
        assert_eq!(
            verify(&token, b"secret", TokenUse::Access, 200),
            Err(JwtError::Expired)
        );
        assert_eq!(
            verify(&token, b"secret", TokenUse::Id, 150),
            Err(JwtError::WrongUse {
                expected: TokenUse::Id,
                found: TokenUse::Access
            })
        );
    }

    #[test]
    fn garbage_and_other_algorithms_are_refused() {
        for bad in ["", "a.b", "a.b.c.d", "!!!.???.###", "null"] {
            assert_eq!(
                verify(bad, b"secret", TokenUse::Access, 0),
                Err(JwtError::Malformed),
                "{bad:?}"
            );
        }
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let token = sign(&claims(TokenUse::Access, 200), b"secret");
        let parts: Vec<&str> = token.split('.').collect();
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert_eq!(
            verify(&unsigned, b"secret", TokenUse::Access, 150),
            Err(JwtError::UnsupportedAlgorithm)
        );
    }
}
