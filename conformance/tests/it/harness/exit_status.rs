//! The `conformance` binary's exit status: 0 when every MUST case passes, 1 when one fails, 2 on usage,
//! configuration or connection errors.

use std::path::PathBuf;
use std::process::{Command, Output};

use super::servers::{self, DirectusFlaw};

fn conformance(args: Vec<String>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the conformance binary runs")
}

async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || conformance(args))
        .await
        .expect("the binary's thread ends")
}

fn write_target(name: &str, endpoint: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("conformance-{name}-{}.toml", std::process::id()));
    let text = format!(
        "endpoint = \"{endpoint}\"\n[timeouts]\nwait = \"1500ms\"\ncase = \"10s\"\n\
         [directus]\nurl = \"{{{{ws_endpoint}}}}/websocket\"\n[directus.credentials.primary]\naccess_token = \"t\"\n"
    );
    std::fs::write(&path, text).expect("write the target file");
    path
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_status_is_0_1_or_2() {
    let endpoint = servers::directus(DirectusFlaw::NoUidOnEvents).await;
    let target = write_target("exit", &endpoint);
    let target = target.to_str().expect("utf-8 temp path");

    let passing = run(&[
        "run",
        "--target",
        target,
        "--case",
        "directus.subscribe.init-confirmation",
        "--seed",
        "3",
    ])
    .await;
    assert_eq!(
        code(&passing),
        Some(0),
        "{}",
        String::from_utf8_lossy(&passing.stderr)
    );

    let failing = run(&[
        "run",
        "--target",
        target,
        "--case",
        "directus.subscribe.uid-echo",
        "--format",
        "json",
    ])
    .await;
    assert_eq!(
        code(&failing),
        Some(1),
        "{}",
        String::from_utf8_lossy(&failing.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&failing.stdout).expect("stdout is the JSON report");
    assert_eq!(report["cases"][0]["outcome"], "fail");
    assert_eq!(report["run"]["exit_code"], 1);

    let no_target = run(&["run", "--profile", "m2"]).await;
    assert_eq!(code(&no_target), Some(2));
    assert!(String::from_utf8_lossy(&no_target.stderr).contains("--endpoint URL or --target FILE"));

    let bad_option = run(&[
        "run",
        "--level",
        "sometimes",
        "--endpoint",
        "http://127.0.0.1:1",
    ])
    .await;
    assert_eq!(code(&bad_option), Some(2), "clap usage errors exit 2");

    let unreachable = run(&[
        "run",
        "--profile",
        "directus",
        "--endpoint",
        "http://127.0.0.1:1",
    ])
    .await;
    assert_eq!(code(&unreachable), Some(2));
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("cannot reach"));

    let listed = run(&["list", "--profile", "directus"]).await;
    assert_eq!(code(&listed), Some(0));
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("directus.subscribe.uid-echo")
            && text.contains("the same uid will be included")
    );
    assert!(!text.contains("m2."), "list --profile filters: {text}");

    let _ = std::fs::remove_file(target);
}
