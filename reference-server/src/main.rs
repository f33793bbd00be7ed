//! `reference-server`: runs the bundled server of all four profiles on one port.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use reference_server::Config;

/// Reference implementation and local emulator of the m2, directus, skapi and gamevault realtime APIs.
///
/// Every profile is served on the same port at its documented path:
/// m2 at /api/realtime/connect/, directus at /websocket, skapi at /realtime, gamevault at /socket.io/.
/// Without --config the demo tenant (credentials in the README) is available at once.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Args {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port). Overrides `listen` in the config file.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,

    /// TOML configuration file: limits, auth modes, heartbeat periods, tenants and credentials.
    /// Every field is optional; omitted fields keep their defaults (the demo tenant).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `reference_server=debug`. Also read from RUST_LOG.
    #[arg(long, value_name = "FILTER", env = "RUST_LOG", default_value = "info")]
    log: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log).context("invalid --log filter")?,
        )
        .init();
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let handle = reference_server::serve(config).await?;
    // The readiness line: tools that start the server wait for it instead of sleeping.
    println!("listening on {}", handle.local_addr());
    let mut handle = handle;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot listen for Ctrl-C")?,
        result = handle.stopped() => return result.context("server stopped"),
    }
    tracing::info!("shutting down");
    handle.shutdown().await?;
    Ok(())
}
