//! Integration tests of the reference server over real sockets, one module per profile.

mod directus;
mod gamevault;
mod m2;
mod robustness;
mod skapi;
