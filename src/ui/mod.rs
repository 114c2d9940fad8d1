//! The whole screen: plain functions per screen region, one file each, that only read
//! `State`; `layout.rs` says where each region goes. Here: what every region reads
//! (`View`), the `Pen` they write with, and the panel frame.
//!
//! No I/O and no system clock here: every age and countdown is computed from
//! `state.mono` (a wall step moves none of them) and the times shown from `state.now`,
//! so a frame is a pure function of (state, theme, size).

mod banner;
mod compact;
mod detail;
mod events;
mod fit;
mod flags;
mod footer;
mod header;
mod help;
mod hold;
pub mod layout;
mod modal;
mod signals;
mod timeline;

#[cfg(test)]
mod frame_tests;
#[cfg(test)]
mod tests;

use crate::app::{Focus, State};
use crate::config::SignalKind;
use crate::engine::{Band, Counts, Row};
use crate::sample::{Mono, Ts};
use crate::theme::{Glyphs, Role, Theme};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

/// Draws the whole screen for the frame's size.
pub fn render(frame: &mut ratatui::Frame, state: &State, theme: &Theme) {
    let area = frame.area();
    render_to(frame.buffer_mut(), area, state, theme);
}

/// The same into any buffer (for tests and benchmarks).
pub fn render_to(buf: &mut Buffer, area: Rect, state: &State, theme: &Theme) {
    let v = View::new(state, theme);
    let wide = layout::is_wide(area);
    let banner_lines = banner::lines_wanted(&v, wide);
    let flag_rows = state
        .engine
        .rows
        .iter()
        .filter(|r| r.kind == SignalKind::Flag)
        .count();
    let signal_rows = state.engine.rows.len() - flag_rows;
    let second_lines = signals::lines_wanted(&v, area.width);
    match layout::screen(area, banner_lines, signal_rows, second_lines, flag_rows) {
        layout::Screen::Full(a) => {
            header::render(buf, a.header, &v);
            banner::render(buf, a.banner, &v);
            signals::render(buf, a.signals, &v);
            flags::render(buf, a.flags, &v);
            timeline::render(buf, a.timeline, &v);
            events::render(buf, a.events, &v);
            footer::render(buf, a.footer, &v);
        }
        layout::Screen::Compact(r) => compact::render(buf, r, &v),
        layout::Screen::TooSmall(r) => compact::too_small(buf, r, &v),
    }
    if state.detail.is_some() {
        detail::render(buf, area, &v);
    }
    if state.modal.is_some() {
        modal::render(buf, area, &v);
    }
    if state.show_help {
        help::render(buf, area, &v);
    }
    if v.glyphs.ascii {
        ascii_only(buf, area);
    }
}

/// The last word on an ASCII screen: any cell still holding a character outside ASCII
/// (a label, a text from the engine or the config) gets its ASCII stand-in — one per
/// column it covers, so a wide character (CJK, most emoji) becomes `??` and every column
/// after it stays where it was.
fn ascii_only(buf: &mut Buffer, area: Rect) {
    let area = area.intersection(buf.area);
    for y in area.top()..area.bottom() {
        let mut x = area.left();
        while x < area.right() {
            let cell = &mut buf[(x, y)];
            let sym = cell.symbol();
            if sym.is_ascii() {
                x += 1;
                continue;
            }
            let cols = width(sym).max(1) as u16;
            let c = sym.chars().next().map_or('?', crate::theme::ascii_char);
            let mut stand_in = [0u8; 4];
            let stand_in: &str = c.encode_utf8(&mut stand_in);
            let style = cell.style();
            cell.set_symbol(stand_in);
            for k in 1..cols {
                if x + k < area.right() {
                    buf[(x + k, y)].set_symbol(stand_in).set_style(style);
                }
            }
            x += cols;
        }
    }
}

/// The screen as text, one string per row, cell by cell: what a reader of the
/// screen sees, without styles (tests, snapshots and recordings compare these).
pub fn dump(buf: &Buffer) -> Vec<String> {
    let area = buf.area;
    (area.top()..area.bottom())
        .map(|y| {
            (area.left()..area.right())
                .map(|x| buf[(x, y)].symbol())
                .collect()
        })
        .collect()
}

/// What every region reads, derived once per frame.
pub(crate) struct View<'a> {
    pub state: &'a State,
    pub theme: &'a Theme,
    pub glyphs: &'a Glyphs,
    pub counts: Counts,
    /// Critical rows whose effective band is crit: the banner's subject.
    pub breaches: Vec<&'a Row>,
    /// Wall time since T0 in milliseconds (negative before it); `None` until T0 is set.
    pub t_offset_ms: Option<i64>,
    /// Index into `cfg.steps` of the last step at or before now.
    pub current_step: Option<usize>,
    /// Index into `cfg.steps` of the first step after now.
    pub next_step: Option<usize>,
}

impl<'a> View<'a> {
    pub fn new(state: &'a State, theme: &'a Theme) -> Self {
        let t_offset_ms = state.t_offset_ms();
        let steps = &state.cfg.steps;
        let (mut current_step, mut next_step) = (None, None);
        if let Some(off) = t_offset_ms {
            for (i, st) in steps.iter().enumerate() {
                if st.at.0 <= off {
                    if current_step.is_none_or(|c: usize| steps[c].at.0 <= st.at.0) {
                        current_step = Some(i);
                    }
                } else if next_step.is_none_or(|n: usize| steps[n].at.0 > st.at.0) {
                    next_step = Some(i);
                }
            }
        }
        View {
            state,
            theme,
            glyphs: theme.glyphs(),
            counts: state.engine.counts(),
            breaches: state
                .engine
                .rows
                .iter()
                .filter(|r| r.critical && r.effective == Band::Crit)
                .collect(),
            t_offset_ms,
            current_step,
            next_step,
        }
    }

    /// The theme's style for a role.
    pub fn style(&self, role: Role) -> Style {
        self.theme.style(role)
    }

    /// The wall clock: for times of day and the T-clock.
    pub fn now(&self) -> Ts {
        self.state.now
    }

    /// The monotonic clock: for every age and countdown.
    pub fn mono(&self) -> Mono {
        self.state.mono
    }

    /// The phase: the latest `phase` named at or before the current step, else its title.
    pub fn phase(&self) -> Option<&'a str> {
        // A phase read from the system itself (cohortlens's flags) beats the timeline's.
        if let Some(p) = self.state.derived_phase() {
            return Some(p);
        }
        let cur = self.current_step?;
        let steps = &self.state.cfg.steps;
        let at = steps[cur].at.0;
        steps
            .iter()
            .filter(|st| st.at.0 <= at && st.phase.is_some())
            .max_by_key(|st| st.at.0)
            .and_then(|st| st.phase.as_deref())
            .or(Some(steps[cur].title.as_str()))
    }

    /// The key that opens the rollback, as the key map binds it.
    pub fn rollback_key(&self) -> String {
        self.state
            .keys
            .rollback()
            .map(|c| c.name())
            .unwrap_or_default()
    }

    pub fn focused(&self, f: Focus) -> bool {
        self.state.focus == f
    }

    /// The overall word and its style: "ALL OK" only when everything is green.
    pub fn overall(&self) -> (String, Style) {
        let c = &self.counts;
        let g = self.glyphs;
        if self.state.engine.rows.is_empty() {
            return (g.empty.before("WAITING FOR DATA"), self.style(Role::NoData));
        }
        if c.all_green() {
            return (g.ok.before("ALL OK"), self.style(Role::Ok));
        }
        let mut parts: Vec<String> = Vec::with_capacity(5);
        let (worst, role) = if c.crit > 0 {
            (g.crit, Role::Crit)
        } else if c.warn > 0 || c.sources_down > 0 || c.sources_limited > 0 {
            (g.warn, Role::Warn)
        } else {
            (g.empty, Role::NoData)
        };
        // The symbol of the worst state leads, without its word (the counts carry words).
        if !worst.symbol.is_empty() {
            parts.push(worst.symbol.to_string());
        }
        if c.crit > 0 {
            parts.push(format!("{} {}", c.crit, g.crit.word));
        }
        if c.warn > 0 {
            parts.push(format!("{} {}", c.warn, g.warn.word));
        }
        if c.no_data > 0 {
            parts.push(format!("{} NO DATA", c.no_data));
        }
        // The header's second line names down sources; here only when nothing else is wrong.
        if c.sources_down > 0 && c.crit + c.warn + c.no_data == 0 {
            parts.push(format!("{} SRC DOWN", c.sources_down));
        }
        if c.sources_limited > 0 && c.crit + c.warn + c.no_data == 0 {
            parts.push(format!("{} RATE LIMITED", c.sources_limited));
        }
        (parts.join(" "), self.style(role))
    }
}

// ---------------------------------------------------------------- helpers

pub(crate) fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// A panel: a top rule with the title (cheaper in rows than a full box, which
/// matters at 80×24), the title marked and bold when the panel has focus.
pub(crate) fn panel(buf: &mut Buffer, area: Rect, title: &str, focused: bool, v: &View) -> Rect {
    let title_style = if focused {
        v.style(Role::Accent).patch(v.style(Role::Selected))
    } else {
        v.style(Role::Accent)
    };
    let mark = if focused { v.glyphs.current } else { "" };
    let title = Line::from(vec![
        Span::raw(" "),
        Span::styled(
            format!("{mark}{}{title}", if focused { " " } else { "" }),
            title_style,
        ),
        Span::raw(" "),
    ]);
    let block = Block::new()
        .borders(Borders::TOP)
        .border_set(v.glyphs.border)
        .border_style(v.style(Role::Border))
        .title(title);
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// Writes left to right along one line of an area, clipping at its right edge.
pub(crate) struct Pen<'b> {
    buf: &'b mut Buffer,
    pub x: u16,
    y: u16,
    left: u16,
    right: u16,
}

impl<'b> Pen<'b> {
    /// `None` when `row` is outside the area, so callers cannot write out of bounds.
    pub fn new(buf: &'b mut Buffer, area: Rect, row: u16) -> Option<Self> {
        let area = area.intersection(buf.area);
        if row >= area.height || area.width == 0 {
            return None;
        }
        Some(Pen {
            buf,
            x: area.x,
            y: area.y + row,
            left: area.x,
            right: area.right(),
        })
    }

    pub fn room(&self) -> usize {
        self.right.saturating_sub(self.x) as usize
    }

    /// Fills the whole line with a style (e.g. the selection background).
    pub fn fill(&mut self, style: Style) {
        let r = Rect::new(self.left, self.y, self.right - self.left, 1);
        self.buf.set_style(r, style);
    }

    pub fn put(&mut self, s: &str, style: Style) -> &mut Self {
        if self.x < self.right {
            let (x, _) = self.buf.set_stringn(self.x, self.y, s, self.room(), style);
            self.x = x;
        }
        self
    }

    /// Writes at most `max` columns, ending in an ellipsis when cut.
    pub fn put_fit(&mut self, s: &str, max: usize, style: Style, ellipsis: &str) -> &mut Self {
        let max = max.min(self.room());
        if width(s) <= max {
            return self.put(s, style);
        }
        let ew = width(ellipsis);
        if max <= ew {
            return self.put(s, style);
        }
        let (x, _) = self.buf.set_stringn(self.x, self.y, s, max - ew, style);
        self.x = x;
        self.put(ellipsis, style)
    }

    /// Like `put_fit`, but cuts the middle (`fit::middle`): row names such as endpoint
    /// paths differ at the end, so the tail must survive.
    pub fn put_fit_middle(
        &mut self,
        s: &str,
        max: usize,
        style: Style,
        ellipsis: &str,
    ) -> &mut Self {
        let max = max.min(self.room());
        self.put(&fit::middle(s, max, ellipsis), style)
    }

    /// Moves to column `col` of the area (only forward), so columns line up.
    pub fn col(&mut self, col: u16) -> &mut Self {
        let x = self.left.saturating_add(col).min(self.right);
        if x > self.x {
            self.x = x;
        }
        self
    }

    pub fn space(&mut self) -> &mut Self {
        self.x = (self.x + 1).min(self.right);
        self
    }

    /// Writes `s` ending at the right edge, if it fits after what is already there.
    pub fn put_right(&mut self, s: &str, style: Style) -> bool {
        let w = width(s) as u16;
        if w > self.right.saturating_sub(self.x) {
            return false;
        }
        self.x = self.right - w;
        self.put(s, style);
        true
    }
}
