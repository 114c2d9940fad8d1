//! Datadog's metrics query API as a team's Datadog account would answer it for the simulated
//! system: `GET /api/v1/query?from=<epoch s>&to=<epoch s>&query=<metric query>`, with the
//! `DD-API-KEY` and `DD-APPLICATION-KEY` headers, answered from the simulator's history.
//!
//! The metrics are APM trace metrics of the profile's services (`telemetry.apps`, tagged
//! `service`, `version`, `env`):
//!
//! - `trace.http.request.hits` (count: `sum:….as_count()` per interval, else per second),
//! - `trace.http.request.errors` (count, the same way),
//! - `trace.http.request` (distribution of the request duration, **in seconds**:
//!   `p50:` `p75:` `p90:` `p95:` `p99:` `avg:` `max:` `min:` `count:`).
//!
//! Queries: `aggr:metric{scope}` with `by {tag,…}`, `.as_count()`, `.as_rate()`,
//! `.rollup([method,] seconds)`, `.fill(null|zero|last)`, arithmetic (`+ - * /`, numbers,
//! parentheses) between them, several queries separated by commas. A scope is `*` or tag
//! filters `key:value` / `!key:value` (a trailing `*` matches a prefix) separated by `,` or
//! `AND`. An unknown metric or a scope that matches nothing gives no series (as Datadog
//! does); a query that does not parse is a 400.
//!
//! The interval is the smallest of 1, 2, 5, 10, 20, 30, 60 s … that gives at most 300 points
//! (a 5-minute window: 1 s; an hour: 20 s), or the `.rollup` one. Points start at multiples
//! of it; the last one is the interval now in progress. Seconds before the simulator started
//! have no points.
//!
//! Errors, in Datadog's shape `{"errors": ["…"]}`: 403 `Forbidden` without both keys (or with
//! keys other than the ones the simulator was given); 400 for a missing or non-integer
//! `from`/`to`, `from` not before `to`, a window over 24 h, a `to` more than 5 minutes from
//! now (or milliseconds given for seconds), a missing or unparsable `query`.

use crate::sim::endpoint::{json_response, Answer, Call};
use crate::sim::history::{History, Mix, Second};
use crate::sim::state::Sim;
use crate::sim::telemetry::App;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const HITS: &str = "trace.http.request.hits";
pub const ERRORS: &str = "trace.http.request.errors";
/// A distribution, in seconds.
pub const LATENCY: &str = "trace.http.request";

/// Points per series the interval aims at, at most.
const MAX_POINTS: i64 = 300;
const INTERVALS: [i64; 16] = [
    1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 86400,
];
const MAX_WINDOW_S: i64 = 24 * 3600;
const TO_SLACK_S: f64 = 300.0;

fn errors(status: StatusCode, msg: impl Into<String>) -> Box<Response> {
    Box::new(json_response(status, json!({"errors": [msg.into()]})))
}

fn bad(msg: impl Into<String>) -> Box<Response> {
    errors(StatusCode::BAD_REQUEST, msg)
}

fn invalid(param: &str) -> Box<Response> {
    bad(format!(
        "The value provided for parameter '{param}' is invalid"
    ))
}

/// The query string's parameters (the first of each name).
fn params(call: &Call) -> BTreeMap<String, String> {
    let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&call.parts.uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        out.entry(k).or_insert(v);
    }
    out
}

fn epoch_param(p: &BTreeMap<String, String>, name: &str) -> Result<i64, Box<Response>> {
    p.get(name)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or_else(|| invalid(name))
}

/// `GET /api/v1/query`.
pub(crate) fn query(sim: &Sim, call: &Call) -> Answer {
    if !sim.keys().datadog_allows(&call.parts.headers) {
        return Err(errors(StatusCode::FORBIDDEN, "Forbidden"));
    }
    let p = params(call);
    let from = epoch_param(&p, "from")?;
    let to = epoch_param(&p, "to")?;
    let now_s = sim.now_unix_ms() as f64 / 1000.0;
    if from > 100_000_000_000 || to > 100_000_000_000 {
        return Err(bad(
            "'from' and 'to' are seconds since the Unix epoch; these look like milliseconds",
        ));
    }
    if from >= to {
        return Err(bad(format!(
            "The value provided for parameter 'from' ({from}) must be before 'to' ({to})"
        )));
    }
    if to - from > MAX_WINDOW_S {
        return Err(bad(format!(
            "The window from 'from' to 'to' is {} s; the simulator answers windows of up to 24 h (it keeps the last hour)",
            to - from
        )));
    }
    if (to as f64 - now_s).abs() > TO_SLACK_S {
        return Err(bad(format!(
            "The value provided for parameter 'to' ({to}) is {:.0} s from now: the simulator answers windows ending within 5 minutes of now",
            to as f64 - now_s
        )));
    }
    let text = p
        .get("query")
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| invalid("query"))?;
    let exprs = parse(text).map_err(|e| {
        bad(format!(
            "Error(s) found in query:\nError parsing query: \n unable to parse {text}: {e}"
        ))
    })?;
    let apps = sim.spec.telemetry.apps;
    let (series, group_by) = sim.with_history(|h, _| {
        let w = Window::new(h, from, to, interval_of(&exprs, to - from));
        let mut series = Vec::new();
        for (i, e) in exprs.iter().enumerate() {
            series.extend(w.series(e, apps, i));
        }
        (series, group_by(&exprs))
    });
    Ok(json_response(
        StatusCode::OK,
        json!({
            "status": "ok",
            "res_type": "time_series",
            "resp_version": 1,
            "query": text,
            "from_date": from * 1000,
            "to_date": to * 1000,
            "series": series,
            "values": [],
            "times": [],
            "message": "",
            "group_by": group_by,
        }),
    ))
}

// ---- the query language ----

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Num(f64),
    Metric(MetricQuery),
    Neg(Box<Expr>),
    Bin(Box<Expr>, char, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    Is(String, String),
    Not(String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    Null,
    Zero,
    Last,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MetricQuery {
    pub aggr: String,
    pub metric: String,
    pub filters: Vec<Filter>,
    pub by: Vec<String>,
    /// `.as_count()`: counts per interval instead of per second.
    pub as_count: bool,
    pub rollup: Option<i64>,
    pub fill: Fill,
}

impl MetricQuery {
    fn scope(&self) -> String {
        if self.filters.is_empty() {
            return "*".into();
        }
        self.filters
            .iter()
            .map(|f| match f {
                Filter::Is(k, v) => format!("{k}:{v}"),
                Filter::Not(k, v) => format!("!{k}:{v}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    fn text(&self) -> String {
        let mut t = format!("{}:{}{{{}}}", self.aggr, self.metric, self.scope());
        if !self.by.is_empty() {
            t.push_str(&format!(" by {{{}}}", self.by.join(",")));
        }
        if self.as_count {
            t.push_str(".as_count()");
        }
        t
    }

    fn matches(&self, app: &App) -> bool {
        self.filters.iter().all(|f| match f {
            Filter::Is(k, v) => app.tag(k).is_some_and(|t| tag_matches(t, v)),
            Filter::Not(k, v) => !app.tag(k).is_some_and(|t| tag_matches(t, v)),
        })
    }
}

fn tag_matches(value: &str, pattern: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => value == pattern,
    }
}

const AGGREGATORS: [&str; 10] = [
    "avg", "sum", "min", "max", "count", "p50", "p75", "p90", "p95", "p99",
];

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn fail<T>(&self, rule: &str) -> Result<T, String> {
        let rest = String::from_utf8_lossy(&self.s[self.i.min(self.s.len())..]);
        Err(format!(
            "Rule '{rule}' didn't match at '{rest}' (line 1, column {}).",
            self.i + 1
        ))
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || b"._-".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn list(&mut self) -> Result<Vec<Expr>, String> {
        let mut out = vec![self.expr()?];
        while self.eat(b',') {
            out.push(self.expr()?);
        }
        if self.peek().is_some() {
            return self.fail("query_expr");
        }
        Ok(out)
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut left = self.term()?;
        loop {
            let op = match self.peek() {
                Some(c @ (b'+' | b'-')) => c as char,
                _ => return Ok(left),
            };
            self.i += 1;
            left = Expr::Bin(Box::new(left), op, Box::new(self.term()?));
        }
    }

    fn term(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(c @ (b'*' | b'/')) => c as char,
                _ => return Ok(left),
            };
            self.i += 1;
            left = Expr::Bin(Box::new(left), op, Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat(b'-') {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let e = self.expr()?;
                if !self.eat(b')') {
                    return self.fail("close_paren");
                }
                Ok(e)
            }
            Some(c) if c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.metric().map(Expr::Metric),
            _ => self.fail("metric_expr"),
        }
    }

    fn number(&mut self) -> Result<Expr, String> {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_digit() || self.s[self.i] == b'.' || self.s[self.i] == b'e')
        {
            self.i += 1;
        }
        let t = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        match t.parse::<f64>() {
            Ok(v) => Ok(Expr::Num(v)),
            Err(_) => {
                self.i = start;
                self.fail("number")
            }
        }
    }

    fn metric(&mut self) -> Result<MetricQuery, String> {
        let save = self.i;
        let first = self.word();
        let (aggr, metric) = if self.s.get(self.i) == Some(&b':') {
            if !AGGREGATORS.contains(&first.as_str()) {
                self.i = save;
                return self.fail("aggregator");
            }
            self.i += 1;
            (first, self.word())
        } else {
            ("avg".to_string(), first)
        };
        if metric.is_empty() || !metric.as_bytes()[0].is_ascii_alphabetic() {
            return self.fail("metric_name");
        }
        if !self.eat(b'{') {
            return self.fail("scope_expr");
        }
        let filters = self.scope()?;
        let mut q = MetricQuery {
            aggr,
            metric,
            filters,
            by: Vec::new(),
            as_count: false,
            rollup: None,
            fill: Fill::Null,
        };
        loop {
            self.ws();
            let rest = &self.s[self.i..];
            if q.by.is_empty()
                && rest.starts_with(b"by")
                && rest
                    .get(2)
                    .is_some_and(|c| c.is_ascii_whitespace() || *c == b'{')
            {
                let save = self.i;
                self.i += 2;
                if self.eat(b'{') {
                    q.by = self.tag_list()?;
                    continue;
                }
                self.i = save;
            }
            if self.peek() == Some(b'.') {
                self.i += 1;
                self.method(&mut q)?;
                continue;
            }
            return Ok(q);
        }
    }

    fn scope(&mut self) -> Result<Vec<Filter>, String> {
        let start = self.i;
        let Some(len) = self.s[start..].iter().position(|&c| c == b'}') else {
            return self.fail("scope_expr");
        };
        self.i = start + len + 1;
        let body = String::from_utf8_lossy(&self.s[start..start + len]).into_owned();
        let mut out = Vec::new();
        for part in body.split(',').flat_map(|p| p.split(" AND ")) {
            let part = part.trim();
            if part.is_empty() || part == "*" {
                continue;
            }
            let (neg, tag) = match part.strip_prefix('!') {
                Some(t) => (true, t),
                None => (false, part),
            };
            let (k, v) = tag.split_once(':').unwrap_or((tag, ""));
            let (k, v) = (k.trim().to_string(), v.trim().to_string());
            if k.is_empty() || k.contains(char::is_whitespace) || v.contains(char::is_whitespace) {
                self.i = start;
                return self.fail("scope_expr");
            }
            out.push(if neg {
                Filter::Not(k, v)
            } else {
                Filter::Is(k, v)
            });
        }
        Ok(out)
    }

    fn tag_list(&mut self) -> Result<Vec<String>, String> {
        let start = self.i;
        let Some(len) = self.s[start..].iter().position(|&c| c == b'}') else {
            return self.fail("group_by");
        };
        self.i = start + len + 1;
        let tags: Vec<String> = String::from_utf8_lossy(&self.s[start..start + len])
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if tags.is_empty() {
            self.i = start;
            return self.fail("group_by");
        }
        Ok(tags)
    }

    fn method(&mut self, q: &mut MetricQuery) -> Result<(), String> {
        let name = self.word();
        if !self.eat(b'(') {
            return self.fail("method_call");
        }
        let start = self.i;
        let Some(len) = self.s[start..].iter().position(|&c| c == b')') else {
            return self.fail("method_call");
        };
        self.i = start + len + 1;
        let args: Vec<String> = String::from_utf8_lossy(&self.s[start..start + len])
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        match (name.as_str(), args.as_slice()) {
            ("as_count", []) => q.as_count = true,
            ("as_rate", []) => q.as_count = false,
            ("rollup", args) if !args.is_empty() && args.len() <= 2 => {
                for a in args {
                    if let Ok(n) = a.parse::<i64>() {
                        if n <= 0 {
                            self.i = start;
                            return self.fail("rollup_interval");
                        }
                        q.rollup = Some(n);
                    } else if !["avg", "sum", "min", "max", "count"].contains(&a.as_str()) {
                        self.i = start;
                        return self.fail("rollup_method");
                    }
                }
            }
            ("fill", [mode, ..]) => {
                q.fill = match mode.as_str() {
                    "null" => Fill::Null,
                    "zero" => Fill::Zero,
                    "last" => Fill::Last,
                    _ => {
                        self.i = start;
                        return self.fail("fill_mode");
                    }
                }
            }
            _ => {
                self.i = start;
                return self.fail("method_call");
            }
        }
        Ok(())
    }
}

/// The comma-separated queries of one `query` parameter.
pub(crate) fn parse(text: &str) -> Result<Vec<Expr>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let exprs = p.list()?;
    for e in &exprs {
        if !has_metric(e) {
            return Err("a query needs at least one metric".into());
        }
    }
    Ok(exprs)
}

fn has_metric(e: &Expr) -> bool {
    match e {
        Expr::Num(_) => false,
        Expr::Metric(_) => true,
        Expr::Neg(x) => has_metric(x),
        Expr::Bin(a, _, b) => has_metric(a) || has_metric(b),
    }
}

fn metrics<'a>(e: &'a Expr, out: &mut Vec<&'a MetricQuery>) {
    match e {
        Expr::Num(_) => {}
        Expr::Metric(m) => out.push(m),
        Expr::Neg(x) => metrics(x, out),
        Expr::Bin(a, _, b) => {
            metrics(a, out);
            metrics(b, out);
        }
    }
}

fn interval_of(exprs: &[Expr], window_s: i64) -> i64 {
    let mut ms = Vec::new();
    for e in exprs {
        metrics(e, &mut ms);
    }
    if let Some(r) = ms.iter().filter_map(|m| m.rollup).max() {
        return r;
    }
    INTERVALS
        .into_iter()
        .find(|i| window_s / i <= MAX_POINTS)
        .unwrap_or(86400)
}

fn group_by(exprs: &[Expr]) -> Vec<String> {
    let mut ms = Vec::new();
    for e in exprs {
        metrics(e, &mut ms);
    }
    let mut out: Vec<String> = Vec::new();
    for m in ms {
        for t in &m.by {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
    }
    out
}

// ---- evaluation ----

/// One series being computed: its group tags and a value per bucket.
#[derive(Debug, Clone)]
struct Group {
    tags: Vec<String>,
    values: Vec<Option<f64>>,
    /// The single metric it comes from, when it does.
    metric: Option<MetricQuery>,
}

enum Val {
    Scalar(f64),
    Groups(Vec<Group>),
}

/// The buckets of one response and the history behind them.
struct Window<'a> {
    history: &'a History,
    from: i64,
    to: i64,
    interval: i64,
    /// Bucket starts with data, oldest first.
    buckets: Vec<i64>,
}

impl<'a> Window<'a> {
    fn new(history: &'a History, from: i64, to: i64, interval: i64) -> Self {
        let mut buckets = Vec::new();
        let mut b = from.div_euclid(interval) * interval;
        while b <= to {
            let (lo, hi) = (b.max(from), (b + interval).min(to + 1));
            if history.range(lo as f64, hi as f64).next().is_some() {
                buckets.push(b);
            }
            b += interval;
        }
        Window {
            history,
            from,
            to,
            interval,
            buckets,
        }
    }

    fn seconds(&self, bucket: i64) -> Vec<&'a Second> {
        let (lo, hi) = (
            bucket.max(self.from),
            (bucket + self.interval).min(self.to + 1),
        );
        self.history.range(lo as f64, hi as f64).collect()
    }

    fn series(&self, e: &Expr, apps: &[App], index: usize) -> Vec<Value> {
        let groups = match self.eval(e, apps) {
            Val::Groups(g) => g,
            Val::Scalar(_) => Vec::new(),
        };
        let single = match e {
            Expr::Metric(m) => Some(m),
            _ => None,
        };
        groups
            .into_iter()
            .map(|g| self.series_json(e, single, g, index))
            .collect()
    }

    fn series_json(&self, e: &Expr, single: Option<&MetricQuery>, g: Group, index: usize) -> Value {
        let pointlist: Vec<Value> = self
            .buckets
            .iter()
            .zip(&g.values)
            .map(|(b, v)| json!([(*b * 1000) as f64, v]))
            .collect();
        let base = g.metric.as_ref().or(single);
        let mut scope: Vec<String> = base
            .map(|m| {
                m.filters
                    .iter()
                    .map(|f| match f {
                        Filter::Is(k, v) => format!("{k}:{v}"),
                        Filter::Not(k, v) => format!("!{k}:{v}"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        scope.extend(g.tags.iter().cloned());
        let scope = if scope.is_empty() {
            "*".to_string()
        } else {
            scope.join(",")
        };
        let text = expr_text(e);
        let (metric, aggr, unit) = match single {
            Some(m) => (m.metric.clone(), json!(m.aggr), unit_of(&m.metric)),
            None => (text.clone(), Value::Null, Value::Null),
        };
        let start = self.buckets.first().map(|b| b * 1000);
        let end = self.buckets.last().map(|b| (b + self.interval) * 1000 - 1);
        json!({
            "metric": metric,
            "display_name": metric,
            "expression": text,
            "scope": scope,
            "aggr": aggr,
            "tag_set": g.tags,
            "pointlist": pointlist,
            "start": start,
            "end": end,
            "interval": self.interval,
            "length": self.buckets.len(),
            "unit": unit,
            "query_index": index,
            "attributes": {},
        })
    }

    fn eval(&self, e: &Expr, apps: &[App]) -> Val {
        match e {
            Expr::Num(v) => Val::Scalar(*v),
            Expr::Metric(m) => Val::Groups(self.metric(m, apps)),
            Expr::Neg(x) => combine(Val::Scalar(-1.0), '*', self.eval(x, apps)),
            Expr::Bin(a, op, b) => combine(self.eval(a, apps), *op, self.eval(b, apps)),
        }
    }

    fn metric(&self, m: &MetricQuery, apps: &[App]) -> Vec<Group> {
        if ![HITS, ERRORS, LATENCY].contains(&m.metric.as_str()) {
            return Vec::new();
        }
        let mut groups: BTreeMap<Vec<String>, Vec<&App>> = BTreeMap::new();
        for app in apps.iter().filter(|a| m.matches(a)) {
            let key =
                m.by.iter()
                    .map(|t| format!("{t}:{}", app.tag(t).unwrap_or("N/A")))
                    .collect();
            groups.entry(key).or_default().push(app);
        }
        groups
            .into_iter()
            .map(|(tags, apps)| {
                let mut values: Vec<Option<f64>> = self
                    .buckets
                    .iter()
                    .map(|b| self.value(m, &apps, &self.seconds(*b)))
                    .collect();
                fill(&mut values, m.fill);
                Group {
                    tags,
                    values,
                    metric: Some(m.clone()),
                }
            })
            .collect()
    }

    /// The value of `m` over `apps` in one bucket.
    fn value(&self, m: &MetricQuery, apps: &[&App], seconds: &[&Second]) -> Option<f64> {
        if seconds.is_empty() {
            return None;
        }
        let span = seconds.len() as f64;
        if m.metric == LATENCY {
            let mut mix = Mix::default();
            for a in apps {
                merge(&mut mix, seconds, a);
            }
            let s = |ms: Option<f64>| ms.map(|v| v / 1000.0);
            return match m.aggr.as_str() {
                "avg" => s(mix.mean_ms()),
                "max" => s(mix.max_ms()),
                "min" => s(mix.min_ms()),
                "count" => Some(mix.hits()),
                "sum" => mix.mean_ms().map(|v| v / 1000.0 * mix.hits()),
                p => {
                    let q = p.trim_start_matches('p').parse::<f64>().ok()? / 100.0;
                    s(mix.quantile_ms(q))
                }
            };
        }
        let per_app: Vec<f64> = apps
            .iter()
            .map(|a| {
                let mix = Mix::of(seconds.iter().copied(), a.endpoints);
                let n = if m.metric == HITS {
                    mix.hits()
                } else {
                    mix.errors()
                };
                if m.as_count {
                    n
                } else {
                    n / span
                }
            })
            .collect();
        if per_app.is_empty() {
            return None;
        }
        Some(match m.aggr.as_str() {
            "sum" | "count" => per_app.iter().sum(),
            "min" => per_app.iter().copied().fold(f64::INFINITY, f64::min),
            "max" => per_app.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            _ => per_app.iter().sum::<f64>() / per_app.len() as f64,
        })
    }
}

/// Adds an app's traffic over `seconds` to a mix.
fn merge(mix: &mut Mix, seconds: &[&Second], app: &App) {
    for s in seconds {
        for &i in app.endpoints {
            if let Some(t) = s.endpoints.get(i) {
                mix.add(t);
            }
        }
    }
}

fn fill(values: &mut [Option<f64>], mode: Fill) {
    let mut last = None;
    for v in values.iter_mut() {
        match (mode, *v) {
            (_, Some(x)) => last = Some(x),
            (Fill::Zero, None) => *v = Some(0.0),
            (Fill::Last, None) => *v = last,
            (Fill::Null, None) => {}
        }
    }
}

fn apply(a: Option<f64>, op: char, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    let v = match op {
        '+' => a + b,
        '-' => a - b,
        '*' => a * b,
        _ => {
            if b == 0.0 {
                return None;
            }
            a / b
        }
    };
    v.is_finite().then_some(v)
}

/// Pointwise arithmetic: series with a scalar, or series with series matched by their group
/// tags (a single ungrouped series applies to every group).
fn combine(a: Val, op: char, b: Val) -> Val {
    match (a, b) {
        (Val::Scalar(x), Val::Scalar(y)) => Val::Scalar(apply(Some(x), op, Some(y)).unwrap_or(0.0)),
        (Val::Groups(gs), Val::Scalar(y)) => Val::Groups(
            gs.into_iter()
                .map(|g| Group {
                    values: g.values.iter().map(|v| apply(*v, op, Some(y))).collect(),
                    ..g
                })
                .collect(),
        ),
        (Val::Scalar(x), Val::Groups(gs)) => Val::Groups(
            gs.into_iter()
                .map(|g| Group {
                    values: g.values.iter().map(|v| apply(Some(x), op, *v)).collect(),
                    ..g
                })
                .collect(),
        ),
        (Val::Groups(xs), Val::Groups(ys)) => {
            let single = |gs: &[Group]| gs.len() == 1 && gs[0].tags.is_empty();
            let pair = |x: &Group, y: &Group, tags: &[String]| Group {
                tags: tags.to_vec(),
                values: x
                    .values
                    .iter()
                    .zip(&y.values)
                    .map(|(a, b)| apply(*a, op, *b))
                    .collect(),
                metric: None,
            };
            let out = if single(&ys) {
                xs.iter().map(|x| pair(x, &ys[0], &x.tags)).collect()
            } else if single(&xs) {
                ys.iter().map(|y| pair(&xs[0], y, &y.tags)).collect()
            } else {
                xs.iter()
                    .filter_map(|x| {
                        let y = ys.iter().find(|y| y.tags == x.tags)?;
                        Some(pair(x, y, &x.tags))
                    })
                    .collect()
            };
            Val::Groups(out)
        }
    }
}

fn expr_text(e: &Expr) -> String {
    match e {
        Expr::Num(v) => format!("{v}"),
        Expr::Metric(m) => m.text(),
        Expr::Neg(x) => format!("-{}", expr_text(x)),
        Expr::Bin(a, op, b) => format!("({} {op} {})", expr_text(a), expr_text(b)),
    }
}

fn unit_of(metric: &str) -> Value {
    match metric {
        HITS => json!([{"family": "cache", "scale_factor": 1.0, "name": "hit",
            "short_name": null, "plural": "hits", "id": 39}, null]),
        ERRORS => json!([{"family": "general", "scale_factor": 1.0, "name": "error",
            "short_name": "err", "plural": "errors", "id": 47}, null]),
        LATENCY => json!([{"family": "time", "scale_factor": 1.0, "name": "second",
            "short_name": "s", "plural": "seconds", "id": 12}, null]),
        _ => Value::Null,
    }
}
