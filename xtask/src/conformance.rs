//! `cargo xtask conformance`: the conformance suite against the bundled reference server, started in-process on
//! an ephemeral port with short timers, or against `--endpoint` / `--target` like `conformance run`.
//! The server's log is captured and printed when a case fails.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use conformance::cli::{self, RunArgs};
use conformance::target::Target;
use conformance::Profile;
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub run: RunArgs,
}

/// Timers of the in-process server, short so heartbeat and timeout cases finish quickly. The target handed to
/// the harness states the same values, as a target file for any server would.
struct FastTimers;

impl FastTimers {
    const DIRECTUS_HEARTBEAT: Duration = Duration::from_millis(1500);
    const DIRECTUS_AUTH_TIMEOUT: Duration = Duration::from_millis(1000);
    const GAMEVAULT_PING_INTERVAL_MS: u64 = 400;
    const GAMEVAULT_PING_TIMEOUT_MS: u64 = 400;
    const GAMEVAULT_CONNECT_TIMEOUT_MS: u64 = 1000;

    fn server_config() -> reference_server::Config {
        let mut config = crate::reference::ephemeral_config();
        config.directus.heartbeat_period = Self::DIRECTUS_HEARTBEAT;
        config.directus.auth_timeout = Self::DIRECTUS_AUTH_TIMEOUT;
        config.gamevault.ping_interval_ms = Self::GAMEVAULT_PING_INTERVAL_MS;
        config.gamevault.ping_timeout_ms = Self::GAMEVAULT_PING_TIMEOUT_MS;
        config.gamevault.connect_timeout_ms = Self::GAMEVAULT_CONNECT_TIMEOUT_MS;
        config
    }

    fn describe(target: &mut Target) {
        let ms = |d: Duration| json!(format!("{}ms", d.as_millis()));
        target.set_parameter(Profile::Directus, "heartbeat", ms(Self::DIRECTUS_HEARTBEAT));
        target.set_parameter(
            Profile::Directus,
            "auth_timeout",
            ms(Self::DIRECTUS_AUTH_TIMEOUT),
        );
        target.set_parameter(
            Profile::Gamevault,
            "connect_timeout",
            json!(format!("{}ms", Self::GAMEVAULT_CONNECT_TIMEOUT_MS)),
        );
    }
}

/// The server's tracing output, kept in memory until a failure asks for it.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let code = runtime.block_on(execute(&args.run))?;
    if code != 0 {
        std::process::exit(i32::from(code));
    }
    Ok(())
}

async fn execute(args: &RunArgs) -> anyhow::Result<u8> {
    if args.endpoint.is_some() || args.target.is_some() {
        return Ok(cli::run(args).await.unwrap_or_else(|error| {
            eprintln!("error: {error}");
            2
        }));
    }
    let log = LogBuffer::default();
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).context("invalid RUST_LOG")?,
        )
        .with_writer(log.clone())
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("installing the log capture: {e}"))?;
    let crate::reference::InProcess {
        handle: server,
        endpoint,
    } = crate::reference::start_in_process(FastTimers::server_config()).await?;
    eprintln!("reference server listening on {endpoint}");
    let mut target = Target::reference_server(&endpoint)?;
    FastTimers::describe(&mut target);
    let outcome = cli::run_with_target(args, target).await;
    let code = match &outcome {
        Ok(report) => report.exit_code(),
        Err(error) => {
            eprintln!("error: {error}");
            2
        }
    };
    if let Err(e) = server.shutdown().await {
        eprintln!("stopping the reference server: {e}");
    }
    if code != 0 {
        let text = log.take();
        eprintln!(
            "\n---- reference server log ({} lines) ----",
            text.lines().count()
        );
        eprint!("{text}");
        eprintln!("---- end of reference server log ----");
    }
    Ok(code)
}
