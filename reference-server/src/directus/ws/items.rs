//! `items` messages: create, read, update and delete over the socket. Writes publish the same
//! subscription events as REST writes.

use serde_json::{Map, Value};

use crate::directus::error::DirectusError;
use crate::directus::query::Query;
use crate::directus::schema::{is_system_collection, Accountability, Action, PRIMARY_KEY};
use crate::directus::state::Directus;

use super::frames;
use super::message::{Envelope, ItemsAction, ItemsRequest};

/// The reply to one `items` message.
pub fn handle(state: &Directus, who: &Accountability, envelope: &Envelope) -> String {
    let uid = envelope.uid.as_ref();
    let request = match ItemsRequest::from_body(&envelope.body) {
        Ok(request) => request,
        Err(message) => return frames::error("items", "INVALID_PAYLOAD", &message, uid),
    };
    match execute(state, who, &request) {
        Ok((data, meta)) => frames::items(data, meta, uid),
        Err(err) => frames::directus_error("items", &err, uid),
    }
}

type Outcome = Result<(Value, Option<Value>), DirectusError>;

fn execute(state: &Directus, who: &Accountability, request: &ItemsRequest) -> Outcome {
    if is_system_collection(&request.collection) {
        return Err(DirectusError::system_collection());
    }
    let action = match request.action {
        ItemsAction::Create => Action::Create,
        ItemsAction::Read => Action::Read,
        ItemsAction::Update => Action::Update,
        ItemsAction::Delete => Action::Delete,
    };
    let def = state.authorize(who, &request.collection, action)?;
    let query = Query::parse(request.query.as_ref(), &def)?;
    let items = state.items(&def);
    let read_back = |keys: &[Value], query: &Query| -> Result<Value, DirectusError> {
        if !def.allows(who, Action::Read) {
            return Err(DirectusError::forbidden_collection(&def.name));
        }
        Ok(Value::Array(items.read_many(keys, query)))
    };

    match request.action {
        ItemsAction::Create => match &request.data {
            Some(Value::Object(record)) => {
                let created = items.create(std::slice::from_ref(record))?;
                let key = keys_of(&created).into_iter().next().unwrap_or(Value::Null);
                if !def.allows(who, Action::Read) {
                    return Err(DirectusError::forbidden_collection(&def.name));
                }
                Ok((items.read_one(&key, &query)?, None))
            }
            Some(Value::Array(list)) => {
                let created = items.create(&records(list)?)?;
                Ok((read_back(&keys_of(&created), &query)?, None))
            }
            _ => Err(DirectusError::invalid_payload(
                "\"data\" must be an object or an array of objects",
            )),
        },
        ItemsAction::Read => {
            let data = if let Some(id) = &request.id {
                items.read_one(id, &query)?
            } else if let Some(ids) = &request.ids {
                Value::Array(items.read_many(ids, &query))
            } else {
                Value::Array(items.read_by_query(&query).0)
            };
            Ok((data, items.meta(&query)))
        }
        ItemsAction::Update => match &request.data {
            Some(Value::Array(list)) => {
                let updated = items.update_batch(&records(list)?)?;
                Ok((read_back(&keys_of(&updated), &query)?, None))
            }
            Some(Value::Object(patch)) => {
                if let Some(id) = &request.id {
                    items.update_many(std::slice::from_ref(id), patch)?;
                    if !def.allows(who, Action::Read) {
                        return Err(DirectusError::forbidden_collection(&def.name));
                    }
                    Ok((items.read_one(id, &Query::default())?, None))
                } else if let Some(ids) = &request.ids {
                    items.update_many(ids, patch)?;
                    Ok((read_back(ids, &query)?, items.meta(&query)))
                } else if request.query.is_some() {
                    let keys = items.update_by_query(&query, patch)?;
                    Ok((read_back(&keys, &query)?, items.meta(&query)))
                } else {
                    Err(DirectusError::invalid_payload_exact(
                        "Either 'ids', 'id' or 'query' is required for an UPDATE request.",
                    ))
                }
            }
            _ => Err(DirectusError::invalid_payload(
                "\"data\" must be an object, or an array of objects with their \"id\"",
            )),
        },
        ItemsAction::Delete => {
            if let Some(id) = &request.id {
                items.delete_many(std::slice::from_ref(id))?;
                Ok((id.clone(), None))
            } else if let Some(ids) = &request.ids {
                items.delete_many(ids)?;
                Ok((Value::Array(ids.clone()), None))
            } else if request.query.is_some() {
                Ok((Value::Array(items.delete_by_query(&query)?), None))
            } else {
                Err(DirectusError::invalid_payload_exact(
                    "Either 'ids', 'id' or 'query' is required for a DELETE request.",
                ))
            }
        }
    }
}

fn records(list: &[Value]) -> Result<Vec<Map<String, Value>>, DirectusError> {
    list.iter()
        .map(|v| {
            v.as_object().cloned().ok_or_else(|| {
                DirectusError::invalid_payload("Each item of \"data\" must be an object")
            })
        })
        .collect()
}

fn keys_of(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .filter_map(|i| i.get(PRIMARY_KEY).cloned())
        .collect()
}
