//! Operator actions in the state: the confirmation modal, single flight per action,
//! results and verification. Pure data; `update` drives it and returns effects.

use crate::audit::{AuditEvent, ClaimRule};
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
    /// The previous attempt a second one follows (it succeeded): who, when, result,
    /// verification. Empty for a first attempt or a retry after a failure.
    pub previous: Vec<String>,
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
    /// A deliberate second attempt after one that succeeded: the phrase ends in `again`.
    pub again: bool,
    /// Enter was accepted and the act is being recorded in the audit log (this audit id):
    /// nothing happens until the record is on disk, and the modal says what came of it.
    pub sending: Option<u64>,
}

// One modal at a time: its size is not worth a box.
#[allow(clippy::large_enum_variant)]
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
    /// The HTTP status, when an answer came.
    pub http_status: Option<u16>,
    /// The command's exit code, when it exited.
    pub exit_code: Option<i32>,
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
    /// When the verdict came (monotonic: the cooldown counts from it).
    pub decided: Option<Mono>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum RunState {
    #[default]
    Idle,
    /// Confirmed: the confirmation is being written (and the flight claimed) before
    /// anything is sent.
    Recording {
        since: Mono,
    },
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
    /// When the last attempt ended (monotonic): the cooldown of an action without
    /// verification counts from it.
    pub ended: Option<Mono>,
}

impl ActionRun {
    /// Confirmed and not ended: recording, or sent and waiting for its result.
    pub fn in_flight(&self) -> bool {
        matches!(
            self.state,
            RunState::InFlight { .. } | RunState::Recording { .. }
        )
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
    /// The writer's cutover, environment and config fingerprint (absent in old records and
    /// in recordings).
    pub cutover: Option<String>,
    pub environment: Option<String>,
    pub config: Option<String>,
    /// The writing process (empty when unknown, e.g. in a replay).
    pub session: String,
    pub event: AuditEvent,
}

impl From<crate::audit::AuditRecord> for Remote {
    fn from(r: crate::audit::AuditRecord) -> Self {
        Remote {
            at: r.at,
            user: r.user,
            host: r.host,
            cutover: r.cutover,
            environment: r.environment,
            config: r.config,
            session: r.session,
            event: r.event,
        }
    }
}

/// What waits for an audit record to be on disk before it takes effect.
#[derive(Debug, Clone, PartialEq)]
pub enum Awaiting {
    /// Send `cfg.actions[action]` once its confirmation is recorded; on failure the run
    /// goes back to `prev`.
    Action {
        action: usize,
        idempotency_key: String,
        attempt: u32,
        prev: ActionRun,
    },
    /// Run the step's script once `step_run` is recorded.
    StepRun {
        step: usize,
        prev: StepRun,
    },
    /// Tick (`Some`) or untick (`None`) the item once recorded.
    Tick {
        step: usize,
        item: usize,
        tick: Option<super::Tick>,
    },
    SignOff {
        step: usize,
        signoff: SignOff,
    },
    T0 {
        at: Ts,
    },
    /// A result, verdict or decline: nothing waits on it, but the room must know if it is
    /// missing from the log (`what` names it).
    Record {
        what: String,
    },
}

/// An audit record on its way to disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub id: u64,
    pub what: Awaiting,
}

/// I/O that `update` asks the runtime to do.
// A few effects per message, consumed at once: not worth boxing the record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send the request or run the command of `cfg.actions[action]`, once.
    Run {
        action: usize,
        idempotency_key: String,
        attempt: u32,
    },
    /// Append one record to the audit log and answer `Msg::AuditWritten { id }` once it is
    /// on disk (or `AuditFailed`). With `claim`, first claim the action's flight for every
    /// process sharing the log: a competing attempt answers `Msg::ClaimLost` instead.
    Audit {
        id: u64,
        event: AuditEvent,
        claim: Option<ClaimRule>,
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
