//! Message properties: generated valid client messages must be accepted (no error, every reply valid — the
//! harness checks every frame against the server schemas), and generated invalid ones (structural mutations,
//! and the transport mutations a profile documents) must get the documented error or close while the
//! connection, or a new one, keeps answering.
//!
//! Members that name server state (a collection, a token, a user) are constrained per profile to what the
//! target provides; the constraints are written out in each profile's module. Failures shrink to a minimal
//! message and are saved as regressions, like model failures (`crate::model::explore`).

pub mod directus;
pub mod exchange;
pub mod gamevault;
pub mod m2;
pub mod raw;
pub mod skapi;

use proptest::prelude::*;
use proptest::strategy::{SBoxedStrategy, Union};
use serde_json::Value;

use crate::case::{Case, CaseError};
use crate::ctx::Ctx;
use crate::generate::{Generator, Layer, Mutated, Mutation, Overrides};
use crate::model::session::shown;
use crate::profile::Profile;

/// The property cases of a profile.
pub fn cases(profile: Profile) -> Vec<Case> {
    match profile {
        Profile::M2 => m2::cases(),
        Profile::Directus => directus::cases(),
        Profile::Skapi => skapi::cases(),
        Profile::Gamevault => gamevault::cases(),
    }
}

/// A generated client message and its kind (the schema file stem under `client/`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub kind: String,
    pub value: Value,
}

/// "a `subscribe` of 84 bytes".
pub fn describe_message(message: &Message) -> String {
    format!(
        "a `{}` of {} bytes: {}",
        message.kind,
        message.value.to_string().len(),
        shown(&message.value)
    )
}

/// "`subscribe` with dropped required member `action` at /: {…}".
pub fn describe_mutated(mutated: &Mutated) -> String {
    match &mutated.value {
        Some(value) => format!("{}: {}", mutated.mutation, shown(value)),
        None => format!("{} ({} bytes)", mutated.mutation, mutated.wire.len()),
    }
}

/// The generator of `ctx`'s profile.
pub fn generator(ctx: &Ctx) -> Result<Generator, CaseError> {
    Generator::new(ctx.schemas(), ctx.profile())
        .map_err(|e| CaseError::harness(format!("building the message generator: {e}")))
}

/// Valid client messages of the given kinds, each with its overrides.
pub fn messages(
    generator: &Generator,
    kinds: Vec<(&'static str, Overrides)>,
) -> Result<SBoxedStrategy<Message>, CaseError> {
    let mut strategies = Vec::new();
    for (kind, overrides) in kinds {
        let valid = generator
            .valid_with(&format!("client/{kind}"), &overrides)
            .map_err(|e| CaseError::harness(format!("generating `{kind}` messages: {e}")))?;
        strategies.push(
            valid
                .prop_map(move |value| Message {
                    kind: kind.to_owned(),
                    value,
                })
                .sboxed(),
        );
    }
    Ok(Union::new(strategies).sboxed())
}

/// Which mutations a profile's documents say a server must refuse.
pub type Keep = fn(&Mutation) -> bool;

/// Every structural mutation.
pub fn every(_: &Mutation) -> bool {
    true
}

/// Structural mutations (those `structural` keeps) of valid messages of the given kinds that `judge` (a schema
/// id such as `client/envelope`) refuses, plus, when `transport` is given, the transport mutations it keeps.
pub fn invalid(
    generator: &Generator,
    kinds: Vec<(&'static str, Overrides)>,
    judge: &str,
    structural: Keep,
    transport: Option<(Option<usize>, Keep)>,
) -> Result<SBoxedStrategy<Mutated>, CaseError> {
    let mut strategies = Vec::new();
    for (kind, overrides) in kinds {
        let schema = format!("client/{kind}");
        let valid = generator
            .valid_with(&schema, &overrides)
            .map_err(|e| CaseError::harness(format!("generating `{kind}` messages: {e}")))?;
        let structural = generator
            .mutations(&schema, judge, valid.clone())
            .map_err(|e| CaseError::harness(format!("mutating `{kind}` messages: {e}")))?
            .prop_filter("a mutation the schema refuses", move |m| {
                m.rejected && structural(&m.mutation)
            })
            .sboxed();
        strategies.push((3, structural));
        if let Some((limit, keep)) = transport {
            let broken = generator
                .transport_mutations(valid, limit)
                .prop_filter("a transport mutation of this profile", move |m| {
                    m.rejected && m.mutation.layer() == Layer::Transport && keep(&m.mutation)
                })
                .sboxed();
            strategies.push((1, broken));
        }
    }
    Ok(Union::new_weighted(strategies).sboxed())
}

/// Sends an oversized text frame and returns how the server ended the connection. A server that stops reading
/// and closes while the frame is still being written resets the connection, and the client may then never see
/// its close frame: that is reported as what it is.
pub async fn send_oversized(
    ctx: &Ctx,
    exchange: &exchange::Exchange,
    conn: &mut crate::client::Conn,
    text: &str,
) -> Result<u16, CaseError> {
    exchange.sent(
        conn.label(),
        format!("<text frame of {} bytes>", text.len()),
    );
    let sent = conn.send_text_raw(text).await;
    let code = conn.expect_close(ctx.wait()).await;
    exchange.note(format!("close: {code:?}"));
    match (sent, code) {
        (_, Ok(code)) if code != crate::client::ABNORMAL => Ok(code),
        (Err(error), _) => Err(CaseError::fail(format!(
            "the server reset the connection while the oversized frame was being written, so no close code \
             reached the client ({error}); a server that answers 1009 must keep reading until its close frame \
             can be read"
        ))),
        (Ok(()), Ok(code)) => Ok(code),
        (Ok(()), Err(error)) => Err(error),
    }
}
