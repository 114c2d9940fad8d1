//! The Brokers system end to end: the simulator's brokers profile
//! watched through the `brokers` preset as `warroom init --preset brokers` prints it.

use crate::common;

use crate::common::*;
use std::sync::Arc;
use std::time::Duration;
use warroom::app::{RunState, Verdict};
use warroom::config::{Config, Dur, RollbackWhen};
use warroom::engine::{Band, Status};
use warroom::sample::Value;
use warroom::sim::{Scenario, SimHandle};

const CRITICAL: [&str; 4] = [
    "/api/v1/analytics/portfolio/summary",
    "/api/v1/analytics/brokers/summary",
    "/api/v1/brokers/preferences",
    "/api/v1/auth/login",
];

/// The preset with WARROOM_URL pointing at the simulator and ADMIN_TOKEN set.
fn preset(sim: &SimHandle) -> Config {
    common::load_preset("brokers", sim)
}

/// The same, at test speed: polls every 300 ms, the banner after 1 s of crit.
fn brisk(sim: &SimHandle) -> Arc<Config> {
    let mut cfg = preset(sim);
    for s in &mut cfg.sources {
        s.interval = Dur(Duration::from_millis(300));
    }
    cfg.cutover.rollback_when = Some(RollbackWhen {
        critical_for: Dur(Duration::from_secs(1)),
        min_signals: 1,
    });
    Arc::new(cfg)
}
fn polled_twice(st: &warroom::app::State) -> bool {
    st.engine().sources.iter().all(|s| s.polls >= 2)
}

#[test]
fn the_preset_follows_the_runbook() {
    let text = warroom::presets::get("brokers").expect("preset");
    let env = |k: &str| (k == "ADMIN_TOKEN").then(|| "t".to_string());
    let cfg = warroom::config::load::load_str_with_env(text, "<brokers>", &env).expect("loads");
    // The seed's own default base URL and the runbook's paths.
    let urls: Vec<&str> = cfg.sources.iter().map(|s| s.url.as_str()).collect();
    for url in [
        "http://localhost:5000/api/v1/health",
        "http://localhost:5000/api/check-files",
        "http://localhost:5000/analytics/ops/metrics",
        "http://localhost:5000/api/v1/admin/flags",
    ] {
        assert!(urls.contains(&url), "{url} not in {urls:?}");
    }
    // The minute-by-minute plan, with the runbook's scripts as step commands.
    let at: Vec<i64> = cfg.steps.iter().map(|s| s.at.0 / 60_000).collect();
    for m in [-15, -5, 0, 2, 30, 60] {
        assert!(at.contains(&m), "no step at {m} min: {at:?}");
    }
    let runs: Vec<String> = cfg
        .steps
        .iter()
        .filter_map(|s| s.run.as_ref())
        .map(|r| r.argv.join(" "))
        .collect();
    for script in [
        "python scripts/migrate_legacy_config_to_db.py",
        "python scripts/verify_legacy_config_migration.py",
        "python scripts/cutover_window_monitor.py",
        "python scripts/parity_check_analytics_v1.py",
        "python scripts/perf_smoke_api_v1.py",
    ] {
        assert!(runs.iter().any(|r| r == script), "{script} not in {runs:?}");
    }
    let t15 = cfg.steps.iter().find(|s| s.at.0 == -15 * 60_000).unwrap();
    assert!(t15
        .checklist
        .contains(&"Confirmar snapshot DB y backup de configuracion".to_string()));
    // The rollback is the first danger action (R).
    let rb = cfg
        .actions
        .iter()
        .find(|a| a.danger)
        .expect("a danger action");
    let req = rb.request.as_ref().expect("an HTTP rollback");
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.url,
        "http://localhost:5000/api/v1/admin/flags/brokers_v1_modules"
    );
    assert_eq!(req.body.as_deref(), Some(r#"{"enabled": false}"#));
    assert_eq!(cfg.cutover.rollback_key, "R");
}

#[tokio::test]
async fn healthy_flags_and_signals_read_correctly() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (mut s, mut rx) = session(brisk(&sim), &audit_path(&dir), true).await;
    assert!(drive_until(&mut s, &mut rx, Duration::from_secs(5), polled_twice).await);
    let st = &s.state;
    assert_eq!(row(st, "brokers_v1_modules").value, Some(Value::Bool(true)));
    assert_eq!(row(st, "legacy_fallback").value, Some(Value::Bool(false)));
    assert_eq!(row(st, "api_health").value, Some(Value::Num(200.0)));
    assert_eq!(row(st, "files_ok").value, Some(Value::Bool(true)));
    // One row per endpoint of the metrics, the critical ones marked.
    let errs: Vec<_> = st
        .engine()
        .rows
        .iter()
        .filter(|r| r.key.starts_with("endpoint_errors["))
        .collect();
    assert_eq!(errs.len(), 8, "{errs:?}");
    for r in &errs {
        let path = r
            .key
            .trim_start_matches("endpoint_errors[")
            .trim_end_matches(']');
        assert_eq!(r.critical, CRITICAL.contains(&path), "{}", r.key);
        assert_eq!(r.unit.as_deref(), Some("%"));
    }
    for r in &st.engine().rows {
        assert_eq!(r.status, Status::Band(Band::Ok), "{} {:?}", r.key, r.value);
    }
    assert!(st.engine().advised.is_none());
    let screen = render_text(st, 140, 45);
    assert!(screen.contains("Brokers v1 modules"), "{screen}");
    assert!(!screen.contains(TOKEN));
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn a_breach_on_critical_endpoints_advises_and_the_rollback_verifies() {
    let sim = start_sim(Scenario::ErrorBurst).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (mut s, mut rx) = session(brisk(&sim), &audit_path(&dir), false).await;
    let advised = drive_until(&mut s, &mut rx, Duration::from_secs(8), |st| {
        st.engine().advised.is_some()
    })
    .await;
    assert!(advised, "no ROLLBACK ADVISED");
    // Critical endpoints (5-12 % errors) are crit; the others (< 2 %) are not.
    for r in s
        .state
        .engine()
        .rows
        .iter()
        .filter(|r| r.key.starts_with("endpoint_errors["))
    {
        if r.critical {
            assert_eq!(r.band, Band::Crit, "{} {:?}", r.key, r.value);
            assert!(r.advice.as_deref().unwrap_or("").contains("rollback"));
        } else {
            assert_ne!(r.band, Band::Crit, "{} {:?}", r.key, r.value);
        }
    }
    let screen = render_text(&s.state, 140, 45);
    assert!(screen.contains("ROLLBACK ADVISED"), "{screen}");

    // R opens the rollback: exactly the runbook's flag switch-off, token masked.
    keys(&mut s, "R");
    let screen = render_text(&s.state, 140, 45);
    assert!(
        screen.contains(&format!(
            "POST {}/api/v1/admin/flags/brokers_v1_modules",
            sim.base_url()
        )),
        "{screen}"
    );
    assert!(screen.contains(r#"body: {"enabled": false}"#), "{screen}");
    assert!(screen.contains("Authorization: Bearer ***"), "{screen}");
    assert!(!screen.contains(TOKEN));
    assert_eq!(rollback_posts(&sim), 0, "nothing before the phrase");

    keys(&mut s, "rollback\n");
    let done = drive_until(&mut s, &mut rx, Duration::from_secs(12), |st| {
        st.action_runs()[0]
            .verify
            .as_ref()
            .is_some_and(|v| v.verdict.is_some())
    })
    .await;
    assert!(done, "no verdict: {:?}", s.state.action_runs()[0]);
    assert!(matches!(s.state.action_runs()[0].state, RunState::Done));
    assert!(
        matches!(
            s.state.action_runs()[0]
                .verify
                .as_ref()
                .and_then(|v| v.verdict.clone()),
            Some(Verdict::Verified { .. })
        ),
        "{:?}",
        s.state.action_runs()[0].verify
    );
    let posts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].path, "/api/v1/admin/flags/brokers_v1_modules");
    assert_eq!(posts[0].authorization_valid, Some(true));
    let body: serde_json::Value = serde_json::from_str(&posts[0].body).expect("JSON body");
    assert_eq!(body, serde_json::json!({"enabled": false}));
    assert_eq!(sim.flag("brokers_v1_modules"), Some(false));
    let screen = render_text(&s.state, 140, 45);
    assert!(screen.contains("VERIFIED"), "{screen}");
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn the_parity_check_and_perf_smoke_are_judged_on_every_endpoint() {
    let (out, caps) = crate::common::run_step_script("brokers", "T+30 · paridad", &[]).await;
    assert!(out.is_success(), "{out:?}");
    let m = crate::common::capture_map(&caps);
    assert_eq!(m["parity_mismatches"], (Some("0".into()), true), "{caps:?}");
    assert!(m["parity_endpoint"].1, "{caps:?}");
    // One endpoint off: exit 0, the parity evidence fails.
    let (_, caps) = crate::common::run_step_script(
        "brokers",
        "T+30 · paridad",
        &[
            ("FIXTURE_PARITY_PORTFOLIO", "MISMATCH"),
            ("FIXTURE_MISMATCHES", "1"),
        ],
    )
    .await;
    let m = crate::common::capture_map(&caps);
    assert_eq!(m["parity_endpoint"], (Some("MISMATCH".into()), false));
    assert_eq!(m["parity_mismatches"], (Some("1".into()), false));

    let (_, caps) = crate::common::run_step_script("brokers", "T+30 · perf smoke", &[]).await;
    let m = crate::common::capture_map(&caps);
    assert_eq!(m["p95_ms"], (Some("905".into()), true), "{caps:?}");
    assert!(m["error_rate_pct"].1, "{caps:?}");
    // Every endpoint must hold: one p95 over 1200 ms fails it, and that one is shown.
    let (_, caps) = crate::common::run_step_script(
        "brokers",
        "T+60 · perf",
        &[("FIXTURE_P95_PORTFOLIO", "1350")],
    )
    .await;
    let p95 = caps.iter().find(|c| c.name == "p95_ms").unwrap();
    assert_eq!(p95.value.as_deref(), Some("1350"));
    assert_eq!(p95.text(), "p95_ms 1350 ms (<= 1200; 1 of 3 matches fail)");
}
