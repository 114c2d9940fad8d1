//! `[[source]]`: an endpoint polled on its own schedule, an HTTP JSON document or a
//! Prometheus instant query.

use super::schema::{kp, Shape, TableSchema};
use super::validate::Out;
use super::{http, Config, Dur};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// GET `url`; the JSON body is what signal paths read.
    Http,
    /// An instant PromQL `query` against a Prometheus-compatible API (`{url}/api/v1/query`);
    /// each series of the result is a row.
    Prometheus,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub id: String,
    pub kind: SourceKind,
    /// For `prometheus`: the server's base URL (`/api/v1/query` is appended unless present).
    pub url: String,
    /// For `prometheus` (required there, refused elsewhere): the PromQL instant query.
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default = "default_interval")]
    pub interval: Dur,
    /// Total time-out for one poll (connect, headers and body).
    #[serde(default = "default_timeout")]
    pub timeout: Dur,
    /// Default: 2 s, or `timeout` when that is shorter.
    #[serde(default)]
    pub connect_timeout: Option<Dur>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Bodies larger than this are cut and the poll is an error.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// `check` exits 3 when a required source yields no data.
    #[serde(default = "yes")]
    pub required: bool,
    /// Read `Authorization: Bearer <token>` from this file (refused if others can read it).
    #[serde(default)]
    pub token_file: Option<String>,
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Only when written explicitly; shown as a warning in the header.
    #[serde(default)]
    pub insecure_tls: bool,
}

fn default_interval() -> Dur {
    Dur(std::time::Duration::from_secs(5))
}
fn default_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(3))
}
impl Source {
    /// The connect time-out in force: as written, else 2 s capped by `timeout`.
    pub fn connect_timeout(&self) -> std::time::Duration {
        self.connect_timeout
            .map(|d| d.0)
            .unwrap_or_else(|| std::time::Duration::from_secs(2).min(self.timeout.0))
    }
}
fn default_max_body() -> u64 {
    1024 * 1024
}
fn yes() -> bool {
    true
}

pub const SOURCE_KINDS: &[&str] = &["http", "prometheus"];

pub static SOURCE: TableSchema = TableSchema {
    name: "[[source]]",
    keys: &[
        ("id", Shape::Any),
        ("kind", Shape::Enum(SOURCE_KINDS)),
        ("url", Shape::Any),
        ("query", Shape::Any),
        ("interval", Shape::Any),
        ("timeout", Shape::Any),
        ("connect_timeout", Shape::Any),
        ("headers", Shape::Map),
        ("max_body_bytes", Shape::Any),
        ("required", Shape::Any),
        ("token_file", Shape::Any),
        ("ca_file", Shape::Any),
        ("insecure_tls", Shape::Any),
    ],
    required: &["id", "kind", "url"],
};

/// Each source on its own; ids written twice are found across tables (`validate`).
pub(super) fn check(cfg: &Config, out: &mut Out) {
    if cfg.sources.is_empty() {
        out.push(
            vec![],
            "no `[[source]]`: there is nothing to poll",
            Some("add one: `[[source]]` with `id`, `kind = \"http\"` and `url`".into()),
        );
    }
    for (i, s) in cfg.sources.iter().enumerate() {
        let at = |k: &str| kp!["source", i, k];
        if s.id.trim().is_empty() {
            out.push(at("id"), "source `id` is empty", None);
        }
        http::url(
            &s.url,
            at("url"),
            "${WARROOM_URL:-http://localhost:5000}/api/v1/health",
            out,
        );
        match (s.kind, s.query.as_deref()) {
            (SourceKind::Prometheus, None) => out.push(
                at("kind"),
                "a `prometheus` source needs `query`, the PromQL instant query to evaluate",
                Some("e.g. `query = 'sum(rate(http_requests_total{code=~\"5..\"}[1m])) / sum(rate(http_requests_total[1m])) * 100'`".into()),
            ),
            (SourceKind::Prometheus, Some(q)) if q.trim().is_empty() => {
                out.push(at("query"), "`query` is empty", None)
            }
            (SourceKind::Http, Some(_)) => out.push(
                at("query"),
                "`query` only applies to `kind = \"prometheus\"`",
                Some("an http source reads its JSON with each signal's `path`; remove `query` or set `kind = \"prometheus\"`".into()),
            ),
            _ => {}
        }
        if s.interval.0.is_zero() {
            out.push(
                at("interval"),
                "`interval` must be more than 0",
                Some("e.g. `interval = \"5s\"`".into()),
            );
        }
        if s.timeout.0.is_zero() {
            out.push(
                at("timeout"),
                "`timeout` must be more than 0",
                Some("e.g. `timeout = \"3s\"`".into()),
            );
        }
        if s.connect_timeout.is_some_and(|c| c > s.timeout) {
            out.push(
                at("connect_timeout"),
                format!(
                    "`connect_timeout` ({}) is longer than `timeout` ({}), which covers the whole poll",
                    crate::timefmt::format_duration(s.connect_timeout()),
                    crate::timefmt::format_duration(s.timeout.0)
                ),
                Some("make `connect_timeout` at most `timeout`".into()),
            );
        }
        if s.max_body_bytes == 0 {
            out.push(
                at("max_body_bytes"),
                "`max_body_bytes` must be more than 0",
                Some("the default is 1048576 (1 MiB)".into()),
            );
        }
        http::headers(&s.headers, kp!["source", i], out);
        http::token_file(s.token_file.as_deref(), &s.headers, kp!["source", i], out);
    }
}
