//! The target file: where the server under test is, which credentials to use, which protocol parameters it
//! runs with, and how the harness causes changes on it (actuators). See `conformance/README.md` for the format
//! and `conformance/targets/reference-server.toml` for a complete example.

pub mod actuate;
pub mod template;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::case::{Case, Need};
use crate::profile::Profile;
use template::{Context, TemplateError, Vars};

/// The target file of the bundled reference server; `{{endpoint}}` is its base URL.
pub const REFERENCE_SERVER: &str = include_str!("../../targets/reference-server.toml");

/// Actuators the harness performs inside the protocol itself when the target gives no HTTP template for them.
pub fn in_protocol_actuators(profile: Profile) -> &'static [&'static str] {
    match profile {
        Profile::Directus => &["create_item", "update_item", "delete_item"],
        Profile::M2 | Profile::Skapi | Profile::Gamevault => &[],
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("cannot read target file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid target file {origin}: {source}")]
    Parse {
        origin: String,
        source: Box<toml::de::Error>,
    },
    #[error("target file {origin}: {what}: {source}")]
    Template {
        origin: String,
        what: String,
        source: TemplateError,
    },
    #[error("target file {origin}: {what}: {reason}")]
    Invalid {
        origin: String,
        what: String,
        reason: String,
    },
    #[error("target file {origin} uses {{{{endpoint}}}} but no endpoint is set: pass --endpoint URL or set `endpoint = \"…\"` in the file")]
    NoEndpoint { origin: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    name: Option<String>,
    endpoint: Option<String>,
    #[serde(default)]
    timeouts: TimeoutsFile,
    #[serde(default)]
    skip: BTreeMap<String, String>,
    m2: Option<ProfileFile>,
    directus: Option<ProfileFile>,
    skapi: Option<ProfileFile>,
    gamevault: Option<ProfileFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeoutsFile {
    wait: Option<String>,
    silence: Option<String>,
    case: Option<String>,
    connect: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    url: String,
    #[serde(default)]
    parameters: BTreeMap<String, toml::Value>,
    #[serde(default)]
    credentials: BTreeMap<String, BTreeMap<String, toml::Value>>,
    #[serde(default)]
    actuators: BTreeMap<String, HttpActuator>,
}

/// An HTTP request template that causes a change on the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpActuator {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`.
    pub method: String,
    /// URL template; placeholders are URL-encoded except one opening the URL (`{{endpoint}}/…`).
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON text template; each placeholder becomes the JSON encoding of its value.
    pub body: Option<String>,
    /// The status (or statuses) that mean success.
    #[serde(default = "default_status")]
    pub status: Statuses,
    /// Values to read from the JSON response, by JSON pointer (`user_id = "/user_id"`).
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}

fn default_status() -> Statuses {
    Statuses::One(200)
}

/// One accepted status or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Statuses {
    One(u16),
    Many(Vec<u16>),
}

impl Statuses {
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            Statuses::One(s) => *s == status,
            Statuses::Many(list) => list.contains(&status),
        }
    }
}

/// Waits a case uses unless it has a reason to choose its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long to wait for a frame the document says must come.
    pub wait: Duration,
    /// How long to listen when the document says nothing must come.
    pub silence: Duration,
    /// The most one case may take, all waits included.
    pub case: Duration,
    /// How long an upgrade or HTTP request may take.
    pub connect: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            wait: Duration::from_secs(3),
            silence: Duration::from_millis(500),
            case: Duration::from_secs(30),
            connect: Duration::from_secs(5),
        }
    }
}

/// One named credential set: its fields are template variables (`api_key`, `user_id`, `access_token`, …).
#[derive(Debug, Clone, Default)]
pub struct Credential {
    pub name: String,
    pub fields: Vars,
}

impl Credential {
    /// The string field `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// A short name for transcripts: the `label` field, else the set's name.
    pub fn label(&self) -> &str {
        self.get("label").unwrap_or(&self.name)
    }
}

/// What the target says about one profile.
#[derive(Debug, Clone)]
pub struct ProfileTarget {
    /// WebSocket URL template.
    pub url: String,
    pub parameters: Vars,
    pub credentials: BTreeMap<String, Credential>,
    pub actuators: BTreeMap<String, HttpActuator>,
}

/// A loaded target.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// Variables every template may use: `endpoint` (HTTP base URL) and `ws_endpoint` (its ws:// form).
    pub vars: Vars,
    pub timeouts: Timeouts,
    pub skip: Vec<(glob::Pattern, String)>,
    pub profiles: BTreeMap<Profile, ProfileTarget>,
}

impl Target {
    /// Reads a target file; `endpoint` (from `--endpoint`) overrides the file's own.
    pub fn load(path: &Path, endpoint: Option<&str>) -> Result<Target, TargetError> {
        let text = std::fs::read_to_string(path).map_err(|source| TargetError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Target::parse(&text, &path.display().to_string(), endpoint)
    }

    /// The bundled reference server's target at `endpoint` (e.g. `http://127.0.0.1:8080`).
    pub fn reference_server(endpoint: &str) -> Result<Target, TargetError> {
        Target::parse(
            REFERENCE_SERVER,
            "targets/reference-server.toml",
            Some(endpoint),
        )
    }

    /// Parses target-file text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, endpoint: Option<&str>) -> Result<Target, TargetError> {
        let file: TargetFile = toml::from_str(text).map_err(|source| TargetError::Parse {
            origin: origin.to_owned(),
            source: Box::new(source),
        })?;
        let invalid = |what: String, reason: String| TargetError::Invalid {
            origin: origin.to_owned(),
            what,
            reason,
        };
        let mut vars = Vars::new();
        if let Some(endpoint) = endpoint.map(str::to_owned).or(file.endpoint) {
            let endpoint = endpoint.trim_end_matches('/').to_owned();
            let ws = if let Some(rest) = endpoint.strip_prefix("https://") {
                format!("wss://{rest}")
            } else if let Some(rest) = endpoint.strip_prefix("http://") {
                format!("ws://{rest}")
            } else {
                return Err(invalid(
                    "endpoint".into(),
                    format!("`{endpoint}` is not an http:// or https:// URL"),
                ));
            };
            vars.insert("endpoint".into(), Value::String(endpoint));
            vars.insert("ws_endpoint".into(), Value::String(ws));
        } else if text.contains("{{endpoint}}") || text.contains("{{ws_endpoint}}") {
            return Err(TargetError::NoEndpoint {
                origin: origin.to_owned(),
            });
        }
        let timeouts = file
            .timeouts
            .resolve()
            .map_err(|(what, reason)| invalid(what, reason))?;
        let mut skip = Vec::new();
        for (pattern, reason) in file.skip {
            let glob = glob::Pattern::new(&pattern)
                .map_err(|e| invalid(format!("[skip] `{pattern}`"), e.to_string()))?;
            skip.push((glob, reason));
        }
        let mut profiles = BTreeMap::new();
        for (profile, section) in [
            (Profile::M2, file.m2),
            (Profile::Directus, file.directus),
            (Profile::Skapi, file.skapi),
            (Profile::Gamevault, file.gamevault),
        ] {
            if let Some(section) = section {
                let resolved = section.resolve(profile, origin)?;
                profiles.insert(profile, resolved);
            }
        }
        Ok(Target {
            name: file.name.unwrap_or_else(|| origin.to_owned()),
            vars,
            timeouts,
            skip,
            profiles,
        })
    }

    pub fn profile(&self, profile: Profile) -> Option<&ProfileTarget> {
        self.profiles.get(&profile)
    }

    /// Sets a protocol parameter (e.g. the heartbeat a server under test was started with).
    pub fn set_parameter(&mut self, profile: Profile, name: &str, value: Value) {
        if let Some(p) = self.profiles.get_mut(&profile) {
            p.parameters.insert(name.to_owned(), value);
        }
    }

    /// The reason the target gives for skipping `id`, if a `[skip]` glob matches it.
    pub fn skip_reason(&self, id: &str) -> Option<&str> {
        self.skip
            .iter()
            .find(|(glob, _)| glob.matches(id))
            .map(|(_, reason)| reason.as_str())
    }

    /// Why `case` cannot run against this target, if it cannot.
    pub fn unmet(&self, case: &Case) -> Option<String> {
        let Some(profile) = self.profile(case.profile) else {
            return Some(format!("the target has no [{}] section", case.profile));
        };
        let missing = case.requires.iter().find(|need| match need {
            Need::Actuator(name) => {
                !profile.actuators.contains_key(*name)
                    && !in_protocol_actuators(case.profile).contains(name)
            }
            Need::Credential(name) => !profile.credentials.contains_key(*name),
            Need::Parameter(name) => !profile.parameters.contains_key(*name),
        })?;
        Some(format!(
            "the target provides no {missing} for {} (see conformance/README.md, target file)",
            case.profile
        ))
    }

    /// The WebSocket URL of `profile`, its placeholders filled from the target's variables and parameters.
    pub fn ws_url(&self, profile: Profile) -> Result<String, TemplateError> {
        let Some(section) = self.profile(profile) else {
            return Ok(String::new());
        };
        let mut vars = self.vars.clone();
        vars.extend(section.parameters.clone());
        template::render(&section.url, &vars, Context::Url)
    }
}

impl TimeoutsFile {
    fn resolve(self) -> Result<Timeouts, (String, String)> {
        let defaults = Timeouts::default();
        let parse = |name: &str, value: Option<String>, default: Duration| match value {
            None => Ok(default),
            Some(text) => humantime::parse_duration(&text)
                .map_err(|e| (format!("[timeouts] {name}"), format!("`{text}`: {e}"))),
        };
        Ok(Timeouts {
            wait: parse("wait", self.wait, defaults.wait)?,
            silence: parse("silence", self.silence, defaults.silence)?,
            case: parse("case", self.case, defaults.case)?,
            connect: parse("connect", self.connect, defaults.connect)?,
        })
    }
}

impl ProfileFile {
    fn resolve(self, profile: Profile, origin: &str) -> Result<ProfileTarget, TargetError> {
        let template_error = |what: String, source| TargetError::Template {
            origin: origin.to_owned(),
            what,
            source,
        };
        template::placeholders(&self.url)
            .map_err(|e| template_error(format!("[{profile}] url"), e))?;
        for (name, actuator) in &self.actuators {
            let what = format!("[{profile}.actuators.{name}]");
            template::placeholders(&actuator.url)
                .map_err(|e| template_error(format!("{what} url"), e))?;
            if let Some(body) = &actuator.body {
                template::check_body(body)
                    .map_err(|e| template_error(format!("{what} body"), e))?;
            }
            if reqwest::Method::from_bytes(actuator.method.as_bytes()).is_err() {
                return Err(TargetError::Invalid {
                    origin: origin.to_owned(),
                    what: format!("{what} method"),
                    reason: format!("`{}` is not an HTTP method", actuator.method),
                });
            }
        }
        let credentials = self
            .credentials
            .into_iter()
            .map(|(name, fields)| {
                let fields = fields
                    .into_iter()
                    .map(|(k, v)| (k, toml_to_json(v)))
                    .collect();
                (name.clone(), Credential { name, fields })
            })
            .collect();
        Ok(ProfileTarget {
            url: self.url,
            parameters: self
                .parameters
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
            credentials,
            actuators: self.actuators,
        })
    }
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}
