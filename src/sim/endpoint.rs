//! What every profile's handlers share: the request they get (`Call`), the answer they give
//! (`Answer`), JSON bodies and errors, the `{"enabled": bool}` flag body, the flag list and
//! the timestamped report of the numbers of now.

use super::metrics::Reading;
use super::profile::ProfileSpec;
use super::state::{ReadCtx, Sim};
use axum::body::Bytes;
use axum::http::{request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// One request to a profile route, already admitted (token checked when the route wants it).
pub(crate) struct Call {
    /// The route's `{param}`; empty when it has none.
    pub param: String,
    /// Method, URI (with its query) and headers, for handlers that check more than the token.
    pub parts: Parts,
    pub body: Bytes,
}

/// A handler's answer. `Err` is a refusal (bad body, unknown flag, conflict…) sent as it is, so
/// a handler can end early with `?`.
pub(crate) type Answer = Result<Response, Box<Response>>;

pub(crate) fn json_response(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

/// 200 with a JSON body.
pub(crate) fn ok(v: Value) -> Answer {
    Ok(json_response(StatusCode::OK, v))
}

/// `{"error": error, "detail": detail}` with `status`.
pub(crate) fn json_error(status: StatusCode, error: &str, detail: impl Into<String>) -> Response {
    json_response(status, json!({"error": error, "detail": detail.into()}))
}

/// The same as a refusal, for `?` and `Err(…)`.
pub(crate) fn refuse(status: StatusCode, error: &str, detail: impl Into<String>) -> Box<Response> {
    Box::new(json_error(status, error, detail))
}

/// 400 `bad_request`.
pub(crate) fn bad_request(detail: impl Into<String>) -> Box<Response> {
    refuse(StatusCode::BAD_REQUEST, "bad_request", detail)
}

/// 500 `internal_error`: a served path failing at the reported error rate.
pub(crate) fn simulated_failure(detail: String) -> Response {
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        format!("simulated failure on {detail}"),
    )
}

/// The `{"enabled": bool}` body every profile's flag endpoint takes (nothing else in it).
pub(crate) fn enabled(call: &Call) -> Result<bool, Box<Response>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SetFlag {
        enabled: bool,
    }
    serde_json::from_slice::<SetFlag>(&call.body)
        .map(|r| r.enabled)
        .map_err(|e| {
            bad_request(format!(
                "expected a JSON body {{\"enabled\": true|false}}: {e}"
            ))
        })
}

/// 404 `unknown_flag`, naming the flags there are.
pub(crate) fn unknown_flag(spec: &ProfileSpec, name: &str) -> Box<Response> {
    refuse(
        StatusCode::NOT_FOUND,
        "unknown_flag",
        format!("no flag `{name}`; known flags: {}", spec.flag_names()),
    )
}

/// `{"flags": {name: bool…}}`: a flag list endpoint, and what a flag change answers.
pub(crate) fn flags(sim: &Sim, _: &Call) -> Answer {
    ok(json!({"flags": sim.flags()}))
}

/// 200 with `body(ctx, readings, generated_at)` on the numbers of now; `generated_at` is
/// RFC 3339 to the second, as the metrics endpoints show it.
pub(crate) fn report(sim: &Sim, body: impl FnOnce(&ReadCtx, &[Reading], &str) -> Value) -> Answer {
    ok(sim.with_now(|ctx, readings, at| {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        body(ctx, readings, &at)
    }))
}
