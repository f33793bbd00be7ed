//! directus: every subscriber subscribes to `create` events of the target's collection; changes are items
//! created over one writer socket (each awaiting its `items` reply), or through the `create_item` actuator.

use serde_json::{json, Value};

use super::{client_frame, writer_violation, CREDENTIAL};
use crate::bench::stamp::{Stamp, StampCodec};
use crate::bench::subject::{BoxFuture, Heartbeat, Step, Subject, SubscriberPlan};
use crate::bench::BenchError;
use crate::client::check::FrameCheck;
use crate::client::directus::{AuthMode, Directus};
use crate::client::{Conn, Pattern, Request};
use crate::ctx::Ctx;

pub struct DirectusSubject {
    ctx: Ctx,
    codec: StampCodec,
    collection: String,
    request: Request,
    /// The `auth` frame subscribers send first, unless the token travels on the URL (strict mode).
    auth: Option<String>,
    subscribe: String,
    /// The writer socket; `None` when the target's `create_item` actuator causes the changes.
    writer: Option<Conn>,
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
        let subscribe = client_frame(&ctx, &subscribe)?;
        let writer = if ctx.has_actuator("create_item") {
            None
        } else {
            let conn = directus
                .connect(CREDENTIAL)
                .await
                .map_err(|e| setup(format!("opening the writer socket: {e}")))?;
            Some(conn)
        };
        Ok(DirectusSubject {
            codec: StampCodec::token(run),
            collection,
            request,
            auth,
            subscribe,
            writer,
            ctx,
        })
    }

    async fn create(&mut self, stamp: Stamp) -> Result<(), BenchError> {
        let data = json!({"text": self.codec.text(stamp)});
        let Some(writer) = self.writer.as_mut() else {
            return self
                .ctx
                .directus()
                .create_item(&self.collection, data)
                .await
                .map(drop)
                .map_err(|e| BenchError::cause(stamp, e));
        };
        let uid = match stamp {
            Stamp::Change(n) => format!("c{n}"),
            Stamp::WarmUp(k) => format!("w{k}"),
        };
        let frame = json!({
            "type": "items", "collection": self.collection, "action": "create", "data": data, "uid": uid,
        });
        let fail = |e| BenchError::cause(stamp, e);
        writer.send_json(&frame).await.map_err(fail)?;
        let reply = writer
            .expect(json!({"type": "items", "uid": uid}), self.ctx.wait())
            .await
            .map_err(fail)?;
        match reply.get("/status").and_then(Value::as_str) {
            Some("error") => Err(BenchError::Cause {
                stamp,
                reason: format!("the server refused the item: {reply}"),
            }),
            _ => Ok(()),
        }
    }
}

/// Directus servers ping idle sockets with `{"type":"ping"}` and expect `{"type":"pong"}`.
fn pong(text: &str) -> Option<String> {
    let value: Value = serde_json::from_str(text).ok()?;
    (value.get("type").and_then(Value::as_str) == Some("ping"))
        .then(|| json!({"type": "pong"}).to_string())
}

impl Subject for DirectusSubject {
    fn name(&self) -> &str {
        "directus"
    }

    fn plan(&self, _index: usize) -> SubscriberPlan {
        let mut steps = Vec::new();
        if let Some(auth) = &self.auth {
            steps.push(Step::Send(auth.clone()));
            steps.push(Step::Await(Pattern::subset(
                json!({"type": "auth", "status": "ok"}),
            )));
        }
        steps.push(Step::Send(self.subscribe.clone()));
        steps.push(Step::Await(Pattern::subset(
            json!({"type": "subscription", "event": "init"}),
        )));
        SubscriberPlan {
            request: self.request.clone(),
            steps,
        }
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

    fn cause(&mut self, stamp: Stamp) -> BoxFuture<'_, Result<(), BenchError>> {
        Box::pin(self.create(stamp))
    }

    fn violation(&self) -> Option<String> {
        writer_violation(&self.ctx)
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
        assert_eq!(pong("not json"), None);
    }
}
