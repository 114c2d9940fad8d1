//! Freshness from the payload: a body's `generated_at` (`fresh_at`) or a Prometheus
//! sample's timestamp, turned into an age at the poll — the one place a wall time from
//! outside meets the two-clock rule.

use crate::sample::{Mono, NoDataKind, Reading, Ts};
use chrono::{DateTime, Utc};

/// A payload's own time (a body's `generated_at`, a Prometheus sample's timestamp) against
/// the poll that fetched it: the one place a wall time from outside becomes an age.
/// The age is taken once, at the poll, from the poll's wall time; from then on it is
/// carried on the monotonic clock (the value counts as good from `poll.mono - age`), so a
/// wall step after the poll never makes an old payload fresh nor a fresh one old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadAge {
    /// Milliseconds; never negative (a payload from the future, clock skew, is new).
    pub ms: i64,
}

impl PayloadAge {
    /// The age of a payload stamped `payload` (wall time) at the poll that ended at `poll`.
    pub fn at_poll(poll: Ts, payload: Ts) -> Self {
        PayloadAge {
            ms: (poll - payload).num_milliseconds().max(0),
        }
    }

    /// The monotonic instant the payload was made, seen from the poll at `poll_mono`.
    pub fn made_at(self, poll_mono: Mono) -> Mono {
        poll_mono - chrono::Duration::milliseconds(self.ms)
    }

    /// Older than `stale_after_ms` already at the poll: the `stale` reading to show
    /// instead of the value, saying how old `what` is and, if given, `by` what.
    pub fn stale(self, stale_after_ms: i64, what: &str, by: Option<&str>) -> Option<Reading> {
        let span = |ms: i64| crate::timefmt::format_span(chrono::Duration::milliseconds(ms));
        (self.ms > stale_after_ms).then(|| Reading::NoData {
            kind: NoDataKind::Stale,
            reason: format!(
                "{what} is {} old ({}stale_after {})",
                span(self.ms),
                by.map(|b| format!("{b}; ")).unwrap_or_default(),
                span(stale_after_ms)
            ),
        })
    }
}

/// A timestamp in a payload: RFC 3339 text, or epoch seconds or milliseconds (a number
/// or numeric text; ≥ 10¹¹ reads as milliseconds — as seconds that is the year 5138).
pub fn payload_time(v: &serde_json::Value) -> Option<Ts> {
    let epoch = |x: f64| -> Option<Ts> {
        if !x.is_finite() || x <= 0.0 {
            return None;
        }
        let ms = if x >= 1e11 { x } else { x * 1000.0 };
        if ms > 1e15 {
            return None;
        }
        DateTime::from_timestamp_millis(ms as i64)
    };
    match v {
        serde_json::Value::Number(n) => n.as_f64().and_then(epoch),
        serde_json::Value::String(s) => {
            let t = s.trim();
            match DateTime::parse_from_rfc3339(t) {
                Ok(d) => Some(d.with_timezone(&Utc)),
                Err(_) => t.parse::<f64>().ok().and_then(epoch),
            }
        }
        _ => None,
    }
}
