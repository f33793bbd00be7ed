//! Socket.IO v5 over an Engine.IO session: the packet codec, namespaces (CONNECT, CONNECT_ERROR,
//! DISCONNECT, the connect timeout), events with acknowledgements, and the reassembly of binary
//! attachments. What events mean is a [`Handler`]'s business.

mod connection;
pub mod packet;

use std::future::Future;

use axum::body::Bytes;
use serde_json::Value;

use super::engineio::{CloseReason, Outgoing};
pub use connection::Connection;
use packet::{Packet, PacketKind};

/// An event a client emitted to a namespace it joined.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    /// The arguments after the name; binary ones appear as `{"_placeholder":true,"num":i}`.
    pub args: Vec<Value>,
    /// Present when the client waits for an acknowledgement.
    pub ack_id: Option<u64>,
    /// The binary attachments of a BINARY_EVENT, in placeholder order.
    pub attachments: Vec<Bytes>,
}

/// A refused CONNECT: the `message` of the CONNECT_ERROR packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRefusal {
    pub message: String,
}

/// The application behind the namespaces of one Socket.IO connection.
pub trait Handler: Send + 'static {
    /// Something the handler produced by itself (a broadcast).
    type Event: Send;

    /// Whether `namespace` exists; others are refused with "Invalid namespace".
    fn has_namespace(&self, namespace: &str) -> bool;

    /// Decides whether a CONNECT to an existing namespace, with its auth payload, is accepted.
    fn authorize(&mut self, namespace: &str, auth: Option<&Value>) -> Result<(), ConnectRefusal>;

    /// The socket `socket_id` joined `namespace`; its CONNECT answer is already out.
    fn on_connect(&mut self, namespace: &str, socket_id: &str, out: &mut Emitter<'_>);

    /// An event to a namespace the socket joined. `Err` closes the connection.
    fn on_event(
        &mut self,
        namespace: &str,
        socket_id: &str,
        event: Event,
        out: &mut Emitter<'_>,
    ) -> Result<(), CloseReason>;

    /// The socket left `namespace`: DISCONNECT, or the end of the connection.
    fn on_disconnect(&mut self, namespace: &str, socket_id: &str);

    /// Waits for the handler's next event; must be cancel-safe.
    fn next_event(&mut self) -> impl Future<Output = Self::Event> + Send;

    fn on_handler_event(
        &mut self,
        event: Self::Event,
        out: &mut Emitter<'_>,
    ) -> Result<(), CloseReason>;
}

/// Writes Socket.IO packets into the Engine.IO session.
pub struct Emitter<'a> {
    out: &'a mut Outgoing,
}

impl<'a> Emitter<'a> {
    pub fn new(out: &'a mut Outgoing) -> Emitter<'a> {
        Emitter { out }
    }

    /// `2["name",args…]` to `namespace`.
    pub fn emit(&mut self, namespace: &str, name: &str, args: impl IntoIterator<Item = Value>) {
        let mut items = vec![Value::String(name.to_owned())];
        items.extend(args);
        self.packet(&Packet::new(
            PacketKind::Event,
            namespace,
            Some(Value::Array(items)),
        ));
    }

    /// `3<id>[args…]`: the answer to an event that asked for one.
    pub fn ack(&mut self, namespace: &str, id: u64, args: impl IntoIterator<Item = Value>) {
        let items = Value::Array(args.into_iter().collect());
        self.packet(&Packet::new(PacketKind::Ack, namespace, Some(items)).with_ack_id(id));
    }

    /// An already encoded Socket.IO packet (one rendering shared by many recipients).
    pub fn raw(&mut self, encoded: String) {
        self.out.message(encoded);
    }

    fn packet(&mut self, packet: &Packet) {
        self.out.message(packet.encode());
    }
}
