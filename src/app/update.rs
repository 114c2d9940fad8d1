//! The only writer of `State`. Pure: no I/O, no system clock (time comes in `Msg::Tick`
//! and in each poll's timestamp). What must happen outside is returned as `Effect`s.
//!
//! Two clocks: every duration (notices, the confirm time-out, verify deadlines, flights)
//! is measured on `state.mono`; `state.now`, the wall clock, is only shown and stamped.

use super::actions::{
    ActionRun, Confirm, ConfirmKind, Effect, Modal, Remote, Report, RunState, SignOff, Verdict,
    Verify,
};
use super::{Action, Focus, Msg, Notice, State, Tick, EVENT_CAP};
use crate::config::duration::format_span;
use crate::engine::{breach_text, Event, EventKind, Severity, Status};
use crate::sample::{Mono, Ts};
use serde_json::json;

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
            if let Some(Modal::Confirm(c)) = &mut state.modal {
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
            remote(state, r);
            state.dirty = true;
        }
        Msg::Warning(text) => {
            note(state, Severity::Warn, text);
            state.dirty = true;
        }
        Msg::AuditFailed(why) => {
            note(
                state,
                Severity::Crit,
                format!("AUDIT LOG WRITE FAILED: {why}"),
            );
            notice(state, "audit log write failed: see events");
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

fn note(state: &mut State, severity: Severity, text: String) {
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

fn notice(state: &mut State, text: impl Into<String>) {
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
    let Some(a) = state.cfg.actions.get(i) else {
        return;
    };
    let run = &state.runs[i];
    if let RunState::InFlight { since } = run.state {
        let label = a.label.clone();
        let held = format_span(state.mono - since);
        let by = run
            .remote_by
            .as_deref()
            .map(|b| format!(", fired by {b}"))
            .unwrap_or_default();
        notice(
            state,
            format!("{label} is in flight ({held}{by}): its key is inert until it ends"),
        );
        return;
    }
    let retry = run.idempotency_key.is_some();
    let attempt = if retry { run.attempts + 1 } else { 1 };
    let mut target = state.action_plans.get(i).cloned().unwrap_or_default();
    if retry {
        target.push(format!(
            "retry: attempt {attempt}, same Idempotency-Key as the failed attempt"
        ));
    }
    state.modal = Some(Modal::Confirm(Confirm {
        kind: ConfirmKind::Action(i),
        title: a.label.clone(),
        target,
        snapshot: breach_snapshot(state),
        phrase: Some(a.confirm_phrase().to_string()),
        typed: String::new(),
        error: None,
        opened_at: state.now,
        last_input: state.mono,
        attempt,
        opener,
    }));
}

fn open_mark_t0(state: &mut State) {
    if refuse_read_only(state, "T0 marks") {
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
    let title = state.cfg.steps[step].title.clone();
    let decision = if go { "GO" } else { "NO-GO" };
    state.modal = Some(Modal::Confirm(Confirm {
        kind: ConfirmKind::SignOff { step, go },
        title: format!("{decision}: {title}"),
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
    if let RunState::InFlight { since } = state.step_runs[step].state {
        let held = format_span(state.mono - since);
        notice(
            state,
            format!("this step's script is running ({held}): wait for it"),
        );
        return;
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
    }));
}

fn step_done(state: &mut State, step: usize, report: Report, fx: &mut Vec<Effect>) {
    let Some(st) = state.cfg.steps.get(step) else {
        return;
    };
    let title = st.title.clone();
    fx.push(Effect::Audit {
        kind: "step_run_result",
        details: json!({
            "step": step, "title": title, "ok": report.ok, "summary": report.summary,
            "duration_ms": report.duration_ms, "excerpt": report.excerpt,
        }),
    });
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
    state.modal = None;
    match c.kind {
        ConfirmKind::Action(i) => fire(state, i, &c, fx),
        ConfirmKind::MarkT0 => {
            state.t0 = Some(state.now);
            state.t0_marked_by = Some((state.user.clone(), state.now));
            let text = format!(
                "{} marked T0 at {} UTC",
                state.user,
                state.now.format("%H:%M:%S")
            );
            note(state, Severity::Info, text);
            fx.push(Effect::Audit {
                kind: "t0_mark",
                details: json!({ "t0": state.now }),
            });
        }
        ConfirmKind::StepRun(step) => {
            let run = &mut state.step_runs[step];
            if matches!(run.state, RunState::InFlight { .. }) {
                return;
            }
            run.runs += 1;
            run.state = RunState::InFlight { since: state.mono };
            let title = state.cfg.steps[step].title.clone();
            let argv = state.cfg.steps[step]
                .run
                .as_ref()
                .map(|r| r.argv.clone())
                .unwrap_or_default();
            fx.push(Effect::Audit {
                kind: "step_run",
                details: json!({ "step": step, "title": title, "argv": argv, "snapshot": c.snapshot }),
            });
            fx.push(Effect::RunStep { step });
            let user = state.user.clone();
            note(
                state,
                Severity::Info,
                format!("{user} ran the script of \"{title}\""),
            );
        }
        ConfirmKind::SignOff { step, go } => {
            let decision = if go { "GO" } else { "NO-GO" };
            let title = state.cfg.steps[step].title.clone();
            state.signoffs[step] = Some(SignOff {
                name: typed.clone(),
                go,
                at: state.now,
                by: state.user.clone(),
            });
            let sev = if go { Severity::Info } else { Severity::Crit };
            note(
                state,
                sev,
                format!("{decision} signed by {typed} for \"{title}\""),
            );
            fx.push(Effect::Audit {
                kind: "signoff",
                details: json!({
                    "step": step, "title": title, "decision": decision, "name": typed,
                    "snapshot": c.snapshot,
                }),
            });
        }
    }
}

/// Send once: single flight starts here and ends with `Msg::ActionDone`.
fn fire(state: &mut State, i: usize, c: &Confirm, fx: &mut Vec<Effect>) {
    let a = &state.cfg.actions[i];
    let run = &mut state.runs[i];
    if run.in_flight() {
        return;
    }
    run.attempts += 1;
    let key = match &run.idempotency_key {
        Some(k) => k.clone(),
        None => {
            let k = format!("{}-{}-{}", state.session, a.id, run.attempts);
            run.idempotency_key = Some(k.clone());
            k
        }
    };
    run.state = RunState::InFlight { since: state.mono };
    run.verify = None;
    let attempt = run.attempts;
    let (id, label) = (a.id.clone(), a.label.clone());
    fx.push(Effect::Audit {
        kind: "action_confirmed",
        details: json!({
            "action": id, "label": label, "attempt": attempt,
            "idempotency_key": key, "target": c.target, "snapshot": c.snapshot,
        }),
    });
    fx.push(Effect::Run {
        action: i,
        idempotency_key: key,
        attempt,
    });
    let text = format!("{} fired \"{label}\" (attempt {attempt})", state.user);
    note(state, Severity::Warn, text);
}

fn action_done(state: &mut State, i: usize, report: Report, fx: &mut Vec<Effect>) {
    let Some(a) = state.cfg.actions.get(i).cloned() else {
        return;
    };
    let run: &mut ActionRun = &mut state.runs[i];
    run.state = RunState::Done;
    run.remote_by = None;
    let ok = report.ok;
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
            });
        }
    }
    fx.push(Effect::Audit {
        kind: "action_result",
        details: json!({
            "action": a.id, "attempt": run.attempts, "ok": ok, "outcome_unknown": report.unknown,
            "summary": report.summary, "duration_ms": report.duration_ms, "excerpt": report.excerpt,
        }),
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
        }
        match verdict {
            Some(Verdict::Verified { .. }) => {
                let took = format_span(now - v.started);
                note(
                    state,
                    Severity::Info,
                    format!("\"{label}\" VERIFIED in {took}"),
                );
                fx.push(Effect::Audit {
                    kind: "verify_result",
                    details: json!({ "action": id, "verified": true, "after": took }),
                });
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
                fx.push(Effect::Audit {
                    kind: "verify_result",
                    details: json!({ "action": id, "verified": false, "failing": failing }),
                });
            }
            None => fx.push(Effect::PollNow { sources }),
        }
    }
}

fn expire_confirm(state: &mut State, fx: &mut Vec<Effect>) {
    let _ = fx;
    if let Some(Modal::Confirm(c)) = &state.modal {
        if (state.mono - c.last_input).num_milliseconds() >= CONFIRM_IDLE_MS {
            let what = c.title.clone();
            state.modal = None;
            notice(
                state,
                format!("\"{what}\" timed out after 30 s idle: nothing was sent"),
            );
        }
    }
}

/// Apply another process's audit record: the room sees one cutover.
fn remote(state: &mut State, r: Remote) {
    let who = format!("{}@{}", r.user, r.host);
    let d = &r.details;
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let n = |k: &str| d.get(k).and_then(|v| v.as_u64()).map(|v| v as usize);
    match r.kind.as_str() {
        "tick" | "untick" => {
            if let (Some(step), Some(item)) = (n("step"), n("item")) {
                if let Some(slot) = state.ticks.get_mut(step).and_then(|v| v.get_mut(item)) {
                    *slot = (r.kind == "tick").then(|| Tick {
                        by: who.clone(),
                        at: r.at,
                    });
                    let verb = if r.kind == "tick" {
                        "ticked"
                    } else {
                        "unticked"
                    };
                    note(
                        state,
                        Severity::Info,
                        format!("{who} {verb} \"{}\"", s("item_text")),
                    );
                }
            }
        }
        "t0_mark" => {
            let t0 = d
                .get("t0")
                .and_then(|v| serde_json::from_value::<Ts>(v.clone()).ok())
                .unwrap_or(r.at);
            if state.t0.is_none() {
                state.t0 = Some(t0);
                state.t0_marked_by = Some((who.clone(), r.at));
            }
            note(
                state,
                Severity::Info,
                format!("{who} marked T0 at {} UTC", t0.format("%H:%M:%S")),
            );
        }
        "signoff" => {
            if let Some(step) = n("step").filter(|s| *s < state.signoffs.len()) {
                let go = s("decision") == "GO";
                state.signoffs[step] = Some(SignOff {
                    name: s("name"),
                    go,
                    at: r.at,
                    by: who.clone(),
                });
                let sev = if go { Severity::Info } else { Severity::Crit };
                note(
                    state,
                    sev,
                    format!(
                        "{} signed by {} ({who}) for \"{}\"",
                        s("decision"),
                        s("name"),
                        s("title")
                    ),
                );
            }
        }
        "action_confirmed" => {
            if let Some(i) = remote_action(state, &s("action")) {
                let run = &mut state.runs[i];
                if !run.in_flight() {
                    // Measured from when this screen learned of it, on its own monotonic
                    // clock: another host's wall time (or a step of ours) could only make
                    // the flight look older and free the key too soon.
                    run.state = RunState::InFlight { since: state.mono };
                    run.attempts = d.get("attempt").and_then(|v| v.as_u64()).unwrap_or(1) as u32;
                    run.remote_by = Some(who.clone());
                    run.verify = None;
                }
            }
            notice(state, format!("{who} fired \"{}\"", s("label")));
            note(
                state,
                Severity::Crit,
                format!(
                    "{who} fired \"{}\" (attempt {})",
                    s("label"),
                    d.get("attempt").and_then(|v| v.as_u64()).unwrap_or(1)
                ),
            );
        }
        "action_result" => {
            let ok = d.get("ok").and_then(|v| v.as_bool()).unwrap_or(false);
            if let Some(i) = remote_action(state, &s("action")) {
                let verify = state.cfg.actions[i].verify.clone();
                let mono = state.mono;
                let run = &mut state.runs[i];
                if run.remote_by.is_some() {
                    run.state = RunState::Done;
                    run.remote_by = None;
                    run.last = Some(Report {
                        ok,
                        unknown: d
                            .get("outcome_unknown")
                            .and_then(|v| v.as_bool())
                            .unwrap_or(false),
                        summary: format!("{} (by {who})", s("summary")),
                        excerpt: s("excerpt"),
                        at: r.at,
                        duration_ms: d.get("duration_ms").and_then(|v| v.as_u64()).unwrap_or(0),
                        by: who.clone(),
                    });
                    run.verify = verify.filter(|_| ok).map(|v| Verify {
                        started: mono,
                        deadline: mono + chrono::Duration::milliseconds(v.within.as_ms()),
                        verdict: None,
                        pending: vec![format!("the verdict of {who}")],
                        remote: true,
                    });
                }
            }
            let sev = if ok { Severity::Info } else { Severity::Crit };
            note(
                state,
                sev,
                format!(
                    "{who}: \"{}\" {}: {}",
                    s("action"),
                    if ok { "succeeded" } else { "FAILED" },
                    s("summary")
                ),
            );
        }
        "step_run_result" => {
            let ok = d.get("ok").and_then(|v| v.as_bool()).unwrap_or(false);
            let sev = if ok { Severity::Info } else { Severity::Crit };
            note(
                state,
                sev,
                format!("{who}: step \"{}\" script {}", s("title"), s("summary")),
            );
        }
        "verify_result" => {
            let ok = d.get("verified").and_then(|v| v.as_bool()).unwrap_or(false);
            if let Some(i) = remote_action(state, &s("action")) {
                if let Some(v) = state.runs[i].verify.as_mut().filter(|v| v.remote) {
                    let failing = d
                        .get("failing")
                        .and_then(|f| f.as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default();
                    v.verdict = Some(if ok {
                        Verdict::Verified { at: r.at }
                    } else {
                        Verdict::NotVerified { failing }
                    });
                }
            }
            let sev = if ok { Severity::Info } else { Severity::Crit };
            note(
                state,
                sev,
                format!(
                    "{who}: \"{}\" {}",
                    s("action"),
                    if ok { "VERIFIED" } else { "NOT VERIFIED" }
                ),
            );
        }
        _ => {}
    }
}

/// The local index of an action another screen named, by id.
fn remote_action(state: &State, id: &str) -> Option<usize> {
    state.cfg.actions.iter().position(|a| a.id == id)
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
        let timeout_ms = match (&a.request, &a.command) {
            (Some(r), _) => r.timeout.as_ms(),
            (_, Some(c)) => c.timeout.as_ms(),
            _ => 0,
        };
        if (state.mono - *since).num_milliseconds() > timeout_ms + 10_000 {
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
    let title = step.title.clone();
    let now: Ts = state.now;
    let user = state.user.clone();
    let Some(slot) = state.ticks.get_mut(s).and_then(|v| v.get_mut(i)) else {
        return;
    };
    let (kind, verb) = if slot.is_some() {
        *slot = None;
        ("untick", "unticked")
    } else {
        *slot = Some(Tick {
            by: user.clone(),
            at: now,
        });
        ("tick", "ticked")
    };
    fx.push(Effect::Audit {
        kind,
        details: json!({ "step": s, "item": i, "step_title": title, "item_text": item }),
    });
    note(
        state,
        Severity::Info,
        format!("{user} {verb} \"{item}\" ({title})"),
    );
}

#[cfg(test)]
mod tests {
    //! The action state machine with a fake clock: no terminal, no network.
    use super::*;
    use crate::app::Msg;
    use crate::config::Config;
    use crate::sample::{PollOutcome, PollResult, Stamp};
    use chrono::{TimeZone, Utc};
    use std::sync::Arc;

    const CFG: &str = r#"
[cutover]
name = "t"
[[source]]
id = "flags"
kind = "http"
url = "http://127.0.0.1:1/flags"
interval = "1s"
[[signal]]
id = "v1"
source = "flags"
kind = "flag"
path = ".v1"
[[step]]
at = "0"
title = "T0"
gate = true
checklist = ["flip"]
run = { argv = ["true"], timeout = "5s" }
[[cutover.phase_rule]]
name = "rolled back"
when = [{ signal = "v1", is = "== false" }]
[[action]]
id = "rollback"
key = "r"
label = "Roll back"
danger = true
request = { url = "http://127.0.0.1:1/rollback" }
verify = { within = "10s", all = [{ signal = "v1", is = "== false" }] }
"#;

    fn t(s: i64) -> Ts {
        Utc.timestamp_opt(1_800_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    /// Second `s` on the fake monotonic clock (its origin differs from the wall's).
    fn m(s: i64) -> Mono {
        Mono(5_000 + s * 1000)
    }

    /// Both clocks at second `s`, in step.
    fn at(s: i64) -> Stamp {
        Stamp::new(t(s), m(s))
    }

    fn state() -> State {
        let cfg: Arc<Config> = Arc::new(toml::from_str(CFG).expect("test config"));
        let mut st = State::new(cfg, at(0), None, "alice".into());
        st.session = "sess".into();
        st
    }

    fn act(st: &mut State, a: Action) -> Vec<Effect> {
        update(st, Msg::Action(a))
    }

    fn type_str(st: &mut State, s: &str) -> Vec<Effect> {
        s.chars().flat_map(|c| act(st, Action::Type(c))).collect()
    }

    fn runs(fx: &[Effect]) -> Vec<(String, u32)> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Run {
                    idempotency_key,
                    attempt,
                    ..
                } => Some((idempotency_key.clone(), *attempt)),
                _ => None,
            })
            .collect()
    }

    fn report(ok: bool, at: Ts) -> Report {
        Report {
            ok,
            unknown: false,
            summary: if ok {
                "HTTP 200".into()
            } else {
                "HTTP 500".into()
            },
            excerpt: String::new(),
            at,
            duration_ms: 5,
            by: "alice".into(),
        }
    }

    #[test]
    fn full_sequence_sends_exactly_once() {
        let mut st = state();
        assert!(runs(&act(&mut st, Action::Rollback)).is_empty());
        assert!(st.text_entry(), "R opens the confirmation");
        assert!(runs(&type_str(&mut st, "rollback")).is_empty());
        let fx = act(&mut st, Action::Submit);
        assert_eq!(runs(&fx), vec![("sess-rollback-1".to_string(), 1)]);
        assert!(fx.iter().any(|e| matches!(
            e,
            Effect::Audit {
                kind: "action_confirmed",
                ..
            }
        )));
        // A double Enter, a held R, the action key: all inert while in flight.
        assert!(runs(&act(&mut st, Action::Submit)).is_empty());
        assert!(runs(&act(&mut st, Action::Rollback)).is_empty());
        assert!(runs(&act(&mut st, Action::Key('r'))).is_empty());
        assert!(st.modal.is_none());
        assert!(st
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("in flight")));
    }

    #[test]
    fn negatives_send_nothing() {
        // Wrong phrase: stays open, says why.
        let mut st = state();
        act(&mut st, Action::Rollback);
        type_str(&mut st, "rollbak");
        assert!(runs(&act(&mut st, Action::Submit)).is_empty());
        match &st.modal {
            Some(Modal::Confirm(c)) => {
                assert!(c.error.as_deref().unwrap_or("").contains("not the phrase"))
            }
            other => panic!("modal closed: {other:?}"),
        }
        // Esc cancels.
        assert!(runs(&act(&mut st, Action::Escape)).is_empty());
        assert!(st.modal.is_none());
        // `n` then Enter is a wrong phrase, not a "no".
        act(&mut st, Action::Rollback);
        type_str(&mut st, "n");
        assert!(runs(&act(&mut st, Action::Submit)).is_empty());
        act(&mut st, Action::Escape);
        // Enter on an empty field is Cancel, the default.
        act(&mut st, Action::Rollback);
        assert!(runs(&act(&mut st, Action::Submit)).is_empty());
        assert!(st.modal.is_none());
        // 30 s idle cancels.
        act(&mut st, Action::Rollback);
        type_str(&mut st, "rollback");
        let fx = update(&mut st, Msg::Tick(at(31)));
        assert!(runs(&fx).is_empty());
        assert!(st.modal.is_none());
        assert!(runs(&act(&mut st, Action::Submit)).is_empty());
    }

    #[test]
    fn paste_is_text_never_enter() {
        let mut st = state();
        act(&mut st, Action::Rollback);
        let fx = update(&mut st, Msg::Paste("rollback\n\n".into()));
        assert!(runs(&fx).is_empty());
        assert!(st.text_entry());
        assert_eq!(runs(&act(&mut st, Action::Submit)).len(), 1);
    }

    #[test]
    fn retry_reuses_the_key_and_success_starts_verification() {
        let mut st = state();
        act(&mut st, Action::Rollback);
        type_str(&mut st, "rollback");
        let first = runs(&act(&mut st, Action::Submit));
        let fx = update(
            &mut st,
            Msg::ActionDone {
                action: 0,
                report: report(false, t(1)),
            },
        );
        assert!(fx.iter().any(|e| matches!(
            e,
            Effect::Audit {
                kind: "action_result",
                ..
            }
        )));
        assert!(st.events.back().is_some_and(|e| e.text.contains("FAILED")));
        // Nothing is retried by itself: a new confirmation is needed.
        assert!(runs(&update(&mut st, Msg::Tick(at(2)))).is_empty());
        act(&mut st, Action::Rollback);
        type_str(&mut st, "rollback");
        let second = runs(&act(&mut st, Action::Submit));
        assert_eq!(
            second[0].0, first[0].0,
            "a manual retry reuses the idempotency key"
        );
        assert_eq!(second[0].1, 2);
        update(
            &mut st,
            Msg::ActionDone {
                action: 0,
                report: report(true, t(3)),
            },
        );
        assert!(st.runs[0].verify.is_some());
        // Verification polls its source each second until the flag reads false.
        let fx = update(&mut st, Msg::Tick(at(4)));
        assert!(fx.contains(&Effect::PollNow {
            sources: vec!["flags".into()]
        }));
        update(
            &mut st,
            Msg::Poll(PollResult {
                source: "flags".into(),
                at: t(5),
                mono: m(5),
                latency_ms: 1,
                outcome: PollOutcome::Json {
                    status: 200,
                    body: serde_json::json!({"v1": false}),
                },
            }),
        );
        let fx = update(&mut st, Msg::Tick(at(5)));
        assert!(fx.iter().any(|e| matches!(
            e,
            Effect::Audit {
                kind: "verify_result",
                ..
            }
        )));
        assert!(matches!(
            st.runs[0].verify.as_ref().and_then(|v| v.verdict.clone()),
            Some(Verdict::Verified { .. })
        ));
        // After success the next rollback is a new action with a new key.
        act(&mut st, Action::Rollback);
        type_str(&mut st, "rollback");
        let third = runs(&act(&mut st, Action::Submit));
        assert_ne!(third[0].0, first[0].0);
    }

    #[test]
    fn verification_fails_visibly_at_the_deadline() {
        let mut st = state();
        act(&mut st, Action::Rollback);
        type_str(&mut st, "rollback");
        act(&mut st, Action::Submit);
        update(
            &mut st,
            Msg::ActionDone {
                action: 0,
                report: report(true, t(0)),
            },
        );
        for s in 1..10 {
            update(&mut st, Msg::Tick(at(s)));
            assert!(st.runs[0]
                .verify
                .as_ref()
                .is_some_and(|v| v.verdict.is_none()));
        }
        update(&mut st, Msg::Tick(at(10)));
        assert!(matches!(
            st.runs[0].verify.as_ref().and_then(|v| v.verdict.clone()),
            Some(Verdict::NotVerified { .. })
        ));
        assert!(st
            .events
            .back()
            .is_some_and(|e| e.text.contains("NOT VERIFIED")));
    }

    #[test]
    fn read_only_refuses_every_action_tick_signoff_and_mark() {
        let mut st = state();
        st.read_only = true;
        st.focus = Focus::Timeline;
        for a in [
            Action::Rollback,
            Action::Key('r'),
            Action::Menu,
            Action::MarkT0,
            Action::SignOff { go: true },
            Action::ToggleTick,
        ] {
            let fx = act(&mut st, a);
            assert!(fx.is_empty(), "{a:?} produced {fx:?}");
            assert!(st.modal.is_none(), "{a:?} opened a modal");
            assert!(
                st.notice
                    .as_ref()
                    .is_some_and(|n| n.text.contains("read-only")),
                "{a:?}"
            );
        }
        assert!(st.ticks[0][0].is_none());
    }

    #[test]
    fn t0_mark_and_sign_off_are_confirmed_and_audited() {
        let mut st = state();
        act(&mut st, Action::MarkT0);
        type_str(&mut st, "t0");
        let fx = act(&mut st, Action::Submit);
        assert!(fx.iter().any(|e| matches!(
            e,
            Effect::Audit {
                kind: "t0_mark",
                ..
            }
        )));
        assert_eq!(st.t0, Some(t(0)));
        st.focus = Focus::Timeline;
        act(&mut st, Action::SignOff { go: true });
        type_str(&mut st, "Ana (Ops)");
        let fx = act(&mut st, Action::Submit);
        assert!(fx.iter().any(|e| matches!(
            e,
            Effect::Audit {
                kind: "signoff",
                ..
            }
        )));
        assert_eq!(
            st.signoffs[0].as_ref().map(|s| s.name.as_str()),
            Some("Ana (Ops)")
        );
    }

    #[test]
    fn another_instance_records_show_here() {
        let mut st = state();
        update(
            &mut st,
            Msg::Remote(Remote {
                at: t(1),
                user: "bob".into(),
                host: "bastion2".into(),
                kind: "tick".into(),
                details: serde_json::json!({"step": 0, "item": 0, "item_text": "flip"}),
            }),
        );
        assert_eq!(
            st.ticks[0][0].as_ref().map(|t| t.by.as_str()),
            Some("bob@bastion2")
        );
        update(
            &mut st,
            Msg::Remote(Remote {
                at: t(2),
                user: "bob".into(),
                host: "bastion2".into(),
                kind: "action_confirmed".into(),
                details: serde_json::json!({"action": "rollback", "label": "Roll back", "attempt": 1}),
            }),
        );
        assert!(st
            .events
            .back()
            .is_some_and(|e| e.text.contains("bob@bastion2 fired \"Roll back\"")));
    }

    #[test]
    fn a_step_script_runs_once_after_confirmation() {
        let mut st = state();
        st.focus = Focus::Timeline;
        assert!(runs(&act(&mut st, Action::RunStep)).is_empty());
        assert!(st.text_entry());
        type_str(&mut st, "run");
        let fx = act(&mut st, Action::Submit);
        assert_eq!(
            fx.iter()
                .filter(|e| matches!(e, Effect::RunStep { step: 0 }))
                .count(),
            1
        );
        assert!(fx.iter().any(|e| matches!(
            e,
            Effect::Audit {
                kind: "step_run",
                ..
            }
        )));
        // While it runs, `!` is inert.
        let fx = act(&mut st, Action::RunStep);
        assert!(fx.is_empty() && st.modal.is_none());
        let fx = update(
            &mut st,
            Msg::StepDone {
                step: 0,
                report: report(true, t(1)),
            },
        );
        assert!(fx.iter().any(|e| matches!(
            e,
            Effect::Audit {
                kind: "step_run_result",
                ..
            }
        )));
        assert!(st.step_runs[0].last.as_ref().is_some_and(|r| r.ok));
    }

    #[test]
    fn phase_rules_read_the_phase_from_signals() {
        let mut st = state();
        assert_eq!(st.derived_phase(), None, "no data: no phase");
        update(
            &mut st,
            Msg::Poll(PollResult {
                source: "flags".into(),
                at: t(1),
                mono: m(1),
                latency_ms: 1,
                outcome: PollOutcome::Json {
                    status: 200,
                    body: serde_json::json!({"v1": false}),
                },
            }),
        );
        assert_eq!(st.derived_phase(), Some("rolled back"));
    }

    fn remote(kind: &str, at: Ts, details: serde_json::Value) -> Msg {
        Msg::Remote(Remote {
            at,
            user: "bob".into(),
            host: "bastion2".into(),
            kind: kind.into(),
            details,
        })
    }

    #[test]
    fn a_rollback_fired_on_another_screen_makes_this_key_inert_until_it_ends() {
        let mut st = state();
        update(
            &mut st,
            remote(
                "action_confirmed",
                t(1),
                serde_json::json!({"action": "rollback", "label": "Roll back", "attempt": 1}),
            ),
        );
        assert!(st.runs[0].in_flight());
        // Here, R and the action key open nothing: no second rollback from the room.
        assert!(act(&mut st, Action::Rollback).is_empty());
        assert!(st.modal.is_none());
        assert!(st
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("fired by bob@bastion2")));
        update(
            &mut st,
            remote(
                "action_result",
                t(2),
                serde_json::json!({"action": "rollback", "ok": true, "summary": "HTTP 200 in 4 ms"}),
            ),
        );
        assert_eq!(st.runs[0].state, RunState::Done);
        assert!(st.runs[0]
            .verify
            .as_ref()
            .is_some_and(|v| v.remote && v.verdict.is_none()));
        // This screen does not verify (or audit) on its own: it waits for bob's verdict.
        let fx = update(&mut st, Msg::Tick(at(3)));
        assert!(!fx
            .iter()
            .any(|e| matches!(e, Effect::Audit { .. } | Effect::PollNow { .. })));
        update(
            &mut st,
            remote(
                "verify_result",
                t(4),
                serde_json::json!({"action": "rollback", "verified": true}),
            ),
        );
        assert!(matches!(
            st.runs[0].verify.as_ref().and_then(|v| v.verdict.clone()),
            Some(Verdict::Verified { .. })
        ));
    }

    #[test]
    fn a_remote_attempt_that_never_reports_expires_as_outcome_unknown() {
        let mut st = state();
        update(
            &mut st,
            remote(
                "action_confirmed",
                t(0),
                serde_json::json!({"action": "rollback", "label": "Roll back"}),
            ),
        );
        // The action's time-out is 10 s (the default): still inert at 15 s, free after 20 s.
        update(&mut st, Msg::Tick(at(15)));
        assert!(st.runs[0].in_flight());
        update(&mut st, Msg::Tick(at(21)));
        assert_eq!(st.runs[0].state, RunState::Done);
        assert!(st.runs[0].last.as_ref().is_some_and(|r| r.unknown));
        act(&mut st, Action::Rollback);
        assert!(st.text_entry(), "the key works again");
    }

    const STEP_CFG: &str = r#"
[cutover]
name = "t"
rollback_when = { critical_for = "5s" }
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
interval = "1s"
[[signal]]
id = "err"
source = "m"
kind = "metric"
path = ".err"
critical = true
warn = "> 1"
crit = "> 2"
for = "10s"
clear_for = "10s"
[[action]]
id = "rollback"
key = "r"
label = "Roll back"
danger = true
request = { url = "http://127.0.0.1:1/rollback" }
verify = { within = "20s", all = [{ signal = "err", is = "< 1" }] }
"#;

    fn step_state() -> State {
        let cfg: Arc<Config> = Arc::new(toml::from_str(STEP_CFG).expect("test config"));
        let mut st = State::new(cfg, at(0), Some(t(0)), "alice".into());
        st.session = "sess".into();
        st
    }

    fn poll_err(wall: Ts, mono: Mono, err: f64) -> Msg {
        Msg::Poll(PollResult {
            source: "m".into(),
            at: wall,
            mono,
            latency_ms: 1,
            outcome: PollOutcome::Json {
                status: 200,
                body: serde_json::json!({ "err": err }),
            },
        })
    }

    fn step_notes(st: &State) -> Vec<String> {
        st.events
            .iter()
            .filter(|e| e.text.starts_with("wall clock stepped"))
            .map(|e| e.text.clone())
            .collect()
    }

    /// One second of the room: a poll (until 100 s) and a tick, the wall clock `offset`
    /// seconds off the monotonic one.
    fn second(st: &mut State, s: i64, offset: i64) -> Vec<Effect> {
        let wall = |ms: i64| t(s + offset) + chrono::Duration::milliseconds(ms);
        let mono = |ms: i64| m(s) + chrono::Duration::milliseconds(ms);
        let mut fx = Vec::new();
        if s <= 100 {
            let err = if (2..60).contains(&s) { 3.0 } else { 0.5 };
            fx.extend(update(st, poll_err(wall(200), mono(200), err)));
        }
        fx.extend(update(st, Msg::Tick(Stamp::new(wall(500), mono(500)))));
        fx
    }

    #[test]
    fn a_wall_clock_step_moves_no_band_advice_staleness_or_time_out() {
        for (step, told) in [(10, "+10s"), (3_600, "+1h00m"), (-3_600, "-1h00m")] {
            let (mut st, mut steady) = (step_state(), step_state());
            for s in 0..110 {
                // The wall clock steps at 30 s; the monotonic clock never does.
                let offset = if s >= 30 { step } else { 0 };
                second(&mut st, s, offset);
                second(&mut steady, s, 0);
                if s == 25 {
                    for x in [&mut st, &mut steady] {
                        act(x, Action::Rollback);
                        type_str(x, "rollback");
                    }
                }
                let ctx = format!("step {step}s, at {s}s");
                assert_eq!(
                    format!("{:?} {:?}", st.engine.rows, st.engine.advised),
                    format!("{:?} {:?}", steady.engine.rows, steady.engine.advised),
                    "{ctx}"
                );
                // The confirmation typed at 25 s times out 30 s later, not at the step.
                assert_eq!(st.text_entry(), (25..55).contains(&s), "{ctx}");
                // The T-clock and the shown time follow the wall clock.
                assert_eq!(st.t_offset_ms(), Some((s + offset) * 1000 + 500), "{ctx}");
                let texts = |x: &State| -> Vec<String> {
                    x.events
                        .iter()
                        .filter(|e| !e.text.starts_with("wall clock stepped"))
                        .map(|e| e.text.clone())
                        .collect()
                };
                assert_eq!(texts(&st), texts(&steady), "{ctx}");
            }
            // The trip after `for`, the advice after its hold, the clear after
            // `clear_for`, staleness 3 s after the last poll: as without the step.
            let band = |x: &State, to: Status| {
                x.events
                    .iter()
                    .any(|e| matches!(&e.kind, EventKind::BandChange { to: t, .. } if *t == to))
            };
            assert!(band(&st, Status::Band(crate::engine::Band::Crit)));
            assert!(band(&st, Status::NoData(crate::sample::NoDataKind::Stale)));
            assert!(st
                .events
                .iter()
                .any(|e| matches!(e.kind, EventKind::RollbackAdvised { .. })));
            assert_eq!(
                step_notes(&st),
                vec![format!(
                    "wall clock stepped {told}: durations, bands and countdowns are unaffected"
                )]
            );
            assert!(step_notes(&steady).is_empty());
        }
    }

    #[test]
    fn verify_deadline_and_remote_flights_ignore_a_wall_clock_step() {
        for step in [3_600, -3_600] {
            // Our own rollback: fired and succeeded at 0 s, 20 s to verify.
            let mut st = step_state();
            act(&mut st, Action::Rollback);
            type_str(&mut st, "rollback");
            assert_eq!(runs(&act(&mut st, Action::Submit)).len(), 1);
            update(
                &mut st,
                Msg::ActionDone {
                    action: 0,
                    report: report(true, t(0)),
                },
            );
            for s in 2..30 {
                let offset = if s >= 5 { step } else { 0 };
                second(&mut st, s, offset);
                let verdict = st.runs[0].verify.as_ref().and_then(|v| v.verdict.clone());
                // The error rate stays high: not verified, but only at the deadline.
                if s < 20 {
                    assert_eq!(verdict, None, "step {step}s, at {s}s");
                } else {
                    assert!(
                        matches!(verdict, Some(Verdict::NotVerified { .. })),
                        "step {step}s, at {s}s: {verdict:?}"
                    );
                }
            }

            // Another screen's rollback that never reports: free 20 s after it was seen.
            let mut st = state();
            update(
                &mut st,
                remote(
                    "action_confirmed",
                    t(0),
                    serde_json::json!({"action": "rollback", "label": "Roll back"}),
                ),
            );
            update(&mut st, Msg::Tick(Stamp::new(t(1 + step), m(1))));
            update(&mut st, Msg::Tick(Stamp::new(t(20 + step), m(20))));
            assert!(st.runs[0].in_flight(), "step {step}s");
            update(&mut st, Msg::Tick(Stamp::new(t(21 + step), m(21))));
            assert_eq!(st.runs[0].state, RunState::Done, "step {step}s");
        }
    }

    #[test]
    fn jitter_is_not_a_step_and_old_messages_move_no_clock() {
        let mut st = state();
        // The wall clock 1.5 s ahead of the monotonic one: scheduling, not a step.
        update(
            &mut st,
            Msg::Tick(Stamp::new(t(2) + chrono::Duration::milliseconds(500), m(1))),
        );
        assert!(step_notes(&st).is_empty());
        // A poll stamped before the last tick (it queued behind it) leaves the clocks.
        let (now, mono) = (st.now, st.mono);
        update(
            &mut st,
            Msg::Poll(PollResult {
                source: "flags".into(),
                at: t(-5_000),
                mono: m(0),
                latency_ms: 1,
                outcome: PollOutcome::Json {
                    status: 200,
                    body: serde_json::json!({"v1": true}),
                },
            }),
        );
        assert_eq!((st.now, st.mono), (now, mono));
        assert!(step_notes(&st).is_empty());
        assert_eq!(format_step(-3_600_000), "-1h00m");
        assert_eq!(format_step(125_400), "+2m05s");
        assert_eq!(format_step(9_600), "+10s");
    }
}
