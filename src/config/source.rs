//! `[[source]]`: what is polled on its own schedule: an HTTP JSON document, a
//! Prometheus instant query, or a command's output (an argv or a shell-less pipeline).

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
    /// Run `argv` (or the `pipeline`, wired by warroom, no shell) and parse its output.
    Command,
}

/// The HTTP method of an `http` source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    #[default]
    Get,
    Post,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// How a `command` source's output becomes the document its signals' paths read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Parse {
    /// The output is a JSON document.
    #[default]
    Json,
    /// The output (trimmed) is one number.
    Number,
    /// The output (trimmed) is one string.
    Text,
    /// An array of the output's non-empty lines.
    Lines,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub id: String,
    pub kind: SourceKind,
    /// For `prometheus`: the server's base URL (`/api/v1/query` is appended unless present).
    /// Empty for a `command` source.
    #[serde(default)]
    pub url: String,
    /// For `http`: GET (default), POST or PUT.
    #[serde(default)]
    pub method: Method,
    /// For `http` POST/PUT: the request body (time tokens rendered per poll).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// For `command`: the program and its arguments (never a shell string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// For `command`, instead of `argv`: commands whose stdout feeds the next one's stdin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Vec<Vec<String>>>,
    /// For `command`: how its output is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse: Option<Parse>,
    /// For `command`: the value is this regex's first group in the output (for `lines`:
    /// in each line; lines it does not match are dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// For `command`: extra environment (the rest is inherited).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// For `command`: the working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// For `command`: output larger than this is an error (the command is killed).
    #[serde(default = "default_max_body")]
    pub max_output_bytes: u64,
    /// For `command`: exit codes that count as success (default `[0]`), for every
    /// command of a pipeline — e.g. `[0, 1]` where `grep` says "no match" with 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok_exit: Option<Vec<i32>>,
    /// A path to the payload's own timestamp (RFC 3339, or epoch seconds or ms): the
    /// value's age is judged from it, not from when the poll answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh_at: Option<String>,
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

pub const SOURCE_KINDS: &[&str] = &["http", "prometheus", "command"];
pub const METHODS: &[&str] = &["GET", "POST", "PUT"];
pub const PARSES: &[&str] = &["json", "number", "text", "lines"];

impl Source {
    /// A `command` source's commands: its `argv`, or each command of its `pipeline`.
    pub fn commands(&self) -> Vec<&[String]> {
        match (&self.argv, &self.pipeline) {
            (Some(a), _) => vec![a.as_slice()],
            (None, Some(p)) => p.iter().map(Vec::as_slice).collect(),
            (None, None) => Vec::new(),
        }
    }

    /// The exit codes counted as success.
    pub fn ok_exit_codes(&self) -> &[i32] {
        self.ok_exit.as_deref().unwrap_or(&[0])
    }
}

pub static SOURCE: TableSchema = TableSchema {
    name: "[[source]]",
    keys: &[
        ("id", Shape::Any),
        ("kind", Shape::Enum(SOURCE_KINDS)),
        ("url", Shape::Any),
        ("method", Shape::Enum(METHODS)),
        ("body", Shape::Any),
        ("argv", Shape::Argv),
        ("pipeline", Shape::Any),
        ("parse", Shape::Enum(PARSES)),
        ("regex", Shape::Any),
        ("env", Shape::Map),
        ("cwd", Shape::Any),
        ("max_output_bytes", Shape::Any),
        ("ok_exit", Shape::Any),
        ("fresh_at", Shape::Any),
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
    required: &["id", "kind"],
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
        match s.kind {
            SourceKind::Command => command(s, i, out),
            SourceKind::Http | SourceKind::Prometheus => {
                http_only(s, i, out);
                if s.url.trim().is_empty() {
                    out.push(
                        at("url"),
                        format!("a `{}` source needs `url`", kind_word(s.kind)),
                        Some(
                            "e.g. `url = \"${WARROOM_URL:-http://localhost:5000}/api/v1/health\"`"
                                .into(),
                        ),
                    );
                } else {
                    // Checked as a poll would send it: time tokens rendered at some time.
                    let shown = crate::tokens::render(&s.url, chrono::DateTime::UNIX_EPOCH)
                        .unwrap_or_else(|_| s.url.clone());
                    http::url(
                        &shown,
                        at("url"),
                        "${WARROOM_URL:-http://localhost:5000}/api/v1/health",
                        out,
                    );
                }
            }
        }
        match (s.kind, s.query.as_deref()) {
            (SourceKind::Prometheus, None) => out.push(
                at("kind"),
                "a `prometheus` source needs `query`, the PromQL instant query to evaluate",
                Some("e.g. `query = 'sum(rate(http_requests_total{code=~\"5..\"}[1m])) / sum(rate(http_requests_total[1m])) * 100'`".into()),
            ),
            (SourceKind::Prometheus, Some(q)) if q.trim().is_empty() => {
                out.push(at("query"), "`query` is empty", None)
            }
            (SourceKind::Http | SourceKind::Command, Some(_)) => out.push(
                at("query"),
                "`query` only applies to `kind = \"prometheus\"`",
                Some("an http or command source is read with each signal's `path`; remove `query` or set `kind = \"prometheus\"`".into()),
            ),
            _ => {}
        }
        if s.kind == SourceKind::Prometheus && (s.method != Method::Get || s.body.is_some()) {
            out.push(
                at("method"),
                "`method` and `body` apply to `kind = \"http\"`: a prometheus source sends its query with GET",
                None,
            );
        }
        if s.kind == SourceKind::Http && s.method == Method::Get && s.body.is_some() {
            out.push(
                at("body"),
                "`body` is sent only with `method = \"POST\"` or `\"PUT\"`",
                Some("add `method = \"POST\"`, or remove `body`".into()),
            );
        }
        for (key, text) in token_texts(s, i) {
            if let Err(e) = crate::tokens::check(text) {
                out.push(key, e.to_string(), Some(crate::tokens::HINT.into()));
            }
        }
        if let Some(p) = &s.fresh_at {
            if let Err(e) = crate::path::JsonPath::parse(p) {
                out.push(
                    at("fresh_at"),
                    e.to_string(),
                    Some("e.g. `fresh_at = \".generated_at\"`".into()),
                );
            }
            if s.kind == SourceKind::Prometheus {
                out.push(
                    at("fresh_at"),
                    "a prometheus source's freshness is each sample's own time: `fresh_at` does not apply",
                    None,
                );
            }
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
        if s.kind != SourceKind::Command {
            http::headers(&s.headers, kp!["source", i], out);
            http::token_file(s.token_file.as_deref(), &s.headers, kp!["source", i], out);
        }
    }
}

fn kind_word(k: SourceKind) -> &'static str {
    match k {
        SourceKind::Http => "http",
        SourceKind::Prometheus => "prometheus",
        SourceKind::Command => "command",
    }
}

/// Every text a poll renders time tokens in, with where it is.
fn token_texts(s: &Source, i: usize) -> Vec<(Vec<super::schema::Seg>, &str)> {
    let mut out = vec![(kp!["source", i, "url"], s.url.as_str())];
    if let Some(b) = &s.body {
        out.push((kp!["source", i, "body"], b.as_str()));
    }
    for (k, v) in &s.headers {
        out.push((kp!["source", i, "headers", k.as_str()], v.as_str()));
    }
    if let Some(a) = &s.argv {
        for (j, x) in a.iter().enumerate() {
            out.push((kp!["source", i, "argv", j], x.as_str()));
        }
    }
    if let Some(p) = &s.pipeline {
        for (c, cmd) in p.iter().enumerate() {
            for (j, x) in cmd.iter().enumerate() {
                out.push((kp!["source", i, "pipeline", c, j], x.as_str()));
            }
        }
    }
    out
}

/// The keys of `http`/`prometheus` only, refused on a `command` source (and the reverse).
fn http_only(s: &Source, i: usize, out: &mut Out) {
    let at = |k: &str| kp!["source", i, k];
    let set: [(&str, bool); 8] = [
        ("argv", s.argv.is_some()),
        ("pipeline", s.pipeline.is_some()),
        ("parse", s.parse.is_some()),
        ("regex", s.regex.is_some()),
        ("env", !s.env.is_empty()),
        ("cwd", s.cwd.is_some()),
        ("ok_exit", s.ok_exit.is_some()),
        ("max_output_bytes", s.max_output_bytes != default_max_body()),
    ];
    for (k, on) in set {
        if on {
            out.push(
                at(k),
                format!("`{k}` only applies to `kind = \"command\"`"),
                Some(format!(
                    "remove `{k}`, or set `kind = \"command\"` with `argv = [...]`"
                )),
            );
        }
    }
}

/// A `command` source: `argv` or `pipeline` (exactly one, no empty command), the regex,
/// and none of the HTTP keys.
fn command(s: &Source, i: usize, out: &mut Out) {
    let at = |k: &str| kp!["source", i, k];
    let http_keys: [(&str, bool); 8] = [
        ("url", !s.url.is_empty()),
        ("method", s.method != Method::Get),
        ("body", s.body.is_some()),
        ("headers", !s.headers.is_empty()),
        ("token_file", s.token_file.is_some()),
        ("ca_file", s.ca_file.is_some()),
        ("insecure_tls", s.insecure_tls),
        ("connect_timeout", s.connect_timeout.is_some()),
    ];
    for (k, on) in http_keys {
        if on {
            out.push(
                at(k),
                format!("`{k}` does not apply to `kind = \"command\"`"),
                Some("a command source runs `argv` (or `pipeline`) and reads its output".into()),
            );
        }
    }
    const EXAMPLE: &str =
        "e.g. `argv = [\"aws\", \"ssm\", \"get-parameter\", \"--name\", \"/app/split\"]`";
    match (&s.argv, &s.pipeline) {
        (None, None) => out.push(
            at("kind"),
            "a `command` source needs `argv` (one command) or `pipeline` (commands wired stdout to stdin)",
            Some(EXAMPLE.into()),
        ),
        (Some(_), Some(_)) => out.push(
            at("pipeline"),
            "`argv` and `pipeline` are both set: write one command as `argv`, or several as `pipeline`",
            None,
        ),
        (Some(a), None) => argv(a, at("argv"), out),
        (None, Some(p)) => {
            if p.is_empty() {
                out.push(
                    at("pipeline"),
                    "`pipeline` is empty: there is no program to run",
                    Some("e.g. `pipeline = [[\"docker\", \"logs\", \"api\"], [\"grep\", \"-ci\", \"error\"]]`".into()),
                );
            }
            for (c, cmd) in p.iter().enumerate() {
                argv(cmd, kp!["source", i, "pipeline", c], out);
            }
        }
    }
    if let Some(cwd) = &s.cwd {
        if cwd.trim().is_empty() {
            out.push(at("cwd"), "`cwd` is empty", None);
        }
    }
    if let Some(r) = &s.regex {
        match regex::Regex::new(r) {
            Err(e) => out.push(
                at("regex"),
                format!("`regex` does not compile: {}", first_line(&e.to_string())),
                None,
            ),
            Ok(re) if re.captures_len() < 2 => out.push(
                at("regex"),
                "`regex` has no group: the value is its first group, e.g. `regex = 'errors: (\\d+)'`",
                None,
            ),
            Ok(_) => {}
        }
    }
    if s.max_output_bytes == 0 {
        out.push(
            at("max_output_bytes"),
            "`max_output_bytes` must be more than 0",
            Some("the default is 1048576 (1 MiB)".into()),
        );
    }
    if s.ok_exit.as_ref().is_some_and(Vec::is_empty) {
        out.push(
            at("ok_exit"),
            "`ok_exit` is empty: no exit code would count as success",
            Some("the default is `[0]`".into()),
        );
    }
}

fn argv(a: &[String], at: Vec<super::schema::Seg>, out: &mut Out) {
    match a.first() {
        None => out.push(
            at,
            "the command is empty: there is no program to run",
            Some("write the program and its arguments, e.g. `[\"mongosh\", \"--quiet\", \"--eval\", \"...\"]`".into()),
        ),
        Some(p) if p.trim().is_empty() => {
            let mut at = at;
            at.push(super::schema::Seg::Index(0));
            out.push(at, "the program (first word of the command) is empty", None)
        }
        _ => {}
    }
}

fn first_line(s: &str) -> String {
    s.lines().last().unwrap_or(s).trim().to_string()
}
