//! Signals panel: metric and health rows with value, sparkline, band, time in
//! band, threshold, trip progress, baseline and advice. Only visible rows are
//! drawn, so 1,000 rows cost what a screenful costs.
//!
//! Columns are sized to the rows' texts. The ones that decide a rollback (value, band,
//! time in band, the threshold of the band, the baseline and its delta) get their width
//! first; labels take what remains (whole when it is enough, cut in the middle when
//! not) and the tail the rest. A compare row's baseline goes on a second line under it
//! when the row cannot hold it beside whole labels and every line fits; else it stays
//! on the row in a short form.

use super::{panel, width, Pen, View};
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
    let second = lines_wanted(v, area.width);
    let second = second > 0 && n + second <= h;
    let off = if second { 0 } else { scroll_offset(sel, h) };
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
    let cols = Cols::plan(v, inner.width, second);
    let mut y = 0u16;
    for (i, r) in rows.iter().filter(|r| is_signal(r)).skip(off).enumerate() {
        if usize::from(y) >= h {
            break;
        }
        let selected = off + i == sel;
        row(buf, inner, y, r, selected && focused, &cols, v);
        y += 1;
        if second && r.baseline.is_some() {
            baseline_line(buf, inner, y, r, &cols, v);
            y += 1;
        }
    }
}

/// Lines the panel would add at this width: one under each compare row, when the rows
/// cannot hold their baseline beside whole labels.
pub(super) fn lines_wanted(v: &View, width: u16) -> usize {
    let compare = measured(v).filter(|r| r.baseline.is_some()).count();
    if compare == 0 {
        return 0;
    }
    let on_row = Cols::plan(v, width, false);
    if on_row.label_w >= on_row.label_need && !on_row.spark_cut {
        0
    } else {
        compare
    }
}

/// The rows whose texts size the columns: a screenful and more, never all of a thousand.
fn measured<'a>(v: &View<'a>) -> impl Iterator<Item = &'a Row> + 'a {
    v.state
        .engine
        .rows
        .iter()
        .filter(|r| is_signal(r))
        .take(MEASURED)
}

const MEASURED: usize = 200;
/// A label is cut, never below this (the ellipsis and a few characters either side).
const LABEL_MIN: usize = 10;
/// The short form of a baseline keeps at least this much of its label.
const BASE_LABEL_MIN: usize = 6;

/// Column positions for a panel width.
pub(super) struct Cols {
    label: u16,
    label_w: u16,
    label_need: u16,
    value: u16,
    value_w: u16,
    spark: u16,
    spark_w: u16,
    status: u16,
    since: u16,
    extra: u16,
    /// Baselines are on a second line, not in the row's tail.
    second: bool,
    /// The trend was shortened (or dropped) so that labels fit.
    spark_cut: bool,
}

impl Cols {
    fn plan(v: &View, w: u16, second: bool) -> Cols {
        let w = usize::from(w);
        let g = v.glyphs;
        let (mut label_need, mut value_w, mut status_w, mut since_w, mut tail_min) =
            (0, 5, 6, 3, 0);
        let mut no_data_need = 0;
        for r in measured(v) {
            label_need = label_need.max(width(&r.label));
            match (r.status, &r.value) {
                (Status::Band(_), Some(val)) => {
                    value_w = value_w.max(width(&val.with_unit(r.unit.as_deref())));
                }
                _ => no_data_need = no_data_need.max(width(&last_good(r, v))),
            }
            status_w = status_w.max(width(g.status(r.status).label()));
            since_w = since_w.max(width(&age(v.mono(), r.status_since)));
            tail_min = tail_min.max(decisive_width(r, v, second));
        }
        let value_w = value_w.min(16);
        let sep = width(g.sep);
        let spark_full = if w >= 200 {
            24
        } else if w >= 120 {
            16
        } else {
            8
        };
        let mut spark_w = spark_full;
        let label_for = |spark_w: usize| {
            let fixed =
                3 + value_w + 1 + spark_w + usize::from(spark_w > 0) + status_w + 1 + since_w + 1;
            let avail = w.saturating_sub(fixed);
            let room = avail.saturating_sub(tail_min + sep).max(LABEL_MIN);
            label_need.min(room).min(avail.saturating_sub(1))
        };
        // A shorter trend before a cut label; a wider one where it costs no label, so
        // "last good 45s ago" (in the value's and the trend's place) reads whole.
        for shorter in [4, 0] {
            if label_for(spark_w) < label_need && w < 120 {
                spark_w = shorter;
            }
        }
        let for_no_data = no_data_need.saturating_sub(value_w + 1).max(spark_w);
        if label_for(for_no_data) == label_for(spark_w) {
            spark_w = for_no_data;
        }
        let label_w = label_for(spark_w);
        let label = 3;
        let value = label + label_w + 1;
        let spark = value + value_w + 1;
        let status = spark + spark_w + usize::from(spark_w > 0);
        let since = status + status_w + 1;
        let extra = since + since_w + 1;
        let c = |x: usize| u16::try_from(x).unwrap_or(u16::MAX);
        Cols {
            label: c(label),
            label_w: c(label_w),
            label_need: c(label_need),
            value: c(value),
            value_w: c(value_w),
            spark: c(spark),
            spark_w: c(spark_w),
            status: c(status),
            since: c(since),
            extra: c(extra),
            second,
            spark_cut: spark_w < spark_full,
        }
    }
}

/// What a row's tail must show whole to tell whether to roll back: the threshold of its
/// band and, on the row, its baseline in the short form.
fn decisive_width(r: &Row, v: &View, second: bool) -> usize {
    let thr = short_threshold(r, v).map_or(0, |t| width(&t));
    let base = match (second, Compare::of(r, v)) {
        (false, Some(c)) => c.short_width(BASE_LABEL_MIN),
        _ => 0,
    };
    match (thr, base) {
        (0, b) => b,
        (t, 0) => t,
        (t, b) => t + width(v.glyphs.sep) + b,
    }
}

/// The threshold that applies to the row's band (`crit > 2` on a crit row, `warn > 1` on
/// a warn row, the first it would cross on an ok row).
pub(super) fn short_threshold(r: &Row, v: &View) -> Option<String> {
    let sig = v.state.cfg.signals.get(r.signal)?;
    crate::engine::band_threshold(sig, r.effective)
}

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
            let w = (c.status - c.value - 1) as usize;
            let mut last = last_good(r, v);
            if width(&last) > w {
                last = match r.last_good_at {
                    Some(at) => format!("{} ago", age(v.mono(), at)),
                    None => "never".into(),
                };
            }
            p.put_fit(&last, w, v.style(Role::NoData), v.glyphs.ellipsis);
        }
    }
    p.col(c.status);
    p.put(v.glyphs.status(r.status).label(), status_style);
    p.col(c.since);
    p.put(&age(v.mono(), r.status_since), v.style(Role::Muted));
    p.col(c.extra);
    let sep = width(v.glyphs.sep);
    let full = extras(r, v, false, c.second);
    let long =
        full.iter().map(|(t, _)| t.width()).sum::<usize>() + sep * full.len().saturating_sub(1);
    let tail = if long <= p.room() {
        full
    } else {
        extras(r, v, true, c.second)
    };
    for (i, (part, style)) in tail.into_iter().enumerate() {
        // A stub of a word helps nobody: stop when fewer than a few columns remain.
        if p.room() < sep + 6 {
            break;
        }
        if i > 0 {
            p.put(v.glyphs.sep, v.style(Role::Muted));
        }
        let room = p.room();
        match part {
            Part::Text(text) => p.put_fit(&text, room, style, v.glyphs.ellipsis),
            Part::Compare(cmp) => p.put(&cmp.fit(room, v.glyphs.ellipsis), style),
        };
    }
}

/// "last good 45s ago", "never had data": a row without data, where its value would be.
fn last_good(r: &Row, v: &View) -> String {
    match r.last_good_at {
        Some(at) => format!("last good {} ago", age(v.mono(), at)),
        None => "never had data".into(),
    }
}

/// A compare row's second line: "vs v1 error rate 0.15% Δ+7.35 pp", under its label.
fn baseline_line(buf: &mut Buffer, area: Rect, y: u16, r: &Row, c: &Cols, v: &View) {
    let (Some(mut p), Some(cmp)) = (Pen::new(buf, area, y), Compare::of(r, v)) else {
        return;
    };
    p.col(c.label);
    p.put("vs ", v.style(Role::Muted));
    let room = p.room();
    p.put(&cmp.fit(room, v.glyphs.ellipsis), v.style(Role::Text));
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

/// One part of a row's tail: a text, cut at the end when the row ends, or a baseline,
/// whose label is cut before its value or delta is.
enum Part {
    Text(String),
    Compare(Compare),
}

impl Part {
    fn width(&self) -> usize {
        match self {
            Part::Text(t) => width(t),
            Part::Compare(c) => width(&c.full()),
        }
    }
}

/// The row's tail, most important first: it is cut where the width ends. `short`: the
/// threshold of the row's band only (the form that fits 80 columns); `second`: the
/// baseline is on the line under the row.
fn extras(r: &Row, v: &View, short: bool, second: bool) -> Vec<(Part, Style)> {
    let mut out = Vec::with_capacity(5);
    if let Status::NoData(_) = r.status {
        if let Some(reason) = &r.reason {
            out.push((Part::Text(reason.clone()), v.style(Role::NoData)));
        }
        if let (Some(_), Some(val)) = (&r.last_good_at, &r.value) {
            out.push((
                Part::Text(format!("was {}", val.with_unit(r.unit.as_deref()))),
                v.style(Role::Muted),
            ));
        }
    }
    let thr = if short {
        short_threshold(r, v)
    } else {
        Some(r.threshold.clone()).filter(|t| !t.is_empty())
    };
    if let Some(t) = thr {
        out.push((Part::Text(t), v.style(Role::Muted)));
    }
    if let Some(cmp) = Compare::of(r, v).filter(|_| !second) {
        out.push((Part::Compare(cmp), v.style(Role::Text)));
    }
    if let Some(tp) = trip_text(r, v) {
        out.push((Part::Text(tp), v.style(Role::Warn)));
    } else if r.streak > 1 && r.raw.is_some_and(|b| b != r.band) {
        out.push((
            Part::Text(format!("streak {}", r.streak)),
            v.style(Role::Muted),
        ));
    }
    if let Some(a) = &r.advice {
        out.push((Part::Text(a.clone()), v.style(Role::Accent)));
    }
    out
}

/// A compare row's baseline: its label, its value and the delta in the signal's unit
/// (percentage points for a percent, where a relative delta of a rate confuses more than
/// it tells; elsewhere the relative delta too, when it is readable).
pub(super) struct Compare {
    pub label: String,
    /// "0.15%", or "no data".
    pub value: String,
    /// "Δ+7.35 pp".
    pub delta: Option<String>,
    /// "(+200%)".
    pub relative: Option<String>,
}

impl Compare {
    pub(super) fn of(r: &Row, v: &View) -> Option<Compare> {
        let b = r.baseline.as_ref()?;
        let label = v
            .state
            .engine
            .rows
            .iter()
            .find(|x| x.key == b.row)
            .map_or(b.row.as_str(), |x| x.label.as_str())
            .to_string();
        let unit = r.unit.as_deref();
        let value = match b.value {
            Some(bv) => Value::Num(bv).with_unit(unit),
            None => "no data".into(),
        };
        let delta = b.delta.map(|d| {
            let sign = if d >= 0.0 { "+" } else { "" };
            let in_unit = match unit {
                Some("%") => " pp".to_string(),
                Some(u) if !u.is_empty() => format!(" {u}"),
                _ => String::new(),
            };
            format!("{}{sign}{}{in_unit}", v.glyphs.delta, Value::Num(d))
        });
        let relative = b
            .delta_pct
            .filter(|p| unit != Some("%") && p.is_finite() && p.abs() < 1000.0)
            .map(|p| format!("({p:+.0}%)"));
        Some(Compare {
            label,
            value,
            delta,
            relative,
        })
    }

    /// "v1 err 0.15% Δ+7.35 pp", "p95 v1 800 ms Δ+1600 ms (+200%)".
    pub(super) fn full(&self) -> String {
        let mut s = format!("{} {}", self.label, self.value);
        for part in [&self.delta, &self.relative].into_iter().flatten() {
            s.push(' ');
            s.push_str(part);
        }
        s
    }

    /// The value and the delta: what must be read whole.
    fn core(&self) -> String {
        match &self.delta {
            Some(d) => format!("{} {d}", self.value),
            None => self.value.clone(),
        }
    }

    fn short_width(&self, label_min: usize) -> usize {
        width(&self.label).min(label_min) + 1 + width(&self.core())
    }

    /// In `max` columns: whole when it fits, else without the relative delta and with
    /// its label cut, so the value and the delta are the last to go.
    pub(super) fn fit(&self, max: usize, ellipsis: &str) -> String {
        let full = self.full();
        if width(&full) <= max {
            return full;
        }
        let core = self.core();
        let whole = format!("{} {core}", self.label);
        if width(&whole) <= max {
            return whole;
        }
        let room = max.saturating_sub(width(&core) + 1);
        if room < 3 {
            return core;
        }
        format!("{} {core}", super::fit::middle(&self.label, room, ellipsis))
    }
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
