//! The app: messages in, pure `update`, state out — every input is a message, only
//! `update` changes the state, and it does no I/O and reads no clock.
//!
//! ```text
//! crossterm keys ─► KeyMap ─► Msg::Action ─────────────────┐
//! poll tasks ─► session: poll → readings ─► Msg::Readings ─┼─► update(&mut State, Msg)  (no I/O, no clock)
//! 1 s clock ────────────────────────────────► Msg::Tick ───┤            │
//! replay task (instead of polls and clock) ─► the same ────┘  ui::render(&State) when dirty
//! ```

pub mod gate;
pub mod keys;
pub mod playback;
pub mod state;
pub mod update;

pub use gate::{Blocked, GateVerdict};
pub use playback::{Playback, Replaying};
pub use state::*;
pub use update::{
    update, ActionRun, Awaiting, Confirm, ConfirmKind, Effect, Modal, Pending, Remote, Report,
    RunState, StepRun, Verdict, Verify,
};

use crate::sample::Stamp;

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
    /// Move the timeline selection to the next (1) or previous (-1) step, in time order,
    /// whether or not it is inside the visible window.
    StepJump(i32),
    /// Open the rollback (the first `danger` action).
    Rollback,
    /// Open the action menu.
    Menu,
    /// Mark T0 now (confirmed).
    MarkT0,
    /// Sign off the selected gate: GO (`g`) or NO-GO (`G`).
    SignOff {
        go: bool,
    },
    /// Run the selected step's command (`!`).
    RunStep,
    /// Dismiss the action result lines on the banner (`d`).
    Dismiss,
    /// The events panel: only actions and breaches, or everything (`f`).
    FilterEvents,
    /// Write a one-line note for the room (shared, audited, in the report).
    Note,
    /// An action's key (`[[action]] key`): opens that action's confirmation.
    Key(char),
    /// A replay's play / pause (its own key: the replay task answers it).
    TogglePause,
    /// A replay's seek, in seconds either way.
    Seek(i32),
    /// Text entry in a modal.
    Type(char),
    Backspace,
    Submit,
}

/// Everything that can change the state arrives as one of these.
#[derive(Debug, Clone)]
pub enum Msg {
    Action(Action),
    /// A poll, read once: what the source did and what each row read. Live polls are
    /// read by the session; a replay feeds them as recorded.
    Readings(crate::engine::PollSummary, Vec<crate::engine::RowReading>),
    /// A replay's clock, or its rewind for a seek back.
    Replay(Playback),
    /// The clock: the app's notion of now, on both clocks.
    Tick(Stamp),
    /// The terminal changed size; only a redraw is needed.
    Resize,
    /// Bracketed paste: text for a modal, never a key sequence.
    Paste(String),
    /// An action attempt finished.
    ActionDone {
        action: usize,
        report: Report,
    },
    /// A step's command finished.
    StepDone {
        step: usize,
        report: Report,
    },
    /// Another warroom process wrote to the shared audit log.
    Remote(Remote),
    /// The audit record of this id is on disk: what waited for it may happen now.
    AuditWritten {
        id: u64,
    },
    /// The audit record of this id (or, without an id, the audit writer itself) failed:
    /// what waited for it does not happen, and the room must know.
    AuditFailed {
        id: Option<u64>,
        reason: String,
    },
    /// The claim of this id found another attempt holding the action's flight: nothing was
    /// written or sent.
    ClaimLost {
        id: u64,
        competitor: crate::audit::Competitor,
    },
    /// The `--record` file lost lines: the evidence is incomplete (for good).
    RecordFailed(String),
    /// Something the operator should see at start (e.g. a group-readable token file).
    Warning(String),
    /// How a notification went: sent (`ok`), or given up on.
    Notified {
        ok: bool,
        text: String,
    },
    /// The cutover's recordings, read at start for the holds: `runs[k]` for the book's
    /// `specs()[k]`, and what was read (said in the events panel).
    PastHolds {
        runs: Vec<Vec<crate::engine::hold::Run>>,
        what: String,
        problems: Vec<String>,
    },
}

impl Msg {
    /// A poll read into readings against `engine`'s rows: what `update` is given for it.
    pub fn readings(engine: &crate::engine::Engine, poll: &crate::sample::PollResult) -> Msg {
        let (summary, readings) = engine.extract(poll);
        Msg::Readings(summary, readings)
    }
}
