//! Project tasks. Run as `cargo xtask <task>`.

mod conformance;
mod schemas;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "Project tasks", version)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Check every fixture against the schemas and every schema against the layout rules.
    Schemas(schemas::Args),
    /// Run the conformance suite against the bundled reference server (or --endpoint / --target).
    Conformance(conformance::Args),
    /// Regenerate the transcript snapshots.
    Snapshots,
    /// Run the benchmarks.
    Bench,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Schemas(args) => schemas::run(&args),
        Task::Conformance(args) => conformance::run(&args),
        Task::Snapshots => anyhow::bail!("`cargo xtask snapshots` is not available yet"),
        Task::Bench => anyhow::bail!("`cargo xtask bench` is not available yet"),
    }
}
