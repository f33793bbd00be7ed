//! The `gamevault` profile over real sockets: Engine.IO v4 over WebSocket and long-polling (with
//! the upgrade), Socket.IO v5 namespaces, events and acks, the socket secret of the handshake,
//! the activities, the REST API, and (with `GAMEVAULT_INTEROP=1`) the real socket.io-client.

mod activities;
mod engine_websocket;
mod http_api;
mod interop;
mod polling;
mod secret;
mod socket_io;
mod support;
