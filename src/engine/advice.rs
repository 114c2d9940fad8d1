//! Rollback advice (`rollback_when`: critical rows in crit long enough, a human always
//! confirms), each band's advice text, and baselines (a row beside the row it replaces,
//! with the delta thresholds may judge).

use super::model::{Advised, Band, BaselineView, Event, EventKind, Severity, Status};
use super::{ms, words, Engine};
use crate::config::Signal;
use crate::sample::{Stamp, Value};

impl Engine {
    pub(super) fn evaluate_advice(&mut self, stamp: Stamp, events: &mut Vec<Event>) {
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
            .map(|r| words::breach_text(r, &self.cfg.signals[r.signal], now))
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

    pub(super) fn refresh_baselines(&mut self) {
        for i in 0..self.rows.len() {
            self.refresh_baseline(i);
        }
    }

    pub(super) fn refresh_baseline(&mut self, idx: usize) {
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
}

pub(super) fn advice_for(sig: &Signal, band: Band) -> Option<String> {
    match band {
        Band::Ok => sig.advice.ok.clone(),
        Band::Warn => sig.advice.warn.clone(),
        Band::Crit => sig.advice.crit.clone(),
    }
}
