//! The breach banner: while a critical row is in crit, a full-width line per
//! breach naming signal, value, threshold, how long, and the rollback key.

use super::{Pen, View};
use crate::engine::Row;
use crate::theme::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// Lines the banner needs: one per breach (up to 1, or 3 when wide) + ROLLBACK ADVISED.
pub(super) fn lines_wanted(v: &View, wide: bool) -> u16 {
    let cap = if wide { 3 } else { 1 };
    let breaches = v.breaches.len().min(cap) as u16;
    breaches
        + u16::from(v.state.engine.advised.is_some())
        + super::modal::action_lines(v).len() as u16
}

/// What to press, or why nothing can be pressed here.
pub(super) fn key_hint(v: &View) -> String {
    use crate::app::{RunState, Verdict};
    if v.state.read_only {
        return "read-only: roll back from an operator console".into();
    }
    let Some(i) = v.state.rollback_action() else {
        return "no rollback action in the config".into();
    };
    let run = &v.state.runs[i];
    let verdict = run.verify.as_ref().and_then(|vf| vf.verdict.as_ref());
    // A breach that began after the verdict is a new one: the old verdict says nothing
    // about it, and the rollback key is what to press (the modal asks for the deliberate
    // phrase of a second attempt if one is still guarded).
    let rearmed = verdict.is_some()
        && run
            .told
            .or(run.ended)
            .is_some_and(|t| v.state.breach_began_after(t));
    if rearmed {
        return format!("press {} to roll back", v.rollback_key());
    }
    if matches!(verdict, Some(Verdict::Verified { .. })) {
        return "rolled back and verified: waiting for the rows to clear".into();
    }
    let by = run
        .remote_by
        .as_deref()
        .or(run.last.as_ref().map(|r| r.by.as_str()))
        .unwrap_or("");
    match run.state {
        RunState::Recording { .. } => {
            return "rollback confirmed: recording it, then sending".into()
        }
        RunState::InFlight { .. } => {
            return format!("rollback in flight (by {by}): wait for its result")
        }
        RunState::Idle | RunState::Done => {}
    }
    // After a success the banner never invites a second rollback: the modal asks for the
    // deliberate phrase if someone still wants one.
    if v.state.second_attempt_guard(i).is_some() {
        return match verdict {
            None => format!("rolled back by {by}: verifying"),
            Some(_) => format!(
                "rolled back by {by} but NOT VERIFIED: check the target before a second rollback"
            ),
        };
    }
    format!("press {} to roll back", v.rollback_key())
}

/// One breach as text: the engine's words, so the banner, the advice and `check` agree.
pub(super) fn breach_text(v: &View, r: &Row) -> String {
    crate::engine::breach_text(r, v.state.engine.signal(r), v.mono())
}

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    if area.height == 0 {
        return;
    }
    let style = v.style(Role::Banner);
    let hint = key_hint(v);
    let mut row = 0;
    // What the operators did comes first: in flight, result, verification.
    for (text, st) in super::modal::action_lines(v) {
        if let Some(mut p) = Pen::new(buf, area, row) {
            p.fill(st);
            p.put_fit(&text, usize::MAX, st, v.glyphs.ellipsis);
        }
        row += 1;
    }
    if row >= area.height {
        return;
    }
    let hint_part = format!(" {} {hint} ", v.glyphs.dash);
    if let Some(adv) = &v.state.engine.advised {
        if let Some(mut p) = Pen::new(buf, area, row) {
            p.fill(style);
            let lead = format!(" {}ROLLBACK ADVISED: ", sym_sp(v));
            let all = adv.reasons.join("; ");
            // Every reason if they fit; else the first and how many more.
            let (body, tail) = match adv.reasons.split_first() {
                Some((first, rest))
                    if !rest.is_empty() && {
                        let whole = super::width(&lead) + super::width(&all);
                        whole + super::width(&hint_part) > p.room()
                    } =>
                {
                    (first.clone(), format!(" (+{} more)", rest.len()))
                }
                _ => (all, String::new()),
            };
            keep_hint(&mut p, &lead, &body, &tail, &hint_part, style, v);
        }
        row += 1;
    }
    let shown = (area.height - row) as usize;
    for (i, r) in v.breaches.iter().take(shown).enumerate() {
        let Some(mut p) = Pen::new(buf, area, row) else {
            break;
        };
        p.fill(style);
        let more = v.breaches.len().saturating_sub(shown);
        let tail = if i + 1 == shown && more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        let lead = format!(" {}BREACH ", sym_sp(v));
        keep_hint(
            &mut p,
            &lead,
            &breach_text(v, r),
            &tail,
            &hint_part,
            style,
            v,
        );
        row += 1;
    }
}

/// `lead body tail hint` on one banner line. The key hint and the count of what is not
/// shown must survive a narrow screen: the body is cut, never them (unless the line is
/// too narrow even for them, when the whole line is cut at its end).
fn keep_hint(
    p: &mut Pen,
    lead: &str,
    body: &str,
    tail: &str,
    hint_part: &str,
    style: ratatui::style::Style,
    v: &View,
) {
    use super::width;
    let room = p.room();
    let whole = format!("{lead}{body}{tail}{hint_part}");
    let fixed = width(lead) + width(tail) + width(hint_part);
    if width(&whole) <= room || room < fixed + 10 {
        p.put_fit(&whole, room, style, v.glyphs.ellipsis);
        return;
    }
    p.put(lead, style);
    p.put_fit(body, room - fixed, style, v.glyphs.ellipsis);
    p.put(tail, style);
    p.put(hint_part, style);
}

/// The crit symbol and a space, or nothing for ASCII (whose glyphs are words).
pub(super) fn sym_sp(v: &View) -> String {
    v.glyphs.crit.before("")
}
