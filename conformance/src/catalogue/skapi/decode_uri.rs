//! JavaScript's `decodeURI`, which the skapi-js SDK runs on every frame before `JSON.parse` (NOTES.md SKAPI-PERCENT):
//! `%XX` escapes become the bytes they name, except escapes of the reserved characters `;/?:@&=+$,#`, which stay as
//! written; a `%` not followed by two hex digits, or escapes that do not form one UTF-8 character, make it throw.

/// Why `decodeURI` throws (a `URIError` in JavaScript).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("`%` at byte {0} is not followed by two hex digits")]
    BadEscape(usize),
    #[error("the escapes at byte {0} do not form one UTF-8 character")]
    BadUtf8(usize),
}

const RESERVED: &[u8] = b";/?:@&=+$,#";

/// `decodeURI(text)` as ECMAScript defines it.
pub fn decode_uri(text: &str) -> Result<String, UriError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'%' {
            out.push(bytes[at]);
            at += 1;
            continue;
        }
        let start = at;
        let first = escaped_byte(bytes, at)?;
        at += 3;
        if first < 0x80 {
            if RESERVED.contains(&first) {
                out.extend_from_slice(&bytes[start..at]);
            } else {
                out.push(first);
            }
            continue;
        }
        let length = match first.leading_ones() {
            2 => 2,
            3 => 3,
            4 => 4,
            _ => return Err(UriError::BadUtf8(start)),
        };
        let mut octets = vec![first];
        for _ in 1..length {
            if bytes.get(at) != Some(&b'%') {
                return Err(UriError::BadUtf8(start));
            }
            let next = escaped_byte(bytes, at)?;
            if next & 0xC0 != 0x80 {
                return Err(UriError::BadUtf8(start));
            }
            octets.push(next);
            at += 3;
        }
        // from_utf8 refuses overlong forms, surrogates and code points above U+10FFFF, as decodeURI does.
        std::str::from_utf8(&octets).map_err(|_| UriError::BadUtf8(start))?;
        out.extend_from_slice(&octets);
    }
    // Only whole, validated characters were added to valid UTF-8 text.
    String::from_utf8(out).map_err(|_| UriError::BadUtf8(0))
}

/// The byte `%XX` at `at` names.
fn escaped_byte(bytes: &[u8], at: usize) -> Result<u8, UriError> {
    let digits = bytes.get(at + 1..at + 3).ok_or(UriError::BadEscape(at))?;
    let text = std::str::from_utf8(digits).map_err(|_| UriError::BadEscape(at))?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(UriError::BadEscape(at));
    }
    u8::from_str_radix(text, 16).map_err(|_| UriError::BadEscape(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_without_escapes_is_unchanged() {
        assert_eq!(decode_uri("{\"a\":\"é €\"}").unwrap(), "{\"a\":\"é €\"}");
        assert_eq!(
            decode_uri(r#"{"a":"\u0025"}"#).unwrap(),
            r#"{"a":"\u0025"}"#
        );
    }

    #[test]
    fn escapes_are_decoded_except_reserved_characters() {
        assert_eq!(decode_uri("%41%62").unwrap(), "Ab");
        assert_eq!(decode_uri("%E2%82%AC").unwrap(), "€");
        assert_eq!(decode_uri("%F0%9F%98%80").unwrap(), "😀");
        assert_eq!(decode_uri("%23%2F%3b%25").unwrap(), "%23%2F%3b%");
    }

    #[test]
    fn a_lone_percent_throws() {
        assert_eq!(decode_uri("100%"), Err(UriError::BadEscape(3)));
        assert_eq!(decode_uri("50% off"), Err(UriError::BadEscape(2)));
        assert_eq!(decode_uri("%4"), Err(UriError::BadEscape(0)));
        assert_eq!(decode_uri("%zz"), Err(UriError::BadEscape(0)));
    }

    #[test]
    fn escapes_that_are_not_one_utf8_character_throw() {
        assert_eq!(decode_uri("%80"), Err(UriError::BadUtf8(0)));
        assert_eq!(decode_uri("%E2%82"), Err(UriError::BadUtf8(0)));
        assert_eq!(decode_uri("%E2%82A"), Err(UriError::BadUtf8(0)));
        assert_eq!(decode_uri("%C0%80"), Err(UriError::BadUtf8(0)));
        assert_eq!(decode_uri("%ED%A0%80"), Err(UriError::BadUtf8(0)));
        assert_eq!(decode_uri("%F8%80%80%80"), Err(UriError::BadUtf8(0)));
    }
}
