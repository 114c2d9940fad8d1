//! The CohortLens system end to end (seeds 000, 001): the `cohortlens` simulator profile
//! and the `cohortlens` preset as `warroom init --preset cohortlens` prints it, pointed at
//! the simulator through its variables: Datadog's query API on its address, `docker logs`
//! through the stand-in.

use crate::common;

use crate::common::{
    all_polled, audit_path, drive_until, keys, num, render_text, row, session, value, TOKEN,
};
use std::sync::Arc;
use std::time::Duration;
use warroom::app::Verdict;
use warroom::config::Config;
use warroom::engine::{Band, Status};
use warroom::sample::Value;
use warroom::sim::standin::Standins;
use warroom::sim::{Profile, Scenario, SimHandle};

const ROLLBACK_PATH: &str = "/api/v2/admin/rollback-to-v1";

async fn start(scenario: Scenario) -> SimHandle {
    common::start_profile(Profile::Cohortlens, scenario).await
}

/// The preset as shipped, pointed at the simulator, at test speed.
fn preset(sim: &SimHandle) -> (Config, Standins) {
    common::brisk_preset("cohortlens", sim)
}
#[tokio::test]
async fn flags_phase_and_side_by_side_metrics_read_from_the_preset() {
    let sim = start(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (cfg, _standins) = preset(&sim);
    let (mut s, mut rx) = session(Arc::new(cfg), &audit_path(&dir), false).await;
    assert!(
        drive_until(&mut s, &mut rx, Duration::from_secs(5), all_polled).await,
        "not every row has a value"
    );
    // Let the baselines settle (two polls of the metrics).
    drive_until(&mut s, &mut rx, Duration::from_millis(900), |_| false).await;
    let st = &s.state;

    // The simulator starts in the cutover: v2 primary, logging on.
    assert_eq!(value(st, "v2_enabled"), Some(Value::Bool(true)));
    assert_eq!(value(st, "v2_primary"), Some(Value::Bool(true)));
    assert_eq!(value(st, "shadow_mode"), Some(Value::Bool(false)));
    assert_eq!(value(st, "v1_deprecated"), Some(Value::Bool(false)));
    assert_eq!(value(st, "migration_logging"), Some(Value::Bool(true)));
    assert_eq!(
        value(st, "migration_phase"),
        Some(Value::Str("cutover".into()))
    );
    assert_eq!(value(st, "primary"), Some(Value::Str("v2".into())));
    assert_eq!(st.derived_phase(), Some("cutover"));
    assert_eq!(value(st, "v2_health"), Some(Value::Num(200.0)));

    // v1 and v2 side by side, healthy (0.01-0.08 %, 150-450 ms), with the delta to v1.
    for key in ["v1_err", "v2_err"] {
        let v = num(st, key);
        assert!((0.0..0.1).contains(&v), "{key} = {v}");
    }
    for key in ["v1_p95", "v2_p95"] {
        let v = num(st, key);
        assert!((100.0..500.0).contains(&v), "{key} = {v}");
    }
    for (key, base) in [("v2_err", "v1_err"), ("v2_p95", "v1_p95")] {
        let b = row(st, key).baseline.as_ref().expect("baseline shown");
        assert_eq!(b.row, base);
        assert!(b.value.is_some() && b.delta.is_some(), "{key}: {b:?}");
    }
    for r in &st.engine().rows {
        assert_eq!(
            r.status,
            Status::Band(Band::Ok),
            "{} is {:?}",
            r.key,
            r.status
        );
    }
    assert_eq!(row(st, "v2_err").threshold, "warn > 0.1 · crit > 1");
    assert!(st.engine().advised.is_none());

    let screen = render_text(st, 140, 50);
    assert!(screen.contains("phase: cutover"), "{screen}");
    assert!(screen.contains("v2 error rate"), "{screen}");
    assert!(!screen.contains("ROLLBACK ADVISED"), "{screen}");
    assert!(!screen.contains(TOKEN));

    // Admin GETs carry the token; the open health check is polled too.
    let reqs = sim.requests();
    // v1/v2 numbers from Datadog's query API: a 5-minute window in epoch seconds, both keys.
    let dd: Vec<_> = reqs.iter().filter(|r| r.path == "/api/v1/query").collect();
    assert!(!dd.is_empty(), "Datadog not queried: {reqs:?}");
    for r in &dd {
        assert_eq!(r.status, Some(200), "{r:?}");
        let q = r.query.as_deref().unwrap_or_default();
        let num_of = |k: &str| -> i64 {
            q.split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {k} in {q}"))
        };
        assert_eq!(num_of("to") - num_of("from"), 300, "{q}");
    }
    assert!(reqs.iter().all(|r| r.path != "/api/v2/admin/metrics"));
    let polls: Vec<_> = reqs
        .iter()
        .filter(|r| r.path == "/api/v2/admin/flags")
        .collect();
    assert!(!polls.is_empty(), "/api/v2/admin/flags not polled");
    assert!(
        polls.iter().all(|r| r.authorization_valid == Some(true)),
        "/api/v2/admin/flags unauthorised"
    );
    assert!(reqs.iter().any(|r| r.path == "/api/v2/health"));
    assert!(reqs.iter().all(|r| r.method == "GET"), "only polls so far");
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn error_burst_goes_crit_advises_rollback_and_r_rolls_back_to_v1() {
    let sim = start(Scenario::ErrorBurst).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (cfg, _standins) = preset(&sim);
    let (mut s, mut rx) = session(Arc::new(cfg), &audit_path(&dir), false).await;
    let advised = drive_until(&mut s, &mut rx, Duration::from_secs(8), |st| {
        st.engine().advised.is_some()
    })
    .await;
    assert!(advised, "no rollback advice");
    let st = &s.state;
    // v2 fails at 2-6 %: its error-rate row is crit; v1 and v2's p95 stay ok.
    assert_eq!(row(st, "v2_err").effective, Band::Crit);
    assert_eq!(row(st, "v2_err").status, Status::Band(Band::Crit));
    assert_eq!(row(st, "v1_err").status, Status::Band(Band::Ok));
    assert_eq!(row(st, "v2_p95").status, Status::Band(Band::Ok));
    let screen = render_text(st, 140, 50);
    assert!(screen.contains("ROLLBACK ADVISED"), "{screen}");
    assert!(screen.contains("CRIT"), "{screen}");
    assert!(screen.contains("phase: cutover"), "{screen}");

    // R opens the rollback: the exact request, the token redacted, nothing sent yet.
    keys(&mut s, "R");
    let screen = render_text(&s.state, 140, 50);
    assert!(
        screen.contains(&format!("POST {}{ROLLBACK_PATH}", sim.base_url())),
        "{screen}"
    );
    assert!(screen.contains("Authorization: Bearer ***"), "{screen}");
    assert!(screen.contains("rollback-to-v1"), "{screen}");
    assert!(!screen.contains(TOKEN));
    assert!(sim.requests().iter().all(|r| r.method == "GET"));

    keys(&mut s, "rollback-to-v1\n");
    let done = drive_until(&mut s, &mut rx, Duration::from_secs(10), |st| {
        st.action_runs()[0]
            .verify
            .as_ref()
            .is_some_and(|v| v.verdict.is_some())
    })
    .await;
    assert!(done, "no verdict: {:?}", s.state.action_runs()[0]);
    assert!(
        matches!(
            s.state.action_runs()[0]
                .verify
                .as_ref()
                .and_then(|v| v.verdict.clone()),
            Some(Verdict::Verified { .. })
        ),
        "{:?}",
        s.state.action_runs()[0]
    );
    let posts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].method, "POST");
    assert_eq!(posts[0].path, ROLLBACK_PATH);
    assert_eq!(posts[0].authorization_valid, Some(true));
    assert!(posts[0].idempotency_key.is_some());
    assert_eq!(sim.flag("v2_primary"), Some(false));
    assert_eq!(sim.flag("v2_enabled"), Some(true));
    let screen = render_text(&s.state, 140, 50);
    assert!(screen.contains("VERIFIED"), "{screen}");
    // v1 primary again, v2 still on: the flags name the beta phase.
    assert_eq!(value(&s.state, "v2_primary"), Some(Value::Bool(false)));
    assert_eq!(s.state.derived_phase(), Some("beta"));
    assert!(
        render_text(&s.state, 120, 40).contains("phase: beta"),
        "the header shows the phase"
    );
    s.shutdown();
    sim.shutdown().await;
}

/// Shadow-mode errors as the runbook counts them (`docker logs --since 5m cohortlens-api-ts`,
/// case-insensitive "error"): Nest logs its failures on stderr, and they are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_errors_count_the_v2_containers_error_lines() {
    let sim = start(Scenario::ErrorBurst).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (cfg, _standins) = preset(&sim);
    let (mut s, mut rx) = session(Arc::new(cfg), &audit_path(&dir), false).await;
    let counted = drive_until(&mut s, &mut rx, Duration::from_secs(15), |st| {
        value(st, "shadow_errors")
            .and_then(|v| v.as_f64())
            .is_some_and(|n| n >= 1.0)
    })
    .await;
    assert!(counted, "{:?}", row(&s.state, "shadow_errors"));
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn the_no_regression_and_perf_runs_are_judged_against_the_runbooks_targets() {
    let (out, caps) = common::run_step_script("cohortlens", "Phase 1: Beta", &[]).await;
    assert!(out.is_success(), "{out:?}");
    let m = common::capture_map(&caps);
    assert_eq!(m["mean_delta_pct"], (Some("2.3".into()), true), "{caps:?}");
    assert_eq!(m["max_delta_pct"], (Some("4.8".into()), true), "{caps:?}");
    // Exit 0, a mean delta over 5 %: the capture fails.
    let (out, caps) = common::run_step_script(
        "cohortlens",
        "Phase 1: Beta",
        &[("FIXTURE_MEAN_DELTA", "6.4")],
    )
    .await;
    assert!(out.is_success());
    assert_eq!(
        common::capture_map(&caps)["mean_delta_pct"],
        (Some("6.4".into()), false)
    );

    // p95 per endpoint, each against its own target.
    let (_, caps) = common::run_step_script("cohortlens", "daily health check", &[]).await;
    let m = common::capture_map(&caps);
    for (name, v) in [
        ("p95_health_ms", "42"),
        ("p95_usage_ms", "118"),
        ("p95_predict_ms", "312"),
        ("p95_segment_10x_ms", "401"),
        ("p95_recommendations_ms", "1890"),
    ] {
        assert_eq!(m[name], (Some(v.into()), true), "{name}: {caps:?}");
    }
    let (_, caps) = common::run_step_script(
        "cohortlens",
        "daily health check",
        &[("FIXTURE_P95_RECOMMENDATIONS", "2610")],
    )
    .await;
    let m = common::capture_map(&caps);
    assert_eq!(m["p95_recommendations_ms"], (Some("2610".into()), false));
    assert!(
        m["p95_health_ms"].1,
        "one slow endpoint fails only its own capture"
    );
}
