//! Events panel: newest first, time, severity symbol and word, text.

use super::{panel, Pen, View};
use crate::app::Focus;
use crate::timefmt::hms;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    if area.height == 0 {
        return;
    }
    let n = v.s.events.len();
    let inner = panel(
        buf,
        area,
        &format!("Events {n}"),
        v.focused(Focus::Events),
        v,
    );
    let (t, g) = (v.t, v.g);
    if n == 0 {
        if let Some(mut p) = Pen::new(buf, inner, 0) {
            p.put(" no events yet", t.muted());
        }
        return;
    }
    // `events` is appended at the back, so newest first is back to front.
    for (y, e) in
        v.s.events
            .iter()
            .rev()
            .take(inner.height as usize)
            .enumerate()
    {
        let Some(mut p) = Pen::new(buf, inner, y as u16) else {
            break;
        };
        p.put(" ", t.text())
            .put(&hms(e.at), t.muted())
            .put(" ", t.text())
            .put(
                &format!("{:<7}", g.severity(e.severity)),
                t.severity(e.severity),
            )
            .put(" ", t.text());
        let room = p.room();
        p.put_fit(&e.text, room, t.text(), g.ellipsis);
    }
}
