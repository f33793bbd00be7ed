//! How a collection's items are kept in its hub entry: `{"next_id": n, "items": {"<key>": item}}`,
//! items in insertion order, keyed by the text form of their primary key.

use serde_json::{json, Map, Value};

use crate::hub::Topic;

use super::schema::PRIMARY_KEY;

/// The hub topic holding a collection's items; its subscribers are the collection's subscriptions.
pub fn topic(collection: &str) -> Topic {
    Topic::new(format!("directus/items/{collection}"))
}

pub fn empty() -> Value {
    json!({"next_id": 1, "items": {}})
}

/// The text form of a primary key, as items are keyed: `5` and `"5"` are the same key.
pub fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::Number(n) => n
            .as_i64()
            .map(|i| i.to_string())
            .or_else(|| n.as_u64().map(|u| u.to_string()))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| format!("{f:.0}"))
            }),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Read access to a collection's stored items.
pub struct Table<'a> {
    items: Option<&'a Map<String, Value>>,
}

impl<'a> Table<'a> {
    pub fn new(value: &'a Option<Value>) -> Table<'a> {
        Table {
            items: value
                .as_ref()
                .and_then(|v| v.get("items"))
                .and_then(Value::as_object),
        }
    }

    pub fn items(&self) -> impl Iterator<Item = &'a Value> + use<'a> {
        self.items.into_iter().flat_map(|m| m.values())
    }

    pub fn get(&self, key: &Value) -> Option<&'a Value> {
        let key = key_text(key)?;
        self.items.and_then(|m| m.get(&key))
    }

    pub fn len(&self) -> usize {
        self.items.map_or(0, Map::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Write access to a collection's stored items.
pub struct TableMut<'a> {
    value: &'a mut Value,
}

impl<'a> TableMut<'a> {
    pub fn new(slot: &'a mut Option<Value>) -> TableMut<'a> {
        let value = slot.get_or_insert_with(empty);
        if !value.get("items").is_some_and(Value::is_object) {
            *value = empty();
        }
        TableMut { value }
    }

    /// The items map; `new` guarantees its presence, so `None` never happens in practice.
    fn map(&mut self) -> Option<&mut Map<String, Value>> {
        self.value.get_mut("items").and_then(Value::as_object_mut)
    }

    pub fn view(&self) -> Table<'_> {
        Table {
            items: self.value.get("items").and_then(Value::as_object),
        }
    }

    pub fn contains(&self, key: &Value) -> bool {
        self.view().get(key).is_some()
    }

    /// The next auto-increment id, advanced past it.
    pub fn take_next_id(&mut self) -> i64 {
        let next = self
            .value
            .get("next_id")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        // At `i64::MAX` the counter stays put: the next id then clashes and is refused as not unique.
        self.value["next_id"] = json!(next.saturating_add(1));
        next
    }

    /// Keeps the auto-increment counter above an id a client chose.
    pub fn observe_id(&mut self, id: i64) {
        let next = self
            .value
            .get("next_id")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        if id >= next {
            self.value["next_id"] = json!(id.saturating_add(1));
        }
    }

    /// Stores an item under its primary key; false if it has none.
    pub fn put(&mut self, item: Value) -> bool {
        let Some(key) = item.get(PRIMARY_KEY).and_then(key_text) else {
            return false;
        };
        self.map().map(|m| m.insert(key, item)).is_some()
    }

    pub fn get_mut(&mut self, key: &Value) -> Option<&mut Value> {
        let key = key_text(key)?;
        self.map()?.get_mut(&key)
    }

    pub fn remove(&mut self, key: &Value) -> Option<Value> {
        let key = key_text(key)?;
        self.map()?.shift_remove(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_and_text_keys_are_the_same_key() {
        let mut slot = None;
        let mut table = TableMut::new(&mut slot);
        let id = table.take_next_id();
        assert!(table.put(json!({"id": id, "text": "a"})));
        assert!(table.contains(&json!("1")));
        assert!(table.contains(&json!(1)));
        table.observe_id(10);
        assert_eq!(table.take_next_id(), 11);
        assert_eq!(
            table.remove(&json!("1")),
            Some(json!({"id": 1, "text": "a"}))
        );
        assert_eq!(Table::new(&slot).len(), 0);
    }

    #[test]
    fn the_largest_id_does_not_overflow_the_counter() {
        let mut slot = None;
        let mut table = TableMut::new(&mut slot);
        table.observe_id(i64::MAX);
        assert_eq!(table.take_next_id(), i64::MAX);
        assert_eq!(table.take_next_id(), i64::MAX);
    }
}
