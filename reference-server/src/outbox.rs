//! The bounded outbound queue of one connection.
//!
//! Policy for a consumer that cannot keep up: when its queue is full, the message that did not fit
//! is dropped, the connection is flagged as overflowed, every later push is refused, and the
//! connection's task closes it (WebSocket close 1013 "Try Again Later", or the profile's own
//! equivalent). Memory per connection is therefore bounded by the queue capacity, and a client never
//! silently misses an event while staying connected.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};

use crate::hub::{ConnId, Delivery};

/// Close code sent to a consumer whose queue overflowed (RFC 6455 registry: Try Again Later).
pub const OVERFLOW_CLOSE_CODE: u16 = 1013;
pub const OVERFLOW_CLOSE_REASON: &str = "outbound queue full";

/// Something a connection will write.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A frame already rendered, shared between recipients.
    Text(Arc<str>),
    /// A change for one of the connection's subscriptions, rendered by the connection itself.
    Delivery(Delivery),
    /// Close the connection with this code and reason.
    Close(u16, Arc<str>),
}

struct Shared {
    overflowed: AtomicBool,
    notify: Notify,
}

/// The sending side; cloned into the hub for each subscription.
#[derive(Clone)]
pub struct Outbox {
    conn: ConnId,
    tx: mpsc::Sender<Outbound>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("conn", &self.conn).finish()
    }
}

/// The receiving side, owned by the connection's task.
pub struct Inbox {
    rx: mpsc::Receiver<Outbound>,
    shared: Arc<Shared>,
}

impl Outbox {
    pub fn new(conn: ConnId, capacity: usize) -> (Outbox, Inbox) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let shared = Arc::new(Shared {
            overflowed: AtomicBool::new(false),
            notify: Notify::new(),
        });
        (
            Outbox {
                conn,
                tx,
                shared: shared.clone(),
            },
            Inbox { rx, shared },
        )
    }

    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// Queues `item`; false when the connection is gone or has overflowed (the caller may forget it).
    pub fn push(&self, item: Outbound) -> bool {
        if self.shared.overflowed.load(Ordering::Acquire) {
            return false;
        }
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.overflowed.store(true, Ordering::Release);
                self.shared.notify.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues a rendered text frame.
    pub fn text(&self, frame: impl Into<Arc<str>>) -> bool {
        self.push(Outbound::Text(frame.into()))
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl Inbox {
    /// Waits for the next item; `None` when every sender is gone.
    pub async fn recv(&mut self) -> Option<Outbound> {
        self.rx.recv().await
    }

    pub fn try_recv(&mut self) -> Option<Outbound> {
        self.rx.try_recv().ok()
    }

    /// Waits for the next item, then takes up to `max - 1` more that are already queued, so the
    /// writer can feed them all and flush once.
    pub async fn recv_batch(&mut self, batch: &mut Vec<Outbound>, max: usize) -> bool {
        batch.clear();
        match self.rx.recv().await {
            Some(first) => batch.push(first),
            None => return false,
        }
        while batch.len() < max {
            match self.rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        true
    }

    pub fn overflowed(&self) -> bool {
        self.shared.overflowed.load(Ordering::Acquire)
    }

    /// Resolves once the queue has overflowed.
    pub async fn wait_overflow(&self) {
        loop {
            let notified = self.shared.notify.notified();
            if self.overflowed() {
                return;
            }
            notified.await;
        }
    }
}
