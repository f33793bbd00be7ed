//! A seeded stream of malformed frames built from a profile's documented messages, each with the
//! answer the profile documents for it.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

use super::support::LIMIT;

/// The answers a frame may get. Whatever it gets, a close is never 1011 and never missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    /// Exactly one documented error answer, the connection staying open.
    pub error: bool,
    /// Any number of well-formed answers (errors included), the connection staying open.
    pub answers: bool,
    /// A close frame with one of these codes.
    pub close: &'static [u16],
}

impl Expect {
    pub const ERROR: Expect = Expect {
        error: true,
        answers: false,
        close: &[],
    };
    /// A frame the profile may accept or refuse: only the shape of the answers is checked.
    pub const ANSWERED: Expect = Expect {
        error: true,
        answers: true,
        close: &[],
    };

    pub const fn close(codes: &'static [u16]) -> Expect {
        Expect {
            error: false,
            answers: false,
            close: codes,
        }
    }

    pub const fn or_close(self, codes: &'static [u16]) -> Expect {
        Expect {
            close: codes,
            ..self
        }
    }

    /// Only a close can answer it: no barrier is sent behind it.
    pub fn closes_only(&self) -> bool {
        !self.error && !self.answers
    }
}

/// Invalid UTF-8 in a text frame.
pub const INVALID_UTF8: Expect = Expect::close(&[1007]);
/// A message over the limit.
pub const TOO_BIG: Expect = Expect::close(&[1009]);

/// What a path of a documented message accepts.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub pointer: &'static str,
    /// The answer to a value of another JSON type.
    pub wrong_type: Expect,
    /// The answer to another value of the same type (odd text, huge numbers).
    pub other_value: Expect,
}

/// A documented client message and the answers to its mutations.
#[derive(Debug, Clone)]
pub struct Template {
    pub json: Value,
    /// For paths without a rule of their own (the root included).
    pub default: Rule,
    pub rules: Vec<Rule>,
}

impl Template {
    pub fn new(json: Value, wrong_type: Expect, other_value: Expect) -> Template {
        Template {
            json,
            default: Rule {
                pointer: "",
                wrong_type,
                other_value,
            },
            rules: Vec::new(),
        }
    }

    pub fn rule(mut self, pointer: &'static str, wrong_type: Expect, other_value: Expect) -> Self {
        self.rules.push(Rule {
            pointer,
            wrong_type,
            other_value,
        });
        self
    }

    fn rule_for(&self, pointer: &str) -> Rule {
        self.rules
            .iter()
            .find(|r| r.pointer == pointer)
            .copied()
            .unwrap_or(self.default)
    }
}

/// How a profile frames a message and answers what is not one.
pub struct Framing {
    /// The frame text of a JSON message (Socket.IO puts `42` before it).
    pub prefix: &'static str,
    /// A frame of the message's framing whose JSON does not parse.
    pub unparsable: Expect,
    /// Random text.
    pub random_text: Expect,
    /// A binary frame.
    pub binary: Expect,
}

/// One frame of the stream.
pub struct Garbage {
    /// What it is, for failure messages.
    pub what: String,
    pub message: Message,
    pub expect: Expect,
}

/// `count` frames drawn with `seed`, from `templates` framed as `framing` says: first a value of
/// another type in every field of every template and odd text in each of their texts, then
/// random draws of every kind.
pub fn stream(seed: u64, count: usize, templates: &[Template], framing: &Framing) -> Vec<Garbage> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut frames = Vec::with_capacity(count);
    for template in templates {
        for pointer in pointers(&template.json) {
            frames.push(wrong_type_at(&mut rng, template, &pointer, framing));
            if template
                .json
                .pointer(&pointer)
                .is_some_and(Value::is_string)
            {
                frames.push(odd_text_at(&mut rng, template, &pointer, framing));
            }
        }
    }
    assert!(
        frames.len() <= count,
        "{} frames cover every field",
        frames.len()
    );
    while frames.len() < count {
        frames.push(draw(&mut rng, templates, framing));
    }
    for (i, garbage) in frames.iter_mut().enumerate() {
        garbage.what = format!("frame {i} (seed {seed}): {}", garbage.what);
    }
    frames
}

fn draw(rng: &mut StdRng, templates: &[Template], framing: &Framing) -> Garbage {
    let template = &templates[rng.random_range(0..templates.len())];
    let framed = |json: &str| format!("{}{json}", framing.prefix);
    match rng.random_range(0..100u32) {
        0..8 => random_bytes_as_text(rng, framing),
        8..16 => {
            let text = random_text(rng);
            text_garbage(format!("random text {text:?}"), text, framing.random_text)
        }
        16..22 => {
            let bytes = random_bytes(rng, 64);
            Garbage {
                what: format!("random binary {bytes:?}"),
                message: Message::binary(bytes),
                expect: framing.binary,
            }
        }
        22..32 => {
            let whole = framed(&template.json.to_string());
            let cut = char_boundary_below(&whole, rng.random_range(0..whole.len()));
            let text = whole[..cut].to_owned();
            text_garbage(format!("truncated {text:?}"), text, framing.unparsable)
        }
        32..37 => deep_nesting(rng, template, framing),
        37..50 => huge_number(rng, template, framing),
        50..75 => wrong_type(rng, template, framing),
        75..90 => odd_text(rng, template, framing),
        90..98 => lone_surrogate(rng, template, framing),
        _ => oversized(template, framing),
    }
}

fn text_garbage(what: String, text: String, expect: Expect) -> Garbage {
    Garbage {
        what,
        message: Message::text(text),
        expect,
    }
}

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let len = rng.random_range(1..=max);
    (0..len).map(|_| rng.random()).collect()
}

/// Random bytes in a text frame: invalid UTF-8 closes with 1007, valid UTF-8 is random text.
fn random_bytes_as_text(rng: &mut StdRng, framing: &Framing) -> Garbage {
    let bytes = random_bytes(rng, 64);
    let expect = match std::str::from_utf8(&bytes) {
        Ok(_) => framing.random_text,
        Err(_) => INVALID_UTF8,
    };
    Garbage {
        what: format!("random bytes as text {bytes:?}"),
        message: Message::Frame(Frame::message(bytes, OpCode::Data(Data::Text), true)),
        expect,
    }
}

/// Characters that matter to the parsers, control characters, and characters of every UTF-8 length.
const ALPHABET: &[char] = &[
    '{',
    '}',
    '[',
    ']',
    '"',
    ':',
    ',',
    '\\',
    ' ',
    '0',
    '1',
    '2',
    '3',
    '4',
    '5',
    '6',
    'a',
    'e',
    'x',
    '-',
    '.',
    '/',
    '#',
    '%',
    '\0',
    '\n',
    '\r',
    '\t',
    '\u{1b}',
    '\u{7f}',
    'é',
    'ß',
    '€',
    '\u{2028}',
    '\u{feff}',
    '\u{fffd}',
    '🦀',
    '\u{10ffff}',
    '\u{202e}',
    '\u{301}',
];

fn random_text(rng: &mut StdRng) -> String {
    let len = rng.random_range(1..=48);
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect()
}

fn char_boundary_below(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Every JSON pointer of `value`, the root (`""`) first.
fn pointers(value: &Value) -> Vec<String> {
    fn walk(value: &Value, here: String, out: &mut Vec<String>) {
        out.push(here.clone());
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    walk(child, format!("{here}/{key}"), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, format!("{here}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

fn type_of(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// The template with the value at `pointer` replaced; the root replaced when `pointer` is `""`.
fn replaced(template: &Template, pointer: &str, value: Value) -> Value {
    let mut json = template.json.clone();
    match json.pointer_mut(pointer) {
        Some(slot) => *slot = value,
        None => panic!("no {pointer} in {}", template.json),
    }
    json
}

/// The template with a raw piece of JSON text at `pointer` (for what a `Value` cannot hold).
fn spliced(template: &Template, pointer: &str, raw: &str) -> String {
    const MARK: &str = "\u{1}splice\u{1}";
    let json = replaced(template, pointer, Value::String(MARK.into())).to_string();
    let quoted = Value::String(MARK.into()).to_string();
    json.replacen(&quoted, raw, 1)
}

fn pick<'a>(rng: &mut StdRng, items: &'a [String]) -> &'a String {
    &items[rng.random_range(0..items.len())]
}

fn wrong_type(rng: &mut StdRng, template: &Template, framing: &Framing) -> Garbage {
    let paths = pointers(&template.json);
    let pointer = pick(rng, &paths).clone();
    wrong_type_at(rng, template, &pointer, framing)
}

fn wrong_type_at(
    rng: &mut StdRng,
    template: &Template,
    pointer: &str,
    framing: &Framing,
) -> Garbage {
    let original = template
        .json
        .pointer(pointer)
        .cloned()
        .unwrap_or(Value::Null);
    let candidates: Vec<Value> = [
        Value::Null,
        Value::Bool(true),
        Value::from(0),
        Value::from(-1),
        Value::from(3.5),
        Value::String(String::new()),
        Value::String("text".into()),
        Value::Array(Vec::new()),
        serde_json::json!([[1, "two"], {"three": null}]),
        Value::Object(serde_json::Map::new()),
        serde_json::json!({"nested": {"deeper": [true]}}),
    ]
    .into_iter()
    .filter(|v| type_of(v) != type_of(&original))
    .collect();
    let value = candidates[rng.random_range(0..candidates.len())].clone();
    let json = replaced(template, pointer, value.clone());
    Garbage {
        what: format!("{value} at {pointer:?} of {}", template.json),
        message: Message::text(format!("{}{json}", framing.prefix)),
        expect: template.rule_for(pointer).wrong_type,
    }
}

/// Text that is valid UTF-8 yet unusual: controls, byte-order marks, direction overrides,
/// combining marks, the largest code point, line separators, long multibyte runs.
const ODD_TEXTS: &[&str] = &[
    "\0",
    "a\0b",
    "\u{feff}",
    "\u{202e}lortnoc",
    "e\u{301}\u{301}\u{301}",
    "🦀🦀🦀",
    "\u{10ffff}",
    "\u{2028}\u{2029}",
    "\u{fffd}",
    "\u{7f}\u{1b}[0m",
    "Ω≈ç√∫",
    " ",
    "%00%2F../..",
    "#hash#",
    "x:y:z",
];

fn odd_text(rng: &mut StdRng, template: &Template, framing: &Framing) -> Garbage {
    let strings: Vec<String> = pointers(&template.json)
        .into_iter()
        .filter(|p| template.json.pointer(p).is_some_and(Value::is_string))
        .collect();
    let pointer = pick(rng, &strings).clone();
    odd_text_at(rng, template, &pointer, framing)
}

fn odd_text_at(rng: &mut StdRng, template: &Template, pointer: &str, framing: &Framing) -> Garbage {
    let text = if rng.random_range(0..8) == 0 {
        "🦀".repeat(500)
    } else {
        ODD_TEXTS[rng.random_range(0..ODD_TEXTS.len())].to_owned()
    };
    let json = replaced(template, pointer, Value::String(text.clone()));
    Garbage {
        what: format!("text {text:?} at {pointer:?} of {}", template.json),
        message: Message::text(format!("{}{json}", framing.prefix)),
        expect: template.rule_for(pointer).other_value,
    }
}

/// Number literals beyond what a 64-bit integer or a double holds, and their edges.
const HUGE_NUMBERS: &[(&str, bool)] = &[
    // (literal, whether a JSON parser can represent it at all)
    ("123456789012345678901234567890", true),
    ("18446744073709551616", true),
    ("-9223372036854775809", true),
    ("9223372036854775807", true),
    ("-9223372036854775808", true),
    ("1e308", true),
    ("-0", true),
    ("0.000000000000000000000000001", true),
    ("1e400", false),
    ("-1e400", false),
    ("1.7976931348623157e309", false),
];

fn huge_number(rng: &mut StdRng, template: &Template, framing: &Framing) -> Garbage {
    let paths = pointers(&template.json);
    let pointer = pick(rng, &paths);
    let (literal, representable) = HUGE_NUMBERS[rng.random_range(0..HUGE_NUMBERS.len())];
    let rule = template.rule_for(pointer);
    let expect = match (representable, template.json.pointer(pointer)) {
        (false, _) => framing.unparsable,
        (true, Some(Value::Number(_))) => rule.other_value,
        (true, _) => rule.wrong_type,
    };
    let json = spliced(template, pointer, literal);
    Garbage {
        what: format!("number {literal} at {pointer:?} of {}", template.json),
        message: Message::text(format!("{}{json}", framing.prefix)),
        expect,
    }
}

fn deep_nesting(rng: &mut StdRng, template: &Template, framing: &Framing) -> Garbage {
    const DEPTH: usize = 10_000;
    let (what, text) = match rng.random_range(0..3) {
        0 => ("10000 [".to_owned(), "[".repeat(DEPTH)),
        1 => (
            "10000 nested objects".to_owned(),
            format!("{}1{}", "{\"a\":".repeat(DEPTH), "}".repeat(DEPTH)),
        ),
        _ => {
            let paths = pointers(&template.json);
            let pointer = pick(rng, &paths);
            let nested = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
            (
                format!("10000 nested arrays at {pointer:?} of {}", template.json),
                spliced(template, pointer, &nested),
            )
        }
    };
    text_garbage(
        what,
        format!("{}{text}", framing.prefix),
        framing.unparsable,
    )
}

/// A `\ud800` escape with no trail surrogate: JSON text that no conforming parser accepts.
fn lone_surrogate(rng: &mut StdRng, template: &Template, framing: &Framing) -> Garbage {
    let strings: Vec<String> = pointers(&template.json)
        .into_iter()
        .filter(|p| template.json.pointer(p).is_some_and(Value::is_string))
        .collect();
    let pointer = pick(rng, &strings);
    let json = spliced(template, pointer, "\"a\\ud800b\"");
    text_garbage(
        format!("a lone surrogate at {pointer:?} of {}", template.json),
        format!("{}{json}", framing.prefix),
        framing.unparsable,
    )
}

/// The template with one of its texts padded until the frame is one byte over the limit.
fn oversized(template: &Template, framing: &Framing) -> Garbage {
    let pointer = pointers(&template.json)
        .into_iter()
        .find(|p| template.json.pointer(p).is_some_and(Value::is_string))
        .unwrap_or_else(|| panic!("no text to pad in {}", template.json));
    let framed = |text: String| {
        let json = replaced(template, &pointer, Value::String(text));
        format!("{}{json}", framing.prefix)
    };
    let padding = (LIMIT + 1).saturating_sub(framed(String::new()).len());
    let text = framed("x".repeat(padding));
    assert_eq!(text.len(), LIMIT + 1);
    text_garbage(
        format!("{} bytes at {pointer:?}, one over the limit", text.len()),
        text,
        TOO_BIG,
    )
}
