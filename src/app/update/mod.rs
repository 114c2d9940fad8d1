//! The only writer of `State`. Pure: no I/O, no system clock (time comes in `Msg::Tick`
//! and in each poll's timestamp). What must happen outside is returned as `Effect`s.
//!
//! Two clocks: every duration (notices, the confirm time-out, verify deadlines, flights)
//! is measured on `state.mono`; `state.now`, the wall clock, is only shown and stamped.

mod audited;
mod remote;

use super::actions::{
    ActionRun, Awaiting, Confirm, ConfirmKind, Effect, Modal, Report, RunState, SignOff, Verdict,
    Verify,
};
use super::{Action, Focus, Msg, Notice, State, Tick, EVENT_CAP};
use crate::audit::{self as log, AuditEvent, Decision, Outcome};
use crate::config::duration::format_span;
use crate::engine::{breach_text, Event, EventKind, Severity, Status};
use crate::sample::{Mono, Ts};
use audited::audit;

/// How long a footer notice stays.
const NOTICE_MS: i64 = 5_000;
/// A confirmation left alone this long cancels itself.
pub const CONFIRM_IDLE_MS: i64 = 30_000;
/// The phrase that confirms a T0 mark.
pub const T0_PHRASE: &str = "t0";
/// The wall clock moving this much more (or less) than the monotonic one between two
/// readings is a step (NTP, an operator's `date -s`), not scheduling jitter.
pub const STEP_TOLERANCE_MS: i64 = 2_000;

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Tick(now) => {
            advance_clock(state, now.at, now.mono);
            let ev = state.engine.tick(state.stamp());
            push_events(state, ev);
            if state
                .notice
                .as_ref()
                .is_some_and(|n| (state.mono - n.at).num_milliseconds() > NOTICE_MS)
            {
                state.notice = None;
            }
            expire_confirm(state, &mut fx);
            expire_remote_flights(state);
            verify_step(state, &mut fx);
            state.dirty = true;
        }
        Msg::Poll(p) => {
            advance_clock(state, p.at, p.mono);
            let ev = state.engine.ingest(&p);
            push_events(state, ev);
            state.dirty = true;
        }
        Msg::Readings(summary, readings) => {
            advance_clock(state, summary.at, summary.mono.unwrap_or(state.mono));
            let ev = state.engine.ingest_readings(&summary, readings);
            push_events(state, ev);
            state.dirty = true;
        }
        Msg::Resize => state.dirty = true,
        Msg::Paste(text) => {
            let busy = sending(state);
            if let Some(Modal::Confirm(c)) = state.modal.as_mut().filter(|_| !busy) {
                // A paste is text, never Enter: a pasted newline cannot fire anything.
                c.typed.extend(text.chars().filter(|ch| !ch.is_control()));
                c.last_input = state.mono;
                c.error = None;
            }
            state.dirty = true;
        }
        Msg::Action(a) => {
            on_action(state, a, &mut fx);
            state.dirty = true;
        }
        Msg::ActionDone { action, report } => {
            action_done(state, action, report, &mut fx);
            state.dirty = true;
        }
        Msg::StepDone { step, report } => {
            step_done(state, step, report, &mut fx);
            state.dirty = true;
        }
        Msg::Remote(r) => {
            remote::apply(state, r);
            state.dirty = true;
        }
        Msg::Warning(text) => {
            note(state, Severity::Warn, text);
            state.dirty = true;
        }
        Msg::AuditWritten { id } => {
            audited::written(state, id, &mut fx);
            state.dirty = true;
        }
        Msg::AuditFailed { id, reason } => {
            audited::failed(state, id, reason);
            state.dirty = true;
        }
        Msg::ClaimLost { id, competitor } => {
            audited::claim_lost(state, id, competitor, &mut fx);
            state.dirty = true;
        }
        Msg::RecordFailed(why) => {
            note(
                state,
                Severity::Crit,
                format!("RECORDING INCOMPLETE: {why}"),
            );
            state.record_failed.get_or_insert(why);
            state.dirty = true;
        }
    }
    fx
}

/// The open confirmation was accepted and waits for its audit record.
fn sending(state: &State) -> bool {
    matches!(&state.modal, Some(Modal::Confirm(c)) if c.sending.is_some())
}

/// Move both clocks to a new reading. The monotonic clock only goes forward (a poll
/// stamped before the last tick changes nothing); the wall clock follows the reading,
/// backwards too, and a step between the two is told once as an event.
fn advance_clock(state: &mut State, at: Ts, mono: Mono) {
    if mono < state.mono {
        return;
    }
    let step = (at - state.now).num_milliseconds() - (mono - state.mono).num_milliseconds();
    state.now = at;
    state.mono = mono;
    if step.abs() > STEP_TOLERANCE_MS {
        let text = format!(
            "wall clock stepped {}: durations, bands and countdowns are unaffected",
            format_step(step)
        );
        note(state, Severity::Warn, text);
    }
}

/// `+1h00m`, `-10s`, `+2m05s`: a clock step, to the second.
pub fn format_step(ms: i64) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let s = (ms.unsigned_abs() + 500) / 1000;
    match s {
        0..=59 => format!("{sign}{s}s"),
        60..=3599 => format!("{sign}{}m{:02}s", s / 60, s % 60),
        _ => format!("{sign}{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn push_events(state: &mut State, events: Vec<Event>) {
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
    let (at, mono) = (state.now, state.mono);
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

pub(super) fn notice(state: &mut State, text: impl Into<String>) {
    state.notice = Some(Notice {
        text: text.into(),
        at: state.mono,
    });
}

fn on_action(state: &mut State, a: Action, fx: &mut Vec<Effect>) {
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
        Action::ToggleTick => toggle_tick(state, fx),
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
        // Text keys and Enter outside a modal mean nothing.
        Action::Type(_) | Action::Backspace | Action::Submit => {}
    }
}

fn refuse_read_only(state: &mut State, what: &str) -> bool {
    if state.read_only {
        notice(
            state,
            format!("read-only: {what} are disabled on this screen"),
        );
    }
    state.read_only
}

/// The rows not ok when a modal opens, worst first, each with its band: the "why".
fn breach_snapshot(state: &State) -> Vec<String> {
    use crate::engine::Band;
    let mut rows: Vec<_> = state
        .engine
        .rows
        .iter()
        .filter(|r| r.effective > Band::Ok)
        .collect();
    rows.sort_by_key(|r| {
        (
            std::cmp::Reverse(r.effective),
            std::cmp::Reverse(r.critical),
        )
    });
    rows.iter()
        .map(|r| {
            format!(
                "{} {}",
                r.effective.word().to_uppercase(),
                breach_text(r, state.engine.signal(r), state.mono)
            )
        })
        .collect()
}

fn open_action(state: &mut State, i: usize, opener: Option<char>) {
    if refuse_read_only(state, "actions") {
        return;
    }
    let Some(a) = state.cfg.actions.get(i).cloned() else {
        return;
    };
    let run = &state.runs[i];
    if let Some(text) = in_flight_text(state, i) {
        notice(state, text);
        return;
    }
    // A second attempt after one that succeeded is a deliberate decision: the modal names
    // the previous attempt and asks for a different phrase.
    let again = state.second_attempt_guard(i);
    let retry = run.idempotency_key.is_some();
    let attempt = if retry { run.attempts + 1 } else { 1 };
    let previous = again
        .map(|until| previous_attempt_lines(state, i, until))
        .unwrap_or_default();
    let mut target = state.action_plans.get(i).cloned().unwrap_or_default();
    if retry {
        target.push(format!(
            "retry: attempt {attempt}, same Idempotency-Key as the failed attempt"
        ));
    }
    let phrase = match again {
        Some(_) => a.again_phrase(),
        None => a.confirm_phrase().to_string(),
    };
    state.modal = Some(Modal::Confirm(Confirm {
        kind: ConfirmKind::Action(i),
        title: a.label.clone(),
        previous,
        target,
        snapshot: breach_snapshot(state),
        phrase: Some(phrase),
        typed: String::new(),
        error: None,
        opened_at: state.now,
        last_input: state.mono,
        attempt,
        opener,
        again: again.is_some(),
        sending: None,
    }));
}

/// Why `cfg.actions[i]`'s key is inert now, if it is: an attempt being recorded or sent.
pub(super) fn in_flight_text(state: &State, i: usize) -> Option<String> {
    let (run, a) = (state.runs.get(i)?, state.cfg.actions.get(i)?);
    let label = &a.label;
    match run.state {
        RunState::Recording { .. } => Some(format!(
            "{label} is being recorded in the audit log: its key is inert until it is sent"
        )),
        RunState::InFlight { since } => {
            let held = format_span(state.mono - since);
            let by = run
                .remote_by
                .as_deref()
                .map(|b| format!(", fired by {b}"))
                .unwrap_or_default();
            Some(format!(
                "{label} is in flight ({held}{by}): its key is inert until it ends"
            ))
        }
        RunState::Idle | RunState::Done => None,
    }
}

/// The previous (successful) attempt, for the modal of a second one.
pub(super) fn previous_attempt_lines(state: &State, i: usize, until: Mono) -> Vec<String> {
    let until = state.stamp().wall_of(until);
    let run = &state.runs[i];
    let Some(last) = &run.last else {
        return Vec::new();
    };
    let verification = match &run.verify {
        None => "none configured".to_string(),
        Some(v) => match &v.verdict {
            None => format!(
                "verifying, {}s left",
                (v.deadline - state.mono).num_seconds().max(0)
            ),
            Some(Verdict::Verified { at }) => format!("VERIFIED at {} UTC", at.format("%H:%M:%S")),
            Some(Verdict::NotVerified { failing }) => {
                format!("NOT VERIFIED: {}", failing.join(", "))
            }
        },
    };
    vec![
        format!(
            "SUCCEEDED at {} UTC by {}: {}",
            last.at.format("%H:%M:%S"),
            last.by,
            last.summary
        ),
        format!("verification: {verification}"),
        format!(
            "A second attempt gets a NEW Idempotency-Key (the target applies it again); until {} UTC it needs the phrase below.",
            until.format("%H:%M:%S")
        ),
    ]
}

fn open_mark_t0(state: &mut State) {
    if refuse_read_only(state, "T0 marks") {
        return;
    }
    if state
        .pending
        .iter()
        .any(|p| matches!(p.what, Awaiting::T0 { .. }))
    {
        notice(state, "a T0 mark is being recorded in the audit log");
        return;
    }
    if let Some(t0) = state.t0 {
        let how = match &state.t0_marked_by {
            Some((by, _)) => format!("marked by {by}"),
            None => "from the config or --t0".into(),
        };
        notice(
            state,
            format!("T0 is already set ({} UTC, {how})", t0.format("%H:%M:%S")),
        );
        return;
    }
    state.modal = Some(Modal::Confirm(Confirm {
        kind: ConfirmKind::MarkT0,
        title: "Mark T0 now".into(),
        previous: Vec::new(),
        target: vec![format!(
            "T0 = the moment Enter is pressed; every screen sharing the audit log follows"
        )],
        snapshot: Vec::new(),
        phrase: Some(T0_PHRASE.into()),
        typed: String::new(),
        error: None,
        opened_at: state.now,
        last_input: state.mono,
        attempt: 1,
        opener: None,
        again: false,
        sending: None,
    }));
}

fn open_sign_off(state: &mut State, go: bool) {
    if refuse_read_only(state, "sign-offs") {
        return;
    }
    let Some(step) =
        target_step(state).filter(|s| state.cfg.steps.get(*s).is_some_and(|st| st.gate))
    else {
        notice(
            state,
            "select a GATE step in the timeline (Tab, j/k) to sign it off",
        );
        return;
    };
    if state
        .pending
        .iter()
        .any(|p| matches!(p.what, Awaiting::SignOff { step: s, .. } if s == step))
    {
        notice(
            state,
            "a sign-off of this gate is being recorded in the audit log",
        );
        return;
    }
    let title = state.cfg.steps[step].title.clone();
    let decision = if go { "GO" } else { "NO-GO" };
    state.modal = Some(Modal::Confirm(Confirm {
        kind: ConfirmKind::SignOff { step, go },
        title: format!("{decision}: {title}"),
        previous: Vec::new(),
        target: vec![format!(
            "sign off \"{title}\" as {decision}: type your name"
        )],
        snapshot: breach_snapshot(state),
        phrase: None,
        typed: String::new(),
        error: None,
        opened_at: state.now,
        last_input: state.mono,
        attempt: 1,
        opener: None,
        again: false,
        sending: None,
    }));
}

/// The selected step in the timeline, else the current one.
fn target_step(state: &State) -> Option<usize> {
    if state.focus == Focus::Timeline {
        Some(state.selected_item.0)
    } else {
        state.current_step()
    }
}

fn open_step_run(state: &mut State) {
    if refuse_read_only(state, "step scripts") {
        return;
    }
    let Some(step) =
        target_step(state).filter(|s| state.cfg.steps.get(*s).is_some_and(|st| st.run.is_some()))
    else {
        notice(
            state,
            "select a step with a script (Tab to the timeline, j/k) to run it",
        );
        return;
    };
    match state.step_runs[step].state {
        RunState::InFlight { since } => {
            let held = format_span(state.mono - since);
            notice(
                state,
                format!("this step's script is running ({held}): wait for it"),
            );
            return;
        }
        RunState::Recording { .. } => {
            notice(state, "this step's run is being recorded in the audit log");
            return;
        }
        RunState::Idle | RunState::Done => {}
    }
    let st = &state.cfg.steps[step];
    if st.run.is_none() {
        return;
    }
    // Secrets redacted (the session supplies the plans), like an action's target.
    let target = state.step_plans.get(step).cloned().unwrap_or_default();
    state.modal = Some(Modal::Confirm(Confirm {
        kind: ConfirmKind::StepRun(step),
        title: format!("Run: {}", st.title),
        previous: Vec::new(),
        target,
        snapshot: breach_snapshot(state),
        phrase: Some("run".into()),
        typed: String::new(),
        error: None,
        opened_at: state.now,
        last_input: state.mono,
        attempt: state.step_runs[step].runs + 1,
        opener: state
            .keys
            .keys_for(Action::RunStep)
            .find_map(|c| c.as_char()),
        again: false,
        sending: None,
    }));
}

fn step_done(state: &mut State, step: usize, report: Report, fx: &mut Vec<Effect>) {
    let Some(st) = state.cfg.steps.get(step) else {
        return;
    };
    let title = st.title.clone();
    audit(
        state,
        fx,
        AuditEvent::StepRunResult(log::StepRunResult {
            step,
            title: title.clone(),
            ok: report.ok,
            outcome: Some(Outcome::of(report.ok, report.unknown)),
            exit_code: report.exit_code,
            summary: report.summary.clone(),
            duration_ms: report.duration_ms,
            excerpt: report.excerpt.clone(),
        }),
        Awaiting::Record {
            what: format!("the result of the script of \"{title}\""),
        },
        None,
    );
    let (sev, text) = if report.ok {
        (
            Severity::Info,
            format!("step \"{title}\" script: {}", report.summary),
        )
    } else {
        (
            Severity::Crit,
            format!("step \"{title}\" script FAILED: {}", report.summary),
        )
    };
    let run = &mut state.step_runs[step];
    run.state = RunState::Done;
    run.last = Some(report);
    note(state, sev, text);
}

fn on_modal_action(state: &mut State, a: Action, fx: &mut Vec<Effect>) {
    let now = state.mono;
    match state.modal.as_mut() {
        Some(Modal::Menu { selected }) => match a {
            Action::Escape | Action::Menu => state.modal = None,
            Action::Quit => state.quit = true,
            Action::Move(d) => {
                let n = state.cfg.actions.len() as i64;
                *selected = (*selected as i64 + d as i64).clamp(0, (n - 1).max(0)) as usize;
            }
            Action::Submit => {
                let i = *selected;
                state.modal = None;
                open_action(state, i, None);
            }
            Action::Key(c) => {
                let key = c.to_string();
                if let Some(i) = state.cfg.actions.iter().position(|a| a.key == key) {
                    state.modal = None;
                    open_action(state, i, Some(c));
                }
            }
            _ => {}
        },
        // Accepted and being recorded: the outcome comes from the audit log, not from keys.
        Some(Modal::Confirm(c)) if c.sending.is_some() && a == Action::Quit => state.quit = true,
        Some(Modal::Confirm(c)) if c.sending.is_some() => {}
        Some(Modal::Confirm(c)) => match a {
            Action::Quit => state.quit = true,
            Action::Escape => {
                let what = c.title.clone();
                state.modal = None;
                notice(state, format!("cancelled \"{what}\": nothing was sent"));
            }
            // Repeats of the opening key (held down) before any typing are not text,
            // unless the phrase itself starts with that character.
            Action::Type(ch)
                if c.typed.is_empty()
                    && c.opener == Some(ch)
                    && !c.phrase.as_deref().is_some_and(|p| p.starts_with(ch)) => {}
            Action::Type(ch) => {
                c.typed.push(ch);
                c.last_input = now;
                c.error = None;
            }
            Action::Backspace => {
                c.typed.pop();
                c.last_input = now;
                c.error = None;
            }
            Action::Submit => submit_confirm(state, fx),
            _ => {}
        },
        None => {}
    }
}

fn submit_confirm(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(Modal::Confirm(c)) = state.modal.as_mut() else {
        return;
    };
    let typed = c.typed.trim().to_string();
    // Cancel is the default: Enter on an empty field closes without sending.
    if typed.is_empty() {
        let what = c.title.clone();
        state.modal = None;
        notice(state, format!("cancelled \"{what}\": nothing was sent"));
        return;
    }
    if let Some(phrase) = &c.phrase {
        if typed != *phrase {
            c.error = Some(format!(
                "\"{typed}\" is not the phrase: type {phrase} exactly — nothing was sent"
            ));
            c.last_input = state.mono;
            return;
        }
    }
    let c = c.clone();
    // Nothing takes effect here: each act waits for its audit record (see `audited`), and
    // the modal stays up, saying so, until the record is on disk or refused.
    let id = match c.kind {
        ConfirmKind::Action(i) => {
            if let Some(text) = in_flight_text(state, i) {
                set_modal_error(state, format!("not sent: {text}"));
                return;
            }
            // It succeeded (here or elsewhere) while this modal was open: a second attempt
            // is a new decision.
            if !c.again && state.second_attempt_guard(i).is_some() {
                ask_again(state, i, "not sent: it succeeded meanwhile".into());
                return;
            }
            fire(state, i, &c, fx)
        }
        ConfirmKind::MarkT0 => {
            if state.t0.is_some() {
                state.modal = None;
                notice(state, "T0 was set meanwhile (see events): nothing marked");
                return;
            }
            let at = state.now;
            audit(
                state,
                fx,
                AuditEvent::T0Mark(log::T0Mark { t0: Some(at) }),
                Awaiting::T0 { at },
                None,
            )
        }
        ConfirmKind::StepRun(step) => {
            let run = &mut state.step_runs[step];
            if !matches!(run.state, RunState::Idle | RunState::Done) {
                state.modal = None;
                return;
            }
            let prev = run.clone();
            run.runs += 1;
            run.state = RunState::Recording { since: state.mono };
            let title = state.cfg.steps[step].title.clone();
            let argv = state.cfg.steps[step]
                .run
                .as_ref()
                .map(|r| r.argv.clone())
                .unwrap_or_default();
            audit(
                state,
                fx,
                AuditEvent::StepRun(log::StepRun {
                    step,
                    title,
                    argv,
                    snapshot: c.snapshot.clone(),
                }),
                Awaiting::StepRun { step, prev },
                None,
            )
        }
        ConfirmKind::SignOff { step, go } => {
            let title = state.cfg.steps[step].title.clone();
            let signoff = SignOff {
                name: typed.clone(),
                go,
                at: state.now,
                by: state.user.clone(),
            };
            audit(
                state,
                fx,
                AuditEvent::Signoff(log::Signoff {
                    step,
                    title,
                    decision: Decision::of(go),
                    name: typed,
                    snapshot: c.snapshot.clone(),
                }),
                Awaiting::SignOff { step, signoff },
                None,
            )
        }
    };
    if let Some(Modal::Confirm(m)) = state.modal.as_mut() {
        m.sending = Some(id);
        m.error = None;
    }
}

/// The open confirmation of `cfg.actions[i]`, if it asks for a first attempt while a
/// success is recent, becomes that of a deliberate second attempt: the previous attempt
/// shown, the `… again` phrase asked for, and `why` as its error.
pub(super) fn ask_again(state: &mut State, i: usize, why: String) {
    let Some(until) = state.second_attempt_guard(i) else {
        return;
    };
    let previous = previous_attempt_lines(state, i, until);
    let phrase = state.cfg.actions[i].again_phrase();
    let now = state.mono;
    if let Some(Modal::Confirm(m)) = state.modal.as_mut() {
        if m.kind == ConfirmKind::Action(i) && !m.again && m.sending.is_none() {
            m.again = true;
            m.error = Some(format!(
                "{why} — to send a second one anyway, type {phrase}"
            ));
            m.phrase = Some(phrase);
            m.previous = previous;
            m.typed.clear();
            m.last_input = now;
        }
    }
}

/// Say in the open confirmation why Enter did nothing (it stays open: Esc closes it).
pub(super) fn set_modal_error(state: &mut State, text: String) {
    if let Some(Modal::Confirm(m)) = state.modal.as_mut() {
        m.error = Some(text);
        m.sending = None;
        m.typed.clear();
        m.last_input = state.mono;
    } else {
        notice(state, text);
    }
}

/// Confirmed: record (and claim) first. Single flight starts here; the request goes out
/// on `Msg::AuditWritten` and the flight ends with `Msg::ActionDone`.
fn fire(state: &mut State, i: usize, c: &Confirm, fx: &mut Vec<Effect>) -> u64 {
    let a = state.cfg.actions[i].clone();
    let rule = audited::claim_rule(state, i, c.again);
    let session = state.session.clone();
    let run = &mut state.runs[i];
    let prev = run.clone();
    run.attempts += 1;
    let key = match &run.idempotency_key {
        Some(k) => k.clone(),
        None => {
            let k = format!("{session}-{}-{}", a.id, run.attempts);
            run.idempotency_key = Some(k.clone());
            k
        }
    };
    run.state = RunState::Recording { since: state.mono };
    run.verify = None;
    let attempt = run.attempts;
    audit(
        state,
        fx,
        AuditEvent::ActionConfirmed(log::Confirmed {
            action: a.id.clone(),
            label: a.label.clone(),
            attempt,
            idempotency_key: key.clone(),
            target: c.target.clone(),
            snapshot: c.snapshot.clone(),
            again: c.again,
        }),
        Awaiting::Action {
            action: i,
            idempotency_key: key,
            attempt,
            prev,
        },
        Some(rule),
    )
}

fn action_done(state: &mut State, i: usize, report: Report, fx: &mut Vec<Effect>) {
    let Some(a) = state.cfg.actions.get(i).cloned() else {
        return;
    };
    let mono = state.mono;
    let run: &mut ActionRun = &mut state.runs[i];
    run.state = RunState::Done;
    run.remote_by = None;
    run.ended = Some(mono);
    let ok = report.ok;
    let key = run.idempotency_key.clone().unwrap_or_default();
    if ok {
        // A later confirmation is a new action with a new key.
        run.idempotency_key = None;
        if let Some(v) = &a.verify {
            run.verify = Some(Verify {
                started: state.mono,
                deadline: state.mono + chrono::Duration::milliseconds(v.within.as_ms()),
                verdict: None,
                pending: v
                    .conditions
                    .iter()
                    .map(|c| format!("{} {}", c.signal, c.is))
                    .collect(),
                remote: false,
                decided: None,
            });
        }
    }
    let event = AuditEvent::ActionResult(log::ActionResult {
        action: a.id.clone(),
        attempt: run.attempts,
        ok,
        outcome_unknown: report.unknown,
        outcome: Some(Outcome::of(ok, report.unknown)),
        http_status: report.http_status,
        exit_code: report.exit_code,
        duration_ms: report.duration_ms,
        idempotency_key: key,
        summary: report.summary.clone(),
        excerpt: report.excerpt.clone(),
    });
    let (sev, text) = if ok {
        (
            Severity::Info,
            format!("\"{}\" succeeded: {}", a.label, report.summary),
        )
    } else {
        (
            Severity::Crit,
            format!(
                "\"{}\" FAILED: {} — press {} to confirm a retry",
                a.label, report.summary, a.key
            ),
        )
    };
    run.last = Some(report);
    audit(
        state,
        fx,
        event,
        Awaiting::Record {
            what: format!("the result of \"{}\"", a.label),
        },
        None,
    );
    note(state, sev, text);
    if ok && a.verify.is_some() {
        verify_step(state, fx);
    }
}

/// Verification: at each second, poll the signals' sources and judge the conditions
/// on fresh values only (sampled after the action finished).
fn verify_step(state: &mut State, fx: &mut Vec<Effect>) {
    for i in 0..state.runs.len() {
        let Some(v) = state.runs[i].verify.clone() else {
            continue;
        };
        if v.verdict.is_some() || v.remote {
            continue;
        }
        let Some(cfg) = state.cfg.actions[i].verify.clone() else {
            continue;
        };
        let mut failing = Vec::new();
        let mut sources = Vec::new();
        for cond in &cfg.conditions {
            let rows: Vec<_> = state
                .engine
                .rows
                .iter()
                .filter(|r| state.engine.signal(r).id == cond.signal)
                .collect();
            let holds = !rows.is_empty()
                && rows.iter().all(|r| {
                    matches!(r.status, Status::Band(_))
                        && r.last_good_at.is_some_and(|t| t >= v.started)
                        && r.value.as_ref().is_some_and(|val| cond.is.holds(val))
                });
            if !holds {
                failing.push(format!("{} {}", cond.signal, cond.is));
                if let Some(sig) = state.cfg.signals.iter().find(|s| s.id == cond.signal) {
                    if !sources.contains(&sig.source) {
                        sources.push(sig.source.clone());
                    }
                }
            }
        }
        let label = state.cfg.actions[i].label.clone();
        let id = state.cfg.actions[i].id.clone();
        let now = state.mono;
        let verdict = if failing.is_empty() {
            Some(Verdict::Verified { at: state.now })
        } else if now >= v.deadline {
            Some(Verdict::NotVerified {
                failing: failing.clone(),
            })
        } else {
            None
        };
        if let Some(vv) = &mut state.runs[i].verify {
            vv.pending = failing.clone();
            vv.verdict = verdict.clone();
            if verdict.is_some() {
                vv.decided = Some(now);
            }
        }
        match verdict {
            Some(Verdict::Verified { .. }) => {
                let took = format_span(now - v.started);
                note(
                    state,
                    Severity::Info,
                    format!("\"{label}\" VERIFIED in {took}"),
                );
                audit(
                    state,
                    fx,
                    AuditEvent::VerifyResult(log::VerifyResult {
                        action: id,
                        verified: true,
                        after: Some(took),
                        failing: Vec::new(),
                    }),
                    Awaiting::Record {
                        what: format!("the verdict on \"{label}\""),
                    },
                    None,
                );
            }
            Some(Verdict::NotVerified { failing }) => {
                note(
                    state,
                    Severity::Crit,
                    format!(
                        "\"{label}\" NOT VERIFIED by the deadline: {}",
                        failing.join(", ")
                    ),
                );
                audit(
                    state,
                    fx,
                    AuditEvent::VerifyResult(log::VerifyResult {
                        action: id,
                        verified: false,
                        after: None,
                        failing,
                    }),
                    Awaiting::Record {
                        what: format!("the verdict on \"{label}\""),
                    },
                    None,
                );
            }
            None => fx.push(Effect::PollNow { sources }),
        }
    }
}

fn expire_confirm(state: &mut State, fx: &mut Vec<Effect>) {
    let _ = fx;
    if let Some(Modal::Confirm(c)) = &state.modal {
        // Accepted and being recorded: not idle, waiting for the disk.
        if c.sending.is_none() && (state.mono - c.last_input).num_milliseconds() >= CONFIRM_IDLE_MS
        {
            let what = c.title.clone();
            state.modal = None;
            notice(
                state,
                format!("\"{what}\" timed out after 30 s idle: nothing was sent"),
            );
        }
    }
}

/// How long another screen's unanswered attempt holds the flight: the action's time-out and
/// a margin for the result to reach the log.
pub(super) fn remote_flight_ms(a: &crate::config::ActionCfg) -> i64 {
    a.timeout_ms() + 10_000
}

/// Another screen's attempt that never reported back (it crashed, or its SSH dropped):
/// after the action's time-out and a margin, this screen's key works again.
fn expire_remote_flights(state: &mut State) {
    for i in 0..state.runs.len() {
        let run = &state.runs[i];
        let (RunState::InFlight { since }, Some(by)) = (&run.state, &run.remote_by) else {
            continue;
        };
        let a = &state.cfg.actions[i];
        if (state.mono - *since).num_milliseconds() > remote_flight_ms(a) {
            let (since, by, label) = (*since, by.clone(), a.label.clone());
            let at = state.stamp().wall_of(since);
            let run = &mut state.runs[i];
            run.state = RunState::Done;
            run.remote_by = None;
            run.last = Some(Report {
                ok: false,
                unknown: true,
                summary: format!("no result from {by}: outcome unknown — check before retrying"),
                excerpt: String::new(),
                at,
                duration_ms: 0,
                by: by.clone(),
                http_status: None,
                exit_code: None,
            });
            note(
                state,
                Severity::Crit,
                format!("\"{label}\" fired by {by} never reported a result: outcome unknown"),
            );
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
        .flat_map(|(s, st)| (0..st.checklist.len().max(usize::from(st.gate))).map(move |i| (s, i)))
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

fn toggle_tick(state: &mut State, fx: &mut Vec<Effect>) {
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

/// The footer while a tick waits for its record (cleared once it is recorded).
pub(super) const RECORDING: &str = "recording in the audit log: ";

#[cfg(test)]
mod tests;
