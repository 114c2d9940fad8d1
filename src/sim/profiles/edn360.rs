//! The EDN360 profile (legacy collections → `client_drawers`): the monitoring endpoints of
//! phases 1 and 3, the duplicate and plan checks of the go/no-go decision table, and the phase 3
//! rollback.
//!
//! The real rollback is a **command**: `USE_CLIENT_DRAWER_READ=false` in `/app/backend/.env`
//! and `sudo supervisorctl restart backend`. The simulator keeps that `.env` as a real file
//! (in `--state-dir`, else a private temporary directory; `GET /__sim/state` names it) and
//! the backend reads it when it restarts: `supervisorctl restart backend` (the stand-in,
//! through `POST /__sim/supervisor/backend/restart`) makes the switches the file's values.
//! Editing the file alone changes nothing until the restart, as on the real host. The file
//! starts as:
//!
//! ```text
//! # /app/backend/.env …
//! MONGO_URL=mongodb://127.0.0.1:27017
//! DB_NAME=edn360
//! USE_CLIENT_DRAWER_READ=true
//! USE_CLIENT_DRAWER_WRITE=true
//! ```
//!
//! MongoDB (for the `mongosh` stand-in, database `edn360`): `client_drawers` (320 drawers,
//! `services.shared.questionnaires.followups[].followup_id`; a duplicate is a followup id
//! twice in one drawer, the same pairs `/admin/monitoring/duplicates` lists),
//! `training_plans` and `nutrition_plans` (400 each; those without `snapshot_id` are the
//! ones `/admin/monitoring/plans-without-snapshot` counts).
//!
//! It also offers an HTTP stand-in for both steps (it edits the `.env` too), which a drill
//! without the CLI stand-ins can call:
//!
//! ```sh
//! curl -fsS -X POST "$SIM/admin/drill/client-drawer-read" \
//!   -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
//!   -d '{"enabled": false}'
//! ```
//!
//! Reads then come from the legacy (AS IS) path and every number below recovers within ~3 s.
//!
//! Every `/admin/*` endpoint, GET included, needs `Authorization: Bearer <token>` when the
//! simulator has a token; each is also served under `/api/admin/*` (where the migration's own
//! checks call them). Rates are fractions 0-1 as the migration's code returns them (`matching / total`), with a
//! `_pct` twin in percent for thresholds written like the decision table.
//!
//! - `GET /admin/monitoring/dual-write-stats` → `{"total_validations":u64,"matching":u64,
//!   "match_rate":f64 (0-1, = matching/total, 4 decimals),"match_rate_pct":f64 (2 decimals),
//!   "USE_CLIENT_DRAWER_WRITE":bool}` (validations of the last hour).
//! - `GET /admin/monitoring/switch-status` → `{"USE_CLIENT_DRAWER_READ":bool,
//!   "to_be_jobs":u64,"completed":u64,"success_rate":f64 (0-1),"success_rate_pct":f64,
//!   "p95_ms":f64}` (TO BE generation jobs of the last 24 h; `p95_ms` of the generate call).
//! - `GET /admin/monitoring/duplicates` → `{"duplicates":u64,"items":[{"client_id":str,
//!   "duplicate_followup_id":str}…]}` (the output of `detect_duplicates_in_drawers`).
//! - `GET /admin/monitoring/plans-without-snapshot` → `{"plans_without_snapshot_id":u64,
//!   "training_plans":u64,"nutrition_plans":u64}`.
//! - `GET /admin/monitoring/summary` → `{"match_rate":f64,"match_rate_pct":f64,
//!   "success_rate":f64,"success_rate_pct":f64,"duplicates":u64,
//!   "plans_without_snapshot_id":u64,"USE_CLIENT_DRAWER_READ":bool,
//!   "USE_CLIENT_DRAWER_WRITE":bool}` — all of the above in one poll.
//! - `GET /admin/drill/flags` → `{"flags":{"USE_CLIENT_DRAWER_READ":bool,
//!   "USE_CLIENT_DRAWER_WRITE":bool}}` (both true at start: phase 3).
//! - `POST /admin/drill/client-drawer-read` / `POST /admin/drill/client-drawer-write` with
//!   `{"enabled":bool}` → `{"USE_CLIENT_DRAWER_READ"|"USE_CLIENT_DRAWER_WRITE":bool,
//!   "restarted":"backend","flags":{…}}` (400 bad body). `client-drawer-read` with
//!   `false` is **the rollback** (phase 3); `client-drawer-write` `false` is the phase 1
//!   rollback and only changes the flag.
//! - `GET|POST /api/edn360/plans/generate` → `{"ok":true,"read_from":"client_drawer"|
//!   "legacy"}` or a 500 at the job failure rate; `GET|POST /api/nutrition/questionnaire/
//!   submit` → `{"ok":true,"dual_write":bool}`.
//! - `/metrics`: `http_requests_total` of the generate path counts failed jobs as code 500;
//!   gauges `edn360_dual_write_match_rate`, `edn360_switch_success_rate` (fractions as in
//!   the JSON), `edn360_duplicates_detected`, `edn360_plans_without_snapshot_id`,
//!   `edn360_to_be_jobs`.
//!
//! Scenarios (decision table: ≥ 95 % ok, 90-95 % review, < 90 % roll back; duplicates or
//! plans without `snapshot_id` > 0 block): healthy match 98.2-99.7 %, success 98.5-99.8 %,
//! 0 duplicates, 0 plans without snapshot; `error-burst` match 80-88 %, success 75-88 %,
//! 3-9 duplicates, 20-60 plans without snapshot; `latency-spike` generate p95 4-8 s (rates
//! healthy); `flapping` match and success alternate 93-94 % (2 s) and 88.5-89.5 % with one
//! duplicate (3 s); `degrade-then-recover` match and success 99 → 85 → 99 % with up to 6
//! duplicates and 40 plans without snapshot at the worst.

use crate::sim::endpoint::{self, json_error, json_response, ok, Answer, Call};
use crate::sim::metrics::{
    banded, degrade_factor, ep, flapping_high, gauge, noise, round, span, Band, Bands,
    EndpointSpec, Reading,
};
use crate::sim::profile::{DotEnv, Lever, Method, Mongo, ProfileSpec, Rollback, Route, Serve};
use crate::sim::scenario::Scenario;
use crate::sim::state::{ReadCtx, Sim};
use crate::sim::telemetry::Telemetry;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

/// `false` is the phase 3 rollback.
pub const FLAG_READ: &str = "USE_CLIENT_DRAWER_READ";
/// `false` is the phase 1 rollback.
pub const FLAG_WRITE: &str = "USE_CLIENT_DRAWER_WRITE";
/// The database `mongosh` reads.
pub const MONGO_DB: &str = "edn360";
/// Drawers in `client_drawers`; plans in each of `training_plans` and `nutrition_plans`.
pub const DRAWERS: usize = 320;
pub const PLANS: usize = 400;

pub const ENDPOINTS: [EndpointSpec; 2] = [
    ep("/api/edn360/plans/generate", true, 0.5),
    ep("/api/nutrition/questionnaire/submit", false, 2.0),
];
const GENERATE: usize = 0;
const SUBMIT: usize = 1;
/// TO BE jobs per second behind `switch-status` (its window is 24 h).
const JOBS_PER_S: f64 = 0.05;
const JOBS_WINDOW_S: f64 = 86_400.0;
/// Dual-write validations per second behind `dual-write-stats` (window 1 h).
const VALIDATIONS_PER_S: f64 = 2.0;
const VALIDATIONS_WINDOW_S: f64 = 3_600.0;

pub static SPEC: ProfileSpec = ProfileSpec {
    name: "edn360",
    version: "3.2.0",
    endpoints: &ENDPOINTS,
    flags: &[(FLAG_READ, true), (FLAG_WRITE, true)],
    rollback: Rollback {
        lever: Lever::Flag {
            name: FLAG_READ,
            rolled_back: false,
        },
        method: Method::Post,
        path: "/admin/drill/client-drawer-read",
        body: r#"{"enabled": false}"#,
    },
    initial_weight: 1.0,
    routes: &[
        Route::get("/admin/monitoring/dual-write-stats", dual_write_stats)
            .admin()
            .shown("match_rate (bearer token; also under /api)"),
        Route::get("/admin/monitoring/switch-status", switch_status)
            .admin()
            .shown("success_rate of TO BE jobs"),
        Route::get("/admin/monitoring/duplicates", duplicates)
            .admin()
            .shown("duplicates detected in drawers"),
        Route::get(
            "/admin/monitoring/plans-without-snapshot",
            plans_without_snapshot,
        )
        .admin()
        .shown("plans without snapshot_id"),
        Route::get("/admin/monitoring/summary", summary)
            .admin()
            .shown("all of the above"),
        Route::post("/admin/drill/client-drawer-read", set_read)
            .admin()
            .shown("{\"enabled\": false} = USE_CLIENT_DRAWER_READ=false + restart: the rollback"),
        Route::post("/admin/drill/client-drawer-write", set_write)
            .admin()
            .shown("{\"enabled\": bool}: USE_CLIENT_DRAWER_WRITE"),
        Route::get("/admin/drill/flags", endpoint::flags)
            .admin()
            .shown("the two env flags"),
    ],
    mirrors: &["/api"],
    serve: Some(Serve {
        handler: serve,
        shown: None,
    }),
    readings,
    gauges,
    telemetry: Telemetry::NONE,
    parameters: &[],
    dotenv: Some(DotEnv {
        program: "backend",
        flags: &[FLAG_READ, FLAG_WRITE],
        preamble: "# /app/backend/.env (warroom sim: the backend reads it when it starts and on `supervisorctl restart backend`)\nMONGO_URL=mongodb://127.0.0.1:27017\nDB_NAME=edn360\n",
    }),
    mongo: Some(Mongo {
        db: MONGO_DB,
        collections: mongo_collections,
    }),
};

const fn band(err: (f64, f64), p95: (f64, f64)) -> Band {
    Band::new(err, p95)
}

const P95_OK: (f64, f64) = (300.0, 700.0);

/// Job failures (100 − success %) and the generate call's p95.
const SUCCESS_BANDS: Bands = Bands {
    healthy: band((0.2, 1.5), P95_OK),
    burst: band((12.0, 25.0), (400.0, 900.0)),
    spike: band((0.2, 1.5), (4000.0, 8000.0)),
    flap_low: band((6.0, 7.0), P95_OK),
    flap_high: band((10.5, 11.5), P95_OK),
    degraded: band((14.5, 15.5), (1500.0, 2500.0)),
};

/// Mismatches (100 − match %); latency unused.
const MATCH_BANDS: Bands = Bands {
    healthy: band((0.3, 1.8), P95_OK),
    burst: band((12.0, 20.0), P95_OK),
    spike: band((0.3, 1.8), P95_OK),
    flap_low: band((6.0, 7.0), P95_OK),
    flap_high: band((10.5, 11.5), P95_OK),
    degraded: band((14.5, 15.5), P95_OK),
};

const HEALTHY_ONLY: Bands = Bands::steady(band((0.05, 0.3), P95_OK));

/// Everything the monitoring endpoints show at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Numbers {
    pub total_validations: u64,
    pub matching: u64,
    pub to_be_jobs: u64,
    pub completed: u64,
    pub duplicates: u64,
    pub training_without_snapshot: u64,
    pub nutrition_without_snapshot: u64,
    pub generate: Reading,
}

impl Numbers {
    pub fn match_rate(&self) -> f64 {
        ratio(self.matching, self.total_validations)
    }
    pub fn success_rate(&self) -> f64 {
        ratio(self.completed, self.to_be_jobs)
    }
    pub fn plans_without_snapshot(&self) -> u64 {
        self.training_without_snapshot + self.nutrition_without_snapshot
    }
}

/// As the migration's own check computes it: 0 when there is nothing to compare.
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        round(a as f64 / b as f64, 4)
    }
}

/// Duplicates and plans without snapshot at full weight, before rounding.
fn counts_at_full(ctx: &ReadCtx) -> (f64, f64) {
    let n = |salt| noise(ctx.bucket, 77, salt);
    match ctx.scenario {
        Scenario::ErrorBurst => (span(3.0, 9.0, n(1)), span(20.0, 60.0, n(2))),
        Scenario::Flapping if flapping_high(ctx.elapsed) => (1.0, 0.0),
        Scenario::DegradeThenRecover => {
            let f = degrade_factor(ctx.elapsed);
            (6.0 * f, 40.0 * f)
        }
        _ => (0.0, 0.0),
    }
}

pub(crate) fn numbers(ctx: &ReadCtx) -> Numbers {
    let w = ctx.weight.clamp(0.0, 1.0);
    let generate = banded(
        &SUCCESS_BANDS,
        ctx.scenario,
        ctx.elapsed,
        w,
        ENDPOINTS[GENERATE].base_rps,
        ctx.bucket,
        1,
    );
    let matched = banded(
        &MATCH_BANDS,
        ctx.scenario,
        ctx.elapsed,
        w,
        VALIDATIONS_PER_S,
        ctx.bucket,
        2,
    );
    let total_validations = (VALIDATIONS_PER_S * VALIDATIONS_WINDOW_S).round() as u64;
    let matching =
        (total_validations as f64 * (1.0 - matched.error_rate_pct / 100.0)).round() as u64;
    let to_be_jobs = (JOBS_PER_S * JOBS_WINDOW_S).round() as u64;
    let completed = (to_be_jobs as f64 * (1.0 - generate.error_rate_pct / 100.0)).round() as u64;
    let (dups, plans) = counts_at_full(ctx);
    let plans = (plans * w).round() as u64;
    Numbers {
        total_validations,
        matching,
        to_be_jobs,
        completed,
        duplicates: (dups * w).round() as u64,
        training_without_snapshot: plans.div_ceil(2),
        nutrition_without_snapshot: plans / 2,
        generate,
    }
}

pub(crate) fn readings(ctx: &ReadCtx) -> Vec<Reading> {
    let nums = numbers(ctx);
    let submit = banded(
        &HEALTHY_ONLY,
        Scenario::Healthy,
        ctx.elapsed,
        0.0,
        ENDPOINTS[SUBMIT].base_rps,
        ctx.bucket,
        3,
    );
    // The served failure rate is exactly the reported one.
    let generate = Reading {
        error_rate_pct: (1.0 - nums.success_rate()) * 100.0,
        ..nums.generate
    };
    vec![generate, submit]
}

/// The `/metrics` gauges: the monitoring endpoints' numbers.
pub(crate) fn gauges(ctx: &ReadCtx, _readings: &[Reading], out: &mut String) {
    let n = numbers(ctx);
    let mut one = |name: &str, help: &str, v: f64| gauge(out, name, help, [(String::new(), v)]);
    one(
        "edn360_dual_write_match_rate",
        "Dual-write validations that matched, last hour (0-1).",
        n.match_rate(),
    );
    one(
        "edn360_switch_success_rate",
        "TO BE generation jobs completed, last 24 h (0-1).",
        n.success_rate(),
    );
    one(
        "edn360_duplicates_detected",
        "Duplicate followups detected in drawers.",
        n.duplicates as f64,
    );
    one(
        "edn360_plans_without_snapshot_id",
        "Training and nutrition plans without snapshot_id.",
        n.plans_without_snapshot() as f64,
    );
    one(
        "edn360_to_be_jobs",
        "TO BE generation jobs, last 24 h.",
        n.to_be_jobs as f64,
    );
}

/// 200 with `f(numbers, ctx)` of now.
fn view(sim: &Sim, f: impl FnOnce(&Numbers, &ReadCtx) -> Value) -> Answer {
    ok(sim.with_now(|ctx, _, _| f(&numbers(ctx), ctx)))
}

fn dual_write_stats(sim: &Sim, _: &Call) -> Answer {
    view(sim, |n, ctx| {
        json!({
            "total_validations": n.total_validations,
            "matching": n.matching,
            "match_rate": n.match_rate(),
            "match_rate_pct": round(n.match_rate() * 100.0, 2),
            FLAG_WRITE: ctx.flag(FLAG_WRITE),
        })
    })
}

fn switch_status(sim: &Sim, _: &Call) -> Answer {
    view(sim, |n, ctx| {
        json!({
            FLAG_READ: ctx.flag(FLAG_READ),
            "to_be_jobs": n.to_be_jobs,
            "completed": n.completed,
            "success_rate": n.success_rate(),
            "success_rate_pct": round(n.success_rate() * 100.0, 2),
            "p95_ms": round(n.generate.p95_ms, 1),
        })
    })
}

/// The drawer and followup id of each duplicate (the same in the HTTP check and MongoDB).
fn duplicate_pairs(n: u64) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("drawer_{:04}", (17 + i * 31) % DRAWERS as u64),
                format!("followup_{:05}", 1200 + i * 7),
            )
        })
        .collect()
}

fn duplicates(sim: &Sim, _: &Call) -> Answer {
    view(sim, |n, _| {
        let items: Vec<Value> = duplicate_pairs(n.duplicates)
            .into_iter()
            .map(|(client, followup)| {
                json!({"client_id": client, "duplicate_followup_id": followup})
            })
            .collect();
        json!({"duplicates": n.duplicates, "items": items})
    })
}

/// The database at one instant: drawers with their followups (a duplicate is a followup id
/// twice in a drawer), and plans of which the first ones lack `snapshot_id`.
pub(crate) fn mongo_collections(ctx: &ReadCtx) -> Value {
    let n = numbers(ctx);
    let dups = duplicate_pairs(n.duplicates);
    let drawers: Vec<Value> = (0..DRAWERS)
        .map(|d| {
            let id = format!("drawer_{d:04}");
            let mut followups: Vec<Value> = (0..2)
                .map(|k| {
                    json!({"followup_id": format!("followup_{:05}", 10_000 + d * 2 + k),
                        "submitted_at": format!("2025-01-{:02}T10:00:00Z", 1 + (d + k) % 28)})
                })
                .collect();
            for (_, f) in dups.iter().filter(|(c, _)| *c == id) {
                for _ in 0..2 {
                    followups.push(json!({"followup_id": f, "submitted_at": "2025-02-02T09:30:00Z"}));
                }
            }
            json!({
                "_id": id,
                "user_id": format!("user_{d:04}"),
                "services": {
                    "shared": {"questionnaires": {
                        "inicial": {"submitted_at": format!("2024-12-{:02}T09:00:00Z", 1 + d % 28)},
                        "followups": followups,
                    }},
                    "training": {"snapshots": [{"snapshot_id": "snapshot_training_v1", "version": 1}]},
                    "nutrition": {"snapshots": [{"snapshot_id": "snapshot_nutrition_v1", "version": 1}]},
                },
            })
        })
        .collect();
    let plans = |prefix: &str, service: &str, missing: u64| -> Vec<Value> {
        (0..PLANS)
            .map(|p| {
                let mut doc = json!({
                    "_id": format!("{prefix}_{p:04}"),
                    "user_id": format!("user_{:04}", p % DRAWERS),
                    "generated_at": format!("2025-01-{:02}T12:00:00Z", 1 + p % 28),
                });
                if (p as u64) >= missing {
                    if let Some(o) = doc.as_object_mut() {
                        o.insert(
                            "client_drawer_id".into(),
                            json!(format!("drawer_{:04}", p % DRAWERS)),
                        );
                        o.insert(
                            "snapshot_id".into(),
                            json!(format!("snapshot_{service}_v1")),
                        );
                    }
                }
                doc
            })
            .collect()
    };
    json!({
        "client_drawers": drawers,
        "training_plans": plans("tplan", "training", n.training_without_snapshot),
        "nutrition_plans": plans("nplan", "nutrition", n.nutrition_without_snapshot),
    })
}

fn plans_without_snapshot(sim: &Sim, _: &Call) -> Answer {
    view(sim, |n, _| {
        json!({
            "plans_without_snapshot_id": n.plans_without_snapshot(),
            "training_plans": n.training_without_snapshot,
            "nutrition_plans": n.nutrition_without_snapshot,
        })
    })
}

fn summary(sim: &Sim, _: &Call) -> Answer {
    view(sim, |n, ctx| {
        json!({
            "match_rate": n.match_rate(),
            "match_rate_pct": round(n.match_rate() * 100.0, 2),
            "success_rate": n.success_rate(),
            "success_rate_pct": round(n.success_rate() * 100.0, 2),
            "duplicates": n.duplicates,
            "plans_without_snapshot_id": n.plans_without_snapshot(),
            FLAG_READ: ctx.flag(FLAG_READ),
            FLAG_WRITE: ctx.flag(FLAG_WRITE),
        })
    })
}

/// Sets the env flag in the `.env` and "restarts the backend" (the change takes effect at
/// once, the numbers follow over ~3 s).
fn set_env_flag(sim: &Sim, call: &Call, name: &str) -> Answer {
    let enabled = endpoint::enabled(call)?;
    if let Some(b) = sim.backend() {
        crate::sim::dotenv::set(&b.env_file, name, &enabled.to_string()).map_err(|e| {
            endpoint::refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "env_file",
                format!("cannot write {}: {e}", b.env_file.display()),
            )
        })?;
    }
    sim.set_flag(name, enabled);
    ok(json!({name: enabled, "restarted": "backend", "flags": sim.flags()}))
}

fn set_read(sim: &Sim, call: &Call) -> Answer {
    set_env_flag(sim, call, FLAG_READ)
}

fn set_write(sim: &Sim, call: &Call) -> Answer {
    set_env_flag(sim, call, FLAG_WRITE)
}

/// The served paths: plan generation fails at the job failure rate; the questionnaire
/// answers whether it dual-writes.
fn serve(sim: &Sim, idx: usize) -> Response {
    if idx != GENERATE {
        return json_response(
            StatusCode::OK,
            json!({"ok": true, "dual_write": sim.flag(FLAG_WRITE)}),
        );
    }
    let read_from = if sim.flag(FLAG_READ) {
        "client_drawer"
    } else {
        "legacy"
    };
    if sim.serve_fails(GENERATE) {
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "job_failed",
            format!("simulated generation failure (read from {read_from})"),
        );
    }
    json_response(StatusCode::OK, json!({"ok": true, "read_from": read_from}))
}
