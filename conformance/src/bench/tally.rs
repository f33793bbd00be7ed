//! Accounting: when each change was caused, what each subscriber received, and the figures derived from them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// When each measured change was caused, shared by the run and the shards that compute latencies.
#[derive(Debug)]
pub struct SentClock {
    epoch: Instant,
    /// Nanoseconds since `epoch`, plus one; 0 while the change has not been caused.
    sent: Vec<AtomicU64>,
}

impl SentClock {
    pub fn new(changes: usize) -> SentClock {
        SentClock {
            epoch: Instant::now(),
            sent: (0..changes).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Notes that change `n` is being caused now.
    pub fn mark(&self, n: usize) {
        if let Some(slot) = self.sent.get(n) {
            slot.store(self.nanos(Instant::now()) + 1, Ordering::Release);
        }
    }

    /// When change `n` was caused.
    pub fn sent(&self, n: usize) -> Option<Instant> {
        let stored = self.sent.get(n)?.load(Ordering::Acquire);
        let nanos = stored.checked_sub(1)?;
        Some(self.epoch + Duration::from_nanos(nanos))
    }

    /// `at` as nanoseconds since the epoch.
    pub fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// What one subscriber received.
#[derive(Debug, Clone, Default)]
pub struct SubscriberTally {
    pub index: usize,
    /// Distinct changes received.
    pub distinct: usize,
    /// Receptions beyond the first of a change.
    pub duplicates: usize,
    /// Stamps of this run naming a change that was never caused.
    pub unexpected: usize,
    /// Whether it saw a warm-up marker.
    pub ready: bool,
    /// Frames that carried no stamp (acknowledgements, notices, heartbeats).
    pub other: usize,
    /// How the connection ended, if the server ended it.
    pub closed: Option<String>,
}

/// What one shard's subscribers received.
#[derive(Debug, Default)]
pub struct ShardTally {
    pub subscribers: Vec<SubscriberTally>,
    /// Change-to-push latency of every first reception, in nanoseconds.
    pub latencies: Vec<u64>,
    pub last_push: Option<Instant>,
    /// Every frame subscriber 0 received, for the schema check.
    pub kept: Vec<String>,
}

/// Percentiles of the change-to-push latency, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `nanos` (sorted here).
    pub fn of(mut nanos: Vec<u64>) -> Latency {
        nanos.sort_unstable();
        let at = |q: f64| -> f64 {
            if nanos.is_empty() {
                return 0.0;
            }
            let rank = (q * nanos.len() as f64).ceil() as usize;
            let index = rank.clamp(1, nanos.len()) - 1;
            nanos.get(index).copied().unwrap_or_default() as f64 / 1e6
        };
        Latency {
            samples: nanos.len(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: nanos.last().copied().unwrap_or_default() as f64 / 1e6,
        }
    }
}

/// Whether every push arrived exactly once, counted per subscriber.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Delivery {
    /// Subscribers × changes caused.
    pub expected: usize,
    /// Distinct (subscriber, change) pairs received.
    pub delivered: usize,
    pub lost: usize,
    pub duplicated: usize,
    /// Stamps of this run naming a change that was never caused.
    pub unexpected: usize,
    pub subscribers_with_loss: usize,
    pub subscribers_with_duplicates: usize,
    /// Subscribers the server disconnected before the run ended.
    pub closed_early: usize,
    /// The first close reason seen, if any.
    pub first_close: Option<String>,
    /// The fewest distinct changes one subscriber received.
    pub worst_subscriber: Option<usize>,
    /// Nothing lost, nothing duplicated, nothing unexpected.
    pub exact: bool,
}

impl Delivery {
    /// Totals over `subscribers`, each of which should have received `caused` changes.
    pub fn of(subscribers: &[SubscriberTally], caused: usize) -> Delivery {
        let mut delivery = Delivery {
            expected: subscribers.len() * caused,
            ..Delivery::default()
        };
        for sub in subscribers {
            delivery.delivered += sub.distinct;
            delivery.duplicated += sub.duplicates;
            delivery.unexpected += sub.unexpected;
            delivery.subscribers_with_loss += usize::from(sub.distinct < caused);
            delivery.subscribers_with_duplicates += usize::from(sub.duplicates > 0);
            if let Some(reason) = &sub.closed {
                delivery.closed_early += 1;
                delivery.first_close.get_or_insert_with(|| reason.clone());
            }
        }
        delivery.worst_subscriber = subscribers.iter().map(|s| s.distinct).min();
        delivery.lost = delivery.expected.saturating_sub(delivery.delivered);
        delivery.exact = delivery.lost == 0 && delivery.duplicated == 0 && delivery.unexpected == 0;
        delivery
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let latency = Latency::of((1..=100).rev().map(|ms| ms * 1_000_000).collect());
        assert_eq!(latency.samples, 100);
        assert_eq!(latency.p50_ms, 50.0);
        assert_eq!(latency.p99_ms, 99.0);
        assert_eq!(latency.max_ms, 100.0);
        assert_eq!(Latency::of(Vec::new()).samples, 0);
    }

    #[test]
    fn delivery_counts_losses_and_duplicates_per_subscriber() {
        let subscribers = [
            SubscriberTally {
                distinct: 10,
                ..SubscriberTally::default()
            },
            SubscriberTally {
                index: 1,
                distinct: 8,
                duplicates: 3,
                closed: Some("1013 outbound queue full".into()),
                ..SubscriberTally::default()
            },
        ];
        let delivery = Delivery::of(&subscribers, 10);
        assert_eq!(delivery.expected, 20);
        assert_eq!(delivery.delivered, 18);
        assert_eq!(delivery.lost, 2);
        assert_eq!(delivery.duplicated, 3);
        assert_eq!(delivery.subscribers_with_loss, 1);
        assert_eq!(delivery.subscribers_with_duplicates, 1);
        assert_eq!(delivery.closed_early, 1);
        assert_eq!(delivery.worst_subscriber, Some(8));
        assert!(!delivery.exact);
    }

    #[test]
    fn the_clock_knows_only_caused_changes() {
        let clock = SentClock::new(2);
        assert_eq!(clock.sent(0), None);
        clock.mark(0);
        assert!(clock.sent(0).is_some_and(|at| at >= clock.epoch()));
        assert_eq!(clock.sent(1), None);
        clock.mark(7);
        assert_eq!(clock.sent(7), None);
    }
}
