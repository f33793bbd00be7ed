//! Collections (their fields and permissions) and who is asking (the accountability).

use std::sync::{Arc, RwLock};

use super::config::{CollectionConfig, Permissions, PrimaryKeyKind, PUBLIC_ROLE};
use super::error::DirectusError;

/// The name of the primary-key field of every collection.
pub const PRIMARY_KEY: &str = "id";

/// Who a request or a socket acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accountability {
    /// No credentials: the public role.
    Public,
    User {
        id: Arc<str>,
        role: Arc<str>,
        admin: bool,
    },
}

impl Accountability {
    pub fn is_admin(&self) -> bool {
        matches!(self, Accountability::User { admin: true, .. })
    }

    pub fn role(&self) -> &str {
        match self {
            Accountability::Public => PUBLIC_ROLE,
            Accountability::User { role, .. } => role,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
}

/// One collection's definition.
#[derive(Debug, Clone)]
pub struct CollectionDef {
    pub name: String,
    pub primary_key: PrimaryKeyKind,
    /// Field names in schema order; the primary key first.
    pub fields: Vec<String>,
    pub permissions: Permissions,
}

impl CollectionDef {
    pub fn new(
        name: &str,
        primary_key: PrimaryKeyKind,
        fields: &[String],
        permissions: Permissions,
    ) -> CollectionDef {
        let mut all = vec![PRIMARY_KEY.to_owned()];
        for field in fields {
            if !all.contains(field) {
                all.push(field.clone());
            }
        }
        CollectionDef {
            name: name.to_owned(),
            primary_key,
            fields: all,
            permissions,
        }
    }

    pub fn from_config(config: &CollectionConfig) -> CollectionDef {
        CollectionDef::new(
            &config.name,
            config.primary_key,
            &config.fields,
            config.permissions.clone(),
        )
    }

    pub fn has_field(&self, field: &str) -> bool {
        self.fields.iter().any(|f| f == field)
    }

    pub fn allows(&self, who: &Accountability, action: Action) -> bool {
        if who.is_admin() {
            return true;
        }
        let roles = match action {
            Action::Create => &self.permissions.create,
            Action::Read => &self.permissions.read,
            Action::Update => &self.permissions.update,
            Action::Delete => &self.permissions.delete,
        };
        roles.iter().any(|r| r == who.role())
    }
}

/// Whether a collection name belongs to Directus itself rather than to the project.
pub fn is_system_collection(name: &str) -> bool {
    name.starts_with("directus_")
}

/// The project's collections; `POST /collections` adds to them at run time.
#[derive(Debug, Default)]
pub struct Schema {
    collections: RwLock<Vec<Arc<CollectionDef>>>,
}

impl Schema {
    pub fn new(defs: impl IntoIterator<Item = CollectionDef>) -> Schema {
        Schema {
            collections: RwLock::new(defs.into_iter().map(Arc::new).collect()),
        }
    }

    pub fn get(&self, name: &str) -> Option<Arc<CollectionDef>> {
        read(&self.collections)
            .iter()
            .find(|c| c.name == name)
            .cloned()
    }

    pub fn list(&self) -> Vec<Arc<CollectionDef>> {
        read(&self.collections).clone()
    }

    /// The collection, if `who` may do `action` to it; one error for "missing" and "not allowed".
    pub fn authorize(
        &self,
        who: &Accountability,
        name: &str,
        action: Action,
    ) -> Result<Arc<CollectionDef>, DirectusError> {
        match self.get(name) {
            Some(def) if def.allows(who, action) => Ok(def),
            _ => Err(DirectusError::forbidden_collection(name)),
        }
    }

    /// Adds a collection; refused when the name is taken.
    pub fn add(&self, def: CollectionDef) -> Result<Arc<CollectionDef>, DirectusError> {
        let mut all = self.collections.write().unwrap_or_else(|p| p.into_inner());
        if all.iter().any(|c| c.name == def.name) {
            return Err(DirectusError::invalid_payload(format!(
                "Collection \"{}\" already exists",
                def.name
            )));
        }
        let def = Arc::new(def);
        all.push(def.clone());
        Ok(def)
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}
