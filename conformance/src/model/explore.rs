//! Running generated cases against a server with proptest's `TestRunner`, outside `cargo test`: saved
//! regressions first, then `cases` new inputs from seeds derived from the run seed, and, on the first failure,
//! proptest's shrinking loop (simplify while it still fails, complicate when it passes) down to a minimal input,
//! which is printed as a transcript and saved as a regression.
//!
//! proptest's value trees are not `Send`, and a case's future must be, so the trees live on a thread of their
//! own ([`Trees`]) and the async side asks it for values.

use std::fmt::Debug;
use std::future::Future;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::strategy::{SBoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

use super::regressions::{self, Regression};
use super::settings::{case_limit, Settings};
use crate::case::{CaseError, CaseResult};
use crate::ctx::Ctx;

/// How one generated input fared.
#[derive(Debug, Clone)]
pub enum Verdict {
    Pass,
    Fail(Failure),
}

/// Why an input failed, and what happened on the wire.
#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: String,
    pub transcript: String,
}

impl Failure {
    pub fn new(reason: impl Into<String>, transcript: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            transcript: transcript.into(),
        }
    }
}

enum Command<T> {
    New(u64, oneshot::Sender<Result<T, String>>),
    Simplify(oneshot::Sender<Option<T>>),
    Complicate(oneshot::Sender<Option<T>>),
}

/// The value trees of one strategy, held by a thread of their own.
pub struct Trees<T> {
    commands: mpsc::Sender<Command<T>>,
}

impl<T: Debug + Send + 'static> Trees<T> {
    pub fn spawn(strategy: SBoxedStrategy<T>) -> Result<Trees<T>, CaseError> {
        let (commands, inbox) = mpsc::channel::<Command<T>>();
        std::thread::Builder::new()
            .name("proptest-trees".into())
            .spawn(move || {
                let mut tree: Option<Box<dyn ValueTree<Value = T>>> = None;
                for command in inbox {
                    match command {
                        Command::New(seed, reply) => {
                            let mut runner = TestRunner::new_with_rng(
                                Config::default(),
                                TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed)),
                            );
                            let made = strategy.new_tree(&mut runner);
                            let _ = reply.send(match made {
                                Ok(new) => {
                                    let current = new.current();
                                    tree = Some(new);
                                    Ok(current)
                                }
                                Err(reason) => Err(reason.to_string()),
                            });
                        }
                        Command::Simplify(reply) => {
                            let _ = reply.send(
                                tree.as_mut()
                                    .and_then(|t| t.simplify().then(|| t.current())),
                            );
                        }
                        Command::Complicate(reply) => {
                            let _ = reply.send(
                                tree.as_mut()
                                    .and_then(|t| t.complicate().then(|| t.current())),
                            );
                        }
                    }
                }
            })
            .map_err(|e| CaseError::harness(format!("cannot start the generator thread: {e}")))?;
        Ok(Trees { commands })
    }

    /// A new input from `seed` (the same seed gives the same input).
    pub async fn generate(&self, seed: u64) -> Result<T, CaseError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::New(seed, reply))?;
        answer
            .await
            .map_err(|_| CaseError::harness("the generator thread stopped"))?
            .map_err(|reason| CaseError::harness(format!("generating an input: {reason}")))
    }

    /// A simpler input than the last one, if there is one.
    pub async fn simplify(&self) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Simplify(reply)).ok()?;
        answer.await.ok().flatten()
    }

    /// An input between the last failing one and the last (passing) simplification, if there is one.
    pub async fn complicate(&self) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Complicate(reply)).ok()?;
        answer.await.ok().flatten()
    }

    fn send(&self, command: Command<T>) -> Result<(), CaseError> {
        self.commands
            .send(command)
            .map_err(|_| CaseError::harness("the generator thread stopped"))
    }
}

/// 32 seed bytes for ChaCha from a 64-bit seed (splitmix64).
fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut state = seed;
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    out
}

/// The seed of generated case `index` of a case whose base seed is `base`.
pub fn case_seed(base: u64, index: usize) -> u64 {
    let bytes = seed_bytes(base ^ (index as u64).wrapping_mul(0xd6e8_feb8_6659_fd93));
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

/// What a generated case is called in reports: "sequence", "message".
#[derive(Debug, Clone, Copy)]
pub struct Noun(pub &'static str);

/// Runs a generated case: regressions, then `--cases` new inputs, shrinking the first failure.
///
/// `describe` turns an input into a one-line summary for the report (its size, say); `eval` runs one input
/// against the server and the model. A `Skip` from `eval` skips the whole case.
pub async fn check<T, E, F>(
    ctx: &Ctx,
    noun: Noun,
    strategy: SBoxedStrategy<T>,
    describe: fn(&T) -> String,
    mut eval: E,
) -> CaseResult
where
    T: Debug + Clone + Serialize + DeserializeOwned + Send + 'static,
    E: FnMut(T) -> F,
    F: Future<Output = Result<Verdict, CaseError>>,
{
    let settings = Settings::of(ctx.target());
    let folder = regressions::folder(ctx);
    for (path, loaded) in regressions::load(&folder, ctx.id()) {
        let regression = match loaded {
            Ok(r) => r,
            Err(reason) => {
                ctx.note(format!(
                    "regression {} cannot be read: {reason}",
                    path.display()
                ));
                continue;
            }
        };
        let input: T = match serde_json::from_value(regression.input.clone()) {
            Ok(input) => input,
            Err(reason) => {
                ctx.note(format!(
                    "regression {} no longer fits this case's inputs: {reason}",
                    path.display()
                ));
                continue;
            }
        };
        if let Verdict::Fail(failure) = eval(input.clone()).await? {
            return Err(CaseError::fail(format!(
                "{}\nsaved regression {} (found with {} seed {}) still fails:\n{}",
                failure.reason,
                path.display(),
                noun.0,
                regression.seed,
                failure.transcript
            )));
        }
        ctx.note(format!("regression {} passes", path.display()));
    }

    let deadline =
        ctx.transcript().start() + case_limit_of(ctx).saturating_sub(Duration::from_secs(2));
    let trees = Trees::spawn(strategy)?;
    let base: u64 = ctx.with_rng(|rng| rng.random());
    let mut ran = 0;
    for index in 0..settings.cases {
        if Instant::now() >= deadline {
            break;
        }
        let seed = case_seed(base, index);
        let input = trees.generate(seed).await?;
        ran += 1;
        let Verdict::Fail(failure) = eval(input.clone()).await? else {
            continue;
        };
        let found = shrink(&trees, input, failure, deadline, &mut eval).await?;
        return Err(report(
            ctx, noun, seed, index, &settings, &folder, found, describe,
        ));
    }
    if ran < settings.cases {
        ctx.note(format!(
            "{ran} of {} {}s ran before the case's time limit",
            settings.cases, noun.0
        ));
    } else {
        ctx.note(format!("{ran} generated {}s passed", noun.0));
    }
    if ran == 0 {
        return Err(CaseError::fail(format!(
            "no generated {} ran within the case's time limit",
            noun.0
        )));
    }
    Ok(())
}

fn case_limit_of(ctx: &Ctx) -> Duration {
    crate::catalogue::all()
        .iter()
        .find(|c| c.id == ctx.id())
        .map(|case| case_limit(case, ctx.target()))
        .unwrap_or(ctx.timeouts().case)
}

/// The outcome of shrinking.
struct Found<T> {
    original: T,
    minimal: T,
    failure: Failure,
    runs: usize,
}

async fn shrink<T, E, F>(
    trees: &Trees<T>,
    original: T,
    failure: Failure,
    deadline: Instant,
    eval: &mut E,
) -> Result<Found<T>, CaseError>
where
    T: Debug + Clone + Send + 'static,
    E: FnMut(T) -> F,
    F: Future<Output = Result<Verdict, CaseError>>,
{
    /// At most this many shrinking runs, each a full run against the server, and at most this long.
    const MAX_RUNS: usize = 256;
    const MAX_TIME: Duration = Duration::from_secs(20);
    let deadline = deadline.min(Instant::now() + MAX_TIME);
    let mut found = Found {
        minimal: original.clone(),
        original,
        failure,
        runs: 0,
    };
    let mut candidate = trees.simplify().await;
    while let Some(input) = candidate {
        if found.runs >= MAX_RUNS || Instant::now() >= deadline {
            break;
        }
        found.runs += 1;
        candidate = match eval(input.clone()).await? {
            Verdict::Fail(failure) => {
                found.minimal = input;
                found.failure = failure;
                trees.simplify().await
            }
            Verdict::Pass => trees.complicate().await,
        };
    }
    Ok(found)
}

#[allow(clippy::too_many_arguments)]
fn report<T: Serialize>(
    ctx: &Ctx,
    noun: Noun,
    seed: u64,
    index: usize,
    settings: &Settings,
    folder: &std::path::Path,
    found: Found<T>,
    describe: fn(&T) -> String,
) -> CaseError {
    let rerun = match settings.run_seed {
        Some(run) => format!("rerun with --seed {run} --case '{}'", ctx.id()),
        None => format!("rerun with the run's --seed and --case '{}'", ctx.id()),
    };
    let saved = match serde_json::to_value(&found.minimal) {
        Ok(input) => regressions::save(
            folder,
            &Regression {
                case: ctx.id().to_owned(),
                seed,
                failure: found.failure.reason.clone(),
                input,
            },
        )
        .map(|path| {
            format!(
                "saved as {} (replayed first on every later run)",
                path.display()
            )
        })
        .unwrap_or_else(|e| format!("could not save the regression in {}: {e}", folder.display())),
        Err(e) => format!("could not serialise the input: {e}"),
    };
    CaseError::fail(format!(
        "{reason}\nminimal failing {noun}: {minimal} (shrunk from {original} in {runs} runs; {noun} #{number} of \
         the run, seed {seed}; {rerun})\n{transcript}{saved}",
        reason = found.failure.reason,
        noun = noun.0,
        minimal = describe(&found.minimal),
        original = describe(&found.original),
        runs = found.runs,
        number = index + 1,
        transcript = found.failure.transcript,
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[tokio::test]
    async fn trees_give_the_same_value_for_the_same_seed_and_shrink() {
        let trees = Trees::spawn(proptest::collection::vec(0u32..1000, 5..10).sboxed()).unwrap();
        let first = trees.generate(7).await.unwrap();
        let again = trees.generate(7).await.unwrap();
        assert_eq!(first, again);
        let simpler = trees
            .simplify()
            .await
            .expect("a vector of five or more can shrink");
        assert!(simpler.len() < first.len() || simpler.iter().sum::<u32>() < first.iter().sum());
    }

    #[tokio::test]
    async fn the_shrinking_loop_finds_the_smallest_failing_input() {
        let trees = Trees::spawn((0u32..10_000).sboxed()).unwrap();
        let fails = |n: u32| n >= 17;
        let mut original = 0;
        for seed in 0.. {
            original = trees.generate(seed).await.unwrap();
            if fails(original) {
                break;
            }
        }
        let mut eval = |n: u32| async move {
            Ok(if fails(n) {
                Verdict::Fail(Failure::new(format!("{n} is too big"), ""))
            } else {
                Verdict::Pass
            })
        };
        let found = shrink(
            &trees,
            original,
            Failure::new("", ""),
            Instant::now() + Duration::from_secs(10),
            &mut eval,
        )
        .await
        .unwrap();
        assert_eq!(found.minimal, 17);
    }

    #[test]
    fn case_seeds_differ_per_index() {
        assert_ne!(case_seed(1, 0), case_seed(1, 1));
        assert_eq!(case_seed(1, 5), case_seed(1, 5));
    }
}
