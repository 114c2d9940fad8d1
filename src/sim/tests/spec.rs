//! Every profile: names, scenario ranges, and the spec the router and the rollback follow.

use super::*;

#[test]
fn new_profiles_parse() {
    for (s, p) in [
        ("cohortlens", Profile::Cohortlens),
        ("EDN360", Profile::Edn360),
        ("hse", Profile::Hse),
    ] {
        assert_eq!(s.parse::<Profile>().unwrap(), p);
        assert_eq!(p.spec().name, p.name());
    }
}

#[test]
fn new_profiles_scenario_ranges_hold_for_every_bucket() {
    let cl: BTreeMap<String, bool> = cohortlens::SPEC
        .flags
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    let none = BTreeMap::new();
    let v2 = |s, ms, w, b| {
        let r = cohortlens::readings(&ctx_of(&cl, s, ms, w, b));
        let j = cohortlens::metrics_json(&ctx_of(&cl, s, ms, w, b), &r, "t");
        (num(&j, "/v2/error_rate_pct"), num(&j, "/v2/p95_ms"))
    };
    let new = |s, ms, w, b| {
        let c = ctx_of(&none, s, ms, w, b);
        let j = hse::metrics_json(&c, &hse::readings(&c), 10, "t");
        (
            num(&j, "/new/error_rate_pct"),
            num(&j, "/new/p99_ms"),
            num(&j, "/drift_pct"),
        )
    };
    for b in 0..300 {
        use Scenario::*;
        // cohortlens: alert > 0.1 %, roll back > 1 % or p95 > 2000 ms.
        let (e, p) = v2(Healthy, 0, 1.0, b);
        assert!(e < 0.1 && p < 2000.0);
        assert!(v2(ErrorBurst, 0, 1.0, b).0 > 1.0);
        assert!(v2(LatencySpike, 0, 1.0, b).1 > 2000.0);
        let (lo, hi) = (v2(Flapping, 1_000, 1.0, b), v2(Flapping, 3_000, 1.0, b));
        assert!(lo.0 < 1.0 && lo.1 < 2000.0 && hi.0 > 1.0 && hi.1 > 2000.0);
        assert!(v2(DegradeThenRecover, 75_000, 1.0, b).0 > 1.0);
        let (e, p) = v2(ErrorBurst, 0, 0.0, b);
        assert!(e < 0.1 && p < 2000.0, "rolled back");
        // hse at the initial 10 % split: error < 0.1 %, p99 < 500 ms, drift ≤ 1 %.
        let (e, p, d) = new(Healthy, 0, 0.1, b);
        assert!(e < 0.1 && p < 500.0 && d < 1.0);
        let (e, _, d) = new(ErrorBurst, 0, 0.1, b);
        assert!(e > 0.1 && d > 1.0);
        assert!(new(LatencySpike, 0, 0.1, b).1 > 500.0);
        let (lo, hi) = (new(Flapping, 1_000, 0.1, b), new(Flapping, 3_000, 0.1, b));
        assert!(lo.0 < 0.1 && lo.1 < 500.0 && lo.2 < 1.0);
        assert!(hi.0 > 0.1 && hi.1 > 500.0 && hi.2 > 1.0);
        let (e, p, d) = new(DegradeThenRecover, 75_000, 0.1, b);
        assert!(e > 0.1 && p > 500.0 && d > 1.0);
        let (e, p, d) = new(ErrorBurst, 0, 0.0, b);
        assert!(e < 0.1 && p < 500.0 && d < 1.0, "split 0");
        // edn360: ≥ 95 % ok, < 90 % roll back.
        let ed = |s, ms| edn360::numbers(&ctx_of(&none, s, ms, 1.0, b));
        let h = ed(Healthy, 0);
        assert!(h.match_rate() >= 0.97 && h.success_rate() >= 0.98);
        assert_eq!((h.duplicates, h.plans_without_snapshot()), (0, 0));
        let x = ed(ErrorBurst, 0);
        assert!(x.match_rate() < 0.9 && x.success_rate() < 0.9 && x.duplicates > 0);
        let (lo, hi) = (ed(Flapping, 1_000), ed(Flapping, 3_000));
        assert!((0.9..0.95).contains(&lo.success_rate()) && hi.success_rate() < 0.9);
        let s = ed(LatencySpike, 0);
        assert!(s.success_rate() >= 0.98 && s.generate.p95_ms > 4000.0);
    }
}

/// Every route of every spec is served, under each mirror prefix, for each of its methods, and
/// admin routes refuse a request without the token before anything else.
#[tokio::test]
async fn every_profile_serves_the_routes_its_spec_declares() {
    for profile in Profile::ALL {
        let h = sim_of(profile, Scenario::Healthy).await;
        let spec = profile.spec();
        let c = client();
        for prefix in std::iter::once("").chain(spec.mirrors.iter().copied()) {
            for route in spec.routes {
                let path = format!("{prefix}{}", route.path.replace("{name}", "x"));
                for method in route.methods {
                    let m = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
                    let url = format!("{}{path}", h.base_url());
                    let r = c.request(m.clone(), &url).send().await.unwrap();
                    let status = r.status().as_u16();
                    let body = r.text().await.unwrap();
                    assert!(
                        !body.contains("no route for"),
                        "{profile}: {m} {path}: {body}"
                    );
                    assert_ne!(status, 405, "{profile}: {m} {path}");
                    if route.access == crate::sim::profile::Access::Admin {
                        assert_eq!(status, 401, "{profile}: {m} {path} without the token");
                    }
                }
            }
        }
        let banner = spec.banner();
        assert!(!banner.is_empty());
        for (method, path, what) in &banner {
            assert!(["GET", "POST"].contains(method), "{profile}: {method}");
            assert!(
                path.starts_with('/') && !what.is_empty(),
                "{profile}: {path}"
            );
        }
        h.shutdown().await;
    }
}

/// The request each spec names as its rollback does roll the system back: the lever moves,
/// the weight reaches 0 within the ramp, and from then on the data scenario no longer shows
/// in any number.
#[tokio::test]
async fn every_profile_rolls_back_with_the_request_its_spec_names() {
    for profile in Profile::ALL {
        let h = sim_of(profile, Scenario::ErrorBurst).await;
        let rb = profile.spec().rollback;
        let m = reqwest::Method::from_bytes(rb.method.as_str().as_bytes()).unwrap();
        let mut req = client()
            .request(m, format!("{}{}", h.base_url(), rb.path))
            .bearer_auth(TOKEN);
        if !rb.body.is_empty() {
            req = req.json_body(serde_json::from_str(rb.body).unwrap());
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200, "{profile}: {}", r.text().await.unwrap());
        if let Lever::Flag { name, rolled_back } = rb.lever {
            assert_eq!(h.flag(name), Some(rolled_back), "{profile}");
        }
        let control = format!("{}/__sim/state", h.control_url());
        let t = Instant::now();
        while get_json(&control).await["rollback_weight"] != 0.0 {
            assert!(
                t.elapsed() < ROLLBACK_RAMP + Duration::from_secs(5),
                "{profile}: the weight never reached 0"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        h.sim.with_now(|ctx, readings, _| {
            let healthy = ReadCtx {
                scenario: Scenario::Healthy,
                ..*ctx
            };
            assert_eq!(readings, (profile.spec().readings)(&healthy), "{profile}");
        });
        h.shutdown().await;
    }
}
