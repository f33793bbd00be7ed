//! Loads `schemas/` once into compiled validators and classifies frames.
//!
//! Layout read here (see `schemas/README.md`):
//! `schemas/<profile>/<group>/<kind>.json`, where a group is `client`, `server`, a shared-definitions
//! folder such as `common`, or a non-frame group such as `handshake`. A group that holds an
//! `envelope.json` is a *direction*: every frame of that direction must match the envelope, and the
//! kind of a frame is the one message schema of the group that accepts it.
//!
//! Every file is registered under `https://schemas.ws-conformance.invalid/<profile>/<group>/<file>`
//! so relative `$ref`s between files resolve locally and nothing is ever fetched.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use jsonschema::{Registry, Validator};
use serde_json::Value;

use crate::profile::Profile;

/// Base URI every schema file is registered under; `.invalid` guarantees it is never resolved.
pub const BASE_URI: &str = "https://schemas.ws-conformance.invalid/";

/// The file name of a direction's envelope schema.
pub const ENVELOPE: &str = "envelope";

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not a valid draft 2020-12 schema: {reason}")]
    Meta { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Compile { path: PathBuf, reason: String },
    #[error("schema registry: {0}")]
    Registry(String),
    #[error("no schemas for profile `{0}` under the schema root")]
    MissingProfile(Profile),
}

/// One compiled schema file.
pub struct CompiledSchema {
    /// `<group>/<kind>`, e.g. `client/subscribe`.
    pub id: String,
    pub path: PathBuf,
    pub source: Value,
    pub validator: Validator,
}

impl fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledSchema")
            .field("id", &self.id)
            .finish()
    }
}

/// Why a value does not match a schema: the first failing location and its reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// The schema that judged the value, `<group>/<kind>`.
    pub schema: String,
    /// JSON pointer into the instance.
    pub pointer: String,
    pub reason: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{} at {}: {}", self.schema, pointer, self.reason)
    }
}

/// The schemas of one group (`client`, `server`, `handshake`, …) of one profile.
#[derive(Debug, Default)]
pub struct Group {
    pub name: String,
    pub envelope: Option<CompiledSchema>,
    /// Message schemas by kind (file stem), sorted.
    pub kinds: BTreeMap<String, CompiledSchema>,
}

impl Group {
    /// Checks `value` against one kind's schema.
    pub fn check_kind(&self, kind: &str, value: &Value) -> Result<(), Violation> {
        let schema = self.kinds.get(kind).ok_or_else(|| Violation {
            schema: format!("{}/{kind}", self.name),
            pointer: String::new(),
            reason: format!("no schema `{kind}` in group `{}`", self.name),
        })?;
        check(schema, value)
    }

    /// Classifies a frame of this direction: the envelope must accept it, and exactly the kinds
    /// whose schema accepts it are returned (normally one). When the envelope rejects it, the
    /// violation names the closest kind (the one with the fewest errors) and its first error.
    pub fn classify(&self, value: &Value) -> Result<Vec<&str>, Violation> {
        let matching: Vec<&str> = self
            .kinds
            .iter()
            .filter(|(_, s)| s.validator.is_valid(value))
            .map(|(k, _)| k.as_str())
            .collect();
        if let Some(envelope) = &self.envelope {
            if !matching.is_empty() {
                return check(envelope, value).map(|()| matching);
            }
        } else if !matching.is_empty() {
            return Ok(matching);
        }
        let closest = self
            .kinds
            .values()
            .map(|s| (s.validator.iter_errors(value).count(), s))
            .min_by_key(|(n, _)| *n);
        let Some((_, schema)) = closest else {
            return Err(Violation {
                schema: format!("{}/{ENVELOPE}", self.name),
                pointer: String::new(),
                reason: format!("group `{}` has no message schemas", self.name),
            });
        };
        let mut violation = check(schema, value).err().unwrap_or_else(|| Violation {
            schema: schema.id.clone(),
            pointer: String::new(),
            reason: "rejected".to_owned(),
        });
        violation.reason = format!(
            "matches no {} message; closest is `{}`: {}",
            self.name, schema.id, violation.reason
        );
        Err(violation)
    }
}

fn check(schema: &CompiledSchema, value: &Value) -> Result<(), Violation> {
    schema.validator.validate(value).map_err(|e| Violation {
        schema: schema.id.clone(),
        pointer: e.instance_path().to_string(),
        reason: e.to_string(),
    })
}

/// All schemas of one profile, by group.
#[derive(Debug, Default)]
pub struct ProfileSchemas {
    pub profile: Option<Profile>,
    pub groups: BTreeMap<String, Group>,
}

impl ProfileSchemas {
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    /// Frames the server sends.
    pub fn server(&self) -> &Group {
        self.groups
            .get("server")
            .expect("every profile has a server group")
    }

    /// Frames the client sends.
    pub fn client(&self) -> &Group {
        self.groups
            .get("client")
            .expect("every profile has a client group")
    }

    pub fn schema_count(&self) -> usize {
        self.groups
            .values()
            .map(|g| g.kinds.len() + usize::from(g.envelope.is_some()))
            .sum()
    }
}

/// Every profile's schemas, compiled once.
#[derive(Debug)]
pub struct SchemaSet {
    pub root: PathBuf,
    pub profiles: BTreeMap<Profile, ProfileSchemas>,
}

impl SchemaSet {
    /// The `schemas/` folder of this source tree.
    pub fn default_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
    }

    /// Loads and compiles every schema of every profile under `root`.
    pub fn load(root: &Path) -> Result<SchemaSet, SchemaError> {
        Self::load_profiles(root, &Profile::ALL)
    }

    /// Loads and compiles the schemas of `profiles` only; each of them must have schemas under `root`.
    pub fn load_profiles(root: &Path, wanted: &[Profile]) -> Result<SchemaSet, SchemaError> {
        let files = collect_files(root, wanted)?;
        let registry = Registry::new()
            .extend(
                files
                    .iter()
                    .map(|f| (f.uri.clone(), f.source.clone()))
                    .collect::<Vec<_>>(),
            )
            .and_then(|b| b.prepare())
            .map_err(|e| SchemaError::Registry(e.to_string()))?;
        let mut profiles: BTreeMap<Profile, ProfileSchemas> = BTreeMap::new();
        for file in files {
            jsonschema::meta::validate(&file.source).map_err(|e| SchemaError::Meta {
                path: file.path.clone(),
                reason: format!("at {}: {e}", e.instance_path()),
            })?;
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .with_registry(&registry)
                .with_base_uri(file.uri.clone())
                .should_validate_formats(true)
                .build(&file.source)
                .map_err(|e| SchemaError::Compile {
                    path: file.path.clone(),
                    reason: e.to_string(),
                })?;
            let compiled = CompiledSchema {
                id: format!("{}/{}", file.group, file.kind),
                path: file.path,
                source: file.source,
                validator,
            };
            let schemas = profiles.entry(file.profile).or_default();
            schemas.profile = Some(file.profile);
            let group = schemas
                .groups
                .entry(file.group.clone())
                .or_insert_with(|| Group {
                    name: file.group.clone(),
                    ..Group::default()
                });
            if file.kind == ENVELOPE {
                group.envelope = Some(compiled);
            } else {
                group.kinds.insert(file.kind, compiled);
            }
        }
        if let Some(missing) = wanted.iter().find(|p| !profiles.contains_key(p)) {
            return Err(SchemaError::MissingProfile(*missing));
        }
        Ok(SchemaSet {
            root: root.to_owned(),
            profiles,
        })
    }

    /// The schemas of a profile this set was loaded with; panics for a profile it was not asked to load.
    pub fn profile(&self, profile: Profile) -> &ProfileSchemas {
        &self.profiles[&profile]
    }

    /// The schemas of `profile`, if this set holds them.
    pub fn get(&self, profile: Profile) -> Option<&ProfileSchemas> {
        self.profiles.get(&profile)
    }
}

struct SchemaFile {
    profile: Profile,
    group: String,
    kind: String,
    path: PathBuf,
    uri: String,
    source: Value,
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, SchemaError> {
    let io = |source| SchemaError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    entries.sort();
    Ok(entries)
}

fn collect_files(root: &Path, wanted: &[Profile]) -> Result<Vec<SchemaFile>, SchemaError> {
    let mut files = Vec::new();
    for &profile in wanted {
        let profile_dir = root.join(profile.name());
        if !profile_dir.is_dir() {
            continue;
        }
        for group_dir in read_dir_sorted(&profile_dir)? {
            if !group_dir.is_dir() {
                continue;
            }
            let group = file_name(&group_dir);
            for path in read_dir_sorted(&group_dir)? {
                if path.extension().and_then(|e| e.to_str()) != Some("json") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).map_err(|source| SchemaError::Io {
                    path: path.clone(),
                    source,
                })?;
                let source: Value =
                    serde_json::from_str(&text).map_err(|source| SchemaError::Json {
                        path: path.clone(),
                        source,
                    })?;
                let name = file_name(&path);
                files.push(SchemaFile {
                    profile,
                    uri: format!("{BASE_URI}{}/{group}/{name}", profile.name()),
                    kind: name.trim_end_matches(".json").to_owned(),
                    group: group.clone(),
                    path,
                    source,
                });
            }
        }
    }
    Ok(files)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned()
}
