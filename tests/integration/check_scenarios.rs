//! `warroom check` against the simulator in-process: the exit code for each scenario,
//! and what the simulator received.

use crate::common::*;
use std::time::Duration;
use warroom::check::{run_check, CheckOptions, Format};
use warroom::sim::Scenario;

async fn check_once(scenario: Scenario) -> (i32, Vec<serde_json::Value>, warroom::sim::SimHandle) {
    let sim = start_sim(scenario).await;
    let cfg = demo_config(&sim);
    let mut out = Vec::new();
    let code = run_check(
        CheckOptions {
            cfg,
            window: None,
            interval: None,
            format: Format::Json,
            record: None,
            redact: std::sync::Arc::new(|s: &str| s.to_string()),
            notify: None,
        },
        &mut out,
    )
    .await
    .expect("check runs");
    let lines = String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    (code, lines, sim)
}

fn summary(lines: &[serde_json::Value]) -> &serde_json::Value {
    let last = lines.last().expect("a summary line");
    assert_eq!(last["type"], "summary");
    last
}

#[tokio::test]
async fn healthy_exits_0() {
    let (code, lines, sim) = check_once(Scenario::Healthy).await;
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(summary(&lines)["verdict"], "ok");
    assert_eq!(summary(&lines)["mode"], "single-sample");
    // The simulator saw one poll of each source, the admin one with the bearer token.
    let reqs = sim.requests();
    for path in [
        "/api/v1/health",
        "/api/check-files",
        "/analytics/ops/metrics",
        "/api/v1/admin/flags",
    ] {
        assert_eq!(reqs.iter().filter(|r| r.path == path).count(), 1, "{path}");
    }
    let flags = reqs
        .iter()
        .find(|r| r.path == "/api/v1/admin/flags")
        .expect("flags polled");
    assert_eq!(flags.authorization_valid, Some(true));
    sim.shutdown().await;
}

#[tokio::test]
async fn error_burst_exits_1_naming_critical_endpoints() {
    let (code, lines, sim) = check_once(Scenario::ErrorBurst).await;
    assert_eq!(code, 1);
    let s = summary(&lines);
    assert_eq!(s["verdict"], "crit");
    let breaches = s["breaches"].as_array().expect("breaches");
    assert!(breaches
        .iter()
        .any(|b| b.as_str().unwrap_or("").contains("/api/v1/auth/login")));
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_spike_exits_1() {
    let (code, lines, sim) = check_once(Scenario::LatencySpike).await;
    assert_eq!(code, 1, "{lines:?}");
    let s = summary(&lines);
    assert!(s["breaches"].to_string().contains("p95"));
    sim.shutdown().await;
}

#[tokio::test]
async fn down_exits_3_with_source_down() {
    let (code, lines, sim) = check_once(Scenario::Down).await;
    assert_eq!(code, 3, "{lines:?}");
    let poll = &lines[0];
    let rows = poll["rows"].as_array().expect("rows");
    let health = rows
        .iter()
        .find(|r| r["key"] == "api_health")
        .expect("health row");
    assert_eq!(health["status"], "error");
    assert!(health["reason"]
        .as_str()
        .unwrap_or("")
        .contains("connection refused"));
    assert!(summary(&lines)["sources_without_data"]
        .to_string()
        .contains("connection refused"));
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_times_out_and_exits_3() {
    let started = std::time::Instant::now();
    let (code, lines, sim) = check_once(Scenario::Slow).await;
    assert_eq!(code, 3, "{lines:?}");
    assert!(summary(&lines)["sources_without_data"]
        .to_string()
        .contains("time-out"));
    // Bounded by the config's 1.5 s poll time-out, not the server's 4 s delay.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_exits_3_never_a_pass() {
    let (code, lines, sim) = check_once(Scenario::Malformed).await;
    assert_eq!(code, 3, "{lines:?}");
    assert!(summary(&lines)["sources_without_data"]
        .to_string()
        .contains("not JSON"));
    sim.shutdown().await;
}

#[tokio::test]
async fn unauthorized_exits_3_and_names_the_header_not_the_token() {
    let (code, lines, sim) = check_once(Scenario::Unauthorized).await;
    assert_eq!(code, 3);
    let text = lines.iter().map(|l| l.to_string()).collect::<String>();
    assert!(text.contains("unauthorized (HTTP 401)"));
    assert!(text.contains("Authorization header"));
    assert!(
        !text.contains(TOKEN),
        "the token leaked into check's output"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn window_applies_trip_rules_and_prints_a_line_per_poll() {
    let sim = start_sim(Scenario::ErrorBurst).await;
    let cfg = demo_config(&sim);
    let mut out = Vec::new();
    let code = run_check(
        CheckOptions {
            cfg,
            window: Some(Duration::from_millis(2_500)),
            interval: Some(Duration::from_secs(1)),
            format: Format::Text,
            record: None,
            redact: std::sync::Arc::new(|s: &str| s.to_string()),
            notify: None,
        },
        &mut out,
    )
    .await
    .expect("check runs");
    let text = String::from_utf8(out).expect("utf-8");
    assert_eq!(code, 1, "{text}");
    // A line once every source has answered, then between polls (1.5 s), and at the end.
    assert_eq!(
        text.lines().filter(|l| l.contains(" poll ")).count(),
        3,
        "{text}"
    );
    assert!(
        text.contains("each on its own schedule, with the full trip/clear rules"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("exit 1"));
    sim.shutdown().await;
}
