//! Time-driven rules of a connection, kept free of I/O so they can be tested with made-up instants:
//! the heartbeat and the message rate limit.

use std::time::Duration;

use tokio::time::Instant;

/// The server's `{"type":"ping"}` every period; a connection silent for a whole period after a ping
/// is closed. Any valid message counts as a sign of life.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    period: Duration,
    next: Instant,
    /// A ping went out and nothing has come back since.
    awaiting: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// Not due yet.
    Wait,
    SendPing,
    /// The last ping went unanswered for a whole period.
    Close,
}

impl Heartbeat {
    /// `None` when the period is zero (heartbeat disabled).
    pub fn start(period: Duration, now: Instant) -> Option<Heartbeat> {
        (!period.is_zero()).then(|| Heartbeat {
            period,
            next: now + period,
            awaiting: false,
        })
    }

    pub fn deadline(&self) -> Instant {
        self.next
    }

    pub fn message_received(&mut self) {
        self.awaiting = false;
    }

    pub fn tick(&mut self, now: Instant) -> Beat {
        if now < self.next {
            return Beat::Wait;
        }
        if self.awaiting {
            return Beat::Close;
        }
        self.awaiting = true;
        // Catch up without a burst of pings when the task was not scheduled for a while.
        self.next += self.period;
        if self.next <= now {
            self.next = now + self.period;
        }
        Beat::SendPing
    }
}

/// At most `points` messages per fixed window of `window`.
#[derive(Debug, Clone)]
pub struct RateLimit {
    points: u32,
    window: Duration,
    started: Instant,
    used: u32,
}

impl RateLimit {
    pub fn new(points: u32, window: Duration, now: Instant) -> RateLimit {
        RateLimit {
            points,
            window,
            started: now,
            used: 0,
        }
    }

    /// Ok when the message may be handled; Err with the wait until the window reopens.
    pub fn consume(&mut self, now: Instant) -> Result<(), Duration> {
        if now.duration_since(self.started) >= self.window {
            self.started = now;
            self.used = 0;
        }
        if self.used < self.points {
            self.used += 1;
            Ok(())
        } else {
            Err(self.window.saturating_sub(now.duration_since(self.started)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(30);

    #[test]
    fn disabled_when_the_period_is_zero() {
        assert!(Heartbeat::start(Duration::ZERO, Instant::now()).is_none());
    }

    #[test]
    fn an_answered_ping_keeps_the_connection() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::start(PERIOD, t0).expect("enabled");
        assert_eq!(hb.tick(t0 + Duration::from_secs(29)), Beat::Wait);
        assert_eq!(hb.tick(t0 + PERIOD), Beat::SendPing);
        hb.message_received();
        assert_eq!(hb.deadline(), t0 + 2 * PERIOD);
        assert_eq!(hb.tick(t0 + 2 * PERIOD), Beat::SendPing);
        hb.message_received();
        assert_eq!(hb.tick(t0 + 3 * PERIOD), Beat::SendPing);
    }

    #[test]
    fn an_ignored_ping_closes_after_one_more_period() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::start(PERIOD, t0).expect("enabled");
        // A message before the ping does not answer it.
        hb.message_received();
        assert_eq!(hb.tick(t0 + PERIOD), Beat::SendPing);
        assert_eq!(hb.tick(t0 + PERIOD + Duration::from_secs(1)), Beat::Wait);
        assert_eq!(hb.tick(t0 + 2 * PERIOD), Beat::Close);
    }

    #[test]
    fn a_late_tick_does_not_burst() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::start(PERIOD, t0).expect("enabled");
        let late = t0 + 5 * PERIOD;
        assert_eq!(hb.tick(late), Beat::SendPing);
        assert_eq!(hb.deadline(), late + PERIOD);
    }

    #[test]
    fn rate_limit_windows() {
        let t0 = Instant::now();
        let window = Duration::from_secs(2);
        let mut limit = RateLimit::new(2, window, t0);
        assert!(limit.consume(t0).is_ok());
        assert!(limit.consume(t0).is_ok());
        assert_eq!(
            limit.consume(t0 + Duration::from_millis(500)),
            Err(Duration::from_millis(1500))
        );
        assert!(limit.consume(t0 + window).is_ok());
    }
}
