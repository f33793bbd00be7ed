//! Model-based conformance: generated sequences of connect / subscribe / unsubscribe / change / send /
//! disconnect over several clients run against the server and against a small reference model of the profile's
//! documented semantics; after every step each client must have received exactly what the model predicts.
//!
//! - [`explore`]: proptest's runner outside `cargo test`, shrinking, regressions;
//! - [`session`]: the clients of one sequence, draining to quiescence, comparison per stream;
//! - [`expect`]: predicted frames with placeholders for server-chosen values;
//! - one module per profile: its operations, its model, and how each operation is performed.

pub mod directus;
pub mod expect;
pub mod explore;
pub mod gamevault;
pub mod m2;
pub mod regressions;
pub mod session;
pub mod settings;
pub mod skapi;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::SBoxedStrategy;
use serde_json::Value;

use crate::case::{Case, CaseError, CaseResult};
use crate::ctx::Ctx;
use crate::profile::Profile;
use explore::{Failure, Noun, Verdict};
use session::{Client, Session};

/// The model cases of a profile.
pub fn cases(profile: Profile) -> Vec<Case> {
    match profile {
        Profile::M2 => m2::cases(),
        Profile::Directus => directus::cases(),
        Profile::Skapi => skapi::cases(),
        Profile::Gamevault => gamevault::cases(),
    }
}

/// Clients a sequence may use.
pub const MAX_CLIENTS: usize = 5;

/// Operations a generated sequence holds at most, before the connects it needs are added.
pub const MAX_OPERATIONS: usize = 12;

/// One generated sequence: which user each client is, and the steps.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sequence<Op> {
    /// The user (index into the model's users) of client `i`.
    pub users: Vec<usize>,
    pub steps: Vec<Op>,
}

impl<Op> Sequence<Op> {
    /// "7 steps over 3 clients".
    pub fn summary(&self) -> String
    where
        Op: Step,
    {
        let clients: std::collections::BTreeSet<usize> =
            self.steps.iter().filter_map(Step::client).collect();
        format!(
            "{} steps over {} client{}",
            self.steps.len(),
            clients.len(),
            if clients.len() == 1 { "" } else { "s" }
        )
    }
}

/// What the sequence machinery needs to know about an operation.
pub trait Step: Sized {
    /// The client the operation acts on, if it acts on one.
    fn client(&self) -> Option<usize>;
    /// The operation that connects `client`.
    fn connect(client: usize) -> Self;
    fn is_connect(&self) -> bool;
    fn is_disconnect(&self) -> bool;
}

/// `ops` with a connect inserted before each first use of a client (and before its first use after a
/// disconnect); disconnects of clients that are not connected are dropped. Connects are derived, so shrinking
/// the operations shrinks them too.
pub fn with_connects<Op: Step>(ops: Vec<Op>) -> Vec<Op> {
    let mut connected = [false; MAX_CLIENTS];
    let mut out = Vec::with_capacity(ops.len() * 2);
    for op in ops {
        let Some(client) = op.client().filter(|c| *c < MAX_CLIENTS) else {
            out.push(op);
            continue;
        };
        if op.is_connect() {
            if !connected[client] {
                connected[client] = true;
                out.push(op);
            }
            continue;
        }
        if op.is_disconnect() {
            if connected[client] {
                connected[client] = false;
                out.push(op);
            }
            continue;
        }
        if !connected[client] {
            connected[client] = true;
            out.push(Op::connect(client));
        }
        out.push(op);
    }
    out
}

/// Rewrites generated operations so that they meet earlier ones more often than chance would (an unsubscribe
/// of something subscribed, a change of something watched); it sees each client's user. Deterministic, so
/// shrinking the raw operations shrinks the result.
pub type Focus<Op> = fn(&[usize], Vec<Op>) -> Vec<Op>;

/// Sequences of at most [`MAX_OPERATIONS`] operations from `op` (plus their connects), with `users` users.
pub fn sequences<Op>(
    users: usize,
    op: SBoxedStrategy<Op>,
    focus: Focus<Op>,
) -> SBoxedStrategy<Sequence<Op>>
where
    Op: Step + Clone + std::fmt::Debug + Send + Sync + 'static,
{
    (
        proptest::collection::vec(0..users.max(1), MAX_CLIENTS),
        proptest::collection::vec(op, 1..=MAX_OPERATIONS),
    )
        .prop_map(move |(users, ops)| {
            let steps = with_connects(ops);
            Sequence {
                steps: focus(&users, steps),
                users,
            }
        })
        .sboxed()
}

/// The future of one step.
pub type StepFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Vec<Vec<Value>>>, CaseError>> + Send + 'a>>;

/// A profile's model, bound to the environment of one sequence run (its users, its name prefix).
pub trait Model: Send {
    type Op: Step + Send + Sync;
    type Client: Client;

    /// One line saying what `op` does, for transcripts.
    fn describe(&self, op: &Self::Op) -> String;

    /// Performs `op` against the server and returns, per client, the frames the model predicts; `None` when the
    /// operation does not apply in the current state (it is then not performed).
    fn perform<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        session: &'a mut Session<Self::Client>,
        op: &'a Self::Op,
        step: usize,
    ) -> StepFuture<'a>;
}

/// Runs `steps` against the server and `model`, comparing after each step.
pub async fn run_sequence<M: Model>(
    ctx: &Ctx,
    mut model: M,
    session: &mut Session<M::Client>,
    steps: &[M::Op],
) -> Result<Verdict, CaseError> {
    for (i, op) in steps.iter().enumerate() {
        let step = i + 1;
        let line = model.describe(op);
        session.begin(step, &line);
        let expected = match model.perform(ctx, session, op, step).await {
            Ok(Some(expected)) => expected,
            Ok(None) => {
                session.note("(does not apply in this state; not performed)");
                continue;
            }
            Err(CaseError::Fail(reason)) => {
                session.note(&format!("FAILED {reason}"));
                return Ok(Verdict::Fail(Failure::new(
                    format!("step {step} ({line}): {reason}"),
                    session.transcript(),
                )));
            }
            Err(other) => return Err(other),
        };
        if let Err(mismatch) = session.settle(expected).await {
            return Ok(Verdict::Fail(Failure::new(
                format!("step {step} ({line}): {mismatch}"),
                session.transcript(),
            )));
        }
    }
    Ok(Verdict::Pass)
}

/// Runs a model case: `cases` sequences from `ops`, each against a fresh model from `model`.
pub async fn check_model<Op, Fm, Fut>(
    ctx: &Ctx,
    users: usize,
    ops: SBoxedStrategy<Op>,
    focus: Focus<Op>,
    mut make: Fm,
) -> CaseResult
where
    Op: Step
        + Clone
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
    Fm: FnMut(Sequence<Op>) -> Fut,
    Fut: Future<Output = Result<Verdict, CaseError>>,
{
    let strategy = sequences(users, ops, focus);
    explore::check(ctx, Noun("sequence"), strategy, Sequence::summary, |seq| {
        make(seq)
    })
    .await
}

/// The quiet window after each step: short, because frames the model predicts are awaited for the full `wait`
/// anyway; only frames the model does not predict are caught by it.
pub fn quiet(ctx: &Ctx) -> Duration {
    (ctx.silence() / 20).clamp(Duration::from_millis(10), Duration::from_millis(100))
}

/// `expected[client]`, growing the table as needed.
pub fn push(expected: &mut Vec<Vec<Value>>, client: usize, frame: Value) {
    if expected.len() <= client {
        expected.resize(client + 1, Vec::new());
    }
    expected[client].push(frame);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    enum T {
        Connect(usize),
        Use(usize),
        Drop(usize),
        Global,
    }

    impl Step for T {
        fn client(&self) -> Option<usize> {
            match self {
                T::Connect(c) | T::Use(c) | T::Drop(c) => Some(*c),
                T::Global => None,
            }
        }
        fn connect(client: usize) -> Self {
            T::Connect(client)
        }
        fn is_connect(&self) -> bool {
            matches!(self, T::Connect(_))
        }
        fn is_disconnect(&self) -> bool {
            matches!(self, T::Drop(_))
        }
    }

    #[test]
    fn connects_precede_each_first_use() {
        let steps = with_connects(vec![
            T::Use(1),
            T::Global,
            T::Drop(0),
            T::Use(1),
            T::Drop(1),
            T::Use(1),
            T::Connect(2),
            T::Connect(2),
        ]);
        assert_eq!(
            steps,
            vec![
                T::Connect(1),
                T::Use(1),
                T::Global,
                T::Use(1),
                T::Drop(1),
                T::Connect(1),
                T::Use(1),
                T::Connect(2),
            ]
        );
    }
}
