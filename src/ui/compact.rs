//! Below 80×24: a compact summary (T-clock, banner, band counts, sources down,
//! the rows that are not ok); below 20×3 only "terminal too small".

use super::{banner, layout, Pen, View};
use crate::engine::{Band, Status};
use crate::theme::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    let mut y = 0u16;
    let last = area.height.saturating_sub(1);
    // Line 1: T-clock, environment, overall word; on a narrow window the overall word
    // (the state and its band counts) first, since the end of the line is what is lost.
    if area.width < NARROW {
        if let Some(mut p) = Pen::new(buf, area, y) {
            let (overall, ostyle) = v.overall();
            p.put(&overall, ostyle);
            y += 1;
        }
    }
    if let Some(mut p) = Pen::new(buf, area, y) {
        let clock = crate::timefmt::format_t_clock(v.t_offset_ms);
        p.put(
            &clock,
            v.style(Role::Accent).add_modifier(Modifier::REVERSED),
        )
        .space();
        if let Some(env) = v.state.cfg.cutover.environment.as_deref() {
            let style = if super::header::is_production(env) {
                v.style(Role::Danger)
            } else {
                v.style(Role::Accent)
            };
            p.put(&env.to_uppercase(), style).space();
        }
        if area.width >= NARROW {
            let (overall, ostyle) = v.overall();
            p.put(&overall, ostyle);
        }
        y += 1;
    }
    // The banner, one line each, before anything else.
    let hint = banner::key_hint(v);
    if let Some(adv) = &v.state.engine.advised {
        if y < last {
            if let Some(mut p) = Pen::new(buf, area, y) {
                p.fill(v.style(Role::Banner));
                let s = format!(
                    "ROLLBACK ADVISED: {} {} {hint}",
                    adv.reasons.join("; "),
                    v.glyphs.dash
                );
                p.put_fit(&s, usize::MAX, v.style(Role::Banner), v.glyphs.ellipsis);
                y += 1;
            }
        }
    }
    if let Some(r) = v.breaches.first() {
        if y < last {
            if let Some(mut p) = Pen::new(buf, area, y) {
                p.fill(v.style(Role::Banner));
                let more = v.breaches.len() - 1;
                let more = if more > 0 {
                    format!(" (+{more})")
                } else {
                    String::new()
                };
                let s = format!(
                    "{}BREACH {}{more} {} {hint}",
                    banner::sym_sp(v),
                    banner::breach_text(v, r),
                    v.glyphs.dash
                );
                p.put_fit(&s, usize::MAX, v.style(Role::Banner), v.glyphs.ellipsis);
                y += 1;
            }
        }
    }
    // Band counts, each with its word.
    if let Some(mut p) = Pen::new(buf, area, y) {
        let c = &v.counts;
        // Worst first: on a narrow screen the end of the line is what is lost.
        p.put(&format!("crit {}", c.crit), v.style(Role::Crit))
            .put(v.glyphs.sep, v.style(Role::Muted))
            .put(&format!("warn {}", c.warn), v.style(Role::Warn))
            .put(v.glyphs.sep, v.style(Role::Muted))
            .put(&format!("no data {}", c.no_data), v.style(Role::NoData))
            .put(v.glyphs.sep, v.style(Role::Muted))
            .put(&format!("ok {}", c.ok), v.style(Role::Ok));
        y += 1;
    }
    if let Some(mut p) = Pen::new(buf, area, y) {
        let e = &v.state.engine;
        let total = e.sources.len().max(v.state.cfg.sources.len());
        let down = v.counts.sources_down;
        let limited = v.counts.sources_limited;
        if down > 0 {
            p.put(&format!("SRC DOWN {down} of {total}"), v.style(Role::Crit));
        } else if limited > 0 {
            p.put(
                &format!("RATE LIMITED {limited} of {total}"),
                v.style(Role::Warn),
            );
        } else {
            p.put(&format!("sources {total}, none down"), v.style(Role::Muted));
        }
        if v.state.read_only {
            p.put(v.glyphs.sep, v.style(Role::Muted)).put(
                "READ-ONLY",
                v.style(Role::Accent).add_modifier(Modifier::REVERSED),
            );
        }
        y += 1;
    }
    // The rows that are not ok, worst first, while lines remain (one kept for the size note).
    let mut bad: Vec<_> = v
        .state
        .engine
        .rows
        .iter()
        .filter(|r| !matches!(r.status, Status::Band(Band::Ok)))
        .collect();
    bad.sort_by_key(|r| std::cmp::Reverse((r.effective, r.critical)));
    for r in bad.into_iter().take(last.saturating_sub(y) as usize) {
        let Some(mut p) = Pen::new(buf, area, y) else {
            break;
        };
        p.put(
            &format!("{:<7}", v.glyphs.status(r.status).label()),
            v.theme.status(r.status),
        )
        .space();
        match (r.status, &r.value) {
            // The value before the label: on a narrow window the end of the line is
            // lost, and the label is what can be spared.
            (Status::Band(_), Some(val)) => {
                p.put(&val.with_unit(r.unit.as_deref()), v.style(Role::Text))
                    .space();
                let room = p.room();
                p.put_fit_middle(&r.label, room, v.style(Role::Text), v.glyphs.ellipsis);
            }
            _ => {
                let why = r.reason.as_deref().unwrap_or("no data");
                let s = format!("{}: {why}", r.label);
                p.put_fit(&s, usize::MAX, v.style(Role::Text), v.glyphs.ellipsis);
            }
        }
        y += 1;
    }
    if let Some(mut p) = Pen::new(buf, area, last) {
        if y <= last {
            let (w, h) = layout::MIN_FULL;
            let s = format!("{}x{} - full view needs {w}x{h}", area.width, area.height);
            p.put_fit(&s, usize::MAX, v.style(Role::Muted), v.glyphs.ellipsis);
        }
    }
}

/// Below this width the compact view leads with the state rather than the T-clock.
const NARROW: u16 = 40;

/// Where nothing else fits: the state and its band counts first (what a glance needs),
/// then the T-clock, then why the rest is missing.
pub(super) fn too_small(buf: &mut Buffer, area: Rect, v: &View) {
    if let Some(mut p) = Pen::new(buf, area, 0) {
        let (overall, style) = v.overall();
        p.put(&overall, style);
    }
    if let Some(mut p) = Pen::new(buf, area, 1) {
        p.put(
            &crate::timefmt::format_t_clock(v.t_offset_ms),
            v.style(Role::Accent),
        );
    }
    if let Some(mut p) = Pen::new(buf, area, 2) {
        p.put("terminal too small", v.style(Role::Warn));
    }
}
