//! Engine.IO v4 HTTP long-polling (gamevault, optional in the profile): a GET opens the session, POSTs carry the
//! client's packets, GETs bring the server's. Packets in one body are separated by the record separator `\x1e`.
//! Every packet received is checked and recorded like a WebSocket frame.

use std::time::{Duration, Instant};

use super::check::FrameCheck;
use super::connect::ConnectError;
use super::frame::{Frame, Payload};
use super::sio::{EngineType, Open};
use crate::case::CaseError;
use crate::transcript::{EntryKind, Transcript};

/// Separates packets in a polling body.
pub const RECORD_SEPARATOR: char = '\u{1e}';

/// One long-polling Engine.IO session.
#[derive(Debug)]
pub struct Polling {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) label: String,
    pub(crate) transcript: Transcript,
    pub(crate) check: FrameCheck,
    /// The open packet's fields; `open.sid` names the session in every later request.
    pub open: Open,
}

/// Splits a polling body into its packets.
pub fn split_body(body: &str) -> Vec<&str> {
    body.split(RECORD_SEPARATOR)
        .filter(|p| !p.is_empty())
        .collect()
}

impl Polling {
    /// Opens a session: `GET <url>?EIO=4&transport=polling`; the body must start with the open packet.
    /// A refused handshake (e.g. HTTP 400 `Transport unknown` from a WebSocket-only server) is the inner error.
    pub(crate) async fn open(
        http: reqwest::Client,
        url: String,
        headers: Vec<(String, String)>,
        label: String,
        transcript: Transcript,
        check: FrameCheck,
        timeout: Duration,
    ) -> Result<Result<Polling, ConnectError>, CaseError> {
        let first = format!("{url}?EIO=4&transport=polling");
        let (status, body) = request(
            &http,
            &transcript,
            &label,
            reqwest::Method::GET,
            &first,
            &headers,
            None,
            timeout,
        )
        .await?;
        if status != 200 {
            return Ok(Err(ConnectError::Rejected {
                url: first,
                status,
                body,
            }));
        }
        let mut frames = receive(&check, &transcript, &label, &body)?;
        if frames.is_empty() {
            crate::fail!("the polling handshake answered an empty body, not the open packet");
        }
        let open_frame = frames.remove(0);
        if open_frame.packet.as_ref().map(|p| p.engine) != Some(EngineType::Open) {
            crate::fail!(
                "the polling handshake's first packet is {open_frame}, not the open packet"
            );
        }
        let open = Open::parse(&open_frame.value.unwrap_or_default()).map_err(CaseError::fail)?;
        Ok(Ok(Polling {
            http,
            url,
            headers,
            label,
            transcript,
            check,
            open,
        }))
    }

    fn session_url(&self) -> String {
        format!(
            "{}?EIO=4&transport=polling&sid={}",
            self.url,
            crate::target::template::url_encode(&self.open.sid)
        )
    }

    /// POSTs `packets` (each checked like [`super::Conn::send_packet`]); the server must answer 200.
    pub async fn send(&self, packets: &[&str], timeout: Duration) -> Result<(), CaseError> {
        for packet in packets {
            self.check.outgoing_packet(packet).map_err(|v| {
                CaseError::harness(format!("the packet {packet} breaks the client schema: {v}"))
            })?;
        }
        let body = packets.join(&RECORD_SEPARATOR.to_string());
        let url = self.session_url();
        let (status, answer) = request(
            &self.http,
            &self.transcript,
            &self.label,
            reqwest::Method::POST,
            &url,
            &self.headers,
            Some(body),
            timeout,
        )
        .await?;
        crate::ensure!(status == 200, "POST {url} answered HTTP {status}: {answer}");
        Ok(())
    }

    /// One GET poll: the packets the server had (or sent before `timeout`), each checked.
    pub async fn poll(&self, timeout: Duration) -> Result<Vec<Frame>, CaseError> {
        let url = self.session_url();
        let (status, body) = request(
            &self.http,
            &self.transcript,
            &self.label,
            reqwest::Method::GET,
            &url,
            &self.headers,
            None,
            timeout,
        )
        .await?;
        crate::ensure!(status == 200, "GET {url} answered HTTP {status}: {body}");
        receive(&self.check, &self.transcript, &self.label, &body)
    }
}

#[allow(clippy::too_many_arguments)]
async fn request(
    http: &reqwest::Client,
    transcript: &Transcript,
    label: &str,
    method: reqwest::Method,
    url: &str,
    headers: &[(String, String)],
    body: Option<String>,
    timeout: Duration,
) -> Result<(u16, String), CaseError> {
    let shown = format!(
        "{method} {url}{}",
        body.as_deref()
            .map(|b| format!(" {b:?}"))
            .unwrap_or_default()
    );
    transcript.record(label, EntryKind::Http, shown);
    let mut builder = http.request(method, url).timeout(timeout);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = body {
        builder = builder
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body);
    }
    let response = builder
        .send()
        .await
        .map_err(|e| CaseError::fail(format!("{url}: {e}")))?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    transcript.record(label, EntryKind::Http, format!("{status} {text:?}"));
    Ok((status, text))
}

fn receive(
    check: &FrameCheck,
    transcript: &Transcript,
    label: &str,
    body: &str,
) -> Result<Vec<Frame>, CaseError> {
    let now = Instant::now();
    let mut frames = Vec::new();
    for packet in split_body(body) {
        transcript.record_at(now, label, EntryKind::Recv, packet);
        let checked = check.incoming(
            now.saturating_duration_since(transcript.start()),
            Payload::Text(packet.to_owned()),
        );
        if let Some(reason) = checked.violation {
            transcript.record_at(now, label, EntryKind::Violation, reason.clone());
            return Err(CaseError::fail(format!(
                "{label} received a packet no {} server schema allows: {reason}\n  packet: {packet}",
                check.profile()
            )));
        }
        frames.push(checked.frame);
    }
    Ok(frames)
}
