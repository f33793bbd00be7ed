//! Project tasks. Run as `cargo xtask <task>`.

mod bench;
mod conformance;
mod reference;
mod schemas;
mod snapshots;

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
    /// Check the review snapshots (scenario transcripts, catalogue, schema sets); --accept regenerates them.
    Snapshots(snapshots::Args),
    /// Measure fan-out throughput and latency, and idle-connection cost, of each profile (see BENCHMARKS.md).
    Bench(bench::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Schemas(args) => schemas::run(&args),
        Task::Conformance(args) => conformance::run(&args),
        Task::Snapshots(args) => snapshots::run(&args),
        Task::Bench(args) => bench::run(&args),
    }
}
