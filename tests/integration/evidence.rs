//! Evidence: a recording of a real drill against the simulator, its report (pinned by a
//! golden file with the times fixed), a log cut mid-line, and replay matching live.

use crate::common::*;
use std::sync::Arc;
use std::time::Duration;
use warroom::app::{Msg, RunState, Verdict};
use warroom::config::Dur;
use warroom::record;
use warroom::replay::Replayer;
use warroom::report;
use warroom::session::Input;
use warroom::sim::Scenario;

const FIXTURE: &str = "tests/fixtures/recordings/drill.jsonl";
const GOLDEN: &str = "tests/fixtures/recordings/drill.md";

/// The demo config, quick: 1 s polls, advice after 2 s, clears after 2 s.
fn quick_config(sim: &warroom::sim::SimHandle) -> Arc<warroom::config::Config> {
    let mut cfg = (*demo_config(sim)).clone();
    for s in &mut cfg.sources {
        s.interval = Dur(Duration::from_secs(1));
    }
    for sig in &mut cfg.signals {
        if sig.clear_for.is_some() {
            sig.clear_for = Some(Dur(Duration::from_secs(2)));
        }
    }
    if let Some(r) = cfg.cutover.rollback_when.as_mut() {
        r.critical_for = Dur(Duration::from_secs(2));
    }
    Arc::new(cfg)
}

/// Shift every timestamp so the drill starts at a fixed instant, and fix who and where:
/// the fixture then reads the same on every machine.
fn normalise(text: &str) -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-25T21:00:00Z")
        .expect("base")
        .with_timezone(&chrono::Utc);
    let mut start = None;
    let mut out = String::new();
    fn walk(v: &mut serde_json::Value, shift: chrono::Duration) {
        match v {
            serde_json::Value::String(s) => {
                if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                    let t = t.with_timezone(&chrono::Utc) + shift;
                    *s = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(x, shift)),
            serde_json::Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    match k.as_str() {
                        "host" => *x = serde_json::Value::String("bastion-1".into()),
                        "user" => *x = serde_json::Value::String("ana".into()),
                        "url" => *x = serde_json::Value::String("http://sim.invalid".into()),
                        _ => walk(x, shift),
                    }
                }
            }
            _ => {}
        }
    }
    for line in text.lines() {
        let Ok(mut v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if start.is_none() {
            let at = v["at"]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
            start = at.map(|a| base - a.with_timezone(&chrono::Utc));
        }
        walk(&mut v, start.unwrap_or_default());
        out.push_str(&v.to_string());
        out.push('\n');
    }
    // Target URLs inside texts (the modal's lines) carry the ephemeral port.
    let re_port = |s: &str| {
        let mut o = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("http://127.0.0.1:") {
            o.push_str(&rest[..i]);
            o.push_str("http://sim.invalid");
            rest = &rest[i + "http://127.0.0.1:".len()..];
            rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        }
        o.push_str(rest);
        o
    };
    re_port(&out)
}

#[tokio::test]
async fn a_real_drill_records_and_reports_the_rollback() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let rec_path = dir.path().join("session.jsonl");
    let (mut s, mut rx) = session_recording(
        quick_config(&sim),
        &dir.path().join("audit.jsonl"),
        false,
        Some(&rec_path),
    )
    .await;
    drive_until(&mut s, &mut rx, Duration::from_secs(3), |_| false).await;
    sim.set_scenario(Scenario::ErrorBurst);
    let advised = drive_until(&mut s, &mut rx, Duration::from_secs(10), |st| {
        st.engine().advised.is_some()
    })
    .await;
    assert!(advised, "no rollback advice");
    keys(&mut s, "Rrollback\n");
    let verified = drive_until(&mut s, &mut rx, Duration::from_secs(20), |st| {
        matches!(st.action_runs()[0].state, RunState::Done)
            && matches!(
                st.action_runs()[0]
                    .verify
                    .as_ref()
                    .and_then(|v| v.verdict.clone()),
                Some(Verdict::Verified { .. })
            )
            && st.engine().advised.is_none()
    })
    .await;
    assert!(
        verified,
        "not verified and recovered: {:?}",
        s.state.action_runs()[0]
    );
    s.shutdown_because("test over");

    let text = std::fs::read_to_string(&rec_path).expect("recording");
    assert!(!text.contains(TOKEN), "the token reached the recording");
    assert!(text.lines().all(|l| l.contains("\"v\":1")));
    for kind in [
        "\"type\":\"header\"",
        "\"type\":\"poll\"",
        "\"type\":\"clock\"",
        "\"type\":\"event\"",
        "\"kind\":\"action_confirmed\"",
        "\"kind\":\"verify_result\"",
        "\"type\":\"end\"",
    ] {
        assert!(text.contains(kind), "{kind} missing");
    }
    let rep = report::build(record::parse(&text).expect("parses")).expect("report");
    assert!(rep.verdict.starts_with("ROLLED BACK"), "{}", rep.verdict);
    assert!(rep.complete);
    assert!(
        rep.breaches.iter().any(|b| b.critical && b.end.is_some()),
        "{:?}",
        rep.breaches
    );
    assert_eq!(rep.actions.len(), 1);
    assert!(rep.actions[0]
        .verification
        .as_deref()
        .unwrap_or("")
        .starts_with("VERIFIED"));
    if std::env::var_os("WARROOM_WRITE_DRILL_FIXTURE").is_some() {
        std::fs::write(FIXTURE, normalise(&text)).expect("write fixture");
    }
    sim.shutdown().await;
}

#[test]
fn the_drill_report_is_pinned() {
    let text = std::fs::read_to_string(FIXTURE).expect("fixture");
    let rep = report::build(record::parse(&text).expect("parses")).expect("report");
    let md = report::markdown(&rep);
    // Deterministic: the same log gives the same bytes.
    let again =
        report::markdown(&report::build(record::parse(&text).expect("parses")).expect("report"));
    assert_eq!(md, again);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &md).expect("write golden");
    }
    let golden = std::fs::read_to_string(GOLDEN).expect("golden");
    assert_eq!(md, golden, "report changed; UPDATE_GOLDEN=1 to accept");
    assert!(md.contains("**Verdict: ROLLED BACK"));
    assert!(md.contains("## Breaches"));
}

#[test]
fn a_log_cut_mid_line_is_reported_not_fatal() {
    let text = std::fs::read_to_string(FIXTURE).expect("fixture");
    let cut = &text[..text.len() - 40];
    let rec = record::parse(cut).expect("still a recording");
    assert!(rec.truncated_tail);
    let rep = report::build(rec).expect("report");
    assert!(!rep.complete);
    assert!(
        rep.problems.iter().any(|p| p.contains("cut mid-line")),
        "{:?}",
        rep.problems
    );
    assert!(report::markdown(&rep).contains("cut short"));
}

#[tokio::test]
async fn replay_shows_what_the_live_screen_showed_at_that_instant() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let rec_path = dir.path().join("live.jsonl");
    let (mut s, mut rx) = session_recording(
        quick_config(&sim),
        &dir.path().join("audit.jsonl"),
        true,
        Some(&rec_path),
    )
    .await;
    // A fixed clock: polls are stamped half a second into each fake second, ticks on it.
    let base = s.state.stamp();
    let mut snapshot = None;
    for k in 0..10i64 {
        let until = tokio::time::Instant::now() + Duration::from_millis(1100);
        while let Ok(Some(m)) = tokio::time::timeout_at(until, rx.recv()).await {
            match m {
                Input::Poll(mut p) => {
                    let d = chrono::Duration::milliseconds(k * 1000 + 500);
                    p.at = base.at + d;
                    p.mono = base.mono + d;
                    s.poll(p);
                }
                other => s.receive(other),
            }
        }
        let d = chrono::Duration::seconds(k + 1);
        let now = warroom::sample::Stamp::new(base.at + d, base.mono + d);
        s.handle(Msg::Tick(now));
        if k == 3 {
            sim.set_scenario(Scenario::ErrorBurst);
        }
        if k == 7 {
            snapshot = Some((now, render_text(&s.state, 100, 30)));
        }
    }
    s.shutdown_because("test over");
    let (at, live) = snapshot.expect("snapshot");
    assert!(
        live.contains("CRIT"),
        "the instant should show the breach:\n{live}"
    );
    let mut rp = Replayer::new(record::read(&rec_path).expect("recording")).expect("replayer");
    rp.seek(at.mono);
    let replayed = render_text(&rp.state, 100, 30);
    assert_eq!(replayed, live, "replay differs from live at {}", at.at);
    sim.shutdown().await;
}
