//! Help overlay: a centred popup listing every key of the key map.

use super::{Pen, View};
use crate::app::Action;
use crate::theme::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Widget};

/// Arrows become words with `--ascii` (terminals without those glyphs).
fn keys_text(keys: &str, ascii: bool) -> String {
    if ascii {
        keys.replace('↓', "Down").replace('↑', "Up")
    } else {
        keys.to_string()
    }
}

fn close_hint(v: &View) -> String {
    match v.state.keys.name_for(Action::ToggleHelp) {
        Some(k) => format!(" Esc or {k} to close "),
        None => " Esc to close ".into(),
    }
}

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    let ascii = v.glyphs.ascii;
    let help = v.state.keys.help(&v.state.cfg);
    let key_w = help
        .iter()
        .map(|(k, _)| super::width(&keys_text(k, ascii)))
        .max()
        .unwrap_or(0);
    let text_w = help.iter().map(|(_, d)| super::width(d)).max().unwrap_or(0);
    let want_w = (key_w + text_w + 6) as u16;
    let want_h = help.len() as u16 + 4;
    let w = want_w.min(area.width);
    let h = want_h.min(area.height);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    Clear.render(popup, buf);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_set(v.glyphs.border)
        .border_style(v.style(Role::Accent))
        .title(Line::styled(" Help ", v.style(Role::Accent)))
        .title_bottom(Line::styled(close_hint(v), v.style(Role::Muted)));
    let inner = block.inner(popup);
    block.render(popup, buf);
    for (i, (k, d)) in help.iter().enumerate() {
        let Some(mut p) = Pen::new(buf, inner, i as u16 + 1) else {
            break;
        };
        p.put(" ", v.style(Role::Text)).put(
            &keys_text(k, ascii),
            v.style(Role::Text).add_modifier(Modifier::BOLD),
        );
        p.col(key_w as u16 + 3);
        p.put(d, v.style(Role::Text));
    }
}
