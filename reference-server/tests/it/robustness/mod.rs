//! Robustness across the four profiles over real sockets: a seeded stream of malformed frames per
//! profile against one server, malformed HTTP requests, and a client that floods without reading.
//! Each frame must get the answer its profile documents (an error, or a close with a documented
//! code, never 1011 and never a connection dropped without a close frame), and the server must
//! keep what it stored and keep serving.

mod directus;
mod flood;
mod gamevault;
mod garbage;
mod http;
mod limits;
mod m2;
mod profile;
mod skapi;
mod streams;
mod support;
