//! The numbers the simulator reports: per-endpoint request rate, error rate and latency as a
//! pure function of (scenario, time in scenario, rollback weight, noise bucket), plus the
//! monotonic Prometheus counters integrated from those rates.
//!
//! Latency is modelled as a log-normal distribution per endpoint, so the JSON p95/p99 and the
//! Prometheus histogram buckets come from one model and agree with each other.

use super::scenario::Scenario;
use std::fmt::{self, Write as _};
use std::time::Duration;

/// One endpoint of a profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EndpointSpec {
    pub path: &'static str,
    pub critical: bool,
    /// Requests per second at normal load.
    pub base_rps: f64,
}

/// An endpoint of a profile's `ENDPOINTS`: its path (or system), whether it is critical, its
/// normal request rate.
pub const fn ep(path: &'static str, critical: bool, base_rps: f64) -> EndpointSpec {
    EndpointSpec {
        path,
        critical,
        base_rps,
    }
}

/// The state of one endpoint at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub rps: f64,
    pub error_rate_pct: f64,
    pub p95_ms: f64,
}

/// Log-normal shape parameter: fixes p99/p95 and p95/median ratios.
const SIGMA: f64 = 0.5;
const Z95: f64 = 1.644_853_626_951_472_2;
const Z99: f64 = 2.326_347_874_040_841;

impl Reading {
    pub fn median_ms(&self) -> f64 {
        self.p95_ms / (Z95 * SIGMA).exp()
    }
    pub fn p99_ms(&self) -> f64 {
        self.median_ms() * (Z99 * SIGMA).exp()
    }
    pub fn mean_ms(&self) -> f64 {
        self.median_ms() * (SIGMA * SIGMA / 2.0).exp()
    }
    /// Fraction of requests that took at most `ms`.
    pub fn cdf(&self, ms: f64) -> f64 {
        if ms <= 0.0 {
            return 0.0;
        }
        let m = self.median_ms().max(1e-9);
        normal_cdf((ms / m).ln() / SIGMA)
    }

    fn lerp(a: Reading, b: Reading, w: f64) -> Reading {
        let w = w.clamp(0.0, 1.0);
        Reading {
            rps: a.rps + (b.rps - a.rps) * w,
            error_rate_pct: a.error_rate_pct + (b.error_rate_pct - a.error_rate_pct) * w,
            p95_ms: a.p95_ms + (b.p95_ms - a.p95_ms) * w,
        }
    }
}

/// Standard normal CDF via the complementary error function (Numerical Recipes `erfcc`,
/// relative error < 1.2e-7 — far below what a dashboard shows).
fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Deterministic pseudo-noise in [0, 1) from a time bucket and a couple of salts (SplitMix64):
/// the same second always gives the same numbers, with no random crate and no shared RNG state.
pub fn noise(bucket: u64, a: u64, b: u64) -> f64 {
    let mut z = bucket
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(a.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(b.wrapping_mul(0x94D0_49BB_1331_11EB))
        .wrapping_add(0x2545_F491_4F6C_DD1D);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Values change every this many milliseconds of wall time.
pub const NOISE_BUCKET_MS: u64 = 2_000;

/// The point `n` (0-1) of the way from `lo` to `hi`.
pub fn span(lo: f64, hi: f64, n: f64) -> f64 {
    lo + (hi - lo) * n
}

/// `x` rounded to `decimals` places, as the JSON bodies show numbers.
pub fn round(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (x * p).round() / p
}

/// The endpoint that flaps in `flapping`: the first critical one.
fn flapping_index(endpoints: &[EndpointSpec]) -> usize {
    endpoints.iter().position(|e| e.critical).unwrap_or(0)
}

/// Shape of `degrade-then-recover`: 0 → 1 over 60 s, hold 30 s, 1 → 0 over 60 s.
pub fn degrade_factor(elapsed: Duration) -> f64 {
    let t = elapsed.as_secs_f64();
    if t < 60.0 {
        t / 60.0
    } else if t < 90.0 {
        1.0
    } else if t < 150.0 {
        1.0 - (t - 90.0) / 60.0
    } else {
        0.0
    }
}

/// Flapping alternates low for 2 s, high for 3 s.
pub fn flapping_high(elapsed: Duration) -> bool {
    elapsed.as_millis() % 5_000 >= 2_000
}

/// Normal values: error 0.1-0.6 %, p95 250-600 ms.
fn healthy(ep: &EndpointSpec, idx: usize, bucket: u64) -> Reading {
    let i = idx as u64;
    Reading {
        rps: ep.base_rps * span(0.85, 1.15, noise(bucket, i, 1)),
        error_rate_pct: span(0.1, 0.6, noise(bucket, i, 2)),
        p95_ms: span(250.0, 600.0, noise(bucket, i, 3)),
    }
}

/// What the scenario would show with the v1 modules fully on.
fn scenario_target(
    scenario: Scenario,
    elapsed: Duration,
    endpoints: &[EndpointSpec],
    idx: usize,
    bucket: u64,
) -> Reading {
    let ep = &endpoints[idx];
    let base = healthy(ep, idx, bucket);
    let i = idx as u64;
    let n = |salt| noise(bucket, i, salt);
    match scenario {
        Scenario::ErrorBurst if ep.critical => Reading {
            error_rate_pct: span(5.0, 12.0, n(4)),
            p95_ms: span(350.0, 800.0, n(5)),
            ..base
        },
        Scenario::ErrorBurst => Reading {
            error_rate_pct: span(0.8, 1.8, n(4)),
            ..base
        },
        Scenario::LatencySpike if ep.critical => Reading {
            p95_ms: span(1800.0, 3000.0, n(5)),
            ..base
        },
        Scenario::LatencySpike => Reading {
            p95_ms: span(700.0, 1100.0, n(5)),
            ..base
        },
        Scenario::Flapping if idx == flapping_index(endpoints) => {
            if flapping_high(elapsed) {
                Reading {
                    error_rate_pct: span(2.3, 2.5, n(4)),
                    p95_ms: span(1250.0, 1320.0, n(5)),
                    ..base
                }
            } else {
                Reading {
                    error_rate_pct: span(1.6, 1.8, n(4)),
                    p95_ms: span(1080.0, 1150.0, n(5)),
                    ..base
                }
            }
        }
        Scenario::DegradeThenRecover => {
            let bad = if ep.critical {
                Reading {
                    error_rate_pct: span(8.0, 10.0, n(4)),
                    p95_ms: span(2200.0, 2600.0, n(5)),
                    ..base
                }
            } else {
                Reading {
                    error_rate_pct: span(3.0, 4.0, n(4)),
                    p95_ms: span(1400.0, 1600.0, n(5)),
                    ..base
                }
            };
            Reading::lerp(base, bad, degrade_factor(elapsed))
        }
        // Transport faults answer (when they answer) with normal numbers.
        _ => base,
    }
}

/// The reading of one endpoint. `v1_weight` is 1 with the v1 modules on and 0 once rolled back
/// to legacy (ramping in between), so a rollback pulls every endpoint back to healthy values.
pub fn reading(
    scenario: Scenario,
    elapsed: Duration,
    v1_weight: f64,
    endpoints: &[EndpointSpec],
    idx: usize,
    bucket: u64,
) -> Reading {
    let base = healthy(&endpoints[idx], idx, bucket);
    let target = scenario_target(scenario, elapsed, endpoints, idx, bucket);
    Reading::lerp(base, target, v1_weight)
}

/// An error-rate range (%) and a p95 range (ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub err: (f64, f64),
    pub p95: (f64, f64),
}

impl Band {
    pub const fn new(err: (f64, f64), p95: (f64, f64)) -> Self {
        Band { err, p95 }
    }
}

/// The ranges one faulty path shows in each data scenario, for profiles whose thresholds are
/// not the brokers' ones (cohortlens, edn360, hse).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    pub healthy: Band,
    pub burst: Band,
    /// Errors stay at the healthy range in `latency-spike`; only `p95` is used.
    pub spike: Band,
    /// `flapping`: 2 s at `flap_low`, 3 s at `flap_high`.
    pub flap_low: Band,
    pub flap_high: Band,
    /// `degrade-then-recover` at its worst (`degrade_factor` = 1).
    pub degraded: Band,
}

impl Bands {
    /// A path no scenario touches: `band` whatever happens.
    pub const fn steady(band: Band) -> Self {
        Bands {
            healthy: band,
            burst: band,
            spike: band,
            flap_low: band,
            flap_high: band,
            degraded: band,
        }
    }
}

/// p95 of a log-normal path whose p99 is `p99_ms` (the inverse of `Reading::p99_ms`).
pub fn p95_from_p99(p99_ms: f64) -> f64 {
    p99_ms / ((Z99 - Z95) * SIGMA).exp()
}

fn pick(b: &Band, bucket: u64, salt: u64) -> (f64, f64) {
    (
        span(b.err.0, b.err.1, noise(bucket, salt, 2)),
        span(b.p95.0, b.p95.1, noise(bucket, salt, 3)),
    )
}

/// A path's reading from `bands`: the healthy values, pulled toward the scenario's values by
/// `weight` (1 = the faulty path takes all its traffic, 0 = rolled back). `salt` keeps the
/// noise of different paths apart. Transport scenarios show healthy numbers.
pub fn banded(
    bands: &Bands,
    scenario: Scenario,
    elapsed: Duration,
    weight: f64,
    rps: f64,
    bucket: u64,
    salt: u64,
) -> Reading {
    let (he, hp) = pick(&bands.healthy, bucket, salt);
    let base = Reading {
        rps,
        error_rate_pct: he,
        p95_ms: hp,
    };
    let with = |b: &Band| {
        let (e, p) = pick(b, bucket, salt);
        Reading {
            rps,
            error_rate_pct: e,
            p95_ms: p,
        }
    };
    let target = match scenario {
        Scenario::ErrorBurst => with(&bands.burst),
        Scenario::LatencySpike => Reading {
            error_rate_pct: he,
            ..with(&bands.spike)
        },
        Scenario::Flapping if flapping_high(elapsed) => with(&bands.flap_high),
        Scenario::Flapping => with(&bands.flap_low),
        Scenario::DegradeThenRecover => {
            Reading::lerp(base, with(&bands.degraded), degrade_factor(elapsed))
        }
        _ => base,
    };
    Reading::lerp(base, target, weight)
}

/// Aggregate over endpoints: request-weighted error rate and the p95 of the traffic mixture.
pub fn summarize(readings: &[Reading]) -> Reading {
    let rps: f64 = readings.iter().map(|r| r.rps).sum();
    if rps <= 0.0 {
        return Reading {
            rps: 0.0,
            error_rate_pct: 0.0,
            p95_ms: 0.0,
        };
    }
    let err = readings
        .iter()
        .map(|r| r.rps * r.error_rate_pct)
        .sum::<f64>()
        / rps;
    let parts: Vec<(f64, Reading)> = readings.iter().map(|r| (r.rps, *r)).collect();
    Reading {
        rps,
        error_rate_pct: err,
        p95_ms: mixture_quantile_ms(&parts, 0.95).unwrap_or(0.0),
    }
}

/// The `q` quantile (0-1) of the latency of a mixture of paths, each weighted by its share of
/// the requests (`(weight, reading)`); `None` without any weight.
pub fn mixture_quantile_ms(parts: &[(f64, Reading)], q: f64) -> Option<f64> {
    let total: f64 = parts.iter().map(|(w, _)| w.max(0.0)).sum();
    if total <= 0.0 || !q.is_finite() {
        return None;
    }
    let q = q.clamp(0.0, 1.0);
    let mix = |ms: f64| {
        parts
            .iter()
            .map(|(w, r)| w.max(0.0) * r.cdf(ms))
            .sum::<f64>()
            / total
    };
    let (mut lo, mut hi) = (0.0f64, 1_000_000.0f64);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if mix(mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// `{key="value"}`, the labels of one exposition sample.
pub(crate) fn label(key: &str, value: &str) -> String {
    format!("{{{key}=\"{value}\"}}")
}

/// Appends one gauge family to an exposition text: its HELP and TYPE lines, then
/// `name{labels} value` per sample (`labels` is `""` or from `label`).
pub(crate) fn gauge<V: fmt::Display>(
    out: &mut String,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (String, V)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, v) in samples {
        let _ = writeln!(out, "{name}{labels} {v}");
    }
}

/// Histogram bucket bounds in seconds (Prometheus `le`).
pub const BUCKETS_S: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0,
];

/// Running totals for one endpoint, kept as floats and shown floored, so every shown value
/// is a non-decreasing integer.
#[derive(Debug, Clone, Default)]
struct EndpointTotals {
    ok: f64,
    err: f64,
    count: f64,
    sum_s: f64,
    buckets: [f64; BUCKETS_S.len()],
}

/// Monotonic Prometheus counters for all endpoints of a profile.
#[derive(Debug, Clone)]
pub struct Counters {
    totals: Vec<EndpointTotals>,
}

impl Counters {
    pub fn new(endpoints: usize) -> Self {
        Counters {
            totals: vec![EndpointTotals::default(); endpoints],
        }
    }

    /// Adds `dt` worth of traffic at the given readings (one per endpoint).
    pub fn add(&mut self, readings: &[Reading], dt: Duration) {
        let secs = dt.as_secs_f64();
        for (t, r) in self.totals.iter_mut().zip(readings) {
            let n = (r.rps * secs).max(0.0);
            let e = (r.error_rate_pct / 100.0).clamp(0.0, 1.0);
            t.ok += n * (1.0 - e);
            t.err += n * e;
            t.count += n;
            t.sum_s += n * r.mean_ms() / 1000.0;
            for (b, le) in t.buckets.iter_mut().zip(BUCKETS_S) {
                *b += n * r.cdf(le * 1000.0);
            }
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self, endpoints: &[EndpointSpec], extra: &str) -> String {
        let mut out = String::with_capacity(8 * 1024);
        out.push_str("# HELP http_requests_total Requests served, by path and status code.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for (ep, t) in endpoints.iter().zip(&self.totals) {
            let _ = writeln!(
                out,
                "http_requests_total{{path=\"{}\",code=\"200\"}} {}",
                ep.path,
                t.ok.floor()
            );
            let _ = writeln!(
                out,
                "http_requests_total{{path=\"{}\",code=\"500\"}} {}",
                ep.path,
                t.err.floor()
            );
        }
        out.push_str("# HELP http_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (ep, t) in endpoints.iter().zip(&self.totals) {
            let count = t.count.floor();
            for (b, le) in t.buckets.iter().zip(BUCKETS_S) {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{path=\"{}\",le=\"{}\"}} {}",
                    ep.path,
                    le,
                    b.floor().min(count)
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{path=\"{}\",le=\"+Inf\"}} {}",
                ep.path, count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{path=\"{}\"}} {:.3}",
                ep.path, t.sum_s
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{path=\"{}\"}} {}",
                ep.path, count
            );
        }
        out.push_str(extra);
        out
    }
}
