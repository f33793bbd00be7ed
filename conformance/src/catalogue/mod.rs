//! Every case the harness knows, per profile. Each profile module exposes `cases()`.

pub mod directus;
pub mod gamevault;
pub mod m2;
pub mod skapi;

use crate::case::Case;
use crate::profile::Profile;

/// The cases of one profile, in catalogue order: scenarios, then properties, then models.
pub fn cases(profile: Profile) -> Vec<Case> {
    let scenarios = match profile {
        Profile::M2 => m2::cases(),
        Profile::Directus => directus::cases(),
        Profile::Skapi => skapi::cases(),
        Profile::Gamevault => gamevault::cases(),
    };
    scenarios
        .into_iter()
        .chain(crate::property::cases(profile))
        .chain(crate::model::cases(profile))
        .collect()
}

/// Every case of every profile.
pub fn all() -> Vec<Case> {
    Profile::ALL.into_iter().flat_map(cases).collect()
}
