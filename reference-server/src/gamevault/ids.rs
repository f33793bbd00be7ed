//! Random identifiers in the shapes Engine.IO, Socket.IO and GameVault use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::Rng;

/// A session or socket id: 15 random bytes as 20 URL-safe base64 characters, like Engine.IO's.
pub fn session_id() -> String {
    let mut bytes = [0u8; 15];
    rand::rng().fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A socket secret: 32 random bytes as 64 lower-case hex digits, like GameVault's.
pub fn secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    hex(&bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_twenty_url_safe_characters() {
        for _ in 0..100 {
            let id = session_id();
            assert_eq!(id.len(), 20);
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
        assert_ne!(session_id(), session_id());
    }

    #[test]
    fn secrets_are_sixty_four_lower_hex_digits() {
        let s = secret();
        assert_eq!(s.len(), 64);
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(hex(&[0x00, 0xff, 0x1a]), "00ff1a");
    }
}
