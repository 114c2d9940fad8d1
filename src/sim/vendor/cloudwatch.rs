//! CloudWatch `GetMetricData` for the simulated system's load balancer: the `AWS/ApplicationELB`
//! metrics of its target groups (`telemetry.target_groups`), answered from the history.
//!
//! Metrics, with the dimensions `LoadBalancer` + `TargetGroup` (one target group) or
//! `LoadBalancer` alone (all of them):
//! - `RequestCount` (`Sum`, `SampleCount`; unit `Count`),
//! - `HTTPCode_Target_5XX_Count` and `HTTPCode_Target_2XX_Count` (`Sum`; unit `Count`),
//! - `TargetResponseTime` (`Average`, `Minimum`, `Maximum`, `SampleCount`, `Sum`, `p50`,
//!   `p99`, `p99.9`…; unit `Seconds`).
//!
//! Another metric, namespace or dimension set, or a `Unit` other than the metric's, finds no
//! data (`Values: []`), as CloudWatch does. Expressions are metric math over the query ids:
//! `+ - * /`, numbers, parentheses and `FILL(m, value)`; e.g.
//! `100 * errors / requests`. Datapoints are per `Period` (1, 5, 10, 30 or a multiple of 60 s),
//! aligned to it; the one in progress counts what happened so far; newest first unless
//! `ScanBy` is `TimestampAscending`. Bad input is a `ValidationError` as CloudWatch words it.

use super::aws::AwsError;
use crate::sim::history::{History, Mix};
use crate::sim::state::Sim;
use crate::sim::telemetry::TargetGroup;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const NAMESPACE: &str = "AWS/ApplicationELB";

fn invalid(msg: impl Into<String>) -> AwsError {
    AwsError::new("ValidationError", msg)
}

/// A datapoint series: bucket start (epoch s) → value.
type Points = BTreeMap<i64, f64>;

#[derive(Debug, Clone)]
struct MetricStat {
    namespace: String,
    name: String,
    dims: BTreeMap<String, String>,
    period: i64,
    stat: String,
    unit: Option<String>,
}

#[derive(Debug, Clone)]
enum Source {
    Stat(MetricStat),
    Expression(String),
}

#[derive(Debug, Clone)]
struct Query {
    id: String,
    label: Option<String>,
    return_data: bool,
    source: Source,
}

fn time_of(v: Option<&Value>, what: &str) -> Result<f64, AwsError> {
    match v {
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| invalid(format!("{what} is invalid"))),
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis() as f64 / 1000.0)
            .or_else(|_| s.parse::<f64>())
            .map_err(|_| invalid(format!("{what} {s:?} is not a timestamp"))),
        _ => Err(invalid(format!("{what} is required"))),
    }
}

fn valid_id(id: &str) -> bool {
    let mut c = id.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase())
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
        && id.len() <= 255
}

fn valid_period(p: i64) -> bool {
    matches!(p, 1 | 5 | 10 | 30) || (p >= 60 && p % 60 == 0)
}

fn parse_query(n: usize, q: &Value) -> Result<Query, AwsError> {
    let at = |f: &str| format!("MetricDataQueries.member.{n}.{f}");
    let id = q
        .get("Id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("The parameter {} is required.", at("Id"))))?;
    if !valid_id(id) {
        return Err(invalid(format!(
            "The value {id} for parameter {} is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.",
            at("Id")
        )));
    }
    let label = q.get("Label").and_then(Value::as_str).map(str::to_string);
    let return_data = q.get("ReturnData").and_then(Value::as_bool).unwrap_or(true);
    let source = match (q.get("MetricStat"), q.get("Expression")) {
        (Some(ms), None) => {
            let metric = ms.get("Metric").unwrap_or(&Value::Null);
            let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
            let name = s(metric, "MetricName").ok_or_else(|| {
                invalid(format!(
                    "The parameter {} is required.",
                    at("MetricStat.Metric.MetricName")
                ))
            })?;
            let mut dims = BTreeMap::new();
            for d in metric
                .get("Dimensions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (Some(k), Some(v)) = (s(d, "Name"), s(d, "Value")) else {
                    return Err(invalid(format!(
                        "Each of {} needs a Name and a Value.",
                        at("MetricStat.Metric.Dimensions")
                    )));
                };
                dims.insert(k, v);
            }
            let period = ms.get("Period").and_then(Value::as_i64).ok_or_else(|| {
                invalid(format!(
                    "The parameter {} is required.",
                    at("MetricStat.Period")
                ))
            })?;
            if !valid_period(period) {
                return Err(invalid(format!(
                    "The value {period} for parameter {} is not a valid period: give 1, 5, 10, 30 or a multiple of 60.",
                    at("MetricStat.Period")
                )));
            }
            let stat = s(ms, "Stat").ok_or_else(|| {
                invalid(format!(
                    "The parameter {} is required.",
                    at("MetricStat.Stat")
                ))
            })?;
            Source::Stat(MetricStat {
                namespace: s(metric, "Namespace").unwrap_or_default(),
                name,
                dims,
                period,
                stat,
                unit: s(ms, "Unit"),
            })
        }
        (None, Some(Value::String(e))) => Source::Expression(e.clone()),
        _ => {
            return Err(invalid(format!(
                "Exactly one of {} and {} must be given.",
                at("MetricStat"),
                at("Expression")
            )))
        }
    };
    Ok(Query {
        id: id.to_string(),
        label,
        return_data,
        source,
    })
}

/// `GetMetricData`: `{"MetricDataResults": [{"Id","Label","Timestamps","Values","StatusCode"}],
/// "Messages": []}`, timestamps in epoch seconds as the API sends them.
pub(crate) fn get_metric_data(sim: &Sim, request: &Value) -> Result<Value, AwsError> {
    let start = time_of(request.get("StartTime"), "StartTime")?;
    let end = time_of(request.get("EndTime"), "EndTime")?;
    if start >= end {
        return Err(invalid(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    let raw = request
        .get("MetricDataQueries")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| invalid("The parameter MetricDataQueries is required."))?;
    if raw.len() > 500 {
        return Err(invalid("At most 500 MetricDataQueries are allowed."));
    }
    let queries: Vec<Query> = raw
        .iter()
        .enumerate()
        .map(|(i, q)| parse_query(i + 1, q))
        .collect::<Result<_, _>>()?;
    for (i, q) in queries.iter().enumerate() {
        if queries[..i].iter().any(|p| p.id == q.id) {
            return Err(invalid(format!(
                "The values for parameter id in MetricDataQueries are not unique: {}",
                q.id
            )));
        }
    }
    if !queries.iter().any(|q| q.return_data) {
        return Err(invalid(
            "At least one MetricDataQuery must have ReturnData set to true.",
        ));
    }
    let ascending = request.get("ScanBy").and_then(Value::as_str) == Some("TimestampAscending");
    let max = request
        .get("MaxDatapoints")
        .and_then(Value::as_u64)
        .unwrap_or(100_800) as usize;
    let tgs = sim.spec.telemetry.target_groups;
    let period = queries
        .iter()
        .filter_map(|q| match &q.source {
            Source::Stat(ms) => Some(ms.period),
            Source::Expression(_) => None,
        })
        .min()
        .unwrap_or(60);
    let mut grid = Vec::new();
    let mut b = (start.floor() as i64).div_euclid(period) * period;
    while (b as f64) < end {
        grid.push(b);
        b += period;
    }
    let results = sim.with_history(|h, _| {
        let cx = Ctx {
            all: &queries,
            h,
            tgs,
            start,
            end,
            grid: &grid,
        };
        let mut done: BTreeMap<String, Points> = BTreeMap::new();
        let mut out = Vec::new();
        let mut budget = max;
        for q in &queries {
            let points = cx.eval_query(q, &mut done, 0)?;
            if !q.return_data {
                continue;
            }
            let mut pts: Vec<(i64, f64)> = points.into_iter().collect();
            if !ascending {
                pts.reverse();
            }
            let partial = pts.len() > budget;
            pts.truncate(budget);
            budget -= pts.len();
            let label = q.label.clone().unwrap_or_else(|| match &q.source {
                Source::Stat(ms) => ms.name.clone(),
                Source::Expression(_) => q.id.clone(),
            });
            out.push(json!({
                "Id": q.id,
                "Label": label,
                "Timestamps": pts.iter().map(|(t, _)| *t as f64).collect::<Vec<_>>(),
                "Values": pts.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
                "StatusCode": if partial { "PartialData" } else { "Complete" },
            }));
        }
        Ok::<_, AwsError>(out)
    })?;
    Ok(json!({"MetricDataResults": results, "Messages": []}))
}

/// What evaluating one request's queries needs.
struct Ctx<'a> {
    all: &'a [Query],
    h: &'a History,
    tgs: &'a [TargetGroup],
    start: f64,
    end: f64,
    /// Period starts of the window at the smallest period asked for (what `FILL` fills).
    grid: &'a [i64],
}

impl Ctx<'_> {
    fn eval_query(
        &self,
        q: &Query,
        done: &mut BTreeMap<String, Points>,
        depth: usize,
    ) -> Result<Points, AwsError> {
        if let Some(p) = done.get(&q.id) {
            return Ok(p.clone());
        }
        if depth > self.all.len() {
            return Err(invalid(format!(
                "Error in expression '{}': circular reference",
                q.id
            )));
        }
        let points = match &q.source {
            Source::Stat(ms) => stat(ms, self.h, self.tgs, self.start, self.end),
            Source::Expression(e) => {
                let ast = parse_expr(e)
                    .map_err(|m| invalid(format!("Error in expression '{}': {m}", q.id)))?;
                let mut lookup = |id: &str| -> Result<Points, AwsError> {
                    let other = self.all.iter().find(|x| x.id == id).ok_or_else(|| {
                        invalid(format!(
                            "Error in expression '{}': Unrecognized metric, expression or function name: '{id}'",
                            q.id
                        ))
                    })?;
                    self.eval_query(other, done, depth + 1)
                };
                match eval_expr(&ast, self.grid, &mut lookup)? {
                    Val::Series(p) => p,
                    Val::Num(_) => {
                        return Err(invalid(format!(
                            "Error in expression '{}': the expression must return a time series",
                            q.id
                        )))
                    }
                }
            }
        };
        done.insert(q.id.clone(), points.clone());
        Ok(points)
    }
}

/// The endpoints the dimensions name, or `None` when CloudWatch has no such metric.
fn endpoints_of(dims: &BTreeMap<String, String>, tgs: &[TargetGroup]) -> Option<Vec<usize>> {
    let lb = dims.get("LoadBalancer")?;
    match (dims.len(), dims.get("TargetGroup")) {
        (2, Some(tg)) => tgs
            .iter()
            .find(|t| t.dimension == tg && t.load_balancer == lb)
            .map(|t| t.endpoints.to_vec()),
        (1, None) => {
            let eps: Vec<usize> = tgs
                .iter()
                .filter(|t| t.load_balancer == lb)
                .flat_map(|t| t.endpoints.iter().copied())
                .collect();
            (!eps.is_empty()).then_some(eps)
        }
        _ => None,
    }
}

fn stat(ms: &MetricStat, h: &History, tgs: &[TargetGroup], start: f64, end: f64) -> Points {
    let mut out = Points::new();
    if ms.namespace != NAMESPACE {
        return out;
    }
    let Some(eps) = endpoints_of(&ms.dims, tgs) else {
        return out;
    };
    let unit = match ms.name.as_str() {
        "RequestCount" | "HTTPCode_Target_5XX_Count" | "HTTPCode_Target_2XX_Count" => "Count",
        "TargetResponseTime" => "Seconds",
        _ => return out,
    };
    if ms.unit.as_deref().is_some_and(|u| u != unit) {
        return out;
    }
    let p = ms.period;
    let mut b = (start.floor() as i64).div_euclid(p) * p;
    while (b as f64) < end {
        let (lo, hi) = ((b as f64).max(start), ((b + p) as f64).min(end));
        let mix = Mix::of(h.range(lo, hi), &eps);
        if let Some(v) = value(ms, &mix) {
            out.insert(b, v);
        }
        b += p;
    }
    out
}

fn value(ms: &MetricStat, mix: &Mix) -> Option<f64> {
    if mix.hits() <= 0.0 {
        return None;
    }
    let s = |ms_v: Option<f64>| ms_v.map(|v| v / 1000.0);
    match (ms.name.as_str(), ms.stat.as_str()) {
        ("RequestCount", "Sum" | "SampleCount") => Some(mix.hits()),
        ("HTTPCode_Target_5XX_Count", "Sum" | "SampleCount") => Some(mix.errors()),
        ("HTTPCode_Target_2XX_Count", "Sum" | "SampleCount") => Some(mix.hits() - mix.errors()),
        ("TargetResponseTime", "Average") => s(mix.mean_ms()),
        ("TargetResponseTime", "Minimum") => s(mix.min_ms()),
        ("TargetResponseTime", "Maximum") => s(mix.max_ms()),
        ("TargetResponseTime", "SampleCount") => Some(mix.hits()),
        ("TargetResponseTime", "Sum") => mix.mean_ms().map(|m| m / 1000.0 * mix.hits()),
        ("TargetResponseTime", p) if p.starts_with('p') => {
            let q = p[1..]
                .parse::<f64>()
                .ok()
                .filter(|q| (0.0..=100.0).contains(q))?;
            s(mix.quantile_ms(q / 100.0))
        }
        _ => None,
    }
}

// ---- metric math ----

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(f64),
    Id(String),
    Fill(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Bin(Box<Expr>, char, Box<Expr>),
}

enum Val {
    Num(f64),
    Series(Points),
}

fn parse_expr(s: &str) -> Result<Expr, String> {
    struct P<'a> {
        s: &'a [u8],
        i: usize,
    }
    impl P<'_> {
        fn ws(&mut self) {
            while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
                self.i += 1;
            }
        }
        fn peek(&mut self) -> Option<u8> {
            self.ws();
            self.s.get(self.i).copied()
        }
        fn err<T>(&self) -> Result<T, String> {
            Err(format!(
                "Syntax error at position {}: {:?}",
                self.i + 1,
                String::from_utf8_lossy(&self.s[self.i.min(self.s.len())..])
            ))
        }
        fn expr(&mut self) -> Result<Expr, String> {
            let mut l = self.term()?;
            while let Some(c @ (b'+' | b'-')) = self.peek() {
                self.i += 1;
                l = Expr::Bin(Box::new(l), c as char, Box::new(self.term()?));
            }
            Ok(l)
        }
        fn term(&mut self) -> Result<Expr, String> {
            let mut l = self.atom()?;
            while let Some(c @ (b'*' | b'/')) = self.peek() {
                self.i += 1;
                l = Expr::Bin(Box::new(l), c as char, Box::new(self.atom()?));
            }
            Ok(l)
        }
        fn atom(&mut self) -> Result<Expr, String> {
            match self.peek() {
                Some(b'-') => {
                    self.i += 1;
                    Ok(Expr::Neg(Box::new(self.atom()?)))
                }
                Some(b'(') => {
                    self.i += 1;
                    let e = self.expr()?;
                    if self.peek() != Some(b')') {
                        return self.err();
                    }
                    self.i += 1;
                    Ok(e)
                }
                Some(c) if c.is_ascii_digit() => {
                    let st = self.i;
                    while self
                        .s
                        .get(self.i)
                        .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
                    {
                        self.i += 1;
                    }
                    String::from_utf8_lossy(&self.s[st..self.i])
                        .parse()
                        .map(Expr::Num)
                        .or_else(|_| self.err())
                }
                Some(c) if c.is_ascii_alphabetic() => {
                    let st = self.i;
                    while self
                        .s
                        .get(self.i)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        self.i += 1;
                    }
                    let name = String::from_utf8_lossy(&self.s[st..self.i]).into_owned();
                    if self.peek() != Some(b'(') {
                        return Ok(Expr::Id(name));
                    }
                    self.i += 1;
                    if name != "FILL" {
                        self.i = st;
                        return Err(format!(
                            "Unrecognized metric, expression or function name: '{name}' (the simulator's metric math has FILL only)"
                        ));
                    }
                    let a = self.expr()?;
                    if self.peek() != Some(b',') {
                        return self.err();
                    }
                    self.i += 1;
                    let b = self.expr()?;
                    if self.peek() != Some(b')') {
                        return self.err();
                    }
                    self.i += 1;
                    Ok(Expr::Fill(Box::new(a), Box::new(b)))
                }
                _ => self.err(),
            }
        }
    }
    let mut p = P {
        s: s.as_bytes(),
        i: 0,
    };
    let e = p.expr()?;
    if p.peek().is_some() {
        return p.err();
    }
    Ok(e)
}

fn op(a: f64, o: char, b: f64) -> Option<f64> {
    let v = match o {
        '+' => a + b,
        '-' => a - b,
        '*' => a * b,
        _ => a / b,
    };
    v.is_finite().then_some(v)
}

fn eval_expr(
    e: &Expr,
    grid: &[i64],
    lookup: &mut dyn FnMut(&str) -> Result<Points, AwsError>,
) -> Result<Val, AwsError> {
    Ok(match e {
        Expr::Num(n) => Val::Num(*n),
        Expr::Id(id) => Val::Series(lookup(id)?),
        Expr::Neg(x) => match eval_expr(x, grid, lookup)? {
            Val::Num(n) => Val::Num(-n),
            Val::Series(p) => Val::Series(p.into_iter().map(|(t, v)| (t, -v)).collect()),
        },
        Expr::Fill(a, b) => {
            let (Val::Series(mut p), Val::Num(n)) =
                (eval_expr(a, grid, lookup)?, eval_expr(b, grid, lookup)?)
            else {
                return Err(invalid("FILL takes a time series and a number"));
            };
            for t in grid {
                p.entry(*t).or_insert(n);
            }
            Val::Series(p)
        }
        Expr::Bin(a, o, b) => match (eval_expr(a, grid, lookup)?, eval_expr(b, grid, lookup)?) {
            (Val::Num(x), Val::Num(y)) => Val::Num(op(x, *o, y).unwrap_or(f64::NAN)),
            (Val::Series(p), Val::Num(y)) => Val::Series(
                p.into_iter()
                    .filter_map(|(t, v)| Some((t, op(v, *o, y)?)))
                    .collect(),
            ),
            (Val::Num(x), Val::Series(p)) => Val::Series(
                p.into_iter()
                    .filter_map(|(t, v)| Some((t, op(x, *o, v)?)))
                    .collect(),
            ),
            (Val::Series(p), Val::Series(q)) => Val::Series(
                p.into_iter()
                    .filter_map(|(t, v)| Some((t, op(v, *o, *q.get(&t)?)?)))
                    .collect(),
            ),
        },
    })
}
