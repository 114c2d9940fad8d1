//! The one engine that decides bands (SPEC §4) for the screen, `check` and the report.
//!
//! It is a deterministic state machine fed `Observation`s and the time: the same
//! config, samples and clock always give the same rows, bands and events.

use crate::config::{Config, SignalKind};
use crate::sample::{Mono, NoDataKind, Stamp, Ts, Value};
use serde::Serialize;
use std::collections::VecDeque;

/// How many values a row keeps for its sparkline.
pub const HISTORY: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    Ok,
    Warn,
    Crit,
}

impl Band {
    pub fn word(self) -> &'static str {
        match self {
            Band::Ok => "ok",
            Band::Warn => "warn",
            Band::Crit => "crit",
        }
    }
}

/// What a row shows: a band, or one of the no-data states (never ok, never the
/// last good value without saying so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Status {
    Band(Band),
    NoData(NoDataKind),
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Band(b) => b.word(),
            Status::NoData(k) => k.word(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BaselineView {
    pub row: String,
    pub value: Option<f64>,
    /// `value - baseline` in the signal's unit.
    pub delta: Option<f64>,
    /// `(value - baseline) / baseline` in percent.
    pub delta_pct: Option<f64>,
}

/// A trip or clear in progress: the band the row is moving toward and since when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pending {
    pub toward: Band,
    pub since: Mono,
}

#[derive(Debug, Clone)]
pub struct Row {
    /// Unique: the signal id, or `id[name]` for a row of an `each` signal.
    pub key: String,
    /// Index into `Config::signals`.
    pub signal: usize,
    pub label: String,
    pub kind: SignalKind,
    pub critical: bool,
    pub unit: Option<String>,
    /// Last good value (already scaled).
    pub value: Option<Value>,
    /// Every time a row keeps is monotonic: ages and staleness never follow a wall step.
    pub last_good_at: Option<Mono>,
    /// The last sample's time, good or not.
    pub last_sample_at: Option<Mono>,
    pub status: Status,
    pub status_since: Mono,
    /// Why there is no data (for error/empty/stale).
    pub reason: Option<String>,
    /// The judged band after trip/clear rules (kept through no-data states).
    pub band: Band,
    pub band_since: Mono,
    /// The band this row counts as: its band, or the `no_data` policy once no-data lasted.
    pub effective: Band,
    /// Consecutive samples at the current raw level.
    pub streak: u32,
    /// Raw level of the latest sample (before trip/clear rules).
    pub raw: Option<Band>,
    pub pending: Option<Pending>,
    pub history: VecDeque<f64>,
    pub baseline: Option<BaselineView>,
    /// "warn > 1 · crit > 2", for the row.
    pub threshold: String,
    pub advice: Option<String>,
    /// For flags: when the value last changed.
    pub changed_at: Option<Mono>,
    /// Levels of the last n samples for `m_of_n`.
    pub(crate) recent: VecDeque<Band>,
}

#[derive(Debug, Clone, Default)]
pub struct SourceHealth {
    pub id: String,
    pub required: bool,
    pub polls: u64,
    pub errors: u64,
    pub consecutive_errors: u32,
    pub last_ok: Option<Mono>,
    pub last_poll: Option<Mono>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<u64>,
    pub last_status: Option<u16>,
    /// Prometheus's `warnings` on its last answer (the value was still used).
    pub last_warning: Option<String>,
}

impl SourceHealth {
    pub fn is_down(&self) -> bool {
        self.consecutive_errors > 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Crit,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    BandChange {
        row: String,
        from: Status,
        to: Status,
        value: Option<Value>,
        reason: Option<String>,
    },
    FlagChange {
        row: String,
        from: Option<Value>,
        to: Value,
    },
    SourceError {
        source: String,
        reason: String,
    },
    SourceRecovered {
        source: String,
        after_errors: u32,
    },
    RollbackAdvised {
        reasons: Vec<String>,
    },
    RollbackAdviceCleared,
    Note {
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// When, on the wall clock: what the events panel and the report show.
    pub at: Ts,
    /// When, on the monotonic clock: what the report measures breaches with.
    #[serde(rename = "mono_ms")]
    pub mono: Mono,
    pub severity: Severity,
    #[serde(flatten)]
    pub kind: EventKind,
    /// One line for the events panel.
    pub text: String,
}

/// The ROLLBACK ADVISED state.
#[derive(Debug, Clone, PartialEq)]
pub struct Advised {
    pub since: Mono,
    pub reasons: Vec<String>,
}

/// The overall state across rows and sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub ok: usize,
    pub warn: usize,
    pub crit: usize,
    pub no_data: usize,
    pub sources_down: usize,
}

impl Counts {
    /// Green only when every row is ok with data and every source answers.
    pub fn all_green(&self) -> bool {
        self.warn == 0 && self.crit == 0 && self.no_data == 0 && self.sources_down == 0
    }
}

pub struct Engine {
    pub rows: Vec<Row>,
    pub sources: Vec<SourceHealth>,
    pub advised: Option<Advised>,
    pub(crate) compiled: Vec<Compiled>,
    pub(crate) timers: Vec<Timers>,
    pub(crate) cfg: std::sync::Arc<Config>,
    pub(crate) started: Mono,
    /// The latest monotonic time given: the measure of a recorded poll without one.
    pub(crate) mono: Mono,
    /// Judge each sample alone (`check` without `--window`): no `for`, `m_of_n`,
    /// `clear_for` or no-data grace.
    pub(crate) instant: bool,
}

use crate::config::{JudgeOn, NoDataPolicy, Signal, SourceKind};
use crate::path::JsonPath;
use crate::prom::{self, Template};
use crate::sample::{PollOutcome, PollResult, Reading};
use chrono::Duration as CDur;
use serde_json::Value as Json;
use std::sync::Arc;

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
}

/// A signal with its paths compiled once.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    path: Option<JsonPath>,
    each: Option<JsonPath>,
    name: Option<JsonPath>,
    critical_if: Option<JsonPath>,
    stale_after_ms: i64,
    /// The signal reads a `prometheus` source.
    prom: bool,
    /// On a `prometheus` source: the label template naming one row per series.
    template: Option<Template>,
}

/// Per-row trip/clear bookkeeping that the screen does not need.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    /// Since when the raw level has been at least warn / at least crit, continuously.
    above_since: [Option<Mono>; 2],
    /// Since when the raw level has been below the band, continuously.
    below_since: Option<Mono>,
}

fn level_idx(b: Band) -> Option<usize> {
    match b {
        Band::Ok => None,
        Band::Warn => Some(0),
        Band::Crit => Some(1),
    }
}

fn ms(d: i64) -> CDur {
    CDur::milliseconds(d)
}

impl Engine {
    /// Rows for every signal without `each` exist from the start (as no data);
    /// rows of `each` signals appear when their first sample names them.
    /// `now` is monotonic: the engine measures every duration on that clock and only
    /// stamps events with the wall time it is given alongside.
    pub fn new(cfg: Arc<Config>, now: Mono) -> Self {
        let compiled = cfg
            .signals
            .iter()
            .map(|s| {
                let src = cfg.sources.iter().find(|src| src.id == s.source);
                let interval = src.map(|src| src.interval.as_ms()).unwrap_or(5_000);
                let prom = src.is_some_and(|src| src.kind == SourceKind::Prometheus);
                let p = |o: &Option<String>| o.as_deref().and_then(|t| JsonPath::parse(t).ok());
                Compiled {
                    path: p(&s.path),
                    each: p(&s.each),
                    name: if prom { None } else { p(&s.name) },
                    critical_if: p(&s.critical_if),
                    stale_after_ms: s.stale_after.map(|d| d.as_ms()).unwrap_or(3 * interval),
                    prom,
                    template: s
                        .name
                        .as_deref()
                        .filter(|_| prom)
                        .and_then(|t| Template::parse(t).ok()),
                }
            })
            .collect();
        let sources = cfg
            .sources
            .iter()
            .map(|s| SourceHealth {
                id: s.id.clone(),
                required: s.required,
                ..Default::default()
            })
            .collect();
        let mut e = Engine {
            rows: Vec::new(),
            sources,
            advised: None,
            compiled,
            timers: Vec::new(),
            cfg,
            started: now,
            mono: now,
            instant: false,
        };
        for i in 0..e.cfg.signals.len() {
            // Rows of `each` signals and of named Prometheus series appear with data.
            if e.cfg.signals[i].each.is_none() && e.compiled[i].template.is_none() {
                let key = e.cfg.signals[i].id.clone();
                e.add_row(i, key, None, e.cfg.signals[i].critical, now);
            }
        }
        e
    }

    /// An engine that judges every sample on its own, for a one-shot `check`.
    pub fn single_sample(cfg: Arc<Config>, now: Mono) -> Self {
        let mut e = Engine::new(cfg, now);
        e.instant = true;
        e
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.cfg
    }

    fn add_row(
        &mut self,
        signal: usize,
        key: String,
        name: Option<&str>,
        critical: bool,
        now: Mono,
    ) -> usize {
        let s = &self.cfg.signals[signal];
        let label = match name {
            Some(n) => format!("{} {}", s.label(), n),
            None => s.label().to_string(),
        };
        self.rows.push(Row {
            key,
            signal,
            label,
            kind: s.kind,
            critical,
            unit: s.unit.clone(),
            value: None,
            last_good_at: None,
            last_sample_at: None,
            status: Status::NoData(NoDataKind::Empty),
            status_since: now,
            reason: Some("waiting for the first poll".into()),
            band: Band::Ok,
            band_since: now,
            effective: Band::Ok,
            streak: 0,
            raw: None,
            pending: None,
            history: VecDeque::new(),
            baseline: None,
            threshold: threshold_text(s),
            advice: None,
            changed_at: None,
            recent: VecDeque::new(),
        });
        self.timers.push(Timers::default());
        self.rows.len() - 1
    }

    fn row_index(&self, key: &str) -> Option<usize> {
        self.rows.iter().position(|r| r.key == key)
    }

    /// Feed one poll result. Returns the events it caused.
    pub fn ingest(&mut self, poll: &PollResult) -> Vec<Event> {
        let readings = self.readings(poll);
        self.ingest_readings(&self.summary(poll), readings)
    }

    /// The poll's summary, with a Prometheus answer's warnings.
    pub fn summary(&self, poll: &PollResult) -> PollSummary {
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
    pub fn readings(&self, poll: &PollResult) -> Vec<RowReading> {
        let mut out = Vec::new();
        for (si, sig) in self.cfg.signals.iter().enumerate() {
            if sig.source != poll.source {
                continue;
            }
            for (key, name, critical, reading) in self.extract(si, sig, poll) {
                out.push(RowReading {
                    signal: si,
                    key,
                    name,
                    critical,
                    reading,
                });
            }
        }
        out
    }

    /// Apply a poll given as its summary and its readings (live, or from a recording).
    pub fn ingest_readings(&mut self, poll: &PollSummary, readings: Vec<RowReading>) -> Vec<Event> {
        let mut events = Vec::new();
        let now = Stamp::new(poll.at, poll.mono.unwrap_or(self.mono));
        self.mono = self.mono.max(now.mono);
        let (at, mono) = (now.at, now.mono);
        if let Some(src) = self.sources.iter_mut().find(|s| s.id == poll.source) {
            src.polls += 1;
            src.last_poll = Some(mono);
            src.last_latency_ms = Some(poll.latency_ms);
            match &poll.error {
                None => {
                    src.last_status = poll.status;
                    let warning = poll.warning.clone();
                    if warning.is_some() && warning != src.last_warning {
                        let w = warning.clone().unwrap_or_default();
                        events.push(Event {
                            at,
                            mono,
                            severity: Severity::Warn,
                            text: format!("source {} warns: {w}", src.id),
                            kind: EventKind::Note {
                                text: format!("source {} warns: {w}", src.id),
                            },
                        });
                    }
                    src.last_warning = warning;
                    if src.consecutive_errors > 0 {
                        events.push(Event {
                            at,
                            mono,
                            severity: Severity::Info,
                            text: format!(
                                "source {} answers again (after {} failed polls)",
                                src.id, src.consecutive_errors
                            ),
                            kind: EventKind::SourceRecovered {
                                source: src.id.clone(),
                                after_errors: src.consecutive_errors,
                            },
                        });
                    }
                    src.consecutive_errors = 0;
                    src.last_ok = Some(mono);
                    src.last_error = None;
                }
                Some(reason) => {
                    src.last_status = poll.status;
                    src.errors += 1;
                    src.consecutive_errors += 1;
                    // Announce the first failure and a change of reason, not every poll.
                    if src.consecutive_errors == 1 || src.last_error.as_deref() != Some(reason) {
                        events.push(Event {
                            at,
                            mono,
                            severity: Severity::Warn,
                            text: format!("source {} failed: {}", src.id, reason),
                            kind: EventKind::SourceError {
                                source: src.id.clone(),
                                reason: reason.clone(),
                            },
                        });
                    }
                    src.last_error = Some(reason.clone());
                }
            }
        }
        // Named series replace the placeholder row that said why there were none.
        let cfg = Arc::clone(&self.cfg);
        for (si, sig) in cfg.signals.iter().enumerate() {
            let named = readings.iter().any(|r| r.signal == si && r.key != sig.id);
            if named && self.compiled[si].template.is_some() {
                if let Some(i) = self
                    .rows
                    .iter()
                    .position(|r| r.signal == si && r.key == sig.id)
                {
                    self.rows.remove(i);
                    self.timers.remove(i);
                }
            }
        }
        for r in readings {
            if r.signal >= self.cfg.signals.len() {
                continue;
            }
            let idx = match self.row_index(&r.key) {
                Some(i) => i,
                None => self.add_row(r.signal, r.key, r.name.as_deref(), r.critical, mono),
            };
            self.rows[idx].critical = r.critical;
            self.apply(idx, r.reading, now, &mut events);
        }
        self.refresh_baselines();
        self.evaluate_time(now, &mut events);
        events
    }

    /// Advance the clock: stale values, `for`/`clear_for` maturing, rollback advice.
    /// Only `now.mono` decides; `now.at` stamps the events it causes.
    pub fn tick(&mut self, now: Stamp) -> Vec<Event> {
        let mut events = Vec::new();
        self.mono = self.mono.max(now.mono);
        self.evaluate_time(now, &mut events);
        events
    }

    /// The readings one poll gives each row of signal `si`: (row key, each-name, critical, reading).
    fn extract(
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

    /// `extract` for a signal on a `prometheus` source: a row per series when the signal has
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

    fn apply(&mut self, idx: usize, reading: Reading, now: Stamp, events: &mut Vec<Event>) {
        let cfg = Arc::clone(&self.cfg);
        let sig = &cfg.signals[self.rows[idx].signal];
        let row = &mut self.rows[idx];
        row.last_sample_at = Some(now.mono);
        match reading {
            Reading::NoData { kind, reason } => {
                row.raw = None;
                row.streak = 0;
                self.timers[idx] = Timers::default();
                row.pending = None;
                row.reason = Some(reason.clone());
                set_status(row, Status::NoData(kind), now, Some(reason), events);
            }
            Reading::Value(v) => {
                let v = match (v, sig.scale) {
                    (Value::Num(n), Some(k)) => Value::Num(n * k),
                    (v, _) => v,
                };
                if sig.kind == SignalKind::Flag {
                    if let Some(prev) = &row.value {
                        if *prev != v {
                            row.changed_at = Some(now.mono);
                            events.push(Event {
                                at: now.at,
                                mono: now.mono,
                                severity: Severity::Info,
                                text: format!("flag {} changed: {} → {}", row.label, prev, v),
                                kind: EventKind::FlagChange {
                                    row: row.key.clone(),
                                    from: Some(prev.clone()),
                                    to: v.clone(),
                                },
                            });
                        }
                    }
                }
                if let Value::Num(n) = v {
                    row.history.push_back(n);
                    while row.history.len() > HISTORY {
                        row.history.pop_front();
                    }
                }
                row.value = Some(v);
                row.last_good_at = Some(now.mono);
                row.reason = None;
            }
        }
        if self.rows[idx].value.is_some() && self.rows[idx].last_good_at == Some(now.mono) {
            self.judge(idx, now, events);
        }
    }

    /// The number (or value) the thresholds look at.
    fn judged_value(&self, idx: usize) -> Option<Value> {
        let row = &self.rows[idx];
        let sig = &self.cfg.signals[row.signal];
        match sig.on {
            JudgeOn::Value => row.value.clone(),
            JudgeOn::Delta => row.baseline.as_ref().and_then(|b| b.delta).map(Value::Num),
            JudgeOn::DeltaPct => row
                .baseline
                .as_ref()
                .and_then(|b| b.delta_pct)
                .map(Value::Num),
        }
    }

    /// Apply a fresh good sample to the trip/clear rules.
    fn judge(&mut self, idx: usize, now: Stamp, events: &mut Vec<Event>) {
        let at = now.mono;
        self.refresh_baseline(idx);
        let sig = self.cfg.signals[self.rows[idx].signal].clone();
        let Some(jv) = self.judged_value(idx) else {
            let row = &mut self.rows[idx];
            let reason = "baseline has no value to compare with".to_string();
            row.reason = Some(reason.clone());
            set_status(
                row,
                Status::NoData(NoDataKind::Empty),
                now,
                Some(reason),
                events,
            );
            return;
        };
        let raw = raw_level(&sig, &jv);
        let row = &mut self.rows[idx];
        row.streak = if row.raw == Some(raw) {
            row.streak + 1
        } else {
            1
        };
        row.raw = Some(raw);
        if let Some([_, n]) = sig.m_of_n {
            row.recent.push_back(raw);
            while row.recent.len() > n as usize {
                row.recent.pop_front();
            }
        }
        let t = &mut self.timers[idx];
        for (i, lvl) in [Band::Warn, Band::Crit].into_iter().enumerate() {
            if raw >= lvl {
                t.above_since[i].get_or_insert(at);
            } else {
                t.above_since[i] = None;
            }
        }
        if raw < row.band {
            t.below_since.get_or_insert(at);
        } else {
            t.below_since = None;
        }
        // Leaving a no-data state: show the band again.
        let band = row.band;
        set_status(row, Status::Band(band), now, None, events);
        self.step_band(idx, now, true, events);
    }

    /// Move the band per `for` / `m_of_n` / `clear_for`. `on_sample` is false for clock ticks.
    fn step_band(&mut self, idx: usize, stamp: Stamp, on_sample: bool, events: &mut Vec<Event>) {
        let now = stamp.mono;
        let sig = &self.cfg.signals[self.rows[idx].signal];
        let (for_ms, m_of_n, clear_ms) = if self.instant {
            (0, None, 0)
        } else {
            (
                sig.for_.map(|d| d.as_ms()).unwrap_or(0),
                sig.m_of_n,
                sig.clear_for.map(|d| d.as_ms()).unwrap_or(0),
            )
        };
        let row = &mut self.rows[idx];
        let t = &mut self.timers[idx];
        let Some(raw) = row.raw else { return };
        let old = row.band;
        let mut new = old;
        row.pending = None;
        if raw > old {
            for lvl in [Band::Crit, Band::Warn] {
                if lvl <= old || raw < lvl {
                    continue;
                }
                let Some(li) = level_idx(lvl) else { continue };
                let ok = match m_of_n {
                    Some([m, _]) => {
                        on_sample && row.recent.iter().filter(|b| **b >= lvl).count() >= m as usize
                    }
                    None => t.above_since[li].is_some_and(|s| now - s >= ms(for_ms)),
                };
                if ok {
                    new = lvl;
                    break;
                }
                if row.pending.is_none() {
                    if let Some(s) = t.above_since[li] {
                        row.pending = Some(Pending {
                            toward: lvl,
                            since: s,
                        });
                    }
                }
            }
        } else if raw < old {
            let since = t.below_since.unwrap_or(now);
            if now - since >= ms(clear_ms) {
                new = raw;
            } else {
                row.pending = Some(Pending { toward: raw, since });
            }
        }
        if new != old {
            row.band = new;
            row.band_since = now;
            t.below_since = None;
            if new > old {
                row.pending = None;
            }
            set_status(row, Status::Band(new), stamp, None, events);
        }
        row.advice = advice_for(&self.cfg.signals[row.signal], row.band);
    }

    /// Stale detection, maturing timers, effective bands and rollback advice.
    fn evaluate_time(&mut self, stamp: Stamp, events: &mut Vec<Event>) {
        let now = stamp.mono;
        for idx in 0..self.rows.len() {
            let stale_ms = self.compiled[self.rows[idx].signal].stale_after_ms;
            let (status, last_sample, last_good) = {
                let r = &self.rows[idx];
                (r.status, r.last_sample_at, r.last_good_at)
            };
            // A value that stopped arriving is stale, never shown as fresh.
            if let (Status::Band(_), Some(lg)) = (status, last_good) {
                if now - lg > ms(stale_ms) {
                    let reason = format!(
                        "no new sample within {} (stale_after)",
                        crate::timefmt::format_span(ms(stale_ms))
                    );
                    let row = &mut self.rows[idx];
                    row.raw = None;
                    row.pending = None;
                    self.timers[idx] = Timers::default();
                    row.reason = Some(reason.clone());
                    set_status(
                        row,
                        Status::NoData(NoDataKind::Stale),
                        stamp,
                        Some(reason),
                        events,
                    );
                }
            }
            if matches!(self.rows[idx].status, Status::Band(_))
                && last_sample.is_some_and(|s| now - s <= ms(stale_ms))
            {
                self.step_band(idx, stamp, false, events);
            }
            self.update_effective(idx, now, stale_ms);
        }
        self.evaluate_advice(stamp, events);
    }

    fn update_effective(&mut self, idx: usize, now: Mono, stale_ms: i64) {
        let row = &mut self.rows[idx];
        let sig = &self.cfg.signals[row.signal];
        row.effective = match row.status {
            Status::Band(b) => b,
            Status::NoData(_) => {
                let since = row.last_good_at.unwrap_or(self.started).max(self.started);
                // Health is about reachability: no data counts at once.
                let grace = if sig.kind == SignalKind::Health || self.instant {
                    0
                } else {
                    stale_ms
                };
                let policy = no_data_band(sig.kind, sig.no_data);
                if now - since >= ms(grace) {
                    row.band.max(policy)
                } else {
                    row.band
                }
            }
        };
    }

    fn evaluate_advice(&mut self, stamp: Stamp, events: &mut Vec<Event>) {
        let now = stamp.mono;
        let Some(rule) = self.cfg.cutover.rollback_when.clone() else {
            return;
        };
        let hold = ms(rule.critical_for.as_ms());
        let reasons: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.critical && r.effective == Band::Crit)
            .filter(|r| now - r.band_since.min(r.status_since) >= hold || hold.is_zero())
            .map(|r| breach_text(r, &self.cfg.signals[r.signal], now))
            .collect();
        let advised = reasons.len() >= rule.min_signals.max(1);
        match (&mut self.advised, advised) {
            (None, true) => {
                events.push(Event {
                    at: stamp.at,
                    mono: now,
                    severity: Severity::Crit,
                    text: format!("ROLLBACK ADVISED: {}", reasons.join("; ")),
                    kind: EventKind::RollbackAdvised {
                        reasons: reasons.clone(),
                    },
                });
                self.advised = Some(Advised {
                    since: now,
                    reasons,
                });
            }
            (Some(a), true) => a.reasons = reasons,
            (Some(_), false) => {
                self.advised = None;
                events.push(Event {
                    at: stamp.at,
                    mono: now,
                    severity: Severity::Info,
                    text: "rollback advice cleared: no critical signal in crit".into(),
                    kind: EventKind::RollbackAdviceCleared,
                });
            }
            (None, false) => {}
        }
    }

    fn refresh_baselines(&mut self) {
        for i in 0..self.rows.len() {
            self.refresh_baseline(i);
        }
    }

    fn refresh_baseline(&mut self, idx: usize) {
        let sig = &self.cfg.signals[self.rows[idx].signal];
        let Some(base_id) = sig.baseline.clone() else {
            return;
        };
        // An `each` row compares with the baseline row of the same name, else the plain one.
        let key = &self.rows[idx].key;
        let suffix = key.find('[').map(|i| &key[i..]).unwrap_or("");
        let bkey = format!("{base_id}{suffix}");
        let bidx = self.row_index(&bkey).or_else(|| self.row_index(&base_id));
        let bval = bidx.and_then(|b| {
            let r = &self.rows[b];
            match r.status {
                Status::Band(_) => r.value.as_ref().and_then(Value::as_f64),
                Status::NoData(_) => None,
            }
        });
        let brow = bidx.map(|b| self.rows[b].key.clone()).unwrap_or(bkey);
        let row = &mut self.rows[idx];
        let v = row.value.as_ref().and_then(Value::as_f64);
        let delta = v.zip(bval).map(|(a, b)| a - b);
        let delta_pct = v
            .zip(bval)
            .and_then(|(a, b)| (b != 0.0).then(|| (a - b) / b.abs() * 100.0));
        row.baseline = Some(BaselineView {
            row: brow,
            value: bval,
            delta,
            delta_pct,
        });
    }

    /// Totals across rows and sources: what the header and `check` summarise.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in &self.rows {
            match r.status {
                Status::NoData(_) => c.no_data += 1,
                Status::Band(Band::Ok) => c.ok += 1,
                Status::Band(Band::Warn) => c.warn += 1,
                Status::Band(Band::Crit) => c.crit += 1,
            }
        }
        c.sources_down = self.sources.iter().filter(|s| s.is_down()).count();
        c
    }

    /// Critical rows whose effective band is `crit`: the banner and `check`'s exit 1.
    pub fn critical_breaches(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| r.critical && r.effective == Band::Crit)
    }

    /// Required sources without a good answer in their last poll (or never polled).
    pub fn required_sources_without_data(&self) -> Vec<&SourceHealth> {
        self.sources
            .iter()
            .filter(|s| s.required && (s.is_down() || s.last_ok.is_none()))
            .collect()
    }

    pub fn signal(&self, row: &Row) -> &Signal {
        &self.cfg.signals[row.signal]
    }
}

fn set_status(
    row: &mut Row,
    to: Status,
    at: Stamp,
    reason: Option<String>,
    events: &mut Vec<Event>,
) {
    if row.status == to {
        return;
    }
    let from = row.status;
    row.status = to;
    row.status_since = at.mono;
    // The initial "waiting" state leaving to ok is not news.
    let first = row.last_sample_at == Some(at.mono)
        && row.history.len() <= 1
        && from == Status::NoData(NoDataKind::Empty)
        && to == Status::Band(Band::Ok)
        && row.streak <= 1;
    if first {
        return;
    }
    let severity = match to {
        Status::Band(Band::Ok) => Severity::Info,
        Status::Band(Band::Warn) | Status::NoData(_) => Severity::Warn,
        Status::Band(Band::Crit) => Severity::Crit,
    };
    let val = row
        .value
        .as_ref()
        .map(|v| {
            format!(
                " ({}{})",
                v,
                row.unit
                    .as_deref()
                    .map(|u| format!(" {u}"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let text = match (&reason, to) {
        (Some(r), Status::NoData(_)) => {
            format!("{}: {} → {} — {}", row.label, from.word(), to.word(), r)
        }
        _ => format!(
            "{}: {} → {}{}",
            row.label,
            from.word(),
            to.word(),
            if matches!(to, Status::Band(_)) {
                val
            } else {
                String::new()
            }
        ),
    };
    events.push(Event {
        at: at.at,
        mono: at.mono,
        severity,
        text,
        kind: EventKind::BandChange {
            row: row.key.clone(),
            from,
            to,
            value: row.value.clone(),
            reason,
        },
    });
}

fn raw_level(sig: &Signal, v: &Value) -> Band {
    if sig.crit.as_ref().is_some_and(|c| c.holds(v)) {
        Band::Crit
    } else if sig.warn.as_ref().is_some_and(|c| c.holds(v)) {
        Band::Warn
    } else {
        Band::Ok
    }
}

fn advice_for(sig: &Signal, band: Band) -> Option<String> {
    match band {
        Band::Ok => sig.advice.ok.clone(),
        Band::Warn => sig.advice.warn.clone(),
        Band::Crit => sig.advice.crit.clone(),
    }
}

/// "warn > 1 · crit > 2" (with "Δ" when judged on the delta to the baseline).
pub fn threshold_text(sig: &Signal) -> String {
    let on = match sig.on {
        JudgeOn::Value => "",
        JudgeOn::Delta => "Δ ",
        JudgeOn::DeltaPct => "Δ% ",
    };
    let mut parts = Vec::new();
    if let Some(w) = &sig.warn {
        parts.push(format!("warn {on}{w}"));
    }
    if let Some(c) = &sig.crit {
        parts.push(format!("crit {on}{c}"));
    }
    parts.join(" · ")
}

/// "error_rate /api/x 5.20 % (crit > 2) for 1m12s" — the banner's and advice's words.
/// `now` is monotonic, like every time a row keeps.
pub fn breach_text(row: &Row, sig: &Signal, now: Mono) -> String {
    let what = match (row.status, &row.value) {
        (Status::NoData(k), _) => format!(
            "no data ({}{}){}",
            k.word(),
            row.reason
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default(),
            if row.effective == Band::Crit {
                " counts as crit"
            } else {
                ""
            }
        ),
        (_, Some(val)) => val.with_unit(row.unit.as_deref()),
        (_, None) => "no value".into(),
    };
    // Only the crit part of "warn > 1 · crit > 2" (with its Δ when judged on the delta).
    let crit = row
        .threshold
        .split('·')
        .map(str::trim)
        .find(|p| p.starts_with("crit"))
        .unwrap_or(row.threshold.trim());
    let thr = if crit.is_empty() {
        String::new()
    } else {
        format!(" ({crit})")
    };
    let held = crate::timefmt::format_span(now - row.band_since.min(row.status_since));
    // Back under the threshold but waiting out `clear_for`: say so, not "breach".
    if let Some(p) = row
        .pending
        .filter(|p| p.toward < Band::Crit && row.band == Band::Crit)
    {
        let clear_ms = sig.clear_for.map(|d| d.as_ms()).unwrap_or(0);
        let left = (clear_ms - (now - p.since).num_milliseconds()).max(0) / 1000;
        return format!(
            "{} now {what}{thr}, clearing in {left}s (crit for {held})",
            row.label
        );
    }
    format!("{} {what}{thr} for {held}", row.label)
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

// ------------------------------------------------------------- no data is never a pass

/// The band a no-data row counts as: the signal's `no_data` policy, or without one warn
/// (crit for `health`: unreachable is the very thing it measures).
pub fn no_data_band(kind: SignalKind, policy: Option<NoDataPolicy>) -> Band {
    match (kind, policy) {
        (SignalKind::Health, None) => Band::Crit,
        (_, None) => Band::Warn,
        (_, Some(NoDataPolicy::Ok)) => Band::Ok,
        (_, Some(NoDataPolicy::Warn)) => Band::Warn,
        (_, Some(NoDataPolicy::Crit)) => Band::Crit,
    }
}

/// What a window saw of each row's data, so that a critical row that went without data
/// for a while is still known at the end, even if its data came back. Fed the engine
/// after every step (`check --window`, the report); pure bookkeeping, no clock of its own.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    rows: std::collections::HashMap<String, RowCoverage>,
    observed: bool,
}

#[derive(Debug, Clone)]
struct RowCoverage {
    /// Since when the window has known this row.
    since: Mono,
    last_good: Option<Mono>,
    /// The longest stretch without data that has ended, and when it began.
    longest_ms: i64,
    longest_from: Mono,
}

impl Coverage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Take note of every row's data as of `now` (monotonic: a wall step changes nothing).
    pub fn observe(&mut self, engine: &Engine, now: Mono) {
        let first = !self.observed;
        self.observed = true;
        for r in &engine.rows {
            let c = self.rows.entry(r.key.clone()).or_insert_with(|| {
                // Rows there from the start are owed data from the start; rows that appear
                // later (`each` elements, series) from when they appear.
                let since = if first {
                    engine.started
                } else {
                    r.last_good_at.unwrap_or(now).min(now)
                };
                RowCoverage {
                    since,
                    last_good: None,
                    longest_ms: 0,
                    longest_from: since,
                }
            });
            let Some(good) = r
                .last_good_at
                .filter(|_| matches!(r.status, Status::Band(_)))
            else {
                continue;
            };
            if c.last_good.is_some_and(|l| l >= good) {
                continue;
            }
            let from = c.last_good.unwrap_or(c.since);
            let gap = (good - from).num_milliseconds();
            if gap > c.longest_ms {
                c.longest_ms = gap;
                c.longest_from = from;
            }
            c.last_good = Some(good);
        }
    }
}

/// How a critical row went without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// A one-sample check: this sample had none.
    Sample,
    /// Never any data (over the window, or since the screen started).
    Never,
    /// Data came, but stopped for longer than `stale_after`.
    Stretch,
}

/// A critical row whose missing data must not pass as ok.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoDataFinding {
    pub key: String,
    pub label: String,
    pub missing: Missing,
    /// The longest stretch without data, in ms (the whole span for `Never`).
    pub longest_ms: i64,
    /// When that stretch began (on the wall clock, for showing).
    pub from: Ts,
    pub stale_after_ms: i64,
    /// Why, as the row says now (None once its data is back).
    pub reason: Option<String>,
    /// The band the signal's explicit `no_data` policy makes this; None: no policy is
    /// set, so this is NO DATA — never a pass.
    pub counts_as: Option<Band>,
}

impl NoDataFinding {
    /// "err /api/x: never had data (source down: time-out)"
    pub fn text(&self) -> String {
        // To the nearest second: a 3 s window seen from 9 ms in is "3s", not "2s".
        let span = crate::timefmt::format_span_nearest_ms;
        let what = match self.missing {
            Missing::Sample => "no data in this sample".to_string(),
            Missing::Never => format!("never had data ({} without)", span(self.longest_ms)),
            Missing::Stretch => format!(
                "no data for {} from {} (stale_after {})",
                span(self.longest_ms),
                self.from.format("%H:%M:%S"),
                span(self.stale_after_ms)
            ),
        };
        let why = self
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let policy = match self.counts_as {
            Some(b) => format!(" — counts as {} (no_data = \"{}\")", b.word(), b.word()),
            None => String::new(),
        };
        format!("{}: {what}{why}{policy}", self.label)
    }
}

/// Critical rows that had no data where a pass would need it: the one decision behind
/// the screen's NO DATA, `check`'s exit 3 and the report's NO DATA verdict.
/// - one-sample engine: the sample had no data for the row;
/// - with `coverage` (a window): the row never had data, or went without for longer than
///   its `stale_after` at any point in the window;
/// - without (the live screen): it has been without data for longer than `stale_after`
///   up to `now`, or never had any in that time.
///
/// A signal whose `no_data` policy is set is still listed, with `counts_as` its band, so
/// callers judge it as that band instead.
pub fn no_data_findings(
    engine: &Engine,
    coverage: Option<&Coverage>,
    now: Stamp,
) -> Vec<NoDataFinding> {
    let mut out = Vec::new();
    for r in engine.rows.iter().filter(|r| r.critical) {
        let sig = &engine.cfg.signals[r.signal];
        let stale_ms = engine.compiled[r.signal].stale_after_ms;
        let no_data_now = matches!(r.status, Status::NoData(_));
        let found = if engine.instant {
            no_data_now.then_some((Missing::Sample, 0, r.status_since))
        } else if let Some(c) = coverage.and_then(|c| c.rows.get(&r.key)) {
            let open_from = c.last_good.unwrap_or(c.since);
            let open = (now.mono - open_from).num_milliseconds();
            let (longest, from) = if open > c.longest_ms {
                (open, open_from)
            } else {
                (c.longest_ms, c.longest_from)
            };
            match c.last_good {
                None => Some((Missing::Never, longest, from)),
                Some(_) => (longest > stale_ms).then_some((Missing::Stretch, longest, from)),
            }
        } else {
            let from = r.last_good_at.unwrap_or(engine.started).max(engine.started);
            let open = (now.mono - from).num_milliseconds();
            let kind = if r.last_good_at.is_some() {
                Missing::Stretch
            } else {
                Missing::Never
            };
            (no_data_now && open > stale_ms).then_some((kind, open, from))
        };
        if let Some((missing, longest_ms, from)) = found {
            out.push(NoDataFinding {
                key: r.key.clone(),
                label: r.label.clone(),
                missing,
                longest_ms,
                from: now.wall_of(from),
                stale_after_ms: stale_ms,
                reason: if no_data_now { r.reason.clone() } else { None },
                counts_as: sig.no_data.map(|p| no_data_band(sig.kind, Some(p))),
            });
        }
    }
    out
}

#[cfg(test)]
mod no_data_tests {
    //! No data is never a pass: with a fake clock, every time given.
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn t(s: i64) -> Ts {
        chrono::Utc
            .timestamp_opt(1_800_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    /// Second `s` on the fake monotonic clock (its origin differs from the wall's).
    fn m(s: i64) -> Mono {
        Mono(7_000 + s * 1000)
    }

    fn at(s: i64) -> Stamp {
        Stamp::new(t(s), m(s))
    }

    fn cfg(extra: &str) -> Arc<Config> {
        let text = format!(
            r#"
[cutover]
name = "test"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
interval = "1s"
[[signal]]
id = "err"
source = "m"
kind = "metric"
path = ".err"
critical = true
crit = "> 2"
{extra}
"#
        );
        Arc::new(toml::from_str(&text).expect("config"))
    }

    fn poll(at: i64, body: serde_json::Value) -> PollResult {
        PollResult {
            source: "m".into(),
            at: t(at),
            mono: m(at),
            latency_ms: 5,
            outcome: PollOutcome::Json { status: 200, body },
        }
    }

    /// A window of polls every second from 0 to `secs`, the body chosen per second.
    fn window(
        c: Arc<Config>,
        secs: i64,
        body: impl Fn(i64) -> serde_json::Value,
    ) -> (Engine, Coverage) {
        let mut e = Engine::new(c, m(0));
        let mut cov = Coverage::new();
        for s in 0..=secs {
            e.ingest(&poll(s, body(s)));
            e.tick(at(s));
            cov.observe(&e, m(s));
        }
        (e, cov)
    }

    #[test]
    fn a_mistyped_path_in_one_sample_is_no_data() {
        let mut e = Engine::single_sample(cfg(""), m(0));
        e.ingest(&poll(0, json!({"error_rate": 0.1})));
        let f = no_data_findings(&e, None, at(0));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].missing, Missing::Sample);
        assert_eq!(f[0].counts_as, None);
        assert!(
            f[0].text().contains(".err not in the response"),
            "{}",
            f[0].text()
        );
    }

    #[test]
    fn a_window_without_data_is_no_data() {
        let (e, cov) = window(cfg(""), 20, |_| json!({}));
        let f = no_data_findings(&e, Some(&cov), at(20));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].missing, Missing::Never);
        assert_eq!(f[0].longest_ms, 20_000);
        // The band alone would have passed it: no data counts as warn, not crit.
        assert_eq!(e.critical_breaches().count(), 0);
    }

    #[test]
    fn data_only_at_the_start_of_a_window_is_no_data() {
        let (e, cov) = window(cfg(""), 20, |s| {
            if s < 2 {
                json!({"err": 0.5})
            } else {
                json!({})
            }
        });
        let f = no_data_findings(&e, Some(&cov), at(20));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].missing, Missing::Stretch);
        assert_eq!(f[0].longest_ms, 19_000);
        assert_eq!(f[0].from, t(1));
    }

    #[test]
    fn a_stretch_longer_than_stale_after_is_remembered_after_data_returns() {
        // stale_after is 3 s (three 1 s intervals); 6 s without data in the middle.
        let (e, cov) = window(cfg(""), 20, |s| {
            if (5..11).contains(&s) {
                json!({})
            } else {
                json!({"err": 0.5})
            }
        });
        let f = no_data_findings(&e, Some(&cov), at(20));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].longest_ms, 7_000);
        assert_eq!(f[0].reason, None, "the data is back");
        // A stretch within stale_after is not a finding.
        let (e, cov) = window(cfg(""), 20, |s| {
            if (5..7).contains(&s) {
                json!({})
            } else {
                json!({"err": 0.5})
            }
        });
        assert!(no_data_findings(&e, Some(&cov), at(20)).is_empty());
    }

    #[test]
    fn data_throughout_is_no_finding() {
        let (e, cov) = window(cfg(""), 20, |_| json!({"err": 0.5}));
        assert!(no_data_findings(&e, Some(&cov), at(20)).is_empty());
    }

    #[test]
    fn an_explicit_policy_says_what_no_data_counts_as() {
        for (policy, band) in [("ok", Band::Ok), ("warn", Band::Warn), ("crit", Band::Crit)] {
            let (e, cov) = window(cfg(&format!("no_data = \"{policy}\"")), 10, |_| json!({}));
            let f = no_data_findings(&e, Some(&cov), at(10));
            assert_eq!(f[0].counts_as, Some(band), "{policy}");
            assert!(f[0].text().contains(&format!("counts as {policy}")));
        }
    }

    #[test]
    fn a_signal_that_is_not_critical_is_not_asked() {
        let c = cfg("");
        let mut plain = (*c).clone();
        plain.signals[0].critical = false;
        let (e, cov) = window(Arc::new(plain), 10, |_| json!({}));
        assert!(no_data_findings(&e, Some(&cov), at(10)).is_empty());
    }

    #[test]
    fn the_live_screen_waits_for_stale_after_before_saying_no_data() {
        let mut e = Engine::new(cfg(""), m(0));
        e.ingest(&poll(0, json!({})));
        e.tick(at(2));
        assert!(
            no_data_findings(&e, None, at(2)).is_empty(),
            "within stale_after"
        );
        e.tick(at(4));
        let f = no_data_findings(&e, None, at(4));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].missing, Missing::Never);
        // Data arrives: the screen's finding clears.
        e.ingest(&poll(5, json!({"err": 0.5})));
        assert!(no_data_findings(&e, None, at(5)).is_empty());
    }
}

#[cfg(test)]
mod tests {
    //! The engine with a fake clock: every time is given, nothing sleeps.
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn t(s: i64) -> Ts {
        Utc.timestamp_opt(1_800_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    /// Second `s` on the fake monotonic clock (its origin differs from the wall's).
    fn m(s: i64) -> Mono {
        Mono(7_000 + s * 1000)
    }

    /// Both clocks at second `s`, in step.
    fn at(s: i64) -> Stamp {
        Stamp::new(t(s), m(s))
    }
    use chrono::Utc;

    fn cfg(signal_extra: &str) -> Arc<Config> {
        let text = format!(
            r#"
[cutover]
name = "test"
rollback_when = {{ critical_for = "10s" }}
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
interval = "1s"
[[signal]]
id = "err"
source = "m"
kind = "metric"
unit = "%"
critical = true
warn = "> 1"
crit = "> 2"
{signal_extra}
"#
        );
        Arc::new(toml::from_str(&text).unwrap())
    }

    fn poll(at: i64, v: serde_json::Value) -> PollResult {
        PollResult {
            source: "m".into(),
            at: t(at),
            mono: m(at),
            latency_ms: 5,
            outcome: PollOutcome::Json {
                status: 200,
                body: v,
            },
        }
    }

    fn fail(at: i64, reason: &str) -> PollResult {
        PollResult {
            source: "m".into(),
            at: t(at),
            mono: m(at),
            latency_ms: 5,
            outcome: PollOutcome::Failed {
                status: None,
                reason: reason.into(),
            },
        }
    }

    fn row(e: &Engine) -> &Row {
        &e.rows[0]
    }

    #[test]
    fn no_for_trips_at_once_and_clears_at_once() {
        let mut e = Engine::new(cfg(""), m(0));
        e.ingest(&poll(0, json!(0.5)));
        assert_eq!(row(&e).status, Status::Band(Band::Ok));
        let ev = e.ingest(&poll(1, json!(2.5)));
        assert_eq!(row(&e).status, Status::Band(Band::Crit));
        assert!(ev.iter().any(|e| matches!(
            e.kind,
            EventKind::BandChange {
                to: Status::Band(Band::Crit),
                ..
            }
        )));
        e.ingest(&poll(2, json!(0.2)));
        assert_eq!(row(&e).band, Band::Ok);
    }

    #[test]
    fn for_needs_the_condition_to_hold_that_long() {
        let mut e = Engine::new(cfg("for = \"30s\""), m(0));
        e.ingest(&poll(0, json!(0.5)));
        for s in 1..30 {
            e.ingest(&poll(s, json!(3.0)));
            assert_eq!(row(&e).band, Band::Ok, "tripped too early at {s}s");
            assert_eq!(row(&e).pending.map(|p| p.toward), Some(Band::Crit));
        }
        e.ingest(&poll(31, json!(3.0)));
        assert_eq!(row(&e).band, Band::Crit);
        assert_eq!(row(&e).streak, 30);
    }

    #[test]
    fn one_bad_sample_does_not_alert() {
        let mut e = Engine::new(cfg("for = \"5s\""), m(0));
        e.ingest(&poll(0, json!(0.5)));
        e.ingest(&poll(1, json!(9.0)));
        e.ingest(&poll(2, json!(0.5)));
        for s in 3..20 {
            e.ingest(&poll(s, json!(0.5)));
        }
        assert_eq!(row(&e).band, Band::Ok);
        assert!(row(&e).pending.is_none());
    }

    #[test]
    fn for_matures_on_the_clock_between_samples() {
        let mut e = Engine::new(cfg("for = \"3s\"\nstale_after = \"10s\""), m(0));
        e.ingest(&poll(0, json!(3.0)));
        assert_eq!(row(&e).band, Band::Ok);
        e.tick(at(2));
        assert_eq!(row(&e).band, Band::Ok);
        e.tick(at(3));
        assert_eq!(row(&e).band, Band::Crit);
    }

    #[test]
    fn m_of_n_trips_on_enough_recent_samples() {
        let mut e = Engine::new(cfg("m_of_n = [3, 5]"), m(0));
        let vals = [3.0, 0.1, 3.0, 0.1];
        for (i, v) in vals.iter().enumerate() {
            e.ingest(&poll(i as i64, json!(v)));
            assert_eq!(row(&e).band, Band::Ok);
        }
        e.ingest(&poll(4, json!(3.0)));
        assert_eq!(row(&e).band, Band::Crit);
    }

    #[test]
    fn clear_for_prevents_flapping() {
        let mut e = Engine::new(cfg("clear_for = \"10s\""), m(0));
        e.ingest(&poll(0, json!(2.5)));
        assert_eq!(row(&e).band, Band::Crit);
        let mut band_events = 0;
        // Flapping just around the threshold: 1.9 / 2.1 alternating.
        for s in 1..40 {
            let v = if s % 2 == 0 { 2.1 } else { 1.9 };
            let ev = e.ingest(&poll(s, json!(v)));
            band_events += ev
                .iter()
                .filter(|e| matches!(e.kind, EventKind::BandChange { .. }))
                .count();
            assert_eq!(row(&e).band, Band::Crit, "flapped at {s}s");
        }
        assert_eq!(band_events, 0, "no re-announcement while flapping");
        for s in 40..49 {
            e.ingest(&poll(s, json!(0.1)));
            assert_eq!(row(&e).band, Band::Crit);
        }
        e.ingest(&poll(50, json!(0.1)));
        assert_eq!(row(&e).band, Band::Ok);
    }

    #[test]
    fn source_error_is_error_state_not_ok_and_counted_apart() {
        let mut e = Engine::new(cfg(""), m(0));
        e.ingest(&poll(0, json!(0.5)));
        let ev = e.ingest(&fail(1, "connection refused"));
        assert_eq!(row(&e).status, Status::NoData(NoDataKind::Error));
        assert!(row(&e)
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("source down"));
        assert_eq!(row(&e).last_good_at, Some(m(0)));
        assert!(ev
            .iter()
            .any(|e| matches!(e.kind, EventKind::SourceError { .. })));
        // A second failure with the same reason is counted, not re-announced.
        let ev = e.ingest(&fail(2, "connection refused"));
        assert!(!ev
            .iter()
            .any(|e| matches!(e.kind, EventKind::SourceError { .. })));
        assert_eq!(e.sources[0].errors, 2);
        assert_eq!(e.counts().crit, 0, "errors are not breaches");
        assert!(!e.counts().all_green());
        // Default policy: counts as warn once it lasted stale_after (3 intervals).
        assert_eq!(row(&e).effective, Band::Ok);
        e.tick(at(4));
        assert_eq!(row(&e).effective, Band::Warn);
        let ev = e.ingest(&poll(5, json!(0.5)));
        assert!(ev
            .iter()
            .any(|e| matches!(e.kind, EventKind::SourceRecovered { .. })));
        assert_eq!(row(&e).status, Status::Band(Band::Ok));
    }

    #[test]
    fn no_data_policy_crit_counts_as_crit() {
        let mut e = Engine::new(cfg("no_data = \"crit\""), m(0));
        e.ingest(&fail(0, "time-out"));
        e.tick(at(5));
        assert_eq!(row(&e).effective, Band::Crit);
        assert_eq!(e.critical_breaches().count(), 1);
    }

    #[test]
    fn a_value_that_stops_arriving_goes_stale() {
        let mut e = Engine::new(cfg(""), m(0));
        e.ingest(&poll(0, json!(0.5)));
        e.tick(at(3));
        assert_eq!(row(&e).status, Status::Band(Band::Ok));
        e.tick(at(4));
        assert_eq!(row(&e).status, Status::NoData(NoDataKind::Stale));
        assert_eq!(
            row(&e).value,
            Some(Value::Num(0.5)),
            "last good kept, shown as stale"
        );
    }

    #[test]
    fn value_edges_map_to_documented_states() {
        let cases = [
            (json!(null), NoDataKind::Empty),
            (json!("5"), NoDataKind::Empty),
            (json!("NaN"), NoDataKind::Empty),
            (json!(true), NoDataKind::Empty),
            (json!({"a": 1}), NoDataKind::Empty),
        ];
        for (v, kind) in cases {
            let mut e = Engine::new(cfg(""), m(0));
            e.ingest(&poll(0, v.clone()));
            assert_eq!(row(&e).status, Status::NoData(kind), "{v}");
        }
        let mut e = Engine::new(cfg(""), m(0));
        e.ingest(&poll(0, json!(-1.0)));
        assert_eq!(
            row(&e).status,
            Status::Band(Band::Ok),
            "negative is a value"
        );
        e.ingest(&poll(1, json!(250.0)));
        assert_eq!(
            row(&e).status,
            Status::Band(Band::Crit),
            "> 100 % judged as is"
        );
    }

    #[test]
    fn rollback_advised_after_critical_for() {
        let mut e = Engine::new(cfg(""), m(0));
        e.ingest(&poll(0, json!(3.0)));
        assert!(e.advised.is_none());
        e.ingest(&poll(9, json!(3.0)));
        assert!(e.advised.is_none());
        let ev = e.ingest(&poll(10, json!(3.0)));
        assert!(e.advised.is_some());
        assert!(ev
            .iter()
            .any(|e| matches!(e.kind, EventKind::RollbackAdvised { .. })));
        // Not re-announced on every sample.
        let ev = e.ingest(&poll(11, json!(3.0)));
        assert!(!ev
            .iter()
            .any(|e| matches!(e.kind, EventKind::RollbackAdvised { .. })));
        let ev = e.ingest(&poll(12, json!(0.1)));
        assert!(e.advised.is_none());
        assert!(ev
            .iter()
            .any(|e| matches!(e.kind, EventKind::RollbackAdviceCleared)));
    }

    #[test]
    fn single_sample_mode_ignores_trip_rules() {
        let mut e = Engine::single_sample(cfg("for = \"5m\""), m(0));
        e.ingest(&poll(0, json!(3.0)));
        assert_eq!(row(&e).band, Band::Crit);
        let mut e = Engine::single_sample(cfg(""), m(0));
        e.ingest(&fail(0, "connection refused"));
        assert_eq!(row(&e).effective, Band::Warn);
        assert_eq!(e.required_sources_without_data().len(), 1);
    }

    #[test]
    fn health_without_path_reads_the_status() {
        let text = r#"
[cutover]
name = "t"
[[source]]
id = "h"
kind = "http"
url = "http://127.0.0.1:1/h"
[[signal]]
id = "up"
source = "h"
kind = "health"
critical = true
"#;
        let c: Arc<Config> = Arc::new(toml::from_str(text).unwrap());
        let mut e = Engine::new(c, m(0));
        e.ingest(&PollResult {
            source: "h".into(),
            at: t(0),
            mono: m(0),
            latency_ms: 1,
            outcome: PollOutcome::Json {
                status: 200,
                body: json!({}),
            },
        });
        assert_eq!(e.rows[0].status, Status::Band(Band::Ok));
        e.ingest(&PollResult {
            source: "h".into(),
            at: t(1),
            mono: m(1),
            latency_ms: 1,
            outcome: PollOutcome::Failed {
                status: None,
                reason: "connection refused".into(),
            },
        });
        assert_eq!(
            e.rows[0].effective,
            Band::Crit,
            "a health check that is down is critical at once"
        );
    }

    #[test]
    fn each_expands_rows_named_by_a_field_with_critical_marks() {
        let text = r#"
[cutover]
name = "t"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
[[signal]]
id = "err"
source = "m"
kind = "metric"
each = ".endpoints[]"
name = ".path"
critical_if = ".critical"
path = ".error_rate_pct"
crit = "> 2.0"
"#;
        let c: Arc<Config> = Arc::new(toml::from_str(text).unwrap());
        let mut e = Engine::new(c, m(0));
        assert!(e.rows.is_empty(), "each rows appear with data");
        e.ingest(&poll(
            0,
            json!({"endpoints": [
                {"path": "/a", "critical": true, "error_rate_pct": 5.0},
                {"path": "/b", "critical": false, "error_rate_pct": 5.0},
                {"path": "/c", "critical": true, "error_rate_pct": null},
            ]}),
        ));
        assert_eq!(e.rows.len(), 3);
        let a = e.rows.iter().find(|r| r.key == "err[/a]").unwrap();
        assert!(a.critical);
        assert_eq!(a.status, Status::Band(Band::Crit));
        let b = e.rows.iter().find(|r| r.key == "err[/b]").unwrap();
        assert!(!b.critical);
        let c = e.rows.iter().find(|r| r.key == "err[/c]").unwrap();
        assert_eq!(c.status, Status::NoData(NoDataKind::Empty));
        assert_eq!(e.critical_breaches().count(), 1);
        // /b disappears from the response: it says so instead of keeping its value.
        e.ingest(&poll(
            1,
            json!({"endpoints": [
                {"path": "/a", "critical": true, "error_rate_pct": 0.1},
            ]}),
        ));
        let b = e.rows.iter().find(|r| r.key == "err[/b]").unwrap();
        assert_eq!(b.status, Status::NoData(NoDataKind::Empty));
        assert_eq!(b.reason.as_deref(), Some("no longer in the response"));
    }

    #[test]
    fn baseline_shows_delta_and_thresholds_may_judge_it() {
        let text = r#"
[cutover]
name = "t"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
[[signal]]
id = "v1_p95"
source = "m"
kind = "metric"
path = ".v1.p95"
[[signal]]
id = "v2_p95"
source = "m"
kind = "metric"
path = ".v2.p95"
baseline = "v1_p95"
on = "deltapct"
warn = "> 5"
crit = "> 10"
"#;
        let c: Arc<Config> = Arc::new(toml::from_str(text).unwrap());
        let mut e = Engine::new(c, m(0));
        e.ingest(&poll(
            0,
            json!({"v1": {"p95": 100.0}, "v2": {"p95": 108.0}}),
        ));
        let r = &e.rows[1];
        let b = r.baseline.as_ref().unwrap();
        assert_eq!(b.value, Some(100.0));
        assert_eq!(b.delta, Some(8.0));
        assert!((b.delta_pct.unwrap() - 8.0).abs() < 1e-9);
        assert_eq!(r.status, Status::Band(Band::Warn));
        e.ingest(&poll(
            1,
            json!({"v1": {"p95": 100.0}, "v2": {"p95": 120.0}}),
        ));
        assert_eq!(e.rows[1].status, Status::Band(Band::Crit));
    }

    fn prom_cfg(name: Option<&str>) -> Arc<Config> {
        let name = name
            .map(|n| format!("name = \"{n}\"\n"))
            .unwrap_or_default();
        let text = format!(
            r#"
[cutover]
name = "t"
rollback_when = {{ critical_for = "0s" }}
[[source]]
id = "m"
kind = "prometheus"
url = "http://127.0.0.1:1"
query = "sum(rate(x[1m]))"
interval = "1s"
[[signal]]
id = "err"
source = "m"
kind = "metric"
unit = "%"
critical = true
warn = "> 1"
crit = "> 2"
{name}
"#
        );
        let c: Config = toml::from_str(&text).unwrap();
        assert!(
            crate::config::validate::validate(&c, &|_| 0).is_empty(),
            "{:?}",
            crate::config::validate::validate(&c, &|_| 0)
        );
        Arc::new(c)
    }

    /// An instant-vector answer at poll second `at` with (labels, value) series.
    fn vector(at: i64, series: &[(serde_json::Value, &str)]) -> PollResult {
        let ts = t(at).timestamp() as f64;
        let result: Vec<_> = series
            .iter()
            .map(|(m, v)| json!({"metric": m, "value": [ts, v]}))
            .collect();
        poll(
            at,
            json!({"status": "success", "data": {"resultType": "vector", "result": result}}),
        )
    }

    fn status_of(e: &Engine, key: &str) -> (Status, Option<String>) {
        let r = e.rows.iter().find(|r| r.key == key).unwrap_or_else(|| {
            panic!(
                "no row {key} in {:?}",
                e.rows.iter().map(|r| &r.key).collect::<Vec<_>>()
            )
        });
        (r.status, r.reason.clone())
    }

    #[test]
    fn prometheus_single_series_is_judged_like_any_value() {
        let mut e = Engine::new(prom_cfg(None), m(0));
        assert_eq!(e.rows.len(), 1, "the plain row exists from the start");
        e.ingest(&vector(0, &[(json!({}), "0.4")]));
        assert_eq!(row(&e).status, Status::Band(Band::Ok));
        e.ingest(&vector(1, &[(json!({}), "6.5")]));
        assert_eq!(row(&e).status, Status::Band(Band::Crit));
        assert_eq!(e.critical_breaches().count(), 1);
        assert!(e.advised.is_some());
    }

    #[test]
    fn prometheus_nan_from_zero_traffic_is_empty_not_ok() {
        let mut e = Engine::new(prom_cfg(None), m(0));
        e.ingest(&vector(0, &[(json!({}), "NaN")]));
        let (st, reason) = status_of(&e, "err");
        assert_eq!(st, Status::NoData(NoDataKind::Empty));
        assert!(reason.unwrap_or_default().contains("NaN"));
        assert_eq!(e.critical_breaches().count(), 0, "not a breach");
        assert!(!e.counts().all_green(), "not ok");
        e.ingest(&vector(1, &[(json!({}), "+Inf")]));
        let (st, reason) = status_of(&e, "err");
        assert_eq!(st, Status::NoData(NoDataKind::Empty));
        assert!(reason.unwrap_or_default().contains("+Inf"));
    }

    #[test]
    fn prometheus_empty_vector_is_empty() {
        let mut e = Engine::new(prom_cfg(None), m(0));
        e.ingest(&vector(0, &[]));
        assert_eq!(
            status_of(&e, "err"),
            (
                Status::NoData(NoDataKind::Empty),
                Some("query returned no series".into())
            )
        );
        assert!(!e.counts().all_green());
        // With a template and no series yet: a placeholder row says so…
        let mut e = Engine::new(prom_cfg(Some("{{service}}")), m(0));
        assert!(e.rows.is_empty(), "series rows appear with data");
        e.ingest(&vector(0, &[]));
        assert_eq!(e.rows.len(), 1);
        assert_eq!(status_of(&e, "err").0, Status::NoData(NoDataKind::Empty));
        // …and gives way to the series once they come.
        e.ingest(&vector(1, &[(json!({"service": "api"}), "0.5")]));
        assert_eq!(e.rows.len(), 1);
        assert_eq!(status_of(&e, "err[api]").0, Status::Band(Band::Ok));
        assert_eq!(e.rows[0].label, "err api");
        assert!(e.counts().all_green());
        // All series gone: every row says why.
        e.ingest(&vector(2, &[]));
        assert_eq!(
            status_of(&e, "err[api]"),
            (
                Status::NoData(NoDataKind::Empty),
                Some("query returned no series".into())
            )
        );
    }

    #[test]
    fn prometheus_many_series_a_row_each() {
        let mut e = Engine::new(prom_cfg(Some("{{service}}")), m(0));
        let series: Vec<_> = (0..50)
            .map(|i| {
                (
                    json!({"service": format!("s{i}")}),
                    if i == 7 { "9" } else { "0.1" },
                )
            })
            .collect();
        e.ingest(&vector(0, &series));
        assert_eq!(e.rows.len(), 50);
        assert_eq!(status_of(&e, "err[s7]").0, Status::Band(Band::Crit));
        assert_eq!(status_of(&e, "err[s8]").0, Status::Band(Band::Ok));
        assert_eq!(e.critical_breaches().count(), 1);
        // One vanishes: it says so instead of keeping its value.
        e.ingest(&vector(1, &series[1..]));
        assert_eq!(
            status_of(&e, "err[s0]"),
            (
                Status::NoData(NoDataKind::Empty),
                Some("no longer in the query result".into())
            )
        );
        // Without a template, many series cannot be one value.
        let mut e = Engine::new(prom_cfg(None), m(0));
        e.ingest(&vector(0, &series));
        let (st, reason) = status_of(&e, "err");
        assert_eq!(st, Status::NoData(NoDataKind::Empty));
        assert!(reason.unwrap_or_default().contains("50 series"));
    }

    #[test]
    fn prometheus_errors_and_warnings() {
        let mut e = Engine::new(prom_cfg(Some("{{service}}")), m(0));
        e.ingest(&vector(0, &[(json!({"service": "api"}), "0.5")]));
        // The poller's reason for a 400 with Prometheus's error body.
        let ev = e.ingest(&PollResult {
            source: "m".into(),
            at: t(1),
            mono: m(1),
            latency_ms: 3,
            outcome: PollOutcome::Failed {
                status: Some(400),
                reason: "Prometheus bad_data (HTTP 400): parse error".into(),
            },
        });
        assert_eq!(
            status_of(&e, "err[api]"),
            (
                Status::NoData(NoDataKind::Error),
                Some("query failed: Prometheus bad_data (HTTP 400): parse error".into())
            )
        );
        assert!(ev
            .iter()
            .any(|e| matches!(e.kind, EventKind::SourceError { .. })));
        assert_eq!(e.sources[0].errors, 1);
        // Unreachable is still "source down".
        e.ingest(&fail(2, "connection refused"));
        assert!(status_of(&e, "err[api]")
            .1
            .unwrap_or_default()
            .starts_with("source down"));
        // Warnings: the value is used and the warning announced once.
        let body = json!({"status": "success", "warnings": ["partial response"],
            "data": {"resultType": "vector", "result": [
                {"metric": {"service": "api"}, "value": [t(3).timestamp() as f64, "0.5"]}]}});
        let ev = e.ingest(&poll(3, body.clone()));
        assert_eq!(status_of(&e, "err[api]").0, Status::Band(Band::Ok));
        assert!(ev.iter().any(|e| e.text.contains("partial response")));
        assert_eq!(
            e.sources[0].last_warning.as_deref(),
            Some("partial response")
        );
        let ev = e.ingest(&poll(4, body));
        assert!(!ev.iter().any(|e| e.text.contains("partial response")));
        e.ingest(&vector(5, &[(json!({"service": "api"}), "0.5")]));
        assert_eq!(e.sources[0].last_warning, None);
    }

    #[test]
    fn prometheus_old_sample_is_stale() {
        let mut e = Engine::new(prom_cfg(None), m(0));
        e.ingest(&vector(100, &[(json!({}), "0.5")]));
        assert_eq!(row(&e).status, Status::Band(Band::Ok));
        // The answer at 200 carries a sample from 150: older than 3 intervals (3 s).
        let mut old = vector(150, &[(json!({}), "0.7")]);
        old.at = t(200);
        old.mono = m(200);
        e.ingest(&old);
        let (st, reason) = status_of(&e, "err");
        assert_eq!(st, Status::NoData(NoDataKind::Stale));
        assert!(reason.unwrap_or_default().contains("50s old"));
        assert_eq!(row(&e).value, Some(Value::Num(0.5)), "last good kept");
    }

    #[test]
    fn zero_traffic_ratio_is_no_data() {
        // A ratio over zero requests arrives as null (or is absent): empty, neither ok nor a breach.
        let mut e = Engine::new(cfg("path = \".ratio\""), m(0));
        e.ingest(&poll(0, json!({"requests": 0, "ratio": null})));
        assert_eq!(row(&e).status, Status::NoData(NoDataKind::Empty));
        assert_eq!(e.critical_breaches().count(), 0);
        assert!(!e.counts().all_green());
    }

    /// What a row shows, without the wall clock: for comparing two runs.
    fn shown(e: &Engine) -> Vec<String> {
        e.rows
            .iter()
            .map(|r| {
                format!(
                    "{} {:?} {:?} {:?} since {:?}/{:?} pending {:?} reason {:?} | advised {:?} | {}",
                    r.key,
                    r.status,
                    r.band,
                    r.effective,
                    r.status_since,
                    r.band_since,
                    r.pending,
                    r.reason,
                    e.advised,
                    breach_text(r, e.signal(r), e.mono),
                )
            })
            .collect()
    }

    #[test]
    fn a_wall_clock_step_changes_no_band_staleness_timer_or_advice() {
        // `for` 30 s, `clear_for` 10 s, stale after 3 s, rollback advice after 10 s in crit.
        let c = || cfg("for = \"30s\"\nclear_for = \"10s\"");
        for step in [10, 3_600, -3_600] {
            // The wall clock steps by `step` at 20 s (while `for` runs) and again at 65 s
            // (while `clear_for` runs); the monotonic clock never does.
            let wall = |s: i64| t(s + step * ((s >= 20) as i64 + (s >= 65) as i64));
            let mut e = Engine::new(c(), m(0));
            let mut steady = Engine::new(c(), m(0));
            let mut changes = Vec::new();
            for s in 0..100 {
                let v = if (5..60).contains(&s) { 3.0 } else { 0.5 };
                if s <= 80 {
                    // Polls stop at 80 s: the value must go stale 3 s later, step or not.
                    let mut p = poll(s, json!(v));
                    steady.ingest(&p);
                    p.at = wall(s);
                    let ev = e.ingest(&p);
                    assert!(ev.iter().all(|x| x.at == wall(s) && x.mono == m(s)));
                    changes.extend(ev.into_iter().map(|x| (s, x.kind)));
                }
                let ev = e.tick(Stamp::new(
                    wall(s) + CDur::milliseconds(500),
                    m(s) + ms(500),
                ));
                steady.tick(Stamp::new(t(s) + CDur::milliseconds(500), m(s) + ms(500)));
                assert_eq!(shown(&e), shown(&steady), "step {step}s, at {s}s");
                changes.extend(ev.into_iter().map(|x| (s, x.kind)));
                if s == 40 {
                    assert_eq!(row(&e).band, Band::Crit, "step {step}s");
                    assert_eq!(row(&e).status_since, m(35), "time in band is monotonic");
                }
            }
            let when = |f: &dyn Fn(&EventKind) -> bool| {
                changes
                    .iter()
                    .filter(|(_, k)| f(k))
                    .map(|(s, _)| *s)
                    .collect::<Vec<_>>()
            };
            let to = |want: Status| move |k: &EventKind| matches!(k, EventKind::BandChange { to, .. } if *to == want);
            // `for` trips after 30 s, `clear_for` clears after 10 s, stale 3 s after the
            // last sample, advice after 10 s in crit: all on the monotonic clock.
            assert_eq!(
                when(&to(Status::Band(Band::Crit))),
                vec![35],
                "step {step}s"
            );
            assert_eq!(when(&to(Status::Band(Band::Ok))), vec![70], "step {step}s");
            let stale = to(Status::NoData(NoDataKind::Stale));
            assert_eq!(when(&stale), vec![83], "step {step}s");
            let advised = |k: &EventKind| matches!(k, EventKind::RollbackAdvised { .. });
            assert_eq!(when(&advised), vec![45], "step {step}s");
            let cleared = |k: &EventKind| matches!(k, EventKind::RollbackAdviceCleared);
            assert_eq!(when(&cleared), vec![70], "step {step}s");
        }
    }

    #[test]
    fn rollback_advice_holds_on_the_monotonic_clock() {
        // A +1 h step right after a breach starts is not an hour of breach.
        let mut e = Engine::new(cfg(""), m(0));
        e.ingest(&poll(0, json!(3.0)));
        assert_eq!(row(&e).band, Band::Crit);
        let mut p = poll(1, json!(3.0));
        p.at = t(3_601);
        e.ingest(&p);
        e.tick(Stamp::new(t(3_602), m(2)));
        assert!(e.advised.is_none(), "advised after 2 s of crit");
        let text = breach_text(row(&e), e.signal(row(&e)), m(2));
        assert!(text.ends_with("for 2s"), "{text}");
        e.tick(Stamp::new(t(3_610), m(10)));
        assert!(e.advised.is_some(), "the 10 s hold still runs");
    }
}
