//! The HSE traffic-split system end to end: the `hse` simulator profile and the `hse` preset
//! as `warroom init --preset hse` prints it, pointed at the simulator through its variables,
//! its `aws` calls (SSM for the split, CloudWatch for old vs new) answered by the stand-in.

use crate::common;

use crate::common::{
    all_polled, audit_path, drive_until, keys, num, render_text, row, session, value, TOKEN,
};
use std::sync::Arc;
use std::time::Duration;
use warroom::app::{State, Verdict};
use warroom::config::Config;
use warroom::engine::{Band, Status};
use warroom::sample::Value;
use warroom::sim::standin::Standins;
use warroom::sim::{Profile, Scenario, SimHandle};

const SPLIT_PATH: &str = "/admin/traffic-split";
const PARAMETER: &str = "/hse/traffic-split-percent";

async fn start(scenario: Scenario) -> SimHandle {
    common::start_profile(Profile::Hse, scenario).await
}

/// The preset as shipped, pointed at the simulator, at test speed.
fn preset(sim: &SimHandle) -> (Config, Standins) {
    common::brisk_preset("hse", sim)
}
fn action_index(st: &State, id: &str) -> usize {
    st.config()
        .actions
        .iter()
        .position(|a| a.id == id)
        .unwrap_or_else(|| panic!("no action {id}"))
}

fn verdict(st: &State, i: usize) -> Option<Verdict> {
    st.action_runs()[i]
        .verify
        .as_ref()
        .and_then(|v| v.verdict.clone())
}

/// What the simulator's open `/health` says now.
async fn sim_health(sim: &SimHandle) -> serde_json::Value {
    let text = reqwest::get(format!("{}/health", sim.base_url()))
        .await
        .expect("GET /health")
        .text()
        .await
        .expect("a body");
    serde_json::from_str(&text).expect("JSON")
}

#[tokio::test]
async fn split_and_old_new_side_by_side_read_from_the_preset() {
    let sim = start(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (cfg, _standins) = preset(&sim);
    let (mut s, mut rx) = session(Arc::new(cfg), &audit_path(&dir), false).await;
    assert!(
        drive_until(&mut s, &mut rx, Duration::from_secs(5), all_polled).await,
        "not every row has a value"
    );
    drive_until(&mut s, &mut rx, Duration::from_millis(900), |_| false).await;
    let st = &s.state;

    // Week 5: the split at 10 %.
    assert_eq!(value(st, "split_percent"), Some(Value::Num(10.0)));
    assert_eq!(value(st, "serving"), Some(Value::Str("split".into())));
    assert_eq!(value(st, "readiness"), Some(Value::Num(200.0)));
    assert!((num(st, "split_effective") - 10.0).abs() < 0.5);

    // Old and new side by side, healthy, with the delta; drift within 1 %.
    for key in ["old_err", "new_err"] {
        let v = num(st, key);
        assert!((0.0..0.1).contains(&v), "{key} = {v}");
    }
    for key in ["old_p99", "new_p99"] {
        let v = num(st, key);
        assert!((150.0..500.0).contains(&v), "{key} = {v}");
    }
    let d = num(st, "drift");
    assert!((0.0..1.0).contains(&d), "drift = {d}");
    for (key, base) in [
        ("new_err", "old_err"),
        ("err_gap", "old_err"),
        ("new_p99", "old_p99"),
        ("p99_ratio", "old_p99"),
    ] {
        let b = row(st, key).baseline.as_ref().expect("baseline shown");
        assert_eq!(b.row, base);
        assert!(b.delta.is_some(), "{key}: {b:?}");
    }
    for key in [
        "readiness",
        "split_effective",
        "old_err",
        "new_err",
        "err_gap",
        "old_p99",
        "new_p99",
        "drift",
    ] {
        assert_eq!(row(st, key).status, Status::Band(Band::Ok), "{key}");
    }
    assert_ne!(row(st, "p99_ratio").status, Status::Band(Band::Crit));
    assert!(st.engine().advised.is_none());

    let screen = render_text(st, 140, 50);
    assert!(screen.contains("new error rate"), "{screen}");
    assert!(screen.contains("drift"), "{screen}");
    assert!(!screen.contains("ROLLBACK ADVISED"), "{screen}");
    assert!(!screen.contains(TOKEN));

    let reqs = sim.requests();
    // The split and the old/new numbers come from SSM and CloudWatch, not the app.
    assert!(reqs.iter().all(|r| r.path != SPLIT_PATH), "{reqs:?}");
    let polls: Vec<_> = reqs.iter().filter(|r| r.path == "/admin/metrics").collect();
    assert!(!polls.is_empty(), "/admin/metrics not polled");
    assert!(
        polls.iter().all(|r| r.authorization_valid == Some(true)),
        "/admin/metrics unauthorised"
    );
    for path in ["/health", "/health/readiness"] {
        assert!(reqs.iter().any(|r| r.path == path), "{path} not polled");
    }
    assert!(reqs.iter().all(|r| r.method == "GET"), "only polls so far");
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn error_burst_goes_crit_advises_rollback_and_r_sets_the_split_to_0() {
    let sim = start(Scenario::ErrorBurst).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (cfg, _standins) = preset(&sim);
    let (mut s, mut rx) = session(Arc::new(cfg), &audit_path(&dir), false).await;
    let advised = drive_until(&mut s, &mut rx, Duration::from_secs(8), |st| {
        st.engine().advised.is_some()
    })
    .await;
    assert!(advised, "no rollback advice");
    // Let the warn rows (two of three samples) catch up.
    drive_until(&mut s, &mut rx, Duration::from_secs(3), |st| {
        row(st, "drift").status == Status::Band(Band::Warn)
            && row(st, "err_gap").status == Status::Band(Band::Warn)
    })
    .await;
    let st = &s.state;
    // At a 10 % split the new system fails at 0.8-1.5 %: crit; the runbook's alerts warn.
    assert_eq!(row(st, "new_err").status, Status::Band(Band::Crit));
    assert_eq!(row(st, "new_err").effective, Band::Crit);
    assert_eq!(row(st, "old_err").status, Status::Band(Band::Ok));
    assert_eq!(row(st, "new_p99").status, Status::Band(Band::Ok));
    assert_eq!(row(st, "err_gap").status, Status::Band(Band::Warn));
    assert_eq!(row(st, "drift").status, Status::Band(Band::Warn));
    let screen = render_text(st, 140, 50);
    assert!(screen.contains("ROLLBACK ADVISED"), "{screen}");
    assert!(screen.contains("CRIT"), "{screen}");

    // R opens the rollback (split → 0): the runbook's own argv, nothing run yet.
    keys(&mut s, "R");
    let screen = render_text(&s.state, 140, 50);
    assert!(
        screen.contains(&format!(
            r#"argv: ["aws", "ssm", "put-parameter", "--name", "{PARAMETER}", "--value", "0""#
        )),
        "{screen}"
    );
    assert!(screen.contains("Type  rollback  then Enter"), "{screen}");
    assert!(!screen.contains(TOKEN));
    assert_eq!(sim.parameter(PARAMETER).as_deref(), Some("10"));

    keys(&mut s, "rollback\n");
    let i = action_index(&s.state, "rollback-split-0");
    assert_eq!(i, 0, "the rollback is the first danger action");
    let done = drive_until(&mut s, &mut rx, Duration::from_secs(20), |st| {
        verdict(st, i).is_some()
    })
    .await;
    assert!(done, "no verdict: {:?}", s.state.action_runs()[i]);
    assert!(
        matches!(verdict(&s.state, i), Some(Verdict::Verified { .. })),
        "{:?}",
        s.state.action_runs()[i]
    );
    // The simulator received the put-parameter (through the `aws` stand-in), not an HTTP call.
    assert_eq!(sim.parameter(PARAMETER).as_deref(), Some("0"));
    assert!(
        sim.requests().iter().all(|r| r.method == "GET"),
        "the rollback went through SSM, not the admin endpoint"
    );
    // The simulator routes everything to the old system again.
    let health = sim_health(&sim).await;
    assert_eq!(health["traffic_split_percent"], 0, "{health}");
    assert_eq!(health["serving"], "old", "{health}");
    assert_eq!(value(&s.state, "split_percent"), Some(Value::Num(0.0)));
    let screen = render_text(&s.state, 140, 50);
    assert!(screen.contains("VERIFIED"), "{screen}");
    s.shutdown();
    sim.shutdown().await;
}

/// The split steps are the runbook's `aws ssm put-parameter` too: 1 → 10 % after a rollback,
/// then 5 → 50 %, each verified from the parameter the dashboard reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_split_steps_write_the_ssm_parameter() {
    let sim = start(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (mut cfg, _standins) = preset(&sim);
    // The gates in front of each split (their GO/NO-GO) are tested with the gates; here only
    // what a split step writes.
    for a in &mut cfg.actions {
        a.requires = None;
    }
    let (mut s, mut rx) = session(Arc::new(cfg), &audit_path(&dir), false).await;
    assert!(drive_until(&mut s, &mut rx, Duration::from_secs(10), all_polled).await);
    for (key, id, want) in [("5", "split-50", "50"), ("F", "split-100", "100")] {
        let i = action_index(&s.state, id);
        keys(&mut s, key);
        keys(&mut s, &format!("{id}\n"));
        let done = drive_until(&mut s, &mut rx, Duration::from_secs(20), |st| {
            verdict(st, i).is_some()
        })
        .await;
        assert!(done, "{id}: {:?}", s.state.action_runs()[i]);
        assert!(
            matches!(verdict(&s.state, i), Some(Verdict::Verified { .. })),
            "{id}: {:?}",
            s.state.action_runs()[i]
        );
        assert_eq!(sim.parameter(PARAMETER).as_deref(), Some(want));
    }
    assert!(sim.requests().iter().all(|r| r.method == "GET"));
    s.shutdown();
    sim.shutdown().await;
}
