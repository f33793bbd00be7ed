//! The `skapi` profile over real sockets: handshake, login and discovery, groups and notices,
//! broadcasts, private messages, WebRTC relay, malformed input, limits, `get-ws-group`.

mod groups;
mod handshake;
mod http_api;
mod limits;
mod messages;
mod robustness;
mod rtc;
mod support;
