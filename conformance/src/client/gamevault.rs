//! The gamevault connector: Engine.IO v4 / Socket.IO v5 over WebSocket, the socket secret in the dialect's
//! header, events and acks. Engine.IO pings are answered in the background unless a case turns that off
//! ([`Conn::set_auto_pong`]).
//!
//! Credential fields: `secret`. Parameters: `secret_header` (`X-Socket-Secret`, the seed's dialect, by default;
//! `X-Api-Key` for the newer one).

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use serde_json::Value;

use super::connect::{ConnectError, Request};
use super::polling::Polling;
use super::sio::{self, EngineType, Open, SocketPacket, SocketType};
use super::{Conn, Frame, Pattern};
use crate::case::CaseError;
use crate::ctx::Ctx;

/// The seed's header for the socket secret.
pub const DEFAULT_SECRET_HEADER: &str = "X-Socket-Secret";

/// The gamevault connector of a case.
pub struct Gamevault<'a> {
    ctx: &'a Ctx,
}

impl<'a> Gamevault<'a> {
    pub(crate) fn new(ctx: &'a Ctx) -> Self {
        Gamevault { ctx }
    }

    /// The header the socket secret travels in.
    pub fn secret_header(&self) -> Result<String, CaseError> {
        match self.ctx.parameter_str("secret_header") {
            Err(CaseError::Skip(_)) => Ok(DEFAULT_SECRET_HEADER.to_owned()),
            other => other,
        }
    }

    /// The Engine.IO WebSocket upgrade request (`?EIO=4&transport=websocket`), without a secret.
    pub fn request(&self) -> Result<Request, CaseError> {
        Ok(Request::new(self.ctx.ws_url()?)
            .query("EIO", "4")
            .query("transport", "websocket"))
    }

    /// The upgrade request carrying credential set `credential`'s secret; also returns the set's label.
    pub async fn request_for(&self, credential: &str) -> Result<(Request, String), CaseError> {
        let set = self.ctx.credential(credential).await?;
        let secret = set.get("secret").ok_or_else(|| {
            CaseError::skip(format!(
                "gamevault credential set `{credential}` has no `secret`"
            ))
        })?;
        Ok((
            self.request()?.header(&self.secret_header()?, secret),
            set.label().to_owned(),
        ))
    }

    /// Opens the WebSocket and reads the Engine.IO open packet; a refused upgrade is the inner error.
    pub async fn open(
        &self,
        who: &str,
        request: Request,
    ) -> Result<Result<SioConn, ConnectError>, CaseError> {
        let mut conn = match self.ctx.open(who, request).await {
            Ok(conn) => conn,
            Err(e) => return Ok(Err(e)),
        };
        let first = conn
            .expect_next(
                Pattern::when("the Engine.IO open packet `0{…}`", |f: &Frame| {
                    f.packet
                        .as_ref()
                        .is_some_and(|p| p.engine == EngineType::Open)
                }),
                self.ctx.wait(),
            )
            .await?;
        let value = first.value.clone().unwrap_or(Value::Null);
        let open = Open::parse(&value).map_err(CaseError::fail)?;
        Ok(Ok(SioConn {
            conn,
            open,
            sid: None,
        }))
    }

    /// Opens an Engine.IO session as credential set `credential`, without connecting to a namespace.
    pub async fn open_engine(&self, credential: &str) -> Result<SioConn, CaseError> {
        let (request, who) = self.request_for(credential).await?;
        Ok(self.open(&who, request).await??)
    }

    /// Opens an Engine.IO session over HTTP long-polling, with `credential`'s secret header when one is given;
    /// a refused handshake (HTTP 400 `Transport unknown` from a WebSocket-only server) is the inner error.
    pub async fn open_polling(
        &self,
        credential: Option<&str>,
    ) -> Result<Result<Polling, ConnectError>, CaseError> {
        let ws = self.ctx.ws_url()?;
        let url = if let Some(rest) = ws.strip_prefix("wss://") {
            format!("https://{rest}")
        } else if let Some(rest) = ws.strip_prefix("ws://") {
            format!("http://{rest}")
        } else {
            return Err(CaseError::harness(format!(
                "[gamevault] url {ws} is not ws:// or wss://"
            )));
        };
        let (headers, who) = match credential {
            Some(name) => {
                let set = self.ctx.credential(name).await?;
                let secret = set.get("secret").ok_or_else(|| {
                    CaseError::skip(format!("gamevault credential set `{name}` has no `secret`"))
                })?;
                (
                    vec![(self.secret_header()?, secret.to_owned())],
                    set.label().to_owned(),
                )
            }
            None => (Vec::new(), "anonymous".to_owned()),
        };
        Polling::open(
            self.ctx.http().clone(),
            url,
            headers,
            self.ctx.next_label(&format!("{who}-polling")),
            self.ctx.transcript().clone(),
            self.ctx.frame_check(),
            self.ctx.timeouts().connect,
        )
        .await
    }

    /// Opens a session as `credential` and connects to namespace `/`; fails unless the server answers `40{"sid"}`.
    pub async fn connect(&self, credential: &str) -> Result<SioConn, CaseError> {
        let mut conn = self.open_engine(credential).await?;
        let reply = conn.connect_namespace(None, self.ctx.wait()).await?;
        if reply
            .packet
            .as_ref()
            .and_then(|p| p.socket.as_ref())
            .map(|s| s.kind)
            != Some(SocketType::Connect)
        {
            crate::fail!("connecting to namespace / was refused: {reply}");
        }
        Ok(conn)
    }
}

/// An Engine.IO session; derefs to [`Conn`].
#[derive(Debug)]
pub struct SioConn {
    pub conn: Conn,
    /// The open packet's fields.
    pub open: Open,
    /// The Socket.IO session id once connected to `/`.
    pub sid: Option<String>,
}

impl Deref for SioConn {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl DerefMut for SioConn {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

fn socket_kind(frame: &Frame) -> Option<SocketType> {
    frame.packet.as_ref()?.socket.as_ref().map(|s| s.kind)
}

impl SioConn {
    /// Sends `40` (or `40<auth>`) and waits for CONNECT (`40{"sid"}`) or CONNECT_ERROR (`44{…}`); returns it.
    pub async fn connect_namespace(
        &mut self,
        auth: Option<Value>,
        timeout: Duration,
    ) -> Result<Frame, CaseError> {
        let packet = SocketPacket {
            kind: SocketType::Connect,
            attachments: None,
            namespace: "/".into(),
            ack_id: None,
            data: auth,
        };
        self.conn.send_packet(&sio::encode(&packet)).await?;
        let reply = self
            .conn
            .expect(
                Pattern::when("a CONNECT or CONNECT_ERROR packet", |f: &Frame| {
                    matches!(
                        socket_kind(f),
                        Some(SocketType::Connect | SocketType::ConnectError)
                    )
                }),
                timeout,
            )
            .await?;
        if socket_kind(&reply) == Some(SocketType::Connect) {
            self.sid = reply.str("/sid").map(str::to_owned);
        }
        Ok(reply)
    }

    /// Emits event `name` with `args`: `42["name",…args]`.
    pub async fn emit(&self, name: &str, args: &[Value]) -> Result<(), CaseError> {
        self.send_event(name, args, None).await
    }

    /// Emits event `name` asking for an acknowledgement with `ack_id`: `42<id>["name",…]`.
    pub async fn emit_with_ack(
        &self,
        ack_id: u64,
        name: &str,
        args: &[Value],
    ) -> Result<(), CaseError> {
        self.send_event(name, args, Some(ack_id)).await
    }

    async fn send_event(
        &self,
        name: &str,
        args: &[Value],
        ack_id: Option<u64>,
    ) -> Result<(), CaseError> {
        let mut data = vec![Value::String(name.to_owned())];
        data.extend(args.iter().cloned());
        let packet = SocketPacket {
            kind: SocketType::Event,
            attachments: None,
            namespace: "/".into(),
            ack_id,
            data: Some(Value::Array(data)),
        };
        self.conn.send_packet(&sio::encode(&packet)).await
    }

    /// Waits for event `name`; returns the frame (see [`Frame::event_args`]).
    pub async fn expect_event(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> Result<Frame, CaseError> {
        self.conn.expect(Pattern::event(name), timeout).await
    }
}
