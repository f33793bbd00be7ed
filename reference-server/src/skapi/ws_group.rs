//! `POST /get-ws-group`: the SDK's getRealtimeUsers and getRealtimeGroups.
//!
//! The request body tells the two apart as the SDK writes them: a `group` field (or `rid`) asks for
//! the connections in that group, optionally of one `user_id`; without it, the body asks for the
//! groups, filtered by `searchFor` (`group` or `number_of_users`), `value`, and `condition` or `range`.

use std::cmp::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Map, Value};

use super::auth::{self, Identity};
use super::groups;
use super::http::{json_object, ApiError};
use super::jwt::TokenUse;
use super::Skapi;

pub async fn get_ws_group(
    State(skapi): State<Arc<Skapi>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::unauthorized("The ID token is required in Authorization."))?;
    let identity = auth::verify(skapi.config(), token, TokenUse::Id)
        .map_err(|err| ApiError::unauthorized(err.to_string()))?;
    let fields = json_object(&body)?;
    check_scope(&fields, &identity)?;
    let list = match group_field(&fields)? {
        Some(rid) => users(&skapi, &identity, rid, &fields)?,
        None => group_list(&skapi, &identity, &fields)?,
    };
    Ok(Json(json!({ "list": list, "endOfList": true })))
}

/// A body naming another service or owner than the token is refused: services never see each other.
fn check_scope(fields: &Map<String, Value>, identity: &Identity) -> Result<(), ApiError> {
    for (name, own) in [("service", &identity.service), ("owner", &identity.owner)] {
        match fields.get(name) {
            None => {}
            Some(Value::String(given)) if given.as_str() == &**own => {}
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "INVALID_REQUEST",
                    format!("\"{name}\" does not match the token."),
                ))
            }
        }
    }
    Ok(())
}

fn group_field(fields: &Map<String, Value>) -> Result<Option<&str>, ApiError> {
    match fields.get("group").or_else(|| fields.get("rid")) {
        None => Ok(None),
        Some(Value::String(rid)) if !rid.is_empty() => Ok(Some(rid)),
        Some(_) => Err(ApiError::bad_request(
            "\"group\" must be a non-empty string.",
        )),
    }
}

fn users(
    skapi: &Skapi,
    identity: &Identity,
    rid: &str,
    fields: &Map<String, Value>,
) -> Result<Vec<Value>, ApiError> {
    let only_user = match fields.get("user_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(user_id)) => Some(user_id.as_str()),
        Some(_) => return Err(ApiError::bad_request("\"user_id\" must be a string.")),
    };
    Ok(groups::members(skapi.hub(), &identity.service, rid)
        .into_iter()
        .filter(|(_, user_id)| only_user.is_none_or(|only| only == user_id))
        .map(|(cid, user_id)| json!({ "uid": format!("{}#{user_id}", identity.service), "cid": cid }))
        .collect())
}

/// What a group list is filtered on.
enum Search {
    Name,
    NumberOfUsers,
}

/// How a group's name or size is compared with `value`.
enum Filter {
    Compare(Ordering, bool),
    NotEqual,
    /// `value ..= range`.
    Between(Value),
}

fn group_list(
    skapi: &Skapi,
    identity: &Identity,
    fields: &Map<String, Value>,
) -> Result<Vec<Value>, ApiError> {
    let search = match fields.get("searchFor") {
        None | Some(Value::Null) => Search::Name,
        Some(Value::String(s)) if s == "group" => Search::Name,
        Some(Value::String(s)) if s == "number_of_users" => Search::NumberOfUsers,
        Some(_) => {
            return Err(ApiError::bad_request(
                "\"searchFor\" must be \"group\" or \"number_of_users\".",
            ))
        }
    };
    let value = match (&search, fields.get("value")) {
        (_, None | Some(Value::Null)) => None,
        (Search::Name, Some(v @ Value::String(_)))
        | (Search::NumberOfUsers, Some(v @ Value::Number(_))) => Some(v.clone()),
        (Search::Name, Some(_)) => {
            return Err(ApiError::bad_request("\"value\" must be a string."))
        }
        (Search::NumberOfUsers, Some(_)) => {
            return Err(ApiError::bad_request("\"value\" must be a number."))
        }
    };
    let filter = filter(fields, value.is_some())?;
    Ok(groups::groups(skapi.hub(), &identity.service)
        .into_iter()
        .filter(|(rid, count)| {
            let Some(value) = &value else {
                return true;
            };
            let subject = match search {
                Search::Name => Value::String(rid.clone()),
                Search::NumberOfUsers => json!(count),
            };
            matches(&subject, value, &filter)
        })
        .map(|(rid, count)| json!({ "rid": format!("{}#{rid}", identity.service), "cnt": count }))
        .collect())
}

fn filter(fields: &Map<String, Value>, has_value: bool) -> Result<Filter, ApiError> {
    if let Some(range) = fields.get("range").filter(|r| !r.is_null()) {
        if !has_value {
            return Err(ApiError::bad_request("\"range\" requires \"value\"."));
        }
        return Ok(Filter::Between(range.clone()));
    }
    let condition = match fields.get("condition") {
        None | Some(Value::Null) => "=",
        Some(Value::String(c)) => c.as_str(),
        Some(_) => return Err(ApiError::bad_request("\"condition\" must be a string.")),
    };
    Ok(match condition {
        "=" | "eq" => Filter::Compare(Ordering::Equal, true),
        "!=" | "ne" => Filter::NotEqual,
        ">" | "gt" => Filter::Compare(Ordering::Greater, false),
        ">=" | "gte" => Filter::Compare(Ordering::Greater, true),
        "<" | "lt" => Filter::Compare(Ordering::Less, false),
        "<=" | "lte" => Filter::Compare(Ordering::Less, true),
        _ => {
            return Err(ApiError::bad_request(
                "\"condition\" must be one of > >= = < <= != gt gte eq lt lte ne.",
            ))
        }
    })
}

fn matches(subject: &Value, value: &Value, filter: &Filter) -> bool {
    let order = |a: &Value, b: &Value| match (a, b) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        _ => None,
    };
    match filter {
        Filter::Compare(wanted, or_equal) => order(subject, value)
            .is_some_and(|o| o == *wanted || (*or_equal && o == Ordering::Equal)),
        Filter::NotEqual => order(subject, value).is_some_and(|o| o != Ordering::Equal),
        Filter::Between(range) => {
            order(subject, value).is_some_and(|o| o != Ordering::Less)
                && order(subject, range).is_some_and(|o| o != Ordering::Greater)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_compare_names_and_counts() {
        let gt = Filter::Compare(Ordering::Greater, false);
        assert!(matches(&json!("b"), &json!(" "), &gt));
        assert!(!matches(&json!("b"), &json!("b"), &gt));
        let gte = Filter::Compare(Ordering::Greater, true);
        assert!(matches(&json!(2), &json!(2), &gte));
        let eq = Filter::Compare(Ordering::Equal, true);
        assert!(matches(&json!("room"), &json!("room"), &eq));
        assert!(!matches(&json!("room"), &json!(1), &eq));
        assert!(matches(&json!(1), &json!(2), &Filter::NotEqual));
        let between = Filter::Between(json!("m"));
        assert!(matches(&json!("k"), &json!("a"), &between));
        assert!(!matches(&json!("n"), &json!("a"), &between));
    }
}
