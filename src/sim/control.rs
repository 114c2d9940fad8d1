//! The control API, on the control listener (always up, even while `down`) and on the data
//! listener too. `/__sim/*` is exempt from every scenario.
//!
//! - `POST /__sim/scenario/{name}` → `{"scenario": "…", "previous": "…"}` (404
//!   `{"error","detail","scenarios"}` for an unknown name); stops a running script.
//! - `GET /__sim/state` → profile, scenario, flags, listener, script…
//! - `GET /__sim/requests` → `{"count": n, "requests": [RecordedRequest…]}`; `DELETE` clears
//!   them (`{"cleared": n}`).

use super::endpoint::json_response;
use super::http::not_found;
use super::scenario::Scenario;
use super::state::{ChangedBy, Sim};
use axum::extract::{Path, State};
use axum::http::StatusCode;
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
        })
    })
}
