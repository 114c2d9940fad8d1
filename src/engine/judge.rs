//! Judging: a fresh sample against the thresholds, the trip/clear rules (`for`,
//! `m_of_n`, `clear_for`) that move a row's band, and the clock's part — stale values,
//! timers maturing between samples, the band a no-data row counts as. Every duration is
//! on the monotonic clock; the wall time only stamps events.

use super::advice::advice_for;
use super::model::{Band, Event, EventKind, Pending, Row, Severity, Status, Timers, HISTORY};
use super::nodata::no_data_band;
use super::{ms, words, Engine};
use crate::config::{JudgeOn, Signal, SignalKind};
use crate::fresh::PayloadAge;
use crate::sample::{Mono, NoDataKind, Reading, Stamp, Value};
use std::sync::Arc;

fn level_idx(b: Band) -> Option<usize> {
    match b {
        Band::Ok => None,
        Band::Warn => Some(0),
        Band::Crit => Some(1),
    }
}

impl Engine {
    pub(super) fn apply(
        &mut self,
        idx: usize,
        reading: Reading,
        age_ms: Option<i64>,
        now: Stamp,
        events: &mut Vec<Event>,
    ) {
        let fresh = matches!(reading, Reading::Value(_));
        let cfg = Arc::clone(&self.cfg);
        let sig = &cfg.signals[self.rows[idx].signal];
        let row = &mut self.rows[idx];
        row.last_sample_at = Some(now.mono);
        match reading {
            Reading::NoData { kind, reason } => {
                row.raw = None;
                row.streak = 0;
                row.timers = Timers::default();
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
                                text: words::flag_change(&row.label, prev, &v),
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
                    row.history_at.push_back(now.mono);
                    while row.history.len() > HISTORY {
                        row.history.pop_front();
                        row.history_at.pop_front();
                    }
                }
                row.value = Some(v);
                // A payload that says how old it is counts as good from when it was made.
                row.last_good_at = Some(match age_ms {
                    Some(ms) => PayloadAge { ms }.made_at(now.mono),
                    None => now.mono,
                });
                row.reason = None;
            }
        }
        if fresh {
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
        let t = &mut row.timers;
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
                    None => row.timers.above_since[li].is_some_and(|s| now - s >= ms(for_ms)),
                };
                if ok {
                    new = lvl;
                    break;
                }
                if row.pending.is_none() {
                    if let Some(s) = row.timers.above_since[li] {
                        row.pending = Some(Pending {
                            toward: lvl,
                            since: s,
                        });
                    }
                }
            }
        } else if raw < old {
            let since = row.timers.below_since.unwrap_or(now);
            if now - since >= ms(clear_ms) {
                new = raw;
            } else {
                row.pending = Some(Pending { toward: raw, since });
            }
        }
        if new != old {
            row.band = new;
            row.band_since = now;
            row.timers.below_since = None;
            if new > old {
                row.pending = None;
            }
            set_status(row, Status::Band(new), stamp, None, events);
        }
        row.advice = advice_for(&self.cfg.signals[row.signal], row.band);
    }

    /// Stale detection, maturing timers, effective bands and rollback advice.
    pub(super) fn evaluate_time(&mut self, stamp: Stamp, events: &mut Vec<Event>) {
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
                    let reason = words::stale_reason(stale_ms);
                    let row = &mut self.rows[idx];
                    row.raw = None;
                    row.pending = None;
                    row.timers = Timers::default();
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
    let text = words::band_change(row, from, to, reason.as_deref());
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
