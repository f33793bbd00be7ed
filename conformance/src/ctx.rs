//! What a running case gets: its target, its transcript, its random source, and the profile connectors.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::case::{Case, CaseError};
use crate::client::check::FrameCheck;
use crate::client::connect::{ConnectError, Opener, Request};
use crate::client::{directus::Directus, gamevault::Gamevault, m2::M2, skapi::Skapi, Conn};
use crate::profile::Profile;
use crate::schema::SchemaSet;
use crate::target::actuate::{self, Response};
use crate::target::template::Vars;
use crate::target::{Credential, ProfileTarget, Target, Timeouts};
use crate::transcript::{EntryKind, Transcript};

/// The context of one running case; cheap to clone (clones share everything).
#[derive(Clone)]
pub struct Ctx {
    inner: Arc<Inner>,
}

struct Inner {
    id: &'static str,
    profile: Profile,
    transcript: Transcript,
    target: Arc<Target>,
    schemas: Arc<SchemaSet>,
    rng: Mutex<StdRng>,
    connections: AtomicUsize,
    http: reqwest::Client,
    /// Credentials completed by a login actuator, by set name, so a case logs in once per set.
    sessions: tokio::sync::Mutex<BTreeMap<String, Credential>>,
}

/// The seed of one case's random source: the run's seed mixed with the case id, so adding a case does not
/// change the names another case picks.
pub fn case_seed(run_seed: u64, id: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ run_seed;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

impl Ctx {
    /// A context for `case`; `start` is the instant transcript times are relative to.
    pub fn new(
        case: &Case,
        target: Arc<Target>,
        schemas: Arc<SchemaSet>,
        run_seed: u64,
        http: reqwest::Client,
        start: Instant,
    ) -> Ctx {
        Ctx::build(
            case.id,
            case.profile,
            Transcript::new(start),
            target,
            schemas,
            run_seed,
            http,
        )
    }

    /// A context outside any case (benchmarks, tools) for `profile`, named `name`; its transcript keeps
    /// schema violations only, so long runs do not hold every frame.
    pub fn detached(
        name: &'static str,
        profile: Profile,
        target: Arc<Target>,
        schemas: Arc<SchemaSet>,
        seed: u64,
    ) -> Ctx {
        Ctx::build(
            name,
            profile,
            Transcript::violations_only(Instant::now()),
            target,
            schemas,
            seed,
            reqwest::Client::new(),
        )
    }

    fn build(
        id: &'static str,
        profile: Profile,
        transcript: Transcript,
        target: Arc<Target>,
        schemas: Arc<SchemaSet>,
        run_seed: u64,
        http: reqwest::Client,
    ) -> Ctx {
        Ctx {
            inner: Arc::new(Inner {
                id,
                profile,
                transcript,
                target,
                schemas,
                rng: Mutex::new(StdRng::seed_from_u64(case_seed(run_seed, id))),
                connections: AtomicUsize::new(0),
                http,
                sessions: tokio::sync::Mutex::default(),
            }),
        }
    }

    pub fn id(&self) -> &'static str {
        self.inner.id
    }

    pub fn profile(&self) -> Profile {
        self.inner.profile
    }

    pub fn transcript(&self) -> &Transcript {
        &self.inner.transcript
    }

    pub fn timeouts(&self) -> Timeouts {
        self.inner.target.timeouts
    }

    /// How long to wait for a frame the document says must come.
    pub fn wait(&self) -> Duration {
        self.inner.target.timeouts.wait
    }

    /// How long to listen when the document says nothing must come.
    pub fn silence(&self) -> Duration {
        self.inner.target.timeouts.silence
    }

    /// Adds a note to the transcript.
    pub fn note(&self, text: impl Into<String>) {
        self.inner.transcript.record("", EntryKind::Note, text);
    }

    /// A name no other case of this run uses: `prefix-` and eight hex digits from the case's seeded source,
    /// mixed with a value drawn once per process. The mix keeps names unique within a run (it is a bijection)
    /// while two runs with the same `--seed` against one long-lived server do not find each other's data;
    /// snapshots and diffs redact these names, so reproducibility by seed is unaffected.
    pub fn unique(&self, prefix: &str) -> String {
        let n: u32 = self.with_rng(|rng| rng.random());
        format!("{prefix}-{:08x}", n ^ process_nonce())
    }

    /// Runs `f` with the case's seeded random source.
    pub fn with_rng<R>(&self, f: impl FnOnce(&mut StdRng) -> R) -> R {
        let mut rng = self
            .inner
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut rng)
    }

    /// The schemas every frame is judged by.
    pub fn schemas(&self) -> &SchemaSet {
        &self.inner.schemas
    }

    pub fn target(&self) -> &Target {
        &self.inner.target
    }

    /// This profile's section of the target; a case only runs when it exists.
    pub fn section(&self) -> Result<&ProfileTarget, CaseError> {
        self.inner.target.profile(self.profile()).ok_or_else(|| {
            CaseError::skip(format!("the target has no [{}] section", self.profile()))
        })
    }

    /// The WebSocket URL of this profile.
    pub fn ws_url(&self) -> Result<String, CaseError> {
        self.inner
            .target
            .ws_url(self.profile())
            .map_err(|e| CaseError::harness(format!("[{}] url: {e}", self.profile())))
    }

    /// A protocol parameter of the target; skips the case when it is absent.
    pub fn parameter(&self, name: &str) -> Result<&Value, CaseError> {
        self.section()?.parameters.get(name).ok_or_else(|| {
            CaseError::skip(format!(
                "the target gives no parameter `{name}` for {}",
                self.profile()
            ))
        })
    }

    /// A parameter read as text.
    pub fn parameter_str(&self, name: &str) -> Result<String, CaseError> {
        let value = self.parameter(name)?;
        value.as_str().map(str::to_owned).ok_or_else(|| {
            CaseError::harness(format!("parameter `{name}` must be a string, is {value}"))
        })
    }

    /// A parameter read as a duration: a string such as `"30s"` or `"250ms"`, or an integer of milliseconds.
    pub fn parameter_duration(&self, name: &str) -> Result<Duration, CaseError> {
        match self.parameter(name)? {
            Value::Number(n) if n.as_u64().is_some() => {
                Ok(Duration::from_millis(n.as_u64().unwrap_or_default()))
            }
            Value::String(s) => humantime::parse_duration(s)
                .map_err(|e| CaseError::harness(format!("parameter `{name}` = {s:?}: {e}"))),
            other => Err(CaseError::harness(format!(
                "parameter `{name}` must be a duration, is {other}"
            ))),
        }
    }

    /// A parameter read as a non-negative integer.
    pub fn parameter_u64(&self, name: &str) -> Result<u64, CaseError> {
        let value = self.parameter(name)?;
        value.as_u64().ok_or_else(|| {
            CaseError::harness(format!("parameter `{name}` must be an integer, is {value}"))
        })
    }

    /// A named credential set of this profile; skips the case when the target has none of that name.
    /// Sets completed by a login (see [`Ctx::login`]) are returned completed.
    pub async fn credential(&self, name: &str) -> Result<Credential, CaseError> {
        if let Some(done) = self.inner.sessions.lock().await.get(name) {
            return Ok(done.clone());
        }
        self.section()?
            .credentials
            .get(name)
            .cloned()
            .ok_or_else(|| {
                CaseError::skip(format!(
                    "the target has no credential set `{name}` for {}",
                    self.profile()
                ))
            })
    }

    /// A credential set whose `fields` are all present: taken from the target, or completed once per case by
    /// the profile's `login` actuator (its outputs are added to the set).
    pub async fn login(&self, name: &str, fields: &[&str]) -> Result<Credential, CaseError> {
        let credential = self.credential(name).await?;
        if fields.iter().all(|f| credential.fields.contains_key(*f)) {
            return Ok(credential);
        }
        if !self.has_actuator("login") {
            let missing: Vec<&str> = fields
                .iter()
                .copied()
                .filter(|f| !credential.fields.contains_key(*f))
                .collect();
            return Err(CaseError::skip(format!(
                "credential set `{name}` of {} lacks {} and the target has no `login` actuator",
                self.profile(),
                missing.join(", ")
            )));
        }
        let response = self.actuate("login", Some(name), Vars::new()).await?;
        let mut completed = credential;
        completed.fields.extend(response.outputs);
        if let Some(missing) = fields.iter().find(|f| !completed.fields.contains_key(**f)) {
            return Err(CaseError::harness(format!(
                "the `login` actuator's outputs give no `{missing}` for credential set `{name}`"
            )));
        }
        self.inner
            .sessions
            .lock()
            .await
            .insert(name.to_owned(), completed.clone());
        Ok(completed)
    }

    /// Whether the target gives an HTTP template for actuator `name`.
    pub fn has_actuator(&self, name: &str) -> bool {
        self.section()
            .map(|s| s.actuators.contains_key(name))
            .unwrap_or(false)
    }

    /// Performs HTTP actuator `name` with the fields of credential set `credential` (if any) and `args` as its
    /// variables; skips the case when the target has no such actuator.
    pub async fn actuate(
        &self,
        name: &str,
        credential: Option<&str>,
        args: Vars,
    ) -> Result<Response, CaseError> {
        let section = self.section()?;
        let actuator = section.actuators.get(name).ok_or_else(|| {
            CaseError::skip(format!(
                "the target gives no actuator `{name}` for {}",
                self.profile()
            ))
        })?;
        let mut vars = self.inner.target.vars.clone();
        vars.extend(section.parameters.clone());
        if let Some(set) = credential {
            vars.extend(self.credential(set).await?.fields);
        }
        vars.extend(args);
        actuate::perform(
            &self.inner.http,
            &self.inner.transcript,
            name,
            actuator,
            &vars,
            self.timeouts().connect,
        )
        .await
    }

    /// The HTTP client actuators and polling transports use.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The schema checks of this profile's frames.
    pub fn frame_check(&self) -> FrameCheck {
        FrameCheck::new(self.inner.schemas.clone(), self.profile())
    }

    /// A transcript label for a new connection: `<who>#<n>`, numbered per case.
    pub fn next_label(&self, who: &str) -> String {
        let n = self.inner.connections.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{who}#{n}")
    }

    /// Opens a WebSocket with an explicit request; frames are checked against this profile's schemas.
    /// Profile connectors (`ctx.m2()`, …) build the request for you; use this for handshakes they do not cover.
    pub async fn open(&self, who: &str, request: Request) -> Result<Conn, ConnectError> {
        let opener = Opener {
            transcript: self.inner.transcript.clone(),
            check: self.frame_check(),
            timeout: self.timeouts().connect,
        };
        opener.open(self.next_label(who), request).await
    }

    pub fn m2(&self) -> M2<'_> {
        M2::new(self)
    }

    pub fn directus(&self) -> Directus<'_> {
        Directus::new(self)
    }

    pub fn skapi(&self) -> Skapi<'_> {
        Skapi::new(self)
    }

    pub fn gamevault(&self) -> Gamevault<'_> {
        Gamevault::new(self)
    }
}

/// Drawn once per process from the OS's entropy, never from the run seed (see [`Ctx::unique`]).
fn process_nonce() -> u32 {
    static NONCE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *NONCE.get_or_init(rand::random)
}
