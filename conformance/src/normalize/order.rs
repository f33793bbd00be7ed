//! A deterministic order for a transcript whose connections ran concurrently.
//!
//! Within one connection, what the case did (connect, frames sent, HTTP calls, its own close) happens in the
//! case's order, and what the server sent arrives in the socket's order; but how the two interleave, and how
//! connections interleave, depends on timing. So entries are grouped: case notes first, then HTTP actuator
//! calls in call order (logins, changes made on the server), then each connection by its number (`alice#1`,
//! `bob#2`, …); inside a connection, first what the case did, then what the server sent.

use std::collections::BTreeMap;

use crate::transcript::{Entry, EntryKind};

/// Where an entry is listed within its connection.
fn is_from_server(entry: &Entry) -> bool {
    match entry.kind {
        EntryKind::Recv | EntryKind::Violation => true,
        EntryKind::Close => !entry.text.starts_with("sent close"),
        EntryKind::Connect
        | EntryKind::Reject
        | EntryKind::Send
        | EntryKind::Http
        | EntryKind::Note => false,
    }
}

/// Sorts connection groups: case notes, then HTTP calls, then numbered connections, then the rest by name.
type GroupKey<'e> = (u8, u64, &'e str);

/// What the case did and what the server sent, on one connection.
type Streams<'e> = (Vec<&'e Entry>, Vec<&'e Entry>);

/// The sort key of a connection label.
fn group_key(label: &str) -> GroupKey<'_> {
    if label.is_empty() {
        return (0, 0, label);
    }
    if label.starts_with("http:") {
        return (1, 0, "");
    }
    match label
        .rsplit_once('#')
        .and_then(|(_, n)| n.parse::<u64>().ok())
    {
        Some(n) => (2, n, label),
        None => (3, 0, label),
    }
}

/// `entries` in the deterministic order described above, keeping only those `keep` accepts.
pub fn arrange(entries: &[Entry], keep: impl Fn(&Entry) -> bool) -> Vec<&Entry> {
    let mut groups: BTreeMap<GroupKey<'_>, Streams<'_>> = BTreeMap::new();
    for entry in entries.iter().filter(|e| keep(e)) {
        let (by_case, by_server) = groups.entry(group_key(&entry.conn)).or_default();
        if is_from_server(entry) {
            by_server.push(entry);
        } else {
            by_case.push(entry);
        }
    }
    groups
        .into_values()
        .flat_map(|(by_case, by_server)| by_case.into_iter().chain(by_server))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(conn: &str, kind: EntryKind, text: &str) -> Entry {
        Entry {
            at_ms: 0.0,
            conn: conn.into(),
            kind,
            text: text.into(),
        }
    }

    fn texts(entries: &[Entry]) -> Vec<String> {
        arrange(entries, |_| true)
            .into_iter()
            .map(|e| format!("{} {}", e.conn, e.text))
            .collect()
    }

    #[test]
    fn interleavings_that_depend_on_timing_arrange_the_same() {
        let one = [
            entry("http:login", EntryKind::Http, "POST /login"),
            entry("bob#2", EntryKind::Connect, "ws"),
            entry("alice#1", EntryKind::Connect, "ws"),
            entry("alice#1", EntryKind::Recv, "notice"),
            entry("alice#1", EntryKind::Send, "broadcast"),
            entry("", EntryKind::Note, "note"),
            entry("bob#2", EntryKind::Recv, "message"),
            entry("alice#1", EntryKind::Close, "sent close 1000"),
            entry("alice#1", EntryKind::Close, "1000"),
            entry("http:kv", EntryKind::Http, "POST /kv"),
        ];
        let two = [
            entry("", EntryKind::Note, "note"),
            entry("alice#1", EntryKind::Connect, "ws"),
            entry("http:login", EntryKind::Http, "POST /login"),
            entry("alice#1", EntryKind::Send, "broadcast"),
            entry("bob#2", EntryKind::Connect, "ws"),
            entry("bob#2", EntryKind::Recv, "message"),
            entry("alice#1", EntryKind::Recv, "notice"),
            entry("alice#1", EntryKind::Close, "sent close 1000"),
            entry("http:kv", EntryKind::Http, "POST /kv"),
            entry("alice#1", EntryKind::Close, "1000"),
        ];
        assert_eq!(texts(&one), texts(&two));
        assert_eq!(
            texts(&one),
            [
                " note",
                "http:login POST /login",
                "http:kv POST /kv",
                "alice#1 ws",
                "alice#1 broadcast",
                "alice#1 sent close 1000",
                "alice#1 notice",
                "alice#1 1000",
                "bob#2 ws",
                "bob#2 message",
            ]
        );
    }
}
