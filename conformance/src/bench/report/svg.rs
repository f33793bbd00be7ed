//! An SVG chart of change-to-push latency percentiles per subject, written by hand (no plotting crate).

use std::fmt::Write;

use super::BenchReport;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 380.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 50.0;
/// p50, p99, max.
const SERIES: [(&str, &str); 3] = [("p50", "#4c78a8"), ("p99", "#f58518"), ("max", "#e45756")];

/// Latency percentiles (p50, p99, max) of every subject's fan-out, on a logarithmic millisecond axis.
pub fn latency_chart(report: &BenchReport) -> String {
    let bars: Vec<(&str, [f64; 3])> = report
        .subjects()
        .filter_map(|s| {
            let f = s.fanout.as_ref()?;
            (f.latency.samples > 0).then_some((
                s.subject.as_str(),
                [f.latency.p50_ms, f.latency.p99_ms, f.latency.max_ms],
            ))
        })
        .collect();
    let values = bars.iter().flat_map(|(_, v)| v.iter().copied());
    let smallest = values.clone().fold(f64::INFINITY, f64::min).max(1e-3);
    let largest = values.fold(0.0_f64, f64::max).max(smallest * 10.0);
    let low = smallest.log10().floor();
    let high = largest.log10().ceil();
    let plot_height = HEIGHT - TOP - BOTTOM;
    let y = |ms: f64| TOP + plot_height * (1.0 - (ms.max(1e-3).log10() - low) / (high - low));

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let title = format!(
        "change → push latency · {} subscribers × {} changes · {} build · {} cores · {}",
        report.parameters.subscribers,
        report.parameters.changes,
        report.build,
        report.machine.cores,
        report.started
    );
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="22" font-size="14">{}</text>"#,
        escape(&title)
    );
    for (i, (name, color)) in SERIES.iter().enumerate() {
        let x = LEFT + i as f64 * 70.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{x}" y="34" width="12" height="12" fill="{color}"/><text x="{}" y="45">{name}</text>"#,
            x + 16.0
        );
    }
    let decades = (high - low) as i32;
    for d in 0..=decades {
        let ms = 10f64.powi(low as i32 + d);
        let gy = y(ms);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{gy:.1}" x2="{}" y2="{gy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{} ms</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            gy + 4.0,
            format_ms(ms)
        );
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}" stroke="#333"/>"##,
        HEIGHT - BOTTOM
    );
    let group = (WIDTH - LEFT - RIGHT) / bars.len().max(1) as f64;
    let bar = (group * 0.7 / 3.0).min(40.0);
    for (g, (name, values)) in bars.iter().enumerate() {
        let start = LEFT + g as f64 * group + (group - bar * 3.0) / 2.0;
        for (i, value) in values.iter().enumerate() {
            let top = y(*value);
            let x = start + i as f64 * bar;
            let color = SERIES.get(i).map(|s| s.1).unwrap_or("#999");
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{} {}: {:.3} ms</title></rect>"#,
                bar - 2.0,
                (HEIGHT - BOTTOM - top).max(0.0),
                escape(name),
                SERIES.get(i).map(|s| s.0).unwrap_or(""),
                value
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            start + bar * 1.5,
            HEIGHT - BOTTOM + 18.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn format_ms(ms: f64) -> String {
    if ms >= 1.0 {
        format!("{ms:.0}")
    } else {
        let digits = (-ms.log10()).ceil() as usize;
        format!("{ms:.digits$}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_keep_their_significant_digit() {
        assert_eq!(format_ms(0.01), "0.01");
        assert_eq!(format_ms(0.1), "0.1");
        assert_eq!(format_ms(100.0), "100");
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
