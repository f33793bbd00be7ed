//! Everything the profile's handlers share: configuration, collections, credentials, the hub.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use serde_json::Value;

use crate::config::Limits;
use crate::hub::{Decision, Hub};
use crate::server::Shared;

use super::auth::Auth;
use super::config::Config;
use super::error::DirectusError;
use super::items::{build_items, Items};
use super::schema::{Accountability, Action, CollectionDef, Schema};
use super::table::{self, TableMut};

pub struct Directus {
    pub config: Config,
    pub limits: Limits,
    pub hub: Arc<Hub>,
    pub schema: Schema,
    pub auth: Auth,
    /// Open WebSocket connections, for `max_connections`.
    pub connections: AtomicUsize,
    pub shared: Shared,
}

impl Directus {
    /// Builds the profile's state and stores the configured collections' initial items.
    pub fn new(shared: &Shared) -> Arc<Directus> {
        let config = shared.config.directus.clone();
        let schema = Schema::new(config.collections.iter().map(CollectionDef::from_config));
        let state = Directus {
            auth: Auth::new(&config),
            limits: shared.config.limits.clone(),
            hub: shared.hub.clone(),
            schema,
            connections: AtomicUsize::new(0),
            shared: shared.clone(),
            config,
        };
        for collection in &state.config.collections {
            let def = CollectionDef::from_config(collection);
            state.seed(&def, &collection.items);
        }
        Arc::new(state)
    }

    /// Creates an empty table for `def` and stores `items` in it, publishing nothing.
    pub fn seed(&self, def: &CollectionDef, items: &[serde_json::Map<String, Value>]) {
        self.hub.update(&table::topic(&def.name), |slot| {
            let mut table = TableMut::new(slot);
            match build_items(def, &mut table, items) {
                Ok(built) => {
                    for item in built {
                        table.put(item);
                    }
                }
                Err(err) => {
                    tracing::warn!(collection = %def.name, %err, "initial items not stored")
                }
            }
            Decision::Quiet
        });
    }

    pub fn max_message_bytes(&self) -> usize {
        self.config
            .max_message_bytes
            .unwrap_or(self.limits.max_message_bytes)
    }

    /// The collection, if `who` may do `action` to it.
    pub fn authorize(
        &self,
        who: &Accountability,
        collection: &str,
        action: Action,
    ) -> Result<Arc<CollectionDef>, DirectusError> {
        self.schema.authorize(who, collection, action)
    }

    pub fn items<'a>(&'a self, collection: &'a CollectionDef) -> Items<'a> {
        Items::new(&self.hub, collection)
    }
}
