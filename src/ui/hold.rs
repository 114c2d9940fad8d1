//! A hold's line under its step in the timeline: its signal, condition and window, where
//! it stands (a word, so it reads without colour), and the verdict in words — the wide
//! form when the panel has room for it, the short one (`3d04h/7d · broke 0.14%`) at 80
//! columns.

use super::{Pen, View};
use crate::theme::Role;
use ratatui::style::Modifier;

/// The fewest columns a cut title keeps, its ellipsis included.
const MIN_TITLE: usize = 6;

/// The `k`-th hold of `step`, on one line.
pub(super) fn line(p: &mut Pen, v: &View, step: usize, k: usize) {
    let verdicts = v.state.hold_verdicts(step);
    let Some(h) = verdicts.get(k) else {
        return;
    };
    let role = match h.word() {
        "HELD" => Role::Ok,
        "HOLDING" => Role::Warn,
        "NO DATA" => Role::NoData,
        _ => Role::Crit,
    };
    p.col(4);
    p.put("hold ", v.style(Role::Muted));
    let word = if v.state.holds().waiting() {
        "READING"
    } else {
        h.word()
    };
    p.put(word, v.style(role).add_modifier(Modifier::BOLD))
        .put(" ", v.style(Role::Text));
    let wide = h.text(true);
    let title = &h.title;
    // The title as far as it fits beside the verdict, the verdict as long as it fits.
    let room = p.room();
    let (text, need) = if super::width(title) + 1 + super::width(&wide) <= room {
        (wide, super::width(title) + 1)
    } else {
        let short = h.text(false);
        let need = (super::width(title) + 1).min(room.saturating_sub(super::width(&short)));
        (short, need)
    };
    // A title cut to a letter or two names nothing: it is shown whole or with a few of
    // its characters, else left out (the step above says which step it is).
    if need > 1 && need > super::width(title).min(MIN_TITLE) {
        p.put_fit(title, need - 1, v.style(Role::Text), v.glyphs.ellipsis);
        p.put(" ", v.style(Role::Text));
    }
    let room = p.room();
    p.put_fit(&text, room, v.style(Role::Muted), v.glyphs.ellipsis);
}
