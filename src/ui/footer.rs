//! Footer: the current notice and the few keys that matter most, as the key map binds them.

use super::{Pen, View};
use crate::theme::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    let Some(mut p) = Pen::new(buf, area, 0) else {
        return;
    };
    let hint = format!("{} ", v.state.keys.footer_hint());
    let hint_w = super::width(&hint);
    if let Some(n) = &v.state.notice {
        p.put(" ", v.style(Role::Text));
        let room = p.room().saturating_sub(hint_w + 1);
        p.put_fit(&n.text, room, v.style(Role::Accent), v.glyphs.ellipsis);
    }
    p.put_right(&hint, v.style(Role::Muted));
}
