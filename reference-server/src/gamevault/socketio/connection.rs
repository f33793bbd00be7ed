//! The Socket.IO state of one Engine.IO session: which namespaces it joined (and the socket id
//! of each), the connect timeout, and a BINARY packet waiting for its attachments.

use std::future::Future;
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{json, Value};
use tokio::time::{sleep_until, Instant};

use super::packet::{Packet, PacketKind};
use super::{ConnectRefusal, Emitter, Event, Handler};
use crate::gamevault::engineio::{Application, CloseReason, Message, Outgoing};
use crate::gamevault::ids;

/// Attachments one binary packet may announce; more is treated as an attack, not a message.
const MAX_ATTACHMENTS: usize = 256;

pub struct Connection<H> {
    handler: H,
    /// (namespace, socket id) of every namespace joined, in joining order.
    sockets: Vec<(String, String)>,
    /// Until the first namespace is joined: when to give up on the client.
    connect_deadline: Option<Instant>,
    pending: Option<Reassembly>,
    max_attachment_bytes: usize,
}

/// A BINARY_EVENT or BINARY_ACK whose attachments are still arriving.
struct Reassembly {
    packet: Packet,
    attachments: Vec<Bytes>,
    bytes: usize,
}

pub enum ConnectionEvent<E> {
    Handler(E),
    ConnectTimeout,
}

impl<H: Handler> Connection<H> {
    pub fn new(
        handler: H,
        connect_timeout: Duration,
        max_attachment_bytes: usize,
    ) -> Connection<H> {
        Connection {
            handler,
            sockets: Vec::new(),
            connect_deadline: Some(Instant::now() + connect_timeout),
            pending: None,
            max_attachment_bytes,
        }
    }

    pub fn handler(&self) -> &H {
        &self.handler
    }

    fn socket_id(&self, namespace: &str) -> Option<String> {
        self.sockets
            .iter()
            .find(|(n, _)| n == namespace)
            .map(|(_, sid)| sid.clone())
    }

    fn on_text(&mut self, text: &str, out: &mut Outgoing) -> Result<(), CloseReason> {
        if self.pending.is_some() {
            return Err(CloseReason::protocol(
                "text packet while binary attachments are pending",
            ));
        }
        let packet = Packet::decode(text)
            .map_err(|err| CloseReason::protocol(format!("invalid Socket.IO packet: {err}")))?;
        if packet.kind.is_binary() && packet.attachments > 0 {
            if packet.attachments > MAX_ATTACHMENTS {
                return Err(CloseReason::protocol("too many binary attachments"));
            }
            self.pending = Some(Reassembly {
                attachments: Vec::with_capacity(packet.attachments),
                packet,
                bytes: 0,
            });
            return Ok(());
        }
        self.dispatch(packet, Vec::new(), out)
    }

    fn on_binary(&mut self, bytes: Bytes, out: &mut Outgoing) -> Result<(), CloseReason> {
        let Some(pending) = self.pending.as_mut() else {
            return Err(CloseReason::protocol(
                "binary message without a binary packet",
            ));
        };
        pending.bytes = pending.bytes.saturating_add(bytes.len());
        if pending.bytes > self.max_attachment_bytes {
            return Err(CloseReason::TooLarge);
        }
        pending.attachments.push(bytes);
        if pending.attachments.len() < pending.packet.attachments {
            return Ok(());
        }
        match self.pending.take() {
            Some(done) => self.dispatch(done.packet, done.attachments, out),
            None => Ok(()),
        }
    }

    fn dispatch(
        &mut self,
        packet: Packet,
        attachments: Vec<Bytes>,
        out: &mut Outgoing,
    ) -> Result<(), CloseReason> {
        let joined = self.socket_id(&packet.namespace);
        let namespace = packet.namespace;
        let mut emitter = Emitter::new(out);
        match (packet.kind, joined) {
            (PacketKind::Connect, Some(_)) => Err(CloseReason::protocol(
                "CONNECT to a namespace already joined",
            )),
            (PacketKind::Connect, None) => {
                self.connect(&namespace, packet.data.as_ref(), &mut emitter);
                Ok(())
            }
            (PacketKind::ConnectError, _) => {
                Err(CloseReason::protocol("CONNECT_ERROR from a client"))
            }
            (_, None) => Err(CloseReason::protocol("packet for a namespace not joined")),
            (PacketKind::Disconnect, Some(socket_id)) => {
                self.sockets.retain(|(n, _)| *n != namespace);
                self.handler.on_disconnect(&namespace, &socket_id);
                Ok(())
            }
            (PacketKind::Event | PacketKind::BinaryEvent, Some(socket_id)) => {
                let Some(Value::Array(mut items)) = packet.data else {
                    return Err(CloseReason::protocol("event without arguments"));
                };
                let name = match items.first() {
                    Some(Value::String(_)) => match items.remove(0) {
                        Value::String(name) => name,
                        _ => return Err(CloseReason::protocol("event without a name")),
                    },
                    _ => return Err(CloseReason::protocol("event without a name")),
                };
                let event = Event {
                    name,
                    args: items,
                    ack_id: packet.ack_id,
                    attachments,
                };
                self.handler
                    .on_event(&namespace, &socket_id, event, &mut emitter)
            }
            // This server never asks a client for an acknowledgement: nothing waits for these.
            (PacketKind::Ack | PacketKind::BinaryAck, Some(_)) => Ok(()),
        }
    }

    fn connect(&mut self, namespace: &str, auth: Option<&Value>, emitter: &mut Emitter<'_>) {
        let refusal = if !self.handler.has_namespace(namespace) {
            Some(ConnectRefusal {
                message: "Invalid namespace".into(),
            })
        } else {
            self.handler.authorize(namespace, auth).err()
        };
        if let Some(refusal) = refusal {
            emitter.packet(&Packet::new(
                PacketKind::ConnectError,
                namespace,
                Some(json!({ "message": refusal.message })),
            ));
            return;
        }
        let socket_id = ids::session_id();
        emitter.packet(&Packet::new(
            PacketKind::Connect,
            namespace,
            Some(json!({ "sid": socket_id })),
        ));
        self.connect_deadline = None;
        self.sockets.push((namespace.to_owned(), socket_id.clone()));
        self.handler.on_connect(namespace, &socket_id, emitter);
    }
}

impl<H: Handler> Application for Connection<H> {
    type Event = ConnectionEvent<H::Event>;

    fn on_message(&mut self, message: Message, out: &mut Outgoing) -> Result<(), CloseReason> {
        match message {
            Message::Text(text) => self.on_text(&text, out),
            Message::Binary(bytes) => self.on_binary(bytes, out),
        }
    }

    fn next_event(&mut self) -> impl Future<Output = Self::Event> + Send {
        let deadline = self.connect_deadline;
        let handler = &mut self.handler;
        async move {
            tokio::select! {
                event = handler.next_event() => ConnectionEvent::Handler(event),
                () = sleep_until_some(deadline) => ConnectionEvent::ConnectTimeout,
            }
        }
    }

    fn on_event(&mut self, event: Self::Event, out: &mut Outgoing) -> Result<(), CloseReason> {
        match event {
            ConnectionEvent::ConnectTimeout if self.sockets.is_empty() => {
                Err(CloseReason::Timeout("connect timeout"))
            }
            ConnectionEvent::ConnectTimeout => {
                self.connect_deadline = None;
                Ok(())
            }
            ConnectionEvent::Handler(event) => {
                self.handler.on_handler_event(event, &mut Emitter::new(out))
            }
        }
    }

    fn on_close(&mut self, _reason: &CloseReason) {
        for (namespace, socket_id) in std::mem::take(&mut self.sockets) {
            self.handler.on_disconnect(&namespace, &socket_id);
        }
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
