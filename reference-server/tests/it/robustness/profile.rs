//! What the runners need from a profile, and the two runners: a garbage stream with a barrier behind
//! each frame, and a flood from a client that does not read.

use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::garbage::{self, Framing, Garbage, Template};
use super::support::{bounded, next, send, Next, Socket};

/// How a profile's answer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The profile's documented error.
    Error,
    /// Another documented answer.
    Other,
    /// Something the server sends by itself (a heartbeat, a change pushed to a subscription):
    /// well-formed, and no answer to the frame before it.
    Push,
    Malformed(String),
}

pub trait Profile {
    fn name(&self) -> &'static str;

    /// A connection ready for messages: authenticated, namespace joined.
    async fn connect(&self) -> Socket;

    /// A valid frame with an answer that names `n` (or otherwise cannot be mistaken).
    fn barrier(&self, n: usize) -> String;

    fn is_barrier_answer(&self, n: usize, text: &str) -> bool;

    fn classify(&self, text: &str) -> Answer;

    /// What to send back to a heartbeat the server sends, when the protocol wants an answer.
    fn heartbeat_answer(&self, _text: &str) -> Option<&'static str> {
        None
    }

    /// The documented client messages and what their mutations are answered with.
    fn templates(&self) -> Vec<Template>;

    fn framing(&self) -> Framing;

    /// Stores something through the HTTP API or a witness connection.
    async fn store(&mut self);

    /// Checks, through fresh connections, that what [`Profile::store`] stored is intact.
    async fn check_stored(&self);

    /// A valid frame that gets exactly one answer.
    fn flood_frame(&self, i: usize) -> String;

    fn is_flood_answer(&self, text: &str) -> bool;
}

/// How one exchange ended.
#[derive(Debug)]
enum Outcome {
    /// The barrier was answered; these came before it.
    Answers(Vec<(Answer, String)>),
    Closed(u16, String),
    Dropped(String),
    Silent,
}

/// Sends `garbage` (if any) and, unless only a close can answer it, barrier `n`; reads until the
/// barrier is answered or the connection ends.
async fn exchange(
    profile: &impl Profile,
    socket: &mut Socket,
    n: usize,
    garbage: Option<Message>,
    closes_only: bool,
) -> Outcome {
    // A failed send means the server closed first; its close frame is still there to read.
    let sent = match garbage {
        Some(message) => send(socket, message).await,
        None => true,
    };
    if sent && !closes_only {
        send(socket, Message::text(profile.barrier(n))).await;
    }
    let mut answers = Vec::new();
    loop {
        match next(socket).await {
            Next::Text(text) if profile.is_barrier_answer(n, &text) => {
                return Outcome::Answers(answers)
            }
            Next::Text(text) if profile.heartbeat_answer(&text).is_some() => {
                if let Some(answer) = profile.heartbeat_answer(&text) {
                    send(socket, Message::text(answer)).await;
                }
            }
            Next::Text(text) => answers.push((profile.classify(&text), text)),
            Next::Binary(bytes) => answers.push((
                Answer::Malformed("a binary frame".into()),
                format!("{bytes:?}"),
            )),
            Next::Closed(code, reason) => return Outcome::Closed(code, reason),
            Next::Dropped(why) => return Outcome::Dropped(why),
            Next::Silent => return Outcome::Silent,
        }
    }
}

/// What a stream met, for the test to check that it exercised errors and closes alike.
#[derive(Debug, Default)]
pub struct Tally {
    pub errors: usize,
    pub answered: usize,
    pub closes: usize,
}

fn check(profile: &str, garbage: &Garbage, outcome: &Outcome, tally: &mut Tally) {
    let what = &garbage.what;
    let expect = garbage.expect;
    let what: String = if what.chars().count() > 300 {
        what.chars().take(300).chain(['…']).collect()
    } else {
        what.clone()
    };
    match outcome {
        Outcome::Closed(code, reason) => {
            assert_ne!(*code, 1011, "{profile}: {what}: internal error ({reason})");
            assert!(
                expect.close.contains(code),
                "{profile}: {what}: closed with {code} {reason:?}, expected {expect:?}"
            );
            tally.closes += 1;
        }
        Outcome::Dropped(why) => {
            panic!("{profile}: {what}: connection dropped without a close frame ({why})")
        }
        Outcome::Silent => panic!("{profile}: {what}: no answer and no close, expected {expect:?}"),
        Outcome::Answers(answers) => {
            if let Some((why, text)) = answers
                .iter()
                .find(|(a, _)| matches!(a, Answer::Malformed(_)))
            {
                panic!("{profile}: {what}: malformed answer ({why:?}): {text}");
            }
            let counted: Vec<&(Answer, String)> =
                answers.iter().filter(|(a, _)| *a != Answer::Push).collect();
            if expect.answers {
                tally.answered += 1;
            } else if expect.error {
                assert!(
                    matches!(counted.as_slice(), [(Answer::Error, _)]),
                    "{profile}: {what}: expected exactly one error answer, got {counted:?}"
                );
                tally.errors += 1;
            } else {
                panic!("{profile}: {what}: expected a close {expect:?}, got answers {counted:?}");
            }
        }
    }
}

/// Sends `count` frames of the stream seeded with `seed`, each followed by a barrier, and checks
/// every answer; reconnects after each close. The last connection must still answer.
pub async fn garbage_stream(profile: &impl Profile, seed: u64, count: usize) -> Tally {
    let name = profile.name();
    let frames = garbage::stream(seed, count, &profile.templates(), &profile.framing());
    let mut tally = Tally::default();
    let mut socket = profile.connect().await;
    for (n, garbage) in frames.into_iter().enumerate() {
        let closes_only = garbage.expect.closes_only();
        let outcome = exchange(
            profile,
            &mut socket,
            n,
            Some(garbage.message.clone()),
            closes_only,
        )
        .await;
        check(name, &garbage, &outcome, &mut tally);
        if matches!(outcome, Outcome::Closed(..)) {
            socket = profile.connect().await;
        }
    }
    let last = exchange(profile, &mut socket, count, None, false).await;
    assert!(
        matches!(&last, Outcome::Answers(a) if a.iter().all(|(a, _)| *a == Answer::Push || *a == Answer::Other)),
        "{name}: the connection does not answer after the stream: {last:?}"
    );
    tally
}

/// One client sends `count` valid frames without reading; meanwhile a second client is served and
/// the stored data reads back. Then every frame must have been answered, unless the server closed
/// the flooding client with 1013 (the documented policy for a client that does not read).
pub async fn flood(profile: &impl Profile, count: usize) {
    let name = profile.name();
    let (mut sink, mut stream) = profile.connect().await.split();
    let frames: Vec<String> = (0..count).map(|i| profile.flood_frame(i)).collect();
    let (progress, mut sent) = watch::channel(0usize);
    let writer = tokio::spawn(async move {
        for (i, frame) in frames.into_iter().enumerate() {
            if sink.send(Message::text(frame)).await.is_err() {
                return i;
            }
            progress.send_replace(i + 1);
        }
        count
    });
    // Under way, with nobody reading its answers: a sender gone means it stopped early.
    let _ = bounded(
        "the flood to begin",
        sent.wait_for(|n| *n >= count.min(100)),
    )
    .await;

    let mut other = profile.connect().await;
    let served = exchange(profile, &mut other, 0, None, false).await;
    assert!(
        matches!(served, Outcome::Answers(_)),
        "{name}: a second client is not served during the flood: {served:?}"
    );
    profile.check_stored().await;

    let mut answered = 0;
    let closed = loop {
        if answered == count {
            break None;
        }
        match next(&mut stream).await {
            Next::Text(text) if profile.is_flood_answer(&text) => answered += 1,
            Next::Text(text) => match profile.classify(&text) {
                Answer::Malformed(why) => panic!("{name}: flood: malformed answer ({why}): {text}"),
                Answer::Error => panic!("{name}: flood: a valid frame was refused: {text}"),
                Answer::Other | Answer::Push => {}
            },
            Next::Closed(code, reason) => break Some((code, reason)),
            other => panic!("{name}: flood: after {answered} answers: {other:?}"),
        }
    };
    let written = bounded("the flood writer to finish", writer)
        .await
        .unwrap_or_else(|err| panic!("{name}: the flood writer failed: {err}"));
    match closed {
        None => assert_eq!(written, count, "{name}: not every frame was sent"),
        Some((code, reason)) => assert_eq!(
            code, 1013,
            "{name}: the flooding client was closed with {code} {reason:?} after {answered} answers"
        ),
    }
}
