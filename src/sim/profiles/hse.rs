//! The HSE profile (a strangler-fig migration on AWS with a traffic split): the ALB
//! readiness check, the traffic split percent (`TRAFFIC_SPLIT_PERCENT`, SSM parameter
//! `/hse/traffic-split-percent`, feature flag `traffic_split_iot_core`) and the old and new
//! systems' error rate and p99 side by side, with drift.
//!
//! The split starts at 10 (the migration's week 5). Scenario faults hit the new system only, in proportion
//! to its share of the traffic (`flapping` at full strength from 10 % up); setting the split
//! to 0 is **the rollback**: traffic moves back to the old system over ~3 s and the new
//! system's numbers (and the drift) recover. The old system is always healthy.
//!
//! `/admin/*` endpoints, GET included, need `Authorization: Bearer <token>` when the
//! simulator has a token; `/health*` are open.
//!
//! - `GET /health/readiness` → `{"status":"ok","checks":{"database":"ok","redis":"ok",
//!   "devices_grpc":"ok"}}`.
//! - `GET /health` → `{"status":"ok","traffic_split_percent":u8,"serving":"old"|"split"|
//!   "new"}` (to check that traffic is back on the old system: "verificar que tráfico vuelve a
//!   sistema viejo").
//! - `GET /admin/traffic-split` → `{"percent":u8,"effective_percent":f64,"parameter":
//!   "/hse/traffic-split-percent","feature_flag":"traffic_split_iot_core"}`
//!   (`effective_percent` ramps to `percent` over ~3 s after a change).
//! - `POST` or `PUT /admin/traffic-split` with `{"percent":0|10|50|100}` (any integer 0-100)
//!   → the same plus `"previous_percent":u8`; 400 otherwise. `{"percent":0}` is the rollback.
//! - `GET /admin/metrics` → `{"generated_at":rfc3339,"window_seconds":60,
//!   "traffic_split_percent":u8,"effective_split_percent":f64,"old":{"requests":u64,
//!   "error_rate_pct":f64,"p50_ms":f64,"p95_ms":f64,"p99_ms":f64},"new":{same},
//!   "overall":{same, traffic-weighted},"drift_pct":f64}`. `drift_pct` is the discrepancy
//!   rate between the systems' answers (the migration alerts over 1 %). Error rate 3 decimals, ms 1.
//! - `GET|POST /api/iot/events` → `{"ok":true,"served_by":"old"|"new"}`, routed by the split,
//!   500 at the serving system's error rate.
//! - `/metrics`: `http_requests_total` etc. with `path="old_system"` / `path="new_system"`
//!   (as the migration's `traffic_split.old_system` / `.new_system`); gauges
//!   `hse_traffic_split_percent`, `hse_error_rate_pct{system}`, `hse_p99_ms{system}`,
//!   `hse_drift_pct` (the JSON's values).
//!
//! Where the team watches it (the numbers come from the same history):
//! - SSM parameter `/hse/traffic-split-percent` (for the `aws` stand-in): the split itself.
//!   `aws ssm put-parameter --name /hse/traffic-split-percent --value 0 --overwrite` moves it
//!   (any value; read as the app compares it: a number, clamped to 0-100, anything else 0),
//!   and setting the split over HTTP writes it (a new version).
//! - CloudWatch `AWS/ApplicationELB` (see `vendor::cloudwatch`), load balancer
//!   `LB`, target groups `TG_OLD` (old system) and `TG_NEW` (new): `RequestCount`,
//!   `HTTPCode_Target_5XX_Count` (`Sum`), `TargetResponseTime` (`p99`, seconds).
//! - New Relic (`POST /graphql`): apps `hse-old-system` and `hse-monolith`, e.g.
//!   `SELECT percentage(count(*), WHERE error IS true) AS 'error_rate', percentile(duration, 99) FROM Transaction WHERE appName = 'hse-monolith' SINCE 5 minutes ago`.
//! - Datadog (`GET /api/v1/query`): services `hse-old-system` and `hse-monolith`.
//!
//! Numbers (the migration's targets: error rate < 0.1 %, p99 < 500 ms, drift ≤ 1 %): healthy old
//! 0.02-0.08 % / p99 250-420 ms, new 0.01-0.06 % / p99 220-400 ms, drift 0.1-0.5 %. New
//! system at 100 %: `error-burst` 8-15 % (so 0.8-1.5 % at a 10 % split), drift 15-25 %;
//! `latency-spike` p99 3500-4500 ms (≈ 550-800 ms at 10 %); `flapping` alternates
//! 0.07-0.09 % / p99 440-480 ms / drift 0.8-0.95 % (2 s) and 0.12-0.16 % / 520-580 ms /
//! 1.1-1.4 % (3 s); `degrade-then-recover` up to 5-8 % and p99 3500-4200 ms, drift 12-18 %
//! (over the thresholds at its worst from a 10 % split up).

use crate::sim::endpoint::{self, ok, simulated_failure, Answer, Call};
use crate::sim::metrics::{
    banded, degrade_factor, ep, flapping_high, gauge, label, noise, p95_from_p99, round, span,
    summarize, Band, Bands, EndpointSpec, Reading,
};
use crate::sim::profile::Parameter;
use crate::sim::profile::{Lever, Method, ProfileSpec, Rollback, Route};
use crate::sim::scenario::Scenario;
use crate::sim::state::{ReadCtx, Sim, SimEvent};
use crate::sim::telemetry::{App, TargetGroup, Telemetry};
use crate::sim::vendor::{datadog, nerdgraph, ssm};
use serde_json::{json, Value};

pub const PARAMETER: &str = "/hse/traffic-split-percent";
pub const FEATURE_FLAG: &str = "traffic_split_iot_core";
/// The split at start (week 5 of the migration).
pub const INITIAL_SPLIT: u8 = 10;
/// The ALB and its two target groups, as CloudWatch's dimensions name them.
pub const LB: &str = "app/hse-alb/5d2f7c1e9a3b4c6d";
pub const TG_OLD: &str = "targetgroup/hse-old-system-tg/8a1b2c3d4e5f6a7b";
pub const TG_NEW: &str = "targetgroup/hse-monolith-tg/3c4d5e6f7a8b9c0d";

pub const ENDPOINTS: [EndpointSpec; 2] = [
    ep("old_system", false, 100.0),
    ep("new_system", true, 100.0),
];
const OLD: usize = 0;
const NEW: usize = 1;
const FLOOR_RPS: f64 = 0.2;

pub static SPEC: ProfileSpec = ProfileSpec {
    name: "hse",
    version: "2.0.0",
    endpoints: &ENDPOINTS,
    flags: &[],
    rollback: Rollback {
        lever: Lever::Weight,
        method: Method::Post,
        path: "/admin/traffic-split",
        body: r#"{"percent": 0}"#,
    },
    initial_weight: INITIAL_SPLIT as f64 / 100.0,
    routes: &[
        Route::get("/health/readiness", readiness).shown("readiness (ALB health check)"),
        Route::get("/health", health).shown("health with the split"),
        Route::get("/admin/traffic-split", get_split)
            .admin()
            .shown("{\"percent\": n} (bearer token)"),
        Route::new(
            &[Method::Post, Method::Put],
            "/admin/traffic-split",
            set_split,
        )
        .admin()
        .shown("{\"percent\": 0|10|50|100}; 0 is the rollback (PUT too)"),
        Route::get("/admin/metrics", admin_metrics)
            .admin()
            .shown("old vs new error_rate_pct / p99_ms, drift_pct"),
        Route::new(&[Method::Get, Method::Post], "/api/iot/events", events)
            .shown("served by old or new per the split"),
        Route::get("/api/v1/query", datadog::query)
            .shown("Datadog metrics query (DD-API-KEY, DD-APPLICATION-KEY)"),
        Route::post("/graphql", nerdgraph::graphql).shown("New Relic NerdGraph NRQL (API-Key)"),
    ],
    mirrors: &[],
    serve: None,
    readings,
    gauges,
    telemetry: Telemetry {
        apps: &[
            App {
                newrelic: "hse-old-system",
                datadog_tags: &[("service", "hse-old-system"), ("env", "production")],
                endpoints: &[OLD],
            },
            App {
                newrelic: "hse-monolith",
                datadog_tags: &[("service", "hse-monolith"), ("env", "production")],
                endpoints: &[NEW],
            },
        ],
        target_groups: &[
            TargetGroup {
                dimension: TG_OLD,
                load_balancer: LB,
                endpoints: &[OLD],
            },
            TargetGroup {
                dimension: TG_NEW,
                load_balancer: LB,
                endpoints: &[NEW],
            },
        ],
        containers: &[],
    },
    parameters: &[Parameter {
        name: PARAMETER,
        kind: "String",
        initial: "10",
        apply: Some(apply_split),
    }],
    dotenv: None,
    mongo: None,
};

/// The percent the app reads from the parameter: it compares `(hash % 100) < percent` with
/// the value as JavaScript does, so a number is taken as it is (below 0: nobody, above 100:
/// everybody) and anything else (NaN) sends nobody to the new system.
pub fn split_from_parameter(value: &str) -> f64 {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
        .clamp(0.0, 100.0)
}

/// `put-parameter` on the split: the traffic moves.
fn apply_split(sim: &Sim, value: &str) {
    let pct = split_from_parameter(value);
    let previous = split_of(sim.set_weight_target(pct / 100.0));
    sim.emit(SimEvent::ValueChanged {
        name: PARAMETER.to_string(),
        from: previous.to_string(),
        to: value.to_string(),
    });
}

const fn b99(err: (f64, f64), p99: (f64, f64)) -> (f64, f64, f64, f64) {
    (err.0, err.1, p99.0, p99.1)
}

fn band(x: (f64, f64, f64, f64)) -> Band {
    Band {
        err: (x.0, x.1),
        p95: (p95_from_p99(x.2), p95_from_p99(x.3)),
    }
}

const OLD_HEALTHY: (f64, f64, f64, f64) = b99((0.02, 0.08), (250.0, 420.0));
const NEW_HEALTHY: (f64, f64, f64, f64) = b99((0.01, 0.06), (220.0, 400.0));

fn new_bands() -> Bands {
    Bands {
        healthy: band(NEW_HEALTHY),
        burst: band(b99((8.0, 15.0), (300.0, 600.0))),
        spike: band(b99((0.01, 0.06), (3500.0, 4500.0))),
        flap_low: band(b99((0.07, 0.09), (440.0, 480.0))),
        flap_high: band(b99((0.12, 0.16), (520.0, 580.0))),
        degraded: band(b99((5.0, 8.0), (3500.0, 4200.0))),
    }
}

fn old_bands() -> Bands {
    Bands::steady(band(OLD_HEALTHY))
}

/// How hard the faults hit the new system at this effective split (0-1).
fn intensity(ctx: &ReadCtx) -> f64 {
    let k = ctx.weight.clamp(0.0, 1.0);
    match ctx.scenario {
        Scenario::Flapping => (k * 10.0).min(1.0),
        _ => k,
    }
}

pub(crate) fn drift_pct(ctx: &ReadCtx) -> f64 {
    let n = |salt| noise(ctx.bucket, 91, salt);
    let healthy = span(0.1, 0.5, n(1));
    let target = match ctx.scenario {
        Scenario::ErrorBurst => span(15.0, 25.0, n(2)),
        Scenario::Flapping if flapping_high(ctx.elapsed) => span(1.1, 1.4, n(2)),
        Scenario::Flapping => span(0.8, 0.95, n(2)),
        Scenario::DegradeThenRecover => {
            healthy + (span(12.0, 18.0, n(2)) - healthy) * degrade_factor(ctx.elapsed)
        }
        _ => healthy,
    };
    healthy + (target - healthy) * intensity(ctx)
}

pub(crate) fn readings(ctx: &ReadCtx) -> Vec<Reading> {
    let k = ctx.weight.clamp(0.0, 1.0);
    let old = banded(
        &old_bands(),
        Scenario::Healthy,
        ctx.elapsed,
        0.0,
        (ENDPOINTS[OLD].base_rps * (1.0 - k)).max(FLOOR_RPS),
        ctx.bucket,
        OLD as u64,
    );
    let new = banded(
        &new_bands(),
        ctx.scenario,
        ctx.elapsed,
        intensity(ctx),
        (ENDPOINTS[NEW].base_rps * k).max(FLOOR_RPS),
        ctx.bucket,
        NEW as u64,
    );
    vec![old, new]
}

fn entry(r: &Reading) -> Value {
    json!({
        "requests": (r.rps * 60.0).round() as u64,
        "error_rate_pct": round(r.error_rate_pct, 3),
        "p50_ms": round(r.median_ms(), 1),
        "p95_ms": round(r.p95_ms, 1),
        "p99_ms": round(r.p99_ms(), 1),
    })
}

fn split_of(target: f64) -> u8 {
    (target * 100.0).round().clamp(0.0, 100.0) as u8
}

/// The `/admin/metrics` body; `split` is the set percent.
pub(crate) fn metrics_json(
    ctx: &ReadCtx,
    readings: &[Reading],
    split: u8,
    generated_at: &str,
) -> Value {
    let pick = |i: usize| {
        readings.get(i).copied().unwrap_or(Reading {
            rps: 0.0,
            error_rate_pct: 0.0,
            p95_ms: 0.0,
        })
    };
    json!({
        "generated_at": generated_at,
        "window_seconds": 60,
        "traffic_split_percent": split,
        "effective_split_percent": round(ctx.weight * 100.0, 1),
        "old": entry(&pick(OLD)),
        "new": entry(&pick(NEW)),
        "overall": entry(&summarize(readings)),
        "drift_pct": round(drift_pct(ctx), 3),
    })
}

/// The `/metrics` gauges: the metrics JSON's values per system.
pub(crate) fn gauges(ctx: &ReadCtx, readings: &[Reading], out: &mut String) {
    let systems = [(OLD, "old"), (NEW, "new")];
    let per_system = |value: fn(&Reading) -> f64| {
        systems
            .iter()
            .filter_map(move |(i, sys)| Some((label("system", sys), value(readings.get(*i)?))))
    };
    // The effective split: equal to the set one once the ~3 s ramp is over.
    gauge(
        out,
        "hse_traffic_split_percent",
        "Share of traffic on the new system (%).",
        [(String::new(), round(ctx.weight * 100.0, 1))],
    );
    gauge(
        out,
        "hse_error_rate_pct",
        "Error rate per system over 60 s (%).",
        per_system(|r| round(r.error_rate_pct, 3)),
    );
    gauge(
        out,
        "hse_p99_ms",
        "p99 latency per system (ms).",
        per_system(|r| round(r.p99_ms(), 1)),
    );
    gauge(
        out,
        "hse_drift_pct",
        "Discrepancy rate between old and new answers (%).",
        [(String::new(), round(drift_pct(ctx), 3))],
    );
}

fn readiness(_: &Sim, _: &Call) -> Answer {
    ok(json!({"status": "ok", "checks": {"database": "ok", "redis": "ok", "devices_grpc": "ok"}}))
}

fn health(sim: &Sim, _: &Call) -> Answer {
    let split = split_of(sim.weight_target());
    let serving = match split {
        0 => "old",
        100 => "new",
        _ => "split",
    };
    ok(json!({"status": "ok", "traffic_split_percent": split, "serving": serving}))
}

fn split_body(sim: &Sim) -> Value {
    let split = split_of(sim.weight_target());
    let effective = sim.with_now(|ctx, _, _| ctx.weight);
    json!({
        "percent": split,
        "effective_percent": round(effective * 100.0, 1),
        "parameter": PARAMETER,
        "feature_flag": FEATURE_FLAG,
    })
}

fn get_split(sim: &Sim, _: &Call) -> Answer {
    ok(split_body(sim))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SetSplit {
    percent: u8,
}

fn set_split(sim: &Sim, call: &Call) -> Answer {
    let req: SetSplit = match serde_json::from_slice(&call.body) {
        Ok(v) if v.percent <= 100 => v,
        Ok(SetSplit { percent }) => {
            return Err(endpoint::bad_request(format!(
                "percent {percent} is out of range: give 0-100 (steps 0, 10, 50, 100)"
            )))
        }
        Err(e) => {
            return Err(endpoint::bad_request(format!(
                "expected a JSON body {{\"percent\": 0|10|50|100}}: {e}"
            )))
        }
    };
    let previous = split_of(sim.set_weight_target(f64::from(req.percent) / 100.0));
    ssm::record(sim, PARAMETER, &req.percent.to_string());
    if previous != req.percent {
        sim.emit(SimEvent::ValueChanged {
            name: FEATURE_FLAG.to_string(),
            from: previous.to_string(),
            to: req.percent.to_string(),
        });
    }
    let mut body = split_body(sim);
    if let Some(o) = body.as_object_mut() {
        o.insert("previous_percent".into(), json!(previous));
    }
    ok(body)
}

fn admin_metrics(sim: &Sim, _: &Call) -> Answer {
    let split = split_of(sim.weight_target());
    endpoint::report(sim, |ctx, readings, at| {
        metrics_json(ctx, readings, split, at)
    })
}

/// Routed by the split like the migration's interceptor (a request counter instead of a hash
/// of the user id), failing at the serving system's error rate.
fn events(sim: &Sim, _: &Call) -> Answer {
    let n = sim.served();
    let k = sim.with_now(|ctx, _, _| ctx.weight);
    let idx = if noise(n, 5, 5) < k { NEW } else { OLD };
    let served_by = if idx == NEW { "new" } else { "old" };
    if sim.serve_fails(idx) {
        return Ok(simulated_failure(format!("the {served_by} system")));
    }
    ok(json!({"ok": true, "served_by": served_by}))
}
