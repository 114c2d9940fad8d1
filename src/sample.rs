//! What a poll yields for one signal row: a value, or the reason there is none.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A wall-clock time: for display (T-clock, timestamps, event times) and T0, never
/// for a duration. NTP may step it by any amount, either way.
pub type Ts = DateTime<Utc>;

/// Milliseconds on a monotonic clock since an arbitrary origin: every duration
/// (`for`, `clear_for`, staleness, time in band, deadlines) is a difference of two.
/// Unlike the wall clock it never steps; in tests it is any number.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Mono(pub i64);

impl Mono {
    /// The process's monotonic clock (`Instant`, i.e. `CLOCK_MONOTONIC`), counted from the
    /// first reading. Only the runtime, the pollers and `check` read it.
    pub fn now() -> Mono {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let origin = *ORIGIN.get_or_init(std::time::Instant::now);
        Mono(i64::try_from(origin.elapsed().as_millis()).unwrap_or(i64::MAX))
    }

    pub fn ms(self) -> i64 {
        self.0
    }
}

impl std::ops::Sub for Mono {
    type Output = chrono::Duration;
    fn sub(self, rhs: Mono) -> chrono::Duration {
        chrono::Duration::milliseconds(self.0.saturating_sub(rhs.0))
    }
}

impl std::ops::Add<chrono::Duration> for Mono {
    type Output = Mono;
    fn add(self, rhs: chrono::Duration) -> Mono {
        Mono(self.0.saturating_add(rhs.num_milliseconds()))
    }
}

impl std::ops::Sub<chrono::Duration> for Mono {
    type Output = Mono;
    fn sub(self, rhs: chrono::Duration) -> Mono {
        Mono(self.0.saturating_sub(rhs.num_milliseconds()))
    }
}

/// One moment read from both clocks together: `at` to show, `mono` to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub at: Ts,
    pub mono: Mono,
}

impl Stamp {
    pub fn new(at: Ts, mono: Mono) -> Self {
        Stamp { at, mono }
    }

    /// Both clocks now (runtime only: `update` and the engine never read a clock).
    pub fn now() -> Self {
        Stamp {
            mono: Mono::now(),
            at: Utc::now(),
        }
    }

    /// The wall time `mono` corresponds to, as seen from this stamp: for showing a
    /// monotonic instant as a time of day (it follows a wall step, like the T-clock).
    pub fn wall_of(self, mono: Mono) -> Ts {
        self.at - (self.mono - mono)
    }
}

/// A scalar read from a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Num(f64),
    Str(String),
}

impl Value {
    /// `2.5%`, `1200 ms`, `true`: a value with its unit, as every screen and report shows it.
    pub fn with_unit(&self, unit: Option<&str>) -> String {
        match (self, unit) {
            (Value::Num(_), Some("%")) => format!("{self}%"),
            (Value::Num(_), Some(u)) if !u.is_empty() => format!("{self} {u}"),
            _ => self.to_string(),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Num(n) => {
                if n.fract() == 0.0 && n.abs() < 1e15 {
                    write!(f, "{}", *n as i64)
                } else if n.abs() >= 100.0 {
                    write!(f, "{n:.0}")
                } else if n.abs() >= 10.0 {
                    write!(f, "{n:.1}")
                } else {
                    write!(f, "{n:.2}")
                }
            }
            Value::Str(s) => write!(f, "{s}"),
        }
    }
}

/// Why a row has no value. `Stale` is decided by the engine from time, never by a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoDataKind {
    /// The source failed: refused, time-out, TLS, non-2xx, body not JSON.
    Error,
    /// The source answered but the value is absent, null, NaN or of the wrong type.
    Empty,
    /// The last good value is older than `stale_after`.
    Stale,
}

impl NoDataKind {
    pub fn word(self) -> &'static str {
        match self {
            NoDataKind::Error => "error",
            NoDataKind::Empty => "empty",
            NoDataKind::Stale => "stale",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reading {
    Value(Value),
    NoData { kind: NoDataKind, reason: String },
}

impl Reading {
    pub fn error(reason: impl Into<String>) -> Self {
        Reading::NoData {
            kind: NoDataKind::Error,
            reason: reason.into(),
        }
    }
    pub fn empty(reason: impl Into<String>) -> Self {
        Reading::NoData {
            kind: NoDataKind::Empty,
            reason: reason.into(),
        }
    }
    pub fn value(&self) -> Option<&Value> {
        match self {
            Reading::Value(v) => Some(v),
            Reading::NoData { .. } => None,
        }
    }
}

/// One poll of one source, as the poller hands it to the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct PollResult {
    pub source: String,
    /// When the poll completed, on the wall clock (shown) and the monotonic one (measured).
    pub at: Ts,
    pub mono: Mono,
    pub latency_ms: u64,
    pub outcome: PollOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PollOutcome {
    /// A 2xx answer whose body parsed as JSON.
    Json {
        status: u16,
        body: serde_json::Value,
    },
    /// Anything else: refused, time-out, DNS, TLS, non-2xx, not JSON, too big.
    /// `reason` is shown to the user and never contains a secret.
    Failed { status: Option<u16>, reason: String },
}

/// The tests' fake clocks: wall and monotonic time at a given second, in step, so no
/// test reads the system clock or sleeps. The monotonic origin differs from the wall's on
/// purpose: code that mixed the two would show up.
#[cfg(test)]
pub(crate) mod fake_clock {
    use super::{Mono, Stamp, Ts};
    use chrono::TimeZone;

    /// Wall time at second `s` of the fake clock.
    pub(crate) fn t(s: i64) -> Ts {
        t_ms(s * 1000)
    }

    /// Wall time at millisecond `ms` of the fake clock.
    pub(crate) fn t_ms(ms: i64) -> Ts {
        chrono::Utc
            .timestamp_millis_opt(1_800_000_000_000 + ms)
            .single()
            .unwrap_or_default()
    }

    /// Second `s` on the fake monotonic clock.
    pub(crate) fn m(s: i64) -> Mono {
        Mono(5_000 + s * 1000)
    }

    /// Both clocks at second `s`.
    pub(crate) fn at(s: i64) -> Stamp {
        Stamp::new(t(s), m(s))
    }
}
