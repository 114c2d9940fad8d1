//! The engine's words: threshold and breach texts built from the signal's conditions
//! (never re-read from a text already made), and the lines its events say.

use super::model::{Band, Row, Status};
use crate::condition::Condition;
use crate::config::{JudgeOn, Signal};
use crate::sample::{Mono, Value};
use crate::timefmt::format_span;

/// "Δ " when a signal is judged on the delta to its baseline, "Δ% " on the percent delta.
fn judged_on(sig: &Signal) -> &'static str {
    match sig.on {
        JudgeOn::Value => "",
        JudgeOn::Delta => "Δ ",
        JudgeOn::DeltaPct => "Δ% ",
    }
}

/// One band's part of a threshold: "crit > 2", "warn Δ > 100".
fn part(sig: &Signal, band: &str, cond: &Condition) -> String {
    format!("{band} {}{cond}", judged_on(sig))
}

/// "warn > 1 · crit > 2" (with "Δ" when judged on the delta to the baseline).
pub fn threshold_text(sig: &Signal) -> String {
    let mut parts = Vec::new();
    if let Some(w) = &sig.warn {
        parts.push(part(sig, "warn", w));
    }
    if let Some(c) = &sig.crit {
        parts.push(part(sig, "crit", c));
    }
    parts.join(" · ")
}

/// The condition that applies to a row in `band`: a crit row's crit, a warn row's warn
/// (never the crit it has not reached), an ok row's first one it would cross.
pub fn band_threshold(sig: &Signal, band: Band) -> Option<String> {
    let (first, then) = match band {
        Band::Crit => (sig.crit.as_ref().map(|c| ("crit", c)), None),
        Band::Warn => (sig.warn.as_ref().map(|c| ("warn", c)), None),
        Band::Ok => (
            sig.warn.as_ref().map(|c| ("warn", c)),
            sig.crit.as_ref().map(|c| ("crit", c)),
        ),
    };
    first.or(then).map(|(b, c)| part(sig, b, c))
}

/// "error_rate /api/x 5.20 % (crit > 2) for 1m12s" — the banner's and advice's words;
/// a warn row: "error_rate /api/x 1.50 % (warn > 1) for 20s".
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
    // The condition of the band the row counts as: a warn row quotes its warn threshold,
    // never the crit one it has not reached. A row with no condition for its band (crit by
    // its no-data policy) shows what thresholds it has.
    let own = match row.effective {
        Band::Crit => sig.crit.as_ref().map(|c| part(sig, "crit", c)),
        Band::Warn => sig.warn.as_ref().map(|c| part(sig, "warn", c)),
        Band::Ok => None,
    };
    let cond = own.unwrap_or_else(|| threshold_text(sig));
    let thr = if cond.is_empty() {
        String::new()
    } else {
        format!(" ({cond})")
    };
    let held = format_span(now - row.band_since.min(row.status_since));
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

/// "err: ok → crit (3.5 %)", or with a no-data state its reason:
/// "err: ok → error — source down: refused".
pub(super) fn band_change(row: &Row, from: Status, to: Status, reason: Option<&str>) -> String {
    match (reason, to) {
        (Some(r), Status::NoData(_)) => {
            format!("{}: {} → {} — {}", row.label, from.word(), to.word(), r)
        }
        (_, Status::Band(_)) => {
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
            format!("{}: {} → {}{val}", row.label, from.word(), to.word())
        }
        (None, Status::NoData(_)) => format!("{}: {} → {}", row.label, from.word(), to.word()),
    }
}

/// "flag v2_primary changed: true → false".
pub(super) fn flag_change(label: &str, from: &Value, to: &Value) -> String {
    format!("flag {label} changed: {from} → {to}")
}

/// Why a value that stopped arriving is stale.
pub(super) fn stale_reason(stale_ms: i64) -> String {
    format!(
        "no new sample within {} (stale_after)",
        format_span(super::ms(stale_ms))
    )
}
