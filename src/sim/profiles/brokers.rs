//! The Brokers profile: the cutover of a brokers' analytics platform to its v1 modules, rolled
//! back by switching the feature flag off ("Desactivar feature flag de modulos v1"). It serves
//! health, check-files, the cutover metrics URL, the flags and the analytics endpoints a smoke
//! test calls.
//!
//! - `GET /api/v1/health` → `{"status":"ok","version":"1.0.0","db":"ok"}`
//! - `GET /api/check-files` → `{"ok":true,"checked":42,"missing":[]}`
//! - `GET /analytics/ops/metrics` → `{"generated_at","window_seconds":60,"summary":{"requests",
//!   "error_rate_pct","p95_ms","p99_ms"},"endpoints":[{"path","critical","requests",
//!   "error_rate_pct","p95_ms","p99_ms"}…]}`
//! - `GET /api/v1/admin/flags`, `POST /api/v1/admin/flags/{name}` with `{"enabled": bool}` →
//!   `{"flags":{"brokers_v1_modules":bool,"legacy_fallback":bool}}` (bearer token when set;
//!   400 bad body, 404 unknown flag). `brokers_v1_modules = false` is the rollback.
//! - `GET|POST` each analytics path → `{"ok":true,"path","served_by":"v1"|"legacy"}` or a 500.

use crate::sim::endpoint::{self, ok, simulated_failure, unknown_flag, Answer, Call};
use crate::sim::metrics::{self, ep, round, summarize, EndpointSpec, Reading};
use crate::sim::profile::{Lever, Method, ProfileSpec, Rollback, Route, Serve};
use crate::sim::state::{ReadCtx, Sim};
use crate::sim::telemetry::Telemetry;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

/// The flag switched off to roll back.
pub const FLAG_V1_MODULES: &str = "brokers_v1_modules";
pub const FLAG_LEGACY_FALLBACK: &str = "legacy_fallback";

pub const ENDPOINTS: [EndpointSpec; 8] = [
    ep("/api/v1/analytics/portfolio/summary", true, 12.0),
    ep("/api/v1/analytics/rendimiento/summary", false, 5.0),
    ep("/api/v1/analytics/mora/summary", false, 4.0),
    ep("/api/v1/analytics/brokers/summary", true, 10.0),
    ep("/api/v1/analytics/export/csv", false, 1.0),
    ep("/api/v1/analytics/export/pdf", false, 0.5),
    ep("/api/v1/brokers/preferences", true, 6.0),
    ep("/api/v1/auth/login", true, 3.0),
];

pub static SPEC: ProfileSpec = ProfileSpec {
    name: "brokers",
    version: "1.0.0",
    endpoints: &ENDPOINTS,
    flags: &[(FLAG_V1_MODULES, true), (FLAG_LEGACY_FALLBACK, false)],
    rollback: Rollback {
        lever: Lever::Flag {
            name: FLAG_V1_MODULES,
            rolled_back: false,
        },
        method: Method::Post,
        path: "/api/v1/admin/flags/brokers_v1_modules",
        body: r#"{"enabled": false}"#,
    },
    initial_weight: 1.0,
    routes: &[
        Route::get("/api/v1/health", health).shown("health"),
        Route::get("/api/check-files", check_files).shown("file check"),
        Route::get("/analytics/ops/metrics", ops_metrics)
            .shown("cutover metrics (CUTOVER_METRICS_URL)"),
        Route::get("/api/v1/admin/flags", endpoint::flags)
            .admin()
            .shown("feature flags (bearer token)"),
        Route::post("/api/v1/admin/flags/{name}", set_flag)
            .admin()
            .shown("set a flag: {\"enabled\": false} on brokers_v1_modules is the rollback"),
    ],
    mirrors: &[],
    serve: Some(Serve {
        handler: serve,
        shown: Some((
            "/api/v1/analytics/...",
            "analytics endpoints (fail at the error rate)",
        )),
    }),
    readings,
    gauges: |_, _, _| {},
    telemetry: Telemetry::NONE,
    parameters: &[],
    dotenv: None,
    mongo: None,
};

/// The shared model: critical paths take the scenario's faults, the others a milder share.
fn readings(ctx: &ReadCtx) -> Vec<Reading> {
    (0..ENDPOINTS.len())
        .map(|i| {
            metrics::reading(
                ctx.scenario,
                ctx.elapsed,
                ctx.weight,
                &ENDPOINTS,
                i,
                ctx.bucket,
            )
        })
        .collect()
}

fn health(_: &Sim, _: &Call) -> Answer {
    ok(json!({"status": "ok", "version": SPEC.version, "db": "ok"}))
}

fn check_files(_: &Sim, _: &Call) -> Answer {
    ok(json!({"ok": true, "checked": 42, "missing": []}))
}

fn entry(r: &Reading) -> (u64, f64, f64, f64) {
    (
        (r.rps * 60.0).round() as u64,
        round(r.error_rate_pct, 2),
        round(r.p95_ms, 1),
        round(r.p99_ms(), 1),
    )
}

/// The shape `cutover_window_monitor.py` reads, per endpoint and overall, for a 60 s window.
pub(crate) fn ops_metrics_json(readings: &[Reading], generated_at: &str) -> Value {
    let (requests, err, p95, p99) = entry(&summarize(readings));
    let endpoints: Vec<Value> = ENDPOINTS
        .iter()
        .zip(readings)
        .map(|(e, r)| {
            let (requests, err, p95, p99) = entry(r);
            json!({
                "path": e.path,
                "critical": e.critical,
                "requests": requests,
                "error_rate_pct": err,
                "p95_ms": p95,
                "p99_ms": p99,
            })
        })
        .collect();
    json!({
        "generated_at": generated_at,
        "window_seconds": 60,
        "summary": {"requests": requests, "error_rate_pct": err, "p95_ms": p95, "p99_ms": p99},
        "endpoints": endpoints,
    })
}

fn ops_metrics(sim: &Sim, _: &Call) -> Answer {
    endpoint::report(sim, |_, readings, at| ops_metrics_json(readings, at))
}

fn set_flag(sim: &Sim, call: &Call) -> Answer {
    let enabled = endpoint::enabled(call)?;
    match sim.set_flag(&call.param, enabled) {
        Some(_) => endpoint::flags(sim, call),
        None => Err(unknown_flag(&SPEC, &call.param)),
    }
}

/// The analytics endpoints themselves: fail at the reported error rate, so a smoke test run
/// against the simulator sees what the dashboard sees.
fn serve(sim: &Sim, idx: usize) -> Response {
    let served_by = if sim.flag(FLAG_V1_MODULES) {
        "v1"
    } else {
        "legacy"
    };
    let path = ENDPOINTS.get(idx).map(|e| e.path).unwrap_or("");
    if sim.serve_fails(idx) {
        return simulated_failure(format!("{path} ({served_by})"));
    }
    endpoint::json_response(
        StatusCode::OK,
        json!({"ok": true, "path": path, "served_by": served_by}),
    )
}
