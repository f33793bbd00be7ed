//! Snapshots for review (`cargo xtask snapshots`): the normalized transcript of every scenario case against the
//! reference server, the catalogue, and each profile's schema set. A change of behaviour, of a case or of a
//! schema shows as a snapshot diff.
//!
//! Every case runs against a reference server of its own (so no case sees another's data) with a fixed seed.
//! These tests are ignored by a plain `cargo test` because the snapshots change whenever a case is added;
//! `cargo xtask snapshots` runs them, `cargo xtask snapshots --accept` regenerates the files.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use conformance::case::{Case, Kind};
use conformance::diff::unified::unified;
use conformance::model::settings::{Settings, DEFAULT_CASES};
use conformance::normalize::{self, Literals, NormalizedCase, Options};
use conformance::runner::{Quiet, Run, Selection};
use conformance::schema::SchemaSet;
use conformance::{catalogue, Level, Profile};
use serde_json::Value;

use crate::proxy::{self, Proxy};
use crate::server::{self, Server};

/// The seed of every snapshot run.
const SEED: u64 = 1;

/// Cases running at once, each against its own server.
const PARALLEL: usize = 4;

fn snapshot_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(kind)
}

fn scenario_cases() -> Vec<Case> {
    catalogue::all()
        .into_iter()
        .filter(|c| c.kind == Kind::Scenario)
        .collect()
}

/// One thread for the servers and the harness: a frame the server writes together with the one a case waits
/// for is then read before the case goes on, so whether it shows in the transcript does not depend on how
/// two threads happen to be scheduled.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs `case` against the server (or proxy) at `addr` and normalizes its transcript.
async fn normalized_run(
    case: Case,
    addr: std::net::SocketAddr,
    schemas: Arc<SchemaSet>,
) -> NormalizedCase {
    let mut target = server::target(addr);
    Settings {
        cases: DEFAULT_CASES,
        run_seed: Some(SEED),
        regressions: None,
    }
    .apply(&mut target);
    let literals = Literals::from_target(&target, case.profile);
    let run = Run {
        target: Arc::new(target),
        schemas,
        seed: SEED,
        selection: Selection {
            profiles: vec![case.profile],
            level: Level::May,
            globs: vec![glob::Pattern::new(&glob::Pattern::escape(case.id))
                .expect("an escaped id is a valid glob")],
        },
    };
    let report = run.execute(Arc::new(Quiet)).await;
    let result = report
        .cases
        .into_iter()
        .find(|r| r.case.id == case.id)
        .expect("the selected case ran");
    let options = Options::for_case(case.id, case.profile, &literals);
    normalize::normalize(&result.outcome, &result.transcript, &options)
}

/// Runs `case` against a fresh reference server, fronted by a proxy with `rewrite` if given.
async fn run_alone(
    case: Case,
    schemas: Arc<SchemaSet>,
    rewrite: Option<proxy::Rewrite>,
) -> NormalizedCase {
    let server = Server::start().await;
    let normalized = match rewrite {
        Some(rewrite) => {
            let proxy = Proxy::start(server.addr(), rewrite).await;
            normalized_run(case, proxy.addr(), schemas).await
        }
        None => normalized_run(case, server.addr(), schemas).await,
    };
    server.stop().await;
    normalized
}

fn schemas() -> Arc<SchemaSet> {
    Arc::new(
        SchemaSet::load_profiles(&SchemaSet::default_root(), &Profile::ALL)
            .expect("the schemas load"),
    )
}

/// Asserts one snapshot per (name, content) and fails once at the end naming every mismatch, so a review
/// sees all changes, not only the first.
fn assert_snapshots(kind: &str, snapshots: Vec<(String, String, String)>) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshot_dir(kind));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let mut mismatched = Vec::new();
    for (name, description, content) in snapshots {
        let mut settings = settings.clone();
        settings.set_description(description);
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(name.as_str(), content));
        }));
        if outcome.is_err() {
            mismatched.push(name);
        }
    }
    assert!(
        mismatched.is_empty(),
        "{} {kind} snapshot(s) differ: {}\nreview with `cargo xtask snapshots --review`, or accept all with \
         `cargo xtask snapshots --accept`",
        mismatched.len(),
        mismatched.join(", ")
    );
}

/// Snapshot files in `kind` whose name is not among `names`.
fn stale_snapshots(kind: &str, names: &BTreeSet<String>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(snapshot_dir(kind)) else {
        return Vec::new();
    };
    let mut stale: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter_map(|file| file.strip_suffix(".snap").map(str::to_owned))
        .filter(|name| !names.contains(name))
        .collect();
    stale.sort();
    stale
}

#[test]
#[ignore = "snapshot review suite: run by `cargo xtask snapshots`"]
fn scenario_transcripts() {
    let cases = scenario_cases();
    let schemas = schemas();
    let results: Vec<(Case, NormalizedCase)> = runtime().block_on(async {
        let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
        let tasks: Vec<_> = cases
            .iter()
            .map(|case| {
                let (case, schemas, permits) = (*case, schemas.clone(), permits.clone());
                tokio::spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    (case, run_alone(case, schemas, None).await)
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("a snapshot run does not panic"));
        }
        results
    });
    let names: BTreeSet<String> = cases.iter().map(|c| c.id.to_owned()).collect();
    let stale = stale_snapshots("transcripts", &names);
    assert_snapshots(
        "transcripts",
        results
            .into_iter()
            .map(|(case, normalized)| {
                (
                    case.id.to_owned(),
                    format!("{} {}: {}", case.level, case.id, case.title),
                    normalized.render(),
                )
            })
            .collect(),
    );
    assert!(
        stale.is_empty(),
        "snapshots of cases that no longer exist: {}; run `cargo xtask snapshots --accept`",
        stale.join(", ")
    );
}

/// The catalogue of one profile: id, level, kind, title and reference of every case.
fn catalogue_listing(profile: Profile) -> String {
    let mut out = String::new();
    for case in catalogue::cases(profile) {
        let kind = match case.kind {
            Kind::Scenario => "scenario",
            Kind::Property => "property",
            Kind::Model => "model",
        };
        out.push_str(&format!(
            "{} ({} {kind})\n  {}\n  {}: \"{}\"\n",
            case.id, case.level, case.title, case.reference.source, case.reference.quote
        ));
    }
    out
}

#[test]
#[ignore = "snapshot review suite: run by `cargo xtask snapshots`"]
fn catalogue_per_profile() {
    assert_snapshots(
        "catalogue",
        Profile::ALL
            .into_iter()
            .map(|p| {
                (
                    p.name().to_owned(),
                    format!("the {p} catalogue"),
                    catalogue_listing(p),
                )
            })
            .collect(),
    );
}

/// What a schema says about message shapes, one line per fact: the properties, required members, enum and
/// const values of every subschema, by JSON pointer.
fn schema_facts(value: &Value, pointer: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let at = if pointer.is_empty() { "/" } else { pointer };
            if let Some(Value::Object(properties)) = map.get("properties") {
                let names: Vec<&str> = properties.keys().map(String::as_str).collect();
                out.push(format!("{at} properties: {}", names.join(", ")));
            }
            if let Some(Value::Array(required)) = map.get("required") {
                let names: Vec<String> = required.iter().map(|r| r.to_string()).collect();
                out.push(format!("{at} required: {}", names.join(", ")));
            }
            if let Some(values) = map.get("enum") {
                out.push(format!("{at} enum: {values}"));
            }
            if let Some(value) = map.get("const") {
                out.push(format!("{at} const: {value}"));
            }
            for (key, child) in map {
                if matches!(
                    key.as_str(),
                    "title"
                        | "description"
                        | "$comment"
                        | "examples"
                        | "enum"
                        | "const"
                        | "default"
                ) {
                    continue;
                }
                let escaped = key.replace('~', "~0").replace('/', "~1");
                schema_facts(child, &format!("{pointer}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                schema_facts(item, &format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Every schema of `profile`: its kind (group/file), then its facts.
fn schema_listing(profile: Profile) -> String {
    let root = SchemaSet::default_root().join(profile.name());
    let mut files = Vec::new();
    json_files(&root, &mut files);
    files.sort();
    let mut out = String::new();
    for file in files {
        let name = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&file).expect("a schema file is readable");
        let schema: Value = serde_json::from_str(&text).expect("a schema file is JSON");
        let title = schema.get("title").and_then(Value::as_str).unwrap_or("");
        out.push_str(&format!("{name} ({title})\n"));
        let mut facts = Vec::new();
        schema_facts(&schema, "", &mut facts);
        for fact in facts {
            out.push_str(&format!("  {fact}\n"));
        }
    }
    out
}

#[test]
#[ignore = "snapshot review suite: run by `cargo xtask snapshots`"]
fn schema_sets() {
    assert_snapshots(
        "schemas",
        Profile::ALL
            .into_iter()
            .map(|p| {
                (
                    p.name().to_owned(),
                    format!(
                        "message kinds of {p}: properties, required members, enum and const values"
                    ),
                    schema_listing(p),
                )
            })
            .collect(),
    );
}

/// The content of a committed snapshot file (after insta's header).
fn committed_snapshot(name: &str) -> Option<String> {
    let text =
        std::fs::read_to_string(snapshot_dir("transcripts").join(format!("{name}.snap"))).ok()?;
    let body = text.strip_prefix("---\n")?;
    let (_, content) = body.split_once("\n---\n")?;
    Some(content.to_owned())
}

#[test]
#[ignore = "snapshot review suite: run by `cargo xtask snapshots`"]
fn an_altered_server_shows_as_a_readable_snapshot_diff() {
    let original_message = "\"warning\":\"resource_not_found\"";
    let cases: Vec<(Case, String)> = scenario_cases()
        .into_iter()
        .filter_map(|case| committed_snapshot(case.id).map(|snapshot| (case, snapshot)))
        .filter(|(_, snapshot)| snapshot.contains(original_message))
        .collect();
    assert!(
        !cases.is_empty(),
        "no committed snapshot shows an m2 resource_not_found warning; run `cargo xtask snapshots --accept`"
    );
    let schemas = schemas();
    let rt = runtime();
    for (case, snapshot) in cases {
        let altered = rt.block_on(run_alone(
            case,
            schemas.clone(),
            Some(proxy::alter_m2_warning),
        ));
        let committed: Vec<String> = snapshot.trim_end().lines().map(str::to_owned).collect();
        let now: Vec<String> = altered
            .render()
            .trim_end()
            .lines()
            .map(str::to_owned)
            .collect();
        let diff =
            unified(&committed, &now, "committed", "altered server", 1).unwrap_or_else(|| {
                panic!(
                    "{}: the altered server's transcript equals the snapshot",
                    case.id
                )
            });
        let removed: Vec<&str> = diff
            .lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .collect();
        let added: Vec<&str> = diff
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .collect();
        assert_eq!(removed.len(), added.len(), "{}:\n{diff}", case.id);
        assert!(
            removed
                .iter()
                .all(|l| l.contains(original_message) && !l.contains(proxy::ALTERED_MESSAGE)),
            "{}: every removed line is an original warning frame:\n{diff}",
            case.id
        );
        assert!(
            added.iter().all(|l| l.contains(proxy::ALTERED_MESSAGE)),
            "{}: every added line is an altered warning frame:\n{diff}",
            case.id
        );
    }
}
