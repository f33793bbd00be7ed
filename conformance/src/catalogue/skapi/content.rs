//! Content: any JSON value arrives as sent — falsy values, nesting, text — and survives a decodeURI-ing client.

use serde_json::{json, Value};

use super::case;
use super::decode_uri::decode_uri;
use super::group::{pair_in_group, Pair};
use super::support::{self, message, notice, private, TWO_USERS};
use crate::case::{sources, Case, CaseError, CaseResult, Level, Reference};
use crate::client::skapi::SkapiConn;
use crate::client::{Frame, Pattern};
use crate::ctx::Ctx;
use crate::{ensure, fail};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "skapi.content.falsy-delivered",
            Level::Must,
            "Falsy content (0, \"\", false, null) is delivered like any other, by broadcast and by private message",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "message is the data passed from the server. It can be any JSON data.",
            },
            TWO_USERS,
            |ctx| Box::pin(falsy_delivered(ctx)),
        ),
        case(
            "skapi.content.any-json-delivered",
            Level::Must,
            "Content of any JSON type — objects, arrays, numbers, text with quotes, escapes and non-ASCII — arrives unchanged",
            Reference {
                source: sources::SKAPI_SEED,
                quote: "message is the data passed from the server. It can be any JSON data.",
            },
            TWO_USERS,
            |ctx| Box::pin(any_json_delivered(ctx)),
        ),
        case(
            "skapi.content.percent-survives-decodeuri",
            Level::Should,
            "Frames carrying `%` (in content and in a group name) arrive intact for a client that runs decodeURI on every frame",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "a conformance case should send content with `%` and check it arrives intact for a decodeURI-ing client",
            },
            TWO_USERS,
            |ctx| Box::pin(percent_survives_decode_uri(ctx)),
        ),
        case(
            "skapi.content.notification-fields-accepted",
            Level::Should,
            "Broadcasts and private messages carrying the web-push fields `notification` and `notificationConfig` are delivered as usual, without #error",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "out of scope for the socket but must be accepted.",
            },
            TWO_USERS,
            |ctx| Box::pin(notification_fields_accepted(ctx)),
        ),
    ]
}

/// Alice broadcasts `content` to `group` (where Bob is too) and sends it privately to Bob; every copy must carry it
/// exactly. Returns Alice's #message, Bob's #message and Bob's #private.
async fn deliver_both_ways(
    ctx: &Ctx,
    group: &str,
    alice: &mut SkapiConn,
    bob: &mut SkapiConn,
    content: &Value,
) -> Result<[Frame; 3], CaseError> {
    alice.broadcast(group, content.clone()).await?;
    let broadcast = |e: CaseError| e.context(format!("broadcasting content {content}"));
    let to_alice = alice
        .expect(message(content), ctx.wait())
        .await
        .map_err(broadcast)?;
    let to_bob = bob
        .expect(message(content), ctx.wait())
        .await
        .map_err(broadcast)?;
    alice
        .send_private(&bob.session.user_id, content.clone())
        .await?;
    let private_to_bob = bob
        .expect(private(content), ctx.wait())
        .await
        .map_err(|e| e.context(format!("sending content {content} privately")))?;
    Ok([to_alice, to_bob, private_to_bob])
}

async fn falsy_delivered(ctx: Ctx) -> CaseResult {
    let Pair {
        group,
        mut alice,
        mut bob,
        ..
    } = pair_in_group(&ctx).await?;
    for content in [json!(0), json!(""), json!(false), Value::Null] {
        deliver_both_ways(&ctx, &group, &mut alice, &mut bob, &content).await?;
    }
    Ok(())
}

async fn any_json_delivered(ctx: Ctx) -> CaseResult {
    let Pair {
        group,
        mut alice,
        mut bob,
        ..
    } = pair_in_group(&ctx).await?;
    let values = [
        json!({"id": ctx.unique("obj"), "deep": {"list": [1, "two", {"three": [null, true]}]}, "empty": {}}),
        json!([ctx.unique("arr"), 1, -2.5, 1e-7, [], {}]),
        json!(format!(
            "{} \"quoted\" back\\slash\nnew line\ttab é ü € 😀 <b>&amp;</b>",
            ctx.unique("text")
        )),
        json!(123_456_789_012_i64),
        json!(true),
    ];
    for content in &values {
        deliver_both_ways(&ctx, &group, &mut alice, &mut bob, content).await?;
    }
    Ok(())
}

/// What a client running `JSON.parse(decodeURI(frame))` gets must be what the frame says.
fn survives_decode_uri(conn: &SkapiConn, frame: &Frame) -> CaseResult {
    let Some(text) = frame.text() else {
        fail!("{} received a binary frame: {frame}", conn.label());
    };
    let decoded = decode_uri(text).map_err(|e| {
        CaseError::fail(format!(
            "decodeURI throws on a frame {} received ({e}), so a decodeURI-ing client such as the SDK drops it; a `%` must be written `\\u0025`: {frame}",
            conn.label()
        ))
    })?;
    let parsed: Value = serde_json::from_str(&decoded).map_err(|e| {
        CaseError::fail(format!(
            "after decodeURI a frame {} received is no longer JSON ({e}): {decoded}",
            conn.label()
        ))
    })?;
    ensure!(
        Some(&parsed) == frame.value.as_ref(),
        "decodeURI changes a frame {} received, from {frame} to {decoded}: a `%` must be written `\\u0025`",
        conn.label()
    );
    Ok(())
}

async fn percent_survives_decode_uri(ctx: Ctx) -> CaseResult {
    let skapi = ctx.skapi();
    let group = format!("100%-{}", ctx.unique("g"));
    let mut alice = skapi.connect("primary").await?;
    let mut bob = skapi.connect("secondary").await?;
    support::join(&ctx, &mut alice, &group).await?;
    support::join(&ctx, &mut bob, &group).await?;
    let bob_id = bob.session.user_id.clone();
    // On Alice's connection Bob's USER_JOINED comes before his join probe.
    match alice
        .expect(notice("USER_JOINED", &bob_id, &group), ctx.wait())
        .await
    {
        Ok(frame) => survives_decode_uri(&alice, &frame)?,
        Err(_) => ctx.note(
            "no USER_JOINED notice arrived; the group name is judged in the broadcast's #srid only",
        ),
    }
    let bob_probe = Pattern::kind("message").and(json!({"#user_id": bob_id}));
    alice.expect(bob_probe, ctx.wait()).await?;
    let content = json!({
        "id": ctx.unique("pct"),
        "sure": "100% sure",
        "lone": "50%",
        "escapes": "%41%42 stays %41%42",
        "utf8": "%E2%82%AC is not €",
        "reserved": "%23%2F",
        "key%41": "%",
    });
    let [to_alice, to_bob, private_to_bob] =
        deliver_both_ways(&ctx, &group, &mut alice, &mut bob, &content).await?;
    survives_decode_uri(&alice, &to_alice)?;
    survives_decode_uri(&bob, &to_bob)?;
    survives_decode_uri(&bob, &private_to_bob)
}

async fn notification_fields_accepted(ctx: Ctx) -> CaseResult {
    let Pair {
        group,
        mut alice,
        mut bob,
        ..
    } = pair_in_group(&ctx).await?;
    let notification = json!({"title": "New message", "body": ctx.unique("push")}).to_string();
    let content = support::marker(&ctx);
    alice
        .send_json(&json!({
            "action": "broadcast",
            "rid": group,
            "content": content,
            "notification": notification,
            "notificationConfig": {"always": true},
            "token": alice.session.identity_token(),
        }))
        .await?;
    for conn in [&mut alice, &mut bob] {
        conn.expect(message(&content), ctx.wait())
            .await
            .map_err(|e| {
                e.context("a broadcast carrying `notification` and `notificationConfig`")
            })?;
    }
    let whisper = support::marker(&ctx);
    alice
        .send_json(&json!({
            "action": "sendMessage",
            "uid": bob.session.user_id,
            "content": whisper,
            "notification": "",
            "notificationConfig": {},
            "token": alice.session.identity_token(),
        }))
        .await?;
    bob.expect(private(&whisper), ctx.wait())
        .await
        .map_err(|e| {
            e.context("a private message carrying `notification` and `notificationConfig`")
        })?;
    alice
        .expect_silence_of(support::error(), ctx.silence())
        .await
        .map_err(|e| e.context("frames carrying the web-push fields"))
}
