//! skapi: every subscriber joins one realtime group; changes are broadcasts from one member's socket.

use serde_json::{json, Value};

use super::{client_frame, writer_violation, CREDENTIAL};
use crate::bench::stamp::{Stamp, StampCodec};
use crate::bench::subject::{BoxFuture, Step, Subject, SubscriberPlan};
use crate::bench::BenchError;
use crate::client::check::FrameCheck;
use crate::client::skapi::SkapiConn;
use crate::client::Request;
use crate::ctx::Ctx;

pub struct SkapiSubject {
    ctx: Ctx,
    codec: StampCodec,
    request: Request,
    join: String,
    group: String,
    /// The member whose broadcasts are the changes.
    writer: Option<SkapiConn>,
}

impl SkapiSubject {
    pub async fn prepare(ctx: Ctx, run: &str) -> Result<SkapiSubject, BenchError> {
        let setup = |e: String| BenchError::setup("skapi", e);
        let skapi = ctx.skapi();
        let session = skapi
            .session(CREDENTIAL)
            .await
            .map_err(|e| setup(e.to_string()))?;
        let group = format!("bench-{run}");
        let join = client_frame(
            &ctx,
            &json!({"action": "joinRoom", "rid": group, "token": session.access_token}),
        )?;
        let request = skapi
            .request(&session.access_token)
            .map_err(|e| setup(e.to_string()))?;
        let writer = skapi
            .connect(CREDENTIAL)
            .await
            .map_err(|e| setup(format!("opening the broadcasting member's socket: {e}")))?;
        writer
            .join(&group)
            .await
            .map_err(|e| setup(format!("joining the group: {e}")))?;
        Ok(SkapiSubject {
            codec: StampCodec::token(run),
            request,
            join,
            group,
            writer: Some(writer),
            ctx,
        })
    }
}

impl Subject for SkapiSubject {
    fn name(&self) -> &str {
        "skapi"
    }

    fn plan(&self, _index: usize) -> SubscriberPlan {
        SubscriberPlan {
            request: self.request.clone(),
            steps: vec![Step::Send(self.join.clone())],
        }
    }

    fn codec(&self) -> &StampCodec {
        &self.codec
    }

    fn frame_check(&self) -> Option<FrameCheck> {
        Some(self.ctx.frame_check())
    }

    fn cause(&mut self, stamp: Stamp) -> BoxFuture<'_, Result<(), BenchError>> {
        Box::pin(async move {
            let writer = self.writer.as_ref().ok_or_else(|| BenchError::Cause {
                stamp,
                reason: "the broadcasting socket is closed".into(),
            })?;
            writer
                .broadcast(&self.group, Value::String(self.codec.text(stamp)))
                .await
                .map_err(|e| BenchError::cause(stamp, e))
        })
    }

    fn violation(&self) -> Option<String> {
        writer_violation(&self.ctx)
    }

    fn finish(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(writer) = self.writer.take() {
                writer.conn.close().await;
            }
        })
    }
}
