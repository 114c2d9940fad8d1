//! Every kind of failure ends the binary with its own code, as the README's exit-code
//! table says: the command line or the config 2, no terminal 5, a run-time failure (a
//! file it cannot write, an address it cannot listen on) 6. Each row spawns the binary.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
        .display()
        .to_string()
}

/// Run with stdout a pipe and no input; the exit code and stderr. Bounded in time.
fn run(args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(args)
        // Nothing of the runner's own state: the default audit log goes in the temp dir.
        .env("XDG_STATE_HOME", dir.path())
        .env_remove("WARROOM_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("warroom {args:?} did not exit within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    (status.code(), err)
}

#[test]
fn each_failure_exits_with_its_own_code() {
    let dir = tempfile::tempdir().unwrap();
    // Under a regular file nothing can be created, whoever runs the test.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let unwritable = format!("{}/x.log", blocker.display());
    let minimal = fixture("config/valid/minimal.toml");
    let invalid = fixture("config/invalid/bad_condition.toml");
    let drill = fixture("recordings/drill.jsonl");
    let missing = dir.path().join("missing.toml").display().to_string();
    // An address already taken, held for the whole test.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();

    let rows: &[(&str, Vec<&str>, i32, &str)] = &[
        ("a listing", vec!["init", "--list"], 0, ""),
        ("an unknown flag", vec!["--no-such-flag"], 2, "no-such-flag"),
        ("no config", vec!["watch"], 2, "no config given"),
        ("a config with problems", vec!["-c", &invalid], 2, "problem"),
        (
            "check on a config with problems",
            vec!["check", "-c", &invalid],
            2,
            "problem",
        ),
        (
            "a config that is not there",
            vec!["check", "-c", &missing],
            2,
            "missing.toml",
        ),
        (
            "validate on a config with problems",
            vec!["validate", "-c", &invalid],
            2,
            "",
        ),
        (
            "an unknown preset",
            vec!["init", "--preset", "nope"],
            2,
            "no preset",
        ),
        (
            "a recording that is not there",
            vec!["report", &missing],
            2,
            "missing.toml",
        ),
        (
            "the dashboard without a terminal",
            vec!["-c", &minimal],
            5,
            "not a terminal",
        ),
        (
            "the demo without a terminal",
            vec!["demo"],
            5,
            "not a terminal",
        ),
        (
            "replay without a terminal",
            vec!["replay", &drill],
            5,
            "not a terminal",
        ),
        (
            "a log file that cannot be opened",
            vec!["check", "-c", &minimal, "--log-file", &unwritable],
            6,
            "log file",
        ),
        (
            "the simulator on an address taken",
            vec!["sim", "--listen", &taken],
            6,
            &taken,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, args, code, says) in rows {
        let (got, err) = run(args);
        if got != Some(*code) || !err.contains(says) {
            wrong.push(format!(
                "{what} (warroom {}): exit {got:?}, want {code}; stderr: {err}",
                args.join(" ")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
