//! Opening one lean subscriber socket: the upgrade and the plan's steps, then the bare socket for a shard.
//!
//! Unlike [`crate::client::Conn`], no background task checks and records every frame: a benchmark with thousands
//! of subscribers would measure the harness's schema checks instead of the server. The frames the steps wait for
//! are still checked, and so is everything one subscriber per run receives (see [`crate::bench::fleet`]).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::subject::{Step, SubscriberPlan};
use crate::client::check::FrameCheck;
use crate::client::conn::ws_config;
use crate::client::{Frame, Payload, Request};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An opened subscriber and the schema violations its opening frames showed.
pub(crate) struct Opened {
    pub socket: Socket,
    pub violations: Vec<String>,
}

/// Upgrades and runs `plan`'s steps, all within `timeout`.
pub(crate) async fn open(
    plan: SubscriberPlan,
    check: Option<&FrameCheck>,
    timeout: Duration,
) -> Result<Opened, String> {
    let url = plan.request.url.clone();
    match tokio::time::timeout(timeout, open_unbounded(plan, check)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{url}: not open and subscribed within {}",
            humantime::format_duration(timeout)
        )),
    }
}

async fn open_unbounded(
    plan: SubscriberPlan,
    check: Option<&FrameCheck>,
) -> Result<Opened, String> {
    let http = upgrade_request(&plan.request)?;
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(http, Some(ws_config()), true)
            .await
            .map_err(|e| match e {
                tungstenite::Error::Http(response) => {
                    format!("the upgrade was refused with HTTP {}", response.status())
                }
                other => other.to_string(),
            })?;
    let mut violations = Vec::new();
    for step in plan.steps {
        match step {
            Step::Send(text) => socket
                .send(Message::text(text))
                .await
                .map_err(|e| format!("sending an opening frame: {e}"))?,
            Step::Await(pattern) => loop {
                let message = socket
                    .next()
                    .await
                    .ok_or_else(|| format!("closed while waiting for {}", pattern.description()))?
                    .map_err(|e| format!("waiting for {}: {e}", pattern.description()))?;
                let text = match message {
                    Message::Text(text) => text.as_str().to_owned(),
                    Message::Close(frame) => {
                        return Err(format!(
                            "closed ({}) while waiting for {}",
                            frame.map(|f| u16::from(f.code)).unwrap_or(1005),
                            pattern.description()
                        ))
                    }
                    _ => continue,
                };
                let frame = judge(check, text, &mut violations);
                if pattern.matches(&frame) {
                    break;
                }
            },
        }
    }
    Ok(Opened { socket, violations })
}

/// The frame as patterns see it: checked and classified when the subject speaks a profile.
fn judge(check: Option<&FrameCheck>, text: String, violations: &mut Vec<String>) -> Frame {
    match check {
        Some(check) => {
            let checked = check.incoming(Duration::ZERO, Payload::Text(text));
            if let Some(reason) = checked.violation {
                violations.push(reason);
            }
            checked.frame
        }
        None => Frame {
            at: Duration::ZERO,
            value: serde_json::from_str::<Value>(&text).ok(),
            payload: Payload::Text(text),
            packet: None,
            kinds: Vec::new(),
        },
    }
}

/// The HTTP upgrade request of `request`: its URL, headers and offered subprotocol.
fn upgrade_request(request: &Request) -> Result<tungstenite::handshake::client::Request, String> {
    let mut http = request
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("{}: {e}", request.url))?;
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("header name {name:?}: {e}"))?;
        let value =
            HeaderValue::from_str(value).map_err(|e| format!("header {name} value: {e}"))?;
        http.headers_mut().append(name, value);
    }
    if let Some(protocol) = &request.subprotocol {
        let value = HeaderValue::from_str(protocol)
            .map_err(|e| format!("subprotocol {protocol:?}: {e}"))?;
        http.headers_mut().insert("sec-websocket-protocol", value);
    }
    Ok(http)
}
