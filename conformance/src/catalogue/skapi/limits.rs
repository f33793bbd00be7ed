//! Size limits: a message above the target's declared maximum closes the connection with 1009; one at the
//! maximum is delivered.

use serde_json::{json, Value};

use super::case;
use super::support::{self, message};
use crate::case::{sources, Case, CaseError, CaseResult, Level, Need, Reference};
use crate::client::skapi::SkapiConn;
use crate::ctx::Ctx;
use crate::ensure;

const NEEDS: &[Need] = &[
    Need::Credential("primary"),
    Need::Parameter("max_message_bytes"),
];

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "skapi.limits.oversized-message-closed",
            Level::Should,
            "A message one byte over the maximum message size closes the connection with 1009",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "128 KB per message (larger → close 1009)",
            },
            NEEDS,
            |ctx| Box::pin(oversized_message_closed(ctx)),
        ),
        case(
            "skapi.limits.message-at-limit-delivered",
            Level::Should,
            "A message of exactly the maximum message size is delivered like any other",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "128 KB per message (larger → close 1009)",
            },
            NEEDS,
            |ctx| Box::pin(message_at_limit_delivered(ctx)),
        ),
    ]
}

/// A broadcast frame from `conn` to `group` whose text is exactly `bytes` long, and its content.
fn broadcast_of_size(
    conn: &SkapiConn,
    group: &str,
    bytes: usize,
) -> Result<(Value, Value), CaseError> {
    let frame = |content: &str| {
        json!({
            "action": "broadcast",
            "rid": group,
            "content": content,
            "token": conn.session.identity_token(),
        })
    };
    let bare = frame("").to_string().len();
    let padding = bytes.checked_sub(bare).ok_or_else(|| {
        CaseError::skip(format!(
            "the declared max_message_bytes ({bytes}) is smaller than a broadcast frame ({bare} bytes)"
        ))
    })?;
    let content = "x".repeat(padding);
    let sent = frame(&content);
    let length = sent.to_string().len();
    if length != bytes {
        return Err(CaseError::harness(format!(
            "a broadcast frame meant to be {bytes} bytes is {length}"
        )));
    }
    Ok((sent, Value::String(content)))
}

fn max_message_bytes(ctx: &Ctx) -> Result<usize, CaseError> {
    let max = ctx.parameter_u64("max_message_bytes")?;
    usize::try_from(max)
        .map_err(|_| CaseError::harness(format!("max_message_bytes {max} does not fit in memory")))
}

async fn oversized_message_closed(ctx: Ctx) -> CaseResult {
    let max = max_message_bytes(&ctx)?;
    let mut alice = ctx.skapi().connect("primary").await?;
    let group = ctx.unique("big");
    support::join(&ctx, &mut alice, &group).await?;
    let (frame, _) = broadcast_of_size(&alice, &group, max + 1)?;
    ctx.note(format!(
        "sending a broadcast frame of {} bytes (max_message_bytes + 1)",
        max + 1
    ));
    if let Err(e) = alice.send_json(&frame).await {
        // A server may close while the frame is still being written; its close code decides.
        ctx.note(format!("the send did not complete: {e}"));
    }
    let code = alice.expect_close(ctx.wait()).await.map_err(|e| {
        e.context(format!(
            "after a message of {} bytes, over the maximum of {max}",
            max + 1
        ))
    })?;
    ensure!(
        code == 1009,
        "a message of {} bytes, over the maximum of {max}, closed the connection with {code}, not 1009 (message too big)",
        max + 1
    );
    Ok(())
}

async fn message_at_limit_delivered(ctx: Ctx) -> CaseResult {
    let max = max_message_bytes(&ctx)?;
    let mut alice = ctx.skapi().connect("primary").await?;
    let group = ctx.unique("big");
    support::join(&ctx, &mut alice, &group).await?;
    let (frame, content) = broadcast_of_size(&alice, &group, max)?;
    ctx.note(format!(
        "sending a broadcast frame of {max} bytes (max_message_bytes)"
    ));
    alice.send_json(&frame).await?;
    alice
        .expect(message(&content), ctx.wait())
        .await
        .map_err(|e| e.context(format!("a message of exactly {max} bytes, the maximum")))?;
    support::still_member(&ctx, &mut alice, &group).await
}
