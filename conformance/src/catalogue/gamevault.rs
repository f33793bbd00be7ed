//! gamevault cases: GameVault activities over Socket.IO (Engine.IO v4 / Socket.IO v5).
//!
//! Sources: the seed `spec/seeds/gamevault-websockets.txt` (MUST), the protocol note `spec/protocols/gamevault.md`
//! (the Engine.IO / Socket.IO rules the seed's "based on Socket.io" brings in are MUST; what only the real server
//! does, or what we read into the seed, is SHOULD; options are MAY), and the readings of
//! `schemas/gamevault/NOTES.md`.

mod activity;
mod engineio;
mod handshake;
mod session;
mod socketio;
mod support;

use crate::case::Case;

pub fn cases() -> Vec<Case> {
    engineio::cases()
        .into_iter()
        .chain(socketio::cases())
        .chain(handshake::cases())
        .chain(activity::cases())
        .collect()
}
