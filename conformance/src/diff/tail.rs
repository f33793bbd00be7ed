//! Telling a difference of behaviour from a difference of timing.
//!
//! A case stops reading when it has what it checks; frames the server sent after that are in the transcript
//! only if they arrived before the case ended, which is timing. So when two runs differ only in that one
//! connection received more frames at the end of what it received, the difference is reported apart
//! ("unread tail") and does not make the sides differ.

use std::collections::BTreeMap;

use crate::normalize::{Line, NormalizedCase};

/// Whether `line` is something the server sent (a frame, a violation, its close), as opposed to what the case did.
fn from_server(line: &Line) -> bool {
    match line.kind.as_str() {
        "recv" | "violation" => true,
        "close" => !line
            .frame
            .as_str()
            .is_some_and(|text| text.starts_with("sent close")),
        _ => false,
    }
}

/// Per connection: what the case did, and what the server sent, as rendered lines.
fn streams(case: &NormalizedCase) -> BTreeMap<&str, (Vec<String>, Vec<String>)> {
    let mut streams: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for line in &case.frames {
        let (by_case, by_server) = streams.entry(line.conn.as_str()).or_default();
        if from_server(line) {
            by_server.push(line.render());
        } else {
            by_case.push(line.render());
        }
    }
    streams
}

/// Whether `a` and `b` differ only in frames some connection received after everything the other run received
/// on it (same outcome and reason assumed).
pub fn only_unread_tails(a: &NormalizedCase, b: &NormalizedCase) -> bool {
    let (a, b) = (streams(a), streams(b));
    a.len() == b.len()
        && a.iter().zip(&b).all(
            |((conn_a, (case_a, server_a)), (conn_b, (case_b, server_b)))| {
                conn_a == conn_b
                    && case_a == case_b
                    && (server_a.starts_with(server_b) || server_b.starts_with(server_a))
            },
        )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn case(lines: &[(&str, &str, &str)]) -> NormalizedCase {
        NormalizedCase {
            outcome: "pass".into(),
            reason: None,
            frames: lines
                .iter()
                .map(|(conn, kind, frame)| Line {
                    conn: (*conn).into(),
                    kind: (*kind).into(),
                    frame: json!(frame),
                })
                .collect(),
        }
    }

    #[test]
    fn extra_frames_at_the_end_of_what_a_connection_received_are_timing() {
        let a = case(&[
            ("a#1", "send", "hello"),
            ("a#1", "recv", "welcome"),
            ("b#2", "recv", "x"),
        ]);
        let b = case(&[
            ("a#1", "send", "hello"),
            ("a#1", "recv", "welcome"),
            ("a#1", "recv", "late"),
            ("a#1", "close", "1000"),
            ("b#2", "recv", "x"),
        ]);
        assert!(only_unread_tails(&a, &b));
        assert!(only_unread_tails(&b, &a));
    }

    #[test]
    fn changed_frames_or_actions_are_behaviour() {
        let a = case(&[("a#1", "send", "hello"), ("a#1", "recv", "welcome")]);
        let changed = case(&[("a#1", "send", "hello"), ("a#1", "recv", "go away")]);
        let more_sent = case(&[
            ("a#1", "send", "hello"),
            ("a#1", "send", "again"),
            ("a#1", "recv", "welcome"),
        ]);
        let other_conn = case(&[
            ("a#1", "send", "hello"),
            ("a#1", "recv", "welcome"),
            ("b#2", "connect", "ws"),
        ]);
        assert!(!only_unread_tails(&a, &changed));
        assert!(!only_unread_tails(&a, &more_sent));
        assert!(!only_unread_tails(&a, &other_conn));
    }
}
