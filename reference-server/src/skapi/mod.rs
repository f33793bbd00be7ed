//! The `skapi` profile.

use axum::Router;
use serde::Deserialize;

use crate::server::Shared;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

pub fn routes(_shared: &Shared) -> Router {
    Router::new()
}
