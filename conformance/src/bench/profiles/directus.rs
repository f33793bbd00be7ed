//! directus: every subscriber subscribes to `create` events of the target's collection; changes are items
//! created over one writer socket (each awaiting its `items` reply), or through the `create_item` actuator.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{client_frame, CREDENTIAL};
use crate::bench::stamp::{Stamp, StampCodec};
use crate::bench::subject::{BoxFuture, Heartbeat, Step, Subject, SubscriberPlan};
use crate::bench::writer::{Reading, Writer};
use crate::bench::BenchError;
use crate::client::check::FrameCheck;
use crate::client::directus::{AuthMode, Directus};
use crate::client::{Pattern, Request};
use crate::ctx::Ctx;

pub struct DirectusSubject {
    ctx: Ctx,
    codec: StampCodec,
    collection: String,
    request: Request,
    /// The `auth` frame sockets send first, unless the token travels on the URL (strict mode).
    auth: Option<String>,
    subscribe: String,
    /// The writer socket; `None` when the target's `create_item` actuator causes the changes.
    writer: Option<Writer>,
}

impl DirectusSubject {
    pub async fn prepare(ctx: Ctx, run: &str) -> Result<DirectusSubject, BenchError> {
        let setup = |e: String| BenchError::setup("directus", e);
        let directus = ctx.directus();
        let mode = directus.auth_mode().map_err(|e| setup(e.to_string()))?;
        let collection = directus.collection().map_err(|e| setup(e.to_string()))?;
        let credential = ctx
            .credential(CREDENTIAL)
            .await
            .map_err(|e| setup(e.to_string()))?;
        let mut request = directus.request().map_err(|e| setup(e.to_string()))?;
        let auth = if mode == AuthMode::Strict {
            let token = credential.get("access_token").ok_or_else(|| {
                setup(format!(
                    "strict auth mode needs an `access_token` in credential set `{CREDENTIAL}`"
                ))
            })?;
            request = request.query("access_token", token);
            None
        } else {
            let frame = Directus::auth_frame(&credential).map_err(|e| setup(e.to_string()))?;
            Some(client_frame(&ctx, &frame)?)
        };
        // `event: create` keeps the init free of the collection's existing items.
        let subscribe = Directus::subscribe_frame(
            &collection,
            Some(&format!("bench-{run}")),
            json!({"event": "create"}),
        );
        let mut subject = DirectusSubject {
            subscribe: client_frame(&ctx, &subscribe)?,
            codec: StampCodec::token(run),
            collection,
            request,
            auth,
            writer: None,
            ctx,
        };
        // Every items frame has the shape of this one.
        client_frame(&subject.ctx, &subject.items_frame(Stamp::WarmUp(0)).1)?;
        if !subject.ctx.has_actuator("create_item") {
            let reading = Reading {
                heartbeat: pong,
                ack: Some(Arc::new(|text: &str| {
                    items_uid(&serde_json::from_str(text).ok()?)
                })),
                check: Some(subject.ctx.frame_check()),
            };
            let writer = Writer::open(
                subject.authenticated_plan(),
                Some(subject.ctx.frame_check()),
                reading,
                subject.ctx.timeouts().connect,
            )
            .await
            .map_err(|e| setup(format!("opening the writer socket: {e}")))?;
            subject.writer = Some(writer);
        }
        Ok(subject)
    }

    /// The opening of a socket: authentication, unless the token is on the URL.
    fn opening(&self) -> Vec<Step> {
        match &self.auth {
            Some(auth) => vec![
                Step::Send(auth.clone()),
                Step::Await(Pattern::subset(json!({"type": "auth", "status": "ok"}))),
            ],
            None => Vec::new(),
        }
    }

    /// An authenticated socket that subscribes to nothing: the writer, and the idle connections.
    fn authenticated_plan(&self) -> SubscriberPlan {
        SubscriberPlan {
            request: self.request.clone(),
            steps: self.opening(),
        }
    }

    /// The uid and the `items` create frame of `stamp`.
    fn items_frame(&self, stamp: Stamp) -> (String, Value) {
        let uid = match stamp {
            Stamp::Change(n) => format!("c{n}"),
            Stamp::WarmUp(k) => format!("w{k}"),
        };
        let frame = json!({
            "type": "items",
            "collection": self.collection,
            "action": "create",
            "data": {"text": self.codec.text(stamp)},
            "uid": uid,
        });
        (uid, frame)
    }

    async fn create(&self, stamp: Stamp) -> Result<(), BenchError> {
        let Some(writer) = &self.writer else {
            let data = json!({"text": self.codec.text(stamp)});
            return self
                .ctx
                .directus()
                .create_item(&self.collection, data)
                .await
                .map(drop)
                .map_err(|e| BenchError::cause(stamp, e));
        };
        let (uid, frame) = self.items_frame(stamp);
        let reply = writer
            .request(uid, frame.to_string(), self.ctx.timeouts().case)
            .await
            .map_err(|reason| BenchError::Cause { stamp, reason })?;
        let reply: Value = serde_json::from_str(&reply).unwrap_or(Value::Null);
        match reply.get("status").and_then(Value::as_str) {
            Some("error") => Err(BenchError::Cause {
                stamp,
                reason: format!("the server refused the item: {reply}"),
            }),
            _ => Ok(()),
        }
    }
}

/// The uid of an `items` reply.
fn items_uid(value: &Value) -> Option<String> {
    if value.get("type").and_then(Value::as_str) != Some("items") {
        return None;
    }
    value.get("uid").and_then(Value::as_str).map(str::to_owned)
}

/// Directus servers ping idle sockets with `{"type":"ping"}` and expect `{"type":"pong"}`.
fn pong(text: &str) -> Option<String> {
    if !text.contains("ping") {
        return None;
    }
    let value: Value = serde_json::from_str(text).ok()?;
    (value.get("type").and_then(Value::as_str) == Some("ping"))
        .then(|| json!({"type": "pong"}).to_string())
}

impl Subject for DirectusSubject {
    fn name(&self) -> &str {
        "directus"
    }

    fn plan(&self, _index: usize) -> SubscriberPlan {
        let mut steps = self.opening();
        steps.push(Step::Send(self.subscribe.clone()));
        steps.push(Step::Await(Pattern::subset(
            json!({"type": "subscription", "event": "init"}),
        )));
        SubscriberPlan {
            request: self.request.clone(),
            steps,
        }
    }

    fn acknowledgement(&self) -> &'static str {
        if self.writer.is_some() {
            "the items reply on the writer socket"
        } else {
            "the create_item HTTP response"
        }
    }

    fn idle_plan(&self, _index: usize) -> SubscriberPlan {
        self.authenticated_plan()
    }

    fn codec(&self) -> &StampCodec {
        &self.codec
    }

    fn heartbeat(&self) -> Heartbeat {
        pong
    }

    fn frame_check(&self) -> Option<FrameCheck> {
        Some(self.ctx.frame_check())
    }

    fn cause(&self, stamp: Stamp) -> BoxFuture<'_, Result<(), BenchError>> {
        Box::pin(self.create(stamp))
    }

    fn violation(&self) -> Option<String> {
        self.writer.as_ref().and_then(Writer::violation)
    }

    fn finish(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(writer) = self.writer.take() {
                writer.close().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_get_pongs_and_nothing_else_does() {
        assert_eq!(
            pong(r#"{"type":"ping"}"#).as_deref(),
            Some(r#"{"type":"pong"}"#)
        );
        assert_eq!(pong(r#"{"type":"subscription","event":"create"}"#), None);
        assert_eq!(pong("ping, not json"), None);
    }

    #[test]
    fn items_replies_are_keyed_by_uid() {
        assert_eq!(
            items_uid(&json!({"type": "items", "data": {"id": 1}, "uid": "c4"})).as_deref(),
            Some("c4")
        );
        assert_eq!(
            items_uid(&json!({"type": "subscription", "uid": "c4"})),
            None
        );
        assert_eq!(items_uid(&json!({"type": "items"})), None);
    }
}
