//! The data listener's HTTP layer: the profile's API built from its spec, `/metrics`, the
//! control endpoints (also reachable here), and around all of it the request log and the
//! transport scenarios.
//!
//! Transport scenarios wrap every non-`/__sim` data request: `unauthorized` answers 401 before
//! any handler; `malformed` halves the body of any 2xx; `slow` runs the handler at once (a
//! rollback posted then does take effect) and delays only the answer.

use super::auth::unauthorized;
use super::control;
use super::endpoint::{json_error, Answer, Call};
use super::profile::{Access, Method, Route};
use super::scenario::Scenario;
use super::state::Sim;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::handler::Handler;
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use std::sync::Arc;

/// Request bodies larger than this are refused with 413.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;

/// Everything the data listener serves.
pub(crate) fn data_router(sim: Arc<Sim>) -> Router {
    profile_routes(&sim)
        .route("/metrics", get(metrics_handler))
        .merge(control::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            sim.clone(),
            data_middleware,
        ))
        .with_state(sim)
}

/// The spec's routes (under each mirror prefix too) and its served endpoints.
fn profile_routes(sim: &Sim) -> Router<Arc<Sim>> {
    let spec = sim.spec;
    let mut r = Router::new();
    for prefix in std::iter::once("").chain(spec.mirrors.iter().copied()) {
        for route in spec.routes {
            r = r.route(&format!("{prefix}{}", route.path), method_router(route));
        }
    }
    if let Some(serve) = &spec.serve {
        let handler = serve.handler;
        for (idx, e) in spec.endpoints.iter().enumerate() {
            let h = move |State(sim): State<Arc<Sim>>| async move { handler(&sim, idx) };
            r = r.route(e.path, get(h).post(h));
        }
    }
    r
}

fn method_router(route: &'static Route) -> MethodRouter<Arc<Sim>> {
    // Only a route with a `{param}` extracts it, so a bad one is refused as axum refuses it.
    if route.path.contains('{') {
        on(
            route.methods,
            move |State(sim): State<Arc<Sim>>,
                  Path(param): Path<String>,
                  parts: Parts,
                  body: Bytes| async move {
                answer(route, &sim, Call { param, parts, body })
            },
        )
    } else {
        on(
            route.methods,
            move |State(sim): State<Arc<Sim>>, parts: Parts, body: Bytes| async move {
                let param = String::new();
                answer(route, &sim, Call { param, parts, body })
            },
        )
    }
}

fn on<H, T>(methods: &[Method], h: H) -> MethodRouter<Arc<Sim>>
where
    H: Handler<T, Arc<Sim>>,
    T: 'static,
{
    methods.iter().fold(MethodRouter::new(), |mr, m| match m {
        Method::Get => mr.get(h.clone()),
        Method::Post => mr.post(h.clone()),
        Method::Put => mr.put(h.clone()),
    })
}

/// The admin check, then the handler.
fn answer(route: &Route, sim: &Sim, call: Call) -> Response {
    if route.access == Access::Admin {
        if let Some(refused) = sim.admin_denied(&call.parts.headers) {
            return refused;
        }
    }
    let answer: Answer = (route.handler)(sim, &call);
    answer.unwrap_or_else(|refused| *refused)
}

/// Records every request, then applies the transport-fault scenarios around the handlers.
async fn data_middleware(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body over 1 MiB or unreadable",
            )
        }
    };
    let id = sim.record(&parts, &bytes);
    let is_control = parts.uri.path().starts_with("/__sim/");
    let req = Request::from_parts(parts, Body::from(bytes));
    if is_control {
        let resp = next.run(req).await;
        sim.set_status(id, resp.status());
        return resp;
    }
    let scenario = sim.scenario();
    let mut resp = match scenario {
        // Only a connection accepted just before `down` can get here: close it.
        Scenario::Down => {
            let mut r = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "down",
                "scenario `down`: the system is down",
            );
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
        Scenario::Unauthorized => unauthorized(
            "scenario `unauthorized`: every request is refused, token or not",
            None,
        ),
        _ => next.run(req).await,
    };
    if scenario == Scenario::Malformed && resp.status().is_success() {
        resp = truncate_body(resp).await;
    }
    sim.set_status(id, resp.status());
    if scenario == Scenario::Slow {
        // The handler already ran (a rollback posted now does take effect: "outcome unknown"
        // for the client); only the answer is late. Sleeping here blocks nothing else.
        tokio::time::sleep(sim.slow_delay).await;
    }
    resp
}

/// Cuts the body in half: any proper prefix of a JSON object is invalid JSON.
async fn truncate_body(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_default();
    let cut = if bytes.len() >= 2 { bytes.len() / 2 } else { 0 };
    let broken = if cut == 0 {
        Bytes::from_static(b"{")
    } else {
        bytes.slice(..cut)
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(broken))
}

/// `GET /metrics`: Prometheus text 0.0.4 — `http_requests_total{path,code}`,
/// `http_request_duration_seconds_{bucket,sum,count}{path[,le]}`, `warroom_sim_flag{name}` and
/// the profile's gauges.
async fn metrics_handler(State(sim): State<Arc<Sim>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        sim.exposition(),
    )
        .into_response()
}

pub(crate) async fn not_found(req: Request) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {}", req.method(), req.uri().path()),
    )
}
