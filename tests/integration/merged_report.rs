//! Several recordings of one cutover reported as one: one header, one timeline in time
//! order with the stretches none watched in place, the summaries and the verdict over
//! all; two screens that recorded at once hold each shared act once and leave no gap; the
//! order the files are named in changes nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The drill recording, moved `secs` later, as session `id`, recorded by `user`.
fn session(dir: &Path, name: &str, id: &str, secs: i64, user: &str) -> PathBuf {
    let drill = std::fs::read_to_string("tests/fixtures/recordings/drill.jsonl").unwrap();
    let re = regex::Regex::new(r"2026-11-25T\d\d:\d\d:\d\d\.\d\d\dZ").unwrap();
    let moved = re.replace_all(&drill, |c: &regex::Captures| {
        let t =
            chrono::DateTime::parse_from_rfc3339(&c[0]).unwrap() + chrono::Duration::seconds(secs);
        t.with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    });
    let mut lines: Vec<String> = moved.lines().map(str::to_string).collect();
    lines[0] = lines[0]
        .replacen(
            "\"host\":\"bastion-1\"",
            &format!("\"host\":\"bastion-1\",\"session\":\"{id}\""),
            1,
        )
        .replacen("\"user\":\"ana\"", &format!("\"user\":\"{user}\""), 1);
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn report(files: &[&Path], json: bool) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
    cmd.arg("report");
    if json {
        cmd.args(["--format", "json"]);
    }
    let out = cmd.args(files).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn timeline(md: &str) -> Vec<&str> {
    md.lines()
        .skip_while(|l| *l != "## Timeline")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("- "))
        .collect()
}

#[test]
fn three_recordings_with_a_gap_make_one_timeline_with_the_gap_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let a = session(dir.path(), "a.jsonl", "aaaa1111session", 0, "ana");
    let b = session(dir.path(), "b.jsonl", "bbbb2222session", 30, "ana");
    let c = session(dir.path(), "c.jsonl", "cccc3333session", 7200, "ana");
    let md = report(&[&a, &b, &c], false);
    assert_eq!(md.matches("# Cutover evidence:").count(), 1, "{md}");
    assert_eq!(md.matches("## Timeline").count(), 1, "{md}");
    assert!(md.contains("| sessions | aaaa1111 ana@bastion-1"), "{md}");
    let tl = timeline(&md);
    let pos = |what: &str| {
        tl.iter()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} in the timeline:\n{md}"))
    };
    // 30 s between the first two is no gap; the two hours before the third are.
    let gaps: Vec<&&str> = tl.iter().filter(|l| l.contains("not watched")).collect();
    assert_eq!(gaps.len(), 1, "{md}");
    let gap = pos("not watched 2026-11-25 21:00–23:00 UTC");
    assert!(pos("session bbbb2222 ended") < gap, "{md}");
    assert!(gap < pos("session cccc3333 started"), "{md}");
    // Every line in time order.
    let times: Vec<&str> = tl
        .iter()
        .map(|l| l.trim_start_matches("- ").split(' ').next().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "{md}");
    // Each session's own acts are there (three rollbacks, no session tag needed).
    assert_eq!(
        tl.iter()
            .filter(|l| l.contains("confirmed \"Disable Brokers v1 modules (rollback)\""))
            .count(),
        3,
        "{md}"
    );
    assert!(!tl.iter().any(|l| l.contains("[aaaa1111]")), "{md}");
    // The summaries are over every session: the verdict names the gap.
    assert!(md.contains("not watched for 1h59m in 1 gap"), "{md}");
    assert_eq!(md.matches("## Signals").count(), 1);

    // `--into`: the merged block in the team's file; a second run changes nothing.
    let into = dir.path().join("checklist.md");
    std::fs::write(&into, "# Checklist\n\nOur own words.\n").unwrap();
    let run_into = |files: &[&Path]| {
        let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
            .arg("report")
            .args(files)
            .arg("--into")
            .arg(&into)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        std::fs::read_to_string(&into).unwrap()
    };
    let once = run_into(&[&a, &b, &c]);
    assert!(
        once.starts_with("# Checklist\n\nOur own words.\n"),
        "{once}"
    );
    assert!(once.contains(&md), "the block is the merged report");
    assert_eq!(run_into(&[&c, &b, &a]), once);

    // JSON: the same merged structure.
    let js: serde_json::Value = serde_json::from_str(&report(&[&a, &b, &c], true)).unwrap();
    assert_eq!(js["sessions"].as_array().unwrap().len(), 3);
    assert_eq!(js["not_watched"].as_array().unwrap().len(), 1);
    assert!(js["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["text"].as_str().unwrap().starts_with("not watched")));
}

#[test]
fn two_screens_recording_at_once_hold_each_shared_act_once_and_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    // The same cutover seen by two screens at once: every audit record is in both.
    let a = session(dir.path(), "a.jsonl", "aaaa1111session", 0, "ana");
    let b = session(dir.path(), "b.jsonl", "bbbb2222session", 0, "bea");
    // The second screen read each record from the log's tail a moment after it was written.
    let text = std::fs::read_to_string(&b).unwrap();
    let re = regex::Regex::new(r#"^\{"at":"([^"]+)"(.*"type":"audit".*)$"#).unwrap();
    let later: Vec<String> = text
        .lines()
        .map(|l| match re.captures(l) {
            Some(c) => {
                let t = chrono::DateTime::parse_from_rfc3339(&c[1]).unwrap()
                    + chrono::Duration::milliseconds(1300);
                format!(
                    "{{\"at\":\"{}\"{}",
                    t.with_timezone(&chrono::Utc)
                        .format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                    &c[2]
                )
            }
            None => l.to_string(),
        })
        .collect();
    assert_ne!(later.join("\n") + "\n", text, "the audit lines moved");
    std::fs::write(&b, later.join("\n") + "\n").unwrap();
    let md = report(&[&a, &b], false);
    let tl = timeline(&md);
    assert!(!md.contains("not watched"), "{md}");
    assert_eq!(
        tl.iter()
            .filter(|l| l.contains("confirmed \"Disable Brokers v1 modules (rollback)\""))
            .count(),
        1,
        "{md}"
    );
    assert_eq!(
        tl.iter().filter(|l| l.contains("VERIFIED")).count(),
        1,
        "{md}"
    );
    let one = report(&[&a], false);
    // Seen by both: no tag needed. One action in the summary; breaches not doubled.
    assert!(!tl.iter().any(|l| l.contains("[aaaa1111")), "{md}");
    let actions = md
        .lines()
        .filter(|l| l.starts_with("- **Disable Brokers v1 modules (rollback)**"))
        .count();
    assert_eq!(actions, 1, "{md}");
    assert_eq!(
        md.lines()
            .skip_while(|l| *l != "## Breaches")
            .take_while(|l| !l.starts_with("## No") && !l.starts_with("## Actions"))
            .filter(|l| l.starts_with("| ") && !l.starts_with("| signal"))
            .count(),
        one.lines()
            .skip_while(|l| *l != "## Breaches")
            .take_while(|l| !l.starts_with("## No") && !l.starts_with("## Actions"))
            .filter(|l| l.starts_with("| ") && !l.starts_with("| signal"))
            .count(),
        "{md}"
    );
    assert!(
        md.contains("| people | ana@bastion-1, bea@bastion-1 |"),
        "{md}"
    );
}

#[test]
fn the_order_the_files_are_named_in_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = session(dir.path(), "a.jsonl", "aaaa1111session", 0, "ana");
    let b = session(dir.path(), "b.jsonl", "bbbb2222session", 5, "bea");
    let c = session(dir.path(), "c.jsonl", "cccc3333session", 7200, "ana");
    let first = report(&[&a, &b, &c], false);
    assert_eq!(report(&[&c, &a, &b], false), first);
    assert_eq!(report(&[&b, &c, &a], false), first);
    assert_eq!(report(&[&c, &b, &a], true), report(&[&a, &b, &c], true));
    // `--session` still selects one, which reads as that session's own report.
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["report", "--session", "bbbb2222session"])
        .args([&a, &b, &c])
        .output()
        .unwrap();
    let one = String::from_utf8_lossy(&out.stdout);
    assert!(one.contains("| session | bbbb2222session |"), "{one}");
    assert!(!one.contains("not watched"), "{one}");
}
