//! Bad input: every malformed or refused frame gets `#error`, has no effect, and the connection stays usable.

use serde_json::json;

use super::case;
use super::group::{pair_in_group, Pair};
use super::support::{self, error, TWO_USERS};
use crate::case::{sources, Case, CaseResult, Level, Reference};
use crate::client::Pattern;
use crate::ctx::Ctx;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "skapi.input.not-json-error",
            Level::Should,
            "A text frame that is not JSON gets #error and the connection stays usable, still in its group",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "\"error\": When there is an error.",
            },
            TWO_USERS,
            |ctx| Box::pin(refused(ctx, Input::NotJson)),
        ),
        case(
            "skapi.input.not-object-error",
            Level::Should,
            "A JSON frame that is not an object (array, string, number, null) gets #error and the connection stays usable",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "\"error\": When there is an error.",
            },
            TWO_USERS,
            |ctx| Box::pin(refused(ctx, Input::NotObject)),
        ),
        case(
            "skapi.input.unknown-action-error",
            Level::Should,
            "A frame with an unknown, mistyped or missing `action` gets #error and the connection stays usable",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "Client → server frames (text, JSON; the server never acknowledges a frame)",
            },
            TWO_USERS,
            |ctx| Box::pin(refused(ctx, Input::UnknownAction)),
        ),
        case(
            "skapi.input.missing-fields-error",
            Level::Should,
            "A frame missing a required field (content, rid, uid, token) gets #error, has no effect, and the connection stays usable",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "{\"action\":\"broadcast\",\"rid\":\"HelloWorld\",\"content\":<any JSON>,\"notification\":\"\",\"notificationConfig\":{},\"token\":\"IdT:<service>:<owner>:<id JWT>\"}",
            },
            TWO_USERS,
            |ctx| Box::pin(refused(ctx, Input::MissingFields)),
        ),
        case(
            "skapi.input.binary-frame-error",
            Level::Should,
            "A binary frame, even one holding a valid broadcast, gets #error, is not delivered, and the connection stays usable",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "Client → server frames (text, JSON; the server never acknowledges a frame)",
            },
            TWO_USERS,
            |ctx| Box::pin(refused(ctx, Input::Binary)),
        ),
        case(
            "skapi.input.bad-token-error",
            Level::Should,
            "A frame whose token is invalid, of the wrong kind, or another user's gets #error and has no effect: a connection cannot act as someone else",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "Identity comes from the token: `sub` = user id",
            },
            TWO_USERS,
            |ctx| Box::pin(refused(ctx, Input::BadToken)),
        ),
    ]
}

/// A family of bad frames.
#[derive(Debug, Clone, Copy)]
enum Input {
    NotJson,
    NotObject,
    UnknownAction,
    MissingFields,
    Binary,
    BadToken,
}

/// One bad frame and what it is, for the reason.
struct Bad {
    what: &'static str,
    frame: Frame,
}

enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

fn text(what: &'static str, frame: serde_json::Value) -> Bad {
    Bad {
        what,
        frame: Frame::Text(frame.to_string()),
    }
}

fn raw(what: &'static str, frame: &str) -> Bad {
    Bad {
        what,
        frame: Frame::Text(frame.to_owned()),
    }
}

/// The bad frames of `input`, sent by Alice, a member of `group` with Bob.
fn frames(input: Input, ctx: &Ctx, pair: &Pair) -> Vec<Bad> {
    let group = &pair.group;
    let alice = &pair.alice.session;
    let bob = &pair.bob.session;
    let content = support::marker(ctx);
    match input {
        Input::NotJson => vec![
            raw("text that is not JSON", "hello, server"),
            raw("truncated JSON", r#"{"action":"broadcast","rid":"#),
            raw("an empty text frame", ""),
        ],
        Input::NotObject => vec![
            text("a JSON array", json!([{"action": "keepAlive"}])),
            text("a JSON string", json!("keepAlive")),
            raw("a JSON number", "42"),
            raw("JSON null", "null"),
        ],
        Input::UnknownAction => vec![
            text("an unknown action", json!({"action": "teleport", "token": alice.access_token})),
            text("a numeric action", json!({"action": 7})),
            text("no action", json!({"rid": group, "content": content, "token": alice.identity_token()})),
        ],
        Input::MissingFields => vec![
            text(
                "a broadcast without content",
                json!({"action": "broadcast", "rid": group, "token": alice.identity_token()}),
            ),
            text(
                "a broadcast without token",
                json!({"action": "broadcast", "rid": group, "content": content}),
            ),
            text(
                "a joinRoom without rid",
                json!({"action": "joinRoom", "token": alice.access_token}),
            ),
            text(
                "a sendMessage without uid",
                json!({"action": "sendMessage", "content": content, "token": alice.identity_token()}),
            ),
        ],
        Input::Binary => vec![Bad {
            what: "a binary frame holding a valid broadcast",
            frame: Frame::Binary(
                json!({"action": "broadcast", "rid": group, "content": content, "token": alice.identity_token()})
                    .to_string()
                    .into_bytes(),
            ),
        }],
        Input::BadToken => vec![
            text(
                "a broadcast whose identity token holds no valid ID token",
                json!({"action": "broadcast", "rid": group, "content": content,
                       "token": format!("IdT:{}:{}:not-a-token", alice.service, alice.owner)}),
            ),
            text(
                "a joinRoom of another group whose access token is not valid",
                json!({"action": "joinRoom", "rid": ctx.unique("elsewhere"), "token": "not-a-token"}),
            ),
            text(
                "a joinRoom of another group carrying the ID token where the access token belongs",
                json!({"action": "joinRoom", "rid": ctx.unique("elsewhere"), "token": alice.id_token}),
            ),
            text(
                "a broadcast carrying the other member's identity token",
                json!({"action": "broadcast", "rid": group, "content": content, "token": bob.identity_token()}),
            ),
            text(
                "a joinRoom of another group carrying the other member's access token",
                json!({"action": "joinRoom", "rid": ctx.unique("elsewhere"), "token": bob.access_token}),
            ),
            text(
                "a sendMessage carrying the other member's identity token",
                json!({"action": "sendMessage", "uid": bob.user_id, "content": content, "token": bob.identity_token()}),
            ),
        ],
    }
}

/// Alice and Bob share a group; Alice sends each bad frame and must get one `#error` for it; Bob must see
/// nothing come of them; Alice must still be a member afterwards.
async fn refused(ctx: Ctx, input: Input) -> CaseResult {
    let mut pair = pair_in_group(&ctx).await?;
    for bad in frames(input, &ctx, &pair) {
        match &bad.frame {
            Frame::Text(t) => pair.alice.send_text_raw(t).await?,
            Frame::Binary(b) => pair.alice.send_binary_raw(b).await?,
        }
        pair.alice
            .expect(error(), ctx.wait())
            .await
            .map_err(|e| e.context(format!("after {}", bad.what)))?;
    }
    let label = pair.alice.label().to_owned();
    pair.bob
        .expect_silence_of(
            Pattern::when("a #message, #private or #notice", |f| {
                f.is("message") || f.is("private") || f.is("notice")
            }),
            ctx.silence(),
        )
        .await
        .map_err(|e| {
            e.context(format!(
                "frames {label} sent were refused, so nothing may come of them"
            ))
        })?;
    support::still_member(&ctx, &mut pair.alice, &pair.group).await
}
