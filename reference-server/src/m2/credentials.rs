//! Reading the connection headers, either as HTTP headers or from the base58 `Sec-WebSocket-Protocol`.
//!
//! Browsers cannot set headers on a WebSocket, so M2 lets them pass the same `name:value` lines,
//! joined by `\n` and encoded in base58 (Bitcoin alphabet), as the offered subprotocol.
//! Accepted inside the decoded text, beyond the documented form:
//! - the short names `x-m2-organization`, `x-m2-project`, `x-m2-world` as well as the `-id` names;
//! - `\r\n` line ends, spaces around names and values, any letter case in names;
//! - pairs separated by spaces on one line, as the document's example shows them
//!   (`x-m2-organization:testOrg x-m2-project:testProj`): a space followed by a known name and `:`
//!   starts a new pair, so a value may still contain spaces or colons.
//!
//! Unknown names are ignored.

use axum::http::{HeaderMap, HeaderValue};

/// The connection headers as the client gave them, not yet checked against the tenancy.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub api_key: Option<String>,
    pub organization: Option<String>,
    pub project: Option<String>,
    pub world: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    ApiKey,
    Organization,
    Project,
    World,
}

fn field_of(name: &str) -> Option<Field> {
    match name.to_ascii_lowercase().as_str() {
        "x-api-key" => Some(Field::ApiKey),
        "x-m2-organization-id" | "x-m2-organization" => Some(Field::Organization),
        "x-m2-project-id" | "x-m2-project" => Some(Field::Project),
        "x-m2-world-id" | "x-m2-world" => Some(Field::World),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("header {0} is not valid text")]
    NotText(String),
    #[error("{0} is given twice with different values")]
    Conflict(&'static str),
    #[error(
        "Sec-WebSocket-Protocol holds no base58-encoded header lines (expected base58 of \
         \"x-api-key:<key>\\nx-m2-organization-id:<org>...\")"
    )]
    UndecodableProtocol,
}

impl Credentials {
    fn slot(&mut self, field: &Field) -> (&mut Option<String>, &'static str) {
        match field {
            Field::ApiKey => (&mut self.api_key, "x-api-key"),
            Field::Organization => (&mut self.organization, "x-m2-organization-id"),
            Field::Project => (&mut self.project, "x-m2-project-id"),
            Field::World => (&mut self.world, "x-m2-world-id"),
        }
    }

    /// Records a value; an empty value counts as absent, a different second value is a conflict.
    fn set(&mut self, field: &Field, value: &str) -> Result<(), CredentialsError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(());
        }
        let (slot, name) = self.slot(field);
        match slot {
            Some(existing) if existing != value => Err(CredentialsError::Conflict(name)),
            Some(_) => Ok(()),
            None => {
                *slot = Some(value.to_owned());
                Ok(())
            }
        }
    }

    fn is_empty(&self) -> bool {
        *self == Credentials::default()
    }

    /// Reads the plain HTTP headers (both spellings of the names).
    pub fn from_headers(headers: &HeaderMap) -> Result<Credentials, CredentialsError> {
        let mut creds = Credentials::default();
        for (name, value) in headers {
            if let Some(field) = field_of(name.as_str()) {
                let text = value
                    .to_str()
                    .map_err(|_| CredentialsError::NotText(name.as_str().to_owned()))?;
                creds.set(&field, text)?;
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
                self.set(&field, &value)?;
            }
        }
        Ok(self)
    }
}

/// Parses decoded subprotocol text into credentials; `None` when it names no known header.
pub fn parse_header_lines(text: &str) -> Option<Credentials> {
    let mut creds = Credentials::default();
    for line in text.split('\n') {
        for (name, value) in split_pairs(line) {
            if let Some(field) = field_of(&name) {
                creds.set(&field, &value).ok()?;
            }
        }
    }
    (!creds.is_empty()).then_some(creds)
}

/// Splits one line into `(name, value)` pairs: the line starts a pair; a later whitespace-separated
/// token starts another only if it begins with a known name followed by `:`.
fn split_pairs(line: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for token in line.split_whitespace() {
        let starts_known_pair = token
            .split_once(':')
            .is_some_and(|(name, _)| field_of(name).is_some());
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

/// Decodes one offered subprotocol token.
pub fn decode_protocol(token: &str) -> Option<Credentials> {
    let bytes = bs58::decode(token.trim()).into_vec().ok()?;
    let text = String::from_utf8(bytes).ok()?;
    parse_header_lines(&text)
}

/// Encodes credentials as a subprotocol token (for documentation and tests).
pub fn encode_protocol(lines: &str) -> String {
    bs58::encode(lines.as_bytes()).into_string()
}

/// The first offered subprotocol (in the client's order) that decodes into header lines.
///
/// `Ok(None)` when no subprotocol was offered; an error when some were offered and none decodes.
pub fn from_protocol_header(
    headers: &HeaderMap,
) -> Result<Option<(Credentials, HeaderValue)>, CredentialsError> {
    let mut offered = false;
    for value in headers.get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL) {
        for token in value.as_bytes().split(|&b| b == b',') {
            let token = token.trim_ascii();
            if token.is_empty() {
                continue;
            }
            offered = true;
            let Ok(text) = std::str::from_utf8(token) else {
                continue;
            };
            if let Some(creds) = decode_protocol(text) {
                let echo = HeaderValue::from_bytes(token)
                    .map_err(|_| CredentialsError::UndecodableProtocol)?;
                return Ok(Some((creds, echo)));
            }
        }
    }
    if offered {
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
            Some(creds("k", "testOrg", Some("testProj"), Some("testWorld")))
        );
    }

    #[test]
    fn the_documents_example_with_a_space_separator() {
        assert_eq!(
            parse_header_lines("x-m2-organization:testOrg x-m2-project:testProj"),
            Some(creds("", "testOrg", Some("testProj"), None))
        );
    }

    #[test]
    fn crlf_spaces_and_case_are_tolerated() {
        let text = "  X-API-Key : k \r\n x-m2-organization: testOrg\r\n\r\n";
        assert_eq!(
            parse_header_lines(text),
            Some(creds("k", "testOrg", None, None))
        );
    }

    #[test]
    fn values_may_hold_colons_and_unknown_names_are_ignored() {
        let text = "x-api-key:a:b\nauthorization:whatever\nx-m2-organization:o";
        assert_eq!(
            parse_header_lines(text),
            Some(creds("a:b", "o", None, None))
        );
    }

    #[test]
    fn text_without_known_names_is_not_credentials() {
        assert_eq!(parse_header_lines("hello world"), None);
        assert_eq!(parse_header_lines(""), None);
        assert_eq!(decode_protocol("json"), None);
        assert_eq!(decode_protocol("0OIl"), None);
    }

    #[test]
    fn conflicting_values_are_refused() {
        assert_eq!(
            parse_header_lines("x-m2-organization:a\nx-m2-organization-id:b"),
            None
        );
        let from_headers = creds("k", "a", None, None);
        assert_eq!(
            from_headers.merge(creds("k", "b", None, None)),
            Err(CredentialsError::Conflict("x-m2-organization-id"))
        );
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let token = encode_protocol("x-api-key:k\nx-m2-organization-id:testOrg");
        assert_eq!(
            decode_protocol(&token),
            Some(creds("k", "testOrg", None, None))
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
