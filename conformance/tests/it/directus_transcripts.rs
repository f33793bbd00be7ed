//! The directus schemas accept what a real Directus 12.4.0 server sends, and every well-formed frame its
//! clients sent; the frames the recording sent malformed on purpose are listed here with the server's answer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine;
use conformance::fixtures::Roots;
use conformance::schema::{Group, SchemaSet};
use conformance::Profile;
use serde_json::Value;

const TRANSCRIPTS: &str = "directus/transcripts/real-12.4.0";

/// Connections to an endpoint other than `/websocket`: (transcript, connection, why it is out of scope).
const OTHER_ENDPOINTS: &[(&str, &str, &str)] = &[(
    "handshake__other_paths.jsonl",
    "logs-admin",
    "/websocket/logs streams server logs (type \"logs\"); the subscriptions document does not cover it \
     (NOTES.md directus.logs-endpoint)",
)];

/// Client frames sent malformed on purpose: (transcript, frame text, the real server's answer).
/// Each must be rejected by the client envelope.
const MALFORMED_CLIENT_FRAMES: &[(&str, &str, &str)] = &[
    (
        "handshake__errors_after_auth.jsonl",
        "[1,2,3]",
        "server INVALID_PAYLOAD: expected object, received array",
    ),
    (
        "handshake__errors_after_auth.jsonl",
        "42",
        "server INVALID_PAYLOAD: expected object, received number",
    ),
    (
        "handshake__errors_after_auth.jsonl",
        "\"str\"",
        "server INVALID_PAYLOAD: expected object, received string",
    ),
    (
        "handshake__errors_after_auth.jsonl",
        "null",
        "server INVALID_PAYLOAD: expected object, received null",
    ),
    (
        "handshake__errors_after_auth.jsonl",
        "{}",
        "server INVALID_PAYLOAD: expected string at \"type\"",
    ),
    (
        "handshake__errors_after_auth.jsonl",
        r#"{"type":5}"#,
        "server INVALID_PAYLOAD: expected string, received number at \"type\"",
    ),
    (
        "handshake__errors_after_auth.jsonl",
        r#"{"type":"foo","uid":"u-foo"}"#,
        "no reply at all: an unknown type is ignored",
    ),
    (
        "handshake__errors_after_auth.jsonl",
        r#"{"uid":"no-type"}"#,
        "server INVALID_PAYLOAD: expected string at \"type\"",
    ),
    (
        "handshake__errors_after_auth.jsonl",
        r#"{"type":"subscribe","uid":"no-coll"}"#,
        "subscribe INVALID_PAYLOAD: collection missing",
    ),
    (
        "handshake__errors_after_auth.jsonl",
        r#"{"type":"subscribe","collection":"messages","event":"upsert","uid":"bad-event"}"#,
        "subscribe INVALID_PAYLOAD: event must be create, update or delete",
    ),
    (
        "handshake__errors_after_auth.jsonl",
        r#"{"type":"subscribe","collection":"messages","query":"fields=*","uid":"bad-query-type"}"#,
        "subscribe INVALID_PAYLOAD: query must be a record",
    ),
    (
        "handshake__errors_after_auth.jsonl",
        r#"{"type":"unsubscribe","uid":{"a":1}}"#,
        "server INVALID_PAYLOAD: uid must be a string or a number",
    ),
    (
        "handshake__items_crud.jsonl",
        r#"{"type":"items","collection":"messages","action":"delete","uid":"d4"}"#,
        "items INVALID_PAYLOAD: Either 'ids', 'id' or 'query' is required for a DELETE request.",
    ),
    (
        "handshake__items_crud.jsonl",
        r#"{"type":"items","collection":"messages","action":"upsert","data":{},"uid":"bad-action"}"#,
        "items INVALID_PAYLOAD: unknown action",
    ),
    (
        "handshake__items_crud.jsonl",
        r#"{"type":"items","action":"read","uid":"no-collection"}"#,
        "items INVALID_PAYLOAD: collection missing",
    ),
    (
        "handshake__auth_failed_malformed_auth.jsonl",
        r#"{"type":"auth","uid":"no-creds"}"#,
        "auth AUTH_FAILED: no credentials",
    ),
    (
        "handshake__auth_failed_malformed_auth.jsonl",
        r#"{"type":"auth","email":"not-an-email","password":"x"}"#,
        "auth AUTH_FAILED: the email is not an address",
    ),
];

struct Frame {
    file: String,
    line: usize,
    conn: String,
    outgoing: bool,
    text: String,
    value: Value,
}

fn transcript_files() -> Vec<PathBuf> {
    let dir = Roots::workspace().fixtures.join(TRANSCRIPTS);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("list transcripts").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split('?').next().unwrap_or(path)
}

/// Every JSON frame of a transcript, with each connection's endpoint path.
fn read_transcript(path: &Path) -> (Vec<Frame>, BTreeMap<String, String>) {
    let file = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let text = std::fs::read_to_string(path).expect("read transcript");
    let mut frames = Vec::new();
    let mut endpoints = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{file}:{}: {e}", index + 1));
        let field = |key: &str| record.get(key).and_then(Value::as_str).unwrap_or_default();
        let conn = field("conn").to_owned();
        if field("dir") == "evt" && field("evt") == "connect" {
            endpoints.insert(conn.clone(), url_path(field("url")).to_owned());
        }
        let outgoing = match field("dir") {
            "c2s" => true,
            "s2c" => false,
            _ => continue,
        };
        let (text, value) = if let Some(value) = record.get("json") {
            (field("text").to_owned(), value.clone())
        } else if let Some(decoded) = record
            .get("binary_b64")
            .and_then(Value::as_str)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
        {
            // The real server decodes binary frames as UTF-8 text; the undecodable one got a parse error.
            match serde_json::from_str(&decoded) {
                Ok(value) => (decoded, value),
                Err(_) => continue,
            }
        } else {
            continue;
        };
        frames.push(Frame {
            file: file.clone(),
            line: index + 1,
            conn,
            outgoing,
            text,
            value,
        });
    }
    (frames, endpoints)
}

fn classify_once(group: &Group, frame: &Frame) -> Result<String, String> {
    match group.classify(&frame.value) {
        Ok(kinds) if kinds.len() == 1 => Ok(kinds[0].to_owned()),
        Ok(kinds) => Err(format!("matches several kinds: {}", kinds.join(", "))),
        Err(violation) => Err(violation.to_string()),
    }
}

#[test]
fn every_recorded_frame_is_judged_as_the_real_server_judged_it() {
    let set = SchemaSet::load_profiles(&Roots::workspace().schemas, &[Profile::Directus])
        .unwrap_or_else(|e| panic!("{e}"));
    let schemas = set.profile(Profile::Directus);
    let mut failures = Vec::new();
    let mut kinds_seen: BTreeMap<(bool, String), usize> = BTreeMap::new();
    let mut other_endpoints = BTreeSet::new();
    let mut malformed_seen = BTreeSet::new();
    for path in transcript_files() {
        let (frames, endpoints) = read_transcript(&path);
        for frame in frames {
            let endpoint = endpoints
                .get(&frame.conn)
                .map_or("/websocket", String::as_str);
            if endpoint != "/websocket" {
                other_endpoints.insert((frame.file.clone(), frame.conn.clone()));
                continue;
            }
            let malformed = MALFORMED_CLIENT_FRAMES.iter().position(|(file, text, _)| {
                frame.outgoing && *file == frame.file && *text == frame.text
            });
            let group = if frame.outgoing {
                schemas.client()
            } else {
                schemas.server()
            };
            let at = format!("{}:{} {}", frame.file, frame.line, frame.text);
            match (malformed, classify_once(group, &frame)) {
                (None, Ok(kind)) => *kinds_seen.entry((frame.outgoing, kind)).or_default() += 1,
                (None, Err(reason)) => failures.push(format!("{at}\n    rejected: {reason}")),
                (Some(index), Ok(kind)) => failures.push(format!(
                    "{at}\n    malformed on purpose ({}) but accepted as {kind}",
                    MALFORMED_CLIENT_FRAMES[index].2
                )),
                (Some(index), Err(_)) => {
                    malformed_seen.insert(index);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} frame(s) misjudged:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let listed: BTreeSet<(String, String)> = OTHER_ENDPOINTS
        .iter()
        .map(|(file, conn, _)| ((*file).to_owned(), (*conn).to_owned()))
        .collect();
    assert_eq!(
        other_endpoints, listed,
        "connections to other endpoints must be listed exactly"
    );
    let stale: Vec<&str> = (0..MALFORMED_CLIENT_FRAMES.len())
        .filter(|i| !malformed_seen.contains(i))
        .map(|i| MALFORMED_CLIENT_FRAMES[i].1)
        .collect();
    assert!(
        stale.is_empty(),
        "listed malformed frames not found in the transcripts: {stale:?}"
    );

    // The recordings are fixed: a change in these counts means frames were skipped or misread.
    let judged = |outgoing: bool| -> usize {
        kinds_seen
            .iter()
            .filter(|((o, _), _)| *o == outgoing)
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(
        (judged(false), judged(true)),
        (171, 120),
        "server and client frames judged"
    );

    // The recordings exercise every server kind but the ones only a misbehaving client or server produces.
    let server_kinds: BTreeSet<&str> = kinds_seen
        .keys()
        .filter(|(outgoing, _)| !outgoing)
        .map(|(_, kind)| kind.as_str())
        .collect();
    let expected: BTreeSet<&str> = schemas.server().kinds.keys().map(String::as_str).collect();
    assert_eq!(
        server_kinds, expected,
        "server kinds seen in the recordings"
    );
}
