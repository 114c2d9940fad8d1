//! Header: who, where, when (T-clock), and whether the pollers are healthy.

use super::{hms, width, Pen, View};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    line1(buf, area, v);
    line2(buf, area, v);
}

/// `production` (and `prod`) get the danger style whatever the theme.
pub(super) fn is_production(env: &str) -> bool {
    let e = env.trim().to_ascii_lowercase();
    e == "production" || e == "prod"
}

fn line1(buf: &mut Buffer, area: Rect, v: &View) {
    let (overall, ostyle) = v.overall();
    let ow = width(&overall) as u16 + 2;
    // The left part stops short of the overall word so it is never overwritten.
    let left_area = Rect {
        width: area.width.saturating_sub(ow + 1),
        ..area
    };
    if let Some(mut p) = Pen::new(buf, left_area, 0) {
        let clock = crate::app::format_t_clock(v.t_off);
        p.put(
            &format!(" {clock} "),
            v.t.accent().add_modifier(Modifier::REVERSED),
        );
        p.space();
        if let Some(env) = v.s.cfg.cutover.environment.as_deref() {
            let style = if is_production(env) {
                v.t.danger()
            } else {
                v.t.accent()
            };
            p.put(&format!(" {} ", env.to_uppercase()), style).space();
        }
        // The phase matters more than the name everyone in the room knows: cut the name first.
        let phase_w = v
            .phase()
            .map(|ph| super::width(v.g.sep) + super::width(ph) + 7)
            .unwrap_or(0);
        let name_room = p.room().saturating_sub(phase_w).clamp(8, 32);
        p.put_fit(
            &v.s.cfg.cutover.name,
            name_room,
            v.t.text().add_modifier(Modifier::BOLD),
            v.g.ellipsis,
        );
        if let Some(phase) = v.phase() {
            p.put(v.g.sep, v.t.muted()).put("phase: ", v.t.muted());
            let room = p.room();
            p.put_fit(phase, room, v.t.text(), v.g.ellipsis);
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
    let e = &v.s.engine;
    let total = e.sources.len().max(v.s.cfg.sources.len());
    // Ok means answered at least once and not failing now: a source never polled is not ok.
    let ok = e
        .sources
        .iter()
        .filter(|s| !s.is_down() && s.last_ok.is_some())
        .count();
    let sstyle = if ok == total { v.t.ok() } else { v.t.warn() };
    p.put(" ", v.t.text())
        .put(&format!("sources {ok}/{total} ok"), sstyle);
    let down: Vec<&str> = e
        .sources
        .iter()
        .filter(|s| s.is_down())
        .map(|s| s.id.as_str())
        .collect();
    if !down.is_empty() {
        p.put(v.g.sep, v.t.muted()).put(
            &format!("SRC DOWN {}: {}", down.len(), down.join(", ")),
            v.t.crit(),
        );
    }
    if v.s.read_only {
        p.put(v.g.sep, v.t.muted())
            .put(" READ-ONLY ", v.t.accent().add_modifier(Modifier::REVERSED));
    }
    let insecure: Vec<&str> =
        v.s.cfg
            .sources
            .iter()
            .filter(|s| s.insecure_tls)
            .map(|s| s.id.as_str())
            .collect();
    if !insecure.is_empty() {
        p.put(v.g.sep, v.t.muted()).put(
            &format!("{} INSECURE TLS: {}", v.g.warning, insecure.join(", ")),
            v.t.warn(),
        );
    }
    // Latency last: it is the first thing to give way on a narrow screen.
    if let Some(worst) = e.sources.iter().filter_map(|s| s.last_latency_ms).max() {
        p.put(v.g.sep, v.t.muted())
            .put(&format!("worst {worst}ms"), v.t.muted());
    }
    p.put_right(&format!("{} UTC ", hms(v.now())), v.t.muted());
}
