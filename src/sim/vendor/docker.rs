//! The log lines of the simulated system's containers (`telemetry.containers`), as
//! `docker logs` shows them: drawn from the history, so a failed request is one `ERROR` line
//! at the second it failed and `docker logs --since 5m … | grep -i error | wc -l` counts the
//! failures of the last five minutes.
//!
//! - `Nest` (NestJS, the TypeScript v2): start-up lines, a `LOG [HTTP]` summary every 10 s
//!   and a `WARN [HTTP]` line for slow seconds on **stdout**; each failed request an
//!   `ERROR [ExceptionsHandler] …` line and two `    at …` stack lines on **stderr** (Nest's
//!   console logger writes errors there). Exactly one line per failure matches `error`
//!   case-insensitively.
//! - `Uvicorn` (the Python v1): everything on **stderr** (uvicorn's default logging, access
//!   log off); each failure `ERROR:    Exception in ASGI application`, a traceback and its
//!   exception line (`…Error: …`): two lines per failure match `error`.
//!
//! Lines are kept for the last hour (the history's length).

use crate::sim::history::{History, Mix};
use crate::sim::metrics::noise;
use crate::sim::profile::ProfileSpec;
use crate::sim::telemetry::{Container, LogStyle};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line as Docker's json-file log driver keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LogLine {
    /// RFC 3339 with nanoseconds, UTC.
    pub time: String,
    pub stream: Stream,
    /// The line without its newline.
    pub log: String,
    #[serde(skip)]
    pub unix_ms: i64,
}

pub(crate) fn container<'a>(spec: &'a ProfileSpec, name: &str) -> Option<&'a Container> {
    spec.telemetry.containers.iter().find(|c| c.name == name)
}

fn wall(unix_ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(unix_ms).unwrap_or_default()
}

fn nest_date(t: DateTime<Utc>) -> String {
    t.format("%m/%d/%Y, %-I:%M:%S %p").to_string()
}

const NEST_FAILURES: [(&str, &str, &str); 4] = [
    (
        "Cannot read properties of undefined (reading 'centroid')",
        "SegmentService.assign (/app/dist/segment/segment.service.js:88:19)",
        "SegmentController.segment (/app/dist/segment/segment.controller.js:31:42)",
    ),
    (
        "Timed out fetching a new connection from the connection pool (connection limit: 10)",
        "PrismaService.$transaction (/app/dist/prisma/prisma.service.js:54:23)",
        "PredictService.predict (/app/dist/predict/predict.service.js:42:17)",
    ),
    (
        "Cluster assignment failed: no rule matched segment 'new'",
        "RulesEngine.classify (/app/dist/predict/rules.engine.js:117:15)",
        "PredictService.predict (/app/dist/predict/predict.service.js:47:30)",
    ),
    (
        "Request failed with status code 502 (upstream recommendations)",
        "RecommendationsClient.fetch (/app/dist/recs/recs.client.js:23:11)",
        "PredictService.enrich (/app/dist/predict/predict.service.js:63:24)",
    ),
];

const PY_FAILURES: [(&str, &str); 3] = [
    (
        "  File \"/app/apps/api/services/predict.py\", line 88, in predict",
        "KeyError: 'segment'",
    ),
    (
        "  File \"/app/apps/api/db.py\", line 41, in session",
        "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) server closed the connection unexpectedly",
    ),
    (
        "  File \"/app/apps/api/services/segment.py\", line 57, in assign",
        "ValueError: could not convert string to float: 'n/a'",
    ),
];

struct Out {
    lines: Vec<LogLine>,
    from_ms: i64,
    to_ms: i64,
}

impl Out {
    fn push(&mut self, unix_ms: i64, stream: Stream, log: String) {
        if unix_ms < self.from_ms || unix_ms >= self.to_ms {
            return;
        }
        let time = wall(unix_ms).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        self.lines.push(LogLine {
            time,
            stream,
            log,
            unix_ms,
        });
    }
}

/// The container's lines with times in `[since_s, until_s)`, oldest first.
pub(crate) fn logs(
    spec: &ProfileSpec,
    c: &Container,
    h: &History,
    since_s: f64,
    until_s: f64,
) -> Vec<LogLine> {
    let mut out = Out {
        lines: Vec::new(),
        from_ms: (since_s * 1000.0).floor() as i64,
        to_ms: (until_s * 1000.0).ceil() as i64,
    };
    let start_ms = h.started_unix_s() * 1000;
    startup(c, start_ms, &mut out);
    let seconds: Vec<_> = h.range(since_s, until_s).collect();
    let mut before = h.errors_before(seconds.first().map_or(0, |s| s.unix_s));
    for s in &seconds {
        let base = s.unix_s * 1000;
        // Failures: the whole part of each endpoint's running error count.
        for &i in c.endpoints {
            let (prev, now) = (
                before.get(i).copied().unwrap_or(0.0),
                s.errors_so_far.get(i).copied().unwrap_or(0.0),
            );
            let n = (now.floor() - prev.floor()).max(0.0) as u64;
            for k in 0..n {
                let at = base + (noise(s.unix_s as u64, i as u64, 10 + k) * 999.0) as i64;
                let pick = (noise(s.unix_s as u64, i as u64, 40 + k) * 1000.0) as usize;
                failure(
                    c,
                    spec.endpoints.get(i).map_or("", |e| e.path),
                    at,
                    pick,
                    &mut out,
                );
            }
        }
        before = s.errors_so_far.clone();
        if c.style == LogStyle::Nest {
            let mix = Mix::of(std::iter::once(*s), c.endpoints);
            if mix.quantile_ms(0.95).is_some_and(|p| p > 2000.0) && s.unix_s % 5 == 0 {
                let p95 = mix.quantile_ms(0.95).unwrap_or(0.0);
                let path = c
                    .endpoints
                    .first()
                    .and_then(|i| spec.endpoints.get(*i))
                    .map_or("/", |e| e.path);
                out.push(
                    base + 500,
                    Stream::Stdout,
                    format!(
                        "[Nest] 1  - {}    WARN [HTTP] slow request: POST {path} took {:.0}ms",
                        nest_date(wall(base)),
                        p95
                    ),
                );
            }
            if s.unix_s % 10 == 0 {
                let last10 = h.range((s.unix_s - 9) as f64, (s.unix_s + 1) as f64);
                let mix = Mix::of(last10, c.endpoints);
                out.push(
                    base + 999,
                    Stream::Stdout,
                    format!(
                        "[Nest] 1  - {}     LOG [HTTP] {:.0} requests in the last 10s, p95 {:.0}ms",
                        nest_date(wall(base)),
                        mix.hits(),
                        mix.quantile_ms(0.95).unwrap_or(0.0)
                    ),
                );
            }
        }
    }
    out.lines.sort_by_key(|l| l.unix_ms);
    out.lines
}

fn startup(c: &Container, at: i64, out: &mut Out) {
    let d = nest_date(wall(at));
    match c.style {
        LogStyle::Nest => {
            for (k, (ctx, msg)) in [
                ("NestFactory", "Starting Nest application..."),
                ("InstanceLoader", "AppModule dependencies initialized +14ms"),
                (
                    "InstanceLoader",
                    "PrismaModule dependencies initialized +1ms",
                ),
                (
                    "RoutesResolver",
                    "PredictController {/api/v2/predict}: +3ms",
                ),
                (
                    "RoutesResolver",
                    "SegmentController {/api/v2/segment}: +1ms",
                ),
                ("RoutesResolver", "AdminController {/api/v2/admin}: +1ms"),
                (
                    "NestApplication",
                    "Nest application successfully started +2ms",
                ),
            ]
            .into_iter()
            .enumerate()
            {
                out.push(
                    at + k as i64,
                    Stream::Stdout,
                    format!("[Nest] 1  - {d}     LOG [{ctx}] {msg}"),
                );
            }
        }
        LogStyle::Uvicorn => {
            for (k, msg) in [
                "INFO:     Started server process [1]",
                "INFO:     Waiting for application startup.",
                "INFO:     Application startup complete.",
                "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)",
            ]
            .into_iter()
            .enumerate()
            {
                out.push(at + k as i64, Stream::Stderr, msg.to_string());
            }
        }
    }
}

fn failure(c: &Container, path: &str, at: i64, pick: usize, out: &mut Out) {
    match c.style {
        LogStyle::Nest => {
            let (msg, f1, f2) = NEST_FAILURES[pick % NEST_FAILURES.len()];
            out.push(
                at,
                Stream::Stderr,
                format!(
                    "[Nest] 1  - {}   ERROR [ExceptionsHandler] {msg} (POST {path})",
                    nest_date(wall(at))
                ),
            );
            out.push(at, Stream::Stderr, format!("    at {f1}"));
            out.push(at, Stream::Stderr, format!("    at {f2}"));
        }
        LogStyle::Uvicorn => {
            let (frame, exc) = PY_FAILURES[pick % PY_FAILURES.len()];
            for line in [
                "ERROR:    Exception in ASGI application",
                "Traceback (most recent call last):",
                "  File \"/usr/local/lib/python3.11/site-packages/uvicorn/protocols/http/httptools_impl.py\", line 426, in run_asgi",
                frame,
                exc,
            ] {
                out.push(at, Stream::Stderr, line.to_string());
            }
        }
    }
}
