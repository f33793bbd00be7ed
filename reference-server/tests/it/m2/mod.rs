//! The `m2` profile over real sockets: handshake (headers, base58 subprotocol), the document's
//! exchanges, subscription life cycle, isolation between tenants and users, malformed input and
//! limits, and the HTTP API.

mod handshake;
mod http_api;
mod isolation;
mod messages;
mod robustness;
mod support;
