//! The one engine that decides bands for the screen, `check` and the report.
//!
//! It is a deterministic state machine fed readings and the time: the same config,
//! samples and clock always give the same rows, bands and events.
//!
//! - `model`: what it keeps and tells (bands, statuses, rows, source health, events);
//! - `extract`: poll → readings (paths, `each`, names, Prometheus series);
//! - `judge`: trip/clear (`for`, `m_of_n`, `clear_for`), staleness, effective bands;
//! - `advice`: rollback advice, each band's advice, baselines;
//! - `words`: threshold, breach and event texts, built from the conditions;
//! - `nodata`: no data is never a pass (findings, a window's coverage);
//! - `hold`: holds over days, judged over every recording and the live polls.

mod advice;
mod extract;
pub mod hold;
mod judge;
mod model;
mod nodata;
mod words;

pub(crate) use extract::Compiled;
pub use extract::{PollSummary, RowReading};
pub use model::*;
pub use nodata::{no_data_band, no_data_findings, Coverage, Missing, NoDataFinding};
pub use words::{band_threshold, breach_text, threshold_text};

use crate::config::{Config, Signal};
use crate::sample::{Mono, NoDataKind, PollResult, Stamp};
use chrono::Duration as CDur;
use std::collections::VecDeque;
use std::sync::Arc;

pub struct Engine {
    pub rows: Vec<Row>,
    pub sources: Vec<SourceHealth>,
    pub advised: Option<Advised>,
    pub(crate) compiled: Vec<Compiled>,
    pub(crate) cfg: Arc<Config>,
    pub(crate) started: Mono,
    /// The latest monotonic time given: the measure of a recorded poll without one.
    pub(crate) mono: Mono,
    /// Judge each sample alone (`check` without `--window`): no `for`, `m_of_n`,
    /// `clear_for` or no-data grace.
    pub(crate) instant: bool,
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
        let compiled = cfg.signals.iter().map(|s| Compiled::new(&cfg, s)).collect();
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
            history_at: VecDeque::new(),
            baseline: None,
            threshold: threshold_text(s),
            advice: None,
            changed_at: None,
            recent: VecDeque::new(),
            timers: Timers::default(),
        });
        self.rows.len() - 1
    }

    fn row_index(&self, key: &str) -> Option<usize> {
        self.rows.iter().position(|r| r.key == key)
    }

    /// Feed one poll result: its readings, then the poll. Returns the events it caused.
    pub fn ingest(&mut self, poll: &PollResult) -> Vec<Event> {
        let (summary, readings) = self.extract(poll);
        self.ingest_readings(&summary, readings)
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
            self.apply(idx, r.reading, r.age_ms, now, &mut events);
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
        c.sources_limited = self.sources.iter().filter(|s| s.is_rate_limited()).count();
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
            .filter(|s| s.required && (s.is_failing() || s.last_ok.is_none()))
            .collect()
    }

    pub fn signal(&self, row: &Row) -> &Signal {
        &self.cfg.signals[row.signal]
    }
}

#[cfg(test)]
mod tests;
