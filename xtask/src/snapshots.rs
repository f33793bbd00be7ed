//! `cargo xtask snapshots`: checks the review snapshots — the normalized transcript of every scenario case
//! against the reference server, the catalogue, and each profile's schema set — and prints a diff when one
//! changed. `--accept` regenerates them all from the current tree; `--review` writes the changed ones next to
//! the committed files (`.snap.new`) for `cargo insta review`.
//!
//! The snapshots are the ignored tests of `xtask/tests/it/snapshots.rs`; their files live in
//! `xtask/tests/snapshots/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Regenerate every snapshot from the current tree (removed cases lose theirs) instead of checking.
    #[arg(long, conflicts_with = "review")]
    pub accept: bool,

    /// Write changed snapshots as `.snap.new` files and open `cargo insta review` (needs cargo-insta).
    #[arg(long)]
    pub review: bool,
}

/// The test that proves a behaviour change shows as a snapshot diff; it reads the committed transcripts, so it
/// runs after they are checked or written.
const ALTERED_TEST: &str = "snapshots::an_altered_server_shows_as_a_readable_snapshot_diff";

fn snapshot_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Runs the ignored snapshot tests matching `filter` with insta in `mode` (its `INSTA_UPDATE`).
fn cargo_test(filter: &[&str], mode: &str) -> anyhow::Result<bool> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "test",
            "--package",
            "xtask",
            "--test",
            "it",
            "--",
            "--ignored",
        ])
        .args(filter)
        .env("INSTA_UPDATE", mode)
        .env("INSTA_FORCE_PASS", "0")
        .status()
        .context("running cargo test")?;
    Ok(status.success())
}

/// Removes the snapshot files, so the regenerated set has no file of a case that is gone.
fn remove_snapshots(dir: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            remove_snapshots(&path)?;
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".snap") || n.ends_with(".snap.new"))
        {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

fn has_cargo_insta() -> bool {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .args(["insta", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let root = snapshot_root();
    let mode = if args.accept {
        remove_snapshots(&root)?;
        "always"
    } else if args.review {
        "new"
    } else {
        "no"
    };
    let written = cargo_test(&["snapshots::", "--skip", ALTERED_TEST], mode)?;
    let altered = cargo_test(&["--exact", ALTERED_TEST], "no")?;
    if args.accept {
        if !written {
            bail!("some snapshots could not be written; see the output above");
        }
        eprintln!(
            "snapshots regenerated in {}; review them with `git diff` and commit them",
            root.display()
        );
    } else if args.review && !written {
        if has_cargo_insta() {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            Command::new(cargo)
                .args(["insta", "review"])
                .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
                .status()
                .context("running cargo insta review")?;
        } else {
            eprintln!(
                "changed snapshots are written next to the committed ones as .snap.new; \
                 install cargo-insta (`cargo install cargo-insta`) and run `cargo insta review`, \
                 or accept them all with `cargo xtask snapshots --accept`"
            );
        }
    } else if !written {
        bail!(
            "snapshots differ (diff above); if the change is intended, run `cargo xtask snapshots --accept` \
             (or `--review`) and commit the files under {}",
            root.display()
        );
    }
    if !altered {
        bail!("{ALTERED_TEST} failed; see the output above");
    }
    Ok(())
}
