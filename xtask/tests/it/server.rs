//! The reference server as these tests run it: in this process, on an ephemeral loopback port, with the short
//! timers of `cargo xtask conformance`, and the target that describes it to the harness.

use std::net::SocketAddr;
use std::time::Duration;

use conformance::target::Target;
use conformance::Profile;
use serde_json::json;

const DIRECTUS_HEARTBEAT: Duration = Duration::from_millis(1500);
const DIRECTUS_AUTH_TIMEOUT: Duration = Duration::from_millis(1000);
const GAMEVAULT_PING_INTERVAL_MS: u64 = 400;
const GAMEVAULT_PING_TIMEOUT_MS: u64 = 400;
const GAMEVAULT_CONNECT_TIMEOUT_MS: u64 = 1000;

/// A running reference server.
pub struct Server {
    handle: reference_server::ServerHandle,
}

impl Server {
    pub async fn start() -> Server {
        let mut config = reference_server::Config {
            listen: ([127, 0, 0, 1], 0).into(),
            ..reference_server::Config::default()
        };
        config.directus.heartbeat_period = DIRECTUS_HEARTBEAT;
        config.directus.auth_timeout = DIRECTUS_AUTH_TIMEOUT;
        config.gamevault.ping_interval_ms = GAMEVAULT_PING_INTERVAL_MS;
        config.gamevault.ping_timeout_ms = GAMEVAULT_PING_TIMEOUT_MS;
        config.gamevault.connect_timeout_ms = GAMEVAULT_CONNECT_TIMEOUT_MS;
        let handle = reference_server::serve(config)
            .await
            .expect("the reference server starts on an ephemeral loopback port");
        Server { handle }
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    pub async fn stop(self) {
        self.handle
            .shutdown()
            .await
            .expect("the reference server stops");
    }
}

/// The target of a server laid out like the reference server at `addr` (the server itself or a proxy in front
/// of it), stating the short timers.
pub fn target(addr: SocketAddr) -> Target {
    let mut target =
        Target::reference_server(&format!("http://{addr}")).expect("the bundled target file loads");
    let ms = |d: Duration| json!(format!("{}ms", d.as_millis()));
    target.set_parameter(Profile::Directus, "heartbeat", ms(DIRECTUS_HEARTBEAT));
    target.set_parameter(Profile::Directus, "auth_timeout", ms(DIRECTUS_AUTH_TIMEOUT));
    target.set_parameter(
        Profile::Gamevault,
        "connect_timeout",
        ms(Duration::from_millis(GAMEVAULT_CONNECT_TIMEOUT_MS)),
    );
    target
}

/// A folder of its own under the system's temporary directory (model regressions found by a test go there,
/// not into the source tree).
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("xtask-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("the scratch directory can be created");
    dir
}
