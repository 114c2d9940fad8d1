//! Poll → readings: what one poll means for each row of its source's signals — paths
//! into JSON, `each` over an array with names and critical marks, a Prometheus result's
//! series. Pure: the engine's rows are read (which rows a signal shows), never changed.

use super::Engine;
use crate::config::{Config, Signal, SignalKind, SourceKind};
use crate::fresh::{payload_time, PayloadAge};
use crate::path::JsonPath;
use crate::prom::{self, Template};
use crate::sample::{Mono, PollOutcome, PollResult, Reading, Ts, Value};
use serde_json::Value as Json;

/// A poll without its body: what the source did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PollSummary {
    pub source: String,
    pub at: Ts,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why the poll failed (None: it answered with JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A Prometheus answer's `warnings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// The monotonic time of the poll (absent in recordings made before it was kept).
    #[serde(rename = "mono_ms", default, skip_serializing_if = "Option::is_none")]
    pub mono: Option<Mono>,
}

impl PollSummary {
    pub fn of(p: &PollResult) -> Self {
        let (status, error) = match &p.outcome {
            PollOutcome::Json { status, .. } => (Some(*status), None),
            PollOutcome::Failed { status, reason } => (*status, Some(reason.clone())),
        };
        PollSummary {
            source: p.source.clone(),
            at: p.at,
            latency_ms: p.latency_ms,
            status,
            error,
            warning: None,
            mono: Some(p.mono),
        }
    }
}

/// One row's reading from one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct RowReading {
    /// Index into `Config::signals`.
    pub signal: usize,
    pub key: String,
    /// The `each` element's name, for a new row's label.
    pub name: Option<String>,
    pub critical: bool,
    pub reading: Reading,
    /// How old the payload was at the poll, when it says (`fresh_at`): the value counts
    /// as good from that long before the poll.
    pub age_ms: Option<i64>,
}

/// A signal with its paths compiled once.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    path: Option<JsonPath>,
    each: Option<JsonPath>,
    name: Option<JsonPath>,
    critical_if: Option<JsonPath>,
    /// The payload's own timestamp: the signal's `fresh_at`, else its source's.
    fresh_at: Option<JsonPath>,
    pub(crate) stale_after_ms: i64,
    /// The signal reads a `prometheus` source.
    prom: bool,
    /// On a `prometheus` source: the label template naming one row per series.
    pub(crate) template: Option<Template>,
}

impl Compiled {
    pub(crate) fn new(cfg: &Config, s: &Signal) -> Self {
        let src = cfg.sources.iter().find(|src| src.id == s.source);
        let interval = src.map(|src| src.interval.as_ms()).unwrap_or(5_000);
        let prom = src.is_some_and(|src| src.kind == SourceKind::Prometheus);
        let p = |o: &Option<String>| o.as_deref().and_then(|t| JsonPath::parse(t).ok());
        Compiled {
            path: p(&s.path),
            each: p(&s.each),
            name: if prom { None } else { p(&s.name) },
            critical_if: p(&s.critical_if),
            fresh_at: if prom {
                None
            } else {
                p(&s.fresh_at
                    .clone()
                    .or_else(|| src.and_then(|x| x.fresh_at.clone())))
            },
            stale_after_ms: s.stale_after.map(|d| d.as_ms()).unwrap_or(3 * interval),
            prom,
            template: s
                .name
                .as_deref()
                .filter(|_| prom)
                .and_then(|t| Template::parse(t).ok()),
        }
    }
}

impl Engine {
    /// What one poll means: what the source did, and each row's reading — computed once,
    /// before the poll is applied; a recording keeps exactly these, so a replay feeds the
    /// engine what it saw live.
    pub fn extract(&self, poll: &PollResult) -> (PollSummary, Vec<RowReading>) {
        (self.summary(poll), self.readings(poll))
    }

    /// The poll's summary, with a Prometheus answer's warnings.
    fn summary(&self, poll: &PollResult) -> PollSummary {
        let mut s = PollSummary::of(poll);
        let prom = self
            .cfg
            .sources
            .iter()
            .any(|src| src.id == poll.source && src.kind == SourceKind::Prometheus);
        if let (true, PollOutcome::Json { body, .. }) = (prom, &poll.outcome) {
            s.warning = prom::warnings(body);
        }
        s
    }

    /// What one poll means for each row of its source's signals (pure: nothing changes).
    /// A recording keeps these, so a replay feeds the engine exactly what it saw live.
    fn readings(&self, poll: &PollResult) -> Vec<RowReading> {
        let mut out = Vec::new();
        for (si, sig) in self.cfg.signals.iter().enumerate() {
            if sig.source != poll.source {
                continue;
            }
            let fresh = self.freshness(si, sig, poll);
            for (key, name, critical, reading) in self.signal_readings(si, sig, poll) {
                let (reading, age_ms) = match (&fresh, reading) {
                    (Some(f), Reading::Value(v)) => match f {
                        Ok(age) => (Reading::Value(v), Some(age.ms)),
                        Err(instead) => (instead.clone(), None),
                    },
                    (_, r) => (r, None),
                };
                out.push(RowReading {
                    signal: si,
                    key,
                    name,
                    critical,
                    reading,
                    age_ms,
                });
            }
        }
        out
    }

    /// For a signal whose payload says when it was made (`fresh_at`) and a poll that
    /// answered: the payload's age at the poll, or the reading its values give way to —
    /// `stale` when already too old, `empty` when the time is missing or unreadable.
    fn freshness(
        &self,
        si: usize,
        sig: &Signal,
        poll: &PollResult,
    ) -> Option<Result<PayloadAge, Reading>> {
        let path = self.compiled[si].fresh_at.as_ref()?;
        let PollOutcome::Json { body, .. } = &poll.outcome else {
            return None;
        };
        if sig.kind == SignalKind::Health {
            // Reachability is judged from the answer itself, however old its data.
            return None;
        }
        let Some(found) = path.first(body) else {
            return Some(Err(Reading::empty(format!(
                "fresh_at {path} not in the response"
            ))));
        };
        let Some(made) = payload_time(found) else {
            return Some(Err(Reading::empty(format!(
                "fresh_at {path} is not a time (RFC 3339 or epoch seconds/ms): {}",
                truncate(&found.to_string(), 30)
            ))));
        };
        let age = PayloadAge::at_poll(poll.at, made);
        let by = format!("by fresh_at {path}");
        match age.stale(self.compiled[si].stale_after_ms, "the payload", Some(&by)) {
            Some(stale) => Some(Err(stale)),
            None => Some(Ok(age)),
        }
    }

    /// The readings one poll gives each row of signal `si`: (row key, each-name, critical, reading).
    fn signal_readings(
        &self,
        si: usize,
        sig: &Signal,
        poll: &PollResult,
    ) -> Vec<(String, Option<String>, bool, Reading)> {
        let c = &self.compiled[si];
        if c.prom {
            return self.extract_prom(si, sig, poll);
        }
        let body = match &poll.outcome {
            PollOutcome::Json { status, body } => {
                if sig.kind == SignalKind::Health && c.path.is_none() {
                    let v = Value::Num(f64::from(*status));
                    return vec![(sig.id.clone(), None, sig.critical, Reading::Value(v))];
                }
                body
            }
            PollOutcome::Failed { reason, .. } => {
                let reading = Reading::error(format!("source down: {reason}"));
                if sig.each.is_none() {
                    return vec![(sig.id.clone(), None, sig.critical, reading)];
                }
                // Every known row of this signal goes to error together.
                return self
                    .rows
                    .iter()
                    .filter(|r| r.signal == si)
                    .map(|r| (r.key.clone(), None, r.critical, reading.clone()))
                    .collect();
            }
        };
        match &c.each {
            None => {
                let reading = read_value(sig, c.path.as_ref(), body);
                vec![(sig.id.clone(), None, sig.critical, reading)]
            }
            Some(each) => {
                let mut out = Vec::new();
                for (i, el) in each.eval(body).into_iter().enumerate() {
                    let name = c
                        .name
                        .as_ref()
                        .and_then(|n| n.eval(el).into_iter().next())
                        .map(json_name)
                        .unwrap_or_else(|| format!("#{i}"));
                    let critical = sig.critical
                        || c.critical_if
                            .as_ref()
                            .and_then(|p| p.eval(el).into_iter().next())
                            .is_some_and(truthy);
                    let reading = read_value(sig, c.path.as_ref(), el);
                    out.push((
                        format!("{}[{}]", sig.id, name),
                        Some(name),
                        critical,
                        reading,
                    ));
                }
                // Rows that vanished from the array say so rather than keep a value.
                for r in self.rows.iter().filter(|r| r.signal == si) {
                    if !out.iter().any(|(k, ..)| *k == r.key) {
                        out.push((
                            r.key.clone(),
                            None,
                            r.critical,
                            Reading::empty("no longer in the response"),
                        ));
                    }
                }
                if out.is_empty() {
                    // An empty array is `empty`, never ok: keep a placeholder row.
                    let key = sig.id.clone();
                    out.push((
                        key,
                        None,
                        sig.critical,
                        Reading::empty("the array is empty"),
                    ));
                }
                out
            }
        }
    }

    /// `signal_readings` for a signal on a `prometheus` source: a row per series when the signal has
    /// a name template, else its own row; no series, NaN, ±Inf → `empty`; an old sample → `stale`.
    fn extract_prom(
        &self,
        si: usize,
        sig: &Signal,
        poll: &PollResult,
    ) -> Vec<(String, Option<String>, bool, Reading)> {
        let c = &self.compiled[si];
        // The same reading for every row this signal shows (its own row when none yet).
        let all = |reading: Reading| {
            let known: Vec<_> = self
                .rows
                .iter()
                .filter(|r| r.signal == si)
                .map(|r| (r.key.clone(), None, r.critical, reading.clone()))
                .collect();
            if known.is_empty() {
                vec![(sig.id.clone(), None, sig.critical, reading)]
            } else {
                known
            }
        };
        let body = match &poll.outcome {
            PollOutcome::Failed { reason, .. } => {
                // Prometheus answered and said why the query failed: it is not down.
                let what = if reason.starts_with("Prometheus ") {
                    "query failed"
                } else {
                    "source down"
                };
                return all(Reading::error(format!("{what}: {reason}")));
            }
            PollOutcome::Json { status, body } => {
                if sig.kind == SignalKind::Health {
                    let v = Value::Num(f64::from(*status));
                    return vec![(sig.id.clone(), None, sig.critical, Reading::Value(v))];
                }
                body
            }
        };
        match prom::convert(
            body,
            c.template.as_ref(),
            sig.kind,
            poll.at,
            c.stale_after_ms,
        ) {
            prom::Converted::All(r) => all(r),
            prom::Converted::One(r) => vec![(sig.id.clone(), None, sig.critical, r)],
            prom::Converted::Series(list) => {
                let mut out: Vec<_> = list
                    .into_iter()
                    .map(|(name, r)| (format!("{}[{}]", sig.id, name), Some(name), sig.critical, r))
                    .collect();
                // Series that vanished from the result say so rather than keep a value.
                for r in self
                    .rows
                    .iter()
                    .filter(|r| r.signal == si && r.key != sig.id)
                {
                    if !out.iter().any(|(k, ..)| *k == r.key) {
                        out.push((
                            r.key.clone(),
                            None,
                            r.critical,
                            Reading::empty("no longer in the query result"),
                        ));
                    }
                }
                out
            }
        }
    }
}

/// What a JSON value means for a signal: a value, or why it is empty.
fn read_value(sig: &Signal, path: Option<&JsonPath>, root: &Json) -> Reading {
    let found = match path {
        Some(p) => p.eval(root).into_iter().next(),
        None => Some(root),
    };
    let shown = sig.path.as_deref().unwrap_or(".");
    let Some(v) = found else {
        return Reading::empty(format!("{shown} not in the response"));
    };
    match (sig.kind, v) {
        (_, Json::Null) => Reading::empty(format!("{shown} is null")),
        (_, Json::Number(n)) => match n.as_f64() {
            Some(x) if x.is_finite() => Reading::Value(Value::Num(x)),
            _ => Reading::empty(format!("{shown} is not a finite number")),
        },
        (SignalKind::Flag, Json::Bool(b)) => Reading::Value(Value::Bool(*b)),
        (SignalKind::Flag, Json::String(s)) => Reading::Value(Value::Str(s.clone())),
        (SignalKind::Health, Json::Bool(b)) => Reading::Value(Value::Bool(*b)),
        (SignalKind::Health, Json::String(s)) => Reading::Value(Value::Str(s.clone())),
        (SignalKind::Metric, Json::String(s)) => Reading::empty(format!(
            "{shown} is text {:?}, not a number",
            truncate(s, 20)
        )),
        (SignalKind::Metric, Json::Bool(b)) => {
            Reading::empty(format!("{shown} is {b}, not a number"))
        }
        (_, Json::Array(_)) | (_, Json::Object(_)) => {
            Reading::empty(format!("{shown} is an object or array, not a value"))
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn json_name(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn truthy(v: &Json) -> bool {
    !matches!(v, Json::Null | Json::Bool(false))
}
