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
//! Larger terminals keep this shape and give every region more rows; from
//! 120×32 ("wide") the banner shows up to three breaches and sparklines and
//! labels get wider; extra columns go to each signal row's tail (threshold,
//! trip progress, baseline, advice).
//!
//! From 120×40 the header grows to three lines with a big T-clock at its left.
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

/// Tall enough for the big three-line T-clock in the header (a wall screen).
pub fn is_tall(area: Rect) -> bool {
    area.width >= 120 && area.height >= 40
}

/// `banner_lines`: lines the banner wants; `signal_rows`, `flag_rows`: rows in those panels.
pub fn screen(area: Rect, banner_lines: u16, signal_rows: usize, flag_rows: usize) -> Screen {
    if area.width < MIN_COMPACT.0 || area.height < MIN_COMPACT.1 {
        return Screen::TooSmall(area);
    }
    if area.width < MIN_FULL.0 || area.height < MIN_FULL.1 {
        return Screen::Compact(area);
    }
    let wide = is_wide(area);
    let header_h = if is_tall(area) { 3 } else { 2 };
    let [header, banner, body, footer] = Layout::vertical([
        Constraint::Length(header_h),
        Constraint::Length(banner_lines),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    // Flags need a title line plus their rows, but never crowd out the panel beside them.
    let flags_want = (flag_rows.max(1) as u16).saturating_add(1);
    // Signals take the full width: their rows have the most columns to show.
    // Signals get the rows they need up to 55 % of the body; the rest goes below.
    let want = u16::try_from(signal_rows.saturating_add(1)).unwrap_or(u16::MAX);
    let most = (u32::from(body.height) * 55 / 100) as u16;
    let signals_h = want.min(most).max(4.min(body.height));
    let [signals, bottom] =
        Layout::vertical([Constraint::Length(signals_h), Constraint::Fill(1)]).areas(body);
    let [timeline, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)])
        .spacing(1)
        .areas(bottom);
    let [flags, events] = Layout::vertical([
        Constraint::Length(flags_want.min(right.height / 2)),
        Constraint::Fill(1),
    ])
    .areas(right);
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
