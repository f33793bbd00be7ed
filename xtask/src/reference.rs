//! Starting the bundled reference server for a task: in this process on an ephemeral loopback port, or as a
//! separate child process (`target/<profile>/reference-server`) when the task must measure the server alone.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The reference server's defaults (the demo tenant), listening on an ephemeral loopback port.
pub fn ephemeral_config() -> reference_server::Config {
    reference_server::Config {
        listen: ([127, 0, 0, 1], 0).into(),
        ..reference_server::Config::default()
    }
}

/// A reference server running in this process.
pub struct InProcess {
    pub handle: reference_server::ServerHandle,
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

/// Starts the reference server with `config` in this process.
pub async fn start_in_process(config: reference_server::Config) -> anyhow::Result<InProcess> {
    let handle = reference_server::serve(config)
        .await
        .context("starting the reference server")?;
    let endpoint = format!("http://{}", handle.local_addr());
    Ok(InProcess { handle, endpoint })
}

/// How long a child server may take to print its readiness line.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// The `reference-server` binary as a child process; killed when dropped.
pub struct ChildServer {
    child: Child,
    pub endpoint: String,
}

impl ChildServer {
    /// Builds the `reference-server` binary with the cargo profile this task was built with (a no-op when it is
    /// up to date), next to this task's own executable.
    pub fn build() -> anyhow::Result<PathBuf> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command.args([
            "build",
            "--package",
            "reference-server",
            "--bin",
            "reference-server",
        ]);
        if !cfg!(debug_assertions) {
            command.arg("--release");
        }
        let status = command
            .status()
            .context("running cargo build for the reference server")?;
        if !status.success() {
            bail!("cargo build of the reference server failed ({status})");
        }
        let exe = std::env::current_exe().context("locating this executable")?;
        let binary = exe
            .parent()
            .context("this executable has no parent directory")?
            .join("reference-server");
        if !binary.exists() {
            bail!("{} was not built", binary.display());
        }
        Ok(binary)
    }

    /// Starts `binary --listen 127.0.0.1:0` and waits for its readiness line `listening on ADDR`.
    pub fn spawn(binary: &PathBuf) -> anyhow::Result<ChildServer> {
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--log", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("the child's stdout")?;
        let (lines, received) = mpsc::channel();
        // Reads the child's output for as long as it runs, so a full pipe never blocks it.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    continue;
                }
            }
        });
        let mut server = ChildServer {
            child,
            endpoint: String::new(),
        };
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = received.recv_timeout(left).map_err(|_| {
                anyhow::anyhow!(
                    "{} printed no `listening on ADDR` line within {}s",
                    binary.display(),
                    READY_WITHIN.as_secs()
                )
            })?;
            if let Some(addr) = line.trim().strip_prefix("listening on ") {
                server.endpoint = format!("http://{addr}");
                return Ok(server);
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
