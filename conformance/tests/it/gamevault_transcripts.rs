//! The recordings of a real GameVault 16.2.0 server agree with the gamevault schemas.
//!
//! Every packet in `fixtures/gamevault/transcripts/real-16.2.0/*.log` is decoded the way the harness decodes the wire
//! (Engine.IO type digit, Socket.IO type digit, attachments, namespace, ack id, then JSON; see NOTES.md GV-PAYLOADS),
//! and its JSON must classify as the kind its packet type names: what the server sent against `server/`, what the
//! client sent against `client/`. The REST and handshake shapes of the recordings are checked against `http/` and
//! `handshake/`. The few recorded values we reject on purpose are listed below with the NOTES.md reading that
//! rejects them, and each of them must really be rejected: the list can neither hide a regression nor go stale.

use std::path::{Path, PathBuf};

use conformance::schema::{ProfileSchemas, SchemaSet};
use conformance::Profile;
use serde_json::Value;

const TRANSCRIPTS: &str = "../fixtures/gamevault/transcripts/real-16.2.0";

/// The Engine.IO record separator between packets of one long-polling body, as the recordings write it.
const POLLING_SEPARATOR: &str = "\\x1e";

/// A recorded value that the schemas reject on purpose.
struct Rejected {
    group: &'static str,
    json: &'static str,
    reading: &'static str,
}

const REJECTED: &[Rejected] = &[
    Rejected {
        group: "server",
        json: r#"["activity",{"state":"BUSY","user_id":1,"socket_id":"TJlIEm2yb2bluAXSAAAC","extra":"kept?"}]"#,
        reading: "GV-VALIDATION: the real server echoes a client's unknown keys in the activity",
    },
    Rejected {
        group: "server",
        json: r#"["activity",{"user_id":2,"socket_id":"Gfa_rIFgn3fSLd0LAAAE"}]"#,
        reading: "GV-VALIDATION: the real server broadcasts an activity without state",
    },
    Rejected {
        group: "client",
        json: r#"["set-activity",{"state":"BUSY","game_id":7,"user_id":999,"socket_id":"spoof","extra":"kept?"}]"#,
        reading: "GV-VALIDATION: user_id and socket_id are the server's; unknown keys are refused",
    },
    Rejected {
        group: "client",
        json: r#"["set-activity",{"state":"OFFLINE"}]"#,
        reading: "GV-OFFLINE: a client reports ONLINE, BUSY or PLAYING",
    },
    Rejected {
        group: "client",
        json: r#"["set-activity","ONLINE"]"#,
        reading: "GV-VALIDATION: the activity is an object",
    },
    Rejected {
        group: "client",
        json: r#"["set-activity"]"#,
        reading: "GV-VALIDATION: the activity argument is required",
    },
    Rejected {
        group: "client",
        json: r#"["set-activity",null]"#,
        reading: "GV-VALIDATION: the activity is an object",
    },
    Rejected {
        group: "client",
        json: r#"["set-activity",{"game_id":5}]"#,
        reading: "GV-VALIDATION: state is required",
    },
    Rejected {
        group: "client",
        json: r#"["unknown-event",{"x":1}]"#,
        reading: "GV-VALIDATION: not a GameVault event",
    },
    Rejected {
        group: "handshake",
        json: "{}",
        reading: "GV-HANDSHAKE-REFUSAL: a handshake without X-Api-Key is refused",
    },
];

/// Recorded packets that do not decode, on purpose: the test sent them to see the server close the connection.
const UNDECODABLE: &[(&str, &str)] = &[(
    "4abc",
    "GV-TRANSPORT-ERRORS: invalid Socket.IO packet type, the server closes",
)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sender {
    Server,
    Client,
}

impl Sender {
    fn group(self) -> &'static str {
        match self {
            Sender::Server => "server",
            Sender::Client => "client",
        }
    }
}

/// One JSON value of a recording and the schema it must match.
#[derive(Debug)]
struct Observed {
    group: &'static str,
    kind: String,
    value: Value,
}

/// What one transcript line holds.
#[derive(Debug)]
enum Line {
    /// Narrative, or a request or answer outside the profile.
    Other,
    /// Packets or shapes, each one decoded or the reason it does not decode (with the raw text).
    Items(Vec<Result<Option<Observed>, Undecoded>>),
}

#[derive(Debug)]
struct Undecoded {
    raw: String,
    reason: String,
}

fn undecoded(raw: &str, reason: impl Into<String>) -> Undecoded {
    Undecoded {
        raw: raw.to_owned(),
        reason: reason.into(),
    }
}

fn parse_json(raw: &str, text: &str) -> Result<Value, Undecoded> {
    serde_json::from_str(text).map_err(|e| undecoded(raw, format!("not JSON: {e}")))
}

/// Decodes one Engine.IO packet, `<type digit>[data]`; `Ok(None)` for a packet that carries no JSON.
fn engine_io_packet(sender: Sender, packet: &str) -> Result<Option<Observed>, Undecoded> {
    let mut chars = packet.chars();
    match chars.next() {
        Some('0') if sender == Sender::Server => Ok(Some(Observed {
            group: "server",
            kind: "open".to_owned(),
            value: parse_json(packet, chars.as_str())?,
        })),
        Some('1' | '2' | '3' | '5' | '6') => Ok(None),
        Some('4') => {
            socket_io_packet(sender, chars.as_str()).map_err(|e| undecoded(packet, e.reason))
        }
        _ => Err(undecoded(packet, "not an Engine.IO packet type")),
    }
}

/// Decodes one Socket.IO packet, `<type>[<#attachments>-][<nsp>,][<ack id>][JSON]`.
fn socket_io_packet(sender: Sender, packet: &str) -> Result<Option<Observed>, Undecoded> {
    let packet_type = packet
        .chars()
        .next()
        .filter(|c| ('0'..='6').contains(c))
        .ok_or_else(|| undecoded(packet, "not a Socket.IO packet type"))?;
    let mut rest = &packet[packet_type.len_utf8()..];
    if matches!(packet_type, '5' | '6') {
        let (_, after) = rest
            .split_once('-')
            .ok_or_else(|| undecoded(packet, "binary packet without attachment count"))?;
        rest = after;
    }
    if rest.starts_with('/') {
        let (_, after) = rest
            .split_once(',')
            .ok_or_else(|| undecoded(packet, "namespace without a closing comma"))?;
        rest = after;
    }
    rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    if rest.is_empty() {
        return Ok(None);
    }
    let value = parse_json(packet, rest)?;
    let kind = match (packet_type, sender) {
        ('0', _) => "connect".to_owned(),
        ('4', Sender::Server) => "connect-error".to_owned(),
        ('2', _) => value
            .get(0)
            .and_then(Value::as_str)
            .ok_or_else(|| undecoded(packet, "event without a name"))?
            .to_owned(),
        _ => return Err(undecoded(packet, "a packet type outside the profile")),
    };
    Ok(Some(Observed {
        group: sender.group(),
        kind,
        value,
    }))
}

/// `"…"` at the start of `text`: a JSON string literal, decoded.
fn quoted(text: &str) -> Result<String, Undecoded> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<String>();
    match values.next() {
        Some(Ok(s)) => Ok(s),
        _ => Err(undecoded(text, "expected a quoted packet")),
    }
}

/// `"name" [args…]` as socket.io-client logs a received event: the event payload is `[name, args…]`.
fn logged_event(text: &str) -> Result<Option<Observed>, Undecoded> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let name = match values.next() {
        Some(Ok(Value::String(name))) => name,
        _ => return Err(undecoded(text, "event without a quoted name")),
    };
    let args = match values.next() {
        Some(Ok(Value::Array(args))) => args,
        _ => return Err(undecoded(text, "event without an argument list")),
    };
    let mut payload = vec![Value::String(name.clone())];
    payload.extend(args);
    Ok(Some(Observed {
        group: "server",
        kind: name,
        value: Value::Array(payload),
    }))
}

fn lower_case_names(headers: Value) -> Value {
    match headers {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value))
                .collect(),
        ),
        other => other,
    }
}

fn shape(raw: &str, group: &'static str, kind: &str, json: &str) -> Line {
    Line::Items(vec![parse_json(raw, json).map(|value| {
        Some(Observed {
            group,
            kind: kind.to_owned(),
            value,
        })
    })])
}

/// Reads one line of any of the recordings' formats.
fn read_line(line: &str) -> Line {
    // socket.io-client's engine log: the Socket.IO packet inside an Engine.IO message, as a quoted string.
    for (marker, sender) in [
        (" EIO<= message ", Sender::Server),
        (" EIO=> message ", Sender::Client),
    ] {
        if let Some((_, packet)) = line.split_once(marker) {
            return Line::Items(vec![
                quoted(packet).and_then(|packet| socket_io_packet(sender, &packet))
            ]);
        }
    }
    if line.contains(" EIO<= ") || line.contains(" EIO=> ") {
        return Line::Items(vec![Ok(None)]);
    }
    if let Some((_, event)) = line.split_once(" <= event ") {
        return Line::Items(vec![logged_event(event)]);
    }
    // Raw frames over WebSocket: one Engine.IO packet per line.
    for (marker, sender) in [(" <= ", Sender::Server), (" => ", Sender::Client)] {
        if let Some((_, packet)) = line.split_once(marker) {
            return Line::Items(vec![engine_io_packet(sender, packet.trim_end())]);
        }
    }
    if let Some(packet) = line.strip_prefix("websocket open packet -> ") {
        return Line::Items(vec![engine_io_packet(Sender::Server, packet)]);
    }
    // Long-polling bodies: several Engine.IO packets separated by the record separator.
    if let Some(body) = line.strip_prefix("< ") {
        if body == "ok" {
            return Line::Other;
        }
        return polling_body(Sender::Server, body);
    }
    if let Some((_, body)) = line
        .split_once("> POST ")
        .and_then(|(_, r)| r.split_once("body: "))
    {
        let body = body.split("   (").next().unwrap_or(body).trim_end();
        return polling_body(Sender::Client, body);
    }
    // Engine.IO HTTP errors and REST answers.
    if line.starts_with("{\"code\":") {
        return shape(line, "http", "transport-error", line);
    }
    if let Some((_, body)) = line.split_once("polling GET -> 400 ") {
        return shape(line, "http", "transport-error", body);
    }
    if line.contains("GET /api/users/me") {
        if let Some((_, body)) = line.split_once(" -> 200 ") {
            return shape(line, "http", "users-me-v15", body);
        }
    }
    if let Some((_, headers)) = line
        .split_once(" GET /socket.io/")
        .and_then(|(_, r)| r.split_once(" headers="))
    {
        return Line::Items(vec![parse_json(line, headers).map(|value| {
            Some(Observed {
                group: "handshake",
                kind: "headers-v15".to_owned(),
                value: lower_case_names(value),
            })
        })]);
    }
    Line::Other
}

fn polling_body(sender: Sender, body: &str) -> Line {
    Line::Items(
        body.split(POLLING_SEPARATOR)
            .map(|packet| engine_io_packet(sender, packet))
            .collect(),
    )
}

fn transcript_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(TRANSCRIPTS);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}

fn rejected_entry(observed: &Observed) -> Option<usize> {
    REJECTED.iter().position(|r| {
        r.group == observed.group
            && serde_json::from_str::<Value>(r.json).is_ok_and(|v| v == observed.value)
    })
}

/// Whether the schemas accept `observed` as its kind (classified as exactly that kind in a direction).
fn judge(schemas: &ProfileSchemas, observed: &Observed) -> Result<(), String> {
    let group = schemas
        .group(observed.group)
        .ok_or_else(|| format!("no schema group `{}`", observed.group))?;
    if group.envelope.is_none() {
        return group
            .check_kind(&observed.kind, &observed.value)
            .map_err(|v| v.to_string());
    }
    match group.classify(&observed.value) {
        Ok(kinds) if kinds == [observed.kind.as_str()] => Ok(()),
        Ok(kinds) => Err(format!(
            "classified as {kinds:?}, the packet says `{}`",
            observed.kind
        )),
        Err(v) => Err(v.to_string()),
    }
}

#[test]
fn every_recorded_payload_matches_the_gamevault_schemas() {
    let root = SchemaSet::default_root();
    let set =
        SchemaSet::load_profiles(&root, &[Profile::Gamevault]).unwrap_or_else(|e| panic!("{e}"));
    let schemas = set.profile(Profile::Gamevault);

    let mut failures = Vec::new();
    let mut rejected_seen = vec![false; REJECTED.len()];
    let mut undecodable_seen = vec![false; UNDECODABLE.len()];
    let files = transcript_files();
    assert!(!files.is_empty(), "no transcripts under {TRANSCRIPTS}");

    for path in &files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut accepted = 0usize;
        for (index, line) in text.lines().enumerate() {
            let Line::Items(items) = read_line(line) else {
                continue;
            };
            let at = format!("{name}:{}", index + 1);
            for item in items {
                let observed = match item {
                    Ok(Some(observed)) => observed,
                    Ok(None) => continue,
                    Err(e) => match UNDECODABLE.iter().position(|(raw, _)| *raw == e.raw) {
                        Some(i) => {
                            undecodable_seen[i] = true;
                            continue;
                        }
                        None => {
                            failures.push(format!("{at}: `{}`: {}", e.raw, e.reason));
                            continue;
                        }
                    },
                };
                let verdict = judge(schemas, &observed);
                match (rejected_entry(&observed), verdict) {
                    (None, Ok(())) => accepted += 1,
                    (None, Err(why)) => failures.push(format!(
                        "{at}: {}/{} {}: {why}",
                        observed.group, observed.kind, observed.value
                    )),
                    (Some(i), Err(_)) => rejected_seen[i] = true,
                    (Some(i), Ok(())) => failures.push(format!(
                        "{at}: {} is listed as rejected ({}) but the schemas accept it",
                        observed.value, REJECTED[i].reading
                    )),
                }
            }
        }
        if accepted == 0 {
            failures.push(format!("{name}: no payload recognised in this recording"));
        }
    }
    for (entry, seen) in REJECTED.iter().zip(&rejected_seen) {
        if !seen {
            failures.push(format!(
                "listed as rejected but never recorded: {} {} ({})",
                entry.group, entry.json, entry.reading
            ));
        }
    }
    for ((raw, reading), seen) in UNDECODABLE.iter().zip(&undecodable_seen) {
        if !seen {
            failures.push(format!(
                "listed as undecodable but never recorded: {raw} ({reading})"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_decoder_reads_every_packet_form_of_the_recordings() {
    let event =
        read_line(r#"[+ 1485ms] carol => 427["set-activity",{"state":"PLAYING","game_id":3}]"#);
    let Line::Items(items) = event else {
        panic!("a raw client frame is a packet line")
    };
    let Some(Ok(Some(observed))) = items.into_iter().next() else {
        panic!("an event with an ack id decodes")
    };
    assert_eq!(
        (observed.group, observed.kind.as_str()),
        ("client", "set-activity")
    );

    let refusal = read_line(r#"[+ 2593ms] anon <= 44/admin,{"message":"Invalid namespace"}"#);
    let Line::Items(items) = refusal else {
        panic!("a raw server frame is a packet line")
    };
    let Some(Ok(Some(observed))) = items.into_iter().next() else {
        panic!("a CONNECT_ERROR with a namespace decodes")
    };
    assert_eq!(
        (observed.group, observed.kind.as_str()),
        ("server", "connect-error")
    );
    assert_eq!(observed.value["message"], "Invalid namespace");

    let body = read_line(r#"< 40{"sid":"KvuKCy1F3z3YTIHAAAAf"}\x1e42["activities",[]]"#);
    let Line::Items(items) = body else {
        panic!("a polling body is a packet line")
    };
    let kinds: Vec<String> = items
        .into_iter()
        .filter_map(|item| item.ok().flatten().map(|o| o.kind))
        .collect();
    assert_eq!(kinds, ["connect", "activities"]);

    for silent in [
        "[+25574ms] carol <= 2",
        "[+ 2893ms] dave => 41",
        "[+ 2592ms] anon => 40/admin,",
    ] {
        let Line::Items(items) = read_line(silent) else {
            panic!("{silent} is a packet line")
        };
        assert!(
            items.iter().all(|item| matches!(item, Ok(None))),
            "{silent} carries no payload"
        );
    }
}
