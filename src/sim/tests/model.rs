//! The numbers model: noise, quantiles, scenario ranges, counters.

use crate::sim::metrics::*;
use crate::sim::scenario::Scenario;
use std::time::Duration;

const EPS: [EndpointSpec; 3] = [
    EndpointSpec {
        path: "/a",
        critical: true,
        base_rps: 10.0,
    },
    EndpointSpec {
        path: "/b",
        critical: false,
        base_rps: 5.0,
    },
    EndpointSpec {
        path: "/c",
        critical: true,
        base_rps: 2.0,
    },
];

fn all(s: Scenario, elapsed_s: u64, w: f64, bucket: u64) -> Vec<Reading> {
    (0..EPS.len())
        .map(|i| reading(s, Duration::from_secs(elapsed_s), w, &EPS, i, bucket))
        .collect()
}

#[test]
fn noise_is_deterministic_and_in_range() {
    for b in 0..1000 {
        let n = noise(b, 3, 4);
        assert!((0.0..1.0).contains(&n));
        assert_eq!(n, noise(b, 3, 4));
    }
}

#[test]
fn lognormal_quantiles_agree_with_cdf() {
    let r = Reading {
        rps: 1.0,
        error_rate_pct: 0.0,
        p95_ms: 1000.0,
    };
    assert!((r.cdf(1000.0) - 0.95).abs() < 1e-4);
    assert!((r.cdf(r.p99_ms()) - 0.99).abs() < 1e-4);
    assert!((r.cdf(r.median_ms()) - 0.5).abs() < 1e-6);
}

#[test]
fn scenario_ranges_hold_for_every_bucket() {
    for b in 0..500 {
        for r in all(Scenario::Healthy, 10, 1.0, b) {
            assert!((0.1..=0.6).contains(&r.error_rate_pct));
            assert!((250.0..=600.0).contains(&r.p95_ms));
        }
        for (ep, r) in EPS.iter().zip(all(Scenario::ErrorBurst, 10, 1.0, b)) {
            if ep.critical {
                assert!((5.0..=12.0).contains(&r.error_rate_pct));
            } else {
                assert!(r.error_rate_pct < 2.0);
            }
        }
        for (ep, r) in EPS.iter().zip(all(Scenario::LatencySpike, 10, 1.0, b)) {
            if ep.critical {
                assert!((1800.0..=3000.0).contains(&r.p95_ms));
            } else {
                assert!(r.p95_ms < 1200.0);
            }
        }
        // Rolled back: healthy whatever the scenario.
        for r in all(Scenario::ErrorBurst, 10, 0.0, b).into_iter().chain(all(
            Scenario::LatencySpike,
            10,
            0.0,
            b,
        )) {
            assert!(r.error_rate_pct <= 0.6 && r.p95_ms <= 600.0);
        }
    }
}

#[test]
fn flapping_crosses_both_thresholds_every_few_seconds() {
    let at = |ms: u64| {
        reading(
            Scenario::Flapping,
            Duration::from_millis(ms),
            1.0,
            &EPS,
            0,
            7,
        )
    };
    assert!(at(1_000).error_rate_pct < 2.0 && at(1_000).p95_ms < 1200.0);
    assert!(at(3_000).error_rate_pct > 2.0 && at(3_000).p95_ms > 1200.0);
    assert!(at(6_000).error_rate_pct < 2.0);
    assert!(at(8_000).error_rate_pct > 2.0);
    // The others stay healthy.
    let other = reading(Scenario::Flapping, Duration::from_secs(3), 1.0, &EPS, 2, 7);
    assert!(other.error_rate_pct <= 0.6);
}

#[test]
fn degrade_then_recover_shape() {
    let crit_err = |s: u64| all(Scenario::DegradeThenRecover, s, 1.0, 1)[0].error_rate_pct;
    assert!(crit_err(0) <= 0.6);
    assert!(crit_err(30) > 2.0, "halfway up is already over crit");
    assert!(crit_err(75) >= 8.0);
    assert!(crit_err(150) <= 0.6);
    assert!(crit_err(1000) <= 0.6);
    let p95 = all(Scenario::DegradeThenRecover, 75, 1.0, 1)[0].p95_ms;
    assert!(p95 > 2000.0);
}

#[test]
fn summary_is_a_mixture() {
    let rs = all(Scenario::LatencySpike, 0, 1.0, 3);
    let s = summarize(&rs);
    let min = rs.iter().map(|r| r.p95_ms).fold(f64::MAX, f64::min);
    let max = rs.iter().map(|r| r.p95_ms).fold(0.0, f64::max);
    assert!(s.p95_ms > min && s.p95_ms <= max, "{s:?}");
    assert_eq!(summarize(&[]).rps, 0.0);
}

#[test]
fn counters_are_monotonic_and_consistent() {
    let mut c = Counters::new(EPS.len());
    let mut prev: Vec<f64> = Vec::new();
    for step in 0..50u64 {
        let s = if step % 10 < 5 {
            Scenario::ErrorBurst
        } else {
            Scenario::Healthy
        };
        c.add(&all(s, step, 1.0, step), Duration::from_secs(1));
        let text = c.render(&EPS, "");
        let vals: Vec<f64> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        if !prev.is_empty() {
            assert_eq!(vals.len(), prev.len());
            for (a, b) in prev.iter().zip(&vals) {
                assert!(b >= a, "counter went down: {a} -> {b}");
            }
        }
        prev = vals;
    }
    let text = c.render(&EPS, "");
    let count_line = text
        .lines()
        .find(|l| l.starts_with("http_request_duration_seconds_count{path=\"/a\"}"))
        .unwrap();
    let inf_line = text
        .lines()
        .find(|l| l.contains("path=\"/a\",le=\"+Inf\""))
        .unwrap();
    assert_eq!(count_line.rsplit(' ').next(), inf_line.rsplit(' ').next());
}
