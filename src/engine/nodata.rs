//! No data is never a pass: the band a no-data row counts as, what a window saw of each
//! row's data, and the critical rows whose missing data must not pass — one decision
//! for the screen's NO DATA, `check`'s exit 3 and the report's verdict.

use super::model::{Band, Status};
use super::Engine;
use crate::config::{NoDataPolicy, SignalKind};
use crate::sample::{Mono, Stamp, Ts};
use serde::Serialize;

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
