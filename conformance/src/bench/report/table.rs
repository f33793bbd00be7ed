//! The terminal table.

use std::fmt::Write;

use super::{BenchReport, SubjectResults};

/// The report as text for a terminal: the machine and parameters, one fan-out row and one connections row per
/// subject, then every problem found.
pub fn render(report: &BenchReport) -> String {
    let mut out = String::new();
    let m = &report.machine;
    let p = &report.parameters;
    let _ = writeln!(
        out,
        "machine      {} cores · {} · {} · Linux {} · {} build · ulimit -n {}",
        m.cores,
        m.cpu,
        m.os,
        m.kernel,
        report.build,
        m.open_files_limit
            .map(|l| l.to_string())
            .unwrap_or_else(|| "unknown".into())
    );
    let _ = writeln!(
        out,
        "fan-out      {} subscribers × {} changes · {}{}",
        p.subscribers,
        p.changes,
        report.server.fanout,
        report
            .server
            .endpoint
            .as_deref()
            .map(|e| format!(" at {e}"))
            .unwrap_or_default()
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<10} {:>6} {:>10} {:>11} {:>7} {:>8} {:>8} {:>8} {:>17} {:>6} {:>5}  exact",
        "subject",
        "subs",
        "changes/s",
        "pushes/s",
        "×base",
        "p50 ms",
        "p99 ms",
        "max ms",
        "delivered",
        "lost",
        "dup"
    );
    for subject in report.subjects() {
        fanout_row(&mut out, subject);
    }
    let adjacent: Vec<String> = report
        .profiles
        .iter()
        .filter_map(|s| {
            let r = s.ratio.as_ref()?;
            Some(format!(
                "{} {:.0}/s",
                s.subject, r.baseline_pushes_per_second
            ))
        })
        .collect();
    if !adjacent.is_empty() {
        let _ = writeln!(
            out,
            "  ×base: pushes/s over those of a baseline run made right before the profile ({})",
            adjacent.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "  a change is accepted on (at most {} awaited at once): {}",
        p.in_flight,
        report
            .subjects()
            .filter_map(|s| Some(format!(
                "{} {}",
                s.subject,
                s.fanout.as_ref()?.acknowledgement
            )))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "connections  {} idle connections · {}",
        p.connections, report.server.connections
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<10} {:>6} {:>10} {:>12} {:>12} {:>10} {:>7}",
        "subject", "open", "connect/s", "RSS before", "RSS after", "KiB/conn", "closed"
    );
    for subject in report.subjects() {
        connections_row(&mut out, subject);
    }
    let problems = problems(report);
    if !problems.is_empty() {
        let _ = writeln!(out);
        for problem in problems {
            let _ = writeln!(out, "! {problem}");
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

fn fanout_row(out: &mut String, subject: &SubjectResults) {
    let Some(f) = &subject.fanout else {
        let _ = writeln!(out, "{:<10} fan-out did not run", subject.subject);
        return;
    };
    let ratio = subject
        .ratio
        .as_ref()
        .map(|r| format!("{:.2}", r.pushes_per_second))
        .unwrap_or_else(|| "1.00".into());
    let _ = writeln!(
        out,
        "{:<10} {:>6} {:>10.0} {:>11.0} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>17} {:>6} {:>5}  {}",
        subject.subject,
        f.connect.connected,
        f.changes_per_second,
        f.pushes_per_second,
        ratio,
        f.latency.p50_ms,
        f.latency.p99_ms,
        f.latency.max_ms,
        format!("{}/{}", f.delivery.delivered, f.delivery.expected),
        f.delivery.lost,
        f.delivery.duplicated,
        if f.delivery.exact { "yes" } else { "NO" }
    );
}

fn connections_row(out: &mut String, subject: &SubjectResults) {
    let Some(c) = &subject.connections else {
        let _ = writeln!(out, "{:<10} connections did not run", subject.subject);
        return;
    };
    let kib = |v: u64| format!("{:.1} MiB", v as f64 / 1024.0);
    let (before, after, per) = match &c.rss {
        Some(rss) => (
            kib(rss.before_kib),
            kib(rss.after_kib),
            format!("{:.1}", rss.per_connection_kib),
        ),
        None => ("-".into(), "-".into(), "-".into()),
    };
    let _ = writeln!(
        out,
        "{:<10} {:>6} {:>10.0} {:>12} {:>12} {:>10} {:>7}",
        subject.subject,
        c.connect.connected,
        c.connect.per_second,
        before,
        after,
        per,
        c.closed_while_held
    );
}

/// Every error, loss, refusal and schema violation, one line each.
pub fn problems(report: &BenchReport) -> Vec<String> {
    let mut lines = Vec::new();
    for s in report.subjects() {
        let name = &s.subject;
        if let Some(e) = &s.fanout_error {
            lines.push(format!("{name} fan-out: {e}"));
        }
        if let Some(e) = &s.connections_error {
            lines.push(format!("{name} connections: {e}"));
        }
        if let Some(f) = &s.fanout {
            if f.connect.failed > 0 {
                lines.push(format!(
                    "{name} fan-out: {} of {} subscribers did not connect; first: {}",
                    f.connect.failed,
                    f.connect.attempted,
                    f.connect.first_failure.as_deref().unwrap_or("?")
                ));
            }
            if f.ready < f.connect.connected {
                lines.push(format!(
                    "{name} fan-out: only {} of {} subscribers saw a warm-up marker before the changes began",
                    f.ready, f.connect.connected
                ));
            }
            if let Some(e) = &f.cause_error {
                lines.push(format!(
                    "{name} fan-out: causing stopped after {} changes: {e}",
                    f.caused
                ));
            }
            let d = &f.delivery;
            if !d.exact {
                lines.push(format!(
                    "{name} fan-out: {} pushes lost ({} subscribers short, the worst got {} of {}), {} duplicated \
                     ({} subscribers), {} unexpected",
                    d.lost,
                    d.subscribers_with_loss,
                    d.worst_subscriber.unwrap_or(0),
                    f.caused,
                    d.duplicated,
                    d.subscribers_with_duplicates,
                    d.unexpected
                ));
            }
            if let Some(reason) = &f.gave_up {
                lines.push(format!("{name} fan-out: stopped waiting: {reason}"));
            }
            if d.closed_early > 0 {
                lines.push(format!(
                    "{name} fan-out: the server closed {} subscribers; first: {}",
                    d.closed_early,
                    d.first_close.as_deref().unwrap_or("?")
                ));
            }
            if f.schema.violations > 0 || f.connect.violations > 0 {
                lines.push(format!(
                    "{name} fan-out: {} frames broke the server schemas; first: {}",
                    f.schema.violations + f.connect.violations,
                    f.schema
                        .first_violation
                        .as_deref()
                        .or(f.connect.first_violation.as_deref())
                        .unwrap_or("?")
                ));
            }
        }
        if let Some(c) = &s.connections {
            if c.connect.failed > 0 {
                lines.push(format!(
                    "{name} connections: {} of {} did not open; first: {}",
                    c.connect.failed,
                    c.connect.attempted,
                    c.connect.first_failure.as_deref().unwrap_or("?")
                ));
            }
            if c.closed_while_held > 0 {
                lines.push(format!(
                    "{name} connections: the server closed {} idle connections while they were held",
                    c.closed_while_held
                ));
            }
        }
    }
    lines
}
