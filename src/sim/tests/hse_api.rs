//! The hse profile: the traffic split and the old and new systems side by side.

use super::*;

#[tokio::test]
async fn hse_healthy_split_and_side_by_side_metrics() {
    let h = sim_of(Profile::Hse, Scenario::Healthy).await;
    let r: Value = get_json(format!("{}/health/readiness", h.base_url())).await;
    assert_eq!(r["status"], "ok");
    let s = get_admin(&h, "/admin/traffic-split").await;
    assert_eq!(s["percent"], 10);
    let m = get_admin(&h, "/admin/metrics").await;
    for side in ["/old", "/new", "/overall"] {
        assert!(num(&m, &format!("{side}/error_rate_pct")) < 0.1, "{m}");
        assert!(num(&m, &format!("{side}/p99_ms")) < 500.0, "{m}");
    }
    assert!(num(&m, "/drift_pct") < 1.0);
    assert!(num(&m, "/old/requests") > num(&m, "/new/requests"));
    h.sim.with_now(|ctx, readings, _| {
        let j = hse::metrics_json(ctx, readings, 10, "t");
        let text = gauges_of(&hse::SPEC, ctx, readings);
        for sys in ["old", "new"] {
            let key = format!("hse_error_rate_pct{{system=\"{sys}\"}}");
            assert_eq!(
                sample(&text, &key),
                num(&j, &format!("/{sys}/error_rate_pct"))
            );
            let key = format!("hse_p99_ms{{system=\"{sys}\"}}");
            assert_eq!(sample(&text, &key), num(&j, &format!("/{sys}/p99_ms")));
        }
        assert_eq!(sample(&text, "hse_drift_pct"), num(&j, "/drift_pct"));
    });
    h.shutdown().await;
}

#[tokio::test]
async fn hse_faults_hit_the_new_system_and_split_zero_recovers() {
    let h = sim_of(Profile::Hse, Scenario::ErrorBurst).await;
    let m = get_admin(&h, "/admin/metrics").await;
    assert!(num(&m, "/new/error_rate_pct") > 0.1, "{m}");
    assert!(num(&m, "/old/error_rate_pct") < 0.1, "{m}");
    assert!(num(&m, "/drift_pct") > 1.0, "{m}");
    h.set_scenario(Scenario::LatencySpike);
    let m = get_admin(&h, "/admin/metrics").await;
    assert!(num(&m, "/new/p99_ms") > 500.0, "{m}");
    assert!(num(&m, "/old/p99_ms") < 500.0, "{m}");
    h.set_scenario(Scenario::ErrorBurst);

    let r = client()
        .put(format!("{}/admin/traffic-split", h.base_url()))
        .bearer_auth(TOKEN)
        .json_body(json!({"percent": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = r.json_value().await.unwrap();
    assert_eq!(
        (v["percent"].clone(), v["previous_percent"].clone()),
        (json!(0), json!(10))
    );
    wait_json(&h, "/admin/metrics", Duration::from_secs(5), |m| {
        num(m, "/new/error_rate_pct") < 0.1
            && num(m, "/new/p99_ms") < 500.0
            && num(m, "/overall/error_rate_pct") < 0.1
            && num(m, "/drift_pct") < 1.0
    })
    .await;
    let r = post_admin(&h, "/admin/traffic-split", Some(json!({"percent": 101}))).await;
    assert_eq!(r.status(), 400);
    h.shutdown().await;
}

#[tokio::test]
async fn hse_admin_needs_the_token() {
    let h = sim_of(Profile::Hse, Scenario::ErrorBurst).await;
    assert_admin_needs_token(
        &h,
        "/admin/metrics",
        "/admin/traffic-split",
        json!({"percent": 0}),
    )
    .await;
    assert_eq!(get_admin(&h, "/admin/traffic-split").await["percent"], 10);
    h.shutdown().await;
}
