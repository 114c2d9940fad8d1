//! The confirmation modal and the action menu: centred popups over any screen size.
//! A danger action's frame is drawn in the danger style; Cancel is the default.

use super::{Pen, View};
use crate::app::update::CONFIRM_IDLE_MS;
use crate::app::{ConfirmKind, Modal, RunState, Verdict};
use crate::theme::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Widget};

/// A GO over a step whose own script evidence failed (a capture off its expectation, a
/// failed run) is said before the name is typed.
fn evidence_warning(v: &View, step: usize, width: usize) -> Vec<String> {
    let Some(rep) = v.state.step_runs.get(step).and_then(|r| r.last.as_ref()) else {
        return Vec::new();
    };
    if rep.ok {
        return Vec::new();
    }
    let what = crate::capture::failure_text(&rep.captures).unwrap_or_else(|| rep.summary.clone());
    wrap(
        &format!(
            "{} WARNING: this step's script evidence FAILED ({what}). Sign GO only if you accept it.",
            v.glyphs.warning
        ),
        width,
    )
}

fn popup(area: Rect, want_w: u16, want_h: u16) -> Rect {
    let w = want_w.min(area.width);
    let h = want_h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    match &v.state.modal {
        Some(Modal::Confirm(c)) => {
            let danger = match c.kind {
                ConfirmKind::Action(i) => v.state.cfg.actions.get(i).is_some_and(|a| a.danger),
                ConfirmKind::MarkT0 | ConfirmKind::StepRun(_) | ConfirmKind::Note => false,
                ConfirmKind::SignOff { go, .. } => !go,
            };
            let frame_style = if danger {
                v.style(Role::Danger)
            } else {
                v.style(Role::Accent)
            };
            let text = v.style(Role::Text);
            let bold = text.add_modifier(Modifier::BOLD);
            // Long lines that must be read whole (the previous attempt, why Enter did
            // nothing) wrap to the popup's width instead of being cut.
            let wrap_w = (area.width.min(100) as usize).saturating_sub(6).max(20);
            let mut head: Vec<(String, Style)> = Vec::new();
            if !c.previous.is_empty() {
                head.push((
                    "Previous attempt:".into(),
                    v.style(Role::Warn).add_modifier(Modifier::BOLD),
                ));
                for l in &c.previous {
                    for w in wrap(l, wrap_w - 2) {
                        head.push((format!("  {w}"), v.style(Role::Warn)));
                    }
                }
            }
            head.push((
                format!(
                    "What will run (frozen at {} UTC):",
                    c.opened_at.format("%H:%M:%S")
                ),
                bold,
            ));
            let mut target: Vec<(String, Style)> =
                c.target.iter().map(|t| (format!("  {t}"), text)).collect();
            let mut why: Vec<(String, Style)> = Vec::new();
            if !c.snapshot.is_empty() {
                why.push(("Why: breaching when this opened:".into(), bold));
                why.extend(
                    c.snapshot
                        .iter()
                        .map(|s| (format!("  {s}"), v.style(Role::Crit))),
                );
            } else if matches!(c.kind, ConfirmKind::Action(_)) {
                why.push((
                    "Why: nothing is breaching right now.".into(),
                    v.style(Role::Muted),
                ));
            }
            if let ConfirmKind::SignOff { step, go: true } = c.kind {
                for w in evidence_warning(v, step, wrap_w) {
                    why.push((w, v.style(Role::Crit).add_modifier(Modifier::BOLD)));
                }
            }
            let mut tail: Vec<(String, Style)> = vec![(String::new(), text)];
            let in_flight = match c.kind {
                ConfirmKind::Action(i) => v.state.runs.get(i).is_some_and(|r| r.in_flight()),
                _ => false,
            };
            if c.sending.is_some() {
                // Accepted: nothing happens until the record is on disk.
                tail.push((
                    "Recording it in the audit log… it takes effect once the record is on disk."
                        .into(),
                    bold,
                ));
            } else if in_flight {
                tail.push((
                    "It is in flight from another screen: nothing can be sent. Esc closes.".into(),
                    bold,
                ));
            } else if let (Some(b), None) = (&c.blocked, &c.break_glass) {
                // Held back by its gate: it cannot be confirmed, only overridden on record.
                for w in wrap(&b.text, wrap_w) {
                    tail.push((w, v.style(Role::Crit).add_modifier(Modifier::BOLD)));
                }
                let ask = format!(
                    "It cannot be confirmed until the gate is GO. Break glass: type  {} <why>  then Enter (audited). Esc cancels.",
                    crate::app::update::BREAK_GLASS
                );
                for w in wrap(&ask, wrap_w) {
                    tail.push((w, bold));
                }
                tail.push((format!("> {}_", c.typed), text.add_modifier(Modifier::BOLD)));
            } else {
                if let (Some(b), Some(reason)) = (&c.blocked, &c.break_glass) {
                    tail.push((
                        format!("GATE OVERRIDDEN (break glass, recorded): {reason}"),
                        v.style(Role::Crit).add_modifier(Modifier::BOLD),
                    ));
                    for w in wrap(&b.text, wrap_w) {
                        tail.push((w, v.style(Role::Crit)));
                    }
                }
                let ask = match (&c.phrase, c.again) {
                    (Some(p), true) => {
                        format!("A SECOND ATTEMPT: type  {p}  then Enter to fire it anyway. Esc cancels.")
                    }
                    (Some(p), false) => format!("Type  {p}  then Enter to fire. Esc cancels."),
                    (None, _) if c.kind == ConfirmKind::Note => {
                        "Type the note, then Enter. Esc cancels.".into()
                    }
                    (None, _) => "Type your name, then Enter. Esc cancels.".into(),
                };
                tail.push((ask, bold));
                tail.push((format!("> {}_", c.typed), text.add_modifier(Modifier::BOLD)));
                let idle_left =
                    (CONFIRM_IDLE_MS - (v.mono() - c.last_input).num_milliseconds()).max(0) / 1000;
                tail.push((
                    format!("[ Cancel ] is the default: Enter on an empty line cancels · closes in {idle_left}s idle"),
                    v.style(Role::Muted),
                ));
            }
            if let Some(e) = &c.error {
                for w in wrap(e, wrap_w) {
                    tail.push((w, v.style(Role::Crit)));
                }
            }
            // On a short screen the prompt and the error must stay: the snapshot gives way
            // first (to one row), then the target's last lines.
            let room = area.height.saturating_sub(2) as usize;
            let total = |t: &[(String, Style)], w: &[(String, Style)]| {
                head.len() + t.len() + w.len() + tail.len()
            };
            let mut shown = c.snapshot.len().min(4);
            while shown > 1 && total(&target, &why[..(1 + shown).min(why.len())]) > room {
                shown -= 1;
            }
            if c.snapshot.len() > shown {
                why.truncate(1 + shown);
                why.push((
                    format!("  (+{} more)", c.snapshot.len() - shown),
                    v.style(Role::Muted),
                ));
            }
            let over = total(&target, &why).saturating_sub(room);
            if over > 0 && target.len() > 1 {
                let keep = target.len().saturating_sub(over + 1).max(1);
                let cut = target.len() - keep;
                target.truncate(keep);
                target.push((format!("  (+{cut} more lines)"), v.style(Role::Muted)));
            }
            let mut lines = head;
            lines.extend(target);
            lines.extend(why);
            lines.extend(tail);
            let want_w = lines
                .iter()
                .map(|(l, _)| super::width(l) as u16 + 4)
                .max()
                .unwrap_or(40)
                .clamp(40, 100);
            let rect = popup(area, want_w, lines.len() as u16 + 2);
            Clear.render(rect, buf);
            let title = if danger {
                format!(" {} {} ", v.glyphs.crit.symbol, c.title.to_uppercase())
            } else {
                format!(" {} ", c.title)
            };
            let block = Block::new()
                .borders(Borders::ALL)
                .border_set(v.glyphs.border)
                .border_style(frame_style)
                .title(Line::styled(
                    title,
                    frame_style.add_modifier(Modifier::BOLD),
                ));
            let inner = block.inner(rect);
            block.render(rect, buf);
            for (i, (l, st)) in lines.iter().enumerate() {
                let Some(mut p) = Pen::new(buf, inner, i as u16) else {
                    break;
                };
                p.put(" ", text);
                p.put_fit(l, usize::MAX, *st, v.glyphs.ellipsis);
            }
        }
        Some(Modal::Menu { selected }) => {
            let acts = &v.state.cfg.actions;
            let lines: Vec<String> = acts
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let run = &v.state.runs[i];
                    let status = match &run.state {
                        RunState::InFlight { .. } => " · in flight".to_string(),
                        RunState::Recording { .. } => " · recording".to_string(),
                        RunState::Done => match &run.last {
                            Some(r) if r.ok => format!(" · last: {}", r.summary),
                            Some(r) => format!(" · FAILED: {}", r.summary),
                            None => String::new(),
                        },
                        RunState::Idle => String::new(),
                    };
                    let danger = if a.danger { " [danger]" } else { "" };
                    let blocked = if v.state.action_block(i).is_some() {
                        " · BLOCKED by its gate"
                    } else {
                        ""
                    };
                    format!("{}  {}{danger}{blocked}{status}", a.key, a.label)
                })
                .collect();
            let want_w = lines
                .iter()
                .map(|l| super::width(l) as u16 + 6)
                .max()
                .unwrap_or(30)
                .clamp(30, 100);
            let rect = popup(area, want_w, lines.len() as u16 + 2);
            Clear.render(rect, buf);
            let block = Block::new()
                .borders(Borders::ALL)
                .border_set(v.glyphs.border)
                .border_style(v.style(Role::Accent))
                .title(Line::styled(" Actions ", v.style(Role::Accent)))
                .title_bottom(Line::styled(
                    " Enter or key: confirm · Esc close ",
                    v.style(Role::Muted),
                ));
            let inner = block.inner(rect);
            block.render(rect, buf);
            for (i, l) in lines.iter().enumerate() {
                let Some(mut p) = Pen::new(buf, inner, i as u16) else {
                    break;
                };
                let st = if i == *selected {
                    v.style(Role::Selected)
                } else if acts[i].danger {
                    v.style(Role::Danger)
                } else {
                    v.style(Role::Text)
                };
                if i == *selected {
                    p.fill(st);
                }
                p.put(" ", st).put_fit(l, usize::MAX, st, v.glyphs.ellipsis);
            }
        }
        None => {}
    }
}

/// `s` in lines of at most `max` columns, broken at spaces (a longer word stays whole).
fn wrap(s: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        if !line.is_empty() && super::width(&line) + 1 + super::width(word) > max {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// One status line per action that has run: in flight, result, verification.
pub(super) fn action_lines(v: &View) -> Vec<(String, Style)> {
    let mut out = Vec::new();
    for (i, run) in v.state.runs.iter().enumerate() {
        let Some(a) = v.state.cfg.actions.get(i) else {
            continue;
        };
        // A result a minute old, dismissed, or older than a breach that began since, is
        // no longer the news: the events and the audit log keep it.
        if v.state.result_expired(i) {
            continue;
        }
        let line = match &run.state {
            RunState::Idle => continue,
            RunState::Recording { since } => (
                format!(
                    " {} {}: confirmed {} — recording it in the audit log before sending",
                    v.glyphs.warn.symbol,
                    a.label,
                    crate::timefmt::age(v.mono(), *since),
                ),
                v.style(Role::Warn),
            ),
            RunState::InFlight { since } => (
                format!(
                    " {} {}: in flight {} (attempt {}{}) — its key is inert",
                    v.glyphs.warn.symbol,
                    a.label,
                    crate::timefmt::age(v.mono(), *since),
                    run.attempts,
                    run.remote_by
                        .as_deref()
                        .map(|b| format!(", fired by {b}"))
                        .unwrap_or_default()
                ),
                v.style(Role::Warn),
            ),
            RunState::Done => {
                let Some(r) = &run.last else { continue };
                if !r.ok {
                    let what = if r.unknown {
                        "OUTCOME UNKNOWN"
                    } else {
                        "FAILED"
                    };
                    (
                        format!(
                            " {} {} {what}: {} — press {} to confirm a retry",
                            v.glyphs.crit.symbol, a.label, r.summary, a.key
                        ),
                        v.style(Role::Crit),
                    )
                } else {
                    match run.verify.as_ref().map(|vf| (vf, &vf.verdict)) {
                        None => (
                            format!(" {} {}: {}", v.glyphs.ok.symbol, a.label, r.summary),
                            v.style(Role::Ok),
                        ),
                        Some((vf, None)) => {
                            let left = (vf.deadline - v.mono()).num_seconds().max(0);
                            (
                                format!(
                                    " {} {}: {} · verifying, {left}s left: waiting for {}",
                                    v.glyphs.warn.symbol,
                                    a.label,
                                    r.summary,
                                    vf.pending.join(", ")
                                ),
                                v.style(Role::Warn),
                            )
                        }
                        Some((_, Some(Verdict::Verified { at }))) => (
                            format!(
                                " {} {} VERIFIED at {} UTC ({})",
                                v.glyphs.ok.symbol,
                                a.label,
                                at.format("%H:%M:%S"),
                                r.summary
                            ),
                            v.style(Role::Ok),
                        ),
                        Some((_, Some(Verdict::NotVerified { failing }))) => (
                            format!(
                                " {} {} NOT VERIFIED by the deadline: {}",
                                v.glyphs.crit.symbol,
                                a.label,
                                failing.join(", ")
                            ),
                            v.style(Role::Crit),
                        ),
                    }
                }
            }
        };
        out.push(line);
    }
    out
}
