//! The terminal view: a progress bar while cases run, one line per finished case, then a summary per profile
//! and level and the details of every failing case (its reference quote and transcript).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use owo_colors::OwoColorize;

use crate::case::{Case, Level, Outcome};
use crate::runner::{CaseReport, Observer, RunReport};

/// Whether to colour output written to stdout: only on a terminal, and never with `NO_COLOR` set.
pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Shows progress on stderr and prints a line per finished case (to stderr too, so stdout stays a report).
pub struct Progress {
    bar: ProgressBar,
    color: bool,
    lines: bool,
    running: Mutex<Vec<&'static str>>,
}

impl Progress {
    /// `lines`: print a line per finished case; `color`: colour them.
    pub fn new(total: usize, lines: bool, color: bool) -> Progress {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            bar,
            color,
            lines,
            running: Mutex::default(),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn show_running(&self) {
        let running = self
            .running
            .lock()
            .map(|r| r.join(", "))
            .unwrap_or_default();
        self.bar.set_message(running);
    }
}

impl Observer for Progress {
    fn started(&self, case: &Case) {
        if let Ok(mut running) = self.running.lock() {
            running.push(case.id);
        }
        self.show_running();
    }

    fn finished(&self, report: &CaseReport) {
        if let Ok(mut running) = self.running.lock() {
            running.retain(|id| *id != report.case.id);
        }
        self.show_running();
        self.bar.inc(1);
        if self.lines {
            let line = case_line(report, self.color);
            if self.bar.is_hidden() {
                eprintln!("{line}");
            } else {
                self.bar.println(line);
            }
        }
    }
}

fn outcome_tag(outcome: &Outcome, color: bool) -> String {
    let tag = match outcome {
        Outcome::Pass => "PASS",
        Outcome::Fail(_) => "FAIL",
        Outcome::Skip(_) => "SKIP",
        Outcome::Unsupported(_) => "UNSP",
    };
    if !color {
        return tag.to_owned();
    }
    match outcome {
        Outcome::Pass => tag.green().to_string(),
        Outcome::Fail(_) => tag.red().bold().to_string(),
        Outcome::Skip(_) => tag.yellow().to_string(),
        Outcome::Unsupported(_) => tag.blue().to_string(),
    }
}

/// `PASS MUST   m2.connect.subprotocol-echo (12 ms)` and, for a case that did not pass, its reason.
pub fn case_line(report: &CaseReport, color: bool) -> String {
    let mut line = format!(
        "{} {:<6} {} ({} ms)",
        outcome_tag(&report.outcome, color),
        report.case.level.to_string(),
        report.case.id,
        report.duration.as_millis()
    );
    if let Some(reason) = report.outcome.reason() {
        if !report.outcome.is_fail() {
            let first = reason.lines().next().unwrap_or_default();
            line.push_str(&format!(": {first}"));
        }
    }
    line
}

/// The summary table and the details of failing cases.
pub fn summary(report: &RunReport, color: bool) -> String {
    let mut out = String::new();
    let failing: Vec<&CaseReport> = report
        .cases
        .iter()
        .filter(|r| r.outcome.is_fail())
        .collect();
    for failure in &failing {
        out.push_str(&details(failure, color));
        out.push('\n');
    }
    let heading = format!(
        "conformance against {} (seed {}, {} ms)",
        report.target,
        report.seed,
        report.duration.as_millis()
    );
    out.push_str(&if color {
        heading.bold().to_string()
    } else {
        heading
    });
    out.push('\n');
    out.push_str(&format!(
        "  {:<10} {:<7} {:>5} {:>5} {:>5} {:>12}\n",
        "profile", "level", "pass", "fail", "skip", "unsupported"
    ));
    for &profile in &report.profiles {
        for level in Level::ALL {
            let tally = report.tally(Some(profile), Some(level));
            if tally.total() == 0 {
                continue;
            }
            let fail = format!("{:>5}", tally.fail);
            let fail = if color && tally.fail > 0 {
                if level == Level::Must {
                    fail.red().bold().to_string()
                } else {
                    fail.yellow().to_string()
                }
            } else {
                fail
            };
            out.push_str(&format!(
                "  {:<10} {:<7} {:>5} {fail} {:>5} {:>12}\n",
                profile.to_string(),
                level.to_string(),
                tally.pass,
                tally.skip,
                tally.unsupported
            ));
        }
    }
    let all = report.tally(None, None);
    let verdict = if report.exit_code() == 0 {
        let text = format!(
            "every MUST case holds ({} passed, {} failed below MUST, {} skipped, {} unsupported)",
            all.pass, all.fail, all.skip, all.unsupported
        );
        if color {
            text.green().to_string()
        } else {
            text
        }
    } else {
        let text = format!(
            "{} MUST case(s) failed ({} passed, {} failed in all, {} skipped, {} unsupported)",
            report.must_failures().count(),
            all.pass,
            all.fail,
            all.skip,
            all.unsupported
        );
        if color {
            text.red().bold().to_string()
        } else {
            text
        }
    };
    out.push_str(&verdict);
    out.push('\n');
    out
}

/// A failing case: id, level, title, the quoted sentence, the reason and the transcript.
pub fn details(report: &CaseReport, color: bool) -> String {
    let case = &report.case;
    let head = format!("FAIL {} {} — {}", case.level, case.id, case.title);
    let mut out = if color {
        head.red().bold().to_string()
    } else {
        head
    };
    out.push('\n');
    out.push_str(&format!(
        "  {}: \"{}\"\n",
        case.reference.source, case.reference.quote
    ));
    for line in report.outcome.reason().unwrap_or_default().lines() {
        out.push_str(&format!("  {line}\n"));
    }
    if !report.transcript.is_empty() {
        out.push_str("  transcript:\n");
        for entry in &report.transcript {
            for (i, line) in entry.to_string().lines().enumerate() {
                out.push_str(if i == 0 { "    " } else { "                " });
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}
