//! Confirmation: the modal that freezes what the operator decides on, opened by one
//! constructor, typed into, and submitted. Nothing takes effect on Enter: each act waits for
//! its audit record (`audited`).

use super::audited::audit;
use super::flight::{fire, fire_step, in_flight_text};
use super::navigate::{notice, refuse_read_only};
use super::Effect;
use crate::app::{Action, Awaiting, Focus, RunState, SignOff, State, Verdict};
use crate::audit::{self as log, AuditEvent, Decision};
use crate::engine::breach_text;
use crate::sample::{Mono, Stamp, Ts};
use crate::timefmt::format_span;

/// A confirmation left alone this long cancels itself.
pub const CONFIRM_IDLE_MS: i64 = 30_000;

/// The phrase that confirms a T0 mark.
pub const T0_PHRASE: &str = "t0";

/// What an operator types, then a reason, to send an action past the gate holding it back.
pub const BREAK_GLASS: &str = "break glass:";

/// The shortest break-glass reason: a word or two is not a reason anyone can audit.
pub const BREAK_GLASS_MIN_REASON: usize = 10;

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
    /// A one-line note for the room: the text typed is the note.
    Note,
}

/// The longest note: one line of the events panel and the report, not a document.
pub const NOTE_MAX_CHARS: usize = 300;

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
    /// The gate holding this action back (kept current while the modal is open: a GO
    /// from another screen lifts it). Only a break-glass override gets past it.
    pub blocked: Option<crate::app::Blocked>,
    /// The recorded break-glass reason: this confirmation may go past the gate.
    pub break_glass: Option<String>,
}

impl Confirm {
    /// The one way a confirmation opens: at `at`, nothing typed, Cancel the default, a
    /// first attempt. What only some kinds have is added with the `with_*` methods.
    pub(crate) fn new(
        kind: ConfirmKind,
        title: String,
        target: Vec<String>,
        phrase: Option<String>,
        at: Stamp,
    ) -> Self {
        Confirm {
            kind,
            title,
            previous: Vec::new(),
            target,
            snapshot: Vec::new(),
            phrase,
            typed: String::new(),
            error: None,
            opened_at: at.at,
            last_input: at.mono,
            attempt: 1,
            opener: None,
            again: false,
            sending: None,
            blocked: None,
            break_glass: None,
        }
    }

    /// The breaching signals the decision is made on.
    fn with_snapshot(mut self, snapshot: Vec<String>) -> Self {
        self.snapshot = snapshot;
        self
    }

    fn with_attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }

    /// The key that opened it (its held repeats are not typing).
    fn with_opener(mut self, opener: Option<char>) -> Self {
        self.opener = opener;
        self
    }

    /// This confirmation asks for a deliberate second attempt after `previous` (one that
    /// succeeded): it takes the `… again` phrase.
    pub(super) fn ask_second_attempt(&mut self, phrase: String, previous: Vec<String>) {
        self.again = true;
        self.phrase = Some(phrase);
        self.previous = previous;
    }
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

/// Pasted text goes into the open confirmation's field.
pub(super) fn paste(state: &mut State, text: &str) {
    let busy = sending(state);
    if let Some(Modal::Confirm(c)) = state.modal.as_mut().filter(|_| !busy) {
        // A paste is text, never Enter: a pasted newline cannot fire anything.
        c.typed.extend(text.chars().filter(|ch| !ch.is_control()));
        c.last_input = state.mono;
        c.error = None;
    }
}

/// The open confirmation was accepted and waits for its audit record.
pub(super) fn sending(state: &State) -> bool {
    matches!(&state.modal, Some(Modal::Confirm(c)) if c.sending.is_some())
}

/// The rows not ok when a modal opens, worst first, each with its band: the "why".
pub(super) fn breach_snapshot(state: &State) -> Vec<String> {
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

pub(super) fn open_action(state: &mut State, i: usize, opener: Option<char>) {
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
    let mut target = state.action_plans.get(i).cloned().unwrap_or_default();
    if retry {
        target.push(format!(
            "retry: attempt {attempt}, same Idempotency-Key as the failed attempt"
        ));
    }
    let phrase = Some(a.confirm_phrase().to_string());
    let mut c = Confirm::new(
        ConfirmKind::Action(i),
        a.label.clone(),
        target,
        phrase,
        state.stamp(),
    )
    .with_snapshot(breach_snapshot(state))
    .with_attempt(attempt)
    .with_opener(opener);
    if let Some(until) = again {
        c.ask_second_attempt(a.again_phrase(), previous_attempt_lines(state, i, until));
    }
    c.blocked = state.action_block(i);
    state.modal = Some(Modal::Confirm(c));
}

/// The open action confirmation follows its gate: a sign-off (here or from another
/// screen) blocks or frees it while it is open.
pub(super) fn refresh_block(state: &mut State) {
    let Some(Modal::Confirm(c)) = &state.modal else {
        return;
    };
    if c.sending.is_some() || c.break_glass.is_some() {
        return;
    }
    let now = match c.kind {
        ConfirmKind::Action(i) => state.action_block(i),
        ConfirmKind::StepRun(s) => state.step_block(s),
        ConfirmKind::MarkT0 | ConfirmKind::SignOff { .. } | ConfirmKind::Note => return,
    };
    if let Some(Modal::Confirm(c)) = state.modal.as_mut() {
        if c.blocked != now {
            c.blocked = now;
        }
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

pub(super) fn open_mark_t0(state: &mut State) {
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
    let target =
        vec!["T0 = the moment Enter is pressed; every screen sharing the audit log follows".into()];
    let c = Confirm::new(
        ConfirmKind::MarkT0,
        "Mark T0 now".into(),
        target,
        Some(T0_PHRASE.into()),
        state.stamp(),
    );
    state.modal = Some(Modal::Confirm(c));
}

pub(super) fn open_sign_off(state: &mut State, go: bool) {
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
    let st = &state.cfg.steps[step];
    let title = st.title.clone();
    let decision = if go { "GO" } else { "NO-GO" };
    let mut target = vec![format!(
        "sign off \"{title}\" as {decision}: type your name"
    )];
    target.push(format!(
        "approvers: {} · GO needed from {} · signed as {}",
        crate::app::gate::approvers_text(st),
        st.quorum(),
        state.user
    ));
    if st.forbid_self_approval {
        target.push(
            "self-approval forbidden: a GO does not count for an action its approver fires".into(),
        );
    }
    // The holds the decision is made on: shown here, and kept in the sign-off's record.
    target.extend(hold_lines(state, step));
    if go {
        if let Some(why) = state.hold_short(step) {
            target.push(format!(
                "GO IS REFUSED until every hold has held its whole window ({why}); NO-GO can be signed"
            ));
        }
    }
    // A name, not a phrase: one of the approvers when the gate lists them.
    let c = Confirm::new(
        ConfirmKind::SignOff { step, go },
        format!("{decision}: {title}"),
        target,
        None,
        state.stamp(),
    )
    .with_snapshot(breach_snapshot(state));
    state.modal = Some(Modal::Confirm(c));
}

/// `step`'s holds as they stand: `hold v2_err < 0.1 for 7d: HOLDING — held 3d04h of 7d …`.
fn hold_lines(state: &State, step: usize) -> Vec<String> {
    state
        .hold_verdicts(step)
        .iter()
        .map(|v| format!("hold {}: {} — {}", v.title, v.word(), v.text(true)))
        .collect()
}

pub(super) fn open_note(state: &mut State) {
    if refuse_read_only(state, "notes") {
        return;
    }
    let target = vec![
        "a one-line note for the room: every screen sharing the audit log shows it, and the report's timeline keeps it".into(),
        format!("signed as {} · at most {NOTE_MAX_CHARS} characters", state.user),
    ];
    let c = Confirm::new(
        ConfirmKind::Note,
        "Note for the room".into(),
        target,
        None,
        state.stamp(),
    );
    state.modal = Some(Modal::Confirm(c));
}

/// The selected step in the timeline, else the current one.
pub(super) fn target_step(state: &State) -> Option<usize> {
    if state.focus == Focus::Timeline {
        Some(state.selected_item.0)
    } else {
        state.current_step()
    }
}

pub(super) fn open_step_run(state: &mut State) {
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
    let opener = state
        .keys
        .keys_for(Action::RunStep)
        .find_map(|c| c.as_char());
    let c = Confirm::new(
        ConfirmKind::StepRun(step),
        format!("Run: {}", st.title),
        target,
        Some("run".into()),
        state.stamp(),
    )
    .with_snapshot(breach_snapshot(state))
    .with_attempt(state.step_runs[step].runs + 1)
    .with_opener(opener);
    let c = Confirm {
        blocked: state.step_block(step),
        ..c
    };
    state.modal = Some(Modal::Confirm(c));
}

pub(super) fn on_modal_action(state: &mut State, a: Action, fx: &mut Vec<Effect>) {
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

pub(super) fn submit_confirm(state: &mut State, fx: &mut Vec<Effect>) {
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
    if c.blocked.is_some() && c.break_glass.is_none() {
        break_glass(state, typed, fx);
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
            let Some(id) = fire_step(state, step, &c, fx) else {
                state.modal = None;
                return;
            };
            id
        }
        ConfirmKind::Note => {
            if typed.chars().count() > NOTE_MAX_CHARS {
                set_modal_error(
                    state,
                    format!(
                        "the note has {} characters; at most {NOTE_MAX_CHARS} — nothing was written",
                        typed.chars().count()
                    ),
                );
                if let Some(Modal::Confirm(m)) = state.modal.as_mut() {
                    m.typed = typed;
                }
                return;
            }
            audit(
                state,
                fx,
                AuditEvent::Note(log::Note {
                    text: typed.clone(),
                }),
                Awaiting::Note { text: typed },
                None,
            )
        }
        ConfirmKind::SignOff { step, go } => {
            // A gate that waits for its holds takes no GO before they have held: checked
            // at Enter, on the holds as they stand now.
            if let Some(why) = state.hold_short(step).filter(|_| go) {
                set_modal_error(
                    state,
                    format!(
                        "GO refused: {why} — a gate with hold_required is GO only once its holds have held in full; nothing was signed"
                    ),
                );
                return;
            }
            let st = &state.cfg.steps[step];
            let title = st.title.clone();
            let Some(name) = st.approver(&typed) else {
                let approvers = crate::app::gate::approvers_text(st);
                set_modal_error(
                    state,
                    format!(
                        "\"{typed}\" is not an approver of this gate (approvers: {approvers}) — nothing was signed"
                    ),
                );
                return;
            };
            let signoff = SignOff {
                name: name.clone(),
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
                    name,
                    // What was breaching, and the holds as they stood when it was signed.
                    snapshot: c
                        .snapshot
                        .iter()
                        .cloned()
                        .chain(hold_lines(state, step))
                        .collect(),
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

/// Enter on a blocked action's confirmation: only `break glass: <reason>` gets past the
/// gate, and only once that override is its own record in the audit log. Anything else
/// (the action's phrase typed from habit included) sends nothing.
fn break_glass(state: &mut State, typed: String, fx: &mut Vec<Effect>) {
    let Some(Modal::Confirm(c)) = state.modal.as_ref() else {
        return;
    };
    let Some(blocked) = c.blocked.clone() else {
        return;
    };
    // What is let past the gate: an action by its id, a step's script by its step.
    let (what, label) = match c.kind {
        ConfirmKind::Action(i) => {
            let a = &state.cfg.actions[i];
            (a.id.clone(), a.label.clone())
        }
        ConfirmKind::StepRun(s) => {
            let st = &state.cfg.steps[s];
            (format!("step:{}", st.name()), format!("Run: {}", st.title))
        }
        ConfirmKind::MarkT0 | ConfirmKind::SignOff { .. } | ConfirmKind::Note => return,
    };
    let Some(reason) = typed
        .get(..BREAK_GLASS.len())
        .filter(|p| p.eq_ignore_ascii_case(BREAK_GLASS))
        .and_then(|_| typed.get(BREAK_GLASS.len()..))
        .map(|r| r.trim().to_string())
    else {
        set_modal_error(
            state,
            format!(
                "{} — nothing was sent. To override it, type  {BREAK_GLASS} <why>  (recorded in the audit log)",
                blocked.text
            ),
        );
        return;
    };
    if reason.chars().count() < BREAK_GLASS_MIN_REASON {
        set_modal_error(
            state,
            format!(
                "a break-glass override needs a reason of at least {BREAK_GLASS_MIN_REASON} characters after `{BREAK_GLASS}` — nothing was sent"
            ),
        );
        return;
    }
    let event = AuditEvent::BreakGlass(log::BreakGlass {
        action: what,
        label: label.clone(),
        step: blocked.step,
        gate: state.cfg.steps[blocked.step].title.clone(),
        blocked: blocked.text.clone(),
        reason: reason.clone(),
        snapshot: c.snapshot.clone(),
    });
    let phrase = c.phrase.clone().unwrap_or_default();
    let id = audit(
        state,
        fx,
        event,
        Awaiting::BreakGlass {
            label,
            phrase,
            reason,
        },
        None,
    );
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
            m.error = Some(format!(
                "{why} — to send a second one anyway, type {phrase}"
            ));
            m.ask_second_attempt(phrase, previous);
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

/// A confirmation left alone too long cancels itself.
pub(super) fn expire(state: &mut State) {
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
