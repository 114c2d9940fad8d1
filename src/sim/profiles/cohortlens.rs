//! The CohortLens profile (the Python v1 → TypeScript v2 migration): the v2 admin API with its phase flags (beta → shadow → cutover → deprecation), the v2 health
//! check, and v1 and v2 error rate and p95 side by side. Scenario faults hit v2 (the new
//! system) in proportion to the share of traffic v2 serves as primary; v1 always stays healthy.
//!
//! Every `/api/v2/admin/*` endpoint, GET included, needs `Authorization: Bearer <token>` when
//! the simulator has a token (401 otherwise, so a poll written as a bare `curl … | jq` must
//! send it). POST bodies are optional for the phase actions and ignored.
//!
//! - `GET /api/v2/health` → `{"status":"ok","version":"2.0.0","v2_enabled":bool}` (open).
//! - `GET /api/v2/admin/flags` → `{"flags":{"v2_enabled":bool,"v2_primary":bool,
//!   "shadow_mode":bool,"v1_deprecated":bool,"migration_logging":bool},"migration_status":
//!   {"phase":"v1_only"|"beta"|"shadow"|"cutover"|"deprecation","primary":"v1"|"v2",
//!   "v2_traffic_pct":f64}}`. Phase: `v1_deprecated` → deprecation, else `v2_primary` →
//!   cutover, else `shadow_mode` → shadow, else `v2_enabled` → beta, else v1_only.
//!   Initial state: cutover (`v2_enabled`, `v2_primary`, `migration_logging` true; the others
//!   false).
//! - `POST /api/v2/admin/flags` with `{"flag":"v2_enabled","enabled":true}` (one flag) or
//!   `{"v2_enabled":true,…}` (several at once) → the same body as `GET`; and
//!   `POST /api/v2/admin/flags/{name}` with `{"enabled":bool}` → same. 400 bad body, 404
//!   unknown flag. `v2_enabled=false` is the kill switch: it also clears `v2_primary` and
//!   `shadow_mode`. `v2_primary=false` is the rollback.
//! - `POST /api/v2/admin/enable-shadow-mode` → `{"message":"Shadow mode enabled","status":
//!   "v1 primary with v2 shadows enabled","flags":{…}}`; sets `v2_enabled`, `shadow_mode`,
//!   clears `v2_primary` (v1 primary).
//! - `POST /api/v2/admin/migrate-to-v2` → `{"message":"Migrated to v2 primary","status":
//!   {"v2_primary":true,"shadow_mode":false,"migration_logging":true},"flags":{…}}`; also sets
//!   `v2_enabled`. Traffic moves to v2 (and its faults show) over ~3 s.
//! - `POST /api/v2/admin/rollback-to-v1` → `{"message":"Rolled back to v1 primary","status":
//!   {"v2_primary":false,"shadow_mode":false,"v1_deprecated":false},"flags":{…}}`. **The
//!   rollback**: traffic goes back to v1 and v2's numbers recover within ~3 s.
//! - `POST /api/v2/admin/complete-v1-deprecation` → `{"message":"v1 marked as deprecated",
//!   "status":{"v1_deprecated":true,"v1_endpoints":"returning 410 Gone"},"flags":{…}}`;
//!   409 `{"error":"conflict","detail"}` while v2 is not primary.
//! - `GET /api/v2/admin/metrics` → `{"generated_at":rfc3339,"window_seconds":60,
//!   "primary":"v1"|"v2","v1":{"requests":u64,"error_rate_pct":f64,"p95_ms":f64,
//!   "p99_ms":f64},"v2":{same},"endpoints":[{"path","version":"v1"|"v2","requests",
//!   "error_rate_pct","p95_ms","p99_ms"}…]}` (60 s window; error rate 3 decimals, ms 1).
//! - `GET|POST /api/v1/predict`, `/api/v1/segment` → `{"ok":true,"path","served_by":"v1"}`,
//!   410 once `v1_deprecated`; `GET|POST /api/v2/predict`, `/api/v2/segment` →
//!   `{"ok":true,"path","served_by":"v2"}`, 503 while `v2_enabled` is false, 500 at v2's
//!   error rate.
//! - `/metrics` also has `cohortlens_error_rate_pct{version}`, `cohortlens_p95_ms{version}`
//!   (the JSON's values) and `cohortlens_v2_traffic_ratio`.
//!
//! Where the team watches it ("Datadog/New Relic"; the numbers come from the same history):
//! - `GET /api/v1/query` — Datadog (headers `DD-API-KEY`, `DD-APPLICATION-KEY`; see
//!   `vendor::datadog`). Service `cohortlens-api`, tagged `version:v1` (the Python API,
//!   /api/v1/*) or `version:v2` (the TypeScript API, /api/v2/*), `env:production`:
//!   - error rate (%):
//!     `sum:trace.http.request.errors{service:cohortlens-api,version:v2}.as_count() / sum:trace.http.request.hits{service:cohortlens-api,version:v2}.as_count() * 100`
//!     (`version:v1` for v1), read at `.series[0].pointlist[-1][1]`;
//!   - p95 (seconds; `scale = 1000` for ms):
//!     `p95:trace.http.request{service:cohortlens-api,version:v2}`.
//! - `POST /graphql` — New Relic NerdGraph (header `API-Key`, account
//!   `vendor::nerdgraph::ACCOUNT_ID`); apps `cohortlens-api` (v1) and `cohortlens-api-ts` (v2):
//!   - `SELECT percentage(count(*), WHERE error IS true) FROM Transaction WHERE appName = 'cohortlens-api-ts' SINCE 5 minutes ago`
//!     → `results[0].percentage`;
//!   - `SELECT percentile(duration, 95) FROM Transaction WHERE appName = 'cohortlens-api-ts' SINCE 5 minutes ago`
//!     → `results[0]["percentile.duration"]["95"]` (seconds).
//! - Containers (for the `docker` stand-in): `cohortlens-api-ts` (v2, NestJS: errors on
//!   stderr, one `ERROR` line per failed request) and `cohortlens-api` (v1, uvicorn).
//!
//! In shadow mode v2 answers a copy of every request, so the scenario's faults hit v2 in
//! full (its own numbers and its container's logs: the shadow-mode errors the runbook counts),
//! while v1 stays primary and customers see v1's numbers.
//!
//! Numbers, against the migration's thresholds (alert at error rate > 0.1 % or p95 > 2000 ms,
//! roll back at error rate > 1 % or p95 > 2000 ms): healthy 0.01-0.08 % and 150-450 ms;
//! `error-burst` v2 at 2-6 %;
//! `latency-spike` v2 p95 2300-3500 ms; `flapping` v2 alternates 0.85-0.95 % / 1800-1950 ms
//! (2 s) and 1.1-1.4 % / 2050-2250 ms (3 s); `degrade-then-recover` v2 up to 3-4 % and
//! 2600-3000 ms (60 s up, 30 s hold, 60 s down).

use crate::sim::endpoint::{self, json_error, ok, simulated_failure, unknown_flag, Answer, Call};
use crate::sim::metrics::{
    banded, ep, gauge, label, round, summarize, Band, Bands, EndpointSpec, Reading,
};
use crate::sim::profile::{Lever, Method, ProfileSpec, Rollback, Route, Serve};
use crate::sim::scenario::Scenario;
use crate::sim::state::{ReadCtx, Sim};
use crate::sim::telemetry::{App, Container, LogStyle, Telemetry};
use crate::sim::vendor::{datadog, nerdgraph};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

pub const FLAG_V2_ENABLED: &str = "v2_enabled";
/// `false` is the rollback (`rollback-to-v1`).
pub const FLAG_V2_PRIMARY: &str = "v2_primary";
pub const FLAG_SHADOW_MODE: &str = "shadow_mode";
pub const FLAG_V1_DEPRECATED: &str = "v1_deprecated";
pub const FLAG_MIGRATION_LOGGING: &str = "migration_logging";

/// v1 paths first, then v2 (critical: the new system the cutover watches).
pub const ENDPOINTS: [EndpointSpec; 4] = [
    ep("/api/v1/predict", false, 20.0),
    ep("/api/v1/segment", false, 8.0),
    ep("/api/v2/predict", true, 20.0),
    ep("/api/v2/segment", true, 8.0),
];
const V1: [usize; 2] = [0, 1];
const V2: [usize; 2] = [2, 3];
/// Health checks and stragglers: a path without traffic still shows numbers.
const FLOOR_RPS: f64 = 0.2;

pub static SPEC: ProfileSpec = ProfileSpec {
    name: "cohortlens",
    version: "2.0.0",
    endpoints: &ENDPOINTS,
    flags: &[
        (FLAG_V2_ENABLED, true),
        (FLAG_V2_PRIMARY, true),
        (FLAG_SHADOW_MODE, false),
        (FLAG_V1_DEPRECATED, false),
        (FLAG_MIGRATION_LOGGING, true),
    ],
    rollback: Rollback {
        lever: Lever::Flag {
            name: FLAG_V2_PRIMARY,
            rolled_back: false,
        },
        method: Method::Post,
        path: "/api/v2/admin/rollback-to-v1",
        body: "",
    },
    initial_weight: 1.0,
    routes: &[
        Route::get("/api/v2/health", health).shown("v2 health"),
        Route::get("/api/v2/admin/flags", flags)
            .admin()
            .shown("flags and .migration_status (bearer token)"),
        Route::post("/api/v2/admin/flags", post_flags)
            .admin()
            .shown("set a flag: {\"flag\": \"v2_enabled\", \"enabled\": true}"),
        Route::post("/api/v2/admin/flags/{name}", post_flag).admin(),
        Route::get("/api/v2/admin/metrics", admin_metrics)
            .admin()
            .shown("v1 and v2 error_rate_pct / p95_ms side by side"),
        Route::post("/api/v2/admin/enable-shadow-mode", enable_shadow_mode)
            .admin()
            .shown("phase 2: v1 primary, v2 shadows"),
        Route::post("/api/v2/admin/migrate-to-v2", migrate_to_v2)
            .admin()
            .shown("phase 3: v2 primary"),
        Route::post("/api/v2/admin/rollback-to-v1", rollback_to_v1)
            .admin()
            .shown("the rollback: v1 primary again"),
        Route::post(
            "/api/v2/admin/complete-v1-deprecation",
            complete_v1_deprecation,
        )
        .admin()
        .shown("phase 4: v1 answers 410"),
        Route::get("/api/v1/query", datadog::query)
            .shown("Datadog metrics query (DD-API-KEY, DD-APPLICATION-KEY)"),
        Route::post("/graphql", nerdgraph::graphql).shown("New Relic NerdGraph NRQL (API-Key)"),
    ],
    mirrors: &[],
    serve: Some(Serve {
        handler: serve,
        shown: Some((
            "/api/v1/predict, /api/v2/predict, …/segment",
            "the served paths",
        )),
    }),
    readings,
    gauges,
    telemetry: Telemetry {
        apps: &[
            App {
                newrelic: "cohortlens-api",
                datadog_tags: &[
                    ("service", "cohortlens-api"),
                    ("version", "v1"),
                    ("env", "production"),
                ],
                endpoints: &V1,
            },
            App {
                newrelic: "cohortlens-api-ts",
                datadog_tags: &[
                    ("service", "cohortlens-api"),
                    ("version", "v2"),
                    ("env", "production"),
                ],
                endpoints: &V2,
            },
        ],
        target_groups: &[],
        containers: &[
            Container {
                name: "cohortlens-api-ts",
                image: "cohortlens/api-ts:2.0.0",
                endpoints: &V2,
                style: LogStyle::Nest,
            },
            Container {
                name: "cohortlens-api",
                image: "cohortlens/api:1.9.4",
                endpoints: &V1,
                style: LogStyle::Uvicorn,
            },
        ],
    },
    parameters: &[],
    dotenv: None,
    mongo: None,
};

const HEALTHY: Band = Band::new((0.01, 0.08), (150.0, 450.0));

/// v2's numbers per scenario.
pub const V2_BANDS: Bands = Bands {
    healthy: HEALTHY,
    burst: Band::new((2.0, 6.0), (300.0, 700.0)),
    spike: Band::new((0.01, 0.08), (2300.0, 3500.0)),
    flap_low: Band::new((0.85, 0.95), (1800.0, 1950.0)),
    flap_high: Band::new((1.1, 1.4), (2050.0, 2250.0)),
    degraded: Band::new((3.0, 4.0), (2600.0, 3000.0)),
};

/// v1 never has faults.
const V1_BANDS: Bands = Bands::steady(HEALTHY);

pub(crate) fn readings(ctx: &ReadCtx) -> Vec<Reading> {
    let w = ctx.weight.clamp(0.0, 1.0);
    let shadow = ctx.flag(FLAG_SHADOW_MODE);
    let v1_gone = ctx.flag(FLAG_V1_DEPRECATED);
    ENDPOINTS
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if V2.contains(&i) {
                // Shadow copies are full traffic, and v2 fails them as it would fail them as
                // primary.
                let share = if shadow { 1.0 } else { w };
                let rps = (e.base_rps * share).max(FLOOR_RPS);
                banded(
                    &V2_BANDS,
                    ctx.scenario,
                    ctx.elapsed,
                    share,
                    rps,
                    ctx.bucket,
                    i as u64,
                )
            } else {
                let share = if v1_gone { 0.0 } else { 1.0 - w };
                let rps = (e.base_rps * share).max(FLOOR_RPS);
                banded(
                    &V1_BANDS,
                    Scenario::Healthy,
                    ctx.elapsed,
                    0.0,
                    rps,
                    ctx.bucket,
                    i as u64,
                )
            }
        })
        .collect()
}

fn entry(r: &Reading) -> Value {
    json!({
        "requests": (r.rps * 60.0).round() as u64,
        "error_rate_pct": round(r.error_rate_pct, 3),
        "p95_ms": round(r.p95_ms, 1),
        "p99_ms": round(r.p99_ms(), 1),
    })
}

fn side(readings: &[Reading], idx: [usize; 2]) -> Reading {
    let rs: Vec<Reading> = idx
        .iter()
        .filter_map(|i| readings.get(*i).copied())
        .collect();
    summarize(&rs)
}

fn primary(ctx: &ReadCtx) -> &'static str {
    if ctx.flag(FLAG_V2_PRIMARY) {
        "v2"
    } else {
        "v1"
    }
}

/// The `/api/v2/admin/metrics` body.
pub(crate) fn metrics_json(ctx: &ReadCtx, readings: &[Reading], generated_at: &str) -> Value {
    let endpoints: Vec<Value> = ENDPOINTS
        .iter()
        .zip(readings)
        .enumerate()
        .map(|(i, (e, r))| {
            let mut v = entry(r);
            if let Some(o) = v.as_object_mut() {
                o.insert("path".into(), json!(e.path));
                o.insert(
                    "version".into(),
                    json!(if V2.contains(&i) { "v2" } else { "v1" }),
                );
            }
            v
        })
        .collect();
    json!({
        "generated_at": generated_at,
        "window_seconds": 60,
        "primary": primary(ctx),
        "v1": entry(&side(readings, V1)),
        "v2": entry(&side(readings, V2)),
        "endpoints": endpoints,
    })
}

/// The `/metrics` gauges: the metrics JSON's per-version values and v2's traffic share.
pub(crate) fn gauges(ctx: &ReadCtx, readings: &[Reading], out: &mut String) {
    let sides = [("v1", side(readings, V1)), ("v2", side(readings, V2))];
    gauge(
        out,
        "cohortlens_error_rate_pct",
        "Error rate per version over 60 s (%).",
        sides
            .iter()
            .map(|(v, r)| (label("version", v), round(r.error_rate_pct, 3))),
    );
    gauge(
        out,
        "cohortlens_p95_ms",
        "p95 latency per version (ms).",
        sides
            .iter()
            .map(|(v, r)| (label("version", v), round(r.p95_ms, 1))),
    );
    gauge(
        out,
        "cohortlens_v2_traffic_ratio",
        "Share of traffic v2 serves as primary.",
        [(String::new(), round(ctx.weight, 3))],
    );
}

fn health(sim: &Sim, _: &Call) -> Answer {
    ok(json!({"status": "ok", "version": SPEC.version, "v2_enabled": sim.flag(FLAG_V2_ENABLED)}))
}

/// The flags and the migration phase they mean.
fn flags_body(sim: &Sim) -> Value {
    sim.with_now(|ctx, _, _| {
        let phase = if ctx.flag(FLAG_V1_DEPRECATED) {
            "deprecation"
        } else if ctx.flag(FLAG_V2_PRIMARY) {
            "cutover"
        } else if ctx.flag(FLAG_SHADOW_MODE) {
            "shadow"
        } else if ctx.flag(FLAG_V2_ENABLED) {
            "beta"
        } else {
            "v1_only"
        };
        json!({
            "flags": ctx.flags,
            "migration_status": {
                "phase": phase,
                "primary": primary(ctx),
                "v2_traffic_pct": round(ctx.weight * 100.0, 1),
            },
        })
    })
}

fn flags(sim: &Sim, _: &Call) -> Answer {
    ok(flags_body(sim))
}

/// Sets one flag with the kill-switch rule; false for an unknown flag.
fn apply(sim: &Sim, name: &str, value: bool) -> bool {
    if sim.set_flag(name, value).is_none() {
        return false;
    }
    if name == FLAG_V2_ENABLED && !value {
        sim.set_flag(FLAG_V2_PRIMARY, false);
        sim.set_flag(FLAG_SHADOW_MODE, false);
    }
    true
}

/// `{"flag": name, "enabled": bool}` or `{name: bool, …}`.
fn parse_flag_body(body: &[u8]) -> Result<Vec<(String, bool)>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let o: &Map<String, Value> = v.as_object().ok_or("not a JSON object")?;
    if let Some(name) = o.get("flag") {
        let name = name.as_str().ok_or("`flag` is not a string")?;
        let enabled = o
            .get("enabled")
            .and_then(Value::as_bool)
            .ok_or("`enabled` is missing or not a boolean")?;
        return Ok(vec![(name.to_string(), enabled)]);
    }
    if o.is_empty() {
        return Err("no flag given".into());
    }
    o.iter()
        .map(|(k, v)| {
            v.as_bool()
                .map(|b| (k.clone(), b))
                .ok_or_else(|| format!("`{k}` is not a boolean"))
        })
        .collect()
}

fn post_flags(sim: &Sim, call: &Call) -> Answer {
    let changes = parse_flag_body(&call.body).map_err(|e| {
        endpoint::bad_request(format!(
            "expected {{\"flag\": \"v2_enabled\", \"enabled\": true}} or {{\"v2_enabled\": true}}: {e}"
        ))
    })?;
    // All or nothing: check every name before changing any.
    let known = sim.flags();
    if let Some((name, _)) = changes.iter().find(|(n, _)| !known.contains_key(n)) {
        return Err(unknown_flag(&SPEC, name));
    }
    for (name, value) in &changes {
        apply(sim, name, *value);
    }
    flags(sim, call)
}

fn post_flag(sim: &Sim, call: &Call) -> Answer {
    let enabled = endpoint::enabled(call)?;
    if apply(sim, &call.param, enabled) {
        flags(sim, call)
    } else {
        Err(unknown_flag(&SPEC, &call.param))
    }
}

/// A phase action: sets `changes` in order, then answers with its message and status.
fn phase(sim: &Sim, changes: &[(&str, bool)], message: &str, status: Value) -> Answer {
    for (name, value) in changes {
        sim.set_flag(name, *value);
    }
    ok(json!({"message": message, "status": status, "flags": sim.flags()}))
}

fn enable_shadow_mode(sim: &Sim, _: &Call) -> Answer {
    phase(
        sim,
        &[
            (FLAG_V2_ENABLED, true),
            (FLAG_SHADOW_MODE, true),
            (FLAG_V2_PRIMARY, false),
        ],
        "Shadow mode enabled",
        json!("v1 primary with v2 shadows enabled"),
    )
}

fn migrate_to_v2(sim: &Sim, _: &Call) -> Answer {
    phase(
        sim,
        &[
            (FLAG_V2_ENABLED, true),
            (FLAG_SHADOW_MODE, false),
            (FLAG_MIGRATION_LOGGING, true),
            (FLAG_V2_PRIMARY, true),
        ],
        "Migrated to v2 primary",
        json!({"v2_primary": true, "shadow_mode": false, "migration_logging": true}),
    )
}

fn rollback_to_v1(sim: &Sim, _: &Call) -> Answer {
    phase(
        sim,
        &[
            (FLAG_V2_PRIMARY, false),
            (FLAG_SHADOW_MODE, false),
            (FLAG_V1_DEPRECATED, false),
        ],
        "Rolled back to v1 primary",
        json!({"v2_primary": false, "shadow_mode": false, "v1_deprecated": false}),
    )
}

fn complete_v1_deprecation(sim: &Sim, _: &Call) -> Answer {
    if !sim.flag(FLAG_V2_PRIMARY) {
        return Err(endpoint::refuse(
            StatusCode::CONFLICT,
            "conflict",
            "v2 is not primary: run migrate-to-v2 first",
        ));
    }
    phase(
        sim,
        &[(FLAG_V1_DEPRECATED, true)],
        "v1 marked as deprecated",
        json!({"v1_deprecated": true, "v1_endpoints": "returning 410 Gone"}),
    )
}

fn admin_metrics(sim: &Sim, _: &Call) -> Answer {
    endpoint::report(sim, metrics_json)
}

/// The served paths: v1 answers 410 once deprecated; v2 503 while disabled, else fails at
/// its reported error rate.
fn serve(sim: &Sim, idx: usize) -> Response {
    let path = ENDPOINTS.get(idx).map(|e| e.path).unwrap_or("");
    if V2.contains(&idx) {
        if !sim.flag(FLAG_V2_ENABLED) {
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "v2_disabled",
                "v2 is disabled (v2_enabled = false)",
            );
        }
        if sim.serve_fails(idx) {
            return simulated_failure(format!("{path} (v2)"));
        }
        return endpoint::json_response(
            StatusCode::OK,
            json!({"ok": true, "path": path, "served_by": "v2"}),
        );
    }
    if sim.flag(FLAG_V1_DEPRECATED) {
        return json_error(
            StatusCode::GONE,
            "gone",
            format!("{path}: v1 is deprecated; use /api/v2"),
        );
    }
    endpoint::json_response(
        StatusCode::OK,
        json!({"ok": true, "path": path, "served_by": "v1"}),
    )
}
