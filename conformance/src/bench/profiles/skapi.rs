//! skapi: every subscriber joins one realtime group; changes are broadcasts from one member's socket.

use serde_json::{json, Value};

use super::{client_frame, CREDENTIAL};
use crate::bench::stamp::{Stamp, StampCodec};
use crate::bench::subject::{no_heartbeat, BoxFuture, Step, Subject, SubscriberPlan};
use crate::bench::writer::{Reading, Writer};
use crate::bench::BenchError;
use crate::client::check::FrameCheck;
use crate::client::skapi::Session;
use crate::client::Request;
use crate::ctx::Ctx;

pub struct SkapiSubject {
    ctx: Ctx,
    codec: StampCodec,
    session: Session,
    request: Request,
    join: String,
    group: String,
    /// The member whose broadcasts are the changes.
    writer: Option<Writer>,
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
        let mut subject = SkapiSubject {
            codec: StampCodec::token(run),
            session,
            request,
            join,
            group,
            writer: None,
            ctx,
        };
        // Every broadcast has the shape of this one.
        client_frame(&subject.ctx, &subject.broadcast(Stamp::WarmUp(0)))?;
        let reading = Reading {
            heartbeat: no_heartbeat,
            ack: None,
            check: None,
        };
        let writer = Writer::open(
            subject.plan(0),
            Some(subject.ctx.frame_check()),
            reading,
            subject.ctx.timeouts().connect,
        )
        .await
        .map_err(|e| setup(format!("opening the broadcasting member's socket: {e}")))?;
        subject.writer = Some(writer);
        Ok(subject)
    }

    fn broadcast(&self, stamp: Stamp) -> Value {
        json!({
            "action": "broadcast",
            "rid": self.group,
            "content": self.codec.text(stamp),
            "token": self.session.identity_token(),
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

    fn acknowledgement(&self) -> &'static str {
        "none (the broadcast is written)"
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
            let writer = self.writer.as_ref().ok_or_else(|| BenchError::Cause {
                stamp,
                reason: "the broadcasting socket is closed".into(),
            })?;
            writer
                .send(self.broadcast(stamp).to_string())
                .await
                .map_err(|reason| BenchError::Cause { stamp, reason })
        })
    }

    fn finish(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(writer) = self.writer.take() {
                writer.close().await;
            }
        })
    }
}
