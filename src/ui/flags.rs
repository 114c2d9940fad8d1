//! Flags panel: each flag's value and when it last changed.

use super::{panel, Pen, View};
use crate::app::Focus;
use crate::config::SignalKind;
use crate::engine::{Band, Status};
use crate::theme::Role;
use crate::timefmt::age;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    if area.height == 0 {
        return;
    }
    let n = v
        .state
        .engine
        .rows
        .iter()
        .filter(|r| r.kind == SignalKind::Flag)
        .count();
    let shown = n.min(area.height.saturating_sub(1) as usize);
    // Say when some flags do not fit, rather than hide them silently.
    let title = if shown < n {
        format!("Flags {shown} of {n}")
    } else {
        format!("Flags {n}")
    };
    let inner = panel(buf, area, &title, v.focused(Focus::Flags), v);
    // Names whole when the values still fit beside them (what changed when, and a reason,
    // are cut first); below that a third of the panel, cut in the middle.
    let flags = || {
        v.state
            .engine
            .rows
            .iter()
            .filter(|r| r.kind == SignalKind::Flag)
    };
    let value_w = flags()
        .map(|r| match (r.status, &r.value) {
            (Status::Band(b), Some(val)) => {
                let word = if b == Band::Ok {
                    0
                } else {
                    1 + super::width(v.glyphs.band(b).label())
                };
                super::width(&val.with_unit(r.unit.as_deref())) + word
            }
            (Status::Band(_), None) => super::width("no data yet"),
            (status, _) => super::width(v.glyphs.status(status).label()),
        })
        .max()
        .unwrap_or(0);
    let longest = flags().map(|r| super::width(&r.label)).max().unwrap_or(0);
    let room = (inner.width as usize).saturating_sub(3 + value_w);
    let label_w = longest.min(room.max(inner.width as usize / 3)) as u16;
    let mut y = 0;
    for r in v
        .state
        .engine
        .rows
        .iter()
        .filter(|r| r.kind == SignalKind::Flag)
        .take(inner.height as usize)
    {
        let Some(mut p) = Pen::new(buf, inner, y) else {
            break;
        };
        y += 1;
        p.put(" ", v.style(Role::Text)).put_fit_middle(
            &r.label,
            label_w as usize,
            v.style(Role::Text),
            v.glyphs.ellipsis,
        );
        p.col(label_w + 2);
        match (r.status, &r.value) {
            (Status::Band(b), Some(val)) => {
                let style = if b == Band::Ok {
                    v.style(Role::Accent)
                } else {
                    v.theme.band(b)
                };
                p.put(&val.with_unit(r.unit.as_deref()), style);
                // A flag out of its expected value shows the word too, not just a colour.
                if b != Band::Ok {
                    p.space().put(v.glyphs.band(b).label(), v.theme.band(b));
                }
                if let Some(at) = r.changed_at {
                    p.put(
                        &format!("  changed {} ago", age(v.mono(), at)),
                        v.style(Role::Muted),
                    );
                }
            }
            (Status::Band(_), None) => {
                p.put("no data yet", v.style(Role::NoData));
            }
            (status, _) => {
                p.put(v.glyphs.status(status).label(), v.theme.status(status));
                if let Some(reason) = &r.reason {
                    p.space().put(reason, v.style(Role::NoData));
                }
                if let Some(at) = r.last_good_at {
                    p.put(
                        &format!("  last good {} ago", age(v.mono(), at)),
                        v.style(Role::Muted),
                    );
                }
            }
        }
    }
    if y == 0 {
        if let Some(mut p) = Pen::new(buf, inner, 0) {
            p.put(" no flags", v.style(Role::Muted));
        }
    }
}
