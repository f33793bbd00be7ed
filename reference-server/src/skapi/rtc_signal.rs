//! The content of an `rtc` frame: exactly one WebRTC signal, in the shapes the SDK sends.
//!
//! The server relays the content verbatim as `#rtc`, so it checks it first: a relayed frame is then
//! always a well-formed signal for the receiving SDK, which acts on it without further checks.

use serde_json::{Map, Value};

use super::inbound::is_user_id;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcSignalError {
    #[error(
        "expected an object with exactly one of sdpoffer, sdpanswer, candidate, pickup, hungup"
    )]
    NotOneSignal,
    #[error("unknown signal \"{0}\"")]
    UnknownSignal(String),
    #[error("{0} must be a session description {{\"type\":\"{1}\",\"sdp\":<string>}}")]
    BadSessionDescription(&'static str, &'static str),
    #[error("candidate must be an ICE candidate object with a \"candidate\" string")]
    BadCandidate,
    #[error("{0} must be the sender's user id")]
    BadUserId(&'static str),
}

/// Checks that `content` is one signal.
pub fn check(content: &Value) -> Result<(), RtcSignalError> {
    let Some(signal) = content.as_object() else {
        return Err(RtcSignalError::NotOneSignal);
    };
    let mut entries = signal.iter();
    let (Some((kind, value)), None) = (entries.next(), entries.next()) else {
        return Err(RtcSignalError::NotOneSignal);
    };
    match kind.as_str() {
        "sdpoffer" => session_description(value, "sdpoffer", "offer"),
        "sdpanswer" => session_description(value, "sdpanswer", "answer"),
        "candidate" => ice_candidate(value),
        "pickup" => user_id(value, "pickup"),
        "hungup" => user_id(value, "hungup"),
        other => Err(RtcSignalError::UnknownSignal(
            other.chars().take(64).collect(),
        )),
    }
}

fn session_description(
    value: &Value,
    kind: &'static str,
    sdp_type: &'static str,
) -> Result<(), RtcSignalError> {
    let bad = || RtcSignalError::BadSessionDescription(kind, sdp_type);
    let fields = value.as_object().ok_or_else(bad)?;
    let well_formed = fields.get("type").and_then(Value::as_str) == Some(sdp_type)
        && fields.get("sdp").is_some_and(Value::is_string)
        && only_keys(fields, &["type", "sdp"]);
    well_formed.then_some(()).ok_or_else(bad)
}

fn ice_candidate(value: &Value) -> Result<(), RtcSignalError> {
    let fields = value.as_object().ok_or(RtcSignalError::BadCandidate)?;
    let optional_string = |key: &str| fields.get(key).is_none_or(|v| v.is_string() || v.is_null());
    let line_index = fields
        .get("sdpMLineIndex")
        .is_none_or(|v| v.is_null() || v.as_u64().is_some_and(|i| i <= u64::from(u16::MAX)));
    let well_formed = fields.get("candidate").is_some_and(Value::is_string)
        && optional_string("sdpMid")
        && optional_string("usernameFragment")
        && line_index
        && only_keys(
            fields,
            &["candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"],
        );
    well_formed
        .then_some(())
        .ok_or(RtcSignalError::BadCandidate)
}

fn user_id(value: &Value, kind: &'static str) -> Result<(), RtcSignalError> {
    match value.as_str() {
        Some(id) if is_user_id(id) => Ok(()),
        _ => Err(RtcSignalError::BadUserId(kind)),
    }
}

fn only_keys(fields: &Map<String, Value>, allowed: &[&str]) -> bool {
    fields.keys().all(|k| allowed.contains(&k.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const UID: &str = "a11ce000-0000-4000-8000-00000000a11c";

    #[test]
    fn the_sdk_signals_pass() {
        for ok in [
            json!({"sdpoffer": {"type": "offer", "sdp": "v=0\r\n"}}),
            json!({"sdpanswer": {"type": "answer", "sdp": "v=0\r\n"}}),
            json!({"candidate": {"candidate": "candidate:1 1 udp 1 1.2.3.4 5 typ host", "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": null}}),
            json!({"candidate": {"candidate": ""}}),
            json!({"pickup": UID}),
            json!({"hungup": UID}),
        ] {
            assert_eq!(check(&ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            json!(null),
            json!("sdp"),
            json!({}),
            json!({"pickup": UID, "hungup": UID}),
            json!({"ring": UID}),
            json!({"sdpoffer": {"type": "answer", "sdp": ""}}),
            json!({"sdpoffer": {"type": "offer"}}),
            json!({"sdpoffer": {"type": "offer", "sdp": "", "extra": 1}}),
            json!({"candidate": {"sdpMid": "0"}}),
            json!({"candidate": {"candidate": "c", "sdpMLineIndex": 70000}}),
            json!({"candidate": {"candidate": "c", "sdpMLineIndex": -1}}),
            json!({"pickup": "alice"}),
        ] {
            assert!(check(&bad).is_err(), "{bad}");
        }
    }
}
