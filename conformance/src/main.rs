//! `conformance`: run the conformance cases against a server, list them, record a run, or diff two servers.

use std::process::ExitCode;

use clap::Parser;
use conformance::cli::{self, Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List(args) => {
            print!("{}", cli::list(&args));
            ExitCode::SUCCESS
        }
        Command::Run(args) => match cli::run(&args).await {
            Ok(code) => ExitCode::from(code),
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(2)
            }
        },
        Command::Record(args) => match conformance::record::record(&args).await {
            Ok(code) => ExitCode::from(code),
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(2)
            }
        },
        Command::Diff(args) => match conformance::diff::diff(&args).await {
            Ok(code) => ExitCode::from(code),
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(2)
            }
        },
    }
}
