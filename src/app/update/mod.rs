//! The only writer of `State`. Pure: no I/O, no system clock (time comes in `Msg::Tick`
//! and in each poll's timestamp). What must happen outside is returned as `Effect`s.
//!
//! Two clocks: every duration (notices, the confirm time-out, verify deadlines, flights)
//! is measured on `state.mono`; `state.now`, the wall clock, is only shown and stamped.
//!
//! `update` only dispatches; each concern has its module:
//! - `navigate`: focus, selection, help, notices, the events panel, checklist ticks, clocks;
//! - `confirm`: the confirmation modal (one constructor), typing and submitting;
//! - `flight`: firing, results, single flight, the cooldown, verification, step scripts;
//! - `remote`: other screens' audit records, applied here;
//! - `audited`: the write-ahead bookkeeping, acts waiting for their audit record.

mod audited;
mod confirm;
mod flight;
mod navigate;
mod remote;

pub use audited::{Awaiting, Pending};
pub use confirm::{
    Confirm, ConfirmKind, Modal, BREAK_GLASS, BREAK_GLASS_MIN_REASON, CONFIRM_IDLE_MS, T0_PHRASE,
};
pub use flight::{ActionRun, Report, RunState, StepRun, Verdict, Verify};
pub use navigate::STEP_TOLERANCE_MS;
pub use remote::Remote;

use super::{Msg, State};
use crate::audit::{AuditEvent, ClaimRule};
use crate::engine::Severity;

/// Apply one message to the state; what must happen outside comes back as effects.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    let engine_moved = matches!(msg, Msg::Tick(_) | Msg::Readings(..));
    let answered = match &msg {
        Msg::AuditWritten { id } => Some((*id, true)),
        Msg::AuditFailed { id: Some(id), .. } | Msg::ClaimLost { id, .. } => Some((*id, false)),
        _ => None,
    };
    match msg {
        Msg::Tick(now) => {
            navigate::advance_clock(state, now.at, now.mono);
            let ev = state.engine.tick(state.stamp());
            navigate::push_events(state, ev);
            navigate::expire_notice(state);
            confirm::expire(state);
            flight::expire_remote_flights(state);
            flight::verify_step(state, &mut fx);
        }
        Msg::Readings(summary, readings) => {
            navigate::advance_clock(state, summary.at, summary.mono.unwrap_or(state.mono));
            state.holds.observe(&state.cfg, &summary, &readings);
            let ev = state.engine.ingest_readings(&summary, readings);
            navigate::push_events(state, ev);
        }
        Msg::Replay(p) => super::playback::apply(state, p),
        Msg::Resize => {}
        Msg::Paste(text) => confirm::paste(state, &text),
        Msg::Action(a) => navigate::on_action(state, a, &mut fx),
        Msg::ActionDone { action, report } => flight::action_done(state, action, report, &mut fx),
        Msg::StepDone { step, report } => flight::step_done(state, step, report, &mut fx),
        Msg::Remote(r) => remote::apply(state, r),
        Msg::Warning(text) => navigate::note(state, Severity::Warn, text),
        Msg::Notified { ok, text } => navigate::note(
            state,
            if ok { Severity::Info } else { Severity::Crit },
            text,
        ),
        Msg::AuditWritten { id } => audited::written(state, id, &mut fx),
        Msg::AuditFailed { id, reason } => audited::failed(state, id, reason),
        Msg::ClaimLost { id, competitor } => audited::claim_lost(state, id, competitor, &mut fx),
        Msg::PastHolds {
            runs,
            what,
            problems,
        } => {
            state.holds.load_past(runs, what.clone());
            navigate::note(state, Severity::Info, format!("holds: read {what}"));
            for p in problems {
                navigate::note(state, Severity::Warn, format!("holds: {p}; skipped"));
            }
        }
        Msg::RecordFailed(why) => {
            navigate::note(
                state,
                Severity::Crit,
                format!("RECORDING INCOMPLETE: {why}"),
            );
            state.record_failed.get_or_insert(why);
        }
    }
    announce(state, engine_moved, answered, &mut fx);
    // Every message may change what the screen shows (a resize only its layout).
    state.dirty = true;
    confirm::refresh_block(state);
    super::playback::status(state);
    fx
}

/// What must be announced to the team: an episode that opened or ended (from the engine's
/// state after this message), an act whose record is on disk. A read-only screen
/// announces nothing; neither does a screen without `[[notify]]`.
fn announce(
    state: &mut State,
    engine_moved: bool,
    answered: Option<(u64, bool)>,
    fx: &mut Vec<Effect>,
) {
    if state.read_only || state.cfg.notify.is_empty() {
        return;
    }
    let by = state.user.clone();
    let at = state.now;
    let acts: Vec<_> = fx
        .iter()
        .filter_map(|f| match f {
            Effect::Audit { id, event, .. } => {
                crate::notify::act_notice(event, &by, at).map(|n| (*id, n))
            }
            _ => None,
        })
        .collect();
    for (id, n) in acts {
        state.notify.await_record(id, n);
    }
    if let Some(n) = answered.and_then(|(id, ok)| state.notify.record_answered(id, ok)) {
        fx.push(Effect::Notify(n));
    }
    if engine_moved {
        let holding = crate::notify::conditions(&state.engine);
        for n in state.notify.observe(state.now, holding) {
            fx.push(Effect::Notify(n));
        }
    }
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
    /// Announce this to the `[[notify]]` targets (the sender claims an episode's notice
    /// in the audit log first, so one screen sends it).
    Notify(crate::notify::Notice),
}

#[cfg(test)]
mod tests;
