//! m2: every subscriber subscribes to one kvStore key; changes are `kv_upsert` actuator calls.

use serde_json::Value;

use super::{client_frame, CREDENTIAL};
use crate::bench::stamp::{Stamp, StampCodec};
use crate::bench::subject::{BoxFuture, Step, Subject, SubscriberPlan};
use crate::bench::BenchError;
use crate::client::check::FrameCheck;
use crate::client::m2::{kv_id, subscribe_frame};
use crate::client::Request;
use crate::ctx::Ctx;

/// The user's own store, which the user may write.
const STORE: &str = "kvstoreClient";

pub struct M2Subject {
    ctx: Ctx,
    codec: StampCodec,
    request: Request,
    subscribe: String,
    scope: &'static str,
    key: String,
}

impl M2Subject {
    pub async fn prepare(ctx: Ctx, run: &str) -> Result<M2Subject, BenchError> {
        let setup = |e| BenchError::setup("m2", e);
        if !ctx.has_actuator("kv_upsert") {
            return Err(setup(
                "the target gives no `kv_upsert` actuator, which causes the changes".to_owned(),
            ));
        }
        let handshake = ctx
            .m2()
            .handshake(CREDENTIAL)
            .await
            .map_err(|e| setup(e.to_string()))?;
        let credential = ctx
            .credential(CREDENTIAL)
            .await
            .map_err(|e| setup(e.to_string()))?;
        // The scope the connection's headers locate, so the subscription and the upserts name the same store.
        let scope = if credential.get("world").is_some() {
            "World"
        } else if credential.get("project").is_some() {
            "Project"
        } else {
            "Organization"
        };
        let key = format!("bench-{run}");
        let subscribe = client_frame(
            &ctx,
            &subscribe_frame("kvStore", &kv_id(scope, STORE, &key)),
        )?;
        let mut request = Request::new(ctx.ws_url().map_err(|e| setup(e.to_string()))?);
        for (name, value) in &handshake.headers {
            request = request.header(name, value);
        }
        Ok(M2Subject {
            ctx,
            codec: StampCodec::token(run),
            request,
            subscribe,
            scope,
            key,
        })
    }
}

impl Subject for M2Subject {
    fn name(&self) -> &str {
        "m2"
    }

    fn plan(&self, _index: usize) -> SubscriberPlan {
        SubscriberPlan {
            request: self.request.clone(),
            steps: vec![Step::Send(self.subscribe.clone())],
        }
    }

    fn acknowledgement(&self) -> &'static str {
        "the kv_upsert HTTP response"
    }

    fn idle_plan(&self, _index: usize) -> SubscriberPlan {
        SubscriberPlan {
            request: self.request.clone(),
            steps: Vec::new(),
        }
    }

    fn codec(&self) -> &StampCodec {
        &self.codec
    }

    fn frame_check(&self) -> Option<FrameCheck> {
        Some(self.ctx.frame_check())
    }

    fn cause(&self, stamp: Stamp) -> BoxFuture<'_, Result<(), BenchError>> {
        Box::pin(async move {
            let data = Value::String(self.codec.text(stamp));
            self.ctx
                .m2()
                .kv_upsert(CREDENTIAL, self.scope, STORE, &self.key, data)
                .await
                .map_err(|e| BenchError::cause(stamp, e))
        })
    }

    fn finish(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.ctx.has_actuator("kv_delete") {
                let _ = self
                    .ctx
                    .m2()
                    .kv_delete(CREDENTIAL, self.scope, STORE, &self.key)
                    .await;
            }
        })
    }
}
