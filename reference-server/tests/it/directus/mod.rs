//! The `directus` profile over real sockets: the real server's recordings replayed, then the
//! behaviours they do not cover (public mode, expiry in handshake mode, raw frames, limits, REST).

mod expiry;
mod frames;
mod http_api;
mod public;
mod replay;
mod subscriptions;
mod support;
mod transcripts;
