//! Operator actions: run one confirmed action exactly once — an
//! HTTP request or a command — and say what happened in words an operator can act on.
//!
//! This module never retries. An attempt is one request or one process; a manual retry is
//! a new [`Attempt`] that carries the *same* idempotency key, so a server that honours
//! `Idempotency-Key` applies the rollback at most once even when the first outcome was
//! unknown (time-out, reset after sending).
//!
//! Every text that leaves this module (excerpt, reasons, redirect location, `describe`
//! lines) has gone through the caller's `redact` and, for a `token_file`, through a redaction
//! of that token too: secrets never reach the screen or the audit log.

mod exec;

pub use exec::execute;

use crate::config::ActionCfg;
use crate::sample::Ts;
use crate::timefmt::{format_duration, format_elapsed_ms};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Longest excerpt of a response body or command output kept in an outcome.
pub const EXCERPT_MAX: usize = 2 * 1024;
/// Longest request body shown in the confirmation modal.
const DESCRIBE_BODY_MAX: usize = 400;

/// One try of one confirmed action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub action_id: String,
    /// Created once per confirmed action and reused on a manual retry, so the server can
    /// tell a retry from a second rollback.
    pub idempotency_key: String,
    /// 1 for the first try, 2 for the first manual retry…
    pub attempt: u32,
}

impl Attempt {
    /// A first attempt with a fresh key.
    pub fn first(action_id: &str) -> Self {
        Attempt {
            action_id: action_id.to_string(),
            idempotency_key: new_idempotency_key(action_id),
            attempt: 1,
        }
    }

    /// The next manual retry: same action, same key, attempt + 1.
    pub fn retry(&self) -> Self {
        Attempt {
            action_id: self.action_id.clone(),
            idempotency_key: self.idempotency_key.clone(),
            attempt: self.attempt.saturating_add(1),
        }
    }
}

/// `warroom-<action>-<time>-<random>`: unique per confirmation, readable in server logs.
/// Random bits come from std's per-process SipHash keys (no extra dependency); uniqueness,
/// not secrecy, is what an idempotency key needs.
pub fn new_idempotency_key(action_id: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = chrono::Utc::now();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(now.timestamp_nanos_opt().unwrap_or_default() as u128);
    h.write_u32(std::process::id());
    h.write(action_id.as_bytes());
    let slug: String = action_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(32)
        .collect();
    format!(
        "warroom-{slug}-{}-{:016x}",
        now.format("%Y%m%dT%H%M%SZ"),
        h.finish()
    )
}

/// What one attempt did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    pub started_at: Ts,
    pub duration_ms: u64,
    pub result: ActionResult,
    /// The response body or the command's output: at most [`EXCERPT_MAX`] bytes, redacted,
    /// control characters removed (it is drawn in the TUI).
    pub excerpt: String,
    /// A command's whole kept output (its first and last bytes per stream), redacted, for
    /// its `capture` values; empty for a request. Not serialized: the captures are kept.
    #[serde(skip)]
    pub output: String,
}

impl ActionOutcome {
    pub fn is_success(&self) -> bool {
        self.result.is_success()
    }
    pub fn outcome_unknown(&self) -> bool {
        self.result.outcome_unknown()
    }
    /// One line for the events panel.
    pub fn summary(&self) -> String {
        self.result.summary(self.duration_ms)
    }
}

/// How an attempt ended. The texts inside are already redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ActionResult {
    /// A 2xx answer: success.
    Http { status: u16 },
    /// A 4xx/5xx answer: the server said no (or failed).
    HttpError { status: u16 },
    /// A 3xx answer: not followed (an action must hit exactly the URL that was confirmed).
    Redirect {
        status: u16,
        location: Option<String>,
    },
    /// Connection refused: the request was definitely not sent.
    Refused,
    /// Nothing was sent for another reason: token file, CA file, DNS, TLS, connect time-out,
    /// an invalid header.
    NotSent { reason: String },
    /// The request went out but no answer came in time: it may have arrived.
    TimedOut { after_ms: u64 },
    /// The connection broke after the request was (maybe) sent: it may have arrived.
    ResetAfterSend { reason: String },
    /// The command ran to its end; 0 is success.
    Exited { code: i32 },
    /// The command was ended by a signal it did not get from us.
    Signalled { signal: i32 },
    /// The command hit its time-out and was killed (with its whole process group).
    Killed { after_ms: u64 },
    /// `argv[0]` is not an executable on PATH (or at the path given).
    NotFound { program: String },
    /// The command could not be started (permissions, cwd, empty argv…).
    SpawnFailed(String),
}

impl ActionResult {
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            ActionResult::Http { .. } | ActionResult::Exited { code: 0 }
        )
    }

    /// It may have taken effect: check the target before retrying.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            ActionResult::TimedOut { .. }
                | ActionResult::ResetAfterSend { .. }
                // A command killed half-way may have done part of its work.
                | ActionResult::Killed { .. }
        )
    }

    /// One line for the events panel; `duration_ms` is the attempt's duration.
    pub fn summary(&self, duration_ms: u64) -> String {
        let took = format_elapsed_ms(duration_ms);
        match self {
            ActionResult::Http { status } => format!("HTTP {status} in {took}"),
            ActionResult::HttpError { status } if matches!(status, 401 | 403) => format!(
                "HTTP {status} in {took}: unauthorized — check the token (Authorization header)"
            ),
            ActionResult::HttpError { status } => {
                let reason = reqwest::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("error");
                format!("HTTP {status} {reason} in {took}: failed")
            }
            ActionResult::Redirect { status, location } => format!(
                "HTTP {status} redirect to {} not followed: check the URL",
                location.as_deref().unwrap_or("(no Location)")
            ),
            ActionResult::Refused => "refused: nothing was sent".into(),
            ActionResult::NotSent { reason } => format!("not sent ({reason}): nothing was sent"),
            ActionResult::TimedOut { after_ms } => format!(
                "time-out after {}: outcome unknown — check before retrying",
                format_duration(Duration::from_millis(*after_ms))
            ),
            ActionResult::ResetAfterSend { reason } => {
                format!("{reason} after sending: outcome unknown — check before retrying")
            }
            ActionResult::Exited { code } => format!("exit {code} in {took}"),
            ActionResult::Signalled { signal } => format!("ended by signal {signal} in {took}"),
            ActionResult::Killed { after_ms } => format!(
                "killed after {}: outcome unknown — check before retrying",
                format_duration(Duration::from_millis(*after_ms))
            ),
            ActionResult::NotFound { program } => format!("not found: no program `{program}`"),
            ActionResult::SpawnFailed(reason) => format!("cannot start: {reason}"),
        }
    }
}

/// Header names whose values are credentials: shown as `Bearer ***` / `***`.
fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || (n != "idempotency-key"
        && ["token", "secret", "key", "password", "auth", "session"]
            .iter()
            .any(|w| n.contains(w)))
}

/// `Bearer abc…` → `Bearer ***`; any other secret value → `***`.
fn mask_secret_value(v: &str) -> String {
    let v = v.trim();
    match v.split_once(char::is_whitespace) {
        Some((scheme, _))
            if scheme.chars().all(|c| c.is_ascii_alphabetic()) && scheme.len() <= 12 =>
        {
            format!("{scheme} ***")
        }
        _ => "***".into(),
    }
}

/// The lines the confirmation modal shows: exactly what will run, secrets masked.
/// `redact` is the caller's redaction of known secret values (tokens from the environment),
/// applied to every line on top of the header masking.
pub fn describe(cfg: &ActionCfg, redact: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(r) = &cfg.request {
        lines.push(format!("{} {}", r.method.to_ascii_uppercase(), r.url));
        for (k, v) in &r.headers {
            let shown = if is_secret_header(k) {
                mask_secret_value(v)
            } else {
                v.clone()
            };
            lines.push(format!("{k}: {shown}"));
        }
        if let Some(path) = &r.token_file {
            lines.push(format!(
                "Authorization: Bearer *** (from token_file {path})"
            ));
        }
        if let Some(body) = &r.body {
            let has_ct = r
                .headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"));
            if !has_ct {
                lines.push("Content-Type: application/json".into());
            }
            lines.push(format!(
                "body: {}",
                clip(&one_line(body), DESCRIBE_BODY_MAX)
            ));
        }
        if let Some(src) = &r.tls_from {
            lines.push(format!("tls: as source {src}"));
        }
        lines.push("redirects: not followed; retries: none".into());
        lines.push(format!("timeout: {}", format_duration(r.timeout.0)));
    }
    if let Some(c) = &cfg.command {
        lines.push(format!("argv: {:?}", c.argv));
        for (k, v) in &c.env {
            let shown = if is_secret_header(k) {
                "***".to_string()
            } else {
                v.clone()
            };
            lines.push(format!("env: {k}={shown}"));
        }
        if let Some(cwd) = &c.cwd {
            lines.push(format!("cwd: {cwd}"));
        }
        lines.push(format!("timeout: {}", format_duration(c.timeout.0)));
    }
    if cfg.request.is_none() && cfg.command.is_none() {
        lines.push("(nothing to run: no request and no command)".into());
    }
    lines.into_iter().map(|l| sanitize(&redact(&l))).collect()
}

/// Newlines and tabs as spaces: one modal line per item.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` bytes, cut on a char boundary, with `…` when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Drop control characters (escape sequences from a server or a command must not drive the
/// operator's terminal); newlines and tabs stay.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests;
