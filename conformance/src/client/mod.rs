//! Connections to the server under test: a generic WebSocket [`Conn`] and one connector per profile.
//!
//! Every frame a `Conn` receives is timestamped on arrival, checked against the profile's server schemas and
//! recorded in the case's transcript by a background task; every frame sent through the checked methods is
//! checked against the client schemas first.

pub mod check;
pub mod conn;
pub mod connect;
pub mod directus;
pub mod frame;
pub mod gamevault;
pub mod m2;
pub mod polling;
pub mod sio;
pub mod skapi;

pub use conn::{Closed, Conn, Handshake, ABNORMAL, NO_STATUS};
pub use connect::{ConnectError, Request};
pub use frame::{Frame, Pattern, Payload};
