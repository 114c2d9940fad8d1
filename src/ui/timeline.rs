//! Timeline panel: steps within the window, the current one marked, the
//! countdown to the next, and each step's checklist with who ticked what.

use super::{panel, Pen, View};
use crate::app::Focus;
use crate::app::RunState;
use crate::timefmt::{age, countdown, format_t_offset};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;

/// One line of the scrolled list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Step(usize),
    Check(usize, usize),
    /// Steps outside the window, listed compactly: (before?, count).
    Outside(bool),
}

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    if area.height == 0 {
        return;
    }
    let focused = v.focused(Focus::Timeline);
    let inner = panel(buf, area, "Timeline", focused, v);
    let (t, g) = (v.t, v.g);
    let cfg = &v.s.cfg;
    let (ws, we) = (cfg.cutover.window_start.0, cfg.cutover.window_end.0);

    // First line: where we are and what comes next (not scrolled).
    if let Some(mut p) = Pen::new(buf, inner, 0) {
        p.put(" ", t.text());
        match (v.t_off, v.next) {
            (None, _) => {
                p.put("T0 not set", t.warn());
                match v.s.keys.name_for(crate::app::Action::MarkT0) {
                    Some(k) if !v.s.read_only => {
                        p.put(&format!(" - press {k} to mark it (confirmed)"), t.muted());
                    }
                    _ => {
                        p.put(" - steps shown by offset", t.muted());
                    }
                }
            }
            (Some(off), Some(n)) => {
                let st = &cfg.steps[n];
                p.put("next: ", t.muted())
                    .put(&format!("{} ", format_t_offset(st.at.0)), t.accent())
                    .put(&format!("in {}", countdown(st.at.0 - off)), t.accent())
                    .put("  ", t.text());
                let room = p.room();
                p.put_fit(&st.title, room, t.text(), g.ellipsis);
            }
            (Some(_), None) => {
                p.put("no further steps", t.muted());
            }
        }
    }

    // The scrolled list; steps are few, so building it each frame is cheap.
    let mut order: Vec<usize> = (0..cfg.steps.len()).collect();
    order.sort_by_key(|i| cfg.steps[*i].at.0);
    let before = order.iter().filter(|i| cfg.steps[**i].at.0 < ws).count();
    let after = order.iter().filter(|i| cfg.steps[**i].at.0 > we).count();
    let mut items = Vec::with_capacity(order.len() * 4 + 2);
    if before > 0 {
        items.push(Item::Outside(true));
    }
    for &i in &order {
        let at = cfg.steps[i].at.0;
        if at < ws || at > we {
            continue;
        }
        items.push(Item::Step(i));
        for j in 0..cfg.steps[i].checklist.len() {
            items.push(Item::Check(i, j));
        }
    }
    if after > 0 {
        items.push(Item::Outside(false));
    }

    let list = Rect {
        y: inner.y.saturating_add(1),
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let h = list.height as usize;
    // Keep the selected item (when focused) or the current step in view, with some context above.
    let target = if focused {
        let (s, j) = v.s.selected_item;
        items.iter().position(|it| *it == Item::Check(s, j))
    } else {
        None
    }
    .or_else(|| {
        v.current
            .and_then(|c| items.iter().position(|it| *it == Item::Step(c)))
    })
    .unwrap_or(0);
    let off = if items.len() <= h {
        0
    } else {
        target.saturating_sub(h / 3).min(items.len() - h)
    };

    for (y, it) in items.iter().skip(off).take(h).enumerate() {
        let Some(mut p) = Pen::new(buf, list, y as u16) else {
            break;
        };
        match *it {
            Item::Step(i) => {
                let st = &cfg.steps[i];
                let is_current = v.current == Some(i);
                let past = v.t_off.is_some_and(|o| st.at.0 < o) && !is_current;
                let style = if is_current {
                    t.accent()
                } else if past {
                    t.muted()
                } else {
                    t.text()
                };
                p.put(" ", t.text());
                p.put(if is_current { g.current } else { " " }, t.accent());
                p.put(" ", t.text())
                    .put(&format!("{:<7}", format_t_offset(st.at.0)), style);
                if st.gate {
                    p.put("GATE", t.warn().add_modifier(Modifier::REVERSED))
                        .put(" ", t.text());
                    match v.s.signoffs.get(i).and_then(|s| s.as_ref()) {
                        Some(so) => {
                            let (word, st_) = if so.go {
                                ("GO", t.ok())
                            } else {
                                ("NO-GO", t.crit())
                            };
                            p.put(word, st_.add_modifier(Modifier::BOLD)).put(
                                &format!(" {} {} ", so.name, so.at.format("%H:%M")),
                                t.muted(),
                            );
                        }
                        None => {
                            p.put("unsigned ", t.muted());
                        }
                    }
                }
                // A step's script: its state, or its evidence once it ran.
                let script = st.run.as_ref().map(|_| {
                    let r = &v.s.step_runs[i];
                    match (&r.state, &r.last) {
                        (RunState::InFlight { since }, _) => {
                            (format!(" [running {}]", age(v.mono(), *since)), t.warn())
                        }
                        (_, Some(rep)) if rep.ok => (format!(" [{}]", rep.summary), t.ok()),
                        (_, Some(rep)) => (format!(" [FAILED {}]", rep.summary), t.crit()),
                        _ => (" [! to run]".to_string(), t.muted()),
                    }
                });
                let expect = (is_current && !st.expect.is_empty()).then(|| {
                    let unmet: Vec<String> = st
                        .expect
                        .iter()
                        .filter(|c| {
                            !v.s.engine.rows.iter().any(|r| {
                                v.s.engine.signal(r).id == c.signal
                                    && matches!(r.status, crate::engine::Status::Band(_))
                                    && r.value.as_ref().is_some_and(|x| c.is.holds(x))
                            })
                        })
                        .map(|c| format!("{} {}", c.signal, c.is))
                        .collect();
                    if unmet.is_empty() {
                        (" [expect ok]".to_string(), t.ok())
                    } else {
                        (format!(" [expect: {}]", unmet.join(", ")), t.warn())
                    }
                });
                let tail_w = script.as_ref().map_or(0, |(s, _)| super::width(s))
                    + expect.as_ref().map_or(0, |(s, _)| super::width(s));
                let room = p.room().saturating_sub(tail_w).max(8);
                p.put_fit(&st.title, room, style, g.ellipsis);
                for (text, st_) in script.into_iter().chain(expect) {
                    p.put(&text, st_);
                }
            }
            Item::Check(i, j) => {
                let selected = focused && v.s.selected_item == (i, j);
                if selected {
                    p.fill(t.selected());
                }
                let tick =
                    v.s.ticks
                        .get(i)
                        .and_then(|s| s.get(j))
                        .and_then(|t| t.as_ref());
                p.put(if selected { g.selected } else { " " }, t.text());
                p.col(4);
                let text = &cfg.steps[i].checklist[j];
                match tick {
                    Some(tk) => {
                        p.put(g.tick_done, t.ok()).put(" ", t.text());
                        let by = format!("  by {} {}", tk.by, tk.at.format("%H:%M"));
                        let room = p.room().saturating_sub(super::width(&by));
                        p.put_fit(text, room.max(8), t.muted(), g.ellipsis);
                        p.put(&by, t.muted());
                    }
                    None => {
                        p.put(g.tick_todo, t.text()).put(" ", t.text());
                        let room = p.room();
                        p.put_fit(text, room, t.text(), g.ellipsis);
                    }
                }
            }
            Item::Outside(is_before) => {
                p.col(3);
                let (n, style) = if is_before {
                    (before, t.muted())
                } else {
                    (after, t.muted())
                };
                let label = if is_before { "earlier" } else { "later" };
                p.put(&format!("{n} {label}: "), style);
                // Listed compactly: offset and title of each, as far as the width goes.
                let mut first = true;
                for &i in order.iter().filter(|i| {
                    let at = cfg.steps[**i].at.0;
                    if is_before {
                        at < ws
                    } else {
                        at > we
                    }
                }) {
                    if !first {
                        p.put(g.sep, style);
                    }
                    first = false;
                    let st = &cfg.steps[i];
                    p.put(&format!("{} {}", format_t_offset(st.at.0), st.title), style);
                    if p.room() == 0 {
                        break;
                    }
                }
            }
        }
    }
}
