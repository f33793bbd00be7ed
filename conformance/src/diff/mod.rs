//! `conformance diff A B`: the same cases, with the same seed, against two servers (or recordings), normalized
//! and compared case by case: outcome differences and a unified diff of the normalized transcripts.
//!
//! - [`sides`]: what A and B may be (endpoint URL, target file, recording) and how each becomes a [`Recording`].
//! - [`compare`]: two recordings → a [`DiffReport`].
//! - [`render`]: the terminal view; `--format json` serializes the [`DiffReport`].

pub mod regressions;
pub mod render;
pub mod sides;
pub mod tail;
pub mod unified;

use serde::Serialize;

use crate::record::Recording;

pub use sides::{diff, diff_sides, DiffArgs, DiffError, DiffFormat, DiffOptions, Side};

/// Version of the JSON structure of [`DiffReport`].
pub const DIFF_VERSION: u32 = 1;

/// Unchanged lines shown around each change.
const CONTEXT: usize = 3;

/// Where one side's cases came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideInfo {
    /// What was given on the command line (URL or path).
    pub source: String,
    /// The target's name.
    pub target: String,
    pub seed: u64,
}

/// Counts of a comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DiffSummary {
    /// Cases present on both sides.
    pub compared: usize,
    pub identical: usize,
    pub different: usize,
    pub only_a: usize,
    pub only_b: usize,
    /// Cases that differ only in frames received after the case stopped reading (counted as identical).
    pub unread_tail: usize,
}

/// A value on each side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair<T> {
    pub a: T,
    pub b: T,
}

/// How a case differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Different,
    OnlyA,
    OnlyB,
    /// Only frames received after the case stopped reading differ: timing, not behaviour ([`tail`]).
    UnreadTail,
}

/// One case that is not the same on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseDiff {
    pub id: String,
    pub status: CaseStatus,
    /// The outcomes, when they differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Pair<String>>,
    /// The (normalized) reasons, when they differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Pair<Option<String>>>,
    /// A unified diff of the normalized transcript lines, when they differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
}

/// The result of comparing two sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    pub diff_version: u32,
    pub a: SideInfo,
    pub b: SideInfo,
    pub summary: DiffSummary,
    /// Cases that differ, exist on one side only, or differ in unread tails, in A's order then B's.
    pub cases: Vec<CaseDiff>,
    /// Things that make the comparison less meaningful (different seeds, normalizer versions).
    pub warnings: Vec<String>,
}

impl DiffReport {
    /// Whether no case differs in behaviour (unread tails aside).
    pub fn is_identical(&self) -> bool {
        self.differing_ids().is_empty()
    }

    /// 0 when both sides behave the same, 1 when they differ.
    pub fn exit_code(&self) -> u8 {
        if self.is_identical() {
            0
        } else {
            1
        }
    }

    /// Ids of the cases that are not the same on both sides.
    pub fn differing_ids(&self) -> Vec<&str> {
        self.cases
            .iter()
            .filter(|c| c.status != CaseStatus::UnreadTail)
            .map(|c| c.id.as_str())
            .collect()
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            // Serializing plain data cannot fail; keep the output JSON if it ever does.
            serde_json::json!({"error": e.to_string()}).to_string()
        })
    }
}

/// Compares two recordings case by case.
pub fn compare(a: &Recording, a_info: SideInfo, b: &Recording, b_info: SideInfo) -> DiffReport {
    let mut summary = DiffSummary::default();
    let mut cases = Vec::new();
    let mut warnings = Vec::new();
    if a.run.seed != b.run.seed {
        warnings.push(format!(
            "the sides ran with different seeds ({} and {}): generated sequences differ",
            a.run.seed, b.run.seed
        ));
    }
    if a.run.normalize_version != b.run.normalize_version {
        warnings.push(
            "the recordings were normalized by different versions of the harness; re-record both"
                .into(),
        );
    }
    for case_a in &a.cases {
        let Some(case_b) = b.case(&case_a.id) else {
            summary.only_a += 1;
            cases.push(one_sided(&case_a.id, CaseStatus::OnlyA));
            continue;
        };
        summary.compared += 1;
        // Both sides must be normalized alike: stored forms name credentials, forms computed now cannot.
        let (norm_a, norm_b) = if case_a.normalized.is_some() && case_b.normalized.is_some() {
            (case_a.normalized(), case_b.normalized())
        } else {
            (case_a.normalize_transcript(), case_b.normalize_transcript())
        };
        let outcome = (norm_a.outcome != norm_b.outcome).then(|| Pair {
            a: norm_a.outcome.clone(),
            b: norm_b.outcome.clone(),
        });
        let reason = (norm_a.reason != norm_b.reason).then(|| Pair {
            a: norm_a.reason.clone(),
            b: norm_b.reason.clone(),
        });
        let transcript = unified::unified(
            &norm_a.lines(),
            &norm_b.lines(),
            &format!("A {}", case_a.id),
            &format!("B {}", case_b.id),
            CONTEXT,
        );
        if outcome.is_none() && reason.is_none() && transcript.is_none() {
            summary.identical += 1;
            continue;
        }
        let status =
            if outcome.is_none() && reason.is_none() && tail::only_unread_tails(&norm_a, &norm_b) {
                summary.identical += 1;
                summary.unread_tail += 1;
                CaseStatus::UnreadTail
            } else {
                summary.different += 1;
                CaseStatus::Different
            };
        cases.push(CaseDiff {
            id: case_a.id.clone(),
            status,
            outcome,
            reason,
            transcript,
        });
    }
    for case_b in &b.cases {
        if a.case(&case_b.id).is_none() {
            summary.only_b += 1;
            cases.push(one_sided(&case_b.id, CaseStatus::OnlyB));
        }
    }
    DiffReport {
        diff_version: DIFF_VERSION,
        a: a_info,
        b: b_info,
        summary,
        cases,
        warnings,
    }
}

fn one_sided(id: &str, status: CaseStatus) -> CaseDiff {
    CaseDiff {
        id: id.to_owned(),
        status,
        outcome: None,
        reason: None,
        transcript: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RecordedCase, RecordedEntry, RecordedRun};

    fn recording(cases: &[(&str, &str, &[&str])]) -> Recording {
        Recording {
            run: RecordedRun {
                recording_version: None,
                normalize_version: None,
                target: "t".into(),
                seed: 7,
                profiles: vec!["m2".into()],
                generated_cases: None,
            },
            cases: cases
                .iter()
                .map(|(id, outcome, frames)| RecordedCase {
                    id: (*id).into(),
                    profile: "m2".into(),
                    level: "must".into(),
                    kind: "scenario".into(),
                    title: String::new(),
                    outcome: (*outcome).into(),
                    reason: None,
                    transcript: frames
                        .iter()
                        .enumerate()
                        .map(|(i, text)| RecordedEntry {
                            at_ms: i as f64,
                            conn: "demo#1".into(),
                            kind: "recv".into(),
                            text: (*text).into(),
                        })
                        .collect(),
                    normalized: None,
                })
                .collect(),
        }
    }

    fn info(name: &str) -> SideInfo {
        SideInfo {
            source: name.into(),
            target: name.into(),
            seed: 7,
        }
    }

    #[test]
    fn names_exactly_the_cases_that_differ() {
        let a = recording(&[
            (
                "m2.a.same",
                "pass",
                &[r#"{"warning":"x","version":"2026-01-01T00:00:00Z"}"#],
            ),
            (
                "m2.a.text",
                "pass",
                &[r#"{"warning":"resource_not_found","message":"old"}"#],
            ),
            ("m2.a.outcome", "pass", &[]),
            ("m2.a.gone", "pass", &[]),
        ]);
        let b = recording(&[
            (
                "m2.a.same",
                "pass",
                &[r#"{"version":"2027-05-05T11:11:11Z","warning":"x"}"#],
            ),
            (
                "m2.a.text",
                "pass",
                &[r#"{"warning":"resource_not_found","message":"new"}"#],
            ),
            ("m2.a.outcome", "fail", &[]),
            ("m2.a.new", "pass", &[]),
        ]);
        let report = compare(&a, info("A"), &b, info("B"));
        assert_eq!(
            report.differing_ids(),
            ["m2.a.text", "m2.a.outcome", "m2.a.gone", "m2.a.new"]
        );
        assert_eq!(
            report.summary,
            DiffSummary {
                compared: 3,
                identical: 1,
                different: 2,
                only_a: 1,
                only_b: 1,
                unread_tail: 0,
            }
        );
        let text = &report.cases[0];
        assert_eq!(text.outcome, None);
        assert_eq!(
            text.transcript.as_deref(),
            Some(concat!(
                "--- A m2.a.text\n+++ B m2.a.text\n@@ -1,1 +1,1 @@\n",
                "-demo#1 <- {\"message\":\"old\",\"warning\":\"resource_not_found\"}\n",
                "+demo#1 <- {\"message\":\"new\",\"warning\":\"resource_not_found\"}\n"
            ))
        );
        assert_eq!(
            report.cases[1].outcome,
            Some(Pair {
                a: "pass".into(),
                b: "fail".into()
            })
        );
        assert_eq!(report.exit_code(), 1);
    }

    #[test]
    fn identical_recordings() {
        let a = recording(&[("m2.a.same", "pass", &["{}"])]);
        let report = compare(&a, info("A"), &a.clone(), info("B"));
        assert!(report.is_identical());
        assert_eq!(report.exit_code(), 0);
    }
}
