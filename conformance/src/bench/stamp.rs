//! The stamp each change carries in its payload, so a subscriber can tell which change a push delivers.
//!
//! Latency is computed by the receiver: the run notes when it caused change `n` ([`crate::bench::tally::SentClock`])
//! and the shard that reads the push subtracts that from the push's arrival time. Both live in this process, so
//! no clock is compared across machines.

/// What a push carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stamp {
    /// Measured change `n`, counted from 0.
    Change(u32),
    /// Warm-up marker `k`: caused until every subscriber has seen one, never measured.
    WarmUp(u32),
}

/// A fresh run id: eight hex digits, so tokens and resource names of different runs never collide.
pub fn run_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// gamevault `game_id`s from this value up are warm-up markers; below it, `game_id - 1` is the change number.
pub const WARM_UP_GAME_ID: u64 = 1 << 30;

/// How a subject's pushes carry stamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StampCodec {
    /// A text token `bench:<run>:c:<n>` (change) or `bench:<run>:w:<k>` (warm-up) inside any string of the push:
    /// a kvStore value, an item's text, a broadcast's content. The run id keeps stale values of earlier runs out.
    Token { prefix: String },
    /// The `game_id` of a gamevault `activity` event (an integer is all an activity can carry): `n + 1` for
    /// change `n`, [`WARM_UP_GAME_ID`]` + k` for marker `k`.
    GameId,
}

impl StampCodec {
    /// The token codec of run `run` (letters and digits only).
    pub fn token(run: &str) -> StampCodec {
        StampCodec::Token {
            prefix: format!("bench:{run}:"),
        }
    }

    /// The token text of `stamp`; with the game-id codec, the game id as text.
    pub fn text(&self, stamp: Stamp) -> String {
        match self {
            StampCodec::Token { prefix } => match stamp {
                Stamp::Change(n) => format!("{prefix}c:{n}"),
                Stamp::WarmUp(k) => format!("{prefix}w:{k}"),
            },
            StampCodec::GameId => Self::game_id(stamp).to_string(),
        }
    }

    /// The gamevault `game_id` of `stamp`.
    pub fn game_id(stamp: Stamp) -> u64 {
        match stamp {
            Stamp::Change(n) => u64::from(n) + 1,
            Stamp::WarmUp(k) => WARM_UP_GAME_ID + u64::from(k),
        }
    }

    /// The stamp a pushed text frame carries, if any. Cheap: a substring search, no JSON parse, because it runs
    /// for every frame of every subscriber.
    pub fn decode(&self, text: &str) -> Option<Stamp> {
        match self {
            StampCodec::Token { prefix } => {
                let at = text.find(prefix.as_str())?;
                let rest = text.get(at + prefix.len()..)?;
                let (kind, rest) = (rest.as_bytes().first()?, rest.get(1..)?);
                let n = leading_number(rest.strip_prefix(':')?)?;
                let n = u32::try_from(n).ok()?;
                match kind {
                    b'c' => Some(Stamp::Change(n)),
                    b'w' => Some(Stamp::WarmUp(n)),
                    _ => None,
                }
            }
            StampCodec::GameId => {
                let event = text.strip_prefix("42")?.trim_start();
                let args = event.strip_prefix('[')?.trim_start();
                if !args.starts_with("\"activity\"") {
                    return None;
                }
                let at = args.find("\"game_id\"")?;
                let value = args.get(at + "\"game_id\"".len()..)?.trim_start();
                let id = leading_number(value.strip_prefix(':')?.trim_start())?;
                if id >= WARM_UP_GAME_ID {
                    u32::try_from(id - WARM_UP_GAME_ID).ok().map(Stamp::WarmUp)
                } else {
                    u32::try_from(id.checked_sub(1)?).ok().map(Stamp::Change)
                }
            }
        }
    }
}

/// The decimal number `text` starts with.
fn leading_number(text: &str) -> Option<u64> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    text.get(..digits)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_inside_any_json_string() {
        let codec = StampCodec::token("ab12");
        let change = codec.text(Stamp::Change(41));
        assert_eq!(change, "bench:ab12:c:41");
        let m2 = format!(
            r#"{{"userId":"u","resource":{{"type":"kvStore","id":"World:kvstoreClient:k"}},"data":"{change}","version":"2024-01-30T15:50:35.742Z"}}"#
        );
        assert_eq!(codec.decode(&m2), Some(Stamp::Change(41)));
        let directus = format!(
            r#"{{"type":"subscription","event":"create","data":[{{"id":7,"text":"{}","user":null}}],"uid":"s"}}"#,
            codec.text(Stamp::WarmUp(3))
        );
        assert_eq!(codec.decode(&directus), Some(Stamp::WarmUp(3)));
    }

    #[test]
    fn tokens_of_other_runs_and_broken_tokens_are_not_stamps() {
        let codec = StampCodec::token("ab12");
        assert_eq!(codec.decode(r#"{"data":"bench:ffff:c:1"}"#), None);
        assert_eq!(codec.decode(r#"{"data":"bench:ab12:x:1"}"#), None);
        assert_eq!(codec.decode(r#"{"data":"bench:ab12:c:"}"#), None);
        assert_eq!(codec.decode(r#"{"data":"bench:ab12:c:99999999999"}"#), None);
        assert_eq!(codec.decode("bench:ab12:c"), None);
        assert_eq!(codec.decode(""), None);
    }

    #[test]
    fn game_ids_decode_from_activity_events_only() {
        let codec = StampCodec::GameId;
        let id = StampCodec::game_id(Stamp::Change(2));
        let activity = format!(
            r#"42["activity",{{"state":"PLAYING","game_id":{id},"user_id":3,"socket_id":"QGol"}}]"#
        );
        assert_eq!(codec.decode(&activity), Some(Stamp::Change(2)));
        let warm = StampCodec::game_id(Stamp::WarmUp(5));
        assert_eq!(
            codec.decode(&format!(
                r#"42["activity",{{"state":"PLAYING","game_id": {warm}}}]"#
            )),
            Some(Stamp::WarmUp(5))
        );
        assert_eq!(
            codec.decode(r#"42["activities",[{"state":"PLAYING","game_id":3}]]"#),
            None
        );
        assert_eq!(codec.decode(r#"42["activity",{"state":"ONLINE"}]"#), None);
        assert_eq!(codec.decode(r#"42["activity",{"game_id":0}]"#), None);
        assert_eq!(codec.decode("2"), None);
    }
}
