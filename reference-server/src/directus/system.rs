//! The one Directus system collection the profile serves: `directus_users`, read-only, for
//! administrators' subscriptions. Secrets are masked as on the real server.

use serde_json::{json, Value};

use super::auth::Auth;
use super::config::{Permissions, PrimaryKeyKind};
use super::schema::CollectionDef;

pub const USERS: &str = "directus_users";

const MASK: &str = "**********";

pub fn users_collection() -> CollectionDef {
    let fields: Vec<String> = [
        "first_name",
        "last_name",
        "email",
        "password",
        "status",
        "role",
        "token",
        "provider",
    ]
    .iter()
    .map(|f| (*f).to_owned())
    .collect();
    CollectionDef::new(USERS, PrimaryKeyKind::Uuid, &fields, Permissions::default())
}

pub fn user_items(auth: &Auth) -> Vec<Value> {
    auth.users()
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "first_name": u.first_name,
                "last_name": u.last_name,
                "email": u.email,
                "password": MASK,
                "status": "active",
                "role": u.role,
                "token": u.static_token.as_ref().map(|_| MASK),
                "provider": "default",
            })
        })
        .collect()
}
