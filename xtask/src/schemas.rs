//! `cargo xtask schemas`: every fixture honours its label, every schema follows the layout rules.

use std::path::{Path, PathBuf};

use anyhow::bail;
use conformance::fixtures::{self, ProfileReport, Roots};
use conformance::Profile;

#[derive(clap::Args)]
pub struct Args {
    /// A folder holding `schemas/` and `fixtures/` (default: this workspace).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Check only these profiles (repeatable; default: all four).
    #[arg(long = "profile", value_name = "PROFILE")]
    profiles: Vec<Profile>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let roots = match &args.root {
        Some(dir) => Roots::under(dir),
        None => Roots::workspace(),
    };
    let reports: Vec<ProfileReport> = if args.profiles.is_empty() {
        fixtures::check_all(&roots)
    } else {
        args.profiles
            .iter()
            .map(|&profile| fixtures::check_profile(&roots, profile))
            .collect()
    };
    let base = args.root.clone().unwrap_or_else(|| {
        roots
            .schemas
            .parent()
            .map(Path::to_owned)
            .unwrap_or_default()
    });
    print!("{}", table(&reports));
    let failures: Vec<String> = reports
        .iter()
        .flat_map(|r| &r.failures)
        .map(|f| {
            let file = f.file.strip_prefix(&base).unwrap_or(&f.file);
            let pointer = if f.pointer.is_empty() {
                "/"
            } else {
                &f.pointer
            };
            format!("{} at {pointer}: {}", file.display(), f.reason)
        })
        .collect();
    if failures.is_empty() {
        return Ok(());
    }
    println!();
    for line in &failures {
        println!("FAIL {line}");
    }
    bail!("{} fixture check failure(s)", failures.len())
}

fn table(reports: &[ProfileReport]) -> String {
    let header = ["profile", "schemas", "valid", "invalid", "result"];
    let rows: Vec<[String; 5]> = reports
        .iter()
        .map(|r| {
            let result = if r.passed() {
                "ok".to_owned()
            } else {
                format!("FAILED ({})", r.failures.len())
            };
            [
                r.profile.to_string(),
                r.schemas.to_string(),
                r.valid.to_string(),
                r.invalid.to_string(),
                result,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i == 0 || i == 4 {
                out.push_str(&format!("{cell:<width$}"));
            } else {
                out.push_str(&format!("{cell:>width$}"));
            }
            out.push_str(if i == 4 { "\n" } else { "  " });
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(header);
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    out
}
