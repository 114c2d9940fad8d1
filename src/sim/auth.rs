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

/// `got` equals `want`, compared in constant time for equal lengths.
pub(crate) fn key_matches(got: &[u8], want: &[u8]) -> bool {
    got.len() == want.len() && got.iter().zip(want).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The keys the simulated vendors' APIs accept. `None` accepts any non-empty key (the
/// header must still be there); a key given must match.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct VendorKeys {
    /// `DD-API-KEY`.
    pub datadog_api: Option<String>,
    /// `DD-APPLICATION-KEY`.
    pub datadog_app: Option<String>,
    /// NerdGraph's `API-Key` (a user key, `NRAK-…`).
    pub new_relic: Option<String>,
}

// Keys never appear in Debug output.
impl std::fmt::Debug for VendorKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |k: &Option<String>| k.as_ref().map(|_| "<redacted>");
        f.debug_struct("VendorKeys")
            .field("datadog_api", &shown(&self.datadog_api))
            .field("datadog_app", &shown(&self.datadog_app))
            .field("new_relic", &shown(&self.new_relic))
            .finish()
    }
}

impl VendorKeys {
    fn allows(headers: &HeaderMap, name: &str, want: Option<&str>) -> bool {
        let Some(got) = headers.get(name).map(|v| v.as_bytes()) else {
            return false;
        };
        if got.iter().all(u8::is_ascii_whitespace) {
            return false;
        }
        want.is_none_or(|w| key_matches(got, w.as_bytes()))
    }

    /// Both Datadog headers are there (and right, when the simulator has keys).
    pub(crate) fn datadog_allows(&self, headers: &HeaderMap) -> bool {
        Self::allows(headers, "dd-api-key", self.datadog_api.as_deref())
            && Self::allows(headers, "dd-application-key", self.datadog_app.as_deref())
    }

    /// NerdGraph's `API-Key` header is there (and right, when the simulator has a key).
    pub(crate) fn new_relic_allows(&self, headers: &HeaderMap) -> bool {
        Self::allows(headers, "api-key", self.new_relic.as_deref())
    }
}
