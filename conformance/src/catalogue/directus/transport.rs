//! The WebSocket layer under the messages: binary frames and the frame size limit.

use serde_json::json;

use super::support::next_reply;
use crate::case::{sources, Case, CaseResult, Kind, Level, Need, Reference};
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::{ensure, fail};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "directus.transport.binary-frame-as-text",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A binary frame holding a JSON message is handled like the same text frame",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "Binary frames are decoded as UTF-8 text [run].",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(binary_frame_as_text(ctx)),
        },
        Case {
            id: "directus.transport.oversized-frame-closed",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A frame over the server's size limit closes the connection with 1009",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "frame over the size limit → 1009",
            },
            kind: Kind::Scenario,
            requires: &[
                Need::Credential("primary"),
                Need::Parameter("max_message_bytes"),
            ],
            run: |ctx| Box::pin(oversized_frame_closed(ctx)),
        },
    ]
}

async fn binary_frame_as_text(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.directus().connect("primary").await?;
    let uid = ctx.unique("binary");
    let ping = json!({"type": "ping", "uid": uid}).to_string();
    conn.send_binary_raw(ping.as_bytes()).await?;
    let reply = next_reply(&ctx, &mut conn)
        .await
        .map_err(|e| e.context("after a ping sent as a binary frame"))?;
    ensure!(
        reply.str("/type") == Some("pong") && reply.str("/uid") == Some(uid.as_str()),
        "a ping with uid {uid:?} sent as a binary frame expected {{\"type\":\"pong\",\"uid\":{uid:?}}}, got {reply}"
    );
    Ok(())
}

async fn oversized_frame_closed(ctx: Ctx) -> CaseResult {
    let limit = ctx.parameter_u64("max_message_bytes")?;
    let Ok(limit) = usize::try_from(limit) else {
        fail!("parameter max_message_bytes = {limit} does not fit in memory here");
    };
    let mut conn = ctx.directus().connect("primary").await?;
    let head = r#"{"type":"ping","uid":"oversized","pad":""#;
    let tail = r#""}"#;
    let pad = (limit + 1).saturating_sub(head.len() + tail.len());
    let frame = format!("{head}{}{tail}", "x".repeat(pad));
    conn.note(format!(
        "sending one text frame of {} bytes (limit {limit})",
        frame.len()
    ));
    // The server may close before it has read the whole frame, so a failed write is no finding by itself.
    if let Err(error) = conn.send_text_raw(&frame).await {
        conn.note(format!("the write did not complete: {error}"));
    }
    let code = conn
        .expect_close(ctx.wait())
        .await
        .map_err(|e| e.context(format!("after a frame of {} bytes", frame.len())))?;
    ensure!(
        code == 1009,
        "a frame over the size limit should close the connection with 1009 (message too big), the close code was {code}"
    );
    Ok(())
}
