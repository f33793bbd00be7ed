//! The `[m2]` section of the server configuration: tenants and API keys.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

/// Tenancy and limits of the `m2` profile. Every field is optional; the defaults are the demo tenant.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Largest client frame accepted on the realtime socket (bytes); a larger one closes it with 1009.
    /// `None` uses the server-wide `limits.max_message_bytes`.
    pub max_message_bytes: Option<usize>,
    /// Subscriptions one realtime connection may hold at once; a subscribe beyond it gets an error.
    pub max_subscriptions_per_connection: usize,
    /// Organizations with their projects and worlds.
    pub organizations: Vec<Organization>,
    /// API keys, each bound to one user of one organization.
    pub api_keys: Vec<ApiKey>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub id: String,
    #[serde(default)]
    pub projects: Vec<Project>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub id: String,
    #[serde(default)]
    pub worlds: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub key: String,
    /// The user the key acts as (its KV stores and collections are this user's).
    pub user: String,
    /// The only organization the key may be used with.
    pub organization: String,
    /// A service account: may write any user's `kvstoreServer` and act for any user of its organization.
    #[serde(default)]
    pub service: bool,
}

pub const DEMO_ORGANIZATION: &str = "testOrg";
pub const DEMO_PROJECT: &str = "testProj";
pub const DEMO_WORLD: &str = "testWorld";
/// A second world of the demo project, so world isolation can be observed.
pub const DEMO_SECOND_WORLD: &str = "testWorld2";

impl Default for Config {
    fn default() -> Self {
        let org = |id: &str, project: &str, worlds: &[&str]| Organization {
            id: id.into(),
            projects: vec![Project {
                id: project.into(),
                worlds: worlds.iter().map(|w| (*w).into()).collect(),
            }],
        };
        let key = |key: &str, user: &str, organization: &str, service: bool| ApiKey {
            key: key.into(),
            user: user.into(),
            organization: organization.into(),
            service,
        };
        Config {
            max_message_bytes: None,
            max_subscriptions_per_connection: 10_000,
            organizations: vec![
                org(
                    DEMO_ORGANIZATION,
                    DEMO_PROJECT,
                    &[DEMO_WORLD, DEMO_SECOND_WORLD],
                ),
                org("otherOrg", "otherProj", &["otherWorld"]),
            ],
            api_keys: vec![
                key("m2-demo-key", "demoUser", DEMO_ORGANIZATION, false),
                key("m2-demo-key-2", "demoUser2", DEMO_ORGANIZATION, false),
                key(
                    "m2-demo-service-key",
                    "demoService",
                    DEMO_ORGANIZATION,
                    true,
                ),
                key("m2-other-key", "otherUser", "otherOrg", false),
            ],
        }
    }
}

/// Who an API key acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user: String,
    pub organization: String,
    pub service: bool,
}

/// The configuration indexed for lookups on every request.
#[derive(Debug, Default)]
pub struct Tenancy {
    keys: HashMap<String, Account>,
    /// organization → project → worlds
    organizations: HashMap<String, HashMap<String, HashSet<String>>>,
}

impl Tenancy {
    pub fn new(config: &Config) -> Tenancy {
        let organizations = config
            .organizations
            .iter()
            .map(|o| {
                let projects = o
                    .projects
                    .iter()
                    .map(|p| (p.id.clone(), p.worlds.iter().cloned().collect()))
                    .collect();
                (o.id.clone(), projects)
            })
            .collect();
        let keys = config
            .api_keys
            .iter()
            .map(|k| {
                (
                    k.key.clone(),
                    Account {
                        user: k.user.clone(),
                        organization: k.organization.clone(),
                        service: k.service,
                    },
                )
            })
            .collect();
        Tenancy {
            keys,
            organizations,
        }
    }

    pub fn account(&self, api_key: &str) -> Option<&Account> {
        self.keys.get(api_key)
    }

    pub fn has_organization(&self, org: &str) -> bool {
        self.organizations.contains_key(org)
    }

    pub fn has_project(&self, org: &str, project: &str) -> bool {
        self.organizations
            .get(org)
            .is_some_and(|projects| projects.contains_key(project))
    }

    pub fn has_world(&self, org: &str, project: &str, world: &str) -> bool {
        self.organizations
            .get(org)
            .and_then(|projects| projects.get(project))
            .is_some_and(|worlds| worlds.contains(world))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_tenant_is_the_default() {
        let t = Tenancy::new(&Config::default());
        let demo = t.account("m2-demo-key").expect("demo key");
        assert_eq!(demo.user, "demoUser");
        assert_eq!(demo.organization, "testOrg");
        assert!(!demo.service);
        assert!(t.account("m2-demo-service-key").is_some_and(|a| a.service));
        assert!(t.has_world("testOrg", "testProj", "testWorld"));
        assert!(t.has_world("otherOrg", "otherProj", "otherWorld"));
        assert!(!t.has_world("testOrg", "otherProj", "otherWorld"));
        assert!(!t.has_project("otherOrg", "testProj"));
    }

    #[test]
    fn a_toml_section_replaces_the_fields_it_names() {
        let config: crate::Config = crate::Config::from_toml(
            r#"
            [m2]
            max_message_bytes = 4096
            [[m2.organizations]]
            id = "acme"
            projects = [{ id = "p1", worlds = ["w1", "w2"] }]
            [[m2.api_keys]]
            key = "k"
            user = "u"
            organization = "acme"
            service = true
            "#,
        )
        .expect("valid config");
        let t = Tenancy::new(&config.m2);
        assert_eq!(config.m2.max_message_bytes, Some(4096));
        assert!(t.has_world("acme", "p1", "w2"));
        assert!(!t.has_organization("testOrg"));
        assert!(t.account("k").is_some_and(|a| a.service));
        assert!(t.account("m2-demo-key").is_none());
    }
}
