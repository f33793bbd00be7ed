//! Activities as the wire shows them, and the checks of what a client may report.

use serde_json::{Map, Value};

pub const SET_ACTIVITY: &str = "set-activity";
pub const GET_ACTIVITIES: &str = "get-activities";

/// What a user is doing. A client reports ONLINE, BUSY or PLAYING; OFFLINE is what the server
/// announces when a user's last socket goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Online,
    Busy,
    Playing,
    Offline,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Online => "ONLINE",
            State::Busy => "BUSY",
            State::Playing => "PLAYING",
            State::Offline => "OFFLINE",
        }
    }
}

/// A valid `set-activity` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub state: State,
    /// Only for PLAYING; a game id sent with another state is dropped.
    pub game_id: Option<u64>,
}

/// The activity object of the wire: `state`, `game_id` (PLAYING only), `user_id`, `socket_id`,
/// in the order GameVault sends them.
pub fn activity(state: State, game_id: Option<u64>, user_id: u64, socket_id: &str) -> Value {
    let mut object = Map::new();
    object.insert("state".into(), state.as_str().into());
    if let (State::Playing, Some(game_id)) = (state, game_id) {
        object.insert("game_id".into(), game_id.into());
    }
    object.insert("user_id".into(), user_id.into());
    object.insert("socket_id".into(), socket_id.into());
    Value::Object(object)
}

const EXPECTED: &str = "expected ONLINE, BUSY or PLAYING";

/// Checks the arguments of `set-activity`; the error is the message of the `exception` event.
pub fn parse_set_activity(args: &[Value]) -> Result<Report, String> {
    let argument = match args {
        [argument] => argument,
        [] => {
            return Err(format!(
                "{SET_ACTIVITY} needs one argument: {{\"state\": \"ONLINE\" | \"BUSY\" | \"PLAYING\", \"game_id\"?: positive integer}}."
            ))
        }
        more => {
            return Err(format!(
                "{SET_ACTIVITY} takes exactly one argument, got {}.",
                more.len()
            ))
        }
    };
    let Value::Object(fields) = argument else {
        return Err(format!(
            "{SET_ACTIVITY} expects an object with \"state\" and optionally \"game_id\", got {}.",
            kind_of(argument)
        ));
    };
    if let Some(unknown) = fields.keys().find(|k| *k != "state" && *k != "game_id") {
        return Err(format!(
            "Unknown key \"{unknown}\" in {SET_ACTIVITY}: only \"state\" and \"game_id\" are accepted (the server sets user_id and socket_id)."
        ));
    }
    let state = match fields.get("state") {
        None => return Err(format!("Missing \"state\": {EXPECTED}.")),
        Some(Value::String(s)) => match s.as_str() {
            "ONLINE" => State::Online,
            "BUSY" => State::Busy,
            "PLAYING" => State::Playing,
            "OFFLINE" => {
                return Err(format!(
                    "\"OFFLINE\" cannot be reported: a user is offline when none of their sockets is connected; {EXPECTED}."
                ))
            }
            other => return Err(format!("Unknown state \"{other}\": {EXPECTED}.")),
        },
        Some(other) => {
            return Err(format!(
                "\"state\" must be a string ({EXPECTED}), got {}.",
                kind_of(other)
            ))
        }
    };
    let game_id = match fields.get("game_id") {
        None => None,
        Some(value) => Some(
            positive_integer(value)
                .ok_or_else(|| format!("\"game_id\" must be a positive integer, got {}.", value))?,
        ),
    };
    match (state, game_id) {
        (State::Playing, None) => {
            Err("PLAYING needs the \"game_id\" of the game being played.".into())
        }
        (State::Playing, game_id) => Ok(Report { state, game_id }),
        (state, _) => Ok(Report {
            state,
            game_id: None,
        }),
    }
}

/// Checks the arguments of `get-activities`: there are none.
pub fn parse_get_activities(args: &[Value]) -> Result<(), String> {
    match args.len() {
        0 => Ok(()),
        n => Err(format!("{GET_ACTIVITIES} takes no argument, got {n}.")),
    }
}

/// JSON Schema's notion of an integer: `3` and `3.0` alike.
fn positive_integer(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return (n >= 1).then_some(n);
    }
    let f = value.as_f64()?;
    // Beyond 2^53 a float no longer names one integer.
    let exact = f.fract() == 0.0 && (1.0..=9_007_199_254_740_992.0).contains(&f);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    exact.then_some(f as u64)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(arg: Value) -> Result<Report, String> {
        parse_set_activity(&[arg])
    }

    #[test]
    fn accepts_the_three_client_states() {
        assert_eq!(
            report(json!({"state": "ONLINE"})),
            Ok(Report {
                state: State::Online,
                game_id: None
            })
        );
        assert_eq!(
            report(json!({"state": "PLAYING", "game_id": 3})),
            Ok(Report {
                state: State::Playing,
                game_id: Some(3)
            })
        );
        assert_eq!(
            report(json!({"state": "PLAYING", "game_id": 3.0})).map(|r| r.game_id),
            Ok(Some(3))
        );
    }

    #[test]
    fn drops_a_game_id_sent_with_another_state() {
        assert_eq!(
            report(json!({"state": "BUSY", "game_id": 7})),
            Ok(Report {
                state: State::Busy,
                game_id: None
            })
        );
    }

    #[test]
    fn refuses_with_a_message_that_names_the_problem() {
        let cases = [
            (json!({"state": "OFFLINE"}), "OFFLINE"),
            (json!({"state": "AWAY"}), "Unknown state \"AWAY\""),
            (json!({"state": 1}), "must be a string"),
            (json!({}), "Missing \"state\""),
            (
                json!({"state": "ONLINE", "user_id": 9}),
                "Unknown key \"user_id\"",
            ),
            (json!({"state": "PLAYING"}), "PLAYING needs"),
            (
                json!({"state": "PLAYING", "game_id": 0}),
                "positive integer",
            ),
            (
                json!({"state": "PLAYING", "game_id": "3"}),
                "positive integer",
            ),
            (
                json!({"state": "ONLINE", "game_id": null}),
                "positive integer",
            ),
            (json!("ONLINE"), "got a string"),
            (json!(null), "got null"),
        ];
        for (arg, expected) in cases {
            let message = report(arg.clone()).expect_err("refused");
            assert!(message.contains(expected), "{arg}: {message}");
        }
        assert!(parse_set_activity(&[])
            .expect_err("refused")
            .contains("needs one argument"));
        assert!(parse_set_activity(&[json!({"state": "ONLINE"}), json!(1)])
            .expect_err("refused")
            .contains("exactly one argument"));
        assert!(parse_get_activities(&[json!(1)]).is_err());
        assert!(parse_get_activities(&[]).is_ok());
    }

    #[test]
    fn renders_fields_in_wire_order() {
        assert_eq!(
            activity(State::Playing, Some(3), 3, "QGolYsEJs2ERenKdAAAO").to_string(),
            r#"{"state":"PLAYING","game_id":3,"user_id":3,"socket_id":"QGolYsEJs2ERenKdAAAO"}"#
        );
        assert_eq!(
            activity(State::Offline, Some(3), 2, "x").to_string(),
            r#"{"state":"OFFLINE","user_id":2,"socket_id":"x"}"#
        );
    }
}
