//! Finding volatile values inside free text: JWTs, ISO 8601 timestamps, the names `Ctx::unique` makes, and the
//! authority (`host:port`) of URLs. Hand-written matchers, each returning the byte ranges it found.

use std::ops::Range;

/// What a matcher recognised; the name is the placeholder's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Jwt,
    Time,
    Unique,
    Host,
}

impl Found {
    pub fn class(self) -> &'static str {
        match self {
            Found::Jwt => "jwt",
            Found::Time => "time",
            Found::Unique => "unique",
            Found::Host => "host",
        }
    }
}

/// Every volatile value in `text`, in order, without overlaps (a JWT wins over what looks like a name inside it).
pub fn scan(text: &str) -> Vec<(Found, Range<usize>)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hit = jwt_at(bytes, i)
            .map(|end| (Found::Jwt, end))
            .or_else(|| time_at(bytes, i).map(|end| (Found::Time, end)))
            .or_else(|| host_at(bytes, i).map(|end| (Found::Host, end)))
            .or_else(|| unique_at(bytes, i).map(|end| (Found::Unique, end)));
        match hit {
            Some((kind, end)) => {
                // A name's value is its eight hex digits; the prefix before the dash stays readable.
                let start = if kind == Found::Unique { i + 1 } else { i };
                let start = if kind == Found::Host { i + 3 } else { start };
                if end > start {
                    found.push((kind, start..end));
                }
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    found
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn run(bytes: &[u8], from: usize, pred: impl Fn(u8) -> bool) -> usize {
    bytes[from.min(bytes.len())..]
        .iter()
        .take_while(|b| pred(**b))
        .count()
}

/// `eyJ….eyJ….…`: base64url parts, the first two JSON objects' encodings. The signature may be empty (an
/// unsigned token) or missing with part of the payload (a frame cut where a transcript shortens it).
fn jwt_at(bytes: &[u8], i: usize) -> Option<usize> {
    if !bytes[i..].starts_with(b"eyJ") || (i > 0 && is_base64url(bytes[i - 1])) {
        return None;
    }
    let header = run(bytes, i, is_base64url);
    let payload_start = i + header + 1;
    if bytes.get(i + header) != Some(&b'.')
        || !bytes[payload_start.min(bytes.len())..].starts_with(b"eyJ")
    {
        return None;
    }
    let end = payload_start + run(bytes, payload_start, is_base64url);
    if bytes.get(end) == Some(&b'.') {
        return Some(end + 1 + run(bytes, end + 1, is_base64url));
    }
    Some(end)
}

/// `2025-01-30T15:50:35.742Z`, `2025-01-30 15:50:35+01:00`, …
fn time_at(bytes: &[u8], i: usize) -> Option<usize> {
    if i > 0 && bytes[i - 1].is_ascii_digit() {
        return None;
    }
    let shape = b"dddd-dd-ddXdd:dd:dd";
    if bytes.len() < i + shape.len() {
        return None;
    }
    for (k, want) in shape.iter().enumerate() {
        let b = bytes[i + k];
        let ok = match want {
            b'd' => b.is_ascii_digit(),
            b'X' => b == b'T' || b == b' ',
            other => b == *other,
        };
        if !ok {
            return None;
        }
    }
    let mut end = i + shape.len();
    if bytes.get(end) == Some(&b'.') {
        let digits = run(bytes, end + 1, |b| b.is_ascii_digit());
        if digits > 0 {
            end += 1 + digits;
        }
    }
    match bytes.get(end) {
        Some(b'Z') => end += 1,
        Some(b'+' | b'-') => {
            let digits = run(bytes, end + 1, |b| b.is_ascii_digit() || b == b':');
            if (4..=5).contains(&digits) {
                end += 1 + digits;
            }
        }
        _ => {}
    }
    Some(end)
}

/// `-1a2b3c4d` after a word and before the end of the word: what `Ctx::unique` appends to its prefix (cases
/// that need an identifier turn the dash into `_`).
fn unique_at(bytes: &[u8], i: usize) -> Option<usize> {
    if !matches!(bytes[i], b'-' | b'_') || i == 0 || !bytes[i - 1].is_ascii_alphanumeric() {
        return None;
    }
    let hex = run(bytes, i + 1, |b| {
        b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
    });
    let end = i + 1 + hex;
    let word_goes_on = bytes
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    (hex == 8 && !word_goes_on).then_some(end)
}

/// `://host:port`: the authority of a URL, which changes with every server started on an ephemeral port.
fn host_at(bytes: &[u8], i: usize) -> Option<usize> {
    if !bytes[i..].starts_with(b"://") {
        return None;
    }
    let len = run(bytes, i + 3, |b| {
        !matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'\\' | b'<' | b'>')
            && !b.is_ascii_whitespace()
    });
    (len > 0).then_some(i + 3 + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Found, &str)> {
        scan(text)
            .into_iter()
            .map(|(kind, range)| (kind, &text[range]))
            .collect()
    }

    #[test]
    fn finds_each_kind_of_volatile_value() {
        assert_eq!(
            found("ws://127.0.0.1:4000/realtime?token=eyJhbGci.eyJzdWIi.c2ln-_x&uid=sub-9a0939fd"),
            vec![
                (Found::Host, "127.0.0.1:4000"),
                (Found::Jwt, "eyJhbGci.eyJzdWIi.c2ln-_x"),
                (Found::Unique, "9a0939fd"),
            ]
        );
        assert_eq!(
            found(r#"{"version":"2026-11-23T10:12:37.063Z"}"#),
            vec![(Found::Time, "2026-11-23T10:12:37.063Z")]
        );
        assert_eq!(
            found("at 2025-01-30 15:50:35+01:00."),
            vec![(Found::Time, "2025-01-30 15:50:35+01:00")]
        );
    }

    #[test]
    fn leaves_lookalikes_alone() {
        assert!(found("a11ce000-0000-4000-8000-00000000a11c").is_empty());
        assert!(found("seq-1a2b3c4d5").is_empty());
        assert!(found("-1a2b3c4d").is_empty());
        assert!(found("eyJ.only-two").is_empty());
        assert!(found("eyJhbGci.notjson.sig").is_empty());
        assert_eq!(
            found("eyJhbGci.eyJzdWIi… (3000 bytes)"),
            vec![(Found::Jwt, "eyJhbGci.eyJzdWIi")]
        );
        assert_eq!(
            found("eyJhbGci.eyJzdWIi."),
            vec![(Found::Jwt, "eyJhbGci.eyJzdWIi.")]
        );
        assert!(found("no-deadbeeg").is_empty());
        assert_eq!(found("seq-71d95648-k1"), vec![(Found::Unique, "71d95648")]);
        assert_eq!(
            found("no_such_collection_3cac6d70"),
            vec![(Found::Unique, "3cac6d70")]
        );
    }
}
