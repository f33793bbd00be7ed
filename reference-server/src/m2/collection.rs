//! A user's collection: how many of each object definition the user holds in one datasource.
//!
//! Stored (and pushed) as `{"userId", "datasourceId", "userCollection": [{"objectDefinitionId", "count"}]}`,
//! in the order objects were first received; an object whose count falls to zero leaves the list.

use serde_json::{json, Value};

use super::resource::Datasource;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub object_definition_id: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("user {user} holds {held} of {object} in {datasource}, cannot remove {removed}")]
    Insufficient {
        user: String,
        datasource: &'static str,
        object: String,
        held: i64,
        removed: i64,
    },
    #[error("count of {0} overflows")]
    Overflow(String),
}

/// Reads the holdings out of a stored collection value (empty when there is none).
pub fn holdings(value: Option<&Value>) -> Vec<Holding> {
    let items = value
        .and_then(|v| v.get("userCollection"))
        .and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter_map(|item| {
            Some(Holding {
                object_definition_id: item.get("objectDefinitionId")?.as_str()?.to_owned(),
                count: item.get("count")?.as_i64()?,
            })
        })
        .collect()
}

/// Applies count deltas in order; fails without partial effect if a count would go below zero.
pub fn apply(
    user: &str,
    datasource: Datasource,
    mut held: Vec<Holding>,
    changes: &[(String, i64)],
) -> Result<Vec<Holding>, TransferError> {
    for (object, delta) in changes {
        let position = held.iter().position(|h| &h.object_definition_id == object);
        let current = position.and_then(|i| held.get(i)).map_or(0, |h| h.count);
        let next = current
            .checked_add(*delta)
            .ok_or_else(|| TransferError::Overflow(object.clone()))?;
        if next < 0 {
            return Err(TransferError::Insufficient {
                user: user.to_owned(),
                datasource: datasource.as_str(),
                object: object.clone(),
                held: current,
                // `i64::MIN` has no positive counterpart.
                removed: delta.saturating_neg(),
            });
        }
        match position {
            Some(i) if next == 0 => {
                held.remove(i);
            }
            Some(i) => {
                if let Some(h) = held.get_mut(i) {
                    h.count = next;
                }
            }
            None if next > 0 => held.push(Holding {
                object_definition_id: object.clone(),
                count: next,
            }),
            None => {}
        }
    }
    Ok(held)
}

pub fn to_value(user: &str, datasource: Datasource, held: &[Holding]) -> Value {
    let items: Vec<Value> = held
        .iter()
        .map(|h| json!({ "objectDefinitionId": h.object_definition_id, "count": h.count }))
        .collect();
    json!({
        "userId": user,
        "datasourceId": datasource.as_str(),
        "userCollection": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(list: &[(&str, i64)]) -> Vec<(String, i64)> {
        list.iter().map(|(o, d)| ((*o).to_owned(), *d)).collect()
    }

    #[test]
    fn counts_add_up_and_empty_holdings_leave() {
        let held = apply(
            "u",
            Datasource::Public,
            Vec::new(),
            &changes(&[("a", 2), ("b", 1), ("a", -2)]),
        )
        .expect("valid");
        let value = to_value("u", Datasource::Public, &held);
        assert_eq!(
            value,
            json!({"userId":"u","datasourceId":"public","userCollection":[{"objectDefinitionId":"b","count":1}]})
        );
        assert_eq!(holdings(Some(&value)), held);
    }

    #[test]
    fn removing_more_than_held_fails() {
        let held = vec![Holding {
            object_definition_id: "a".into(),
            count: 1,
        }];
        assert!(matches!(
            apply("u", Datasource::Private, held, &changes(&[("a", -2)])),
            Err(TransferError::Insufficient {
                held: 1,
                removed: 2,
                ..
            })
        ));
        assert!(matches!(
            apply(
                "u",
                Datasource::Private,
                Vec::new(),
                &changes(&[("a", i64::MAX), ("a", 1)])
            ),
            Err(TransferError::Overflow(_))
        ));
        assert!(matches!(
            apply(
                "u",
                Datasource::Public,
                Vec::new(),
                &changes(&[("a", i64::MIN)])
            ),
            Err(TransferError::Insufficient { held: 0, .. })
        ));
    }
}
