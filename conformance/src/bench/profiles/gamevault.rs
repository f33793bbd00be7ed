//! gamevault: every subscriber is a Socket.IO socket on namespace `/` (activities go to every connected socket);
//! changes are `set-activity` events from one socket, the stamp in `game_id`.

use serde_json::json;

use super::{writer_violation, CREDENTIAL};
use crate::bench::stamp::{Stamp, StampCodec};
use crate::bench::subject::{BoxFuture, Heartbeat, Step, Subject, SubscriberPlan};
use crate::bench::BenchError;
use crate::client::check::FrameCheck;
use crate::client::gamevault::SioConn;
use crate::client::sio::{EngineType, SocketType};
use crate::client::{Pattern, Request};
use crate::ctx::Ctx;

/// Socket.IO CONNECT to the default namespace.
const CONNECT: &str = "40";

pub struct GamevaultSubject {
    ctx: Ctx,
    codec: StampCodec,
    request: Request,
    /// The socket whose activity changes are the changes.
    writer: Option<SioConn>,
}

impl GamevaultSubject {
    pub async fn prepare(ctx: Ctx, _run: &str) -> Result<GamevaultSubject, BenchError> {
        let setup = |e: String| BenchError::setup("gamevault", e);
        let gamevault = ctx.gamevault();
        let (request, _) = gamevault
            .request_for(CREDENTIAL)
            .await
            .map_err(|e| setup(e.to_string()))?;
        ctx.frame_check().outgoing_packet(CONNECT).map_err(|v| {
            setup(format!(
                "the packet {CONNECT} breaks the client schema: {v}"
            ))
        })?;
        let writer = gamevault
            .connect(CREDENTIAL)
            .await
            .map_err(|e| setup(format!("opening the writer socket: {e}")))?;
        Ok(GamevaultSubject {
            codec: StampCodec::GameId,
            request,
            writer: Some(writer),
            ctx,
        })
    }
}

/// Engine.IO heartbeat: the server pings `2`, the client answers `3`.
fn engine_pong(text: &str) -> Option<String> {
    (text == "2").then(|| "3".to_owned())
}

impl Subject for GamevaultSubject {
    fn name(&self) -> &str {
        "gamevault"
    }

    fn plan(&self, _index: usize) -> SubscriberPlan {
        SubscriberPlan {
            request: self.request.clone(),
            steps: vec![
                Step::Await(Pattern::engine(EngineType::Open)),
                Step::Send(CONNECT.to_owned()),
                Step::Await(Pattern::socket(SocketType::Connect)),
            ],
        }
    }

    fn codec(&self) -> &StampCodec {
        &self.codec
    }

    fn heartbeat(&self) -> Heartbeat {
        engine_pong
    }

    fn frame_check(&self) -> Option<FrameCheck> {
        Some(self.ctx.frame_check())
    }

    fn cause(&mut self, stamp: Stamp) -> BoxFuture<'_, Result<(), BenchError>> {
        Box::pin(async move {
            let writer = self.writer.as_ref().ok_or_else(|| BenchError::Cause {
                stamp,
                reason: "the writer socket is closed".into(),
            })?;
            let activity = json!({"state": "PLAYING", "game_id": StampCodec::game_id(stamp)});
            writer
                .emit("set-activity", &[activity])
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
