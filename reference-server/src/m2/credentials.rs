//! Reading the connection headers, either as HTTP headers or from the base58 `Sec-WebSocket-Protocol`.
//!
//! HTTP headers use the documented `-id` names only; any other `x-m2-` header is refused
//! (NOTES.md m2.header-spellings).
//!
//! Browsers cannot set headers on a WebSocket, so M2 lets them pass the same `name:value` lines,
//! joined by `\n` and encoded in base58 (Bitcoin alphabet), as the offered subprotocol.
//! Accepted inside the decoded text:
//! - the short names `x-m2-organization`, `x-m2-project`, `x-m2-world` as well as the `-id` names,
//!   each header at most once in either spelling;
//! - `\r\n` line ends, spaces around names and values, any letter case in names;
//! - pairs separated by spaces on one line, as the document's example prints them
//!   (`x-m2-organization:testOrg x-m2-project:testProj`): a space followed by a known name and `:`
//!   starts a new pair;
//! - other header names (`host`, …), which are ignored; an unknown `x-m2-` name is refused.
//!
//! Values are non-empty and contain no whitespace (NOTES.md m2.header-values).

use axum::http::{HeaderMap, HeaderValue};

/// The connection headers as the client gave them, not yet checked against the tenancy.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub api_key: Option<String>,
    pub organization: Option<String>,
    pub project: Option<String>,
    pub world: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    ApiKey,
    Organization,
    Project,
    World,
}

impl Field {
    fn header(self) -> &'static str {
        match self {
            Field::ApiKey => "x-api-key",
            Field::Organization => "x-m2-organization-id",
            Field::Project => "x-m2-project-id",
            Field::World => "x-m2-world-id",
        }
    }
}

/// What a header name means: one of ours, a refused `x-m2-` name, or something else (ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Name {
    Known(Field),
    UnknownM2,
    Other,
}

/// `short` also admits the spellings of the subprotocol example.
fn classify(name: &str, short: bool) -> Name {
    match name.to_ascii_lowercase().as_str() {
        "x-api-key" => Name::Known(Field::ApiKey),
        "x-m2-organization-id" => Name::Known(Field::Organization),
        "x-m2-project-id" => Name::Known(Field::Project),
        "x-m2-world-id" => Name::Known(Field::World),
        "x-m2-organization" if short => Name::Known(Field::Organization),
        "x-m2-project" if short => Name::Known(Field::Project),
        "x-m2-world" if short => Name::Known(Field::World),
        other if other.starts_with("x-m2-") => Name::UnknownM2,
        _ => Name::Other,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("header {0} is not valid text")]
    NotText(String),
    #[error("{0} must be a non-empty value without whitespace")]
    BadValue(&'static str),
    #[error("{0} is given twice with different values")]
    Conflict(&'static str),
    #[error("{0} is given twice in Sec-WebSocket-Protocol")]
    Duplicate(&'static str),
    #[error(
        "unknown header {0} (expected x-api-key, x-m2-organization-id, x-m2-project-id, x-m2-world-id)"
    )]
    UnknownHeader(String),
    #[error(
        "Sec-WebSocket-Protocol holds no base58-encoded header lines (expected base58 of \
         \"x-api-key:<key>\\nx-m2-organization-id:<org>...\")"
    )]
    UndecodableProtocol,
}

impl Credentials {
    fn slot(&mut self, field: Field) -> &mut Option<String> {
        match field {
            Field::ApiKey => &mut self.api_key,
            Field::Organization => &mut self.organization,
            Field::Project => &mut self.project,
            Field::World => &mut self.world,
        }
    }

    /// Records a value; the same field given again must agree with the first.
    fn set(&mut self, field: Field, value: &str) -> Result<(), CredentialsError> {
        let value = checked_value(field, value)?;
        let slot = self.slot(field);
        match slot {
            Some(existing) if *existing != value => Err(CredentialsError::Conflict(field.header())),
            Some(_) => Ok(()),
            None => {
                *slot = Some(value.to_owned());
                Ok(())
            }
        }
    }

    /// Reads the plain HTTP headers. An empty header counts as absent.
    pub fn from_headers(headers: &HeaderMap) -> Result<Credentials, CredentialsError> {
        let mut creds = Credentials::default();
        for (name, value) in headers {
            match classify(name.as_str(), false) {
                Name::Known(field) => {
                    let text = value
                        .to_str()
                        .map_err(|_| CredentialsError::NotText(name.as_str().to_owned()))?;
                    if !text.trim().is_empty() {
                        creds.set(field, text)?;
                    }
                }
                Name::UnknownM2 => {
                    return Err(CredentialsError::UnknownHeader(name.as_str().to_owned()))
                }
                Name::Other => {}
            }
        }
        Ok(creds)
    }

    /// Merges values from another source; the same field given twice must agree.
    pub fn merge(mut self, other: Credentials) -> Result<Credentials, CredentialsError> {
        let fields = [
            (Field::ApiKey, other.api_key),
            (Field::Organization, other.organization),
            (Field::Project, other.project),
            (Field::World, other.world),
        ];
        for (field, value) in fields {
            if let Some(value) = value {
                self.set(field, &value)?;
            }
        }
        Ok(self)
    }
}

fn checked_value(field: Field, value: &str) -> Result<&str, CredentialsError> {
    let value = value.trim();
    if value.is_empty() || value.chars().any(char::is_whitespace) {
        Err(CredentialsError::BadValue(field.header()))
    } else {
        Ok(value)
    }
}

/// Parses decoded subprotocol text into credentials.
pub fn parse_header_lines(text: &str) -> Result<Credentials, CredentialsError> {
    let mut creds = Credentials::default();
    for line in text.split('\n') {
        for (name, value) in split_pairs(line) {
            match classify(&name, true) {
                Name::Known(field) => {
                    if creds.slot(field).is_some() {
                        return Err(CredentialsError::Duplicate(field.header()));
                    }
                    creds.set(field, &value)?;
                }
                Name::UnknownM2 => return Err(CredentialsError::UnknownHeader(name)),
                Name::Other => {}
            }
        }
    }
    Ok(creds)
}

/// Splits one line into `(name, value)` pairs: the line starts a pair; a later whitespace-separated
/// token starts another only if it begins with a known name followed by `:`.
fn split_pairs(line: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for token in line.split_whitespace() {
        let starts_known_pair = token
            .split_once(':')
            .is_some_and(|(name, _)| matches!(classify(name, true), Name::Known(_)));
        match pairs.last_mut() {
            Some((_, value)) if !starts_known_pair => {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(token);
            }
            _ => {
                let (name, value) = token.split_once(':').unwrap_or((token, ""));
                pairs.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    // `name : value` leaves the colon at the start of the value.
    pairs
        .into_iter()
        .map(|(name, value)| {
            let value = value.trim();
            let value = value.strip_prefix(':').unwrap_or(value).trim();
            (name, value.to_owned())
        })
        .collect()
}

/// Longest offered token decoded as header lines (about 3 KB of text). Base58 decoding takes time
/// quadratic in the length, and a request head may hold hundreds of kilobytes: one long token
/// would otherwise keep a worker thread busy for seconds.
const MAX_PROTOCOL_TOKEN_CHARS: usize = 4096;

/// Offered tokens tried at most; the header lines are expected among the first few.
const MAX_PROTOCOL_TOKENS_TRIED: usize = 8;

/// The decoded text of a token, when it is base58 of UTF-8 text naming at least one of our headers.
fn decode_token(token: &str) -> Option<String> {
    let token = token.trim();
    if token.len() > MAX_PROTOCOL_TOKEN_CHARS {
        return None;
    }
    let bytes = bs58::decode(token).into_vec().ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let names_ours = text.split(['\n', ' ']).any(|part| {
        part.split_once(':')
            .is_some_and(|(name, _)| classify(name.trim(), true) != Name::Other)
    });
    names_ours.then_some(text)
}

/// Decodes one offered subprotocol token; `None` when it is not base58 header lines at all.
pub fn decode_protocol(token: &str) -> Option<Result<Credentials, CredentialsError>> {
    decode_token(token).map(|text| parse_header_lines(&text))
}

/// Encodes header lines as a subprotocol token.
pub fn encode_protocol(lines: &str) -> String {
    bs58::encode(lines.as_bytes()).into_string()
}

/// The first offered subprotocol (in the client's order) that decodes into header lines, and the
/// token to echo.
///
/// `Ok(None)` when no subprotocol was offered; an error when some were offered and none decodes,
/// or when the one that decodes is not a valid header set.
pub fn from_protocol_header(
    headers: &HeaderMap,
) -> Result<Option<(Credentials, HeaderValue)>, CredentialsError> {
    let mut offered = 0;
    for value in headers.get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL) {
        for token in value.as_bytes().split(|&b| b == b',') {
            let token = token.trim_ascii();
            if token.is_empty() {
                continue;
            }
            offered += 1;
            if offered > MAX_PROTOCOL_TOKENS_TRIED {
                return Err(CredentialsError::UndecodableProtocol);
            }
            let Ok(text) = std::str::from_utf8(token) else {
                continue;
            };
            if let Some(parsed) = decode_protocol(text) {
                let echo = HeaderValue::from_bytes(token)
                    .map_err(|_| CredentialsError::UndecodableProtocol)?;
                return Ok(Some((parsed?, echo)));
            }
        }
    }
    if offered > 0 {
        Err(CredentialsError::UndecodableProtocol)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(key: &str, org: &str, project: Option<&str>, world: Option<&str>) -> Credentials {
        Credentials {
            api_key: (!key.is_empty()).then(|| key.to_owned()),
            organization: Some(org.to_owned()),
            project: project.map(str::to_owned),
            world: world.map(str::to_owned),
        }
    }

    #[test]
    fn newline_separated_id_names() {
        let text = "x-api-key:k\nx-m2-organization-id:testOrg\nx-m2-project-id:testProj\nx-m2-world-id:testWorld";
        assert_eq!(
            parse_header_lines(text),
            Ok(creds("k", "testOrg", Some("testProj"), Some("testWorld")))
        );
    }

    #[test]
    fn the_documents_example_with_a_space_separator() {
        assert_eq!(
            parse_header_lines("x-api-key:k x-m2-organization:testOrg x-m2-project:testProj"),
            Ok(creds("k", "testOrg", Some("testProj"), None))
        );
    }

    #[test]
    fn crlf_spaces_case_and_other_headers_are_tolerated() {
        let text = "  X-API-Key : k \r\n x-m2-organization: testOrg\r\nhost:example\r\n\r\n";
        assert_eq!(
            parse_header_lines(text),
            Ok(creds("k", "testOrg", None, None))
        );
    }

    #[test]
    fn refused_header_sets() {
        for (text, err) in [
            (
                "x-api-key:k\nx-m2-organization:a\nx-m2-organization-id:a",
                CredentialsError::Duplicate("x-m2-organization-id"),
            ),
            (
                "x-api-key:k\nx-m2-organization:o\nx-m2-org:o",
                CredentialsError::UnknownHeader("x-m2-org".into()),
            ),
            (
                "x-api-key:k\nx-m2-organization:o p",
                CredentialsError::BadValue("x-m2-organization-id"),
            ),
            (
                "x-api-key:\nx-m2-organization:o",
                CredentialsError::BadValue("x-api-key"),
            ),
        ] {
            assert_eq!(parse_header_lines(text), Err(err), "{text:?}");
        }
    }

    #[test]
    fn http_headers_use_the_id_names_only() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("k"));
        headers.insert("x-m2-organization-id", HeaderValue::from_static("o"));
        assert_eq!(
            Credentials::from_headers(&headers),
            Ok(creds("k", "o", None, None))
        );
        headers.insert("x-m2-project", HeaderValue::from_static("p"));
        assert_eq!(
            Credentials::from_headers(&headers),
            Err(CredentialsError::UnknownHeader("x-m2-project".into()))
        );
    }

    #[test]
    fn tokens_that_are_not_header_lines() {
        assert_eq!(decode_protocol("json"), None);
        assert_eq!(decode_protocol("0OIl"), None);
        assert_eq!(decode_protocol(&encode_protocol("hello world")), None);
    }

    #[test]
    fn conflicting_sources_are_refused() {
        let from_headers = creds("k", "a", None, None);
        assert_eq!(
            from_headers.clone().merge(creds("k", "b", None, None)),
            Err(CredentialsError::Conflict("x-m2-organization-id"))
        );
        assert_eq!(
            from_headers.clone().merge(creds("k", "a", Some("p"), None)),
            Ok(creds("k", "a", Some("p"), None))
        );
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let token = encode_protocol("x-api-key:k\nx-m2-organization-id:testOrg");
        assert_eq!(
            decode_protocol(&token),
            Some(Ok(creds("k", "testOrg", None, None)))
        );
        // The demo value printed in docs/m2.md.
        assert_eq!(
            encode_protocol("x-api-key:m2-demo-key\nx-m2-organization-id:testOrg\nx-m2-project-id:testProj\nx-m2-world-id:testWorld"),
            "24NijZyJZw7PoEZKM6x4R67FEd1Y3SsS1Z2a1TygqudjwwQXsZdxg3xY8Vw8tbVBLJKh917Va9Wdb9PCrfqqHYcC9uB87AXPZd8nndm21dTM1cCgnobUYc7EXcrvbJk1goaZswLF"
        );
        // The fixture of the document's example, encoded with a newline.
        assert_eq!(
            encode_protocol("x-m2-organization:testOrg\nx-m2-project:testProj"),
            "zvtwh2Pc4738C3hkLXwcLbY3LnsqYfMmKG2NWiWNE9yL8xVwQhcLFKCzzne1fqbf"
        );
    }

    #[test]
    fn huge_or_numerous_offered_tokens_are_not_decoded() {
        let long = encode_protocol(&format!(
            "x-api-key:{}\nx-m2-organization:o",
            "k".repeat(4000)
        ));
        assert!(long.len() > MAX_PROTOCOL_TOKEN_CHARS);
        assert_eq!(decode_protocol(&long), None);
        let mut headers = HeaderMap::new();
        let token = encode_protocol("x-api-key:k\nx-m2-organization:o");
        let offered = format!("{}{token}", "json, ".repeat(MAX_PROTOCOL_TOKENS_TRIED));
        headers.insert(
            axum::http::header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_str(&offered).expect("ascii"),
        );
        assert_eq!(
            from_protocol_header(&headers),
            Err(CredentialsError::UndecodableProtocol)
        );
    }

    #[test]
    fn the_first_decodable_offered_protocol_is_chosen() {
        let token = encode_protocol("x-api-key:k\nx-m2-organization:o");
        let mut headers = HeaderMap::new();
        let offered = format!("json, {token}");
        headers.insert(
            axum::http::header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_str(&offered).expect("ascii"),
        );
        let (found, echo) = from_protocol_header(&headers)
            .expect("decodable")
            .expect("offered");
        assert_eq!(found, creds("k", "o", None, None));
        assert_eq!(echo, token.as_str());

        headers.insert(
            axum::http::header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("json"),
        );
        assert_eq!(
            from_protocol_header(&headers),
            Err(CredentialsError::UndecodableProtocol)
        );
        assert_eq!(from_protocol_header(&HeaderMap::new()), Ok(None));
    }
}
