//! Strategies for leaf values: strings from a pattern or a format, numbers in a range, and any JSON value.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::strategy::{SBoxedStrategy, Union};
use serde_json::{Map, Number, Value};

/// How many characters a string without `maxLength` gets at most, beyond its `minLength`.
const FREE_LENGTH: usize = 12;

/// Strings matching an ECMA-262 `pattern` the way JSON Schema applies it (a search): the pattern's own anchors
/// are dropped, since the generator produces whole matches anyway. `None` when proptest cannot generate from the
/// pattern (the caller then filters generic strings).
pub fn pattern_strings(pattern: &str) -> Option<SBoxedStrategy<String>> {
    let mut body = pattern;
    if let Some(rest) = body.strip_prefix('^') {
        body = rest;
    }
    if body.ends_with('$') && !body.ends_with("\\$") {
        body = &body[..body.len() - 1];
    }
    proptest::string::string_regex(body)
        .ok()
        .map(Strategy::sboxed)
}

/// Strings of `min..=max` characters: mostly readable ASCII (with the characters protocols trip over, such as
/// `%`, `"`, `\` and `:`), sometimes any printable Unicode.
pub fn free_strings(min: usize, max: Option<usize>) -> SBoxedStrategy<String> {
    let max = max.unwrap_or(min + FREE_LENGTH).max(min);
    let ascii = format!("[a-zA-Z0-9 _.:%\"\\\\/#-]{{{min},{max}}}");
    let unicode = format!("\\PC{{{min},{max}}}");
    let ascii = proptest::string::string_regex(&ascii).map(Strategy::sboxed);
    let unicode = proptest::string::string_regex(&unicode).map(Strategy::sboxed);
    match (ascii, unicode) {
        (Ok(a), Ok(u)) => prop_oneof![4 => a, 1 => u].sboxed(),
        (Ok(a), Err(_)) => a,
        (Err(_), Ok(u)) => u,
        (Err(_), Err(_)) => Just("x".repeat(min)).sboxed(),
    }
}

/// Strings in a known `format`, or `None` for a format this generator does not know.
pub fn format_strings(format: &str) -> Option<SBoxedStrategy<String>> {
    let digits =
        |lo: u32, hi: u32, width: usize| (lo..=hi).prop_map(move |n| format!("{n:0width$}"));
    let date = (digits(1970, 2099, 4), digits(1, 12, 2), digits(1, 28, 2))
        .prop_map(|(y, m, d)| format!("{y}-{m}-{d}"));
    let time = (digits(0, 23, 2), digits(0, 59, 2), digits(0, 59, 2))
        .prop_map(|(h, m, s)| format!("{h}:{m}:{s}"));
    let fraction = prop_oneof![
        6 => digits(0, 999, 3).prop_map(|ms| format!(".{ms}")),
        1 => Just(String::new()),
        1 => digits(0, 999_999, 6).prop_map(|us| format!(".{us}")),
    ];
    let offset = prop_oneof![
        6 => Just("Z".to_owned()),
        1 => (prop_oneof![Just('+'), Just('-')], digits(0, 14, 2), digits(0, 59, 2))
            .prop_map(|(sign, h, m)| format!("{sign}{h}:{m}")),
    ];
    Some(match format {
        "date-time" => (date, time, fraction, offset)
            .prop_map(|(d, t, f, o)| format!("{d}T{t}{f}{o}"))
            .sboxed(),
        "date" => date.sboxed(),
        "time" => (time, fraction, offset)
            .prop_map(|(t, f, o)| format!("{t}{f}{o}"))
            .sboxed(),
        "email" | "idn-email" => (
            "[a-z][a-z0-9._]{0,8}[a-z0-9]",
            "[a-z]{1,10}",
            "(com|org|net|io)",
        )
            .prop_map(|(local, domain, tld)| format!("{local}@{domain}.{tld}"))
            .sboxed(),
        "uuid" => "[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
            .prop_map(|s: String| s)
            .sboxed(),
        "uri" | "iri" => ("(https|http|wss|urn)", "[a-z]{1,10}", "[a-z0-9/]{0,10}")
            .prop_map(|(scheme, host, path)| {
                if scheme == "urn" {
                    format!("urn:{host}:{path}")
                } else {
                    format!("{scheme}://{host}.example/{path}")
                }
            })
            .sboxed(),
        "uri-reference" | "iri-reference" => {
            "(/[a-z0-9]{1,6}){0,3}".prop_map(|s: String| s).sboxed()
        }
        "hostname" | "idn-hostname" => "[a-z]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z]{2,6}){0,2}"
            .prop_map(|s: String| s)
            .sboxed(),
        "ipv4" => (0u8..=255, 0u8..=255, 0u8..=255, 0u8..=255)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}"))
            .sboxed(),
        "ipv6" => proptest::collection::vec(0u16..=0xffff, 8)
            .prop_map(|groups| {
                groups
                    .iter()
                    .map(|g| format!("{g:x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .sboxed(),
        _ => return None,
    })
}

/// Integers in `lo..=hi`, as JSON numbers.
pub fn integers(lo: i64, hi: i64) -> SBoxedStrategy<Value> {
    (lo..=hi.max(lo)).prop_map(Value::from).sboxed()
}

/// Numbers (integral or not) in `[lo, hi]`, as JSON numbers.
pub fn numbers(lo: f64, hi: f64) -> SBoxedStrategy<Value> {
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let whole_lo = lo.ceil() as i64;
    let whole_hi = hi.floor() as i64;
    let fractional = (lo..hi).prop_filter_map("a finite number", |f| {
        (f != 0.0 || f.is_sign_positive())
            .then(|| Number::from_f64(f).map(Value::Number))
            .flatten()
    });
    if whole_lo <= whole_hi {
        prop_oneof![integers(whole_lo, whole_hi), fractional].sboxed()
    } else {
        fractional.sboxed()
    }
}

/// Any JSON value, nested at most two levels: what an unconstrained schema (`true`, `{}`) admits.
pub fn any_json() -> SBoxedStrategy<Value> {
    static ANY: OnceLock<SBoxedStrategy<Value>> = OnceLock::new();
    ANY.get_or_init(|| {
        let mut strategy = json_leaf();
        for _ in 0..2 {
            let inner = strategy.clone();
            strategy = prop_oneof![
                3 => json_leaf(),
                1 => proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                1 => proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
            ]
            .sboxed();
        }
        strategy
    })
    .clone()
}

/// Any JSON object (values from [`any_json`]).
pub fn any_object() -> SBoxedStrategy<Value> {
    proptest::collection::btree_map("[a-z]{1,6}", any_json(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
        .sboxed()
}

fn json_leaf() -> SBoxedStrategy<Value> {
    Union::new_weighted(vec![
        (1, Just(Value::Null).sboxed()),
        (1, any::<bool>().prop_map(Value::Bool).sboxed()),
        (2, integers(-1000, 1000)),
        (1, numbers(-100.0, 100.0)),
        (
            3,
            free_strings(0, Some(10)).prop_map(Value::String).sboxed(),
        ),
    ])
    .sboxed()
}

#[cfg(test)]
mod tests {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    use super::*;

    #[test]
    fn anchored_patterns_generate_whole_matches() {
        let strategy = pattern_strings("^(World|Project):kv:.+$").expect("a supported pattern");
        let mut runner = TestRunner::deterministic();
        for _ in 0..20 {
            let value = strategy.new_tree(&mut runner).unwrap().current();
            assert!(
                value.starts_with("World:kv:") || value.starts_with("Project:kv:"),
                "{value}"
            );
        }
    }

    #[test]
    fn every_known_format_generates() {
        for format in [
            "date-time",
            "date",
            "time",
            "email",
            "uuid",
            "uri",
            "hostname",
            "ipv4",
            "ipv6",
        ] {
            assert!(format_strings(format).is_some(), "{format}");
        }
        assert!(format_strings("no-such-format").is_none());
    }
}
