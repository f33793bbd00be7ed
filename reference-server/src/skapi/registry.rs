//! The open connections of each service, by connection id: how an `rtc` signal finds its one target.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand::distr::{Alphanumeric, SampleString};

use crate::outbox::Outbox;

/// The outboxes of one service's connections, by connection id.
type Connections = HashMap<Arc<str>, Outbox>;

/// Connection ids per service; a service never resolves another service's connection.
#[derive(Default)]
pub struct Registry {
    services: Mutex<HashMap<Arc<str>, Connections>>,
}

const CID_LEN: usize = 16;

impl Registry {
    /// Registers a connection under a fresh connection id and returns the id.
    pub fn register(&self, service: &str, outbox: Outbox) -> Arc<str> {
        let mut services = lock(&self.services);
        let connections = services.entry(Arc::from(service)).or_default();
        let cid: Arc<str> = loop {
            let candidate = Alphanumeric.sample_string(&mut rand::rng(), CID_LEN);
            if !connections.contains_key(candidate.as_str()) {
                break candidate.into();
            }
        };
        connections.insert(cid.clone(), outbox);
        cid
    }

    pub fn unregister(&self, service: &str, cid: &str) {
        let mut services = lock(&self.services);
        if let Some(connections) = services.get_mut(service) {
            connections.remove(cid);
            if connections.is_empty() {
                services.remove(service);
            }
        }
    }

    /// The outbox of connection `cid` of `service`, if open.
    pub fn outbox(&self, service: &str, cid: &str) -> Option<Outbox> {
        lock(&self.services)
            .get(service)
            .and_then(|connections| connections.get(cid))
            .cloned()
    }
}

// A poisoned lock means a panic while holding it; the map stays consistent (every change is one
// insert or remove), so keep serving.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(conn: u64) -> Outbox {
        Outbox::new(conn, 4).0
    }

    #[test]
    fn connections_resolve_only_within_their_service() {
        let registry = Registry::default();
        let a = registry.register("one", outbox(1));
        let b = registry.register("one", outbox(2));
        assert_ne!(a, b);
        assert!(registry.outbox("one", &a).is_some());
        assert!(registry.outbox("two", &a).is_none());
        registry.unregister("one", &a);
        assert!(registry.outbox("one", &a).is_none());
        assert!(registry.outbox("one", &b).is_some());
    }
}
