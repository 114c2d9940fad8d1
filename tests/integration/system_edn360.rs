//! The EDN360 system end to end: the simulator's edn360 profile watched through the
//! `edn360` preset; the runbook's decision table as bands, and the Fase 3 rollback as the
//! runbook's commands (the .env switch, the restart), drilled through the stand-ins; the
//! switches read from the .env, the counts from MongoDB.

use crate::common;

use crate::common::{audit_path, drive_until, keys, polled_twice, render_text, row, session};
use std::sync::Arc;
use std::time::Duration;
use warroom::app::{RunState, Verdict};
use warroom::config::{Config, Dur, RollbackWhen};
use warroom::engine::{Band, Row, Status};
use warroom::sample::Value;
use warroom::sim::standin::Standins;
use warroom::sim::{Profile, Scenario, SimHandle};

async fn start(scenario: Scenario) -> SimHandle {
    common::start_profile(Profile::Edn360, scenario).await
}

/// The preset with the simulator's variables (its `.env`, its MongoDB) and the stand-ins for
/// `mongosh`, `sudo` and `supervisorctl` on its commands' PATH. Keep the stand-ins alive as
/// long as the session.
fn preset(sim: &SimHandle) -> (Config, Standins) {
    let mut cfg = common::load_preset("edn360", sim);
    let standins = common::standins(sim);
    common::with_standins(&mut cfg, &standins);
    (cfg, standins)
}

fn env_file(sim: &SimHandle) -> String {
    std::fs::read_to_string(sim.env_file().expect("edn360 has a .env")).expect("readable")
}

fn brisk(mut cfg: Config) -> Arc<Config> {
    for s in &mut cfg.sources {
        s.interval = Dur(Duration::from_millis(300));
    }
    cfg.cutover.rollback_when = Some(RollbackWhen {
        critical_for: Dur(Duration::from_secs(1)),
        min_signals: 1,
    });
    Arc::new(cfg)
}
fn num(r: &Row) -> f64 {
    match r.value {
        Some(Value::Num(x)) => x,
        ref v => panic!("{} is not a number: {v:?}", r.key),
    }
}
#[test]
fn the_preset_follows_the_runbook() {
    let text = warroom::presets::get("edn360").expect("preset");
    let env = |k: &str| (k == "ADMIN_TOKEN").then(|| "t".to_string());
    let cfg = warroom::config::load::load_str_with_env(text, "<edn360>", &env).expect("loads");
    let urls: Vec<&str> = cfg.sources.iter().map(|s| s.url.as_str()).collect();
    // The runbook's own curls: http://localhost:8001/api/admin/monitoring/…
    for url in [
        "http://localhost:8001/api/admin/monitoring/dual-write-stats",
        "http://localhost:8001/api/admin/monitoring/switch-status",
    ] {
        assert!(urls.contains(&url), "{url} not in {urls:?}");
    }
    // Phases over days, GO/NO-GO gates (the runbook's five supervision points).
    let gates = cfg.steps.iter().filter(|s| s.gate).count();
    assert_eq!(gates, 5);
    let span_h = (cfg.steps.last().unwrap().at.0 - cfg.steps[0].at.0) / 3_600_000;
    assert!(span_h > 24 * 7, "{span_h} h");
    assert!(cfg.steps.iter().any(|s| s.at.0 == 48 * 3_600_000));
    // The decision table's thresholds, in percent of the fractions the endpoints return.
    for id in ["match_rate", "success_rate"] {
        let s = cfg.signals.iter().find(|s| s.id == id).unwrap();
        assert_eq!(s.scale, Some(100.0));
        assert_eq!(s.warn.as_ref().unwrap().to_string(), "< 95");
        assert_eq!(s.crit.as_ref().unwrap().to_string(), "< 90");
        assert!(s.critical);
        assert!(s.advice.ok.is_some() && s.advice.warn.is_some() && s.advice.crit.is_some());
    }
    // The rollback is a command, never a shell line.
    let rb = cfg
        .actions
        .iter()
        .find(|a| a.danger)
        .expect("a danger action");
    let argv = &rb.command.as_ref().expect("a command").argv;
    assert!(argv
        .iter()
        .any(|a| a.contains("USE_CLIENT_DRAWER_READ=false")));
    assert!(!argv.iter().any(|a| a == "sh" || a == "bash" || a == "-c"));
}

#[tokio::test]
async fn healthy_flags_and_rates_read_correctly() {
    let sim = start(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (cfg, _standins) = preset(&sim);
    let (mut s, mut rx) = session(brisk(cfg), &audit_path(&dir), true).await;
    assert!(drive_until(&mut s, &mut rx, Duration::from_secs(5), polled_twice).await);
    let st = &s.state;
    assert_eq!(
        row(st, "use_client_drawer_read").value,
        Some(Value::Bool(true))
    );
    assert_eq!(
        row(st, "use_client_drawer_write").value,
        Some(Value::Bool(true))
    );
    // The same switches as the backend's .env sets them.
    for id in ["env_client_drawer_read", "env_client_drawer_write"] {
        assert_eq!(row(st, id).value, Some(Value::Bool(true)), "{id}");
    }
    // Fractions on the wire, percent on the screen (healthy: 98.2-99.8 %).
    for id in ["match_rate", "success_rate"] {
        let v = num(row(st, id));
        assert!((98.0..=100.0).contains(&v), "{id} = {v}");
        assert_eq!(row(st, id).unit.as_deref(), Some("%"));
    }
    assert_eq!(num(row(st, "duplicates")), 0.0);
    assert_eq!(num(row(st, "plans_without_snapshot_id")), 0.0);
    assert!(num(row(st, "to_be_jobs")) > 0.0);
    for r in &st.engine().rows {
        assert_eq!(r.status, Status::Band(Band::Ok), "{} {:?}", r.key, r.value);
    }
    assert!(row(st, "match_rate")
        .advice
        .as_deref()
        .is_some_and(|a| a.contains("OK")));
    assert!(st.engine().advised.is_none());
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn the_decision_table_advises_and_the_command_rollback_verifies() {
    let sim = start(Scenario::ErrorBurst).await;
    let dir = tempfile::tempdir().expect("tmp");

    // The preset as shipped: the modal shows the runbook's commands. Esc: nothing runs.
    let (cfg, _standins) = preset(&sim);
    let (mut s, mut rx) = session(brisk(cfg), &audit_path(&dir), false).await;
    let advised = drive_until(&mut s, &mut rx, Duration::from_secs(10), |st| {
        st.engine().advised.is_some()
    })
    .await;
    assert!(advised, "no ROLLBACK ADVISED");
    let st = &s.state;
    // error-burst: match 80-88 %, success 75-88 %, duplicates and plans without snapshot
    // (these two counted in MongoDB through mongosh).
    for id in [
        "match_rate",
        "success_rate",
        "duplicates",
        "plans_without_snapshot_id",
    ] {
        assert_eq!(row(st, id).band, Band::Crit, "{id} {:?}", row(st, id).value);
    }
    assert!(row(st, "success_rate")
        .advice
        .as_deref()
        .is_some_and(|a| a.contains("ROLLBACK FASE 3")));
    assert!(row(st, "duplicates")
        .advice
        .as_deref()
        .is_some_and(|a| a.contains("PAUSA")));
    // A pause is not a rollback: only the two rates advise it.
    let reasons = st.engine().advised.as_ref().unwrap().reasons.join("; ");
    assert!(!reasons.contains("duplicados"), "{reasons}");
    let screen = render_text(st, 160, 50);
    assert!(screen.contains("ROLLBACK ADVISED"), "{screen}");

    keys(&mut s, "R");
    let screen = render_text(&s.state, 160, 50);
    assert!(
        screen.contains(r#"argv: ["sed", "-i", "$a USE_CLIENT_DRAWER_READ=false", ".env"]"#),
        "{screen}"
    );
    // Where the edit goes is shown: the simulated backend's directory, as the cwd.
    let dir = sim.env_file().expect(".env");
    let dir = dir.parent().expect("a directory").display().to_string();
    assert!(screen.contains(&format!("cwd: {dir}")), "{screen}");
    keys(&mut s, "\x1b");
    keys(&mut s, "B");
    let screen = render_text(&s.state, 160, 50);
    assert!(
        screen.contains(r#"argv: ["sudo", "-n", "supervisorctl", "restart", "backend"]"#),
        "{screen}"
    );
    keys(&mut s, "\x1b");
    assert!(s.state.modal().is_none());
    assert_eq!(sim.flag("USE_CLIENT_DRAWER_READ"), Some(true));

    // The drill: the runbook's two commands through the stand-ins. R appends the switch to
    // the simulated backend's .env (verified by the .env reading false); the backend still
    // reads client_drawers until B restarts it.
    keys(&mut s, "Rrollback\n");
    let verified = |st: &warroom::app::State, i: usize| {
        matches!(
            st.action_runs()[i]
                .verify
                .as_ref()
                .and_then(|v| v.verdict.clone()),
            Some(Verdict::Verified { .. })
        )
    };
    let done = drive_until(&mut s, &mut rx, Duration::from_secs(15), |st| {
        verified(st, 0)
    })
    .await;
    assert!(done, "R not verified: {:?}", s.state.action_runs()[0]);
    let text = env_file(&sim);
    assert_eq!(
        text.lines().last(),
        Some("USE_CLIENT_DRAWER_READ=false"),
        "{text}"
    );
    assert_eq!(
        sim.flag("USE_CLIENT_DRAWER_READ"),
        Some(true),
        "not restarted yet"
    );
    assert_eq!(
        row(&s.state, "env_client_drawer_read").value,
        Some(Value::Bool(false))
    );
    assert_eq!(s.state.config().actions[1].id, "restart-backend");
    keys(&mut s, "Brestart\n");
    let done = drive_until(&mut s, &mut rx, Duration::from_secs(20), |st| {
        verified(st, 1)
    })
    .await;
    assert!(done, "B not verified: {:?}", s.state.action_runs()[1]);
    assert!(matches!(s.state.action_runs()[1].state, RunState::Done));
    // The restart reread the .env: the simulator reads AS IS again; no HTTP call did it.
    assert_eq!(sim.flag("USE_CLIENT_DRAWER_READ"), Some(false));
    assert!(
        sim.requests().iter().all(|r| r.method == "GET"),
        "the rollback went through the .env and the restart"
    );
    // Reads back on AS IS: the rates recover within seconds.
    let recovered = drive_until(&mut s, &mut rx, Duration::from_secs(10), |st| {
        st.engine()
            .rows
            .iter()
            .find(|r| r.key == "success_rate")
            .and_then(|r| match r.value {
                Some(Value::Num(x)) => Some(x >= 95.0),
                _ => None,
            })
            .unwrap_or(false)
    })
    .await;
    assert!(recovered);
    let screen = render_text(&s.state, 160, 50);
    assert!(screen.contains("VERIFIED"), "{screen}");
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn the_validation_scripts_are_judged_against_the_decision_table() {
    let (out, caps) =
        crate::common::run_step_script("edn360", "validación post-migración", &[]).await;
    assert!(out.is_success(), "{out:?}");
    let m = crate::common::capture_map(&caps);
    assert_eq!(m["match_rate_pct"], (Some("98.0".into()), true), "{caps:?}");
    assert!(m["validation"].1 && m["drawers_migrated"].1, "{caps:?}");
    // 91.2 %: "revisar casos fallidos" — not the ≥ 95 % Fase 3 needs.
    let (_, caps) = crate::common::run_step_script(
        "edn360",
        "validación post-migración",
        &[("FIXTURE_MATCH_RATE", "91.2")],
    )
    .await;
    let m = crate::common::capture_map(&caps);
    assert_eq!(m["match_rate_pct"], (Some("91.2".into()), false));
    assert!(!m["validation"].1, "no PASSED line: not found");

    let (_, caps) = crate::common::run_step_script(
        "edn360",
        "detección de duplicados",
        &[("FIXTURE_DUPLICATES", "3")],
    )
    .await;
    assert_eq!(
        crate::common::capture_map(&caps)["duplicates"],
        (Some("3".into()), false)
    );
}
