//! Where each region goes, by terminal size.
//!
//! 80×24 and up, drawn here with `--ascii` (panels are a titled top rule: a full box
//! would cost two rows each); `modal.rs` and `help.rs` pop up centred over any size:
//! ```text
//! +----------------------------------------------------------------+
//! | T+17:45  PRODUCTION  brokers cut... | phase: cutover   1 CRIT  |  header.rs (2 lines; 3 from 120x40)
//! | sources 1/2 ok | SRC DOWN 1: flags | worst 840ms  20:41:07 UTC |
//! | BREACH p95 latency 2400 ms (crit > 2000) for 1m12s - press R   |  banner.rs (none when calm)
//! | > Signals 6 ------------------------------------------------   |  signals.rs (up to 55 % of the body)
//! | >* p95 latency   2400 ms .:-=+*# [CRIT]  1m12s  warn > 1000    |
//! |    api health    last good 45s ago [ERROR] 30s  refused        |
//! | Timeline --------------------  Flags 2 --------------------    |  timeline.rs (left half), flags.rs
//! | next: T+30m in 12:15           v2_primary  true  changed 3m    |    (its rows, up to half the right)
//! |   T-5m  GATE unsigned Go/No-Go Events 3 -------------------    |  events.rs (the rest of the right)
//! | > T0    Switch traffic to v2   20:39:55 [CRIT]  p95 latency    |
//! |    [x] flip v2_primary  by alice 20:24                         |
//! | ticked: flip v2_primary        ? help  q quit  Tab focus       |  footer.rs (1 line)
//! +----------------------------------------------------------------+
//! ```
//! The banner has a line per action under way or just ended, one for ROLLBACK ADVISED
//! and one per breach. Larger terminals keep this shape and give every region more
//! rows; from 120×32 ("wide") the banner shows up to three breaches and sparklines and
//! labels get wider; columns are sized to the rows' texts (`signals.rs`), extra columns
//! going to each signal row's tail (threshold, trip progress, baseline, advice). A compare
//! row that cannot hold its baseline gets a second line when every line fits.
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

/// `banner_lines`: lines the banner wants; `signal_rows`, `flag_rows`: rows in those panels;
/// `second_lines`: the signals' second lines (compare rows' baselines), given only when
/// they fit with every row.
pub fn screen(
    area: Rect,
    banner_lines: u16,
    signal_rows: usize,
    second_lines: usize,
    flag_rows: usize,
) -> Screen {
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
    let lines = |n: usize| u16::try_from(n.saturating_add(1)).unwrap_or(u16::MAX);
    let most = (u32::from(body.height) * 55 / 100) as u16;
    let with_second = lines(signal_rows.saturating_add(second_lines));
    let want = if with_second <= most {
        with_second
    } else {
        lines(signal_rows)
    };
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
