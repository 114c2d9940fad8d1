//! Where each region goes, by terminal size.
//!
//! Normal (80×24 up to 119 columns or 31 rows):
//! ```text
//! ┌──────────────────────────────────────────────────────────────────────────────┐
//! │ T+17:45  PRODUCTION  brokers cutover  phase: cutover        ✖ 2 CRIT 1 WARN  │ header (2)
//! │ sources 2/3 ok · worst 840ms · SRC DOWN 1 · READ-ONLY · ⚠ INSECURE TLS       │
//! │ ✖ BREACH p95 2400 ms (crit > 2000) for 1m12s — press R to roll back          │ banner (0–4)
//! │─ Signals ────────────────────────────────────────────────────────────────────│
//! │▸★ label          value   ▁▂▅█  ✖ CRIT  1m12s  threshold · crit in 20s · …    │ signals (~half)
//! │─ Timeline ───────────────────────────── ─ Flags ─────────────────────────────│
//! │ ▶ 0     Cutover  next: +30m in 04:12    │ v2_primary  true  changed 3m ago   │ timeline | flags
//! │     [x] item  by alice 20:41            │─ Events ───────────────────────────│          | events
//! │                                         │ 20:41:07 ✖ CRIT p95 breached       │
//! │ notice …                                   ? help  q quit  Tab focus  Space  │ footer (1)
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Wide (≥ 120 columns and ≥ 32 rows): signals over events on the left (62 %),
//! flags over the timeline on the right, more sparkline and more banner lines.
//!
//! Below 80×24: the compact summary (`compact.rs`); below 20×3: "too small".

use ratatui::layout::{Constraint, Layout, Rect};

pub const MIN_FULL: (u16, u16) = (80, 24);
pub const MIN_COMPACT: (u16, u16) = (20, 3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub banner: Rect,
    pub signals: Rect,
    pub flags: Rect,
    pub timeline: Rect,
    pub events: Rect,
    pub footer: Rect,
    pub wide: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Full(Areas),
    Compact(Rect),
    TooSmall(Rect),
}

pub fn is_wide(area: Rect) -> bool {
    area.width >= 120 && area.height >= 32
}

/// `banner_lines`: lines the banner wants; `flag_rows`: rows in the flags panel.
pub fn screen(area: Rect, banner_lines: u16, flag_rows: usize) -> Screen {
    if area.width < MIN_COMPACT.0 || area.height < MIN_COMPACT.1 {
        return Screen::TooSmall(area);
    }
    if area.width < MIN_FULL.0 || area.height < MIN_FULL.1 {
        return Screen::Compact(area);
    }
    let wide = is_wide(area);
    let [header, banner, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(banner_lines),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    // Flags need a title line plus their rows, but never crowd out the panel beside them.
    let flags_want = (flag_rows.max(1) as u16).saturating_add(1);
    let (signals, flags, timeline, events) = if wide {
        let [left, right] = Layout::horizontal([Constraint::Percentage(62), Constraint::Fill(1)])
            .spacing(1)
            .areas(body);
        let events_h = (left.height / 3).clamp(4, 14);
        let [signals, events] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(events_h)]).areas(left);
        let [flags, timeline] = Layout::vertical([
            Constraint::Length(flags_want.min(right.height / 3)),
            Constraint::Fill(1),
        ])
        .areas(right);
        (signals, flags, timeline, events)
    } else {
        let [signals, bottom] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Fill(1)]).areas(body);
        let [timeline, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)])
                .spacing(1)
                .areas(bottom);
        let [flags, events] = Layout::vertical([
            Constraint::Length(flags_want.min(right.height / 2)),
            Constraint::Fill(1),
        ])
        .areas(right);
        (signals, flags, timeline, events)
    };
    Screen::Full(Areas {
        header,
        banner,
        signals,
        flags,
        timeline,
        events,
        footer,
        wide,
    })
}
