//! gamevault: every subscriber is a Socket.IO socket on namespace `/` (activities go to every connected socket);
//! changes are `set-activity` events from one socket, the stamp in `game_id`.

use serde_json::json;

use crate::bench::stamp::{Stamp, StampCodec};
use crate::bench::subject::{BoxFuture, Heartbeat, Step, Subject, SubscriberPlan};
use crate::bench::writer::{Reading, Writer};
use crate::bench::BenchError;
use crate::client::check::FrameCheck;
use crate::client::sio::{self, EngineType, SocketPacket, SocketType};
use crate::client::{Pattern, Request};
use crate::ctx::Ctx;

use super::CREDENTIAL;

/// Socket.IO CONNECT to the default namespace.
const CONNECT: &str = "40";

pub struct GamevaultSubject {
    ctx: Ctx,
    codec: StampCodec,
    request: Request,
    /// The socket whose activity changes are the changes.
    writer: Option<Writer>,
}

impl GamevaultSubject {
    pub async fn prepare(ctx: Ctx, _run: &str) -> Result<GamevaultSubject, BenchError> {
        let setup = |e: String| BenchError::setup("gamevault", e);
        let (request, _) = ctx
            .gamevault()
            .request_for(CREDENTIAL)
            .await
            .map_err(|e| setup(e.to_string()))?;
        let mut subject = GamevaultSubject {
            codec: StampCodec::GameId,
            request,
            writer: None,
            ctx,
        };
        // Every packet sent has the shape of one of these.
        for packet in [CONNECT.to_owned(), set_activity(Stamp::WarmUp(0))] {
            subject
                .ctx
                .frame_check()
                .outgoing_packet(&packet)
                .map_err(|v| setup(format!("the packet {packet} breaks the client schema: {v}")))?;
        }
        let reading = Reading {
            heartbeat: engine_pong,
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
        .map_err(|e| setup(format!("opening the writer socket: {e}")))?;
        subject.writer = Some(writer);
        Ok(subject)
    }
}

/// `42["set-activity",{"state":"PLAYING","game_id":…}]` carrying `stamp`.
fn set_activity(stamp: Stamp) -> String {
    sio::encode(&SocketPacket {
        kind: SocketType::Event,
        attachments: None,
        namespace: "/".into(),
        ack_id: None,
        data: Some(json!([
            "set-activity",
            {"state": "PLAYING", "game_id": StampCodec::game_id(stamp)}
        ])),
    })
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

    fn acknowledgement(&self) -> &'static str {
        "none (the event is written)"
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

    fn cause(&self, stamp: Stamp) -> BoxFuture<'_, Result<(), BenchError>> {
        Box::pin(async move {
            let writer = self.writer.as_ref().ok_or_else(|| BenchError::Cause {
                stamp,
                reason: "the writer socket is closed".into(),
            })?;
            writer
                .send(set_activity(stamp))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_activity_carries_the_stamp_as_game_id() {
        assert_eq!(
            set_activity(Stamp::Change(0)),
            r#"42["set-activity",{"state":"PLAYING","game_id":1}]"#
        );
        assert_eq!(engine_pong("2").as_deref(), Some("3"));
        assert_eq!(engine_pong("3"), None);
    }
}
