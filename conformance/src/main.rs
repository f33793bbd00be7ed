//! `conformance`: run the conformance cases against a server, or list them.

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
    }
}
