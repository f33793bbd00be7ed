//! The clients of one generated sequence, and the step-by-step comparison of what they receive with what the
//! model predicts.
//!
//! After each step every client is drained to quiescence: the frames the model predicts are awaited (up to the
//! target's `wait`), then one short quiet window catches anything extra. Frames are compared per stream (the
//! profile says what a stream is: a resource, a subscription uid): within a stream order matters, streams
//! interleave freely.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::expect::Bindings;
use crate::client::gamevault::SioConn;
use crate::client::skapi::SkapiConn;
use crate::client::Conn;

/// A profile's connection type, seen as the generic [`Conn`] underneath.
pub trait Client: Send {
    fn conn(&mut self) -> &mut Conn;
}

impl Client for Conn {
    fn conn(&mut self) -> &mut Conn {
        self
    }
}

impl Client for SkapiConn {
    fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Client for SioConn {
    fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

/// How a profile's frames are compared.
#[derive(Clone, Copy)]
pub struct Rules {
    /// The stream a frame (or a predicted frame) belongs to; order is compared within a stream only.
    pub stream: fn(&Value) -> String,
    /// Frames outside the model (heartbeats): `Some(reply)` drops the frame and sends `reply` if there is one.
    pub background: fn(&Value) -> Option<Option<Value>>,
    /// What of a received frame the model judges: members the documents leave to the server are removed or
    /// put in one form here, before comparison (the case's own transcript keeps the frame as received).
    pub normalize: fn(Value) -> Value,
}

impl Rules {
    /// One stream per client, nothing in the background.
    pub fn ordered() -> Rules {
        Rules {
            stream: |_| String::new(),
            background: |_| None,
            normalize: |v| v,
        }
    }
}

/// One client of a sequence: which user it is, and its connection while it has one.
pub struct Slot<C> {
    pub user: usize,
    /// `c<index>/<user label>`, as transcripts name it.
    pub name: String,
    pub conn: Option<C>,
    /// How many times it connected, so ids bound per connection stay apart.
    pub connections: usize,
}

enum Next {
    Frame(Value),
    Quiet,
    Ended(String),
}

/// The clients of one sequence, the bindings of server-chosen values, and the transcript so far.
pub struct Session<C> {
    pub slots: Vec<Slot<C>>,
    pub bindings: Bindings,
    rules: Rules,
    wait: Duration,
    quiet: Duration,
    log: String,
}

impl<C: Client> Session<C> {
    /// `users` gives each client's user index, `names` each user's label.
    pub fn new(
        users: &[usize],
        names: &[String],
        rules: Rules,
        wait: Duration,
        quiet: Duration,
    ) -> Self {
        let slots = users
            .iter()
            .enumerate()
            .map(|(i, &user)| Slot {
                user,
                name: format!(
                    "c{i}/{}",
                    names.get(user).map(String::as_str).unwrap_or("?")
                ),
                conn: None,
                connections: 0,
            })
            .collect();
        Session {
            slots,
            bindings: Bindings::default(),
            rules,
            wait,
            quiet,
            log: String::new(),
        }
    }

    /// The transcript so far.
    pub fn transcript(&self) -> &str {
        &self.log
    }

    /// Starts the transcript of step `index`.
    pub fn begin(&mut self, index: usize, description: &str) {
        let _ = writeln!(self.log, "step {index}: {description}");
    }

    /// Adds an indented line to the transcript.
    pub fn note(&mut self, text: &str) {
        let _ = writeln!(self.log, "    {text}");
    }

    /// Whether client `c` is connected.
    pub fn connected(&self, c: usize) -> bool {
        self.slots.get(c).is_some_and(|s| s.conn.is_some())
    }

    /// Drains every client to quiescence and compares what arrived with `expected` (per client index).
    /// Returns the reason when they differ.
    pub async fn settle(&mut self, expected: Vec<Vec<Value>>) -> Result<(), String> {
        let count = self.slots.len();
        let mut received: Vec<Vec<Value>> = vec![Vec::new(); count];
        let mut trouble = Vec::new();
        let deadline = Instant::now() + self.wait;
        for (c, frames) in received.iter_mut().enumerate() {
            let want = expected.get(c).map_or(0, Vec::len);
            while frames.len() < want {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.next(c, left).await {
                    Next::Frame(v) => frames.push(v),
                    Next::Quiet => break,
                    Next::Ended(reason) => {
                        trouble.push(format!("{}: {reason}", self.slots[c].name));
                        break;
                    }
                }
            }
        }
        tokio::time::sleep(self.quiet).await;
        for (c, frames) in received.iter_mut().enumerate() {
            loop {
                match self.next(c, Duration::ZERO).await {
                    Next::Frame(v) => frames.push(v),
                    Next::Quiet => break,
                    Next::Ended(reason) => {
                        trouble.push(format!("{}: {reason}", self.slots[c].name));
                        break;
                    }
                }
            }
        }
        for (c, frames) in received.iter().enumerate() {
            for frame in frames {
                let line = format!("{} <- {}", self.slots[c].name, shown(frame));
                self.note(&line);
            }
        }
        let mut problems = trouble;
        for (c, frames) in received.iter().enumerate() {
            let want = expected.get(c).cloned().unwrap_or_default();
            if let Err(problem) = self.compare(c, &want, frames) {
                problems.push(problem);
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        for problem in &problems {
            self.note(&format!("MISMATCH {problem}"));
        }
        Err(problems.join("; "))
    }

    fn compare(&mut self, c: usize, expected: &[Value], received: &[Value]) -> Result<(), String> {
        let stream = self.rules.stream;
        let mut streams: std::collections::BTreeMap<String, (Vec<&Value>, Vec<&Value>)> =
            std::collections::BTreeMap::new();
        for e in expected {
            streams.entry(stream(e)).or_default().0.push(e);
        }
        for r in received {
            streams.entry(stream(r)).or_default().1.push(r);
        }
        for (key, (want, got)) in streams {
            let fits = want.len() == got.len()
                && want
                    .iter()
                    .zip(&got)
                    .all(|(w, g)| self.bindings.matches(w, g));
            if !fits {
                let rendered: Vec<String> = want
                    .iter()
                    .map(|w| shown(&self.bindings.render(w)))
                    .collect();
                let got: Vec<String> = got.iter().map(|g| shown(g)).collect();
                let place = if key.is_empty() {
                    String::new()
                } else {
                    format!(" for {key}")
                };
                return Err(format!(
                    "{}{place}: the model predicts [{}], the server sent [{}]",
                    self.slots[c].name,
                    rendered.join(", "),
                    got.join(", ")
                ));
            }
        }
        Ok(())
    }

    async fn next(&mut self, c: usize, within: Duration) -> Next {
        let background = self.rules.background;
        loop {
            let Some(client) = self.slots.get_mut(c).and_then(|s| s.conn.as_mut()) else {
                return Next::Quiet;
            };
            let conn = client.conn();
            let frame = match tokio::time::timeout(
                within,
                conn.recv(within + Duration::from_secs(5)),
            )
            .await
            {
                Err(_) => return Next::Quiet,
                Ok(Ok(frame)) => frame,
                Ok(Err(error)) => {
                    // A closed connection stays closed: the model sees the client as gone.
                    if let Some(slot) = self.slots.get_mut(c) {
                        slot.conn = None;
                    }
                    return Next::Ended(error.to_string());
                }
            };
            let value = frame
                .value
                .clone()
                .unwrap_or_else(|| Value::String(frame.to_string()));
            match background(&value) {
                None => return Next::Frame((self.rules.normalize)(value)),
                Some(reply) => {
                    if let Some(reply) = reply {
                        let _ = conn.send_json(&reply).await;
                    }
                }
            }
        }
    }
}

/// A frame as transcripts show it: compact JSON, cut after 300 bytes.
pub fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 300 {
        let cut = crate::generate::char_floor(&text, 300);
        format!("{}… ({} bytes)", &text[..cut], text.len())
    } else {
        text
    }
}
