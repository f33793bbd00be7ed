//! When a connection must end: after an idle period without any client frame, or at its maximum age
//! (the limits of the API Gateway the real service runs on: 10 minutes idle, 2 hours in all).

use std::time::Duration;

use tokio::time::Instant;

/// Why a connection ended by the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Idle,
    MaxAge,
}

impl Expiry {
    pub fn close_reason(self) -> &'static str {
        match self {
            Expiry::Idle => "idle timeout",
            Expiry::MaxAge => "maximum connection duration reached",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Lifetime {
    idle_timeout: Duration,
    ends_at: Option<Instant>,
    last_activity: Instant,
}

impl Lifetime {
    pub fn new(opened: Instant, idle_timeout: Duration, max_age: Duration) -> Lifetime {
        Lifetime {
            idle_timeout,
            // A maximum age too large to represent never arrives.
            ends_at: opened.checked_add(max_age),
            last_activity: opened,
        }
    }

    /// A client frame arrived.
    pub fn touch(&mut self, now: Instant) {
        self.last_activity = now;
    }

    /// The next instant the connection must end at and why; `None` if never.
    pub fn deadline(&self) -> Option<(Instant, Expiry)> {
        let idle = self
            .last_activity
            .checked_add(self.idle_timeout)
            .map(|at| (at, Expiry::Idle));
        let age = self.ends_at.map(|at| (at, Expiry::MaxAge));
        match (idle, age) {
            (Some(idle), Some(age)) => Some(if age.0 <= idle.0 { age } else { idle }),
            (one, other) => one.or(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn activity_pushes_the_idle_deadline_but_not_the_age() {
        let start = Instant::now();
        let mut life = Lifetime::new(start, 10 * SECOND, 25 * SECOND);
        assert_eq!(life.deadline(), Some((start + 10 * SECOND, Expiry::Idle)));
        life.touch(start + 8 * SECOND);
        assert_eq!(life.deadline(), Some((start + 18 * SECOND, Expiry::Idle)));
        life.touch(start + 17 * SECOND);
        assert_eq!(life.deadline(), Some((start + 25 * SECOND, Expiry::MaxAge)));
    }

    #[test]
    fn unrepresentable_periods_never_expire() {
        let start = Instant::now();
        let life = Lifetime::new(start, Duration::MAX, Duration::MAX);
        assert_eq!(life.deadline(), None);
        let life = Lifetime::new(start, SECOND, Duration::MAX);
        assert_eq!(life.deadline(), Some((start + SECOND, Expiry::Idle)));
    }
}
