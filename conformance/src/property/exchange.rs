//! One generated message's exchange: what was sent, what came back until the connection went quiet, and a
//! transcript of both for the report.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::case::{CaseError, CaseResult};
use crate::client::{Conn, Frame};
use crate::model::explore::{Failure, Verdict};
use crate::model::session::shown;

/// What came back after a message.
#[derive(Debug, Default)]
pub struct Replies {
    pub frames: Vec<Frame>,
    /// The close code, when the server closed the connection.
    pub closed: Option<u16>,
    /// A frame no server schema allows (the runner fails the case for it too).
    pub violation: Option<String>,
}

impl Replies {
    /// The JSON of each reply.
    pub fn values(&self) -> Vec<Value> {
        self.frames
            .iter()
            .map(|f| {
                f.value
                    .clone()
                    .unwrap_or_else(|| Value::String(f.to_string()))
            })
            .collect()
    }
}

/// The transcript of one generated message's exchange; clones share it.
#[derive(Debug, Default, Clone)]
pub struct Exchange {
    log: Arc<Mutex<String>>,
}

impl Exchange {
    pub fn new() -> Exchange {
        Exchange::default()
    }

    fn line(&self, text: std::fmt::Arguments<'_>) {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writeln!(log, "    {text}");
    }

    pub fn note(&self, text: impl AsRef<str>) {
        self.line(format_args!("{}", text.as_ref()));
    }

    pub fn sent(&self, who: &str, what: impl std::fmt::Display) {
        self.line(format_args!("{who} -> {what}"));
    }

    /// The verdict of an exchange whose checks returned `result`: a failure carries this transcript; a skip
    /// or an unsupported outcome ends the whole case.
    pub fn verdict(&self, result: CaseResult) -> Result<Verdict, CaseError> {
        match result {
            Ok(()) => Ok(Verdict::Pass),
            Err(CaseError::Fail(reason)) => {
                let log = self
                    .log
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                Ok(Verdict::Fail(Failure::new(reason, log)))
            }
            Err(other) => Err(other),
        }
    }

    /// Reads what `conn` receives: at least `want` frames (each awaited up to `wait`), then anything more until
    /// `quiet` passes without a frame. Frames `background` recognises (heartbeats) are answered and left out.
    pub async fn collect(
        &self,
        conn: &mut Conn,
        want: usize,
        wait: Duration,
        quiet: Duration,
        background: fn(&Value) -> Option<Option<Value>>,
    ) -> Replies {
        let mut replies = Replies::default();
        let deadline = Instant::now() + wait;
        loop {
            let window = if replies.frames.len() < want {
                deadline.saturating_duration_since(Instant::now())
            } else {
                quiet
            };
            let next =
                tokio::time::timeout(window, conn.recv(window + Duration::from_secs(5))).await;
            let frame = match next {
                Err(_) => break,
                Ok(Ok(frame)) => frame,
                Ok(Err(error)) => {
                    match conn.closed() {
                        Some(closed) => {
                            replies.closed = Some(closed.code);
                            self.note(format!(
                                "{} closed the connection: {}",
                                conn.label(),
                                closed.code
                            ));
                        }
                        None => {
                            self.note(format!("{error}"));
                            replies.violation = Some(error.to_string());
                        }
                    }
                    break;
                }
            };
            let value = frame.value.clone().unwrap_or(Value::Null);
            if let Some(reply) = background(&value) {
                if let Some(reply) = reply {
                    let _ = conn.send_json(&reply).await;
                }
                continue;
            }
            self.line(format_args!("{} <- {}", conn.label(), shown_frame(&frame)));
            replies.frames.push(frame);
        }
        replies
    }
}

fn shown_frame(frame: &Frame) -> String {
    match &frame.value {
        Some(value) if frame.packet.is_none() => shown(value),
        _ => {
            let text = frame.to_string();
            if text.len() > 300 {
                format!("{}…", &text[..crate::generate::char_floor(&text, 300)])
            } else {
                text
            }
        }
    }
}

/// No background frames.
pub fn none(_: &Value) -> Option<Option<Value>> {
    None
}
