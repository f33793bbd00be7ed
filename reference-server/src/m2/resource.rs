//! The three kinds of resource a client subscribes to, their id syntax, and the hub topics they live in.
//!
//! Topics are tenant-qualified from the connection's identity, never from the message, so a client
//! can only name resources of its own organization/project/world and its own user.

use std::fmt;

use crate::hub::Topic;

use super::auth::Identity;

/// The level a KV store lives at; the concrete ids come from the connection's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Organization,
    Project,
    World,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "Organization" => Some(Scope::Organization),
            "Project" => Some(Scope::Project),
            "World" => Some(Scope::World),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Organization => "Organization",
            Scope::Project => "Project",
            Scope::World => "World",
        }
    }

    /// The deepest scope the identity names: `World` with a world header, else `Project`, else
    /// `Organization`.
    pub fn default_for(identity: &Identity) -> Scope {
        if identity.world.is_some() {
            Scope::World
        } else if identity.project.is_some() {
            Scope::Project
        } else {
            Scope::Organization
        }
    }
}

/// Each user has a client store (written by the user) and a server store (written by service accounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Store {
    Client,
    Server,
}

impl Store {
    pub fn parse(s: &str) -> Option<Store> {
        match s {
            "kvstoreClient" => Some(Store::Client),
            "kvstoreServer" => Some(Store::Server),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Store::Client => "kvstoreClient",
            Store::Server => "kvstoreServer",
        }
    }
}

/// `<scope>:<store>:<key>`; the key may itself contain colons.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KvId {
    pub scope: Scope,
    pub store: Store,
    pub key: String,
}

impl KvId {
    pub fn parse(id: &str) -> Option<KvId> {
        let mut parts = id.splitn(3, ':');
        let scope = Scope::parse(parts.next()?)?;
        let store = Store::parse(parts.next()?)?;
        let key = parts.next()?;
        is_valid_key(key).then(|| KvId {
            scope,
            store,
            key: key.to_owned(),
        })
    }
}

/// A KV key: non-empty, on one line (NOTES.md m2.kvstore-id-structure: `.+`).
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty() && !key.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
}

/// A live config name: non-empty, no whitespace (NOTES.md m2.liveconfig-name).
pub fn is_valid_config_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(char::is_whitespace)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Datasource {
    Public,
    Private,
}

impl Datasource {
    pub fn parse(s: &str) -> Option<Datasource> {
        match s {
            "public" => Some(Datasource::Public),
            "private" => Some(Datasource::Private),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Datasource::Public => "public",
            Datasource::Private => "private",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    KvStore(KvId),
    Collection(Datasource),
    LiveConfig(String),
}

impl Resource {
    /// Parses the `resource` of a client message; `None` for an unknown type or a malformed id.
    pub fn parse(kind: &str, id: &str) -> Option<Resource> {
        match kind {
            "kvStore" => KvId::parse(id).map(Resource::KvStore),
            "collection" => Datasource::parse(id).map(Resource::Collection),
            "liveConfig" => is_valid_config_name(id).then(|| Resource::LiveConfig(id.to_owned())),
            _ => None,
        }
    }

    /// The `type` as written on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            Resource::KvStore(_) => "kvStore",
            Resource::Collection(_) => "collection",
            Resource::LiveConfig(_) => "liveConfig",
        }
    }

    /// The name used in the `resource_not_found` warning text.
    pub fn warning_name(&self) -> &'static str {
        match self {
            Resource::KvStore(_) => "KVStore",
            Resource::Collection(_) => "Collection",
            Resource::LiveConfig(_) => "LiveConfig",
        }
    }

    /// The `id` as written on the wire.
    pub fn id(&self) -> String {
        match self {
            Resource::KvStore(kv) => {
                format!("{}:{}:{}", kv.scope.as_str(), kv.store.as_str(), kv.key)
            }
            Resource::Collection(ds) => ds.as_str().to_owned(),
            Resource::LiveConfig(name) => name.clone(),
        }
    }

    /// The topic of this resource for `identity`'s user, in `identity`'s tenant.
    pub fn topic(&self, identity: &Identity) -> Result<Topic, ScopeUnavailable> {
        match self {
            Resource::KvStore(kv) => {
                kv_topic(identity, &identity.user, kv.scope, kv.store, &kv.key)
            }
            Resource::Collection(ds) => Ok(collection_topic(identity, &identity.user, *ds)),
            Resource::LiveConfig(name) => Ok(live_config_topic(identity, name)),
        }
    }
}

/// A KV scope that needs a project or world the caller did not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct ScopeUnavailable(pub Scope);

impl fmt::Display for ScopeUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Scope::World => f.write_str(
                "World scope requires the connection to name a project and a world \
                 (x-m2-project-id, x-m2-world-id)",
            ),
            _ => f.write_str(
                "Project scope requires the connection to name a project (x-m2-project-id)",
            ),
        }
    }
}

/// Escapes one path component so `/` only ever separates components.
fn esc(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F")
}

fn unesc(s: &str) -> String {
    s.replace("%2F", "/").replace("%25", "%")
}

fn location(identity: &Identity, scope: Scope) -> Result<String, ScopeUnavailable> {
    let org = esc(&identity.organization);
    match scope {
        Scope::Organization => Ok(format!("Organization/{org}")),
        Scope::Project => {
            let project = identity.project.as_deref().ok_or(ScopeUnavailable(scope))?;
            Ok(format!("Project/{org}/{}", esc(project)))
        }
        Scope::World => match (&identity.project, &identity.world) {
            (Some(project), Some(world)) => {
                Ok(format!("World/{org}/{}/{}", esc(project), esc(world)))
            }
            _ => Err(ScopeUnavailable(scope)),
        },
    }
}

/// The prefix under which every key of one store lives.
pub fn kv_store_prefix(
    identity: &Identity,
    user: &str,
    scope: Scope,
    store: Store,
) -> Result<String, ScopeUnavailable> {
    Ok(format!(
        "m2/kv/{}/{}/{}/",
        location(identity, scope)?,
        esc(user),
        store.as_str()
    ))
}

pub fn kv_topic(
    identity: &Identity,
    user: &str,
    scope: Scope,
    store: Store,
    key: &str,
) -> Result<Topic, ScopeUnavailable> {
    Ok(Topic::new(format!(
        "{}{}",
        kv_store_prefix(identity, user, scope, store)?,
        esc(key)
    )))
}

/// The key a topic under `prefix` stands for.
pub fn key_of(topic: &Topic, prefix: &str) -> Option<String> {
    topic.as_str().strip_prefix(prefix).map(unesc)
}

/// Collections belong to the organization, not to a project or world.
pub fn collection_topic(identity: &Identity, user: &str, ds: Datasource) -> Topic {
    Topic::new(format!(
        "m2/collection/{}/{}/{}",
        esc(&identity.organization),
        esc(user),
        ds.as_str()
    ))
}

/// Live configs belong to the organization and, when the caller names one, the project.
pub fn live_config_topic(identity: &Identity, name: &str) -> Topic {
    let org = esc(&identity.organization);
    let loc = match &identity.project {
        Some(project) => format!("Project/{org}/{}", esc(project)),
        None => format!("Organization/{org}"),
    };
    Topic::new(format!("m2/liveconfig/{loc}/{}", esc(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(project: Option<&str>, world: Option<&str>) -> Identity {
        Identity {
            user: "u/1".into(),
            service: false,
            organization: "o".into(),
            project: project.map(str::to_owned),
            world: world.map(str::to_owned),
        }
    }

    #[test]
    fn kv_ids() {
        let kv = KvId::parse("World:kvstoreClient:a:b").expect("valid");
        assert_eq!(
            (kv.scope, kv.store, kv.key.as_str()),
            (Scope::World, Store::Client, "a:b")
        );
        for bad in [
            "World:kvstoreClient:",
            "World:kvstoreClient",
            "world:kvstoreClient:k",
            "World:kvstore:k",
            "World:kvstoreServer:a\nb",
            "World:kvstoreServer:a\u{2028}",
            "",
        ] {
            assert_eq!(KvId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn resource_ids_round_trip() {
        for (kind, id) in [
            ("kvStore", "Project:kvstoreServer:x y"),
            ("collection", "private"),
            ("liveConfig", "game"),
        ] {
            let r = Resource::parse(kind, id).expect("valid");
            assert_eq!((r.type_name(), r.id().as_str()), (kind, id));
        }
        assert_eq!(Resource::parse("collection", "shared"), None);
        assert_eq!(Resource::parse("liveConfig", "a b"), None);
        assert_eq!(Resource::parse("liveConfig", ""), None);
        assert!(Resource::parse("liveConfig", "a/b").is_some());
        assert_eq!(Resource::parse("kvstore", "World:kvstoreClient:k"), None);
    }

    #[test]
    fn scopes_need_the_headers_they_name() {
        let kv = |scope| {
            Resource::KvStore(KvId {
                scope,
                store: Store::Client,
                key: "k".into(),
            })
        };
        let org_only = identity(None, None);
        assert!(kv(Scope::Organization).topic(&org_only).is_ok());
        assert_eq!(
            kv(Scope::Project).topic(&org_only),
            Err(ScopeUnavailable(Scope::Project))
        );
        let project = identity(Some("p"), None);
        assert!(kv(Scope::Project).topic(&project).is_ok());
        assert_eq!(
            kv(Scope::World).topic(&project),
            Err(ScopeUnavailable(Scope::World))
        );
        assert!(kv(Scope::World)
            .topic(&identity(Some("p"), Some("w")))
            .is_ok());
    }

    #[test]
    fn organization_scope_ignores_project_and_world() {
        let kv = Resource::KvStore(KvId {
            scope: Scope::Organization,
            store: Store::Client,
            key: "k".into(),
        });
        assert_eq!(
            kv.topic(&identity(None, None)),
            kv.topic(&identity(Some("p"), Some("w")))
        );
    }

    #[test]
    fn keys_come_back_from_topics() {
        let id = identity(Some("p"), None);
        let prefix = kv_store_prefix(&id, "u/1", Scope::Project, Store::Client).expect("scope");
        let topic = kv_topic(&id, "u/1", Scope::Project, Store::Client, "a/%2F").expect("scope");
        assert_eq!(key_of(&topic, &prefix).as_deref(), Some("a/%2F"));
    }
}
