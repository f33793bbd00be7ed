//! The real socket.io-client 4.x against the server, with its default options (long-polling
//! first, then the upgrade to WebSocket). Runs only with `GAMEVAULT_INTEROP=1`, and needs `node`
//! and `npm` with access to the npm registry; the client is installed under the target directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::support::*;

const CLIENT_VERSION: &str = "socket.io-client@4.8.4";
const SCRIPT: &str = include_str!("interop/client.mjs");

/// Runs `command` to completion, killing it after `limit`.
fn run(mut command: Command, limit: Duration) -> (bool, String, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {command:?}: {err}"));
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(err) => panic!("waiting for {command:?}: {err}"),
        }
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|err| panic!("output of {command:?}: {err}"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn install(dir: &Path) {
    if dir.join("node_modules/socket.io-client").is_dir() {
        return;
    }
    std::fs::create_dir_all(dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
    std::fs::write(
        dir.join("package.json"),
        "{\"private\":true,\"type\":\"module\"}",
    )
    .unwrap_or_else(|err| panic!("package.json: {err}"));
    let mut npm = Command::new("npm");
    npm.current_dir(dir).args([
        "install",
        "--no-audit",
        "--no-fund",
        "--silent",
        CLIENT_VERSION,
    ]);
    let (ok, _, stderr) = run(npm, Duration::from_secs(180));
    assert!(ok, "npm install {CLIENT_VERSION} failed: {stderr}");
}

#[tokio::test]
async fn socket_io_client_with_default_options() {
    if std::env::var("GAMEVAULT_INTEROP").as_deref() != Ok("1") {
        eprintln!("skipped: set GAMEVAULT_INTEROP=1 to run socket.io-client against the server");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gamevault-interop");
    let server = start_with(|gv| gv.acknowledge_events = true).await;
    let url = format!("http://{}", server.local_addr());
    let script_dir = dir.clone();
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || {
        install(&script_dir);
        let script = script_dir.join("client.mjs");
        std::fs::write(&script, SCRIPT).unwrap_or_else(|err| panic!("client.mjs: {err}"));
        let mut node = Command::new("node");
        node.current_dir(&script_dir).arg(&script).arg(&url);
        run(node, Duration::from_secs(30))
    })
    .await
    .unwrap_or_else(|err| panic!("interop task: {err}"));
    assert!(ok, "the client failed:\n{stderr}\n{stdout}");
    let summary: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|err| panic!("summary is not JSON ({err}): {stdout}"));

    assert_eq!(summary["aliceConnected"], true);
    assert_eq!(summary["aliceInitial"], json!([]));
    assert_eq!(
        summary["aliceTransport"], "websocket",
        "upgraded from polling"
    );
    assert_eq!(summary["bobTransport"], "websocket");
    let expected = json!({
        "state": "PLAYING", "game_id": 3, "user_id": ALICE_ID, "socket_id": summary["aliceId"]
    });
    assert_eq!(summary["ack"], expected);
    assert_eq!(summary["bobSaw"], expected);
    assert_eq!(summary["pollingTransport"], "polling");
    assert_eq!(summary["pollingSaw"], expected);
    assert_eq!(summary["listed"], json!([expected]));
    assert_eq!(summary["exception"]["cause"]["pattern"], "set-activity");
    assert_eq!(
        summary["anonymousError"],
        "Missing X-Socket-Secret or X-Api-Key Header."
    );
    assert_eq!(
        summary["offline"],
        json!({"state": "OFFLINE", "user_id": ALICE_ID, "socket_id": summary["aliceId"]})
    );
    stop(server).await;
}
