//! What the engine keeps and tells: bands and statuses, rows, source health, events.

use crate::config::SignalKind;
use crate::sample::{Mono, NoDataKind, Ts, Value};
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
    /// When each value of `history` was read: the sparkline's time span.
    pub history_at: VecDeque<Mono>,
    pub baseline: Option<BaselineView>,
    /// "warn > 1 · crit > 2", for the row.
    pub threshold: String,
    pub advice: Option<String>,
    /// For flags: when the value last changed.
    pub changed_at: Option<Mono>,
    /// Levels of the last n samples for `m_of_n`.
    pub(crate) recent: VecDeque<Band>,
    /// The trip/clear clocks behind `pending` (kept with the row they time).
    pub(crate) timers: Timers,
}

/// Per-row trip/clear bookkeeping that the screen does not need.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    /// Since when the raw level has been at least warn / at least crit, continuously.
    pub(crate) above_since: [Option<Mono>; 2],
    /// Since when the raw level has been below the band, continuously.
    pub(crate) below_since: Option<Mono>,
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
    /// Failing now for a reason other than being rate limited.
    pub fn is_down(&self) -> bool {
        self.consecutive_errors > 0 && !self.is_rate_limited()
    }

    /// The last answer was HTTP 429: the source is up and the poller backs off; it is not
    /// down (and not green either: its rows have no fresh value).
    pub fn is_rate_limited(&self) -> bool {
        self.consecutive_errors > 0 && self.last_status == Some(429)
    }

    /// Failing now, down or rate limited.
    pub fn is_failing(&self) -> bool {
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
    /// Sources answering HTTP 429 (backing off), counted apart from down ones.
    pub sources_limited: usize,
}

impl Counts {
    /// Green only when every row is ok with data and every source answers.
    pub fn all_green(&self) -> bool {
        self.warn == 0
            && self.crit == 0
            && self.no_data == 0
            && self.sources_down == 0
            && self.sources_limited == 0
    }
}
