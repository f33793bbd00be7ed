//! The JSON report: run metadata, then one object per case. The structure is documented in
//! `conformance/README.md`; change both together.

use serde::Serialize;

use crate::case::{Kind, Level, Reference};
use crate::profile::Profile;
use crate::runner::{RunReport, Tally};
use crate::transcript::Entry;

/// Version of the report structure; bumped when a field changes meaning or disappears.
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Document<'a> {
    pub run: RunMeta<'a>,
    pub cases: Vec<CaseDoc<'a>>,
}

#[derive(Debug, Serialize)]
pub struct RunMeta<'a> {
    pub report_version: u32,
    pub tool: &'static str,
    pub tool_version: &'static str,
    pub target: &'a str,
    pub seed: u64,
    /// RFC 3339, UTC, milliseconds.
    pub started: String,
    pub duration_ms: u64,
    pub profiles: &'a [Profile],
    pub level: Level,
    pub summary: Tally,
    pub exit_code: u8,
}

#[derive(Debug, Serialize)]
pub struct CaseDoc<'a> {
    pub id: &'static str,
    pub profile: Profile,
    pub level: Level,
    pub title: &'static str,
    pub kind: Kind,
    pub reference: Reference,
    /// `pass`, `fail`, `skip` or `unsupported`.
    pub outcome: &'static str,
    /// Why it did not pass; `null` when it passed.
    pub reason: Option<&'a str>,
    pub duration_ms: u64,
    pub transcript: &'a [Entry],
}

/// The report as a JSON value-ready document.
pub fn document(report: &RunReport) -> Document<'_> {
    Document {
        run: RunMeta {
            report_version: REPORT_VERSION,
            tool: env!("CARGO_PKG_NAME"),
            tool_version: env!("CARGO_PKG_VERSION"),
            target: &report.target,
            seed: report.seed,
            started: humantime::format_rfc3339_millis(report.started).to_string(),
            duration_ms: millis(report.duration),
            profiles: &report.profiles,
            level: report.level,
            summary: report.tally(None, None),
            exit_code: report.exit_code(),
        },
        cases: report
            .cases
            .iter()
            .map(|r| CaseDoc {
                id: r.case.id,
                profile: r.case.profile,
                level: r.case.level,
                title: r.case.title,
                kind: r.case.kind,
                reference: r.case.reference,
                outcome: r.outcome.name(),
                reason: r.outcome.reason(),
                duration_ms: millis(r.duration),
                transcript: &r.transcript,
            })
            .collect(),
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The report as pretty-printed JSON text.
pub fn render(report: &RunReport) -> String {
    serde_json::to_string_pretty(&document(report)).unwrap_or_else(|e| {
        // Serializing plain data cannot fail; keep the report a JSON document if it ever does.
        serde_json::json!({"error": e.to_string()}).to_string()
    })
}
