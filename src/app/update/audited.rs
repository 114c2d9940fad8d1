//! Acts that take effect only once their audit record is on disk: an action's request, a
//! step's script, a tick, a sign-off, a T0 mark. `update` asks for the record
//! (`Effect::Audit`) and keeps what waits for it in `state.pending`; the writer answers
//! `AuditWritten`, `AuditFailed` or `ClaimLost`, and only then does the act happen — or is
//! refused, saying why. Pure, like the rest of `update`.

use super::confirm::set_modal_error;
use super::flight::{ActionRun, StepRun};
use super::navigate::{note, notice, RECORDING};
use super::Effect;
use crate::app::{Modal, RunState, SignOff, State, Tick};
use crate::audit::{AuditEvent, ClaimRule, Competitor, DeclineReason, Declined};
use crate::engine::Severity;
use crate::sample::Ts;

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
        tick: Option<Tick>,
    },
    SignOff {
        step: usize,
        signoff: SignOff,
    },
    T0 {
        at: Ts,
    },
    /// A break-glass override of `cfg.actions[action]`'s gate: once recorded, the open
    /// confirmation may go past the gate (its own phrase still fires it).
    BreakGlass {
        label: String,
        phrase: String,
        reason: String,
    },
    /// An operator's note, shown once recorded.
    Note {
        text: String,
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

/// Ask for `event` to be recorded; `what` happens once it is. Returns the record's id.
pub(super) fn audit(
    state: &mut State,
    fx: &mut Vec<Effect>,
    event: AuditEvent,
    what: Awaiting,
    claim: Option<ClaimRule>,
) -> u64 {
    state.audit_seq += 1;
    let id = state.audit_seq;
    state.pending.push(Pending { id, what });
    fx.push(Effect::Audit { id, event, claim });
    id
}

pub(super) fn take(state: &mut State, id: u64) -> Option<Awaiting> {
    let at = state.pending.iter().position(|p| p.id == id)?;
    Some(state.pending.remove(at).what)
}

/// Close the modal if it is the one waiting for `id`.
pub(super) fn close_modal_of(state: &mut State, id: u64) {
    if matches!(&state.modal, Some(Modal::Confirm(c)) if c.sending == Some(id)) {
        state.modal = None;
    }
}

/// The modal waiting for `id` shows `text` (it stays open); without it, the footer does.
pub(super) fn refuse(state: &mut State, id: u64, text: String) {
    if matches!(&state.modal, Some(Modal::Confirm(c)) if c.sending == Some(id)) {
        set_modal_error(state, text);
    } else {
        notice(state, text);
    }
}

/// Record `id` is on disk: what waited for it happens now.
pub(super) fn written(state: &mut State, id: u64, fx: &mut Vec<Effect>) {
    if let Some(why) = state.audit_failing.take() {
        note(
            state,
            Severity::Info,
            format!("the audit log is writable again (it failed: {why})"),
        );
    }
    let Some(what) = take(state, id) else {
        return;
    };
    if !matches!(what, Awaiting::BreakGlass { .. }) {
        close_modal_of(state, id);
    }
    let user = state.user.clone();
    let now = state.mono;
    match what {
        Awaiting::Action {
            action,
            idempotency_key,
            attempt,
            ..
        } => {
            let Some(label) = state.cfg.actions.get(action).map(|a| a.label.clone()) else {
                return;
            };
            state.runs[action].state = RunState::InFlight { since: now };
            fx.push(Effect::Run {
                action,
                idempotency_key,
                attempt,
            });
            note(
                state,
                Severity::Warn,
                format!("{user} fired \"{label}\" (attempt {attempt})"),
            );
        }
        Awaiting::StepRun { step, .. } => {
            let Some(title) = state.cfg.steps.get(step).map(|s| s.title.clone()) else {
                return;
            };
            state.step_runs[step].state = RunState::InFlight { since: now };
            fx.push(Effect::RunStep { step });
            note(
                state,
                Severity::Info,
                format!("{user} ran the script of \"{title}\""),
            );
        }
        Awaiting::Tick { step, item, tick } => {
            let Some(st) = state.cfg.steps.get(step) else {
                return;
            };
            let (title, text) = (
                st.title.clone(),
                st.checklist.get(item).cloned().unwrap_or_default(),
            );
            let verb = if tick.is_some() { "ticked" } else { "unticked" };
            if let Some(slot) = state.ticks.get_mut(step).and_then(|v| v.get_mut(item)) {
                *slot = tick;
            }
            if state
                .notice
                .as_ref()
                .is_some_and(|n| n.text.starts_with(RECORDING))
            {
                state.notice = None;
            }
            note(
                state,
                Severity::Info,
                format!("{user} {verb} \"{text}\" ({title})"),
            );
        }
        Awaiting::SignOff { step, signoff } => {
            let Some(title) = state.cfg.steps.get(step).map(|s| s.title.clone()) else {
                return;
            };
            let decision = if signoff.go { "GO" } else { "NO-GO" };
            let sev = if signoff.go {
                Severity::Info
            } else {
                Severity::Crit
            };
            let text = format!("{decision} signed by {} for \"{title}\"", signoff.name);
            if let Some(v) = state.signoffs.get_mut(step) {
                v.push(signoff);
            }
            note(state, sev, text);
        }
        Awaiting::T0 { at } => {
            // Another screen's mark may have arrived meanwhile: the first recorded one stands.
            if state.t0.is_none() {
                state.t0 = Some(at);
                state.t0_marked_by = Some((user.clone(), at));
            }
            note(
                state,
                Severity::Info,
                format!("{user} marked T0 at {} UTC", at.format("%H:%M:%S")),
            );
        }
        Awaiting::BreakGlass {
            label,
            phrase,
            reason,
        } => {
            if let Some(Modal::Confirm(m)) = state.modal.as_mut() {
                if m.sending == Some(id) {
                    m.sending = None;
                    m.break_glass = Some(reason.clone());
                    m.typed.clear();
                    m.error = None;
                    m.last_input = now;
                }
            }
            note(
                state,
                Severity::Crit,
                format!(
                    "{user} BROKE THE GLASS for \"{label}\": {reason} — type {phrase} to fire it"
                ),
            );
        }
        Awaiting::Note { text } => note(state, Severity::Info, format!("{user} noted: {text}")),
        Awaiting::Record { .. } => {}
    }
}

/// Record `id` (or, without one, the writer itself) failed: what waited for it does not
/// happen, and the header says the log is failing until a write succeeds.
pub(super) fn failed(state: &mut State, id: Option<u64>, reason: String) {
    state.audit_failing = Some(reason.clone());
    note(
        state,
        Severity::Crit,
        format!("AUDIT LOG WRITE FAILED: {reason}"),
    );
    let Some(id) = id else {
        notice(state, "the audit log cannot be written: see events");
        return;
    };
    let Some(what) = take(state, id) else {
        return;
    };
    let cannot = format!("the audit log cannot be written ({reason})");
    match what {
        Awaiting::Action { action, prev, .. } => {
            state.runs[action] = prev;
            let label = state.cfg.actions[action].label.clone();
            note(
                state,
                Severity::Crit,
                format!("\"{label}\" NOT SENT: {cannot}"),
            );
            refuse(state, id, format!("not sent: {cannot}"));
        }
        Awaiting::StepRun { step, prev } => {
            state.step_runs[step] = prev;
            refuse(state, id, format!("not run: {cannot}"));
        }
        Awaiting::Tick { step, item, tick } => {
            let text = state
                .cfg
                .steps
                .get(step)
                .and_then(|s| s.checklist.get(item))
                .cloned()
                .unwrap_or_default();
            let verb = if tick.is_some() { "ticked" } else { "unticked" };
            note(
                state,
                Severity::Crit,
                format!("\"{text}\" NOT {}: {cannot}", verb.to_uppercase()),
            );
            notice(state, format!("not {verb}: {cannot}"));
        }
        Awaiting::SignOff { .. } => refuse(state, id, format!("not signed: {cannot}")),
        Awaiting::T0 { .. } => refuse(state, id, format!("T0 not marked: {cannot}")),
        Awaiting::BreakGlass { .. } => {
            refuse(state, id, format!("not overridden, nothing sent: {cannot}"))
        }
        Awaiting::Note { .. } => refuse(state, id, format!("note not written: {cannot}")),
        Awaiting::Record { what } => note(
            state,
            Severity::Crit,
            format!("{what} is NOT in the audit log: {cannot}"),
        ),
    }
}

/// The claim `id` found another attempt holding the flight: nothing was written or sent.
/// The modal says who fired it and when; the decline itself is recorded.
pub(super) fn claim_lost(state: &mut State, id: u64, c: Competitor, fx: &mut Vec<Effect>) {
    let Some(Awaiting::Action { action, prev, .. }) = take(state, id) else {
        return;
    };
    state.runs[action] = prev;
    let a = state.cfg.actions[action].clone();
    let (reason, by, since) = match &c {
        Competitor::InFlight { by, since, .. } => (DeclineReason::InFlight, by, *since),
        Competitor::Succeeded { by, at, .. } => (DeclineReason::RecentSuccess, by, *at),
    };
    let when = since.format("%H:%M:%S");
    let text = match &c {
        Competitor::InFlight { attempt, .. } => {
            // Its key is inert here too from now on, as if its record had arrived.
            // Measured from now on this screen's monotonic clock, as a remote record is.
            let mono = state.mono;
            let run = &mut state.runs[action];
            run.state = RunState::InFlight { since: mono };
            run.remote_by = Some(by.clone());
            run.attempts = *attempt;
            run.verify = None;
            format!(
                "not sent: {by} fired \"{}\" at {when} UTC (attempt {attempt}) — this screen \
                 sent nothing",
                a.label
            )
        }
        Competitor::Succeeded { verdict, until, .. } => {
            let state_word = match verdict {
                None => "still verifying",
                Some(true) => "VERIFIED",
                Some(false) => "NOT VERIFIED",
            };
            let phrase = a.again_phrase();
            // Still wanted: the same modal now asks for the deliberate phrase.
            if let Some(Modal::Confirm(m)) = state
                .modal
                .as_mut()
                .filter(|m| matches!(m, Modal::Confirm(m) if m.sending == Some(id)))
            {
                m.ask_second_attempt(
                    phrase.clone(),
                    vec![
                        format!("SUCCEEDED at {when} UTC by {by} (seen in the audit log)"),
                        format!("verification: {state_word}"),
                        format!(
                            "A second attempt gets a NEW Idempotency-Key (the target applies it \
                         again); until {} UTC it needs the phrase below.",
                            until.format("%H:%M:%S")
                        ),
                    ],
                );
            }
            format!(
                "not sent: {by}'s \"{}\" succeeded at {when} UTC ({state_word}) — to send a \
                 second one anyway, type {phrase}",
                a.label
            )
        }
    };
    note(state, Severity::Warn, text.clone());
    refuse(state, id, text);
    let by = by.clone();
    audit(
        state,
        fx,
        AuditEvent::ActionDeclined(Declined {
            action: a.id.clone(),
            label: a.label.clone(),
            reason,
            by,
            since: Some(since),
        }),
        Awaiting::Record {
            what: format!("the declined confirmation of \"{}\"", a.label),
        },
        None,
    );
}
