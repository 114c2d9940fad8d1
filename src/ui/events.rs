//! Events panel: newest first, time, severity symbol and word, text.

use super::{panel, Pen, View};
use crate::app::Focus;
use crate::theme::Role;
use crate::timefmt::hms;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    if area.height == 0 {
        return;
    }
    let n = v.state.events.len();
    let inner = panel(
        buf,
        area,
        &format!("Events {n}"),
        v.focused(Focus::Events),
        v,
    );
    if n == 0 {
        if let Some(mut p) = Pen::new(buf, inner, 0) {
            p.put(" no events yet", v.style(Role::Muted));
        }
        return;
    }
    // `events` is appended at the back, so newest first is back to front.
    for (y, e) in v
        .state
        .events
        .iter()
        .rev()
        .take(inner.height as usize)
        .enumerate()
    {
        let Some(mut p) = Pen::new(buf, inner, y as u16) else {
            break;
        };
        p.put(" ", v.style(Role::Text))
            .put(&hms(e.at), v.style(Role::Muted))
            .put(" ", v.style(Role::Text))
            .put(
                &format!("{:<7}", v.glyphs.severity(e.severity).label()),
                v.theme.severity(e.severity),
            )
            .put(" ", v.style(Role::Text));
        let room = p.room();
        p.put_fit(&e.text, room, v.style(Role::Text), v.glyphs.ellipsis);
    }
}
