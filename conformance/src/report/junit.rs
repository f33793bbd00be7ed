//! JUnit XML: one `<testsuite>` per profile, one `<testcase>` per case; failures carry the reason, the
//! reference and the transcript; skipped and unsupported cases are `<skipped>` with their reason.

use std::fmt::Write;

use crate::case::Outcome;
use crate::runner::{CaseReport, RunReport};

/// Escapes text for XML attributes and content; drops characters XML 1.0 cannot carry.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

fn seconds(report: &CaseReport) -> String {
    format!("{:.3}", report.duration.as_secs_f64())
}

/// The run as a JUnit XML document.
pub fn render(report: &RunReport) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let all = report.tally(None, None);
    let _ = writeln!(
        xml,
        "<testsuites name=\"conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"0\" time=\"{:.3}\">",
        all.total(),
        all.fail,
        all.skip + all.unsupported,
        report.duration.as_secs_f64()
    );
    for &profile in &report.profiles {
        let cases: Vec<&CaseReport> = report
            .cases
            .iter()
            .filter(|r| r.case.profile == profile)
            .collect();
        let tally = report.tally(Some(profile), None);
        let time: f64 = cases.iter().map(|r| r.duration.as_secs_f64()).sum();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{profile}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"0\" time=\"{time:.3}\">",
            tally.total(),
            tally.fail,
            tally.skip + tally.unsupported,
        );
        let _ = writeln!(
            xml,
            "    <properties><property name=\"target\" value=\"{}\"/><property name=\"seed\" value=\"{}\"/></properties>",
            escape(&report.target),
            report.seed
        );
        for case in cases {
            write_case(&mut xml, case);
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn write_case(xml: &mut String, report: &CaseReport) {
    let case = &report.case;
    let classname = case.id.rsplit_once('.').map(|(c, _)| c).unwrap_or(case.id);
    let _ = write!(
        xml,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
        escape(classname),
        escape(case.id),
        seconds(report)
    );
    match &report.outcome {
        Outcome::Pass => xml.push_str("/>\n"),
        Outcome::Fail(reason) => {
            let mut body = format!(
                "{} {}\n{}: \"{}\"\n\n{reason}\n",
                case.level, case.title, case.reference.source, case.reference.quote
            );
            if !report.transcript.is_empty() {
                body.push_str("\ntranscript:\n");
                for entry in &report.transcript {
                    let _ = writeln!(body, "{entry}");
                }
            }
            let _ = write!(
                xml,
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                escape(reason),
                case.level,
                escape(&body)
            );
        }
        Outcome::Skip(reason) => {
            let _ = write!(
                xml,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                escape(reason)
            );
        }
        Outcome::Unsupported(reason) => {
            let _ = write!(
                xml,
                ">\n      <skipped message=\"unsupported: {}\"/>\n    </testcase>\n",
                escape(reason)
            );
        }
    }
}
