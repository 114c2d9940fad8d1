//! The control API, on the control listener (always up, even while `down`) and on the data
//! listener too. `/__sim/*` is exempt from every scenario.
//!
//! - `POST /__sim/scenario/{name}` → `{"scenario": "…", "previous": "…"}` (404
//!   `{"error","detail","scenarios"}` for an unknown name); stops a running script.
//! - `GET /__sim/state` → profile, scenario, flags, listener, script…
//! - `GET /__sim/requests` → `{"count": n, "requests": [RecordedRequest…]}`; `DELETE` clears
//!   them (`{"cleared": n}`).
//!
//! For the stand-in CLIs (`standin`), the systems around the simulated one:
//! - `POST /__sim/aws/{service}/{operation}` (header `X-Amz-Region`): the AWS JSON APIs —
//!   `ssm/GetParameter`, `ssm/PutParameter`, `cloudwatch/GetMetricData` — in their own
//!   request and answer shapes; errors 400 `{"__type": code, "message"}`.
//! - `GET /__sim/docker/containers` → `[{"Names","Image","State","Status"}]`;
//!   `GET /__sim/docker/containers/{name}/logs?since=<epoch s>&until=<epoch s>&tail=<n|all>`
//!   → `{"lines": [{"time","stream","log"}]}` (Docker's json-file lines), 404
//!   `{"message": "No such container: name"}`.
//! - `GET /__sim/mongo/{db}` → `{"db", "collections": {name: [documents]}}` (a database the
//!   system does not have is empty); 503 for a profile without MongoDB.
//! - `GET /__sim/supervisor/{program}` → `{"name","state","pid","started","uptime_s"}`;
//!   `POST /__sim/supervisor/{program}/restart` re-reads the `.env` (404 / 500 with
//!   `{"error": "backend: ERROR (…)"}`).

use super::endpoint::json_response;
use super::http::not_found;
use super::scenario::Scenario;
use super::state::{ChangedBy, Sim};
use super::vendor::{aws, docker};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/__sim/scenario/{name}", post(set_scenario))
        .route("/__sim/state", get(state))
        .route("/__sim/requests", get(requests).delete(clear_requests))
        .route("/__sim/aws/{service}/{operation}", post(aws_call))
        .route("/__sim/docker/containers", get(containers))
        .route("/__sim/docker/containers/{name}/logs", get(container_logs))
        .route("/__sim/mongo/{db}", get(mongo_db))
        .route("/__sim/supervisor/{program}", get(program_status))
        .route("/__sim/supervisor/{program}/restart", post(program_restart))
}

/// Everything the control listener serves.
pub(crate) fn router(sim: Arc<Sim>) -> Router {
    routes().fallback(not_found).with_state(sim)
}

async fn set_scenario(State(sim): State<Arc<Sim>>, Path(name): Path<String>) -> Response {
    match name.parse::<Scenario>() {
        Ok(s) => {
            let previous = sim.scenario();
            sim.set_scenario(s, ChangedBy::Control);
            json_response(
                StatusCode::OK,
                json!({"scenario": s.name(), "previous": previous.name()}),
            )
        }
        Err(e) => json_response(
            StatusCode::NOT_FOUND,
            json!({
                "error": "unknown_scenario",
                "detail": e.to_string(),
                "scenarios": Scenario::ALL.map(|s| s.name()),
            }),
        ),
    }
}

async fn state(State(sim): State<Arc<Sim>>) -> Response {
    json_response(StatusCode::OK, state_json(&sim))
}

async fn requests(State(sim): State<Arc<Sim>>) -> Response {
    let reqs = sim.requests().all();
    json_response(
        StatusCode::OK,
        json!({"count": reqs.len(), "requests": reqs}),
    )
}

async fn clear_requests(State(sim): State<Arc<Sim>>) -> Response {
    let n = sim.requests().clear();
    json_response(StatusCode::OK, json!({"cleared": n}))
}

fn state_json(sim: &Sim) -> Value {
    let listener_error = sim.listener.error();
    let recorded = sim.requests().len();
    let t = &sim.spec.telemetry;
    let stand_ins = json!({
        "ssm_parameters": sim.ssm().names().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "env_file": sim.backend().map(|b| b.env_file.display().to_string()),
        "programs": sim.backend().map(|b| vec![b.spec.program]).unwrap_or_default(),
        "containers": t.containers.iter().map(|c| c.name).collect::<Vec<_>>(),
        "mongo_db": sim.spec.mongo.map(|m| m.db),
        "target_groups": t.target_groups.iter().map(|g| json!({"TargetGroup": g.dimension, "LoadBalancer": g.load_balancer})).collect::<Vec<_>>(),
        "new_relic_apps": t.apps.iter().map(|a| a.newrelic).collect::<Vec<_>>(),
        "new_relic_account_id": super::vendor::nerdgraph::ACCOUNT_ID,
    });
    sim.inspect(|st, now| {
        let script = st.script().map(|(s, active)| {
            json!({
                "script": s.to_string(),
                "active": active,
                "steps": s.steps().iter().map(|st| json!({
                    "scenario": st.scenario.name(),
                    "duration_ms": st.duration.as_millis() as u64,
                })).collect::<Vec<_>>(),
            })
        });
        let scenario = st.scenario();
        json!({
            "profile": sim.profile.name(),
            "scenario": scenario.name(),
            "scenario_description": scenario.describe(),
            "scenario_since": st.scenario_since_wall().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "scenario_elapsed_ms": st.scenario_elapsed(now).as_millis() as u64,
            "rollback_weight": st.weight(now),
            "flags": st.flags(),
            "data_listener": {
                "addr": sim.listener.addr().to_string(),
                "up": sim.listener.is_up(),
                "error": listener_error,
            },
            "control_addr": sim.control_addr.to_string(),
            "token_required": sim.token_required(),
            "slow_delay_ms": sim.slow_delay.as_millis() as u64,
            "script": script,
            "requests_recorded": recorded,
            "scenarios": Scenario::ALL.map(|s| s.name()),
            "stand_ins": stand_ins,
        })
    })
}

async fn aws_call(
    State(sim): State<Arc<Sim>>,
    Path((service, operation)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let region = headers
        .get("x-amz-region")
        .and_then(|v| v.to_str().ok())
        .filter(|r| !r.is_empty())
        .unwrap_or(aws::DEFAULT_REGION)
        .to_string();
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"__type": "SerializationException", "message": e.to_string()}),
            )
        }
    };
    match aws::call(&sim, &service, &operation, &region, &request) {
        Ok(v) => json_response(StatusCode::OK, v),
        Err(e) => json_response(
            StatusCode::BAD_REQUEST,
            json!({"__type": e.code, "message": e.message}),
        ),
    }
}

fn uptime(started: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> i64 {
    (now - started).num_seconds().max(0)
}

async fn containers(State(sim): State<Arc<Sim>>) -> Response {
    let started = sim.with_history(|h, _| h.started_unix_s());
    let up = (sim.now_unix_ms() / 1000) as i64 - started;
    let list: Vec<Value> = sim
        .spec
        .telemetry
        .containers
        .iter()
        .map(|c| {
            json!({
                "Names": c.name,
                "Image": c.image,
                "State": "running",
                "Status": format!("Up {}", human_duration(up)),
            })
        })
        .collect();
    json_response(StatusCode::OK, Value::Array(list))
}

/// How `docker ps` words an uptime (Docker's `HumanDuration`).
fn human_duration(secs: i64) -> String {
    let (m, h) = (secs / 60, (secs + 1800) / 3600);
    match secs {
        ..=0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{secs} seconds"),
        _ if m == 1 => "About a minute".into(),
        _ if m < 60 => format!("{m} minutes"),
        _ if h == 1 => "About an hour".into(),
        _ if h < 48 => format!("{h} hours"),
        _ => format!("{} days", h / 24),
    }
}

#[derive(serde::Deserialize)]
struct LogsQuery {
    since: Option<f64>,
    until: Option<f64>,
    tail: Option<String>,
}

async fn container_logs(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    Query(q): Query<LogsQuery>,
) -> Response {
    let Some(c) = docker::container(sim.spec, &name) else {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({"message": format!("No such container: {name}")}),
        );
    };
    let tail = match q.tail.as_deref() {
        None | Some("all") | Some("-1") => None,
        Some(t) => match t.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"message": format!("invalid tail value {t:?}")}),
                )
            }
        },
    };
    let spec = sim.spec;
    let mut lines = sim.with_history(|h, now_ms| {
        let until = q.until.unwrap_or(now_ms as f64 / 1000.0 + 1.0);
        docker::logs(spec, c, h, q.since.unwrap_or(0.0), until)
    });
    if let Some(n) = tail {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    json_response(StatusCode::OK, json!({"container": name, "lines": lines}))
}

async fn mongo_db(State(sim): State<Arc<Sim>>, Path(db): Path<String>) -> Response {
    let Some(m) = sim.spec.mongo else {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": format!("the {} system has no MongoDB", sim.spec.name)}),
        );
    };
    let collections = if db == m.db {
        sim.with_now(|ctx, _, _| (m.collections)(ctx))
    } else {
        json!({})
    };
    json_response(
        StatusCode::OK,
        json!({"db": db, "collections": collections}),
    )
}

fn program_json(sim: &Sim, name: &str, p: super::backend::Proc) -> Value {
    let now = sim.now_wall();
    json!({
        "name": name,
        "state": "RUNNING",
        "pid": p.pid,
        "started": p.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "uptime_s": uptime(p.started, now),
        "env_file": sim.backend().map(|b| b.env_file.display().to_string()),
    })
}

async fn program_status(State(sim): State<Arc<Sim>>, Path(program): Path<String>) -> Response {
    match sim.backend().filter(|b| b.spec.program == program) {
        Some(b) => json_response(StatusCode::OK, program_json(&sim, &program, b.status())),
        None => json_response(
            StatusCode::NOT_FOUND,
            json!({"error": format!("{program}: ERROR (no such process)")}),
        ),
    }
}

async fn program_restart(State(sim): State<Arc<Sim>>, Path(program): Path<String>) -> Response {
    match sim.restart(&program) {
        Ok(p) => json_response(StatusCode::OK, program_json(&sim, &program, p)),
        Err(e) => {
            let status = if sim.backend().is_some_and(|b| b.spec.program == program) {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::NOT_FOUND
            };
            json_response(status, json!({"error": e}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn uptimes_read_as_docker_ps_words_them() {
        let cases = [
            (0, "Less than a second"),
            (1, "1 second"),
            (42, "42 seconds"),
            (61, "About a minute"),
            (119, "About a minute"),
            (120, "2 minutes"),
            (3599, "59 minutes"),
            (3600, "About an hour"),
            (5399, "About an hour"),
            (5400, "2 hours"),
            (47 * 3600, "47 hours"),
            (72 * 3600, "3 days"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "{secs} s");
        }
    }
}
