//! Transcript normalization: a case's transcript turned into lines that change only when behaviour changes.
//!
//! - Order: entries are grouped per connection in a fixed order ([`order`]), so concurrent connections and
//!   the race between a frame sent and one arriving never reorder the result.
//! - Heartbeats: Engine.IO ping/pong, directus `ping`/`pong` and WebSocket ping frames come at times of the
//!   clock's choosing; they are dropped, except in cases about heartbeats ([`is_heartbeat_case`]).
//! - Volatile values: sids, versions, timestamps, tokens, JWTs, generated names and ids, URL authorities and
//!   the target's credentials are replaced by stable placeholders ([`redact`]).
//! - JSON: object keys are sorted; timings are dropped.
//!
//! Snapshots (`cargo xtask snapshots`), `conformance record` and `conformance diff` all compare the result.

pub mod order;
pub mod parse;
pub mod redact;
pub mod scan;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::Outcome;
use crate::profile::Profile;
use crate::transcript::{Entry, EntryKind};

pub use parse::Body;
pub use redact::{Literals, Redactor};

/// Version of the normalized form; bumped when the same transcript would normalize differently.
pub const NORMALIZE_VERSION: u32 = 1;

/// How to normalize one case's transcript.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The case's profile: decides which frames are heartbeats and which keys hold generated ids.
    pub profile: Option<Profile>,
    /// Keep heartbeat frames (for cases that check heartbeats).
    pub keep_heartbeats: bool,
    /// Values the target names (credentials), replaced by their names.
    pub literals: &'a Literals,
}

impl<'a> Options<'a> {
    /// The options for case `id` of `profile`.
    pub fn for_case(id: &str, profile: Profile, literals: &'a Literals) -> Options<'a> {
        Options {
            profile: Some(profile),
            keep_heartbeats: is_heartbeat_case(id),
            literals,
        }
    }
}

/// Whether case `id` is about heartbeats (a word of its area or name is `heartbeat`, `ping`, `pong` or
/// `keepalive`), so its heartbeat frames are what it checks and are kept.
pub fn is_heartbeat_case(id: &str) -> bool {
    id.split('.').skip(1).any(|part| {
        part.split('-').any(|word| {
            matches!(
                word,
                "heartbeat" | "heartbeats" | "ping" | "pong" | "keepalive"
            )
        })
    })
}

/// One normalized transcript line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// The connection label (`alice#1`), `http:<actuator>`, or empty for case notes.
    pub conn: String,
    /// `connect`, `reject`, `send`, `recv`, `close`, `http`, `violation` or `note`.
    pub kind: String,
    /// The frame as JSON when it is JSON (a connect or HTTP entry as an object), otherwise its text.
    pub frame: Value,
}

impl Line {
    /// `alice#1 <- {"type":"auth"}`: label, direction or kind, compact JSON with sorted keys.
    pub fn render(&self) -> String {
        let conn = if self.conn.is_empty() {
            "case"
        } else {
            &self.conn
        };
        let tag = match self.kind.as_str() {
            "send" => "->",
            "recv" => "<-",
            other => other,
        };
        let frame = match &self.frame {
            Value::String(text) => text.replace('\n', "\\n"),
            other => other.to_string(),
        };
        format!("{conn} {tag} {frame}")
    }
}

/// A case's outcome and transcript, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizedCase {
    /// `pass`, `fail`, `skip` or `unsupported`.
    pub outcome: String,
    /// Why it did not pass, with the transcript's placeholders.
    pub reason: Option<String>,
    pub frames: Vec<Line>,
}

impl NormalizedCase {
    /// One line per frame.
    pub fn lines(&self) -> Vec<String> {
        self.frames.iter().map(Line::render).collect()
    }

    /// The outcome, the reason, then one line per frame: what snapshots hold and diffs compare.
    pub fn render(&self) -> String {
        let mut out = format!("outcome: {}\n", self.outcome);
        if let Some(reason) = &self.reason {
            out.push_str(&format!("reason: {}\n", reason.replace('\n', "\n  ")));
        }
        out.push('\n');
        for line in self.lines() {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

/// The name of an entry kind, as in the JSON report.
pub fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Connect => "connect",
        EntryKind::Reject => "reject",
        EntryKind::Send => "send",
        EntryKind::Recv => "recv",
        EntryKind::Close => "close",
        EntryKind::Http => "http",
        EntryKind::Violation => "violation",
        EntryKind::Note => "note",
    }
}

/// The entry kind named `name` (as in the JSON report).
pub fn parse_kind(name: &str) -> Option<EntryKind> {
    [
        EntryKind::Connect,
        EntryKind::Reject,
        EntryKind::Send,
        EntryKind::Recv,
        EntryKind::Close,
        EntryKind::Http,
        EntryKind::Violation,
        EntryKind::Note,
    ]
    .into_iter()
    .find(|k| kind_name(*k) == name)
}

/// Whether `entry` is a heartbeat of `profile` (or a WebSocket ping or pong frame, in any profile).
pub fn is_heartbeat(entry: &Entry, profile: Option<Profile>) -> bool {
    if !matches!(entry.kind, EntryKind::Send | EntryKind::Recv) {
        return false;
    }
    let text = entry.text.as_str();
    if text.starts_with("<ping frame") || text.starts_with("<pong frame") {
        return true;
    }
    match profile {
        Some(Profile::Gamevault) => {
            // `2` / `3`, and the pongs the harness answers by itself (`3 (heartbeat, answered automatically)`)
            let packet = text.split(' ').next().unwrap_or_default();
            matches!(packet, "2" | "3")
        }
        Some(Profile::Directus) => serde_json::from_str::<Value>(text)
            .is_ok_and(|v| matches!(v.get("type").and_then(Value::as_str), Some("ping" | "pong"))),
        _ => false,
    }
}

/// Normalizes a case's outcome and transcript.
pub fn normalize(outcome: &Outcome, entries: &[Entry], options: &Options<'_>) -> NormalizedCase {
    normalize_parts(outcome.name(), outcome.reason(), entries, options)
}

/// Normalizes an outcome given by name (as read from a report) and a transcript.
pub fn normalize_parts(
    outcome: &str,
    reason: Option<&str>,
    entries: &[Entry],
    options: &Options<'_>,
) -> NormalizedCase {
    let arranged = order::arrange(entries, |e| {
        options.keep_heartbeats || !is_heartbeat(e, options.profile)
    });
    let bodies: Vec<(&Entry, Body)> = arranged
        .into_iter()
        .map(|e| (e, Body::parse(e.kind, &e.text).canonical()))
        .collect();
    let mut redactor = Redactor::new(options.profile, options.literals);
    for (_, body) in &bodies {
        match body {
            Body::Json(v) => redactor.discover(v, None),
            Body::Packet { prefix, json } => {
                // A Socket.IO namespace in the prefix may be a generated name.
                redactor.discover_text(prefix, None);
                redactor.discover(json, None);
            }
            Body::Text(t) => redactor.discover_text(t, None),
        }
    }
    if let Some(reason) = reason {
        redactor.discover_text(reason, None);
    }
    redactor.seal();
    let frames = bodies
        .into_iter()
        .map(|(entry, body)| {
            let body = match body {
                Body::Json(v) => Body::Json(redactor.rewrite(&v, None)),
                Body::Packet { prefix, json } => Body::Packet {
                    prefix: redactor.rewrite_text(&prefix, None),
                    json: redactor.rewrite(&json, None),
                },
                Body::Text(t) => Body::Text(redactor.rewrite_text(&t, None)),
            };
            Line {
                conn: entry.conn.clone(),
                kind: kind_name(entry.kind).to_owned(),
                frame: body.into_value(),
            }
        })
        .collect();
    NormalizedCase {
        outcome: outcome.to_owned(),
        reason: reason.map(|r| redactor.rewrite_text(r, None)),
        frames,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at_ms: f64, conn: &str, kind: EntryKind, text: &str) -> Entry {
        Entry {
            at_ms,
            conn: conn.into(),
            kind,
            text: text.into(),
        }
    }

    fn gamevault_run(sid: &str, socket_sid: &str, port: u16, pong_first: bool) -> Vec<Entry> {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        let mut entries = vec![
            entry(
                0.1,
                "alice#1",
                EntryKind::Connect,
                &format!("{url}\n    X-Socket-Secret: s3cret-alice"),
            ),
            entry(
                2.0,
                "alice#1",
                EntryKind::Recv,
                &format!(r#"0{{"sid":"{sid}","pingInterval":400}}"#),
            ),
            entry(2.1, "alice#1", EntryKind::Send, "40"),
        ];
        let heartbeat = [
            entry(2.5, "alice#1", EntryKind::Recv, "2"),
            entry(
                2.6,
                "alice#1",
                EntryKind::Send,
                "3 (heartbeat, answered automatically)",
            ),
        ];
        if pong_first {
            entries.extend(heartbeat.clone());
        }
        entries.push(entry(
            2.9,
            "alice#1",
            EntryKind::Recv,
            &format!(r#"40{{"sid":"{socket_sid}"}}"#),
        ));
        entries.push(entry(
            3.1,
            "alice#1",
            EntryKind::Recv,
            &format!(
                r#"42["activity",{{"user_id":1,"socket_id":"{socket_sid}","state":"PLAYING"}}]"#
            ),
        ));
        if !pong_first {
            entries.extend(heartbeat);
        }
        entries
    }

    #[test]
    fn runs_differing_in_timing_and_volatile_values_normalize_the_same() {
        let mut literals = Literals::default();
        literals.insert("s3cret-alice", "<primary.secret>");
        let options = Options::for_case(
            "gamevault.activity.broadcast",
            Profile::Gamevault,
            &literals,
        );
        let one = normalize(
            &Outcome::Pass,
            &gamevault_run("AAAA1111bbbb", "CCCC2222dddd", 4000, true),
            &options,
        );
        let two = normalize(
            &Outcome::Pass,
            &gamevault_run("XXXX9999yyyy", "ZZZZ8888wwww", 5123, false),
            &options,
        );
        assert_eq!(one, two);
        assert_eq!(
            one.lines(),
            [
                r#"alice#1 connect {"headers":{"X-Socket-Secret":"<primary.secret>"},"url":"ws://<host-1>/socket.io/?EIO=4&transport=websocket"}"#,
                "alice#1 -> 40",
                r#"alice#1 <- 0{"pingInterval":400,"sid":"<sid-1>"}"#,
                r#"alice#1 <- 40{"sid":"<sid-2>"}"#,
                r#"alice#1 <- 42["activity",{"socket_id":"<sid-2>","state":"PLAYING","user_id":1}]"#,
            ]
        );
    }

    #[test]
    fn heartbeat_cases_keep_their_heartbeats() {
        let literals = Literals::default();
        let entries = gamevault_run("AAAA1111bbbb", "CCCC2222dddd", 4000, true);
        let options = Options::for_case(
            "gamevault.engineio.heartbeat-ping",
            Profile::Gamevault,
            &literals,
        );
        let lines = normalize(&Outcome::Pass, &entries, &options).lines();
        assert!(lines.contains(&"alice#1 <- 2".to_owned()), "{lines:?}");
        assert!(
            lines.iter().any(|l| l.starts_with("alice#1 -> 3")),
            "{lines:?}"
        );
    }

    #[test]
    fn generated_names_in_packet_prefixes_are_redacted() {
        let literals = Literals::default();
        let options = Options::for_case("gamevault.socketio.x", Profile::Gamevault, &literals);
        let entries = [
            entry(1.0, "a#1", EntryKind::Send, "40/nsp-3be2c080,"),
            entry(
                2.0,
                "a#1",
                EntryKind::Recv,
                r#"44/nsp-3be2c080,{"message":"Invalid namespace"}"#,
            ),
        ];
        assert_eq!(
            normalize(&Outcome::Pass, &entries, &options).lines(),
            [
                "a#1 -> 40/nsp-<unique-1>,",
                r#"a#1 <- 44/nsp-<unique-1>,{"message":"Invalid namespace"}"#
            ]
        );
    }

    #[test]
    fn heartbeat_case_names() {
        assert!(is_heartbeat_case("gamevault.engineio.heartbeat-ping"));
        assert!(is_heartbeat_case("gamevault.engineio.ping-timeout-close"));
        assert!(is_heartbeat_case("directus.heartbeat.server-pings"));
        assert!(!is_heartbeat_case("directus.subscribe.uid-echo"));
        assert!(!is_heartbeat_case("ping.subscribe.x"));
    }

    #[test]
    fn reasons_use_the_transcript_placeholders() {
        let literals = Literals::default();
        let entries = [entry(
            1.0,
            "a#1",
            EntryKind::Recv,
            r#"{"type":"x","version":"2026-01-01T00:00:00Z"}"#,
        )];
        let options = Options::for_case("m2.x.y", Profile::M2, &literals);
        let outcome = Outcome::Fail("version 2026-01-01T00:00:00Z is stale".into());
        let normalized = normalize(&outcome, &entries, &options);
        assert_eq!(
            normalized.reason.as_deref(),
            Some("version <version> is stale")
        );
        assert_eq!(
            normalized.render(),
            "outcome: fail\nreason: version <version> is stale\n\na#1 <- {\"type\":\"x\",\"version\":\"<version>\"}\n"
        );
    }
}
