//! The live sessions, by session id: how an HTTP request or a probe WebSocket finds its session.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::mpsc;

use super::session::Command;

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, mpsc::Sender<Command>>>,
}

impl Sessions {
    /// Registers a session under `sid`; false (and nothing registered) if the id is taken.
    pub(super) fn insert(&self, sid: &str, commands: mpsc::Sender<Command>) -> bool {
        let mut map = self.lock();
        if map.contains_key(sid) {
            return false;
        }
        map.insert(sid.to_owned(), commands);
        true
    }

    pub(super) fn get(&self, sid: &str) -> Option<mpsc::Sender<Command>> {
        self.lock().get(sid).cloned()
    }

    pub(super) fn remove(&self, sid: &str) {
        self.lock().remove(sid);
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // The map holds plain senders: a panic while holding the lock leaves it consistent.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<Command>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}
