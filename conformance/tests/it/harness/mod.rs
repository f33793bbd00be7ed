//! Tests of the harness itself: the catalogue's ids and references, target files and templates, reports and
//! exit codes, and small misbehaving servers that must make the right cases fail for the right reason.

mod catalogue;
mod exit_status;
mod misbehaving;
mod reports;
mod servers;
mod target;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use conformance::runner::{CaseReport, Run, Selection};
use conformance::schema::SchemaSet;
use conformance::target::Target;
use conformance::{Level, Profile};

/// Every profile's schemas, compiled once for the whole test binary.
pub fn schemas() -> Arc<SchemaSet> {
    static SCHEMAS: OnceLock<Arc<SchemaSet>> = OnceLock::new();
    SCHEMAS
        .get_or_init(|| {
            Arc::new(
                SchemaSet::load(&SchemaSet::default_root()).expect("the schemas of this tree load"),
            )
        })
        .clone()
}

/// Runs the catalogue case `id` against `target`, with short waits so a failing case ends quickly.
pub async fn run_case(id: &str, target: Target) -> CaseReport {
    let case = conformance::catalogue::all()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case {id} in the catalogue"));
    let run = Run {
        target: Arc::new(target),
        schemas: schemas(),
        seed: 7,
        selection: Selection {
            profiles: Profile::ALL.to_vec(),
            level: Level::May,
            globs: Vec::new(),
        },
    };
    let started = Instant::now();
    let report = run.case(&case, reqwest::Client::new()).await;
    assert!(
        started.elapsed() < run.target.timeouts.case * 2,
        "the case overran its own timeout"
    );
    report
}

/// A target for one profile at a test server, with short waits.
pub fn target_for(profile_section: &str, endpoint: &str) -> Target {
    let text = format!(
        "name = \"test-server\"\n[timeouts]\nwait = \"1500ms\"\nsilence = \"300ms\"\ncase = \"10s\"\nconnect = \"2s\"\n\n{profile_section}"
    );
    Target::parse(&text, "test target", Some(endpoint)).expect("the test target parses")
}
