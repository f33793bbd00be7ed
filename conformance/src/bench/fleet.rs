//! Many subscriber sockets from one process: opened concurrently up to a bound, then read by a fixed number of
//! shard tasks (not one task per socket), each counting the stamps its subscribers receive.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, SelectAll, SplitSink};
use futures_util::{SinkExt, Stream, StreamExt};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{self, Message};

use super::open::{open, Socket};
use super::stamp::{Stamp, StampCodec};
use super::subject::{Heartbeat, Subject};
use super::tally::{SentClock, ShardTally, SubscriberTally};

/// How the fleet connects and reads.
#[derive(Debug, Clone)]
pub struct FleetParams {
    /// Reader tasks; subscriber `i` belongs to shard `i % shards`.
    pub shards: usize,
    /// Upgrades (with their opening steps) in flight at once.
    pub connect_concurrency: usize,
    /// The most one upgrade and its opening steps may take.
    pub connect_timeout: Duration,
}

impl Default for FleetParams {
    fn default() -> Self {
        FleetParams {
            shards: 4,
            connect_concurrency: 64,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Counters the shards keep current, so the run can wait for them without stopping the shards.
#[derive(Debug, Default)]
pub struct Progress {
    /// Subscribers that have seen a warm-up marker.
    pub ready: AtomicUsize,
    /// Subscribers that have received every change.
    pub complete: AtomicUsize,
    /// Subscribers the server disconnected.
    pub closed: AtomicUsize,
    /// Subscribers complete or disconnected: nothing more to wait for from them.
    pub finished: AtomicUsize,
    /// When the latest first reception of a change arrived: nanoseconds since the clock's epoch, plus one.
    pub last_push: AtomicU64,
}

/// How opening the subscribers went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectStats {
    pub attempted: usize,
    pub connected: usize,
    pub failed: usize,
    pub first_failure: Option<String>,
    /// From the first upgrade to the last subscriber opened.
    pub seconds: f64,
    /// Subscribers opened (upgrade and opening steps) per second.
    pub per_second: f64,
    /// Frames of the opening steps that no server schema allows.
    pub violations: usize,
    pub first_violation: Option<String>,
}

/// Frames of subscriber 0 kept for the schema check, at most.
const KEPT_FRAMES: usize = 20_000;
/// The most closing a shard's sockets may take when the fleet stops.
const CLOSE_BOUND: Duration = Duration::from_secs(2);
/// The most a heartbeat answer may take to write.
const HEARTBEAT_BOUND: Duration = Duration::from_secs(1);

struct Member {
    index: usize,
    socket: Socket,
}

/// Subscriber sockets spread over shard tasks.
pub struct Fleet {
    params: FleetParams,
    inputs: Vec<mpsc::UnboundedSender<Member>>,
    shards: Vec<JoinHandle<ShardTally>>,
    progress: Arc<Progress>,
    stop: watch::Sender<bool>,
}

impl Fleet {
    /// Starts the shard tasks; each subscriber expects `changes` changes stamped with `codec`.
    pub fn start(
        params: FleetParams,
        codec: StampCodec,
        heartbeat: Heartbeat,
        changes: usize,
        clock: Arc<SentClock>,
    ) -> Fleet {
        let progress = Arc::new(Progress::default());
        let (stop, stopped) = watch::channel(false);
        let mut inputs = Vec::new();
        let mut shards = Vec::new();
        for _ in 0..params.shards.max(1) {
            let (input, members) = mpsc::unbounded_channel();
            let shard = Shard {
                codec: codec.clone(),
                heartbeat,
                changes,
                clock: clock.clone(),
                progress: progress.clone(),
                subs: Vec::new(),
                tally: ShardTally::default(),
            };
            inputs.push(input);
            shards.push(tokio::spawn(shard.run(members, stopped.clone())));
        }
        Fleet {
            params,
            inputs,
            shards,
            progress,
            stop,
        }
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Opens `count` subscribers of `subject` (or idle connections, when `idle`), at most `connect_concurrency`
    /// at once, and hands each to its shard.
    pub async fn connect(&self, subject: &dyn Subject, count: usize, idle: bool) -> ConnectStats {
        let check = subject.frame_check();
        let timeout = self.params.connect_timeout;
        let started = Instant::now();
        let mut stats = ConnectStats {
            attempted: count,
            ..ConnectStats::default()
        };
        let mut opening = stream::iter(0..count)
            .map(|index| {
                let plan = if idle {
                    subject.idle_plan(index)
                } else {
                    subject.plan(index)
                };
                let check = check.as_ref();
                async move { (index, open(plan, check, timeout).await) }
            })
            .buffer_unordered(self.params.connect_concurrency.max(1));
        while let Some((index, result)) = opening.next().await {
            match result {
                Ok(opened) => {
                    stats.connected += 1;
                    stats.violations += opened.violations.len();
                    if let Some(first) = opened.violations.into_iter().next() {
                        stats.first_violation.get_or_insert(first);
                    }
                    let shard = index % self.inputs.len().max(1);
                    if let Some(input) = self.inputs.get(shard) {
                        let _ = input.send(Member {
                            index,
                            socket: opened.socket,
                        });
                    }
                }
                Err(reason) => {
                    stats.failed += 1;
                    stats
                        .first_failure
                        .get_or_insert_with(|| format!("subscriber {index}: {reason}"));
                }
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        stats.seconds = elapsed;
        stats.per_second = rate(stats.connected, elapsed);
        stats
    }

    /// Stops the shards, closes every socket (bounded), and returns what each shard counted.
    pub async fn stop(self) -> Vec<ShardTally> {
        let _ = self.stop.send(true);
        drop(self.inputs);
        let mut tallies = Vec::new();
        for shard in self.shards {
            let abort = shard.abort_handle();
            match tokio::time::timeout(CLOSE_BOUND * 2, shard).await {
                Ok(Ok(tally)) => tallies.push(tally),
                Ok(Err(_)) => {}
                Err(_) => abort.abort(),
            }
        }
        tallies
    }
}

/// `count` per second over `seconds`; 0 when no time passed.
pub fn rate(count: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

type Reader =
    Pin<Box<dyn Stream<Item = (usize, Option<Result<Message, tungstenite::Error>>)> + Send>>;

struct Sub {
    tally: SubscriberTally,
    /// Receptions of each change.
    counts: Vec<u8>,
    sink: SplitSink<Socket, Message>,
    /// Whether this subscriber's frames are kept for the schema check.
    keep: bool,
    finished: bool,
}

struct Shard {
    codec: StampCodec,
    heartbeat: Heartbeat,
    changes: usize,
    clock: Arc<SentClock>,
    progress: Arc<Progress>,
    subs: Vec<Sub>,
    tally: ShardTally,
}

impl Shard {
    async fn run(
        mut self,
        mut members: mpsc::UnboundedReceiver<Member>,
        mut stop: watch::Receiver<bool>,
    ) -> ShardTally {
        let mut readers: SelectAll<Reader> = SelectAll::new();
        let mut accepting = true;
        loop {
            tokio::select! {
                biased;
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                }
                member = members.recv(), if accepting => match member {
                    Some(member) => self.add(member, &mut readers),
                    None => accepting = false,
                },
                Some((local, message)) = readers.next(), if !readers.is_empty() => {
                    self.on_message(local, message, Instant::now()).await;
                }
            }
        }
        self.close_all().await;
        self.tally.subscribers = self.subs.into_iter().map(|s| s.tally).collect();
        self.tally
    }

    fn add(&mut self, member: Member, readers: &mut SelectAll<Reader>) {
        let local = self.subs.len();
        let (sink, stream) = member.socket.split();
        let ended = stream::once(async move { (local, None) });
        readers.push(Box::pin(stream.map(move |m| (local, Some(m))).chain(ended)));
        self.subs.push(Sub {
            tally: SubscriberTally {
                index: member.index,
                ..SubscriberTally::default()
            },
            counts: vec![0; self.changes],
            sink,
            keep: member.index == 0,
            finished: false,
        });
    }

    async fn on_message(
        &mut self,
        local: usize,
        message: Option<Result<Message, tungstenite::Error>>,
        at: Instant,
    ) {
        match message {
            Some(Ok(Message::Text(text))) => self.on_text(local, text.as_str(), at).await,
            Some(Ok(Message::Binary(_))) => {
                if let Some(sub) = self.subs.get_mut(local) {
                    sub.tally.other += 1;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let reason = match frame {
                    Some(f) => format!("closed by the server: {} {}", u16::from(f.code), f.reason)
                        .trim_end()
                        .to_owned(),
                    None => "closed by the server without a code".to_owned(),
                };
                self.on_closed(local, reason);
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => self.on_closed(local, format!("connection error: {error}")),
            None => self.on_closed(local, "the connection ended without a close frame".into()),
        }
    }

    async fn on_text(&mut self, local: usize, text: &str, at: Instant) {
        let Some(sub) = self.subs.get_mut(local) else {
            return;
        };
        if sub.keep && self.tally.kept.len() < KEPT_FRAMES {
            self.tally.kept.push(text.to_owned());
        }
        match self.codec.decode(text) {
            Some(Stamp::Change(n)) => {
                let n = n as usize;
                let sent = self.clock.sent(n);
                let count = sub.counts.get_mut(n);
                let (Some(sent), Some(count)) = (sent, count) else {
                    sub.tally.unexpected += 1;
                    return;
                };
                *count = count.saturating_add(1);
                if *count > 1 {
                    sub.tally.duplicates += 1;
                    return;
                }
                sub.tally.distinct += 1;
                let latency = at.saturating_duration_since(sent).as_nanos();
                self.tally
                    .latencies
                    .push(u64::try_from(latency).unwrap_or(u64::MAX));
                self.tally.last_push = self.tally.last_push.max(Some(at));
                self.progress
                    .last_push
                    .fetch_max(self.clock.nanos(at) + 1, Ordering::Relaxed);
                if sub.tally.distinct == self.changes && !sub.finished {
                    sub.finished = true;
                    self.progress.complete.fetch_add(1, Ordering::Relaxed);
                    self.progress.finished.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(Stamp::WarmUp(_)) => {
                if !sub.tally.ready {
                    sub.tally.ready = true;
                    self.progress.ready.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => match (self.heartbeat)(text) {
                Some(answer) => {
                    let _ =
                        tokio::time::timeout(HEARTBEAT_BOUND, sub.sink.send(Message::text(answer)))
                            .await;
                }
                None => sub.tally.other += 1,
            },
        }
    }

    fn on_closed(&mut self, local: usize, reason: String) {
        let Some(sub) = self.subs.get_mut(local) else {
            return;
        };
        if sub.tally.closed.is_some() {
            return;
        }
        sub.tally.closed = Some(reason);
        self.progress.closed.fetch_add(1, Ordering::Relaxed);
        if !sub.finished {
            sub.finished = true;
            self.progress.finished.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends a close frame on every socket still open, within [`CLOSE_BOUND`] for the whole shard.
    async fn close_all(&mut self) {
        let deadline = Instant::now() + CLOSE_BOUND;
        for sub in &mut self.subs {
            if sub.tally.closed.is_some() {
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let _ = tokio::time::timeout(left, sub.sink.send(Message::Close(None))).await;
        }
    }
}
