//! Navigation and ticks: focus, selection, help, notices, the events panel, checklist
//! ticks and the clock. The keys that open a confirmation hand over to `confirm`.

use super::audited::audit;
use super::confirm::{
    on_modal_action, open_action, open_mark_t0, open_note, open_sign_off, open_step_run,
};
use super::Effect;
use crate::app::{Action, Awaiting, Focus, Modal, Notice, State, Tick, EVENT_CAP};
use crate::audit::{self as log, AuditEvent};
use crate::engine::{Event, EventKind, Severity};
use crate::sample::{Mono, Ts};

/// How long a footer notice stays.
const NOTICE_MS: i64 = 5_000;

/// The wall clock moving this much more (or less) than the monotonic one between two
/// readings is a step (NTP, an operator's `date -s`), not scheduling jitter.
pub const STEP_TOLERANCE_MS: i64 = 2_000;

/// The footer while a tick waits for its record (cleared once it is recorded).
pub(super) const RECORDING: &str = "recording in the audit log: ";

pub(super) fn on_action(state: &mut State, a: Action, fx: &mut Vec<Effect>) {
    // The help overlay takes the keys it needs and swallows the rest.
    if state.show_help {
        if matches!(a, Action::ToggleHelp | Action::Escape) {
            state.show_help = false;
        } else if a == Action::Quit {
            state.quit = true;
        }
        return;
    }
    if state.modal.is_some() {
        on_modal_action(state, a, fx);
        return;
    }
    if state.detail.is_some() && on_detail_action(state, a) {
        return;
    }
    match a {
        Action::Quit => state.quit = true,
        Action::Suspend => {} // handled by the runtime: it owns the terminal
        // Answered by the replay task: it owns the replay's position.
        Action::TogglePause | Action::Seek(_) => {}
        Action::ToggleHelp => state.show_help = true,
        Action::Escape => state.notice = None,
        Action::FocusNext | Action::FocusPrev => {
            const ORDER: [Focus; 4] =
                [Focus::Signals, Focus::Flags, Focus::Timeline, Focus::Events];
            let i = ORDER.iter().position(|f| *f == state.focus).unwrap_or(0);
            let step = if a == Action::FocusNext {
                1
            } else {
                ORDER.len() - 1
            };
            state.focus = ORDER[(i + step) % ORDER.len()];
        }
        Action::Move(d) => match state.focus {
            Focus::Signals | Focus::Flags | Focus::Events => {
                let n = state.panel_len(state.focus);
                let cur = state.selected(state.focus) as i64;
                let next = (cur + d as i64).clamp(0, n.saturating_sub(1) as i64) as usize;
                state.set_selected(state.focus, next);
            }
            Focus::Timeline => move_item(state, d),
        },
        Action::ToggleTick => toggle_tick(state, fx),
        Action::StepJump(d) => {
            state.focus = Focus::Timeline;
            jump_step(state, d);
        }
        Action::JumpToNow => {
            state.focus = Focus::Timeline;
            if let Some(cur) = state.current_step() {
                state.selected_item = (cur, 0);
            } else {
                notice(state, "T0 not set: no current step");
            }
        }
        Action::Rollback => match state.rollback_action() {
            Some(i) => open_action(state, i, state.keys.rollback().and_then(|c| c.as_char())),
            None => notice(
                state,
                "no rollback: the config has no action with danger = true",
            ),
        },
        Action::Menu => {
            if state.cfg.actions.is_empty() {
                notice(state, "no actions in the config");
            } else if refuse_read_only(state, "actions") {
            } else {
                state.modal = Some(Modal::Menu { selected: 0 });
            }
        }
        Action::Key(c) => {
            let key = c.to_string();
            if let Some(i) = state.cfg.actions.iter().position(|a| a.key == key) {
                open_action(state, i, Some(c));
            }
        }
        Action::MarkT0 => open_mark_t0(state),
        Action::SignOff { go } => open_sign_off(state, go),
        Action::RunStep => open_step_run(state),
        // Results already told: the audit log and the events keep them.
        Action::Dismiss => {
            for run in &mut state.runs {
                if run.state == crate::app::RunState::Done {
                    run.dismissed = true;
                }
            }
        }
        Action::FilterEvents => state.events_filtered = !state.events_filtered,
        Action::Note => open_note(state),
        // Enter on a signal row opens its detail; elsewhere it means nothing.
        Action::Submit if state.focus == Focus::Signals => {
            state.detail = state.selected_signal_row().map(|r| r.key.clone());
        }
        // Text keys outside a modal mean nothing.
        Action::Type(_) | Action::Backspace | Action::Submit => {}
    }
}

/// The keys of an open detail view; `false` hands the key on to the screen under it.
/// Enter, Esc and quit close it (as `q` closes a pager); up and down move to the next
/// row's detail; help opens over it; a key that opens a confirmation (the rollback)
/// closes it first, so the room is one key from acting on what it reads.
fn on_detail_action(state: &mut State, a: Action) -> bool {
    match a {
        Action::Submit | Action::Escape | Action::Quit => state.detail = None,
        Action::Move(d) => {
            let n = state.panel_len(Focus::Signals);
            let next =
                (state.selected_signal as i64 + d as i64).clamp(0, n.saturating_sub(1) as i64);
            state.selected_signal = next as usize;
            state.detail = state.selected_signal_row().map(|r| r.key.clone());
        }
        Action::ToggleHelp
        | Action::Suspend
        | Action::TogglePause
        | Action::Seek(_)
        | Action::Dismiss
        | Action::FilterEvents => return false,
        Action::Rollback
        | Action::Menu
        | Action::Key(_)
        | Action::MarkT0
        | Action::SignOff { .. }
        | Action::RunStep
        | Action::Note => {
            state.detail = None;
            return false;
        }
        Action::FocusNext
        | Action::FocusPrev
        | Action::ToggleTick
        | Action::JumpToNow
        | Action::StepJump(_)
        | Action::Type(_)
        | Action::Backspace => {}
    }
    true
}

pub(super) fn refuse_read_only(state: &mut State, what: &str) -> bool {
    if state.read_only {
        notice(
            state,
            format!("read-only: {what} are disabled on this screen"),
        );
    }
    state.read_only
}

/// Every selectable (step, item) of the timeline, in its order: steps by time (as written
/// for the same time), each step's checklist items, and one slot for a step without any.
fn timeline_items(state: &State) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..state.cfg.steps.len()).collect();
    order.sort_by_key(|&i| state.cfg.steps[i].at.0);
    order
        .into_iter()
        .flat_map(|s| (0..state.cfg.steps[s].checklist.len().max(1)).map(move |i| (s, i)))
        .collect()
}

/// Flatten (step, item) for movement across steps.
pub(super) fn move_item(state: &mut State, d: i32) {
    let items = timeline_items(state);
    if items.is_empty() {
        return;
    }
    let cur = items
        .iter()
        .position(|x| *x == state.selected_item)
        .unwrap_or(0) as i64;
    let next = (cur + d as i64).clamp(0, items.len() as i64 - 1) as usize;
    state.selected_item = items[next];
}

/// The first item of the step `d` steps away from the selected one, in time order.
pub(super) fn jump_step(state: &mut State, d: i32) {
    let items = timeline_items(state);
    let mut steps: Vec<usize> = items.iter().map(|(s, _)| *s).collect();
    steps.dedup();
    if steps.is_empty() {
        return;
    }
    let cur = steps
        .iter()
        .position(|s| *s == state.selected_item.0)
        .unwrap_or(0) as i64;
    let next = (cur + d as i64).clamp(0, steps.len() as i64 - 1) as usize;
    state.selected_item = (steps[next], 0);
}

pub(super) fn toggle_tick(state: &mut State, fx: &mut Vec<Effect>) {
    if state.focus != Focus::Timeline {
        notice(state, "Tab to the timeline to tick a checklist item");
        return;
    }
    if refuse_read_only(state, "checklist ticks") {
        return;
    }
    let (s, i) = state.selected_item;
    let Some(step) = state.cfg.steps.get(s) else {
        return;
    };
    let Some(item) = step.checklist.get(i).cloned() else {
        notice(state, "this step has no checklist item to tick");
        return;
    };
    if state
        .pending
        .iter()
        .any(|p| matches!(p.what, Awaiting::Tick { step, item, .. } if (step, item) == (s, i)))
    {
        notice(
            state,
            "the last change to this item is still being recorded",
        );
        return;
    }
    let title = step.title.clone();
    let Some(slot) = state.ticks.get(s).and_then(|v| v.get(i)) else {
        return;
    };
    // Shown once recorded: until then the item keeps its state, and the footer says why.
    let tick = slot.is_none().then(|| Tick {
        by: state.user.clone(),
        at: state.now,
    });
    let what = log::TickItem {
        step: s,
        item: i,
        step_title: title,
        item_text: item.clone(),
    };
    let event = if tick.is_some() {
        AuditEvent::Tick(what)
    } else {
        AuditEvent::Untick(what)
    };
    audit(
        state,
        fx,
        event,
        Awaiting::Tick {
            step: s,
            item: i,
            tick,
        },
        None,
    );
    notice(state, format!("{RECORDING}\"{item}\"…"));
}

/// Move both clocks to a new reading. The monotonic clock only goes forward (a poll
/// stamped before the last tick changes nothing); the wall clock follows the reading,
/// backwards too, and a step between the two is told once as an event.
pub(super) fn advance_clock(state: &mut State, at: Ts, mono: Mono) {
    if mono < state.mono {
        return;
    }
    let step = (at - state.now).num_milliseconds() - (mono - state.mono).num_milliseconds();
    state.now = at;
    state.mono = mono;
    if step.abs() > STEP_TOLERANCE_MS {
        let text = format!(
            "wall clock stepped {}: durations, bands and countdowns are unaffected",
            crate::timefmt::format_clock_step(step)
        );
        note(state, Severity::Warn, text);
    }
}

pub(super) fn push_events(state: &mut State, events: Vec<Event>) {
    for e in events {
        tracing::info!(target: "warroom::events", "{}", e.text);
        state.events.push_back(e);
        state.event_seq += 1;
    }
    // Newest at the back; the panel reads it back to front.
    while state.events.len() > EVENT_CAP {
        state.events.pop_front();
    }
}

pub(super) fn note(state: &mut State, severity: Severity, text: String) {
    note_at(state, state.now, severity, text);
}

/// An event written at wall time `at` (another screen's record), learned now.
pub(super) fn note_at(state: &mut State, at: Ts, severity: Severity, text: String) {
    let mono = state.mono;
    push_events(
        state,
        vec![Event {
            at,
            mono,
            severity,
            kind: EventKind::Note { text: text.clone() },
            text,
        }],
    );
}

/// A footer notice goes after a few seconds.
pub(super) fn expire_notice(state: &mut State) {
    if state
        .notice
        .as_ref()
        .is_some_and(|n| (state.mono - n.at).num_milliseconds() > NOTICE_MS)
    {
        state.notice = None;
    }
}

pub(super) fn notice(state: &mut State, text: impl Into<String>) {
    state.notice = Some(Notice {
        text: text.into(),
        at: state.mono,
    });
}
