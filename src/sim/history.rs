//! What the simulated system did, second by second, for the last hour: each endpoint's
//! requests, errors and latency. The vendors' query APIs the simulator plays (Datadog, New
//! Relic, CloudWatch) and the containers' logs read their numbers from here, so a drill's
//! "error rate over the last 5 minutes" really is the last 5 minutes, rollback included.
//!
//! Filled by the state's traffic integration (`SystemState::advance`), which already steps
//! through time with the state each interval really had.

use super::metrics::{mixture_quantile_ms, Reading};
use std::collections::VecDeque;
use std::time::Duration;

/// Seconds kept; older ones are dropped (a query further back finds no data).
pub(crate) const KEEP_SECONDS: usize = 3600;

/// One endpoint during one second (or the part of it integrated so far).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Traffic {
    /// Requests served (expected values, so fractions).
    pub hits: f64,
    pub errors: f64,
    /// Σ p95 × time and Σ time, for the second's mean p95.
    p95_time: f64,
    time: f64,
}

impl Traffic {
    fn add(&mut self, r: &Reading, dt: f64) {
        let n = (r.rps * dt).max(0.0);
        self.hits += n;
        self.errors += n * (r.error_rate_pct / 100.0).clamp(0.0, 1.0);
        self.p95_time += r.p95_ms * dt;
        self.time += dt;
    }

    /// A share of this second's requests (`hits` of them, `errors` failed), with its latency.
    pub fn with_counts(&self, hits: f64, errors: f64) -> Traffic {
        Traffic {
            hits,
            errors,
            ..*self
        }
    }

    /// The latency distribution of this second's requests (the error rate and rate too).
    pub fn reading(&self) -> Reading {
        let t = self.time.max(f64::MIN_POSITIVE);
        Reading {
            rps: self.hits / t,
            error_rate_pct: if self.hits > 0.0 {
                self.errors / self.hits * 100.0
            } else {
                0.0
            },
            p95_ms: self.p95_time / t,
        }
    }
}

/// One second of wall time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Second {
    pub unix_s: i64,
    /// One per endpoint of the profile.
    pub endpoints: Vec<Traffic>,
    /// Each endpoint's errors since the simulator started, at the end of this second: log
    /// lines are drawn from its whole part, so they add up however the seconds are grouped.
    pub errors_so_far: Vec<f64>,
}

#[derive(Debug, Clone)]
pub(crate) struct History {
    seconds: VecDeque<Second>,
    totals: Vec<f64>,
    started_unix_s: i64,
}

impl History {
    pub fn new(endpoints: usize, started_unix_ms: u64) -> Self {
        History {
            seconds: VecDeque::new(),
            totals: vec![0.0; endpoints],
            started_unix_s: (started_unix_ms / 1000) as i64,
        }
    }

    /// When the system started (its containers' first log lines).
    pub fn started_unix_s(&self) -> i64 {
        self.started_unix_s
    }

    /// `dt` of traffic at `readings` (one per endpoint), centred on `mid_unix_ms`.
    pub fn add(&mut self, mid_unix_ms: u64, dt: Duration, readings: &[Reading]) {
        let unix_s = (mid_unix_ms / 1000) as i64;
        let n = self.totals.len();
        if self.seconds.back().is_none_or(|s| s.unix_s < unix_s) {
            self.seconds.push_back(Second {
                unix_s,
                endpoints: vec![Traffic::default(); n],
                errors_so_far: self.totals.clone(),
            });
            while self.seconds.len() > KEEP_SECONDS {
                self.seconds.pop_front();
            }
        }
        let Some(second) = self.seconds.back_mut() else {
            return;
        };
        let dt = dt.as_secs_f64();
        for (i, r) in readings.iter().enumerate().take(n) {
            let before = second.endpoints[i].errors;
            second.endpoints[i].add(r, dt);
            self.totals[i] += second.endpoints[i].errors - before;
            second.errors_so_far[i] = self.totals[i];
        }
    }

    /// The seconds that start in `[from_s, to_s)`, oldest first.
    pub fn range(&self, from_s: f64, to_s: f64) -> impl Iterator<Item = &Second> {
        self.seconds
            .iter()
            .filter(move |s| (s.unix_s as f64) >= from_s.floor() && (s.unix_s as f64) < to_s)
    }

    /// Each endpoint's errors since start at the end of the last second before `unix_s`.
    pub fn errors_before(&self, unix_s: i64) -> Vec<f64> {
        self.seconds
            .iter()
            .rev()
            .find(|s| s.unix_s < unix_s)
            .map(|s| s.errors_so_far.clone())
            .unwrap_or_else(|| vec![0.0; self.totals.len()])
    }
}

/// The traffic of a set of endpoints over a set of seconds, merged: what one query of one
/// vendor reports for one window.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mix {
    parts: Vec<(f64, Reading)>,
    hits: f64,
    errors: f64,
}

impl Mix {
    pub fn add(&mut self, t: &Traffic) {
        if t.hits <= 0.0 {
            return;
        }
        self.hits += t.hits;
        self.errors += t.errors;
        self.parts.push((t.hits, t.reading()));
    }

    /// Every second of `seconds` for the endpoints `endpoints`.
    pub fn of<'a>(seconds: impl IntoIterator<Item = &'a Second>, endpoints: &[usize]) -> Mix {
        let mut m = Mix::default();
        for s in seconds {
            for &i in endpoints {
                if let Some(t) = s.endpoints.get(i) {
                    m.add(t);
                }
            }
        }
        m
    }

    pub fn hits(&self) -> f64 {
        self.hits
    }

    pub fn errors(&self) -> f64 {
        self.errors
    }

    /// The `q` quantile (0-1) of the latency, in ms; `None` without requests.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        mixture_quantile_ms(&self.parts, q)
    }

    /// Mean latency in ms; `None` without requests.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.hits > 0.0)
            .then(|| self.parts.iter().map(|(w, r)| w * r.mean_ms()).sum::<f64>() / self.hits)
    }

    /// The slowest request: the model's latencies have no upper bound, so this is the
    /// 99.9th percentile.
    pub fn max_ms(&self) -> Option<f64> {
        self.quantile_ms(0.999)
    }

    /// The 0.1th percentile, for the same reason.
    pub fn min_ms(&self) -> Option<f64> {
        self.quantile_ms(0.001)
    }
}
