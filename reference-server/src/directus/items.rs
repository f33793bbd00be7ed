//! Reading and writing items, shared by the REST API and `items` messages over the socket.
//!
//! Every write is one `Hub::update` of the collection's topic: the change and its fan-out to the
//! collection's subscriptions happen atomically, in order. The published body is
//! `{"keys": [...], "items": [...]}`: the keys as the writer gave them (a URL gives text, a body
//! numbers; delete events echo them), and the items as they are after the change (before it, for a
//! delete).

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use crate::hub::{ChangeKind, Decision, Hub};

use super::config::PrimaryKeyKind;
use super::error::DirectusError;
use super::query::{Query, DEFAULT_LIMIT};
use super::schema::{CollectionDef, PRIMARY_KEY};
use super::table::{self, key_text, Table, TableMut};

/// Operations on the items of one collection whose access has been checked already.
pub struct Items<'a> {
    hub: &'a Hub,
    collection: &'a CollectionDef,
}

impl<'a> Items<'a> {
    pub fn new(hub: &'a Hub, collection: &'a CollectionDef) -> Items<'a> {
        Items { hub, collection }
    }

    /// Runs `f` on the stored items under the collection's lock, without copying them.
    pub fn with_table<R>(&self, f: impl FnOnce(Table<'_>) -> R) -> R {
        let mut out = None;
        self.hub
            .update(&table::topic(&self.collection.name), |slot| {
                out = Some(f(Table::new(slot)));
                Decision::Quiet
            });
        // Our own invariant, not peer data: `Hub::update` runs its closure exactly once.
        out.expect("Hub::update runs its closure")
    }

    pub fn read_one(&self, key: &Value, query: &Query) -> Result<Value, DirectusError> {
        self.with_table(|t| match t.get(key) {
            Some(item) if query.matches(item) => Ok(query.project(item)),
            _ => Err(DirectusError::forbidden()),
        })
    }

    /// The items with these keys that pass the query, in query order (no default limit).
    pub fn read_many(&self, keys: &[Value], query: &Query) -> Vec<Value> {
        self.with_table(|t| query.select(keys.iter().filter_map(|k| t.get(k)), None))
    }

    pub fn read_by_query(&self, query: &Query) -> (Vec<Value>, Option<Value>) {
        self.with_table(|t| {
            (
                query.select(t.items(), Some(DEFAULT_LIMIT)),
                query.meta(t.items()),
            )
        })
    }

    pub fn meta(&self, query: &Query) -> Option<Value> {
        self.with_table(|t| query.meta(t.items()))
    }

    /// Creates every record or none; returns the items as stored.
    pub fn create(&self, records: &[Map<String, Value>]) -> Result<Vec<Value>, DirectusError> {
        let mut outcome = Err(DirectusError::forbidden());
        self.hub
            .update(&table::topic(&self.collection.name), |slot| {
                let mut table = TableMut::new(slot);
                match build_items(self.collection, &mut table, records) {
                    Ok(created) => {
                        for item in &created {
                            table.put(item.clone());
                        }
                        let keys: Vec<Value> = created
                            .iter()
                            .map(|i| i.get(PRIMARY_KEY).cloned().unwrap_or(Value::Null))
                            .collect();
                        let body = json!({"keys": keys, "items": created});
                        outcome = Ok(created);
                        Decision::Publish(ChangeKind::Create, body)
                    }
                    Err(e) => {
                        outcome = Err(e);
                        Decision::Quiet
                    }
                }
            });
        outcome
    }

    /// Applies one patch to every key; all must exist. Returns the updated items.
    pub fn update_many(
        &self,
        keys: &[Value],
        patch: &Map<String, Value>,
    ) -> Result<Vec<Value>, DirectusError> {
        let changes: Vec<(Value, &Map<String, Value>)> =
            keys.iter().map(|k| (k.clone(), patch)).collect();
        self.apply_updates(keys.to_vec(), &changes)
    }

    /// Updates each record by its own `id`; all must exist. Returns the updated items.
    pub fn update_batch(
        &self,
        records: &[Map<String, Value>],
    ) -> Result<Vec<Value>, DirectusError> {
        let mut changes = Vec::with_capacity(records.len());
        for record in records {
            let key = record.get(PRIMARY_KEY).cloned().ok_or_else(|| {
                DirectusError::invalid_payload("Each item of a batch update needs its \"id\"")
            })?;
            changes.push((key, record));
        }
        let keys = changes.iter().map(|(k, _)| k.clone()).collect();
        self.apply_updates(keys, &changes)
    }

    /// Updates the items the query selects (every match unless the query limits it); returns their keys.
    pub fn update_by_query(
        &self,
        query: &Query,
        patch: &Map<String, Value>,
    ) -> Result<Vec<Value>, DirectusError> {
        let keys = self.keys_matching(query);
        if keys.is_empty() {
            return Ok(keys);
        }
        self.update_many(&keys, patch)?;
        Ok(keys)
    }

    fn apply_updates(
        &self,
        keys: Vec<Value>,
        changes: &[(Value, &Map<String, Value>)],
    ) -> Result<Vec<Value>, DirectusError> {
        let mut outcome = Err(DirectusError::forbidden());
        self.hub
            .update(&table::topic(&self.collection.name), |slot| {
                let mut table = TableMut::new(slot);
                if changes.iter().any(|(k, _)| !table.contains(k)) {
                    return Decision::Quiet;
                }
                let mut updated = Vec::with_capacity(changes.len());
                for (key, patch) in changes {
                    if let Some(Value::Object(item)) = table.get_mut(key) {
                        for field in &self.collection.fields {
                            if field == PRIMARY_KEY {
                                continue;
                            }
                            if let Some(value) = patch.get(field) {
                                item.insert(field.clone(), value.clone());
                            }
                        }
                        updated.push(Value::Object(item.clone()));
                    }
                }
                let body = json!({"keys": keys, "items": updated});
                outcome = Ok(updated);
                Decision::Publish(ChangeKind::Update, body)
            });
        outcome
    }

    /// Deletes every key or none (a missing key refuses the whole delete).
    pub fn delete_many(&self, keys: &[Value]) -> Result<(), DirectusError> {
        let mut outcome = Err(DirectusError::forbidden());
        self.hub
            .update(&table::topic(&self.collection.name), |slot| {
                let mut table = TableMut::new(slot);
                if keys.iter().any(|k| !table.contains(k)) {
                    return Decision::Quiet;
                }
                let removed: Vec<Value> = keys.iter().filter_map(|k| table.remove(k)).collect();
                outcome = Ok(());
                Decision::Publish(ChangeKind::Delete, json!({"keys": keys, "items": removed}))
            });
        outcome
    }

    /// Deletes the items the query selects; returns their keys.
    pub fn delete_by_query(&self, query: &Query) -> Result<Vec<Value>, DirectusError> {
        let keys = self.keys_matching(query);
        if !keys.is_empty() {
            self.delete_many(&keys)?;
        }
        Ok(keys)
    }

    fn keys_matching(&self, query: &Query) -> Vec<Value> {
        let keys_only = Query {
            fields: Some(vec![PRIMARY_KEY.to_owned()]),
            meta: None,
            ..query.clone()
        };
        self.with_table(|t| keys_only.select(t.items(), None))
            .into_iter()
            .filter_map(|item| item.get(PRIMARY_KEY).cloned())
            .collect()
    }
}

/// Builds the stored form of new records: every field of the collection (unknown ones dropped,
/// missing ones null) and a primary key, checked for uniqueness against the table and each other.
pub fn build_items(
    collection: &CollectionDef,
    table: &mut TableMut<'_>,
    records: &[Map<String, Value>],
) -> Result<Vec<Value>, DirectusError> {
    let mut built: Vec<Value> = Vec::with_capacity(records.len());
    // Keys of the records built so far: one lookup per record, not a scan of every earlier one.
    let mut built_keys: HashSet<String> = HashSet::with_capacity(records.len());
    let mut chosen_ids = Vec::new();
    for record in records {
        let id = match (collection.primary_key, record.get(PRIMARY_KEY)) {
            (PrimaryKeyKind::Integer, None | Some(Value::Null)) => json!(table.take_next_id()),
            (PrimaryKeyKind::Integer, Some(given)) => {
                let id = given
                    .as_i64()
                    .or_else(|| given.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| DirectusError::invalid_payload("\"id\" has to be an integer"))?;
                chosen_ids.push(id);
                json!(id)
            }
            (PrimaryKeyKind::Uuid, None | Some(Value::Null)) => {
                json!(uuid::Uuid::new_v4().to_string())
            }
            (_, Some(Value::String(s))) if !s.is_empty() => json!(s),
            (PrimaryKeyKind::String, None | Some(Value::Null)) => {
                return Err(DirectusError::invalid_payload("\"id\" is required"))
            }
            _ => return Err(DirectusError::invalid_payload("\"id\" has to be a string")),
        };
        let clash = table.contains(&id) || key_text(&id).is_some_and(|k| !built_keys.insert(k));
        if clash {
            return Err(DirectusError::record_not_unique(
                &collection.name,
                &key_text(&id).unwrap_or_default(),
            ));
        }
        let mut item = Map::new();
        for field in &collection.fields {
            let value = if field == PRIMARY_KEY {
                id.clone()
            } else {
                record.get(field).cloned().unwrap_or(Value::Null)
            };
            item.insert(field.clone(), value);
        }
        built.push(Value::Object(item));
    }
    for id in chosen_ids {
        table.observe_id(id);
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{Outbound, Outbox};

    fn messages() -> CollectionDef {
        CollectionDef::new(
            "messages",
            PrimaryKeyKind::Integer,
            &["text".into(), "user".into()],
            Default::default(),
        )
    }

    fn record(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn crud_round_trip_publishes_each_change() {
        let hub = Hub::new();
        let def = messages();
        let items = Items::new(&hub, &def);
        let (outbox, mut inbox) = Outbox::new(hub.next_conn_id(), 16);
        hub.subscribe(&table::topic("messages"), 1, &outbox);

        let created = items
            .create(&[
                record(json!({"text": "a", "stray": 1})),
                record(json!({"text": "b"})),
            ])
            .expect("created");
        assert_eq!(created[0], json!({"id": 1, "text": "a", "user": null}));
        assert_eq!(created[1]["id"], json!(2));

        let updated = items
            .update_many(&[json!("2")], &record(json!({"user": "bob", "id": 99})))
            .expect("updated");
        assert_eq!(updated, vec![json!({"id": 2, "text": "b", "user": "bob"})]);
        assert_eq!(
            items.read_one(&json!(2), &Query::default()),
            Ok(json!({"id": 2, "text": "b", "user": "bob"}))
        );

        assert_eq!(
            items.delete_many(&[json!(1), json!(7)]),
            Err(DirectusError::forbidden())
        );
        assert!(items.delete_many(&[json!("1")]).is_ok());
        assert_eq!(items.read_by_query(&Query::default()).0.len(), 1);

        let kinds: Vec<(ChangeKind, Value)> = std::iter::from_fn(|| inbox.try_recv())
            .filter_map(|o| match o {
                Outbound::Delivery(d) => Some((d.change.kind, d.change.body["keys"].clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                (ChangeKind::Create, json!([1, 2])),
                (ChangeKind::Update, json!(["2"])),
                (ChangeKind::Delete, json!(["1"])),
            ]
        );
    }

    #[test]
    fn chosen_ids_must_be_unique_and_advance_the_counter() {
        let hub = Hub::new();
        let def = messages();
        let items = Items::new(&hub, &def);
        items.create(&[record(json!({"id": 10}))]).expect("created");
        assert_eq!(
            items
                .create(&[record(json!({"id": "10"}))])
                .map_err(|e| e.code),
            Err("RECORD_NOT_UNIQUE")
        );
        let next = items.create(&[record(json!({}))]).expect("created");
        assert_eq!(next[0]["id"], json!(11));
    }

    #[test]
    fn query_updates_and_deletes() {
        let hub = Hub::new();
        let def = messages();
        let items = Items::new(&hub, &def);
        let records: Vec<_> = ["x", "y", "x"]
            .iter()
            .map(|u| record(json!({"user": u})))
            .collect();
        items.create(&records).expect("created");
        let only_x =
            Query::parse(Some(&json!({"filter": {"user": {"_eq": "x"}}})), &def).expect("valid");
        let keys = items
            .update_by_query(&only_x, &record(json!({"text": "hit"})))
            .expect("updated");
        assert_eq!(keys, vec![json!(1), json!(3)]);
        assert_eq!(items.delete_by_query(&only_x), Ok(vec![json!(1), json!(3)]));
        assert_eq!(
            items.read_by_query(&Query::default()).0,
            vec![json!({"id": 2, "text": null, "user": "y"})]
        );
    }
}
