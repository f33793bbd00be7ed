//! Opening a WebSocket: the upgrade request, its failures, and the transcript lines it leaves.

use std::time::Duration;

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::{self, error::ProtocolError};

use super::check::FrameCheck;
use super::conn::{ws_config, Conn, Handshake};
use crate::case::CaseError;
use crate::transcript::{EntryKind, Transcript};

/// An upgrade request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Offered in `Sec-WebSocket-Protocol`; the server must echo it.
    pub subprotocol: Option<String>,
}

impl Request {
    pub fn new(url: impl Into<String>) -> Request {
        Request {
            url: url.into(),
            ..Request::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn subprotocol(mut self, value: impl Into<String>) -> Request {
        self.subprotocol = Some(value.into());
        self
    }

    /// Appends `name=value` (URL-encoded) to the query string.
    pub fn query(mut self, name: &str, value: &str) -> Request {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        self.url = format!(
            "{}{separator}{}={}",
            self.url,
            crate::target::template::url_encode(name),
            crate::target::template::url_encode(value)
        );
        self
    }
}

/// Why a WebSocket could not be opened.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// The server answered the upgrade with an HTTP status other than 101.
    #[error("the server refused the WebSocket upgrade of {url} with HTTP {status}{}", show_body(.body))]
    Rejected {
        url: String,
        status: u16,
        body: String,
    },
    /// The server did not select the subprotocol the client offered (RFC 6455 §4.1: the client must fail).
    #[error("the server accepted the upgrade of {url} but did not echo the offered Sec-WebSocket-Protocol ({reason})")]
    Subprotocol { url: String, reason: String },
    /// Anything else: refused TCP connection, timeout, bad URL.
    #[error("cannot open a WebSocket to {url}: {reason}")]
    Failed { url: String, reason: String },
}

fn show_body(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

impl ConnectError {
    /// The HTTP status of a refused upgrade.
    pub fn status(&self) -> Option<u16> {
        match self {
            ConnectError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<ConnectError> for CaseError {
    fn from(error: ConnectError) -> CaseError {
        CaseError::fail(error.to_string())
    }
}

/// Everything needed to open a connection besides the request.
#[derive(Debug, Clone)]
pub struct Opener {
    pub transcript: Transcript,
    pub check: FrameCheck,
    pub timeout: Duration,
}

impl Opener {
    /// Performs the upgrade and starts the connection's background task.
    pub async fn open(&self, label: String, request: Request) -> Result<Conn, ConnectError> {
        let url = request.url.clone();
        let failed = |reason: String| ConnectError::Failed {
            url: url.clone(),
            reason,
        };
        let mut http = url
            .as_str()
            .into_client_request()
            .map_err(|e| failed(e.to_string()))?;
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| failed(format!("header name {name:?}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| failed(format!("header {name} value {value:?}: {e}")))?;
            http.headers_mut().append(name, value);
        }
        if let Some(protocol) = &request.subprotocol {
            let value = HeaderValue::from_str(protocol)
                .map_err(|e| failed(format!("subprotocol {protocol:?}: {e}")))?;
            http.headers_mut().insert("sec-websocket-protocol", value);
        }
        let mut shown = url.clone();
        for (name, value) in &request.headers {
            shown.push_str(&format!("\n    {name}: {value}"));
        }
        if let Some(protocol) = &request.subprotocol {
            shown.push_str(&format!("\n    sec-websocket-protocol: {protocol}"));
        }
        self.transcript.record(&label, EntryKind::Connect, shown);
        let attempt = tokio_tungstenite::connect_async_with_config(http, Some(ws_config()), true);
        let result = match tokio::time::timeout(self.timeout, attempt).await {
            Err(_) => Err(failed(format!(
                "no upgrade response within {}",
                humantime::format_duration(self.timeout)
            ))),
            Ok(Ok((socket, response))) => {
                let subprotocol = response
                    .headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let handshake = Handshake {
                    status: response.status().as_u16(),
                    subprotocol,
                };
                Ok(Conn::start(
                    socket,
                    label.clone(),
                    handshake,
                    self.transcript.clone(),
                    self.check.clone(),
                ))
            }
            Ok(Err(tungstenite::Error::Http(response))) => Err(ConnectError::Rejected {
                url: url.clone(),
                status: response.status().as_u16(),
                body: response
                    .body()
                    .as_deref()
                    .map(|b| {
                        String::from_utf8_lossy(b)
                            .trim()
                            .chars()
                            .take(500)
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            Ok(Err(tungstenite::Error::Protocol(ProtocolError::SecWebSocketSubProtocolError(
                e,
            )))) => Err(ConnectError::Subprotocol {
                url: url.clone(),
                reason: e.to_string(),
            }),
            Ok(Err(e)) => Err(failed(e.to_string())),
        };
        if let Err(error) = &result {
            self.transcript
                .record(&label, EntryKind::Reject, error.to_string());
        }
        result
    }
}
