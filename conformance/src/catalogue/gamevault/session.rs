//! A connected socket that has read the `activities` list following CONNECT, and what cases do with it:
//! report an activity and see it come back, ask for the list, learn the user's id.

use std::time::Instant;

use serde_json::{json, Value};

use crate::case::CaseError;
use crate::client::gamevault::SioConn;
use crate::client::Frame;
use crate::ctx::Ctx;
use crate::fail;

use super::support::{activity_where, first_arg};

/// A connected socket whose Socket.IO sid is known and whose first `activities` list has been read.
pub(super) struct Session {
    pub conn: SioConn,
    pub sid: String,
    /// The `activities` list received right after CONNECT; `None` when none came within the wait.
    pub initial: Option<Vec<Value>>,
}

impl Session {
    /// Connects as `credential` and reads the `activities` list that follows CONNECT. A server that sends no
    /// list is noted, not failed: `gamevault.activity.list-on-connect` is the case that judges it.
    pub async fn open(ctx: &Ctx, credential: &str) -> Result<Session, CaseError> {
        let mut conn = ctx.gamevault().connect(credential).await?;
        let sid = conn.sid.clone().ok_or_else(|| {
            CaseError::fail(format!(
                "{}: the CONNECT answer carries no sid",
                conn.label()
            ))
        })?;
        let started = Instant::now();
        let initial = match conn.expect_event("activities", ctx.wait()).await {
            Ok(frame) => Some(activity_list(&frame)?),
            // Only the wait running out is forgiven; a closed connection or a frame breaking the schemas is not.
            Err(CaseError::Fail(reason))
                if conn.closed().is_none() && started.elapsed() >= ctx.wait() =>
            {
                conn.note(format!(
                    "no `activities` list followed CONNECT; going on without it ({reason})"
                ));
                None
            }
            Err(e) => return Err(e),
        };
        Ok(Session { conn, sid, initial })
    }

    /// Reports `activity` and waits for this socket's own broadcast of it; returns the broadcast activity.
    pub async fn set_activity(&mut self, ctx: &Ctx, activity: Value) -> Result<Value, CaseError> {
        self.conn
            .emit("set-activity", std::slice::from_ref(&activity))
            .await?;
        let state = activity.get("state").cloned().unwrap_or(Value::Null);
        let sid = self.sid.clone();
        let pattern = activity_where(
            format!("reported by this socket ({sid}) with state {state}"),
            move |a| {
                a.get("socket_id").and_then(Value::as_str) == Some(sid.as_str())
                    && a.get("state") == Some(&state)
            },
        );
        let frame = self
            .conn
            .expect(pattern, ctx.wait())
            .await
            .map_err(|e| e.context(format!("after set-activity {activity}")))?;
        Ok(first_arg(&frame))
    }

    /// Sends `get-activities` and returns the list of the `activities` answer.
    pub async fn list(&mut self, ctx: &Ctx) -> Result<Vec<Value>, CaseError> {
        self.conn.emit("get-activities", &[]).await?;
        let frame = self
            .conn
            .expect_event("activities", ctx.wait())
            .await
            .map_err(|e| e.context("after get-activities"))?;
        activity_list(&frame)
    }

    /// The user id the server gives this socket's activities, learnt by reporting `ONLINE`.
    pub async fn learn_user_id(&mut self, ctx: &Ctx) -> Result<Value, CaseError> {
        let activity = self.set_activity(ctx, json!({"state": "ONLINE"})).await?;
        activity.get("user_id").cloned().ok_or_else(|| {
            CaseError::fail(format!(
                "{}: the activity {activity} carries no user_id",
                self.conn.label()
            ))
        })
    }
}

/// The activities of an `activities` event.
pub(super) fn activity_list(frame: &Frame) -> Result<Vec<Value>, CaseError> {
    match frame.event_args().first() {
        Some(Value::Array(items)) => Ok(items.clone()),
        _ => fail!("the `activities` event {frame} carries no list"),
    }
}

/// The entries of `list` for user `user_id`.
pub(super) fn entries_of<'a>(list: &'a [Value], user_id: &Value) -> Vec<&'a Value> {
    list.iter()
        .filter(|a| a.get("user_id").is_some_and(|u| same_id(u, user_id)))
        .collect()
}

/// Whether two ids are the same, whatever JSON type a target file gave one of them.
pub(super) fn same_id(a: &Value, b: &Value) -> bool {
    crate::target::template::string_form(a) == crate::target::template::string_form(b)
}
