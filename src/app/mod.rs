//! The app: messages in, pure `update`, state out (see STYLE.md's shape).
//!
//! ```text
//! crossterm keys ─► keys::action_for ─► Msg::Action ─┐
//! poll tasks ─────────────────────────► Msg::Poll ───┼─► update(&mut State, Msg)  (no I/O, no clock)
//! 1 s clock ──────────────────────────► Msg::Tick ───┘            │
//!                                                    ui::render(&State) when dirty
//! ```

pub mod keys;
pub mod state;
pub mod update;

pub use state::*;
pub use update::update;

use crate::sample::{PollResult, Ts};

/// What a key means, independent of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Suspend,
    ToggleHelp,
    Escape,
    FocusNext,
    FocusPrev,
    Move(i32),
    ToggleTick,
    JumpToNow,
}

/// Everything that can change the state arrives as one of these.
#[derive(Debug, Clone)]
pub enum Msg {
    Action(Action),
    Poll(PollResult),
    /// The clock: the app's notion of now.
    Tick(Ts),
    /// The terminal changed size; only a redraw is needed.
    Resize,
}
