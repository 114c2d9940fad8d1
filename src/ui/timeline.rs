//! Timeline panel: steps within the window, the current one marked, the
//! countdown to the next, and each step's checklist with who ticked what.

use super::{panel, Pen, View};
use crate::app::RunState;
use crate::app::{Focus, GateVerdict};
use crate::theme::Role;
use crate::timefmt::{age, countdown, format_t_offset};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;

/// One line of the scrolled list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Step(usize),
    Check(usize, usize),
    /// A step's hold: (step, index among its holds).
    Hold(usize, usize),
    /// A value its script's output showed (step, capture), under the step.
    Capture(usize, usize),
    /// Steps outside the window, listed compactly: (before?, count).
    Outside(bool),
}

/// The hint on a step whose script has not run yet.
const RUN_HINT: &str = " [! to run]";
/// How much of a step's title a line keeps before its hints give way.
const TITLE_MIN: usize = 16;

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    if area.height == 0 {
        return;
    }
    let focused = v.focused(Focus::Timeline);
    let inner = panel(buf, area, "Timeline", focused, v);
    let cfg = &v.state.cfg;
    let (ws, we) = (cfg.cutover.window_start.0, cfg.cutover.window_end.0);

    // First line: where we are and what comes next (not scrolled).
    if let Some(mut p) = Pen::new(buf, inner, 0) {
        p.put(" ", v.style(Role::Text));
        match (v.t_offset_ms, v.next_step) {
            (None, _) => {
                p.put("T0 not set", v.style(Role::Warn));
                match v.state.keys.name_for(crate::app::Action::MarkT0) {
                    Some(k) if !v.state.read_only => {
                        p.put(
                            &format!(" - press {k} to mark it (confirmed)"),
                            v.style(Role::Muted),
                        );
                    }
                    _ => {
                        p.put(" - steps shown by offset", v.style(Role::Muted));
                    }
                }
            }
            (Some(off), Some(n)) => {
                let st = &cfg.steps[n];
                p.put("next: ", v.style(Role::Muted))
                    .put(
                        &format!("{} ", format_t_offset(st.at.0)),
                        v.style(Role::Accent),
                    )
                    .put(
                        &format!("in {}", countdown(st.at.0 - off)),
                        v.style(Role::Accent),
                    )
                    .put("  ", v.style(Role::Text));
                let room = p.room();
                p.put_fit(&st.title, room, v.style(Role::Text), v.glyphs.ellipsis);
            }
            (Some(_), None) => {
                p.put("no further steps", v.style(Role::Muted));
            }
        }
    }

    // The scrolled list; steps are few, so building it each frame is cheap. Steps outside
    // the visible window are listed compactly, except the current one and the selected
    // one: those are shown in full wherever they are, so the list can scroll to any step.
    let selected_step = focused.then_some(v.state.selected_item.0);
    let pinned = |i: usize| Some(i) == v.current_step || Some(i) == selected_step;
    let outside = |i: usize| {
        let at = cfg.steps[i].at.0;
        (at < ws || at > we) && !pinned(i)
    };
    let mut order: Vec<usize> = (0..cfg.steps.len()).collect();
    order.sort_by_key(|i| cfg.steps[*i].at.0);
    let before = order
        .iter()
        .filter(|i| outside(**i) && cfg.steps[**i].at.0 < ws)
        .count();
    let after = order
        .iter()
        .filter(|i| outside(**i) && cfg.steps[**i].at.0 > we)
        .count();
    let mut items = Vec::with_capacity(order.len() * 4 + 2);
    if before > 0 {
        items.push(Item::Outside(true));
    }
    for &i in &order {
        if outside(i) {
            continue;
        }
        items.push(Item::Step(i));
        items.extend((0..cfg.steps[i].hold.len()).map(|k| Item::Hold(i, k)));
        items.extend(
            captures_of(v, i)
                .iter()
                .enumerate()
                .map(|(k, _)| Item::Capture(i, k)),
        );
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
        let (s, j) = v.state.selected_item;
        items
            .iter()
            .position(|it| *it == Item::Check(s, j))
            .or_else(|| items.iter().position(|it| *it == Item::Step(s)))
    } else {
        None
    }
    .or_else(|| {
        v.current_step
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
                // A step without a checklist is selected by its own line.
                if focused && v.state.selected_item == (i, 0) && st.checklist.is_empty() {
                    p.fill(v.style(Role::Selected));
                }
                let is_current = v.current_step == Some(i);
                let past = v.t_offset_ms.is_some_and(|o| st.at.0 < o) && !is_current;
                let style = if is_current {
                    v.style(Role::Accent)
                } else if past {
                    v.style(Role::Muted)
                } else {
                    v.style(Role::Text)
                };
                p.put(" ", v.style(Role::Text));
                p.put(
                    if is_current { v.glyphs.current } else { " " },
                    v.style(Role::Accent),
                );
                // A column of seven; a longer offset keeps a space before the title.
                let off = format_t_offset(st.at.0);
                let cell = if off.chars().count() < 7 {
                    format!("{off:<7}")
                } else {
                    format!("{off} ")
                };
                p.put(" ", v.style(Role::Text)).put(&cell, style);
                if st.gate {
                    p.put("GATE", v.style(Role::Warn).add_modifier(Modifier::REVERSED))
                        .put(" ", v.style(Role::Text));
                    // Where the gate stands, and the signature that decided it last.
                    let latest = v
                        .state
                        .signoffs
                        .get(i)
                        .and_then(|sigs| crate::app::gate::decisions(st, sigs).last().copied());
                    let verdict = v.state.gate_verdict(i);
                    let (word, role, who) = match &verdict {
                        Some(GateVerdict::Go) => ("GO".to_string(), Role::Ok, latest),
                        Some(GateVerdict::NoGo { by }) => {
                            ("NO-GO".to_string(), Role::Crit, Some(by))
                        }
                        Some(GateVerdict::Pending { have, need }) if *have > 0 => {
                            (format!("GO {have}/{need}"), Role::Warn, latest)
                        }
                        _ => ("unsigned".to_string(), Role::Muted, None),
                    };
                    let st_ = if role == Role::Muted {
                        v.style(role)
                    } else {
                        v.style(role).add_modifier(Modifier::BOLD)
                    };
                    p.put(&word, st_);
                    match who {
                        Some(so) => p.put(
                            &format!(" {} {} ", so.name, so.at.format("%H:%M")),
                            v.style(Role::Muted),
                        ),
                        None => p.put(" ", v.style(Role::Muted)),
                    };
                }
                // A step's script: its state, or its evidence once it ran.
                let script = st.run.as_ref().map(|_| {
                    let r = &v.state.step_runs[i];
                    match (&r.state, &r.last) {
                        (RunState::InFlight { since }, _) => (
                            format!(" [running {}]", age(v.mono(), *since)),
                            v.style(Role::Warn),
                        ),
                        (_, Some(rep)) if rep.ok => {
                            (format!(" [{}]", rep.summary), v.style(Role::Ok))
                        }
                        (_, Some(rep)) => {
                            (format!(" [FAILED {}]", rep.summary), v.style(Role::Crit))
                        }
                        _ => (RUN_HINT.to_string(), v.style(Role::Muted)),
                    }
                });
                let expect = (is_current && !st.expect.is_empty()).then(|| {
                    let unmet: Vec<String> = st
                        .expect
                        .iter()
                        .filter(|c| {
                            !v.state.engine.rows.iter().any(|r| {
                                v.state.engine.signal(r).id == c.signal
                                    && matches!(r.status, crate::engine::Status::Band(_))
                                    && r.value.as_ref().is_some_and(|x| c.is.holds(x))
                            })
                        })
                        .map(|c| format!("{} {}", c.signal, c.is))
                        .collect();
                    if unmet.is_empty() {
                        (" [expect ok]".to_string(), v.style(Role::Ok))
                    } else {
                        (
                            format!(" [expect: {}]", unmet.join(", ")),
                            v.style(Role::Warn),
                        )
                    }
                });
                let tails_w = |script: &Option<(String, _)>| {
                    script.as_ref().map_or(0, |(s, _)| super::width(s))
                        + expect.as_ref().map_or(0, |(s, _)| super::width(s))
                };
                // On a narrow panel the run hint goes first (the help names `!`): the
                // title and the step's state are what the room reads.
                let fits = p.room() >= tails_w(&script) + TITLE_MIN;
                let script = script.filter(|(s, _)| fits || s != RUN_HINT);
                let tail_w = tails_w(&script);
                let room = p.room().saturating_sub(tail_w).max(8);
                p.put_fit(&st.title, room, style, v.glyphs.ellipsis);
                for (text, st_) in script.into_iter().chain(expect) {
                    p.put(&text, st_);
                }
            }
            Item::Check(i, j) => {
                let selected = focused && v.state.selected_item == (i, j);
                if selected {
                    p.fill(v.style(Role::Selected));
                }
                let tick = v
                    .state
                    .ticks
                    .get(i)
                    .and_then(|s| s.get(j))
                    .and_then(|t| t.as_ref());
                p.put(
                    if selected { v.glyphs.selected } else { " " },
                    v.style(Role::Text),
                );
                p.col(4);
                let text = &cfg.steps[i].checklist[j];
                match tick {
                    Some(tk) => {
                        p.put(v.glyphs.tick_done, v.style(Role::Ok))
                            .put(" ", v.style(Role::Text));
                        let by = format!("  by {} {}", tk.by, tk.at.format("%H:%M"));
                        let room = p.room().saturating_sub(super::width(&by));
                        p.put_fit(text, room.max(8), v.style(Role::Muted), v.glyphs.ellipsis);
                        p.put(&by, v.style(Role::Muted));
                    }
                    None => {
                        p.put(v.glyphs.tick_todo, v.style(Role::Text))
                            .put(" ", v.style(Role::Text));
                        let room = p.room();
                        p.put_fit(text, room, v.style(Role::Text), v.glyphs.ellipsis);
                    }
                }
            }
            Item::Hold(i, k) => super::hold::line(&mut p, v, i, k),
            Item::Capture(i, k) => {
                if let Some(c) = captures_of(v, i).get(k) {
                    capture_line(&mut p, v, c);
                }
            }
            Item::Outside(is_before) => {
                p.col(3);
                let (n, style) = if is_before {
                    (before, v.style(Role::Muted))
                } else {
                    (after, v.style(Role::Muted))
                };
                let label = if is_before { "earlier" } else { "later" };
                p.put(&format!("{n} {label}: "), style);
                // Listed compactly: offset and title of each, as far as the width goes.
                let mut first = true;
                for &i in order.iter().filter(|i| {
                    let at = cfg.steps[**i].at.0;
                    outside(**i) && if is_before { at < ws } else { at > we }
                }) {
                    if !first {
                        p.put(v.glyphs.sep, style);
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

/// The values the step's last script run captured (none before it ran).
fn captures_of<'a>(v: &'a View, step: usize) -> &'a [crate::capture::Captured] {
    v.state
        .step_runs
        .get(step)
        .and_then(|r| r.last.as_ref())
        .map_or(&[], |r| r.captures.as_slice())
}

/// `mean_delta_pct 3.2 % ✔ (< 5)`: the value, its verdict's mark in the role's colour, and
/// the expectation; ASCII words where glyphs are off.
fn capture_line(p: &mut Pen, v: &View, c: &crate::capture::Captured) {
    use crate::capture::Verdict;
    p.col(6);
    let (mark, role) = match c.verdict {
        Verdict::Pass if v.glyphs.ascii => (v.glyphs.ok.word, Role::Ok),
        Verdict::Pass => (v.glyphs.ok.symbol, Role::Ok),
        Verdict::Recorded => (v.glyphs.dash, Role::Muted),
        Verdict::Fail | Verdict::NotFound | Verdict::Redacted => (v.glyphs.fail, Role::Crit),
    };
    let value = match (c.verdict, &c.value) {
        (Verdict::Redacted, _) => "redacted".to_string(),
        (_, Some(x)) => match &c.unit {
            Some(u) => format!("{x} {u}"),
            None => x.clone(),
        },
        (_, None) => c.why.clone().unwrap_or_default(),
    };
    p.put(&format!("{} ", c.name), v.style(Role::Text))
        .put(&format!("{value} "), v.style(role))
        .put(mark, v.style(role).add_modifier(Modifier::BOLD));
    let mut paren: Vec<String> = c.expect.iter().cloned().collect();
    if c.value.is_some() {
        paren.extend(c.why.iter().cloned());
    }
    if !paren.is_empty() {
        let room = p.room();
        p.put_fit(
            &format!(" ({})", paren.join("; ")),
            room,
            v.style(Role::Muted),
            v.glyphs.ellipsis,
        );
    }
}
