//! Everything the screen shows. `update` is its only writer; `ui::render` only reads it.
//!
//! The fields are crate-private: outside the crate (integration tests, benches) the state
//! is read through its accessors and changed only by sending `update` a message. A test
//! that needs a state `update` cannot reach starts from a constructor (`with_engine`).

use super::keys::KeyMap;
use super::update::{ActionRun, Modal, Pending, RunState, StepRun};
use crate::config::Config;
use crate::engine::{Engine, Event};
use crate::sample::{Mono, Stamp, Ts};
use std::collections::VecDeque;
use std::sync::Arc;

/// How many events the panel keeps.
pub const EVENT_CAP: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Signals,
    Flags,
    Timeline,
    Events,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    pub by: String,
    pub at: Ts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOff {
    pub name: String,
    pub go: bool,
    pub at: Ts,
    /// The account that typed it, with its host when another screen signed (may differ
    /// from the name typed).
    pub by: String,
}

/// A short message in the footer, e.g. "read-only" or "T0 not set".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    /// When it appeared, on the monotonic clock (it goes after a few seconds).
    pub at: Mono,
}

pub struct State {
    pub(crate) cfg: Arc<Config>,
    pub(crate) engine: Engine,
    /// The app's wall clock: set by ticks, never read from the system in `update` or
    /// `render`. For display (T-clock, timestamps) and T0 only: it follows NTP steps.
    pub(crate) now: Ts,
    /// The app's monotonic clock, set with `now`: every duration, age and deadline.
    pub(crate) mono: Mono,
    /// None until set by config, `--t0` or a mark.
    pub(crate) t0: Option<Ts>,
    pub(crate) events: VecDeque<Event>,
    /// How many events were ever pushed (the panel keeps the last `EVENT_CAP`).
    pub(crate) event_seq: u64,
    /// `ticks[step][item]`.
    pub(crate) ticks: Vec<Vec<Option<Tick>>>,
    pub(crate) focus: Focus,
    /// Selected row in the signals panel (index into visible metric/health rows).
    pub(crate) selected_signal: usize,
    pub(crate) selected_flag: usize,
    pub(crate) selected_event: usize,
    /// Selected checklist item in the timeline: (step, item).
    pub(crate) selected_item: (usize, usize),
    pub(crate) show_help: bool,
    /// The signal row whose detail is open (by key, so it follows that row live).
    pub(crate) detail: Option<String>,
    /// The events panel shows only actions and breaches (`f`).
    pub(crate) events_filtered: bool,
    pub(crate) read_only: bool,
    /// Who ticks: `SUDO_USER`/`USER`.
    pub(crate) user: String,
    pub(crate) notice: Option<Notice>,
    pub(crate) quit: bool,
    /// Something changed since the last frame.
    pub(crate) dirty: bool,
    /// The open modal (confirmation or action menu), if any.
    pub(crate) modal: Option<Modal>,
    /// `runs[i]` is the single-flight state of `cfg.actions[i]`.
    pub(crate) runs: Vec<ActionRun>,
    /// `signoffs[step]`: every GO/NO-GO signed on that gate, oldest first.
    pub(crate) signoffs: Vec<Vec<SignOff>>,
    /// `step_runs[step]`: the step's `run` command, its single flight and evidence.
    pub(crate) step_runs: Vec<StepRun>,
    /// Who marked T0 from a dashboard, and when.
    pub(crate) t0_marked_by: Option<(String, Ts)>,
    /// This process's id in the audit log; idempotency keys derive from it.
    pub(crate) session: String,
    /// What each action will do (request or argv), secrets redacted: the modal's target.
    pub(crate) action_plans: Vec<Vec<String>>,
    /// What each step's script will run, secrets redacted (empty for a step without one).
    pub(crate) step_plans: Vec<Vec<String>>,
    /// The last audit record id handed out (`Effect::Audit`).
    pub(crate) audit_seq: u64,
    /// Audit records on their way to disk, and what waits for each.
    pub(crate) pending: Vec<Pending>,
    /// Why the audit log cannot be written, while it cannot (the header says so until a
    /// write succeeds).
    pub(crate) audit_failing: Option<String>,
    /// This screen's config fingerprint, stamped on its records.
    pub(crate) config_fingerprint: String,
    /// Other sessions already warned about (another environment, another config): one
    /// warning each, not one per record.
    pub(crate) warned_sessions: std::collections::BTreeSet<String>,
    /// Every key and what it does, from the config: input, help, footer and banner.
    pub(crate) keys: KeyMap,
    /// The recording lost lines (why, first failure): a lasting header badge.
    pub(crate) record_failed: Option<String>,
    /// A replay on the dashboard: how it is played (the footer says so). None live, and
    /// for a replay that only rebuilds the state (the report, a seek in a test).
    pub(crate) replaying: Option<super::Replaying>,
    /// The episodes announced as open, and acts waiting for their record to be announced.
    pub(crate) notify: crate::notify::Episodes,
    /// Every step's holds: the cutover's recordings folded with this session's polls.
    pub(crate) holds: crate::engine::hold::Book,
}

/// How long an action's result line stays on the banner (monotonic).
pub const RESULT_SHOWN_MS: i64 = 60_000;

impl State {
    pub fn new(cfg: Arc<Config>, now: Stamp, t0: Option<Ts>, user: String) -> Self {
        let ticks = cfg
            .steps
            .iter()
            .map(|s| vec![None; s.checklist.len()])
            .collect();
        let read_only = cfg.ui.read_only;
        State {
            engine: Engine::new(Arc::clone(&cfg), now.mono),
            now: now.at,
            mono: now.mono,
            t0,
            events: VecDeque::new(),
            event_seq: 0,
            ticks,
            focus: Focus::default(),
            selected_signal: 0,
            selected_flag: 0,
            selected_event: 0,
            selected_item: (0, 0),
            show_help: false,
            detail: None,
            events_filtered: false,
            read_only,
            user,
            notice: None,
            quit: false,
            dirty: true,
            modal: None,
            runs: vec![ActionRun::default(); cfg.actions.len()],
            signoffs: vec![Vec::new(); cfg.steps.len()],
            step_runs: vec![StepRun::default(); cfg.steps.len()],
            t0_marked_by: None,
            session: String::new(),
            action_plans: cfg.actions.iter().map(default_plan).collect(),
            step_plans: cfg
                .steps
                .iter()
                .map(|s| s.run.as_ref().map(step_plan).unwrap_or_default())
                .collect(),
            audit_seq: 0,
            pending: Vec::new(),
            audit_failing: None,
            config_fingerprint: String::new(),
            warned_sessions: Default::default(),
            keys: KeyMap::new(&cfg),
            record_failed: None,
            replaying: None,
            notify: Default::default(),
            holds: crate::engine::hold::Book::new(&cfg, now),
            cfg,
        }
    }

    /// A screen over an engine already fed (a fixture, a judged window): the config is the
    /// engine's, and everything else starts as `new` starts it.
    pub fn with_engine(engine: Engine, now: Stamp, t0: Option<Ts>, user: String) -> Self {
        let mut state = State::new(Arc::clone(&engine.cfg), now, t0, user);
        state.engine = engine;
        state
    }

    /// This screen as one session of the audit log, set once at start: its id (idempotency
    /// keys derive from it) and its config fingerprint (stamped on its records).
    pub fn in_session(mut self, session: String, config_fingerprint: String) -> Self {
        self.session = session;
        self.config_fingerprint = config_fingerprint;
        self
    }

    // Read accessors: only `update` writes the fields.

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Every row's band, value and timers, and the rollback advice.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The app's wall clock (display and T0 only).
    pub fn now(&self) -> Ts {
        self.now
    }

    /// The app's monotonic clock (every duration, age and deadline).
    pub fn mono(&self) -> Mono {
        self.mono
    }

    pub fn t0(&self) -> Option<Ts> {
        self.t0
    }

    /// Who marked T0 from a dashboard, and when (None when it came from the config or
    /// `--t0`).
    pub fn t0_marked_by(&self) -> Option<&(String, Ts)> {
        self.t0_marked_by.as_ref()
    }

    /// The events panel, oldest first (the last `EVENT_CAP`).
    pub fn events(&self) -> &VecDeque<Event> {
        &self.events
    }

    /// How many events were ever pushed, the dropped ones included.
    pub fn events_total(&self) -> u64 {
        self.event_seq
    }

    /// `ticks()[step][item]`: who ticked each checklist item, and when.
    pub fn ticks(&self) -> &[Vec<Option<Tick>>] {
        &self.ticks
    }

    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// The selected checklist item in the timeline: (step, item).
    pub fn selected_item(&self) -> (usize, usize) {
        self.selected_item
    }

    pub fn help_shown(&self) -> bool {
        self.show_help
    }

    /// The key of the signal row whose detail is open, if one is.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The selected row of the signals panel (metric and health rows, in their order).
    pub fn selected_signal_row(&self) -> Option<&crate::engine::Row> {
        let mut rows = self
            .engine
            .rows
            .iter()
            .filter(|r| r.kind != crate::config::SignalKind::Flag);
        let n = self.panel_len(Focus::Signals);
        rows.nth(self.selected_signal.min(n.saturating_sub(1)))
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Who acts on this screen (`SUDO_USER`/`USER`).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The footer's short message, while it lasts.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// The operator asked to quit.
    pub fn wants_quit(&self) -> bool {
        self.quit
    }

    /// The open modal (confirmation or action menu), if any.
    pub fn modal(&self) -> Option<&Modal> {
        self.modal.as_ref()
    }

    /// `action_runs()[i]`: single flight, results and verification of `cfg.actions[i]`.
    pub fn action_runs(&self) -> &[ActionRun] {
        &self.runs
    }

    /// `signoffs()[step]`: every GO/NO-GO recorded on that gate, oldest first (see
    /// `gate_verdict` for where it stands).
    pub fn signoffs(&self) -> &[Vec<SignOff>] {
        &self.signoffs
    }

    /// `step_runs()[step]`: a step's script, its single flight and evidence.
    pub fn step_runs(&self) -> &[StepRun] {
        &self.step_runs
    }

    /// This process's id in the audit log.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// This screen's config fingerprint, stamped on its records.
    pub fn config_fingerprint(&self) -> &str {
        &self.config_fingerprint
    }

    /// What each action will do (request or argv), secrets redacted.
    pub fn action_plans(&self) -> &[Vec<String>] {
        &self.action_plans
    }

    /// What each step's script will run, secrets redacted.
    pub fn step_plans(&self) -> &[Vec<String>] {
        &self.step_plans
    }

    /// Audit records on their way to disk, and what waits for each.
    pub fn pending_records(&self) -> &[Pending] {
        &self.pending
    }

    /// Why the audit log cannot be written, while it cannot.
    pub fn audit_failing(&self) -> Option<&str> {
        self.audit_failing.as_deref()
    }

    /// Why the recording lost lines (its first failure), once it has.
    pub fn recording_failed(&self) -> Option<&str> {
        self.record_failed.as_deref()
    }

    /// Every key and what it does.
    pub fn keys(&self) -> &KeyMap {
        &self.keys
    }

    /// Is the keyboard typing into a text field?
    pub fn text_entry(&self) -> bool {
        matches!(self.modal, Some(Modal::Confirm(_)))
    }

    /// The phase from `[[cutover.phase_rule]]`: the first rule whose conditions all hold
    /// on fresh values (e.g. cohortlens's flags). None when no rule matches.
    pub fn derived_phase(&self) -> Option<&str> {
        use crate::engine::Status;
        self.cfg
            .cutover
            .phase_rules
            .iter()
            .find(|rule| {
                !rule.conditions.is_empty()
                    && rule.conditions.iter().all(|c| {
                        let mut rows = self
                            .engine
                            .rows
                            .iter()
                            .filter(|r| self.engine.signal(r).id == c.signal)
                            .peekable();
                        rows.peek().is_some()
                            && rows.all(|r| {
                                matches!(r.status, Status::Band(_))
                                    && r.value.as_ref().is_some_and(|v| c.is.holds(v))
                            })
                    })
            })
            .map(|rule| rule.name.as_str())
    }

    /// The action the rollback key opens: the first `danger` action.
    pub fn rollback_action(&self) -> Option<usize> {
        self.cfg.actions.iter().position(|a| a.danger)
    }

    /// While `cfg.actions[i]`'s last attempt (here or on another screen) succeeded and is
    /// verifying, or its verdict is younger than the action's cooldown: until when a second
    /// attempt needs the deliberate `… again` phrase.
    /// Whether `cfg.actions[i]`'s result line has stopped telling the truth now: dismissed,
    /// a minute old, or a critical breach began after it. An attempt in flight or still
    /// verifying is live and never expires.
    pub fn result_expired(&self, i: usize) -> bool {
        let Some(run) = self.runs.get(i) else {
            return false;
        };
        if run.state != RunState::Done || run.verify.as_ref().is_some_and(|v| v.verdict.is_none()) {
            return false;
        }
        if run.dismissed {
            return true;
        }
        let Some(told) = run.told.or(run.ended) else {
            return false;
        };
        (self.mono - told).num_milliseconds() >= RESULT_SHOWN_MS || self.breach_began_after(told)
    }

    /// A critical row went into crit after `at`: a new breach, which the banner words
    /// afresh rather than under an older result.
    pub fn breach_began_after(&self, at: Mono) -> bool {
        self.engine
            .critical_breaches()
            .any(|r| r.band_since.min(r.status_since) > at)
    }

    pub fn second_attempt_guard(&self, i: usize) -> Option<Mono> {
        let (run, a) = (self.runs.get(i)?, self.cfg.actions.get(i)?);
        if run.state != RunState::Done {
            return None;
        }
        run.last.as_ref().filter(|r| r.ok)?;
        let (success_at, verify_ms, verdict_at) = match &run.verify {
            Some(v) => (
                v.started,
                Some((v.deadline - v.started).num_milliseconds()),
                v.decided,
            ),
            None => (run.ended?, None, None),
        };
        let until = crate::audit::guard_until(success_at, verify_ms, verdict_at, a.cooldown_ms());
        (self.mono < until).then_some(until)
    }

    /// The verdicts of `step`'s holds now, in the step's order.
    pub fn hold_verdicts(&self, step: usize) -> Vec<crate::engine::hold::HoldVerdict> {
        self.holds.of_step(step, self.mono)
    }

    /// Every step's holds: the book the verdicts come from.
    pub fn holds(&self) -> &crate::engine::hold::Book {
        &self.holds
    }

    /// Why `step`'s gate cannot be GO for its holds (`hold_required`), if it cannot:
    /// the recordings are still being read, or a hold is short of its window.
    pub fn hold_short(&self, step: usize) -> Option<String> {
        let st = self.cfg.steps.get(step).filter(|s| s.hold_required)?;
        if st.hold.is_empty() {
            return None;
        }
        if self.holds.waiting() {
            return Some("its holds are still being read from the cutover's recordings".into());
        }
        let short: Vec<String> = self
            .hold_verdicts(step)
            .iter()
            .filter_map(|v| v.short_of())
            .collect();
        (!short.is_empty()).then(|| short.join("; "))
    }

    /// The environment this screen belongs to (`default` when the config names none).
    pub fn environment(&self) -> &str {
        self.cfg.cutover.environment_name()
    }

    /// Index of the step the cutover is in: the last one whose offset has passed.
    pub fn current_step(&self) -> Option<usize> {
        let off = self.t_offset_ms()?;
        self.cfg
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.at.0 <= off)
            .max_by_key(|(_, s)| s.at.0)
            .map(|(i, _)| i)
    }

    /// The next step to come and the milliseconds until it.
    pub fn next_step(&self) -> Option<(usize, i64)> {
        let off = self.t_offset_ms()?;
        self.cfg
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.at.0 > off)
            .min_by_key(|(_, s)| s.at.0)
            .map(|(i, s)| (i, s.at.0 - off))
    }

    /// How many selectable rows a panel has.
    pub fn panel_len(&self, focus: Focus) -> usize {
        use crate::config::SignalKind;
        match focus {
            Focus::Signals => self
                .engine
                .rows
                .iter()
                .filter(|r| r.kind != SignalKind::Flag)
                .count(),
            Focus::Flags => self
                .engine
                .rows
                .iter()
                .filter(|r| r.kind == SignalKind::Flag)
                .count(),
            Focus::Events => self.events.len(),
            Focus::Timeline => self.cfg.steps.iter().map(|s| s.checklist.len()).sum(),
        }
    }

    pub fn selected(&self, focus: Focus) -> usize {
        match focus {
            Focus::Signals => self.selected_signal,
            Focus::Flags => self.selected_flag,
            Focus::Events => self.selected_event,
            Focus::Timeline => 0,
        }
    }

    // Only `update` moves the selection.
    pub(crate) fn set_selected(&mut self, focus: Focus, i: usize) {
        match focus {
            Focus::Signals => self.selected_signal = i,
            Focus::Flags => self.selected_flag = i,
            Focus::Events => self.selected_event = i,
            Focus::Timeline => {}
        }
    }

    /// Both clocks as the app last read them.
    pub fn stamp(&self) -> Stamp {
        Stamp::new(self.now, self.mono)
    }

    /// Milliseconds since T0 (negative before it), if T0 is known. T0 is a wall time, so
    /// the T-clock follows a wall step (the one thing that should).
    pub fn t_offset_ms(&self) -> Option<i64> {
        self.t0.map(|t0| (self.now - t0).num_milliseconds())
    }
}

/// The modal's target lines before the runtime supplies redacted ones: method and
/// URL or argv, never header values.
fn default_plan(a: &crate::config::ActionCfg) -> Vec<String> {
    match (&a.request, &a.command) {
        (Some(r), _) => vec![format!("{} {}", r.method, r.url)],
        (_, Some(c)) => vec![format!("argv: {:?}", c.argv)],
        _ => Vec::new(),
    }
}

/// The step-run modal's target lines: argv, env names (never values), cwd, time-out.
pub fn step_plan(run: &crate::config::CommandCfg) -> Vec<String> {
    let mut target = vec![format!("argv: {:?}", run.argv)];
    if !run.env.is_empty() {
        target.push(format!(
            "env: {}",
            run.env
                .keys()
                .map(|k| format!("{k}=…"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    if let Some(cwd) = &run.cwd {
        target.push(format!("cwd: {cwd}"));
    }
    target.push(format!(
        "timeout: {} · no shell, no stdin · exit status and output kept as evidence",
        crate::timefmt::format_duration(run.timeout.0)
    ));
    target
}
