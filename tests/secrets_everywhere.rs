//! FAULTS 15: the token never appears anywhere — stdout, stderr, the log file, the
//! recording — whatever the source answers. The real binary, against the simulator.

mod common;

use common::*;
use std::process::Command;
use warroom::sim::Scenario;

fn run_check(dir: &std::path::Path, url: &str, token: &str) -> (String, String, String, String) {
    let cfg = dir.join("cutover.toml");
    std::fs::write(&cfg, warroom::demo::DEMO_CONFIG).expect("write config");
    let rec = dir.join("rec.jsonl");
    let log = dir.join("warroom.log");
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["check", "-c"])
        .arg(&cfg)
        .args(["--window", "2s", "--interval", "1s", "--record"])
        .arg(&rec)
        .arg("--log-file")
        .arg(&log)
        .env("WARROOM_URL", url)
        .env("ADMIN_TOKEN", token)
        .env("WARROOM_LOG", "warroom=trace")
        .output()
        .expect("run warroom");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        std::fs::read_to_string(&rec).unwrap_or_default(),
        std::fs::read_to_string(&log).unwrap_or_default(),
    )
}

#[tokio::test]
async fn no_output_holds_the_token() {
    for scenario in [
        Scenario::Healthy,
        Scenario::Unauthorized,
        Scenario::Malformed,
    ] {
        let sim = start_sim(scenario).await;
        let dir = tempfile::tempdir().expect("tmp");
        // The right token and a wrong one: neither may leak.
        for token in [TOKEN, "wrong-but-secret-9f8e7d"] {
            let url = sim.base_url();
            let dir_path = dir.path().to_path_buf();
            let token_s = token.to_string();
            let (stdout, stderr, rec, log) =
                tokio::task::spawn_blocking(move || run_check(&dir_path, &url, &token_s))
                    .await
                    .expect("join");
            assert!(stdout.contains("summary:"), "{scenario}: {stdout}{stderr}");
            assert!(
                rec.contains("\"type\":\"header\""),
                "{scenario}: no recording"
            );
            assert!(
                log.contains("poll"),
                "{scenario}: the log file was not written"
            );
            for (what, text) in [
                ("stdout", &stdout),
                ("stderr", &stderr),
                ("recording", &rec),
                ("log", &log),
            ] {
                assert!(
                    !text.contains(token),
                    "{scenario}: the token leaked into {what}"
                );
            }
        }
        sim.shutdown().await;
    }
}

#[test]
fn validate_never_prints_a_bad_token() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("cutover.toml");
    std::fs::write(&cfg, warroom::demo::DEMO_CONFIG).expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["validate", "-c"])
        .arg(&cfg)
        .env("ADMIN_TOKEN", "tok-with-newline-5a6b\n")
        .output()
        .expect("run warroom");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("ADMIN_TOKEN"), "{text}");
    assert!(!text.contains("tok-with-newline-5a6b"), "{text}");
}
