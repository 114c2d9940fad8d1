//! What a poll yields for one signal row: a value, or the reason there is none.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

pub type Ts = DateTime<Utc>;

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
    /// When the poll completed.
    pub at: Ts,
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
