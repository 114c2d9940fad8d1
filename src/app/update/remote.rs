//! Records other `warroom` processes wrote to the shared audit log, applied here: the room
//! sees one cutover. Records of another cutover or environment (a staging screen sharing
//! the file) are shown as a warning and never applied.

use super::confirm::ask_again;
use super::flight::{Report, RunState, Verdict, Verify};
use super::navigate::{note_at, notice};
use crate::app::{SignOff, State, Tick};
use crate::audit::{foreign, AuditEvent, DeclineReason};
use crate::engine::Severity;
use crate::sample::Ts;

pub(super) fn apply(state: &mut State, r: Remote) {
    let who = format!("{}@{}", r.user, r.host);
    // Events say when the record was written: the log's history read at start-up is
    // shown at its own times, not as news.
    let at = r.at;
    if let Some(other) = foreign(
        r.cutover.as_deref(),
        r.environment.as_deref(),
        &state.cfg.cutover.name,
        state.environment(),
    ) {
        if state.warned_sessions.insert(format!("env:{}", r.session)) {
            let here = state.environment().to_string();
            note_at(
                state,
                at,
                Severity::Warn,
                format!(
                    "the audit log holds records of {other} (by {who}): ignored — this screen \
                     is \"{here}\" and applies only its own (check --audit-log)"
                ),
            );
        }
        return;
    }
    if let Some(fp) = r
        .config
        .as_deref()
        .filter(|fp| !state.config_fingerprint.is_empty() && *fp != state.config_fingerprint)
    {
        if state.warned_sessions.insert(format!("cfg:{}", r.session)) {
            let here = state.config_fingerprint.clone();
            note_at(
                state,
                at,
                Severity::Warn,
                format!(
                    "{who} runs a different config of this cutover (fingerprint {fp}, here {here})"
                ),
            );
        }
    }
    match r.event {
        AuditEvent::Tick(t) => tick(state, &who, r.at, t, true),
        AuditEvent::Untick(t) => tick(state, &who, r.at, t, false),
        AuditEvent::T0Mark(m) => {
            let t0 = m.t0.unwrap_or(r.at);
            if state.t0.is_none() {
                state.t0 = Some(t0);
                state.t0_marked_by = Some((who.clone(), r.at));
            }
            note_at(
                state,
                at,
                Severity::Info,
                format!("{who} marked T0 at {} UTC", t0.format("%H:%M:%S")),
            );
        }
        AuditEvent::Signoff(s) => {
            let Some(st) = state.cfg.steps.get(s.step).filter(|st| st.gate) else {
                return;
            };
            let Some(name) = st.approver(&s.name) else {
                // Another config may list other approvers: this screen's list decides.
                note_at(
                    state,
                    at,
                    Severity::Warn,
                    format!(
                        "{who} signed {} as \"{}\" for \"{}\", who is not an approver here \
                         ({}): not counted",
                        s.decision.word(),
                        s.name,
                        s.title,
                        crate::app::gate::approvers_text(st)
                    ),
                );
                return;
            };
            let go = s.decision.is_go();
            if let Some(v) = state.signoffs.get_mut(s.step) {
                v.push(SignOff {
                    name: name.clone(),
                    go,
                    at: r.at,
                    by: who.clone(),
                });
            }
            let sev = if go { Severity::Info } else { Severity::Crit };
            note_at(
                state,
                at,
                sev,
                format!(
                    "{} signed by {name} ({who}) for \"{}\"",
                    s.decision.word(),
                    s.title
                ),
            );
        }
        AuditEvent::Note(n) => note_at(
            state,
            at,
            Severity::Info,
            format!("{who} noted: {}", n.text),
        ),
        AuditEvent::BreakGlass(b) => {
            notice(state, format!("{who} broke the glass for \"{}\"", b.label));
            note_at(
                state,
                at,
                Severity::Crit,
                format!(
                    "{who} BROKE THE GLASS for \"{}\" past gate \"{}\": {}",
                    b.label, b.gate, b.reason
                ),
            );
        }
        AuditEvent::ActionConfirmed(c) => {
            if let Some(i) = action_index(state, &c.action) {
                let mono = state.mono;
                let run = &mut state.runs[i];
                if !run.in_flight() {
                    // Measured from when this screen learned of it, on its own monotonic
                    // clock: another host's wall time (or a step of ours) could only make
                    // the flight look older and free the key too soon.
                    run.state = RunState::InFlight { since: mono };
                    run.attempts = c.attempt;
                    run.remote_by = Some(who.clone());
                    run.verify = None;
                }
            }
            let again = if c.again {
                ", a deliberate second attempt"
            } else {
                ""
            };
            notice(state, format!("{who} fired \"{}\"", c.label));
            note_at(
                state,
                at,
                Severity::Crit,
                format!("{who} fired \"{}\" (attempt {}{again})", c.label, c.attempt),
            );
        }
        AuditEvent::ActionDeclined(d) => {
            let why = match d.reason {
                DeclineReason::InFlight => "in flight",
                DeclineReason::RecentSuccess => "recently succeeded",
            };
            note_at(
                state,
                at,
                Severity::Info,
                format!(
                    "{who} confirmed \"{}\" too: not sent, {}'s attempt had {why}",
                    d.label, d.by
                ),
            );
        }
        AuditEvent::ActionResult(x) => {
            let ok = x.ok;
            if let Some(i) = action_index(state, &x.action) {
                let verify = state.cfg.actions[i].verify.clone();
                let mono = state.mono;
                let told = told_at(state, r.at);
                let run = &mut state.runs[i];
                if run.remote_by.is_some() {
                    run.state = RunState::Done;
                    run.remote_by = None;
                    run.ended = Some(mono);
                    run.told = Some(told);
                    run.dismissed = false;
                    run.last = Some(Report {
                        ok,
                        unknown: x.outcome_unknown,
                        summary: format!("{} (by {who})", x.summary),
                        excerpt: x.excerpt.clone(),
                        at: r.at,
                        duration_ms: x.duration_ms,
                        by: who.clone(),
                        http_status: x.http_status,
                        exit_code: x.exit_code,
                        output: String::new(),
                        captures: x.captures.clone(),
                    });
                    run.verify = verify.filter(|_| ok).map(|v| Verify {
                        started: mono,
                        deadline: mono + chrono::Duration::milliseconds(v.within.as_ms()),
                        verdict: None,
                        pending: vec![format!("the verdict of {who}")],
                        remote: true,
                        decided: None,
                    });
                }
            }
            if let Some(i) = action_index(state, &x.action).filter(|_| ok) {
                ask_again(state, i, format!("it succeeded meanwhile, fired by {who}"));
            }
            let sev = if ok { Severity::Info } else { Severity::Crit };
            note_at(
                state,
                at,
                sev,
                format!(
                    "{who}: \"{}\" {}: {}",
                    x.action,
                    if ok { "succeeded" } else { "FAILED" },
                    x.summary
                ),
            );
        }
        AuditEvent::StepRun(s) => note_at(
            state,
            at,
            Severity::Info,
            format!("{who} ran the script of \"{}\"", s.title),
        ),
        AuditEvent::StepRunResult(s) => {
            // Another screen's run is this step's evidence too, captures and all (a run
            // of this screen's own in flight keeps its place).
            if let Some(run) = state
                .step_runs
                .get_mut(s.step)
                .filter(|r| matches!(r.state, RunState::Idle | RunState::Done))
            {
                run.state = RunState::Done;
                run.last = Some(Report {
                    ok: s.ok,
                    unknown: s.outcome == Some(crate::audit::Outcome::Unknown),
                    summary: format!("{} (by {who})", s.summary),
                    excerpt: s.excerpt.clone(),
                    at: r.at,
                    duration_ms: s.duration_ms,
                    by: who.clone(),
                    http_status: None,
                    exit_code: s.exit_code,
                    output: String::new(),
                    captures: s.captures.clone(),
                });
            }
            let sev = if s.ok { Severity::Info } else { Severity::Crit };
            note_at(
                state,
                at,
                sev,
                format!("{who}: step \"{}\" script {}", s.title, s.summary),
            );
        }
        AuditEvent::VerifyResult(v) => {
            if let Some(i) = action_index(state, &v.action) {
                let mono = state.mono;
                let told = told_at(state, r.at);
                let run = &mut state.runs[i];
                if run.verify.as_ref().is_some_and(|vf| vf.remote) {
                    run.told = Some(told);
                    run.dismissed = false;
                }
                if let Some(vf) = run.verify.as_mut().filter(|vf| vf.remote) {
                    vf.verdict = Some(if v.verified {
                        Verdict::Verified { at: r.at }
                    } else {
                        Verdict::NotVerified {
                            failing: v.failing.clone(),
                        }
                    });
                    vf.decided = Some(mono);
                }
            }
            let sev = if v.verified {
                Severity::Info
            } else {
                Severity::Crit
            };
            note_at(
                state,
                at,
                sev,
                format!(
                    "{who}: \"{}\" {}",
                    v.action,
                    if v.verified {
                        "VERIFIED"
                    } else {
                        "NOT VERIFIED"
                    }
                ),
            );
        }
        // Another screen's notifications: where one failed is the room's to know; the
        // deliveries stay in the log.
        AuditEvent::NotifyClaimed(_) | AuditEvent::NotifySent(_) => {}
        AuditEvent::NotifyFailed(n) => note_at(
            state,
            at,
            Severity::Warn,
            format!(
                "{who}: notification to {} of {} failed after {} tries: {}",
                n.target, n.event, n.attempts, n.error
            ),
        ),
        AuditEvent::Other { kind, .. } => {
            tracing::debug!("audit record of unknown kind {kind} from {who}: not applied");
        }
    }
}

pub(super) fn tick(
    state: &mut State,
    who: &str,
    at: crate::sample::Ts,
    t: crate::audit::TickItem,
    on: bool,
) {
    let Some(slot) = state.ticks.get_mut(t.step).and_then(|v| v.get_mut(t.item)) else {
        return;
    };
    *slot = on.then(|| Tick {
        by: who.to_string(),
        at,
    });
    let verb = if on { "ticked" } else { "unticked" };
    note_at(
        state,
        at,
        Severity::Info,
        format!("{who} {verb} \"{}\"", t.item_text),
    );
}

/// The local index of an action another screen named, by id.
pub(super) fn action_index(state: &State, id: &str) -> Option<usize> {
    state.cfg.actions.iter().position(|a| a.id == id)
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

/// When a record written at `at` (wall) was told, on this screen's monotonic clock: as
/// long ago as its wall age, never in the future. A record replayed at start-up from the
/// audit log is as old as it is, so its result line does not come back for a minute.
fn told_at(state: &State, at: crate::sample::Ts) -> crate::sample::Mono {
    let age = (state.now - at).max(chrono::Duration::zero());
    state.mono - age
}
