//! Every case the harness knows, per profile. Each profile module exposes `cases()`.

pub mod directus;
pub mod gamevault;
pub mod m2;
pub mod skapi;

use crate::case::Case;
use crate::profile::Profile;

/// The cases of one profile, in catalogue order.
pub fn cases(profile: Profile) -> Vec<Case> {
    match profile {
        Profile::M2 => m2::cases(),
        Profile::Directus => directus::cases(),
        Profile::Skapi => skapi::cases(),
        Profile::Gamevault => gamevault::cases(),
    }
}

/// Every case of every profile.
pub fn all() -> Vec<Case> {
    Profile::ALL.into_iter().flat_map(cases).collect()
}
