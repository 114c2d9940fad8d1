//! A replay's side of the state: the clock a recording is played at, the rewind a seek
//! back needs, and the footer line saying where the replay stands. The replay task
//! (`replay::play`) sends these in place of polls and the live clock.

use super::{Action, Notice, State};
use crate::sample::{Mono, Stamp, Ts};
use std::sync::Arc;

/// What the replay task tells the loop, beside the recorded inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Playback {
    /// Start again from the recording's beginning (a seek back): the state as the header
    /// began it, with T0 as recorded.
    Rewind { start: Stamp, t0: Option<Ts> },
    /// The replay's clock stands at `mono`: the wall clock moves with it from the last
    /// line. `paused` is what the footer says.
    At { mono: Mono, paused: bool },
}

/// How a replay on the dashboard is being played.
#[derive(Debug, Clone, PartialEq)]
pub struct Replaying {
    pub speed: f64,
    pub paused: bool,
    /// The recording's last line: where the replay ends.
    pub end: Stamp,
}

pub(super) fn apply(state: &mut State, p: Playback) {
    match p {
        Playback::Rewind { start, t0 } => {
            // A fresh state, as the header began it; the screen's own keys and replay stay.
            let mut fresh = State::new(
                Arc::clone(&state.cfg),
                start,
                t0,
                std::mem::take(&mut state.user),
            );
            fresh.read_only = state.read_only;
            fresh.keys = std::mem::take(&mut state.keys);
            fresh.replaying = state.replaying.take();
            *state = fresh;
        }
        Playback::At { mono, paused } => {
            if mono > state.mono {
                state.now += mono - state.mono;
                state.mono = mono;
            }
            if let Some(r) = state.replaying.as_mut() {
                r.paused = paused;
            }
        }
    }
    state.dirty = true;
}

/// On a replay's dashboard the footer always says where the replay stands.
pub(super) fn status(state: &mut State) {
    let Some(r) = &state.replaying else { return };
    let status = if state.mono >= r.end.mono {
        "REPLAY ended".to_string()
    } else if r.paused {
        "REPLAY paused".to_string()
    } else {
        format!("REPLAY ×{}", r.speed)
    };
    let quit = state
        .keys
        .name_for(Action::Quit)
        .map(|k| format!(" · {k} quit"))
        .unwrap_or_default();
    let text = format!(
        "{status} · {} / {} · Space pause · ← → seek 10s (Shift 60s){quit}",
        state.now.format("%H:%M:%S"),
        r.end.at.format("%H:%M:%S")
    );
    state.notice = Some(Notice {
        text,
        at: state.mono,
    });
}
