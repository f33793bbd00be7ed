//! The terminal view of a [`DiffReport`]: each differing case with its outcomes, reasons and a unified diff of
//! its normalized transcript, then a summary line.

use owo_colors::OwoColorize;

use super::{CaseStatus, DiffReport};

/// The whole report as text; `color` colours removed and added lines.
pub fn terminal(report: &DiffReport, color: bool) -> String {
    let mut out = format!(
        "A: {} ({}, seed {})\nB: {} ({}, seed {})\n",
        report.a.source,
        report.a.target,
        report.a.seed,
        report.b.source,
        report.b.target,
        report.b.seed
    );
    for warning in &report.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    for case in &report.cases {
        out.push('\n');
        let head = match case.status {
            CaseStatus::Different => format!("DIFFERENT {}", case.id),
            CaseStatus::OnlyA => format!("ONLY IN A {}", case.id),
            CaseStatus::OnlyB => format!("ONLY IN B {}", case.id),
            CaseStatus::UnreadTail => format!(
                "TIMING {} (only frames received after the case stopped reading differ; not counted)",
                case.id
            ),
        };
        out.push_str(&if color { head.bold().to_string() } else { head });
        out.push('\n');
        if let Some(outcome) = &case.outcome {
            out.push_str(&format!("  outcome: A {}, B {}\n", outcome.a, outcome.b));
        }
        if let Some(reason) = &case.reason {
            for (side, text) in [("A", &reason.a), ("B", &reason.b)] {
                let text = text.as_deref().unwrap_or("(none)").replace('\n', "\n    ");
                out.push_str(&format!("  reason {side}: {text}\n"));
            }
        }
        if let Some(diff) = &case.transcript {
            for line in diff.lines() {
                let shown = match line.chars().next() {
                    Some('-') if color && !line.starts_with("---") => line.red().to_string(),
                    Some('+') if color && !line.starts_with("+++") => line.green().to_string(),
                    Some('@') if color => line.cyan().to_string(),
                    _ => line.to_owned(),
                };
                out.push_str("  ");
                out.push_str(&shown);
                out.push('\n');
            }
        }
    }
    out.push('\n');
    out.push_str(&summary(report));
    out
}

/// `12 case(s) compared: 11 identical, 1 different; 0 only in A, 0 only in B: the sides differ`.
pub fn summary(report: &DiffReport) -> String {
    let s = report.summary;
    let verdict = if report.is_identical() {
        "no difference"
    } else {
        "the sides differ"
    };
    let timing = if s.unread_tail > 0 {
        format!(" ({} of them differ only in unread tails)", s.unread_tail)
    } else {
        String::new()
    };
    format!(
        "{} case(s) compared: {} identical{timing}, {} different; {} only in A, {} only in B: {verdict}\n",
        s.compared, s.identical, s.different, s.only_a, s.only_b
    )
}
