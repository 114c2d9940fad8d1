//! Flight and verification: an action fired once its confirmation is recorded, single
//! flight per action (here and across screens), its result, the cooldown of a second
//! attempt, and verification on fresh values. A step's script runs the same way.

use super::audited::audit;
use super::navigate::note;
use super::Effect;
use crate::app::{Awaiting, Confirm, State};
use crate::audit::{self as log, AuditEvent, ClaimRule, Outcome};
use crate::engine::{Severity, Status};
use crate::sample::{Mono, Ts};
use crate::timefmt::format_span;

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
    /// The command's kept output, redacted, as it arrives: read into `captures` when the
    /// result is applied, then dropped (the state keeps the values, not the output).
    pub output: String,
    /// The command's `capture` values, judged.
    pub captures: Vec<crate::capture::Captured>,
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
    /// When its result line was last told (its end, or its verdict), monotonic: the line
    /// expires a minute later. A record read back from the audit log counts from when it
    /// was written, so a restart does not bring old results back.
    pub told: Option<Mono>,
    /// The operator dismissed the result line (until the next attempt is told).
    pub dismissed: bool,
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

/// A step's script: single flight and its evidence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepRun {
    pub state: RunState,
    pub runs: u32,
    pub last: Option<Report>,
}

/// Confirmed: record (and claim) first. Single flight starts here; the request goes out
/// on `Msg::AuditWritten` and the flight ends with `Msg::ActionDone`.
pub(super) fn fire(state: &mut State, i: usize, c: &Confirm, fx: &mut Vec<Effect>) -> u64 {
    let a = state.cfg.actions[i].clone();
    let rule = claim_rule(state, i, c.again);
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
            break_glass: c.break_glass.clone(),
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

/// Confirmed: record the step's run first; its script runs on `Msg::AuditWritten`. None
/// when its script is already running (or being recorded): nothing happens.
pub(super) fn fire_step(
    state: &mut State,
    step: usize,
    c: &Confirm,
    fx: &mut Vec<Effect>,
) -> Option<u64> {
    let run = &mut state.step_runs[step];
    if !matches!(run.state, RunState::Idle | RunState::Done) {
        return None;
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
    Some(audit(
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
    ))
}

/// The command's `capture` values read from its output, which is then dropped; the
/// failed ones said after the summary. The result stays what the exit status says.
fn read_captures(report: &mut Report, cmd: Option<&crate::config::CommandCfg>) {
    let output = std::mem::take(&mut report.output);
    if let Some(c) = cmd {
        report.captures = crate::capture::extract(&c.capture, &output);
    }
    if let Some(f) = crate::capture::failure_text(&report.captures) {
        report.summary = format!("{}; {f}", report.summary);
    }
}

pub(super) fn action_done(state: &mut State, i: usize, mut report: Report, fx: &mut Vec<Effect>) {
    let Some(a) = state.cfg.actions.get(i).cloned() else {
        return;
    };
    // An action's success is its exit status (a retry is about whether it ran); its
    // captures are evidence beside it, a failed one said in the summary.
    read_captures(&mut report, a.command.as_ref());
    let mono = state.mono;
    let run: &mut ActionRun = &mut state.runs[i];
    run.state = RunState::Done;
    run.remote_by = None;
    run.ended = Some(mono);
    run.told = Some(mono);
    run.dismissed = false;
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
        captures: report.captures.clone(),
    });
    let (sev, text) = if ok && crate::capture::all_passed(&report.captures) {
        (
            Severity::Info,
            format!("\"{}\" succeeded: {}", a.label, report.summary),
        )
    } else if ok {
        (
            Severity::Warn,
            format!("\"{}\" ran: {}", a.label, report.summary),
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

pub(super) fn step_done(state: &mut State, step: usize, mut report: Report, fx: &mut Vec<Effect>) {
    let Some(st) = state.cfg.steps.get(step) else {
        return;
    };
    let title = st.title.clone();
    // A script's run is evidence: a capture that fails fails the run though it exited 0.
    read_captures(&mut report, st.run.as_ref());
    if !crate::capture::all_passed(&report.captures) {
        report.ok = false;
    }
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
            captures: report.captures.clone(),
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

/// Verification: at each second, poll the signals' sources and judge the conditions
/// on fresh values only (sampled after the action finished).
pub(super) fn verify_step(state: &mut State, fx: &mut Vec<Effect>) {
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
                failing.push(seen_text(&cond.signal, &cond.is, &rows, v.started));
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
        let run = &mut state.runs[i];
        if let Some(vv) = &mut run.verify {
            vv.pending = failing.clone();
            vv.verdict = verdict.clone();
            if verdict.is_some() {
                vv.decided = Some(now);
                run.told = Some(now);
                run.dismissed = false;
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

/// What verification saw where a condition failed, then what it wanted:
/// "v2_primary is true; wanted == false" — never the wanted condition alone, which
/// reads as if it held.
fn seen_text(
    signal: &str,
    wanted: &crate::condition::Condition,
    rows: &[&crate::engine::Row],
    started: crate::sample::Mono,
) -> String {
    let fresh = |r: &crate::engine::Row| r.last_good_at.is_some_and(|t| t >= started);
    let failed = rows.iter().find(|r| {
        !(matches!(r.status, Status::Band(_))
            && fresh(r)
            && r.value.as_ref().is_some_and(|val| wanted.holds(val)))
    });
    // An `each` signal names the row that failed.
    let who = match failed {
        Some(r) if rows.len() > 1 => r.key.clone(),
        _ => signal.to_string(),
    };
    let seen = match failed {
        None => "has no row".to_string(),
        Some(r) => match (&r.status, &r.value) {
            (Status::NoData(k), _) => format!("has no data ({})", k.word()),
            (_, Some(val)) if fresh(r) => format!("is {}", val.with_unit(r.unit.as_deref())),
            (_, Some(val)) => format!(
                "has no fresh value since the action (last {})",
                val.with_unit(r.unit.as_deref())
            ),
            (_, None) => "has no value".to_string(),
        },
    };
    format!("{who} {seen}; wanted {wanted}")
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

/// Who may hold `cfg.actions[i]`'s flight, for a claim made now.
pub(super) fn claim_rule(state: &State, i: usize, again: bool) -> ClaimRule {
    let a = &state.cfg.actions[i];
    ClaimRule {
        action: a.id.clone(),
        session: state.session.clone(),
        cutover: state.cfg.cutover.name.clone(),
        environment: state.environment().to_string(),
        in_flight_ms: remote_flight_ms(a),
        verify_ms: a.verify.as_ref().map(|v| v.within.as_ms()),
        cooldown_ms: a.cooldown_ms(),
        again,
    }
}

/// How long another screen's unanswered attempt holds the flight: the action's time-out and
/// a margin for the result to reach the log.
pub(super) fn remote_flight_ms(a: &crate::config::ActionCfg) -> i64 {
    a.timeout_ms() + 10_000
}

/// Another screen's attempt that never reported back (it crashed, or its SSH dropped):
/// after the action's time-out and a margin, this screen's key works again.
pub(super) fn expire_remote_flights(state: &mut State) {
    for i in 0..state.runs.len() {
        let run = &state.runs[i];
        let (RunState::InFlight { since }, Some(by)) = (&run.state, &run.remote_by) else {
            continue;
        };
        let a = &state.cfg.actions[i];
        if (state.mono - *since).num_milliseconds() > remote_flight_ms(a) {
            let (since, by, label) = (*since, by.clone(), a.label.clone());
            let at = state.stamp().wall_of(since);
            let now = state.mono;
            let run = &mut state.runs[i];
            run.state = RunState::Done;
            run.remote_by = None;
            run.told = Some(now);
            run.dismissed = false;
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
                output: String::new(),
                captures: Vec::new(),
            });
            note(
                state,
                Severity::Crit,
                format!("\"{label}\" fired by {by} never reported a result: outcome unknown"),
            );
        }
    }
}
