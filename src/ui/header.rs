//! Header: who, where, when (T-clock), and whether the pollers are healthy.

use super::{width, Pen, View};
use crate::theme::Role;
use crate::timefmt::{countdown, format_t_clock, format_t_offset, hms};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    let clock = format_t_clock(v.t_offset_ms);
    // On a wall screen the clock is drawn big, three lines high, left of the text.
    if area.height >= 3 {
        if let Some(rows) = big_text(&clock, v.glyphs.ascii) {
            let w = rows.iter().map(|r| super::width(r)).max().unwrap_or(0) as u16 + 2;
            let style = v.style(Role::Accent);
            for (i, r) in rows.iter().enumerate() {
                if let Some(mut p) = Pen::new(buf, area, i as u16) {
                    p.put(" ", style).put(r, style);
                }
            }
            let rest = Rect {
                x: area.x + w.min(area.width),
                width: area.width.saturating_sub(w),
                ..area
            };
            line1(buf, rest, v, false);
            line2(buf, rest, v);
            line3(buf, rest, v);
            return;
        }
    }
    line1(buf, area, v, true);
    line2(buf, area, v);
}

/// Three-line glyphs for the T-clock; `None` if a character has none (e.g. "T0 not set").
pub(super) fn big_text(s: &str, ascii: bool) -> Option<[String; 3]> {
    let mut rows: [String; 3] = Default::default();
    for c in s.chars() {
        let g: [&str; 3] = if ascii {
            match c {
                '0' => [" _ ", "| |", "|_|"],
                '1' => ["   ", "  |", "  |"],
                '2' => [" _ ", " _|", "|_ "],
                '3' => [" _ ", " _|", " _|"],
                '4' => ["   ", "|_|", "  |"],
                '5' => [" _ ", "|_ ", " _|"],
                '6' => [" _ ", "|_ ", "|_|"],
                '7' => [" _ ", "  |", "  |"],
                '8' => [" _ ", "|_|", "|_|"],
                '9' => [" _ ", "|_|", " _|"],
                ':' => [" ", ".", "."],
                'T' => ["___", " | ", " | "],
                '+' => ["   ", "_|_", " | "],
                '-' => ["   ", "___", "   "],
                'd' => ["  |", " _|", "|_|"],
                _ => return None,
            }
        } else {
            match c {
                '0' => ["█▀█", "█ █", "▀▀▀"],
                '1' => [" ▀█", "  █", "  ▀"],
                '2' => ["▀▀█", "█▀▀", "▀▀▀"],
                '3' => ["▀▀█", " ▀█", "▀▀▀"],
                '4' => ["█ █", "▀▀█", "  ▀"],
                '5' => ["█▀▀", "▀▀█", "▀▀▀"],
                '6' => ["█▀▀", "█▀█", "▀▀▀"],
                '7' => ["▀▀█", "  █", "  ▀"],
                '8' => ["█▀█", "█▀█", "▀▀▀"],
                '9' => ["█▀█", "▀▀█", "▀▀▀"],
                ':' => [" ", "▀", "▀"],
                'T' => ["▀█▀", " █ ", " ▀ "],
                '+' => ["   ", "▄█▄", " ▀ "],
                '-' => ["   ", "▄▄▄", "   "],
                'd' => ["  █", "█▀█", "▀▀▀"],
                _ => return None,
            }
        };
        for (row, part) in rows.iter_mut().zip(g) {
            row.push_str(part);
            row.push(' ');
        }
    }
    Some(rows)
}

/// `production` (and `prod`) get the danger style whatever the theme.
pub(super) fn is_production(env: &str) -> bool {
    let e = env.trim().to_ascii_lowercase();
    e == "production" || e == "prod"
}

/// The overall word, unless a critical signal has gone without data past its
/// `stale_after` (or never had any) and nothing is in crit: then that, by name — a
/// lasting state the room cannot read as a pass. The engine decides, as for `check`.
fn overall(v: &View, room: usize) -> (String, ratatui::style::Style) {
    let (word, style) = v.overall();
    if v.counts.crit > 0 {
        return (word, style);
    }
    let missing: Vec<String> =
        crate::engine::no_data_findings(&v.state.engine, None, v.state.stamp())
            .into_iter()
            .filter(|f| f.counts_as.is_none())
            .map(|f| f.label)
            .collect();
    let Some(first) = missing.first() else {
        return (word, style);
    };
    let more = if missing.len() > 1 {
        format!(" +{}", missing.len() - 1)
    } else {
        String::new()
    };
    let lead = v.glyphs.empty.before("NO DATA: ");
    let keep = room.saturating_sub(width(&lead) + width(&more)).max(8);
    let name = if width(first) > keep {
        let cut: String = first.chars().take(keep.saturating_sub(1)).collect();
        format!("{cut}{}", v.glyphs.ellipsis)
    } else {
        first.clone()
    };
    (
        format!("{lead}{name}{more}"),
        v.style(Role::NoData)
            .add_modifier(Modifier::REVERSED | Modifier::BOLD),
    )
}

fn line1(buf: &mut Buffer, area: Rect, v: &View, clock: bool) {
    let (overall, ostyle) = overall(v, (area.width as usize / 2).max(16));
    let ow = width(&overall) as u16 + 2;
    // The left part stops short of the overall word so it is never overwritten.
    let left_area = Rect {
        width: area.width.saturating_sub(ow + 1),
        ..area
    };
    if let Some(mut p) = Pen::new(buf, left_area, 0) {
        if clock {
            let clock = format_t_clock(v.t_offset_ms);
            p.put(
                &format!(" {clock} "),
                v.style(Role::Accent).add_modifier(Modifier::REVERSED),
            );
        }
        p.space();
        if let Some(env) = v.state.cfg.cutover.environment.as_deref() {
            let style = if is_production(env) {
                v.style(Role::Danger)
            } else {
                v.style(Role::Accent)
            };
            p.put(&format!(" {} ", env.to_uppercase()), style).space();
        }
        // The phase matters more than the name everyone in the room knows: cut the name first.
        let phase_w = v
            .phase()
            .map(|ph| super::width(v.glyphs.sep) + super::width(ph) + 7)
            .unwrap_or(0);
        let name_room = p.room().saturating_sub(phase_w).clamp(8, 32);
        p.put_fit(
            &v.state.cfg.cutover.name,
            name_room,
            v.style(Role::Text).add_modifier(Modifier::BOLD),
            v.glyphs.ellipsis,
        );
        if let Some(phase) = v.phase() {
            p.put(v.glyphs.sep, v.style(Role::Muted))
                .put("phase: ", v.style(Role::Muted));
            let room = p.room();
            p.put_fit(phase, room, v.style(Role::Text), v.glyphs.ellipsis);
        }
    }
    if let Some(mut p) = Pen::new(buf, area, 0) {
        p.put_right(&format!(" {overall} "), ostyle);
    }
}

fn line2(buf: &mut Buffer, area: Rect, v: &View) {
    let Some(mut p) = Pen::new(buf, area, 1) else {
        return;
    };
    let e = &v.state.engine;
    let total = e.sources.len().max(v.state.cfg.sources.len());
    // Ok means answered at least once and not failing now: a source never polled is not ok.
    let ok = e
        .sources
        .iter()
        .filter(|s| !s.is_failing() && s.last_ok.is_some())
        .count();
    let sstyle = if ok == total {
        v.style(Role::Ok)
    } else {
        v.style(Role::Warn)
    };
    p.put(" ", v.style(Role::Text));
    audit_badge(&mut p, v);
    p.put(&format!("sources {ok}/{total} ok"), sstyle);
    let down: Vec<&str> = e
        .sources
        .iter()
        .filter(|s| s.is_down())
        .map(|s| s.id.as_str())
        .collect();
    if !down.is_empty() {
        p.put(v.glyphs.sep, v.style(Role::Muted)).put(
            &format!("SRC DOWN {}: {}", down.len(), down.join(", ")),
            v.style(Role::Crit),
        );
    }
    let limited: Vec<&str> = e
        .sources
        .iter()
        .filter(|s| s.is_rate_limited())
        .map(|s| s.id.as_str())
        .collect();
    if !limited.is_empty() {
        p.put(v.glyphs.sep, v.style(Role::Muted)).put(
            &format!(
                "RATE LIMITED {}: {} (backing off)",
                limited.len(),
                limited.join(", ")
            ),
            v.style(Role::Warn),
        );
    }
    // Evidence that lost lines is incomplete for good: said until the screen closes.
    if v.state.record_failed.is_some() {
        p.put(v.glyphs.sep, v.style(Role::Muted)).put(
            " RECORDING INCOMPLETE ",
            v.style(Role::Crit).add_modifier(Modifier::REVERSED),
        );
    }
    if v.state.read_only {
        p.put(v.glyphs.sep, v.style(Role::Muted)).put(
            " READ-ONLY ",
            v.style(Role::Accent).add_modifier(Modifier::REVERSED),
        );
    }
    let insecure: Vec<&str> = v
        .state
        .cfg
        .sources
        .iter()
        .filter(|s| s.insecure_tls)
        .map(|s| s.id.as_str())
        .collect();
    if !insecure.is_empty() {
        p.put(v.glyphs.sep, v.style(Role::Muted)).put(
            &format!("{} INSECURE TLS: {}", v.glyphs.warning, insecure.join(", ")),
            v.style(Role::Warn),
        );
    }
    // Latency last: it is the first thing to give way on a narrow screen.
    if let Some(worst) = e.sources.iter().filter_map(|s| s.last_latency_ms).max() {
        p.put(v.glyphs.sep, v.style(Role::Muted))
            .put(&format!("worst {worst}ms"), v.style(Role::Muted));
    }
    p.put_right(&format!("{} UTC ", hms(v.now())), v.style(Role::Muted));
}

/// While the audit log cannot be written, first on the line so no width cuts it: every
/// action, tick, sign-off and T0 mark is refused until a write succeeds.
fn audit_badge(p: &mut Pen, v: &View) {
    if v.state.audit_failing.is_some() {
        p.put(
            &format!(" {} AUDIT LOG FAILING: acts refused ", v.glyphs.crit.symbol),
            v.style(Role::Crit).add_modifier(Modifier::REVERSED),
        )
        .put(v.glyphs.sep, v.style(Role::Muted));
    }
}

/// Third header line on a wall screen: the current step and the countdown to the next.
fn line3(buf: &mut Buffer, area: Rect, v: &View) {
    let Some(mut p) = Pen::new(buf, area, 2) else {
        return;
    };
    let steps = &v.state.cfg.steps;
    p.put(" ", v.style(Role::Text));
    if let Some(c) = v.current_step {
        p.put(v.glyphs.current, v.style(Role::Accent))
            .put(" now: ", v.style(Role::Muted))
            .put(
                &steps[c].title,
                v.style(Role::Text).add_modifier(Modifier::BOLD),
            );
    }
    if let (Some(n), Some(off)) = (v.next_step, v.t_offset_ms) {
        p.put(v.glyphs.sep, v.style(Role::Muted))
            .put("next: ", v.style(Role::Muted))
            .put(
                &format!(
                    "{} in {}",
                    format_t_offset(steps[n].at.0),
                    countdown(steps[n].at.0 - off)
                ),
                v.style(Role::Accent),
            )
            .put(" ", v.style(Role::Text))
            .put(&steps[n].title, v.style(Role::Text));
    }
}
