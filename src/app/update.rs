//! The only writer of `State`. Pure: no I/O, no system clock (time comes in `Msg::Tick`
//! and in each poll's timestamp).

use super::{Action, Focus, Msg, Notice, State, Tick, EVENT_CAP};
use crate::engine::{Event, EventKind, Severity};
use crate::sample::Ts;

/// How long a footer notice stays.
const NOTICE_MS: i64 = 5_000;

pub fn update(state: &mut State, msg: Msg) {
    match msg {
        Msg::Tick(now) => {
            if now > state.now {
                state.now = now;
            }
            let ev = state.engine.tick(state.now);
            push_events(state, ev);
            if state
                .notice
                .as_ref()
                .is_some_and(|n| (state.now - n.at).num_milliseconds() > NOTICE_MS)
            {
                state.notice = None;
            }
            state.dirty = true;
        }
        Msg::Poll(p) => {
            if p.at > state.now {
                state.now = p.at;
            }
            let ev = state.engine.ingest(&p);
            push_events(state, ev);
            state.dirty = true;
        }
        Msg::Resize => state.dirty = true,
        Msg::Action(a) => {
            on_action(state, a);
            state.dirty = true;
        }
    }
}

fn push_events(state: &mut State, events: Vec<Event>) {
    for e in events {
        tracing::info!(target: "warroom::events", "{}", e.text);
        state.events.push_back(e);
    }
    // Newest at the back; the panel reads it back to front.
    while state.events.len() > EVENT_CAP {
        state.events.pop_front();
    }
}

fn notice(state: &mut State, text: impl Into<String>) {
    state.notice = Some(Notice {
        text: text.into(),
        at: state.now,
    });
}

fn on_action(state: &mut State, a: Action) {
    // The help overlay takes the keys it needs and swallows the rest.
    if state.show_help {
        if matches!(a, Action::ToggleHelp | Action::Escape) {
            state.show_help = false;
        } else if a == Action::Quit {
            state.quit = true;
        }
        return;
    }
    match a {
        Action::Quit => state.quit = true,
        Action::Suspend => {} // handled by the runtime: it owns the terminal
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
        Action::ToggleTick => toggle_tick(state),
        Action::JumpToNow => {
            state.focus = Focus::Timeline;
            if let Some(cur) = state.current_step() {
                state.selected_item = (cur, 0);
            } else {
                notice(state, "T0 not set: no current step");
            }
        }
    }
}

/// Flatten (step, item) for movement across steps.
fn move_item(state: &mut State, d: i32) {
    let items: Vec<(usize, usize)> = state
        .cfg
        .steps
        .iter()
        .enumerate()
        .flat_map(|(s, st)| (0..st.checklist.len()).map(move |i| (s, i)))
        .collect();
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

fn toggle_tick(state: &mut State) {
    if state.focus != Focus::Timeline {
        notice(state, "Tab to the timeline to tick a checklist item");
        return;
    }
    if state.read_only {
        notice(state, "read-only: checklist ticks are disabled");
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
    let title = step.title.clone();
    let now: Ts = state.now;
    let user = state.user.clone();
    let Some(slot) = state.ticks.get_mut(s).and_then(|v| v.get_mut(i)) else {
        return;
    };
    let text = if slot.is_some() {
        *slot = None;
        format!("{user} unticked \"{item}\" ({title})")
    } else {
        *slot = Some(Tick {
            by: user.clone(),
            at: now,
        });
        format!("{user} ticked \"{item}\" ({title})")
    };
    push_events(
        state,
        vec![Event {
            at: now,
            severity: Severity::Info,
            kind: EventKind::Note { text: text.clone() },
            text,
        }],
    );
}
