//! `--record` without a file: one new file per session in the cutover's state directory,
//! beside its audit log.

use std::process::Command;

const CFG: &str = r#"
[cutover]
name = "Brokers v1"
environment = "staging"
[[source]]
id = "api"
kind = "http"
url = "http://127.0.0.1:9/health"
timeout = "500ms"
[[signal]]
id = "up"
source = "api"
kind = "health"
"#;

#[test]
fn record_without_a_file_writes_one_session_file_in_the_state_directory() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, CFG).unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_warroom"))
            .args(["check", "-c"])
            .arg(&cfg)
            .arg("--record")
            .env("XDG_STATE_HOME", &state)
            .output()
            .expect("warroom runs")
    };
    let out = run();
    // The source is refused: no data (3), and the session is recorded all the same.
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sessions = state.join("warroom/brokers-v1/staging/sessions");
    let files = |d: &std::path::Path| -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let first = files(&sessions);
    assert_eq!(first.len(), 1, "{first:?}");
    let name = first[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with(".jsonl") && name.len() > 20, "{name}");
    let text = std::fs::read_to_string(&first[0]).unwrap();
    assert!(
        text.lines().next().unwrap().contains("\"type\":\"header\""),
        "{text}"
    );
    // A second session is a second file (another process, another start).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run();
    assert_eq!(files(&sessions).len(), 2);
    // And `report` reads each one.
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .arg("report")
        .arg(&first[0])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn report_reads_a_directory_of_sessions_and_names_the_stretches_none_watched() {
    let dir = tempfile::tempdir().unwrap();
    let drill = std::fs::read_to_string("tests/fixtures/recordings/drill.jsonl").unwrap();
    // The same drill again two hours later: a second session, in a second file.
    std::fs::write(dir.path().join("a.jsonl"), &drill).unwrap();
    std::fs::write(
        dir.path().join("b.jsonl"),
        drill.replace("2026-11-25T21:", "2026-11-25T23:"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a recording").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .arg("report")
        .arg(dir.path())
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(md.matches("## Timeline").count(), 1, "{md}");
    let gap = md
        .lines()
        .find(|l| l.contains("not watched 2026-11-25 21:00–23:00 UTC"))
        .unwrap_or_else(|| panic!("no gap named:\n{md}"));
    assert!(gap.contains("(1h59m") || gap.contains("(2h"), "{gap}");
    // Two files named one by one read the same.
    let out2 = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .arg("report")
        .arg(dir.path().join("b.jsonl"))
        .arg(dir.path().join("a.jsonl"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out2.stdout), md);
}
