//! The action state machine with a fake clock: no terminal, no network, no disk — the
//! audit writer's answers are messages the tests send.
use super::*;
use crate::app::{Action, Focus, Msg, Remote};
use crate::audit::Competitor;
use crate::config::Config;
use crate::engine::{EventKind, Status};
use crate::sample::{Mono, PollOutcome, PollResult, Stamp, Ts};
use std::sync::Arc;

const CFG: &str = r#"
[cutover]
name = "t"
environment = "production"
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

use crate::sample::fake_clock::{at, m, t};

fn state_of(cfg: &str) -> State {
    let cfg: Arc<Config> = Arc::new(toml::from_str(cfg).expect("test config"));
    let mut st = State::new(cfg, at(0), None, "alice".into());
    st.session = "sess".into();
    st
}

fn state() -> State {
    state_of(CFG)
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

/// The audit records asked for: (id, kind, is a claim).
fn audits(fx: &[Effect]) -> Vec<(u64, String, bool)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Audit { id, event, claim } => {
                Some((*id, event.kind().to_string(), claim.is_some()))
            }
            _ => None,
        })
        .collect()
}

fn kinds(fx: &[Effect]) -> Vec<String> {
    audits(fx).into_iter().map(|(_, k, _)| k).collect()
}

/// The writer answers "on disk" for every record asked for (and for those the answers
/// lead to): everything that happened, in order.
fn ack(st: &mut State, fx: Vec<Effect>) -> Vec<Effect> {
    let mut all = Vec::new();
    let mut todo = fx;
    while !todo.is_empty() {
        let mut next = Vec::new();
        for e in todo {
            if let Effect::Audit { id, .. } = &e {
                next.extend(update(st, Msg::AuditWritten { id: *id }));
            }
            all.push(e);
        }
        todo = next;
    }
    all
}

fn confirm_rollback(st: &mut State, phrase: &str) -> Vec<Effect> {
    act(st, Action::Rollback);
    type_str(st, phrase);
    act(st, Action::Submit)
}

/// Confirm the rollback and let its record land.
fn fire_ok(st: &mut State, phrase: &str) -> Vec<Effect> {
    let fx = confirm_rollback(st, phrase);
    ack(st, fx)
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
        http_status: Some(if ok { 200 } else { 500 }),
        exit_code: None,
        output: String::new(),
        captures: Vec::new(),
    }
}

fn done(st: &mut State, ok: bool, at: Ts) -> Vec<Effect> {
    let fx = update(
        st,
        Msg::ActionDone {
            action: 0,
            report: report(ok, at),
        },
    );
    ack(st, fx)
}

fn flag_poll(st: &mut State, s: i64, v1: bool) {
    let poll = Msg::readings(
        &st.engine,
        &PollResult {
            source: "flags".into(),
            at: t(s),
            mono: m(s),
            latency_ms: 1,
            outcome: PollOutcome::Json {
                status: 200,
                body: serde_json::json!({ "v1": v1 }),
            },
        },
    );
    update(st, poll);
}

fn modal(st: &State) -> &Confirm {
    match &st.modal {
        Some(Modal::Confirm(c)) => c,
        other => panic!("no confirmation open: {other:?}"),
    }
}

fn event_texts(st: &State) -> Vec<String> {
    st.events.iter().map(|e| e.text.clone()).collect()
}

#[test]
fn full_sequence_sends_exactly_once_and_only_after_its_record_is_on_disk() {
    let mut st = state();
    assert!(runs(&act(&mut st, Action::Rollback)).is_empty());
    assert!(st.text_entry(), "R opens the confirmation");
    assert!(runs(&type_str(&mut st, "rollback")).is_empty());
    let fx = act(&mut st, Action::Submit);
    assert!(runs(&fx).is_empty(), "nothing is sent before its record");
    let recs = audits(&fx);
    assert_eq!(recs.len(), 1);
    let (id, kind, claim) = recs[0].clone();
    assert_eq!((kind.as_str(), claim), ("action_confirmed", true));
    assert!(
        st.runs[0].in_flight(),
        "single flight from the confirming Enter"
    );
    assert_eq!(
        modal(&st).sending,
        Some(id),
        "the modal waits for the record"
    );
    // Keys while it is being recorded do nothing.
    assert!(act(&mut st, Action::Submit).is_empty());
    assert!(act(&mut st, Action::Escape).is_empty());
    assert!(st.modal.is_some());

    let fx = update(&mut st, Msg::AuditWritten { id });
    assert_eq!(runs(&fx), vec![("sess-rollback-1".to_string(), 1)]);
    assert!(st.modal.is_none());
    // A double Enter, a held R, the action key: all inert while in flight.
    assert!(runs(&act(&mut st, Action::Submit)).is_empty());
    assert!(runs(&act(&mut st, Action::Rollback)).is_empty());
    assert!(runs(&act(&mut st, Action::Key('r'))).is_empty());
    assert!(st.modal.is_none());
    assert!(st
        .notice
        .as_ref()
        .is_some_and(|n| n.text.contains("in flight")));
    // A duplicate answer sends nothing more.
    assert!(runs(&update(&mut st, Msg::AuditWritten { id })).is_empty());
}

#[test]
fn an_unwritable_audit_log_refuses_the_action_and_shows_a_lasting_badge() {
    let mut st = state();
    let fx = confirm_rollback(&mut st, "rollback");
    let (id, _, _) = audits(&fx)[0].clone();
    let fx = update(
        &mut st,
        Msg::AuditFailed {
            id: Some(id),
            reason: "No space left on device (os error 28)".into(),
        },
    );
    assert!(runs(&fx).is_empty());
    let c = modal(&st);
    assert_eq!(
        c.error.as_deref(),
        Some("not sent: the audit log cannot be written (No space left on device (os error 28))")
    );
    assert_eq!(c.sending, None);
    assert_eq!(st.runs[0].state, RunState::Idle, "back as it was");
    assert_eq!(st.runs[0].attempts, 0);
    assert!(st.audit_failing.is_some());
    assert!(event_texts(&st)
        .iter()
        .any(|e| e.contains("AUDIT LOG WRITE FAILED")));
    // The badge lasts: a tick of the clock does not clear it.
    update(&mut st, Msg::Tick(at(20)));
    assert!(st.audit_failing.is_some());
    // Once a write succeeds, the action goes through and the badge clears.
    type_str(&mut st, "rollback");
    let fx = act(&mut st, Action::Submit);
    let fx = ack(&mut st, fx);
    assert_eq!(runs(&fx).len(), 1);
    assert!(st.audit_failing.is_none());
}

#[test]
fn ticks_sign_offs_and_t0_marks_show_only_once_recorded() {
    let mut st = state();
    st.focus = Focus::Timeline;
    let fx = act(&mut st, Action::ToggleTick);
    assert_eq!(kinds(&fx), vec!["tick"]);
    assert!(st.ticks[0][0].is_none(), "not ticked until recorded");
    assert!(
        act(&mut st, Action::ToggleTick).is_empty(),
        "one change at a time"
    );
    let (id, _, _) = audits(&fx)[0].clone();
    update(
        &mut st,
        Msg::AuditFailed {
            id: Some(id),
            reason: "Input/output error (os error 5)".into(),
        },
    );
    assert!(st.ticks[0][0].is_none(), "a failed record ticks nothing");
    assert!(st.notice.as_ref().is_some_and(|n| n
        .text
        .contains("not ticked: the audit log cannot be written")));
    let fx = act(&mut st, Action::ToggleTick);
    ack(&mut st, fx);
    assert!(st.ticks[0][0].is_some());

    // Sign-off: the modal waits; a failure says so in it and signs nothing.
    act(&mut st, Action::SignOff { go: false });
    type_str(&mut st, "Ana (Ops)");
    let fx = act(&mut st, Action::Submit);
    assert_eq!(kinds(&fx), vec!["signoff"]);
    assert!(st.signoffs[0].is_empty());
    update(
        &mut st,
        Msg::AuditFailed {
            id: Some(audits(&fx)[0].0),
            reason: "disk full".into(),
        },
    );
    assert!(st.signoffs[0].is_empty());
    assert!(modal(&st)
        .error
        .as_deref()
        .is_some_and(|e| e.starts_with("not signed: the audit log cannot be written")));
    type_str(&mut st, "Ana (Ops)");
    let fx = act(&mut st, Action::Submit);
    ack(&mut st, fx);
    assert_eq!(
        st.signoffs[0].last().map(|s| (s.name.as_str(), s.go)),
        Some(("Ana (Ops)", false))
    );

    // T0: marked at the moment Enter was pressed, shown once recorded.
    act(&mut st, Action::MarkT0);
    type_str(&mut st, "t0");
    let fx = act(&mut st, Action::Submit);
    assert_eq!(kinds(&fx), vec!["t0_mark"]);
    assert_eq!(st.t0, None);
    update(&mut st, Msg::Tick(at(3)));
    ack(&mut st, fx);
    assert_eq!(st.t0, Some(t(0)));
}

#[test]
fn negatives_send_nothing() {
    // Wrong phrase: stays open, says why.
    let mut st = state();
    act(&mut st, Action::Rollback);
    type_str(&mut st, "rollbak");
    assert!(act(&mut st, Action::Submit).is_empty());
    assert!(modal(&st)
        .error
        .as_deref()
        .unwrap_or("")
        .contains("not the phrase"));
    // Esc cancels.
    assert!(act(&mut st, Action::Escape).is_empty());
    assert!(st.modal.is_none());
    // `n` then Enter is a wrong phrase, not a "no".
    act(&mut st, Action::Rollback);
    type_str(&mut st, "n");
    assert!(act(&mut st, Action::Submit).is_empty());
    act(&mut st, Action::Escape);
    // Enter on an empty field is Cancel, the default.
    act(&mut st, Action::Rollback);
    assert!(act(&mut st, Action::Submit).is_empty());
    assert!(st.modal.is_none());
    // 30 s idle cancels.
    act(&mut st, Action::Rollback);
    type_str(&mut st, "rollback");
    let fx = update(&mut st, Msg::Tick(at(31)));
    assert!(fx.is_empty());
    assert!(st.modal.is_none());
    assert!(act(&mut st, Action::Submit).is_empty());
}

#[test]
fn paste_is_text_never_enter() {
    let mut st = state();
    act(&mut st, Action::Rollback);
    let fx = update(&mut st, Msg::Paste("rollback\n\n".into()));
    assert!(fx.is_empty());
    assert!(st.text_entry());
    let fx = act(&mut st, Action::Submit);
    assert_eq!(runs(&ack(&mut st, fx)).len(), 1);
}

#[test]
fn retry_reuses_the_key_and_success_starts_verification() {
    let mut st = state();
    let first = runs(&fire_ok(&mut st, "rollback"));
    let fx = done(&mut st, false, t(1));
    assert_eq!(kinds(&fx), vec!["action_result"]);
    assert!(st.events.back().is_some_and(|e| e.text.contains("FAILED")));
    // Nothing is retried by itself: a new confirmation is needed, with the usual phrase.
    assert!(runs(&update(&mut st, Msg::Tick(at(2)))).is_empty());
    let second = runs(&fire_ok(&mut st, "rollback"));
    assert_eq!(
        second[0].0, first[0].0,
        "a manual retry reuses the idempotency key"
    );
    assert_eq!(second[0].1, 2);
    done(&mut st, true, t(3));
    assert!(st.runs[0].verify.is_some());
    // Verification polls its source each second until the flag reads false.
    let fx = update(&mut st, Msg::Tick(at(4)));
    assert!(fx.contains(&Effect::PollNow {
        sources: vec!["flags".into()]
    }));
    flag_poll(&mut st, 5, false);
    let fx = update(&mut st, Msg::Tick(at(5)));
    assert_eq!(kinds(&fx), vec!["verify_result"]);
    assert!(matches!(
        st.runs[0].verify.as_ref().and_then(|v| v.verdict.clone()),
        Some(Verdict::Verified { .. })
    ));
}

#[test]
fn a_second_attempt_after_a_success_needs_again_and_gets_a_new_key() {
    let mut st = state();
    let first = runs(&fire_ok(&mut st, "rollback"));
    update(&mut st, Msg::Tick(at(1)));
    done(&mut st, true, t(1));
    // While it verifies, the usual phrase fires nothing.
    act(&mut st, Action::Rollback);
    let c = modal(&st).clone();
    assert!(c.again);
    assert_eq!(c.phrase.as_deref(), Some("rollback again"));
    assert!(
        c.previous[0].contains("SUCCEEDED at") && c.previous[0].contains("by alice"),
        "{:?}",
        c.previous
    );
    assert!(c.previous[1].contains("verifying"), "{:?}", c.previous);
    assert!(c.previous.iter().any(|l| l.contains("NEW Idempotency-Key")));
    type_str(&mut st, "rollback");
    assert!(act(&mut st, Action::Submit).is_empty());
    assert!(modal(&st)
        .error
        .as_deref()
        .is_some_and(|e| e.contains("not the phrase")));
    act(&mut st, Action::Escape);

    // Verified at 5 s; the cooldown (the verify window, 10 s) runs to 15 s.
    flag_poll(&mut st, 5, false);
    update(&mut st, Msg::Tick(at(5)));
    update(&mut st, Msg::Tick(at(14)));
    act(&mut st, Action::Rollback);
    assert!(modal(&st).again, "still within the cooldown");
    type_str(&mut st, "rollback again");
    let fx = act(&mut st, Action::Submit);
    assert!(matches!(
        fx.iter().find_map(|e| match e {
            Effect::Audit {
                event: AuditEvent::ActionConfirmed(c),
                claim: Some(r),
                ..
            } => Some((c.again, r.again)),
            _ => None,
        }),
        Some((true, true))
    ));
    let second = runs(&ack(&mut st, fx));
    assert_eq!(second.len(), 1);
    assert_ne!(
        second[0].0, first[0].0,
        "a deliberate second attempt: a new key"
    );
}

#[test]
fn after_the_cooldown_the_usual_phrase_works_again() {
    let cfg = CFG.replace(
        "verify = { within = \"10s\"",
        "cooldown = \"3s\"\nverify = { within = \"10s\"",
    );
    let mut st = state_of(&cfg);
    fire_ok(&mut st, "rollback");
    done(&mut st, true, t(0));
    flag_poll(&mut st, 2, false);
    update(&mut st, Msg::Tick(at(2)));
    update(&mut st, Msg::Tick(at(4)));
    act(&mut st, Action::Rollback);
    assert!(modal(&st).again, "verified at 2 s, cooldown 3 s");
    act(&mut st, Action::Escape);
    update(&mut st, Msg::Tick(at(6)));
    act(&mut st, Action::Rollback);
    assert!(!modal(&st).again);
    assert_eq!(modal(&st).phrase.as_deref(), Some("rollback"));
}

#[test]
fn another_screens_success_also_needs_again_here() {
    let mut st = state();
    update(
        &mut st,
        remote(
            "action_confirmed",
            t(1),
            json(r#"{"action":"rollback","label":"Roll back","attempt":1}"#),
        ),
    );
    update(
        &mut st,
        remote(
            "action_result",
            t(2),
            json(r#"{"action":"rollback","ok":true,"summary":"HTTP 200 in 4 ms"}"#),
        ),
    );
    act(&mut st, Action::Rollback);
    let c = modal(&st);
    assert!(c.again);
    assert!(c.previous[0].contains("bob@bastion2"), "{:?}", c.previous);
}

#[test]
fn a_lost_claim_sends_nothing_and_says_who_fired_it_and_when() {
    let mut st = state();
    let fx = confirm_rollback(&mut st, "rollback");
    let (id, _, _) = audits(&fx)[0].clone();
    let fx = update(
        &mut st,
        Msg::ClaimLost {
            id,
            competitor: Competitor::InFlight {
                by: "bob@bastion2".into(),
                since: t(0),
                attempt: 1,
            },
        },
    );
    assert!(runs(&fx).is_empty());
    assert_eq!(kinds(&fx), vec!["action_declined"]);
    let err = modal(&st).error.clone().unwrap_or_default();
    assert!(
        err.contains("not sent: bob@bastion2 fired \"Roll back\" at") && err.contains("UTC"),
        "{err}"
    );
    // Its key is inert here now, as the other screen's attempt is in flight.
    assert_eq!(st.runs[0].remote_by.as_deref(), Some("bob@bastion2"));
    act(&mut st, Action::Escape);
    assert!(act(&mut st, Action::Rollback).is_empty());
    assert!(st.modal.is_none());
}

#[test]
fn a_claim_lost_to_a_recent_success_asks_for_the_deliberate_phrase() {
    let mut st = state();
    let fx = confirm_rollback(&mut st, "rollback");
    let (id, _, _) = audits(&fx)[0].clone();
    update(
        &mut st,
        Msg::ClaimLost {
            id,
            competitor: Competitor::Succeeded {
                by: "bob@bastion2".into(),
                at: t(0),
                verdict: None,
                until: t(20),
            },
        },
    );
    let c = modal(&st).clone();
    assert!(c.again);
    assert_eq!(c.phrase.as_deref(), Some("rollback again"));
    assert!(
        c.error
            .as_deref()
            .is_some_and(|e| e.contains("still verifying")),
        "{c:?}"
    );
    type_str(&mut st, "rollback again");
    let fx = act(&mut st, Action::Submit);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Audit { claim: Some(r), .. } if r.again)));
    assert_eq!(runs(&ack(&mut st, fx)).len(), 1);
}

#[test]
fn verification_fails_visibly_at_the_deadline() {
    let mut st = state();
    fire_ok(&mut st, "rollback");
    done(&mut st, true, t(0));
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
fn not_verified_says_what_was_seen_then_what_was_wanted() {
    let mut st = state();
    fire_ok(&mut st, "rollback");
    done(&mut st, true, t(0));
    for s in 1..9 {
        update(&mut st, Msg::Tick(at(s)));
    }
    // A fresh sample after the action: the flag is still true.
    let poll = Msg::readings(
        &st.engine,
        &PollResult {
            source: "flags".into(),
            at: t(9),
            mono: m(9),
            latency_ms: 1,
            outcome: PollOutcome::Json {
                status: 200,
                body: serde_json::json!({ "v1": true }),
            },
        },
    );
    update(&mut st, poll);
    update(&mut st, Msg::Tick(at(10)));
    let Some(Verdict::NotVerified { failing }) =
        st.runs[0].verify.as_ref().and_then(|v| v.verdict.clone())
    else {
        panic!("no verdict: {:?}", st.runs[0].verify);
    };
    assert_eq!(failing, vec!["v1 is true; wanted == false".to_string()]);
    let ev = st.events.back().map(|e| e.text.clone()).unwrap_or_default();
    assert!(ev.contains("v1 is true; wanted == false"), "{ev}");
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
fn a_step_script_runs_once_after_its_record() {
    let mut st = state();
    st.focus = Focus::Timeline;
    assert!(runs(&act(&mut st, Action::RunStep)).is_empty());
    assert!(st.text_entry());
    type_str(&mut st, "run");
    let fx = act(&mut st, Action::Submit);
    assert_eq!(kinds(&fx), vec!["step_run"]);
    assert!(!fx.iter().any(|e| matches!(e, Effect::RunStep { .. })));
    let fx = ack(&mut st, fx);
    assert_eq!(
        fx.iter()
            .filter(|e| matches!(e, Effect::RunStep { step: 0 }))
            .count(),
        1
    );
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
    assert_eq!(kinds(&fx), vec!["step_run_result"]);
    assert!(st.step_runs[0].last.as_ref().is_some_and(|r| r.ok));
}

#[test]
fn phase_rules_read_the_phase_from_signals() {
    let mut st = state();
    assert_eq!(st.derived_phase(), None, "no data: no phase");
    flag_poll(&mut st, 1, false);
    assert_eq!(st.derived_phase(), Some("rolled back"));
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).expect("test json")
}

fn remote_in(kind: &str, at: Ts, details: serde_json::Value, environment: &str) -> Msg {
    Msg::Remote(Remote {
        at,
        user: "bob".into(),
        host: "bastion2".into(),
        cutover: Some("t".into()),
        environment: Some(environment.into()),
        config: None,
        session: "bob-session".into(),
        event: AuditEvent::from_parts(kind, details).expect("a valid test record"),
    })
}

fn remote(kind: &str, at: Ts, details: serde_json::Value) -> Msg {
    remote_in(kind, at, details, "production")
}

#[test]
fn another_instance_records_show_here() {
    let mut st = state();
    update(
        &mut st,
        remote(
            "tick",
            t(1),
            json(r#"{"step": 0, "item": 0, "item_text": "flip"}"#),
        ),
    );
    assert_eq!(
        st.ticks[0][0].as_ref().map(|t| t.by.as_str()),
        Some("bob@bastion2")
    );
    update(
        &mut st,
        remote(
            "action_confirmed",
            t(2),
            json(r#"{"action": "rollback", "label": "Roll back", "attempt": 1}"#),
        ),
    );
    assert!(st
        .events
        .back()
        .is_some_and(|e| e.text.contains("bob@bastion2 fired \"Roll back\"")));
}

#[test]
fn another_screens_old_record_is_shown_at_its_own_time() {
    // History read at start-up: a tick written long before this screen's clock.
    let mut st = state();
    let written = st.now - chrono::Duration::hours(3);
    update(
        &mut st,
        remote(
            "tick",
            written,
            json(r#"{"step": 0, "item": 0, "item_text": "flip"}"#),
        ),
    );
    let e = st.events.back().expect("an event for the tick");
    assert!(e.text.contains("bob@bastion2 ticked"), "{}", e.text);
    assert_eq!(e.at, written, "shown when it was written, not as news");
}

#[test]
fn records_of_another_environment_are_warned_about_and_never_applied() {
    let mut st = state();
    for (kind, details) in [
        ("t0_mark", r#"{"t0": "2027-01-15T08:00:00Z"}"#),
        ("tick", r#"{"step": 0, "item": 0, "item_text": "flip"}"#),
        (
            "signoff",
            r#"{"step": 0, "title": "T0", "decision": "GO", "name": "Sam"}"#,
        ),
        (
            "action_confirmed",
            r#"{"action": "rollback", "label": "Roll back"}"#,
        ),
    ] {
        update(&mut st, remote_in(kind, t(1), json(details), "staging"));
    }
    assert_eq!(st.t0, None, "a staging T0 mark never sets production's");
    assert!(st.ticks[0][0].is_none());
    assert!(st.signoffs[0].is_empty());
    assert!(!st.runs[0].in_flight());
    let warnings: Vec<String> = event_texts(&st)
        .into_iter()
        .filter(|e| e.contains("environment \"staging\""))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning per session: {warnings:?}");
    // Another cutover in the same file: the same.
    let mut other = match remote("t0_mark", t(1), json(r#"{}"#)) {
        Msg::Remote(r) => r,
        _ => unreachable!(),
    };
    other.cutover = Some("another cutover".into());
    other.session = "carol".into();
    update(&mut st, Msg::Remote(other));
    assert_eq!(st.t0, None);
    // A record of this environment, on a different config: applied, and said once.
    let mut r = match remote("t0_mark", t(2), json(r#"{}"#)) {
        Msg::Remote(r) => r,
        _ => unreachable!(),
    };
    st.config_fingerprint = "aaaa0000".into();
    r.config = Some("bbbb1111".into());
    update(&mut st, Msg::Remote(r));
    assert_eq!(st.t0, Some(t(2)));
    assert!(event_texts(&st)
        .iter()
        .any(|e| e.contains("different config")));
}

#[test]
fn a_rollback_fired_on_another_screen_makes_this_key_inert_until_it_ends() {
    let mut st = state();
    update(
        &mut st,
        remote(
            "action_confirmed",
            t(1),
            json(r#"{"action": "rollback", "label": "Roll back", "attempt": 1}"#),
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
            json(r#"{"action": "rollback", "ok": true, "summary": "HTTP 200 in 4 ms"}"#),
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
            json(r#"{"action": "rollback", "verified": true}"#),
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
            json(r#"{"action": "rollback", "label": "Roll back"}"#),
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

#[test]
fn a_success_elsewhere_while_the_modal_is_open_makes_it_a_second_attempt() {
    let mut st = state();
    act(&mut st, Action::Rollback);
    type_str(&mut st, "rollback");
    update(
        &mut st,
        remote(
            "action_confirmed",
            t(1),
            json(r#"{"action":"rollback","label":"Roll back","attempt":1}"#),
        ),
    );
    // In flight elsewhere: Enter sends nothing, and says why.
    assert!(act(&mut st, Action::Submit).is_empty());
    assert!(modal(&st)
        .error
        .as_deref()
        .is_some_and(|e| e.contains("not sent") && e.contains("fired by bob@bastion2")));
    update(
        &mut st,
        remote(
            "action_result",
            t(2),
            json(r#"{"action":"rollback","ok":true,"summary":"HTTP 200 in 4 ms"}"#),
        ),
    );
    let c = modal(&st).clone();
    assert!(c.again);
    assert_eq!(c.phrase.as_deref(), Some("rollback again"));
    assert!(c
        .error
        .as_deref()
        .is_some_and(|e| e.contains("succeeded meanwhile")));
    type_str(&mut st, "rollback");
    assert!(act(&mut st, Action::Submit).is_empty());
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

fn poll_err(st: &State, wall: Ts, mono: Mono, err: f64) -> Msg {
    Msg::readings(
        &st.engine,
        &PollResult {
            source: "m".into(),
            at: wall,
            mono,
            latency_ms: 1,
            outcome: PollOutcome::Json {
                status: 200,
                body: serde_json::json!({ "err": err }),
            },
        },
    )
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
        let poll = poll_err(st, wall(200), mono(200), err);
        fx.extend(update(st, poll));
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
        let fx = act(&mut st, Action::Submit);
        assert_eq!(runs(&ack(&mut st, fx)).len(), 1);
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
    let poll = Msg::readings(
        &st.engine,
        &PollResult {
            source: "flags".into(),
            at: t(-5_000),
            mono: m(0),
            latency_ms: 1,
            outcome: PollOutcome::Json {
                status: 200,
                body: serde_json::json!({"v1": true}),
            },
        },
    );
    update(&mut st, poll);
    assert_eq!((st.now, st.mono), (now, mono));
    assert!(step_notes(&st).is_empty());
    assert_eq!(crate::timefmt::format_clock_step(-3_600_000), "-1h00m");
    assert_eq!(crate::timefmt::format_clock_step(125_400), "+2m05s");
    assert_eq!(crate::timefmt::format_clock_step(9_600), "+10s");
}

/// A room with a critical metric beside the flag the rollback verifies.
const BREACH_CFG: &str = r#"
[cutover]
name = "t"
rollback_key = "R"
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
stale_after = "5m"
[[signal]]
id = "err"
source = "flags"
kind = "metric"
path = ".err"
stale_after = "5m"
critical = true
crit = "> 2"
[[action]]
id = "rollback"
key = "r"
label = "Roll back"
danger = true
request = { url = "http://127.0.0.1:1/rollback" }
verify = { within = "10s", all = [{ signal = "v1", is = "== false" }] }
"#;

fn room_poll(st: &mut State, s: i64, v1: bool, err: f64) {
    let poll = Msg::readings(
        &st.engine,
        &PollResult {
            source: "flags".into(),
            at: t(s),
            mono: m(s),
            latency_ms: 1,
            outcome: PollOutcome::Json {
                status: 200,
                body: serde_json::json!({ "v1": v1, "err": err }),
            },
        },
    );
    update(st, poll);
    update(st, Msg::Tick(at(s)));
}

/// The banner as drawn at 100×20, one string.
fn banner_screen(st: &State) -> String {
    let theme =
        crate::theme::Theme::load(None, crate::theme::ThemeOptions::default()).expect("theme");
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).expect("terminal");
    term.draw(|f| crate::ui::render(f, st, &theme))
        .expect("draw");
    crate::ui::dump(term.backend().buffer()).join("\n")
}

/// Breach, roll back, verified at 3 s, rows clear at 4 s.
fn rolled_back_and_verified() -> State {
    let mut st = state_of(BREACH_CFG);
    room_poll(&mut st, 1, true, 3.0);
    fire_ok(&mut st, "rollback");
    done(&mut st, true, t(2));
    room_poll(&mut st, 3, false, 3.0);
    assert!(matches!(
        st.runs[0].verify.as_ref().and_then(|v| v.verdict.clone()),
        Some(Verdict::Verified { .. })
    ));
    room_poll(&mut st, 4, false, 0.5);
    st
}

#[test]
fn an_action_result_line_expires_after_a_minute_on_the_monotonic_clock() {
    let mut st = rolled_back_and_verified();
    assert!(banner_screen(&st).contains("VERIFIED at"));
    // The wall clock jumping a day changes nothing: only the monotonic clock counts.
    update(&mut st, Msg::Tick(Stamp::new(t(86_400), m(62))));
    assert!(!st.result_expired(0));
    assert!(banner_screen(&st).contains("VERIFIED at"));
    update(&mut st, Msg::Tick(Stamp::new(t(86_400), m(63))));
    assert!(st.result_expired(0));
    assert!(!banner_screen(&st).contains("VERIFIED at"));
}

#[test]
fn an_action_result_line_can_be_dismissed() {
    let mut st = rolled_back_and_verified();
    act(&mut st, Action::Dismiss);
    assert!(st.result_expired(0));
    assert!(!banner_screen(&st).contains("VERIFIED at"));
    // The record of it stays in the events.
    assert!(st.events.iter().any(|e| e.text.contains("VERIFIED")));
}

#[test]
fn a_new_breach_after_the_verdict_rearms_press_r() {
    let mut st = rolled_back_and_verified();
    room_poll(&mut st, 10, false, 3.0);
    assert!(
        st.result_expired(0),
        "a new breach ends the old result line"
    );
    let s = banner_screen(&st);
    assert!(!s.contains("waiting for the rows to clear"), "{s}");
    assert!(!s.contains("VERIFIED at"), "{s}");
    assert!(
        s.lines()
            .any(|l| l.contains("BREACH") && l.contains("press R")),
        "{s}"
    );
}

#[test]
fn a_breach_that_outlasts_the_rollback_keeps_the_verdict_hint() {
    // The rows never cleared: the same breach, still waiting for them.
    let mut st = state_of(BREACH_CFG);
    room_poll(&mut st, 1, true, 3.0);
    fire_ok(&mut st, "rollback");
    done(&mut st, true, t(2));
    room_poll(&mut st, 3, false, 3.0);
    room_poll(&mut st, 5, false, 3.0);
    assert!(!st.result_expired(0));
    assert!(banner_screen(&st).contains("waiting for the rows to clear"));
}

#[test]
fn a_result_replayed_from_the_audit_log_is_as_old_as_its_record() {
    // A restart at 2 h replays another screen's rollback of an hour and a half before:
    // its result line does not come back.
    let mut st = state();
    update(&mut st, Msg::Tick(at(7200)));
    let past = t(1800);
    update(
        &mut st,
        remote(
            "action_confirmed",
            past,
            json(r#"{"action": "rollback", "label": "Roll back", "attempt": 1}"#),
        ),
    );
    update(
        &mut st,
        remote(
            "action_result",
            past,
            json(
                r#"{"action": "rollback", "attempt": 1, "ok": false, "summary": "HTTP 500",
                    "duration_ms": 5}"#,
            ),
        ),
    );
    assert!(st.runs[0].last.is_some(), "{:?}", st.runs[0]);
    assert!(st.result_expired(0));
    let s = banner_screen(&st);
    assert!(!s.contains("confirm a retry"), "{s}");
}
