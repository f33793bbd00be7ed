//! The socket a subject causes changes through: frames are written by the caller itself (no task hop per frame,
//! so a busy scheduler does not pace the changes), and one task drains everything the socket receives, answering
//! heartbeats and handing each reply to the change waiting for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{oneshot, Mutex};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::open::{open, Socket};
use super::subject::{Heartbeat, SubscriberPlan};
use crate::client::check::FrameCheck;
use crate::client::Payload;

/// The key of a reply frame (a directus `items` reply's `uid`), if the frame is one.
pub type AckKey = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

type Pending = Arc<StdMutex<HashMap<String, oneshot::Sender<String>>>>;

pub struct Writer {
    sink: Arc<Mutex<SplitSink<Socket, Message>>>,
    pending: Pending,
    violation: Arc<StdMutex<Option<String>>>,
    reader: JoinHandle<()>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn lock<T>(mutex: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the writer's reader does with received frames.
pub struct Reading {
    pub heartbeat: Heartbeat,
    /// Which frames are replies; without, received frames (e.g. the pushes a broadcasting member gets too) are
    /// only drained.
    pub ack: Option<AckKey>,
    /// Checks replies against the server schemas.
    pub check: Option<FrameCheck>,
}

impl Writer {
    /// Opens the socket as `plan` says (its opening frames checked with `opening_check`).
    pub async fn open(
        plan: SubscriberPlan,
        opening_check: Option<FrameCheck>,
        reading: Reading,
        timeout: Duration,
    ) -> Result<Writer, String> {
        let opened = open(plan, opening_check.as_ref(), timeout).await?;
        if let Some(first) = opened.violations.into_iter().next() {
            return Err(format!(
                "an opening frame breaks the server schemas: {first}"
            ));
        }
        let (sink, mut stream) = opened.socket.split();
        let sink = Arc::new(Mutex::new(sink));
        let pending = Pending::default();
        let violation = Arc::new(StdMutex::new(None));
        let reader = {
            let (sink, pending, violation) = (sink.clone(), pending.clone(), violation.clone());
            tokio::spawn(async move {
                while let Some(Ok(message)) = stream.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let text = text.as_str();
                    if let Some(answer) = (reading.heartbeat)(text) {
                        let _ = sink.lock().await.send(Message::text(answer)).await;
                        continue;
                    }
                    let Some(key) = reading.ack.as_ref().and_then(|ack| ack(text)) else {
                        continue;
                    };
                    if let Some(check) = &reading.check {
                        let checked =
                            check.incoming(Duration::ZERO, Payload::Text(text.to_owned()));
                        if let Some(reason) = checked.violation {
                            lock(&violation)
                                .get_or_insert(format!("writer: {reason}\n  frame: {text}"));
                        }
                    }
                    if let Some(waiter) = lock(&pending).remove(&key) {
                        let _ = waiter.send(text.to_owned());
                    }
                }
            })
        };
        Ok(Writer {
            sink,
            pending,
            violation,
            reader,
        })
    }

    /// Writes one text frame.
    pub async fn send(&self, text: String) -> Result<(), String> {
        self.sink
            .lock()
            .await
            .send(Message::text(text))
            .await
            .map_err(|e| format!("writing: {e}"))
    }

    /// Writes `text` and waits up to `timeout` for the reply whose key is `key`; returns its text.
    pub async fn request(
        &self,
        key: String,
        text: String,
        timeout: Duration,
    ) -> Result<String, String> {
        let (waiter, reply) = oneshot::channel();
        lock(&self.pending).insert(key.clone(), waiter);
        if let Err(e) = self.send(text).await {
            lock(&self.pending).remove(&key);
            return Err(e);
        }
        match tokio::time::timeout(timeout, reply).await {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(_)) => Err(format!("the socket closed before the reply to {key}")),
            Err(_) => {
                lock(&self.pending).remove(&key);
                Err(format!(
                    "no reply to {key} within {}",
                    humantime::format_duration(timeout)
                ))
            }
        }
    }

    /// The first reply that broke the server schemas.
    pub fn violation(&self) -> Option<String> {
        lock(&self.violation).clone()
    }

    /// Sends a close frame (bounded) and stops the reader.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            self.sink.lock().await.send(Message::Close(None)).await
        })
        .await;
    }
}
