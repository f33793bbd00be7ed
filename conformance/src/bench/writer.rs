//! The socket a subject causes changes through: frames are written by the caller itself (no task hop per frame,
//! so a busy scheduler does not pace the changes), and one task drains everything the socket receives, answering
//! heartbeats and handing replies to whoever waits for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{oneshot, Mutex};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::open::{open, Socket};
use super::subject::{Heartbeat, SubscriberPlan};
use crate::client::check::FrameCheck;
use crate::client::Payload;

/// The key of a reply frame (e.g. a directus `items` reply's `uid`), if the frame is one.
pub type ReplyKey = fn(&Value) -> Option<String>;

type Pending = Arc<StdMutex<HashMap<String, oneshot::Sender<Value>>>>;

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

impl Writer {
    /// Opens the socket as `plan` says. With `reply`, every received frame is parsed, checked against the server
    /// schemas and, when `reply` gives it a key, handed to the [`Writer::request`] waiting for that key; without,
    /// received frames (the pushes a broadcasting member gets too) are only drained.
    pub async fn open(
        plan: SubscriberPlan,
        check: Option<FrameCheck>,
        heartbeat: Heartbeat,
        reply: Option<ReplyKey>,
        timeout: Duration,
    ) -> Result<Writer, String> {
        let opened = open(plan, check.as_ref(), timeout).await?;
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
                    if let Some(answer) = heartbeat(text.as_str()) {
                        let _ = sink.lock().await.send(Message::text(answer)).await;
                        continue;
                    }
                    let Some(reply) = reply else { continue };
                    let checked = check.as_ref().map(|c| {
                        c.incoming(Duration::ZERO, Payload::Text(text.as_str().to_owned()))
                    });
                    if let Some(reason) = checked.as_ref().and_then(|c| c.violation.clone()) {
                        lock(&violation)
                            .get_or_insert(format!("writer: {reason}\n  frame: {text}"));
                    }
                    let value = match checked.and_then(|c| c.frame.value) {
                        Some(value) => value,
                        None => match serde_json::from_str::<Value>(text.as_str()) {
                            Ok(value) => value,
                            Err(_) => continue,
                        },
                    };
                    if let Some(waiter) = reply(&value).and_then(|key| lock(&pending).remove(&key))
                    {
                        let _ = waiter.send(value);
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

    /// Writes `text` and waits up to `timeout` for the reply whose key is `key`.
    pub async fn request(
        &self,
        key: String,
        text: String,
        timeout: Duration,
    ) -> Result<Value, String> {
        let (waiter, reply) = oneshot::channel();
        lock(&self.pending).insert(key.clone(), waiter);
        if let Err(e) = self.send(text).await {
            lock(&self.pending).remove(&key);
            return Err(e);
        }
        match tokio::time::timeout(timeout, reply).await {
            Ok(Ok(value)) => Ok(value),
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

    /// The first reply frame that broke the server schemas.
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
