//! A signal row's detail (Enter on the row): a centred popup over any screen size with
//! everything the row knows, read live from the row each frame (it is named by its key,
//! so it follows that row while polls arrive). The lines that decide a rollback come
//! first, so a short window cuts the trend, never the band or the threshold.

use super::signals::{short_threshold, sparkline, trip_text, Compare};
use super::{fit, width, Pen, View};
use crate::config::Signal;
use crate::engine::{Band, Row, SourceHealth, Status};
use crate::sample::Value;
use crate::theme::Role;
use crate::timefmt::{age_exact, format_secs, hms};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Widget};

/// The name column's width ("Last error").
const NAME_W: usize = 11;
/// The popup's widest, so lines stay readable on a wall screen.
const MAX_W: u16 = 100;

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    let Some(key) = v.state.detail.as_deref() else {
        return;
    };
    let row = v.state.engine.rows.iter().find(|r| r.key == key);
    let w = area.width.min(MAX_W);
    let text_w = usize::from(w.saturating_sub(2)).saturating_sub(NAME_W + 2);
    let lines = match row {
        Some(r) => lines(r, v, text_w),
        None => vec![(
            "Row",
            "this row is gone (its series left the source's answer)".into(),
            v.style(Role::NoData),
        )],
    };
    let h = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    Clear.render(popup, buf);
    let title = row.map_or(key, |r| r.label.as_str());
    let marker = match row {
        Some(r) if r.critical => format!("{} ", v.glyphs.critical_marker),
        _ => String::new(),
    };
    let title = format!(
        " {marker}{} ",
        fit::middle(title, usize::from(w).saturating_sub(6), v.glyphs.ellipsis)
    );
    let block = Block::new()
        .borders(Borders::ALL)
        .border_set(v.glyphs.border)
        .border_style(v.style(Role::Accent))
        .title(Line::styled(
            title,
            v.style(Role::Accent).add_modifier(Modifier::BOLD),
        ))
        .title_bottom(Line::styled(" Enter Esc close ", v.style(Role::Muted)));
    let inner = block.inner(popup);
    block.render(popup, buf);
    for (y, (name, text, style)) in lines.iter().enumerate() {
        let Some(mut p) = Pen::new(buf, inner, y as u16) else {
            break;
        };
        p.put(" ", v.style(Role::Text))
            .put(name, v.style(Role::Muted).add_modifier(Modifier::BOLD));
        p.col(NAME_W as u16 + 2);
        let room = p.room();
        p.put_fit(text, room, *style, v.glyphs.ellipsis);
    }
}

type DetailLine = (&'static str, String, Style);

/// The detail's lines, most decisive first.
fn lines(r: &Row, v: &View, text_w: usize) -> Vec<DetailLine> {
    let sig = v.state.cfg.signals.get(r.signal);
    let text = v.style(Role::Text);
    let muted = v.style(Role::Muted);
    let status_style = v.theme.status(r.status);
    let mut out: Vec<DetailLine> = Vec::with_capacity(16);

    out.push(("Value", value_line(r, v), status_style));
    let thr = match (short_threshold(r, v), r.threshold.is_empty()) {
        (Some(t), _) => {
            let which = match r.effective {
                Band::Ok => "next".to_string(),
                b => b.word().to_uppercase(),
            };
            let all = if r.threshold.is_empty() || r.threshold == t {
                String::new()
            } else {
                format!(" {} all: {}", v.glyphs.sep.trim(), r.threshold)
            };
            format!("{t} (applies: {which}){all}")
        }
        (None, false) => r.threshold.clone(),
        (None, true) => "none (shown, never judged)".into(),
    };
    out.push(("Threshold", thr, text));
    out.push(("In band", in_band(r, v), text));
    out.push(("Baseline", baseline(r, v), text));
    wrapped(&mut out, "Streak", &streak(r, sig), text_w, text);
    if let Some(t) = trip_text(r, v) {
        out.push(("Pending", t, v.style(Role::Warn)));
    }
    wrapped(
        &mut out,
        "Advice",
        r.advice.as_deref().unwrap_or("none"),
        text_w,
        v.style(Role::Accent),
    );
    let src = sig.and_then(|s| v.state.engine.sources.iter().find(|h| h.id == s.source));
    wrapped(&mut out, "Source", &source_line(sig, src, v), text_w, text);
    let err = src.and_then(|h| h.last_error.as_deref()).unwrap_or("none");
    let err_style = if src.is_some_and(|h| h.is_failing()) {
        v.style(Role::Crit)
    } else {
        muted
    };
    wrapped(&mut out, "Last error", err, text_w, err_style);
    if let Some(s) = sig.filter(|s| s.each.is_some()) {
        out.push(("Series", series(r, s, v), text));
    }
    let spark_w = text_w.min(r.history.len());
    let spark_style = Style {
        fg: status_style.fg,
        ..Style::new()
    };
    if spark_w > 0 {
        out.push(("Trend", sparkline(r, spark_w, v.glyphs.spark), spark_style));
    }
    out.push(("Scale", scale(r, spark_w, v), muted));
    out
}

/// "2400 ms  CRIT", "no data (error): connection refused — was 800 ms".
fn value_line(r: &Row, v: &View) -> String {
    let word = v.glyphs.status(r.status).label();
    match (r.status, &r.value) {
        (Status::Band(_), Some(val)) => format!("{}  {word}", val.with_unit(r.unit.as_deref())),
        (Status::Band(_), None) => format!("no value  {word}"),
        (Status::NoData(_), val) => {
            let mut s = format!("no data  {word}");
            if let Some(reason) = &r.reason {
                s.push_str(&format!(": {reason}"));
            }
            if let (Some(at), Some(val)) = (r.last_good_at, val) {
                s.push_str(&format!(
                    " {} last good {} {} ago",
                    v.glyphs.dash,
                    val.with_unit(r.unit.as_deref()),
                    age_exact(v.mono(), at)
                ));
            }
            if r.effective != r.band {
                s.push_str(&format!(" (counts as {})", r.effective.word()));
            }
            s
        }
    }
}

/// "CRIT for 1m12s (since 20:39:55)", with the state when it differs from the band.
fn in_band(r: &Row, v: &View) -> String {
    let since = |at: crate::sample::Mono| v.now() - (v.mono() - at);
    let mut s = format!(
        "{} for {} (since {})",
        r.band.word().to_uppercase(),
        age_exact(v.mono(), r.band_since),
        hms(since(r.band_since))
    );
    if let Status::NoData(_) = r.status {
        s.push_str(&format!(
            "; {} for {}",
            r.status.word().to_uppercase(),
            age_exact(v.mono(), r.status_since)
        ));
    }
    s
}

fn baseline(r: &Row, v: &View) -> String {
    match Compare::of(r, v) {
        Some(c) => c.full(),
        None => "none".into(),
    }
}

fn up(b: Band) -> String {
    b.word().to_uppercase()
}

/// "5 polls at CRIT · trips after 30s (for) · clears at once".
fn streak(r: &Row, sig: Option<&Signal>) -> String {
    let polls = if r.streak == 1 { "poll" } else { "polls" };
    let at = match r.raw {
        Some(b) if b == r.band => format!("{} {polls} at {}", r.streak, up(b)),
        Some(b) => format!(
            "{} {polls} at {} (band still {})",
            r.streak,
            up(b),
            up(r.band)
        ),
        None => "no sample judged yet".into(),
    };
    let secs = |d: crate::config::Dur| format_secs((d.as_ms() + 999) / 1000);
    let trip = match sig {
        Some(s) => match (s.for_, s.m_of_n) {
            (Some(f), _) => format!("trips after {} (for)", secs(f)),
            (None, Some([m, n])) => format!("trips at {m} of {n} polls (m_of_n)"),
            (None, None) => "trips at the first poll".into(),
        },
        None => String::new(),
    };
    let clear = match sig.and_then(|s| s.clear_for) {
        Some(c) => format!("clears after {} (clear_for)", secs(c)),
        None => "clears at once".into(),
    };
    format!("{at} · {trip} · {clear}")
}

/// "metrics: ok, polled 2s ago in 120 ms", "flags: DOWN, 3 failed polls, last ok 45s ago".
fn source_line(sig: Option<&Signal>, src: Option<&SourceHealth>, v: &View) -> String {
    let Some(h) = src else {
        return sig.map_or("unknown".into(), |s| {
            format!("{}: not polled yet", s.source)
        });
    };
    let mut s = if h.is_rate_limited() {
        format!("{}: RATE LIMITED, backing off", h.id)
    } else if h.is_down() {
        let polls = if h.consecutive_errors == 1 {
            "poll"
        } else {
            "polls"
        };
        format!("{}: DOWN, {} failed {polls}", h.id, h.consecutive_errors)
    } else {
        format!("{}: ok", h.id)
    };
    if let Some(at) = h.last_poll {
        s.push_str(&format!(", polled {} ago", age_exact(v.mono(), at)));
        if let Some(ms) = h.last_latency_ms {
            s.push_str(&format!(" in {ms} ms"));
        }
    }
    if h.is_failing() {
        match h.last_ok {
            Some(at) => s.push_str(&format!(", last ok {} ago", age_exact(v.mono(), at))),
            None => s.push_str(", never answered"),
        }
    }
    s
}

/// "/api/portfolio/summary: one of 6 rows of endpoint_p95 (each .endpoints[])".
fn series(r: &Row, sig: &Signal, v: &View) -> String {
    let name = r
        .key
        .strip_prefix(sig.id.as_str())
        .and_then(|k| k.strip_prefix('['))
        .and_then(|k| k.strip_suffix(']'))
        .unwrap_or(&r.key);
    let n = v
        .state
        .engine
        .rows
        .iter()
        .filter(|x| x.signal == r.signal)
        .count();
    format!(
        "{name}: one of {n} rows of {} (each {})",
        sig.id,
        sig.each.as_deref().unwrap_or("")
    )
}

/// "min 800 ms · max 2360 ms · last 40 samples over 1m58s": the trend's scale.
fn scale(r: &Row, n: usize, v: &View) -> String {
    if n == 0 {
        return "no samples yet".into();
    }
    let skip = r.history.len() - n;
    let vals = r.history.iter().skip(skip).filter(|x| x.is_finite());
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(*x), hi.max(*x))
    });
    let unit = r.unit.as_deref();
    let span = match (r.history_at.get(skip), r.history_at.back()) {
        (Some(first), Some(last)) if n > 1 => format!(" over {}", age_exact(*last, *first)),
        _ => String::new(),
    };
    let samples = if n == 1 { "sample" } else { "samples" };
    if lo > hi {
        return format!("last {n} {samples}{span}, none a number");
    }
    let sep = v.glyphs.sep;
    format!(
        "min {}{sep}max {}{sep}last {n} {samples}{span}",
        Value::Num(lo).with_unit(unit),
        Value::Num(hi).with_unit(unit)
    )
}

/// Up to three lines of a long text (advice, an error), the last cut with the ellipsis.
fn wrapped(out: &mut Vec<DetailLine>, name: &'static str, text: &str, w: usize, style: Style) {
    let mut rest = text.trim();
    let mut first = true;
    for n in 0..3 {
        if rest.is_empty() {
            break;
        }
        let line = if width(rest) <= w || n == 2 {
            let l = rest.to_string();
            rest = "";
            l
        } else {
            let head = fit::head(rest, w);
            // Break at the last space that leaves something on the line.
            let cut = head.rfind(' ').filter(|i| *i > 0).unwrap_or(head.len());
            let l = rest[..cut].trim_end().to_string();
            rest = rest[cut..].trim_start();
            l
        };
        out.push((if first { name } else { "" }, line, style));
        first = false;
    }
}
