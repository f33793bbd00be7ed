//! The record of one case: every frame sent and received, every HTTP call, every note, timestamped
//! relative to the case start. Reports print it for failing cases.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What an [`Entry`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A WebSocket connection was opened (text: the URL and what was offered).
    Connect,
    /// The server refused the upgrade (text: status and body).
    Reject,
    /// A frame the harness sent.
    Send,
    /// A frame the harness received.
    Recv,
    /// A close frame or the end of the connection.
    Close,
    /// An HTTP request made by an actuator, with its response status and body.
    Http,
    /// A frame that matches no schema of its direction.
    Violation,
    /// A remark by the case or the harness.
    Note,
}

impl EntryKind {
    /// The arrow or tag shown in terminal transcripts.
    pub fn symbol(self) -> &'static str {
        match self {
            EntryKind::Connect => "connect",
            EntryKind::Reject => "rejected",
            EntryKind::Send => "->",
            EntryKind::Recv => "<-",
            EntryKind::Close => "close",
            EntryKind::Http => "http",
            EntryKind::Violation => "VIOLATION",
            EntryKind::Note => "note",
        }
    }
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Entry {
    /// Milliseconds since the case started, to a tenth.
    pub at_ms: f64,
    /// The connection label (`alice#1`), or empty for case-wide notes.
    pub conn: String,
    pub kind: EntryKind,
    pub text: String,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>9.1} ms  ", self.at_ms)?;
        if !self.conn.is_empty() {
            write!(f, "{:<10} ", self.conn)?;
        }
        write!(f, "{:<8} {}", self.kind.symbol(), self.text)
    }
}

/// A shared, append-only transcript; clones write to the same record.
#[derive(Debug, Clone)]
pub struct Transcript {
    start: Instant,
    entries: Arc<Mutex<Vec<Entry>>>,
    /// When false only violations are kept (long benchmark runs would otherwise hold every frame).
    full: bool,
}

/// Frames longer than this are cut in transcripts (the case still sees them whole).
const MAX_TEXT: usize = 2000;

impl Transcript {
    pub fn new(start: Instant) -> Transcript {
        Transcript {
            start,
            entries: Arc::default(),
            full: true,
        }
    }

    /// A transcript that keeps schema violations only.
    pub fn violations_only(start: Instant) -> Transcript {
        Transcript {
            full: false,
            ..Transcript::new(start)
        }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// Time since the case started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records an entry stamped now.
    pub fn record(&self, conn: &str, kind: EntryKind, text: impl Into<String>) {
        self.record_at(Instant::now(), conn, kind, text);
    }

    /// Records an entry stamped at `at` (e.g. when a frame arrived, not when it was looked at).
    pub fn record_at(&self, at: Instant, conn: &str, kind: EntryKind, text: impl Into<String>) {
        if !self.full && kind != EntryKind::Violation {
            return;
        }
        let micros = at.saturating_duration_since(self.start).as_micros();
        let at_ms = (micros / 100) as f64 / 10.0;
        let mut text = text.into();
        if text.len() > MAX_TEXT {
            let cut = (0..=MAX_TEXT)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            let total = text.len();
            text.truncate(cut);
            text.push_str(&format!("… ({total} bytes)"));
        }
        self.lock().push(Entry {
            at_ms,
            conn: conn.to_owned(),
            kind,
            text,
        });
    }

    /// A copy of every entry so far, in the order recorded.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().clone()
    }

    /// The first schema violation recorded, if any.
    pub fn first_violation(&self) -> Option<Entry> {
        self.lock()
            .iter()
            .find(|e| e.kind == EntryKind::Violation)
            .cloned()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        // A panic while holding this lock cannot leave a half-written Vec; keep recording.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
