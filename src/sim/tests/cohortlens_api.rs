//! The cohortlens profile: v1 and v2 side by side, the phase actions and the rollback to v1.

use super::*;

#[tokio::test]
async fn cohortlens_healthy_flags_and_metrics_within_thresholds() {
    let h = sim_of(Profile::Cohortlens, Scenario::Healthy).await;
    let health: Value = get_json(format!("{}/api/v2/health", h.base_url())).await;
    assert_eq!(health["status"], "ok");
    let f = get_admin(&h, "/api/v2/admin/flags").await;
    assert_eq!(
        f["flags"],
        json!({"v2_enabled": true, "v2_primary": true, "shadow_mode": false,
               "v1_deprecated": false, "migration_logging": true})
    );
    assert_eq!(f["migration_status"]["phase"], "cutover");
    assert_eq!(f["migration_status"]["primary"], "v2");
    let m = get_admin(&h, "/api/v2/admin/metrics").await;
    for side in ["/v1", "/v2"] {
        assert!(num(&m, &format!("{side}/error_rate_pct")) < 0.1, "{m}");
        assert!(num(&m, &format!("{side}/p95_ms")) < 2000.0, "{m}");
    }
    assert!(num(&m, "/v2/requests") > num(&m, "/v1/requests"));
    // The exposition shows the JSON's numbers (same instant).
    h.sim.with_now(|ctx, readings, _| {
        let j = cohortlens::metrics_json(ctx, readings, "t");
        let text = gauges_of(&cohortlens::SPEC, ctx, readings);
        for v in ["v1", "v2"] {
            let key = format!("cohortlens_error_rate_pct{{version=\"{v}\"}}");
            assert_eq!(
                sample(&text, &key),
                num(&j, &format!("/{v}/error_rate_pct"))
            );
            let key = format!("cohortlens_p95_ms{{version=\"{v}\"}}");
            assert_eq!(sample(&text, &key), num(&j, &format!("/{v}/p95_ms")));
        }
    });
    let text = get_text(format!("{}/metrics", h.base_url())).await;
    assert!(text.contains("http_requests_total{path=\"/api/v2/predict\",code=\"500\"}"));
    assert!(text.contains("warroom_sim_flag{name=\"v2_primary\"} 1"));
    h.shutdown().await;
}

#[tokio::test]
async fn cohortlens_faults_hit_v2_and_rollback_to_v1_recovers() {
    let h = sim_of(Profile::Cohortlens, Scenario::ErrorBurst).await;
    let m = get_admin(&h, "/api/v2/admin/metrics").await;
    assert!(num(&m, "/v2/error_rate_pct") > 1.0, "{m}");
    assert!(num(&m, "/v1/error_rate_pct") < 0.1, "{m}");
    h.set_scenario(Scenario::LatencySpike);
    let m = get_admin(&h, "/api/v2/admin/metrics").await;
    assert!(num(&m, "/v2/p95_ms") > 2000.0, "{m}");
    assert!(num(&m, "/v1/p95_ms") < 2000.0, "{m}");
    h.set_scenario(Scenario::ErrorBurst);

    let r = post_admin(&h, "/api/v2/admin/rollback-to-v1", None).await;
    assert_eq!(r.status(), 200);
    let v = r.json_value().await.unwrap();
    assert_eq!(v["status"]["v2_primary"], false);
    assert_eq!(h.flag("v2_primary"), Some(false));
    wait_json(&h, "/api/v2/admin/metrics", Duration::from_secs(5), |m| {
        num(m, "/v2/error_rate_pct") < 0.1 && num(m, "/v2/p95_ms") < 2000.0
    })
    .await;
    let m = get_admin(&h, "/api/v2/admin/metrics").await;
    assert_eq!(m["primary"], "v1");
    // Once the error rate is back, most traffic is on v1 again.
    assert!(num(&m, "/v1/requests") > num(&m, "/v2/requests"), "{m}");
    let rec = h.requests();
    let post = rec
        .iter()
        .find(|r| r.path == "/api/v2/admin/rollback-to-v1")
        .unwrap();
    assert_eq!(post.authorization_valid, Some(true));
    assert_eq!(post.status, Some(200));
    h.shutdown().await;
}

#[tokio::test]
async fn cohortlens_phase_actions_move_through_the_migration_phases() {
    let h = sim_of(Profile::Cohortlens, Scenario::Healthy).await;
    let phase = |v: &Value| v["migration_status"]["phase"].as_str().unwrap().to_string();
    let r = post_admin(&h, "/api/v2/admin/enable-shadow-mode", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json_value().await.unwrap()["message"],
        "Shadow mode enabled"
    );
    assert_eq!(phase(&get_admin(&h, "/api/v2/admin/flags").await), "shadow");
    // Deprecating v1 while it is primary is refused.
    let r = post_admin(&h, "/api/v2/admin/complete-v1-deprecation", None).await;
    assert_eq!(r.status(), 409);
    let r = post_admin(&h, "/api/v2/admin/migrate-to-v2", None).await;
    let v = r.json_value().await.unwrap();
    assert_eq!(
        v["status"],
        json!({"v2_primary": true, "shadow_mode": false, "migration_logging": true})
    );
    let r = post_admin(&h, "/api/v2/admin/complete-v1-deprecation", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json_value().await.unwrap()["status"]["v1_endpoints"],
        "returning 410 Gone"
    );
    assert_eq!(
        phase(&get_admin(&h, "/api/v2/admin/flags").await),
        "deprecation"
    );
    let r = client()
        .get(format!("{}/api/v1/predict", h.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    // Both flag body forms; the kill switch takes v2 out of primary.
    let r = post_admin(
        &h,
        "/api/v2/admin/flags",
        Some(json!({"flag": "migration_logging", "enabled": false})),
    )
    .await;
    assert_eq!(
        r.json_value().await.unwrap()["flags"]["migration_logging"],
        false
    );
    let r = post_admin(
        &h,
        "/api/v2/admin/flags",
        Some(json!({"v2_enabled": false})),
    )
    .await;
    let v = r.json_value().await.unwrap();
    assert_eq!(v["flags"]["v2_primary"], false);
    let r = post_admin(&h, "/api/v2/admin/flags", Some(json!({"nope": true}))).await;
    assert_eq!(r.status(), 404);
    let r = post_admin(&h, "/api/v2/admin/flags", Some(json!({"flag": 3}))).await;
    assert_eq!(r.status(), 400);
    h.shutdown().await;
}

#[tokio::test]
async fn cohortlens_admin_needs_the_token() {
    let h = sim_of(Profile::Cohortlens, Scenario::ErrorBurst).await;
    assert_admin_needs_token(
        &h,
        "/api/v2/admin/flags",
        "/api/v2/admin/rollback-to-v1",
        json!({}),
    )
    .await;
    assert_eq!(h.flag("v2_primary"), Some(true));
    h.shutdown().await;
}
