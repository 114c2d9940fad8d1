//! Footer: the current notice and the few keys that matter most, as the key map binds them.

use super::{Pen, View};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    let Some(mut p) = Pen::new(buf, area, 0) else {
        return;
    };
    let hint = format!("{} ", v.s.keys.footer_hint());
    let hint_w = super::width(&hint);
    if let Some(n) = &v.s.notice {
        p.put(" ", v.t.text());
        let room = p.room().saturating_sub(hint_w + 1);
        p.put_fit(&n.text, room, v.t.accent(), v.g.ellipsis);
    }
    p.put_right(&hint, v.t.muted());
}
