//! Two real `warroom` processes, each in its own tmux pane, sharing one audit log against
//! one simulator (in this process): both operators confirm the rollback at the same instant
//! and the simulator receives exactly one request. The screen that lost the race says who
//! fired it.
//!
//! The tmux server has its own socket in a temporary directory and is killed on drop (with
//! any dashboard left over). Without tmux the test is skipped, unless `CI` is set.

#![cfg(target_os = "linux")]

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use warroom::sim::Scenario;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");
/// Generous: two debug builds starting on a busy machine.
const WAIT: Duration = Duration::from_secs(20);

fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("tmux is not installed but CI is set: install tmux to run this test");
    }
    ok
}

struct Tmux {
    socket: PathBuf,
    /// The dashboards' log files: how their processes are found at the end.
    logs: Vec<PathBuf>,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn capture(&self, pane: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", &format!("={pane}:")])
    }

    fn wait(&self, what: &str, mut ok: impl FnMut(&Tmux) -> bool) {
        let start = Instant::now();
        while !ok(self) {
            if start.elapsed() > WAIT {
                panic!(
                    "timed out waiting for {what}\n--- a ---\n{}\n--- b ---\n{}",
                    self.capture("audit-a"),
                    self.capture("audit-b")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // A dashboard that did not end with its pane must not outlive the test.
        for log in &self.logs {
            for _ in 0..50 {
                let Some(pid) = pid_with_arg(log) else { break };
                // SAFETY: kill(2) on a pid running our binary with our log path.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// A live process of our binary with `arg` on its command line.
fn pid_with_arg(arg: &Path) -> Option<i32> {
    let arg = arg.to_str()?;
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| {
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let argv: Vec<String> = raw
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit(')')
                        .next()
                        .map(|r| !r.trim_start().starts_with('Z'))
                })
                .unwrap_or(false);
            alive && argv.first().is_some_and(|a| a == BIN) && argv.iter().any(|a| a == arg)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_screens_confirming_the_rollback_at_once_send_exactly_one_request() {
    if !tmux_available() {
        eprintln!("tmux not found: skipping");
        return;
    }
    let sim = start_sim(Scenario::ErrorBurst).await;
    let dir = tempfile::Builder::new()
        .prefix("warroom-audit-race-")
        .tempdir()
        .expect("tmp");
    let cfg = dir.path().join("cutover.toml");
    std::fs::write(&cfg, warroom::demo::DEMO_CONFIG).expect("config");
    let audit = dir.path().join("audit.jsonl");
    let mut t = Tmux {
        socket: dir.path().join("tmux.sock"),
        logs: Vec::new(),
    };
    std::fs::write(dir.path().join("tmux.conf"), "set -g status off\n").expect("conf");
    let url = format!("WARROOM_URL={}", sim.base_url());
    let token = format!("ADMIN_TOKEN={TOKEN}");
    for pane in ["audit-a", "audit-b"] {
        let log = dir.path().join(format!("{pane}.log"));
        let (cfg_s, audit_s, log_s) = (
            cfg.display().to_string(),
            audit.display().to_string(),
            log.display().to_string(),
        );
        let conf = dir.path().join("tmux.conf").display().to_string();
        t.run(&[
            "-f",
            &conf,
            "new-session",
            "-d",
            "-s",
            pane,
            "-x",
            "160",
            "-y",
            "40",
            "--",
            "env",
            &url,
            &token,
            BIN,
            "watch",
            "-c",
            &cfg_s,
            "--audit-log",
            &audit_s,
            "--t0",
            "now",
            "--log-file",
            &log_s,
        ]);
        t.logs.push(log);
    }
    // Both dashboards up and polled, then both confirmations typed and waiting for Enter.
    t.wait("both dashboards", |t| {
        ["audit-a", "audit-b"]
            .iter()
            .all(|p| t.capture(p).contains("sources 4/4 ok"))
    });
    for pane in ["audit-a", "audit-b"] {
        t.run(&["send-keys", "-t", &format!("={pane}:"), "R"]);
        t.run(&["send-keys", "-t", &format!("={pane}:"), "-l", "rollback"]);
    }
    t.wait("both confirmations typed", |t| {
        ["audit-a", "audit-b"]
            .iter()
            .all(|p| t.capture(p).contains("> rollback_"))
    });
    assert_eq!(rollback_posts(&sim), 0, "nothing before Enter");

    // One tmux command: the two Enters arrive within a millisecond or so of each other.
    t.run(&[
        "send-keys",
        "-t",
        "=audit-a:",
        "Enter",
        ";",
        "send-keys",
        "-t",
        "=audit-b:",
        "Enter",
    ]);
    let start = Instant::now();
    while rollback_posts(&sim) == 0 && start.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t.wait("one screen refusing with who fired it", |t| {
        ["audit-a", "audit-b"]
            .iter()
            .any(|p| t.capture(p).contains("not sent:"))
    });
    // Time for a second request, were there one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        rollback_posts(&sim),
        1,
        "\n--- a ---\n{}\n--- b ---\n{}\n--- audit ---\n{}",
        t.capture("audit-a"),
        t.capture("audit-b"),
        std::fs::read_to_string(&audit).unwrap_or_default()
    );
    let loser = ["audit-a", "audit-b"]
        .iter()
        .map(|p| t.capture(p))
        .find(|s| s.contains("not sent:"))
        .unwrap_or_default();
    assert!(loser.contains("fired"), "{loser}");
    let log = std::fs::read_to_string(&audit).expect("audit log");
    assert_eq!(
        log.matches("\"kind\":\"action_confirmed\"").count(),
        1,
        "{log}"
    );
    assert_eq!(
        log.matches("\"kind\":\"action_declined\"").count(),
        1,
        "{log}"
    );
    drop(t);
    sim.shutdown().await;
}
