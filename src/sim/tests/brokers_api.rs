//! The brokers profile: its endpoints, numbers, flags and rollback.

use super::*;

#[tokio::test]
async fn healthy_serves_the_cutover_endpoints_within_thresholds() {
    let h = sim(Scenario::Healthy).await;
    let health: Value = get_json(format!("{}/api/v1/health", h.base_url())).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["db"], "ok");
    assert!(health["version"].is_string());
    let files: Value = get_json(format!("{}/api/check-files", h.base_url())).await;
    assert_eq!(files["ok"], true);
    assert_eq!(files["missing"], json!([]));

    let m = ops(&h).await;
    assert_eq!(m["window_seconds"], 60);
    assert!(chrono::DateTime::parse_from_rfc3339(m["generated_at"].as_str().unwrap()).is_ok());
    let eps = m["endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 8);
    let crit: Vec<&str> = eps
        .iter()
        .filter(|e| e["critical"] == true)
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        crit,
        [
            "/api/v1/analytics/portfolio/summary",
            "/api/v1/analytics/brokers/summary",
            "/api/v1/brokers/preferences",
            "/api/v1/auth/login"
        ]
    );
    for e in eps.iter().chain([&m["summary"]]) {
        let err = e["error_rate_pct"].as_f64().unwrap();
        let p95 = e["p95_ms"].as_f64().unwrap();
        assert!((0.1..=0.6).contains(&err), "{e}");
        assert!((250.0..=600.0).contains(&p95), "{e}");
        assert!(e["requests"].as_u64().unwrap() > 0);
    }
    h.shutdown().await;
}

#[tokio::test]
async fn error_burst_and_latency_spike_breach_critical_endpoints() {
    let h = sim(Scenario::ErrorBurst).await;
    for (err, _) in critical(&ops(&h).await) {
        assert!(err > 2.0, "error-burst critical at {err}");
    }
    h.set_scenario(Scenario::LatencySpike);
    for (_, p95) in critical(&ops(&h).await) {
        assert!(p95 > 1200.0, "latency-spike critical at {p95}");
    }
    // Scenario time starts at the switch: degrade-then-recover begins healthy.
    h.set_scenario(Scenario::DegradeThenRecover);
    for (err, p95) in critical(&ops(&h).await) {
        assert!(
            err < 2.0 && p95 < 1200.0,
            "degrade starts at {err} % / {p95} ms"
        );
    }
    h.shutdown().await;
}

#[tokio::test]
async fn admin_flags_need_the_token_and_never_echo_it() {
    let h = sim(Scenario::Healthy).await;
    let url = format!("{}/api/v1/admin/flags", h.base_url());
    let c = client();
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("missing `Authorization: Bearer"));
    let r = c.get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert!(body.contains("does not match") && !body.contains(TOKEN));
    let v: Value = c
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json_value()
        .await
        .unwrap();
    assert_eq!(
        v,
        json!({"flags": {"brokers_v1_modules": true, "legacy_fallback": false}})
    );
    let r = c
        .post(format!("{url}/nope"))
        .bearer_auth(TOKEN)
        .json_body(json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .post(format!("{url}/legacy_fallback"))
        .bearer_auth(TOKEN)
        .body("{\"enabled\": \"yes\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    h.shutdown().await;
}

#[tokio::test]
async fn rollback_flag_recovers_metrics_and_is_recorded_without_the_token() {
    let h = sim(Scenario::ErrorBurst).await;
    let url = format!("{}/api/v1/admin/flags/brokers_v1_modules", h.base_url());
    let r = client()
        .post(&url)
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "rb-1")
        .json_body(json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json_value().await.unwrap();
    assert_eq!(v["flags"]["brokers_v1_modules"], false);
    assert_eq!(h.flag("brokers_v1_modules"), Some(false));

    wait_critical(&h, Duration::from_secs(5), |e, p| e <= 2.0 && p <= 1200.0).await;

    // Switching the modules back on brings the scenario back.
    h.set_flag("brokers_v1_modules", true);
    wait_critical(&h, Duration::from_secs(5), |e, _| e > 2.0).await;

    let rec = h.requests();
    let post = rec.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.path, "/api/v1/admin/flags/brokers_v1_modules");
    assert!(post.authorization_present);
    assert_eq!(post.authorization_valid, Some(true));
    assert_eq!(post.idempotency_key.as_deref(), Some("rb-1"));
    assert_eq!(post.body, r#"{"enabled":false}"#);
    assert_eq!(post.status, Some(200));
    let listed = get_text(format!("http://{}/__sim/requests", h.control_addr())).await;
    assert!(listed.contains("rb-1"));
    assert!(!listed.contains(TOKEN), "token leaked into /__sim/requests");
    assert!(!format!("{rec:?}").contains(TOKEN));
    h.shutdown().await;
}

#[tokio::test]
async fn prometheus_counters_grow_monotonically() {
    let h = sim(Scenario::Healthy).await;
    let url = format!("{}/metrics", h.base_url());
    let r = client().get(&url).send().await.unwrap();
    assert!(r.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .contains("version=0.0.4"));
    let a = samples(&r.text().await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.set_scenario(Scenario::ErrorBurst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = samples(&get_text(&url).await);
    assert_eq!(a.len(), b.len());
    for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb);
        if !ka.starts_with("warroom_sim_flag") {
            assert!(vb >= va, "{ka}: {va} -> {vb}");
        }
    }
    let total = |s: &[(String, f64)]| {
        s.iter()
            .filter(|(k, _)| k.starts_with("http_requests_total"))
            .map(|(_, v)| v)
            .sum::<f64>()
    };
    assert!(total(&b) > total(&a), "no traffic counted");
    assert!(b.iter().any(|(k, _)| k
        == "http_request_duration_seconds_bucket{path=\"/api/v1/auth/login\",le=\"+Inf\"}"));
    h.shutdown().await;
}
