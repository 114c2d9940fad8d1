//! Signals panel: metric and health rows with value, sparkline, band, time in
//! band, threshold, trip progress, baseline and advice. Only visible rows are
//! drawn, so 1,000 rows cost what a screenful costs.

use super::{panel, Pen, View};
use crate::app::Focus;
use crate::config::SignalKind;
use crate::engine::{Row, Status};
use crate::sample::Value;
use crate::theme::Role;
use crate::timefmt::{age, format_secs};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

pub(super) fn is_signal(r: &Row) -> bool {
    matches!(r.kind, SignalKind::Metric | SignalKind::Health)
}

/// First visible row so that `sel` is on screen (derived, so the view keeps no state).
pub(super) fn scroll_offset(sel: usize, height: usize) -> usize {
    if height == 0 || sel < height {
        0
    } else {
        sel + 1 - height
    }
}

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    let rows = &v.state.engine.rows;
    let n = rows.iter().filter(|r| is_signal(r)).count();
    let focused = v.focused(Focus::Signals);
    let h = area.height.saturating_sub(1) as usize;
    let sel = v.state.selected_signal.min(n.saturating_sub(1));
    let off = scroll_offset(sel, h);
    let title = if n > h && h > 0 {
        format!("Signals {}-{} of {n}", off + 1, (off + h).min(n))
    } else {
        format!("Signals {n}")
    };
    let inner = panel(buf, area, &title, focused, v);
    if n == 0 {
        if let Some(mut p) = Pen::new(buf, inner, 0) {
            p.put(
                " no signal rows yet (waiting for the first poll)",
                v.style(Role::Muted),
            );
        }
        return;
    }
    let cols = Cols::for_width(inner.width);
    for (i, r) in rows
        .iter()
        .filter(|r| is_signal(r))
        .skip(off)
        .take(h)
        .enumerate()
    {
        let selected = off + i == sel;
        row(buf, inner, i as u16, r, selected && focused, &cols, v);
    }
}

/// Column positions for a panel width.
pub(super) struct Cols {
    label: u16,
    label_w: u16,
    value: u16,
    value_w: u16,
    spark: u16,
    spark_w: u16,
    status: u16,
    since: u16,
    extra: u16,
}

impl Cols {
    fn for_width(w: u16) -> Cols {
        let label_w = if w >= 120 {
            28
        } else if w >= 100 {
            24
        } else {
            18
        };
        let spark_w = if w >= 120 { 16 } else { 8 };
        let label = 3;
        let value = label + label_w + 1;
        let value_w = 11;
        let spark = value + value_w + 1;
        let status = spark + spark_w + 1;
        let since = status + 8;
        let extra = since + 7;
        Cols {
            label,
            label_w,
            value,
            value_w,
            spark,
            spark_w,
            status,
            since,
            extra,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn row(buf: &mut Buffer, area: Rect, y: u16, r: &Row, selected: bool, c: &Cols, v: &View) {
    let Some(mut p) = Pen::new(buf, area, y) else {
        return;
    };
    if selected {
        p.fill(v.style(Role::Selected));
        p.put(
            v.glyphs.selected,
            v.style(Role::Text).add_modifier(Modifier::BOLD),
        );
    }
    p.col(1);
    if r.critical {
        p.put(
            v.glyphs.critical_marker,
            v.style(Role::Text).add_modifier(Modifier::BOLD),
        );
    }
    p.col(c.label);
    p.put_fit_middle(
        &r.label,
        c.label_w as usize,
        v.style(Role::Text),
        v.glyphs.ellipsis,
    );
    p.col(c.value);
    let status_style = v.theme.status(r.status);
    match (r.status, &r.value) {
        (Status::Band(_), Some(val)) => {
            let s = val.with_unit(r.unit.as_deref());
            let s = format!("{s:>w$}", w = c.value_w as usize);
            p.put_fit(
                &s,
                c.value_w as usize,
                v.style(Role::Text),
                v.glyphs.ellipsis,
            );
            p.col(c.spark);
            let spark_style = Style {
                fg: status_style.fg,
                ..Style::new()
            };
            p.put(
                &sparkline(r, c.spark_w as usize, v.glyphs.spark),
                spark_style,
            );
        }
        // Without data, where the value would be it says how old the last one is:
        // never the last value as if it were current.
        _ => {
            let last = match r.last_good_at {
                Some(at) => format!("last good {} ago", age(v.mono(), at)),
                None => "never had data".into(),
            };
            let w = (c.status - c.value - 1) as usize;
            p.put_fit(&last, w, v.style(Role::NoData), v.glyphs.ellipsis);
        }
    }
    p.col(c.status);
    p.put(v.glyphs.status(r.status).label(), status_style);
    p.col(c.since);
    p.put(&age(v.mono(), r.status_since), v.style(Role::Muted));
    p.col(c.extra);
    for (i, (text, style)) in extras(r, v).into_iter().enumerate() {
        // A stub of a word helps nobody: stop when fewer than a few columns remain.
        if p.room() < super::width(v.glyphs.sep) + 6 {
            break;
        }
        if i > 0 {
            p.put(v.glyphs.sep, v.style(Role::Muted));
        }
        let room = p.room();
        p.put_fit(&text, room, style, v.glyphs.ellipsis);
    }
}

/// The last `w` values scaled between their own min and max (a trend, not a level).
pub(super) fn sparkline(r: &Row, w: usize, ramp: &[&str]) -> String {
    let n = r.history.len().min(w);
    let vals = r.history.iter().skip(r.history.len() - n);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in vals.clone().filter(|x| x.is_finite()) {
        lo = lo.min(*x);
        hi = hi.max(*x);
    }
    let top = ramp.len().saturating_sub(1) as f64;
    let mut s = String::with_capacity(w * 3);
    for x in vals {
        if !x.is_finite() {
            s.push(' ');
            continue;
        }
        let level = if hi > lo {
            ((x - lo) / (hi - lo) * top).round() as usize
        } else {
            0
        };
        s.push_str(ramp.get(level).copied().unwrap_or(" "));
    }
    s
}

/// The row's tail, most important first: it is cut where the width ends.
fn extras(r: &Row, v: &View) -> Vec<(String, Style)> {
    let mut out = Vec::with_capacity(5);
    if let Status::NoData(_) = r.status {
        if let Some(reason) = &r.reason {
            out.push((reason.clone(), v.style(Role::NoData)));
        }
        if let (Some(_), Some(val)) = (&r.last_good_at, &r.value) {
            out.push((
                format!("was {}", val.with_unit(r.unit.as_deref())),
                v.style(Role::Muted),
            ));
        }
    }
    if !r.threshold.is_empty() {
        out.push((r.threshold.clone(), v.style(Role::Muted)));
    }
    if let Some(tp) = trip_text(r, v) {
        out.push((tp, v.style(Role::Warn)));
    } else if r.streak > 1 && r.raw.is_some_and(|b| b != r.band) {
        out.push((format!("streak {}", r.streak), v.style(Role::Muted)));
    }
    if let Some(s) = baseline_text(r, v) {
        out.push((s, v.style(Role::Text)));
    }
    if let Some(a) = &r.advice {
        out.push((a.clone(), v.style(Role::Accent)));
    }
    out
}

/// "v1 err 0.15% Δ+7.35 pp": the baseline by its label, its value, and the delta in the
/// signal's unit (percentage points for a percent, where a relative delta of a rate
/// confuses more than it tells; elsewhere the relative delta too, when it is readable).
pub(super) fn baseline_text(r: &Row, v: &View) -> Option<String> {
    let b = r.baseline.as_ref()?;
    let label = v
        .state
        .engine
        .rows
        .iter()
        .find(|x| x.key == b.row)
        .map_or(b.row.as_str(), |x| x.label.as_str());
    let unit = r.unit.as_deref();
    let mut s = match b.value {
        Some(bv) => format!("{label} {}", Value::Num(bv).with_unit(unit)),
        None => format!("{label} no data"),
    };
    if let Some(d) = b.delta {
        let sign = if d >= 0.0 { "+" } else { "" };
        let in_unit = match unit {
            Some("%") => " pp".to_string(),
            Some(u) if !u.is_empty() => format!(" {u}"),
            _ => String::new(),
        };
        s.push_str(&format!(
            " {}{sign}{}{in_unit}",
            v.glyphs.delta,
            Value::Num(d)
        ));
        if let Some(pct) = b
            .delta_pct
            .filter(|p| unit != Some("%") && p.abs() < 1000.0)
        {
            s.push_str(&format!(" ({pct:+.0}%)"));
        }
    }
    Some(s)
}

/// "crit in 20s", "tripping 2/3", "clears in 40s": a band change in progress.
pub(super) fn trip_text(r: &Row, v: &View) -> Option<String> {
    let pend = r.pending?;
    let sig = v.state.cfg.signals.get(r.signal);
    let elapsed = (v.mono() - pend.since).num_milliseconds();
    let word = pend.toward.word();
    if pend.toward > r.band {
        if let Some(f) = sig.and_then(|s| s.for_) {
            let left = (f.as_ms() - elapsed).max(0);
            return Some(format!("{word} in {}", format_secs((left + 999) / 1000)));
        }
        if let Some([m, n]) = sig.and_then(|s| s.m_of_n) {
            let k = r
                .recent
                .iter()
                .rev()
                .take(n as usize)
                .filter(|b| **b >= pend.toward)
                .count();
            return Some(format!("tripping {k}/{m}"));
        }
        Some(format!("tripping to {word}"))
    } else {
        if let Some(f) = sig.and_then(|s| s.clear_for) {
            let left = (f.as_ms() - elapsed).max(0);
            return Some(format!(
                "clears to {word} in {}",
                format_secs((left + 999) / 1000)
            ));
        }
        Some(format!("clearing to {word}"))
    }
}
