//! The edn360 profile: the decision table's numbers and the drill rollback.

use super::*;

#[test]
fn edn360_degrade_then_recover_goes_99_85_99() {
    let flags = BTreeMap::from([
        (edn360::FLAG_READ.to_string(), true),
        (edn360::FLAG_WRITE.to_string(), true),
    ]);
    let at = |s: u64| {
        edn360::numbers(&ReadCtx {
            scenario: Scenario::DegradeThenRecover,
            elapsed: Duration::from_secs(s),
            weight: 1.0,
            bucket: 3,
            flags: &flags,
        })
    };
    for s in [0, 150, 400] {
        assert!(at(s).match_rate() >= 0.98, "{s}: {:?}", at(s));
        assert_eq!(at(s).duplicates, 0);
    }
    let worst = at(75);
    assert!((0.84..=0.86).contains(&worst.match_rate()), "{worst:?}");
    assert!(worst.success_rate() < 0.9 && worst.duplicates > 0);
}

#[tokio::test]
async fn edn360_healthy_within_the_decision_table() {
    let h = sim_of(Profile::Edn360, Scenario::Healthy).await;
    let d = get_admin(&h, "/admin/monitoring/dual-write-stats").await;
    assert!(num(&d, "/match_rate") >= 0.97, "{d}");
    assert!(num(&d, "/match_rate_pct") >= 97.0, "{d}");
    assert!(num(&d, "/total_validations") > 0.0);
    let s = get_admin(&h, "/api/admin/monitoring/switch-status").await;
    assert!(num(&s, "/success_rate") >= 0.98, "{s}");
    assert_eq!(s["USE_CLIENT_DRAWER_READ"], true);
    let dup = get_admin(&h, "/admin/monitoring/duplicates").await;
    assert_eq!(dup, json!({"duplicates": 0, "items": []}));
    let p = get_admin(&h, "/admin/monitoring/plans-without-snapshot").await;
    assert_eq!(p["plans_without_snapshot_id"], 0);
    h.sim.with_now(|ctx, _, _| {
        let n = edn360::numbers(ctx);
        let text = gauges_of(&edn360::SPEC, ctx, &[]);
        assert_eq!(
            sample(&text, "edn360_dual_write_match_rate"),
            n.match_rate()
        );
        assert_eq!(
            sample(&text, "edn360_switch_success_rate"),
            n.success_rate()
        );
        assert_eq!(sample(&text, "edn360_duplicates_detected"), 0.0);
    });
    h.shutdown().await;
}

#[tokio::test]
async fn edn360_error_burst_breaches_and_the_drill_rollback_recovers() {
    let h = sim_of(Profile::Edn360, Scenario::ErrorBurst).await;
    let s = get_admin(&h, "/admin/monitoring/summary").await;
    assert!(num(&s, "/match_rate") < 0.9, "{s}");
    assert!(num(&s, "/success_rate") < 0.9, "{s}");
    assert!(num(&s, "/duplicates") > 0.0, "{s}");
    assert!(num(&s, "/plans_without_snapshot_id") > 0.0, "{s}");
    let dup = get_admin(&h, "/admin/monitoring/duplicates").await;
    assert_eq!(
        dup["items"].as_array().unwrap().len() as f64,
        num(&dup, "/duplicates")
    );

    let r = post_admin(
        &h,
        "/admin/drill/client-drawer-read",
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json_value().await.unwrap()["USE_CLIENT_DRAWER_READ"],
        false
    );
    wait_json(
        &h,
        "/admin/monitoring/summary",
        Duration::from_secs(5),
        |s| {
            num(s, "/match_rate") >= 0.97
                && num(s, "/success_rate") >= 0.98
                && num(s, "/duplicates") == 0.0
                && num(s, "/plans_without_snapshot_id") == 0.0
        },
    )
    .await;
    let s = get_admin(&h, "/api/admin/monitoring/switch-status").await;
    assert_eq!(s["USE_CLIENT_DRAWER_READ"], false);
    let r = post_admin(
        &h,
        "/admin/drill/client-drawer-read",
        Some(json!({"on": 1})),
    )
    .await;
    assert_eq!(r.status(), 400);
    h.shutdown().await;
}

#[tokio::test]
async fn edn360_admin_needs_the_token() {
    let h = sim_of(Profile::Edn360, Scenario::ErrorBurst).await;
    assert_admin_needs_token(
        &h,
        "/admin/monitoring/switch-status",
        "/admin/drill/client-drawer-read",
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(h.flag("USE_CLIENT_DRAWER_READ"), Some(true));
    h.shutdown().await;
}
