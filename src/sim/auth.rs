//! The admin token: `Authorization: Bearer <token>` checked in constant time, and the 401s that
//! name the problem, never the token.

use super::endpoint::json_error;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

/// `Bearer <token>` (scheme case-insensitive), compared in constant time.
pub(crate) fn bearer_matches(header: &[u8], token: &[u8]) -> bool {
    if header.len() < 7 || !header[..7].eq_ignore_ascii_case(b"bearer ") {
        return false;
    }
    let got = &header[7..];
    if got.len() != token.len() {
        return false;
    }
    got.iter().zip(token).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Whether the request carries the token, for the request log; `None` when there is no token.
pub(crate) fn authorization_valid(token: Option<&str>, headers: &HeaderMap) -> Option<bool> {
    let token = token?;
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Some(false);
    };
    Some(bearer_matches(v.as_bytes(), token.as_bytes()))
}

/// Admin endpoints need `Authorization: Bearer <token>` when a token is configured: the 401 to
/// send when the request lacks it.
pub(crate) fn admin_denied(token: Option<&str>, headers: &HeaderMap) -> Option<Response> {
    let token = token?;
    let v = match headers.get(header::AUTHORIZATION) {
        None => {
            return Some(unauthorized(
                "missing `Authorization: Bearer <token>` header",
                None,
            ))
        }
        Some(v) => v.as_bytes(),
    };
    if v.len() < 7 || !v[..7].eq_ignore_ascii_case(b"bearer ") {
        Some(unauthorized(
            "the Authorization header is not of the form `Bearer <token>`",
            Some("invalid_request"),
        ))
    } else if bearer_matches(v, token.as_bytes()) {
        None
    } else {
        Some(unauthorized(
            "the bearer token does not match",
            Some("invalid_token"),
        ))
    }
}

/// 401 with a `WWW-Authenticate: Bearer` challenge (and its error code, when there is one).
pub(crate) fn unauthorized(detail: &str, error_code: Option<&str>) -> Response {
    let mut resp = json_error(StatusCode::UNAUTHORIZED, "unauthorized", detail);
    let challenge = match error_code {
        Some(code) => format!("Bearer realm=\"warroom-sim\", error=\"{code}\""),
        None => "Bearer realm=\"warroom-sim\"".to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}
