//! The Brokers profile (seed 003, the Spanish production runbook): health, check-files, the
//! cutover metrics URL, the feature flags whose switch-off is the rollback, and the analytics
//! endpoints the runbook smoke-tests.
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

use super::metrics::{summarize, EndpointSpec, Reading};
use super::{json_error, json_response, ProfileSpec, Shared};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;

/// The flag the runbook switches off to roll back ("Desactivar feature flag de modulos v1").
pub const FLAG_V1_MODULES: &str = "brokers_v1_modules";
pub const FLAG_LEGACY_FALLBACK: &str = "legacy_fallback";

const fn ep(path: &'static str, critical: bool, base_rps: f64) -> EndpointSpec {
    EndpointSpec {
        path,
        critical,
        base_rps,
    }
}

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
    rollback_flag: FLAG_V1_MODULES,
    rolled_back_value: false,
    initial_weight: 1.0,
    routes: &[
        ("GET", "/api/v1/health", "health"),
        ("GET", "/api/check-files", "file check"),
        (
            "GET",
            "/analytics/ops/metrics",
            "cutover metrics (CUTOVER_METRICS_URL)",
        ),
        ("GET", "/api/v1/admin/flags", "feature flags (bearer token)"),
        (
            "POST",
            "/api/v1/admin/flags/{name}",
            "set a flag: {\"enabled\": false} on brokers_v1_modules is the rollback",
        ),
        (
            "GET",
            "/api/v1/analytics/...",
            "analytics endpoints (fail at the error rate)",
        ),
    ],
};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    let mut r = Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/check-files", get(check_files))
        .route("/analytics/ops/metrics", get(ops_metrics))
        .route("/api/v1/admin/flags", get(get_flags))
        .route("/api/v1/admin/flags/{name}", axum::routing::post(set_flag));
    for (idx, e) in ENDPOINTS.iter().enumerate() {
        let h = move |State(sh): State<Arc<Shared>>| async move { endpoint(sh, idx) };
        r = r.route(e.path, get(h).post(h));
    }
    r
}

async fn health() -> Response {
    json_response(
        StatusCode::OK,
        json!({"status": "ok", "version": SPEC.version, "db": "ok"}),
    )
}

async fn check_files() -> Response {
    json_response(
        StatusCode::OK,
        json!({"ok": true, "checked": 42, "missing": []}),
    )
}

fn round(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (x * p).round() / p
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

async fn ops_metrics(State(sh): State<Arc<Shared>>) -> Response {
    let (readings, at) = sh.current();
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json_response(StatusCode::OK, ops_metrics_json(&readings, &at))
}

fn flags_body(sh: &Shared) -> Value {
    json!({"flags": sh.flags()})
}

async fn get_flags(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(resp) = sh.admin_denied(&headers) {
        return resp;
    }
    json_response(StatusCode::OK, flags_body(&sh))
}

async fn set_flag(
    State(sh): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let enabled = match super::enabled_body(&sh, &headers, &body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    match sh.set_flag(&name, enabled) {
        Some(_) => json_response(StatusCode::OK, flags_body(&sh)),
        None => json_error(
            StatusCode::NOT_FOUND,
            "unknown_flag",
            format!(
                "no flag `{name}`; known flags: {}",
                SPEC.flags
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    }
}

/// The analytics endpoints themselves: fail at the reported error rate, so a smoke test run
/// against the simulator sees what the dashboard sees.
fn endpoint(sh: Arc<Shared>, idx: usize) -> Response {
    let served_by = if sh.flags().get(FLAG_V1_MODULES).copied().unwrap_or(true) {
        "v1"
    } else {
        "legacy"
    };
    let path = ENDPOINTS.get(idx).map(|e| e.path).unwrap_or("");
    if sh.serve_fails(idx) {
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("simulated failure on {path} ({served_by})"),
        );
    }
    json_response(
        StatusCode::OK,
        json!({"ok": true, "path": path, "served_by": served_by}),
    )
}
