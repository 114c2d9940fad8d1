//! Operator actions in the state: the confirmation modal, single flight per action,
//! results and verification. Pure data; `update` drives it and returns effects.

use crate::sample::{Mono, Ts};

/// What a confirmation is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmKind {
    /// Fire `cfg.actions[i]`.
    Action(usize),
    /// Mark T0 now (when the config has none).
    MarkT0,
    /// Sign off a GO/NO-GO gate step with a typed name.
    SignOff { step: usize, go: bool },
    /// Run a step's `run` command (a runbook script).
    StepRun(usize),
}

/// The modal that freezes what the operator decides on. Cancel is the default:
/// nothing is sent until the phrase is typed and Enter pressed.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub kind: ConfirmKind,
    pub title: String,
    /// The exact request or argv, secrets redacted, frozen at opening.
    pub target: Vec<String>,
    /// The breaching signals at the moment it opened.
    pub snapshot: Vec<String>,
    /// The text to type; `None` means any non-empty name (sign-offs).
    pub phrase: Option<String>,
    pub typed: String,
    /// Why the last Enter did nothing.
    pub error: Option<String>,
    /// Shown as the time it opened.
    pub opened_at: Ts,
    /// The idle time-out counts from here, on the monotonic clock.
    pub last_input: Mono,
    /// The attempt number this confirmation would send (2+ is a retry with the same key).
    pub attempt: u32,
    /// The key that opened it: a held key repeats it, and those repeats are not typing.
    pub opener: Option<char>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    Confirm(Confirm),
    /// The action menu (`a`): pick an action to confirm.
    Menu {
        selected: usize,
    },
}

/// The result of one attempt, as the screen and the audit log tell it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub ok: bool,
    /// Time-out or reset after sending: it may have arrived.
    pub unknown: bool,
    /// One line: "HTTP 200 in 45 ms", "refused: nothing was sent".
    pub summary: String,
    /// Bounded excerpt of the body or output, secrets redacted.
    pub excerpt: String,
    pub at: Ts,
    pub duration_ms: u64,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Verified { at: Ts },
    NotVerified { failing: Vec<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verify {
    /// Monotonic: a wall step neither hurries nor stalls the deadline.
    pub started: Mono,
    pub deadline: Mono,
    pub verdict: Option<Verdict>,
    /// Conditions not yet holding, for the countdown line.
    pub pending: Vec<String>,
    /// Another screen fired the action and verifies it; this one only shows its verdict.
    pub remote: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum RunState {
    #[default]
    Idle,
    InFlight {
        /// Monotonic: how long it has been in flight, and when another screen's expires.
        since: Mono,
    },
    Done,
}

/// Per action: single flight, the idempotency key, results and verification.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActionRun {
    pub state: RunState,
    /// Kept after a failure so a manual retry reuses it; cleared after success.
    pub idempotency_key: Option<String>,
    pub attempts: u32,
    pub last: Option<Report>,
    pub verify: Option<Verify>,
    /// Who fired it when another screen did (`user@host`): this screen's key stays inert
    /// until that attempt ends, so the room never sends two rollbacks.
    pub remote_by: Option<String>,
}

impl ActionRun {
    pub fn in_flight(&self) -> bool {
        matches!(self.state, RunState::InFlight { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOff {
    pub name: String,
    pub go: bool,
    pub at: Ts,
    /// The account that typed it (may differ from the name typed).
    pub by: String,
}

/// Something another warroom process wrote to the shared audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    pub at: Ts,
    pub user: String,
    pub host: String,
    pub kind: String,
    pub details: serde_json::Value,
}

/// I/O that `update` asks the runtime to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send the request or run the command of `cfg.actions[action]`, once.
    Run {
        action: usize,
        idempotency_key: String,
        attempt: u32,
    },
    /// Append one record to the audit log.
    Audit {
        kind: &'static str,
        details: serde_json::Value,
    },
    /// Poll these sources now (verification polls at 1 s).
    PollNow { sources: Vec<String> },
    /// Run `cfg.steps[step].run`, once.
    RunStep { step: usize },
}

/// A step's script: single flight and its evidence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepRun {
    pub state: RunState,
    pub runs: u32,
    pub last: Option<Report>,
}
