//! Gates that gate: a forward action waits for its gate's GO, signed by a named approver
//! (a quorum of them, never its own executor when self-approval is forbidden); a NO-GO
//! stops what comes after it; a rollback never waits; a break-glass override is typed,
//! reasoned and audited. All through the pure `update`, with a fake clock.

use crate::common::render_text;
use chrono::{Duration, TimeZone, Utc};
use std::sync::Arc;
use warroom::app::{update, Action, Effect, Modal, Msg, Remote, State};
use warroom::audit::{AuditEvent, Decision, Signoff};
use warroom::config::Config;
use warroom::sample::{Mono, Stamp, Ts};

fn t0() -> Ts {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn load(text: &str, name: &str) -> Config {
    let env = |k: &str| match k {
        "WARROOM_URL" => Some("http://127.0.0.1:9".to_string()),
        "ADMIN_TOKEN" => Some("gates-test-token".to_string()),
        "DD_API_KEY" | "DD_APP_KEY" => Some("gates-dd-key".to_string()),
        _ => None,
    };
    warroom::config::load::load_str_with_env(text, name, &env)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn preset(name: &str) -> Config {
    load(warroom::presets::get(name).unwrap(), &format!("<{name}>"))
}

/// A screen of `user` at `offset` from T0.
fn screen(cfg: Config, offset: Duration, user: &str) -> State {
    let stamp = Stamp::new(t0() + offset, Mono(1_000_000));
    State::new(Arc::new(cfg), stamp, Some(t0()), user.into())
}

fn act(st: &mut State, a: Action) -> Vec<Effect> {
    update(st, Msg::Action(a))
}

fn type_str(st: &mut State, s: &str) -> Vec<Effect> {
    s.chars().flat_map(|c| act(st, Action::Type(c))).collect()
}

/// Every audit record asked for, by id and event.
fn audits(fx: &[Effect]) -> Vec<(u64, AuditEvent)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Audit { id, event, .. } => Some((*id, event.clone())),
            _ => None,
        })
        .collect()
}

/// The audit writer answers: every record asked for is on disk. Returns what followed.
fn written(st: &mut State, fx: &[Effect]) -> Vec<Effect> {
    audits(fx)
        .into_iter()
        .flat_map(|(id, _)| update(st, Msg::AuditWritten { id }))
        .collect()
}

fn confirmed(fx: &[Effect]) -> Vec<String> {
    audits(fx)
        .into_iter()
        .filter_map(|(_, e)| match e {
            AuditEvent::ActionConfirmed(c) => Some(c.action),
            _ => None,
        })
        .collect()
}

fn modal_error(st: &State) -> String {
    match st.modal() {
        Some(Modal::Confirm(c)) => c.error.clone().unwrap_or_default(),
        other => panic!("no confirmation open: {other:?}"),
    }
}

/// Open `key`'s action, type its phrase, press Enter: what came of it.
fn try_fire(st: &mut State, key: char, phrase: &str) -> Vec<Effect> {
    act(st, Action::Key(key));
    assert!(
        matches!(st.modal(), Some(Modal::Confirm(_))),
        "key {key} opened no confirmation"
    );
    type_str(st, phrase);
    act(st, Action::Submit)
}

/// Sign the current step (no panel focused on the timeline) as `name`, recorded.
fn sign(st: &mut State, go: bool, name: &str) -> Vec<Effect> {
    act(st, Action::SignOff { go });
    type_str(st, name);
    let fx = act(st, Action::Submit);
    let more = written(st, &fx);
    fx.into_iter().chain(more).collect()
}

fn signoffs(fx: &[Effect]) -> usize {
    audits(fx)
        .iter()
        .filter(|(_, e)| matches!(e, AuditEvent::Signoff(_)))
        .count()
}

/// HSE a week after T0 plus an hour: the 50 % gate is the current step.
fn hse_at_50() -> State {
    screen(
        preset("hse"),
        Duration::days(7) + Duration::hours(1),
        "alice",
    )
}

#[test]
fn the_hse_50_percent_split_waits_for_its_gate() {
    let mut st = hse_at_50();
    // Unsigned: the modal says why, and the phrase typed from habit sends nothing.
    act(&mut st, Action::Key('5'));
    let screen_text = render_text(&st, 120, 40);
    assert!(
        screen_text.contains("BLOCKED: gate \"Fase 2 Semana 6: incremento a 50 % (5)\" unsigned")
            && screen_text.contains("(approvers: Tech Lead, Ops"),
        "{screen_text}"
    );
    type_str(&mut st, "split-50");
    let fx = act(&mut st, Action::Submit);
    assert!(confirmed(&fx).is_empty(), "sent while unsigned: {fx:?}");
    assert!(!fx.iter().any(|e| matches!(e, Effect::Run { .. })));
    assert!(
        modal_error(&st).starts_with("BLOCKED: gate"),
        "{}",
        modal_error(&st)
    );
    act(&mut st, Action::Escape);

    // Signed GO by an approver: the same keys fire it.
    let fx = sign(&mut st, true, "tech lead");
    assert_eq!(signoffs(&fx), 1);
    assert_eq!(
        st.signoffs()[5].last().map(|s| s.name.as_str()),
        Some("Tech Lead")
    );
    let fx = try_fire(&mut st, '5', "split-50");
    assert_eq!(confirmed(&fx), ["split-50"]);
    let fx = written(&mut st, &fx);
    assert!(fx.iter().any(|e| matches!(e, Effect::Run { .. })), "{fx:?}");
}

#[test]
fn a_name_that_is_not_an_approver_signs_nothing() {
    let mut st = hse_at_50();
    act(&mut st, Action::SignOff { go: true });
    type_str(&mut st, "Mallory");
    let fx = act(&mut st, Action::Submit);
    assert_eq!(signoffs(&fx), 0, "{fx:?}");
    let e = modal_error(&st);
    assert!(
        e.contains("\"Mallory\" is not an approver of this gate (approvers: Tech Lead, Ops Lead)"),
        "{e}"
    );
    assert!(st.signoffs()[5].is_empty());
    // Another screen's record of a name this screen does not list is not counted either.
    update(
        &mut st,
        remote_signoff(5, Decision::Go, "Mallory", "mallory"),
    );
    assert!(st.signoffs()[5].is_empty());
    act(&mut st, Action::Escape);
    try_fire(&mut st, '5', "split-50");
    assert!(
        modal_error(&st).contains("unsigned"),
        "{}",
        modal_error(&st)
    );
}

const QUORUM: &str = r#"
[cutover]
name = "q"
[[source]]
id = "api"
kind = "http"
url = "http://127.0.0.1:9/x"
[[signal]]
id = "up"
source = "api"
kind = "flag"
path = ".up"
[[step]]
id = "go"
at = "0"
title = "GO for the switch"
gate = true
approvers = ["Ana", "Luis", "alice"]
quorum = 2
[[action]]
id = "switch"
key = "s"
label = "Switch"
confirm = "switch"
command = { argv = ["true"] }
requires = { gate = "go" }
[[action]]
id = "rollback"
key = "b"
label = "Roll back"
danger = true
command = { argv = ["true"] }
"#;

fn quorum_screen(extra: &str, user: &str) -> State {
    let text = QUORUM.replace("quorum = 2", &format!("quorum = 2\n{extra}"));
    screen(load(&text, "quorum.toml"), Duration::minutes(1), user)
}

#[test]
fn a_quorum_of_two_needs_two_different_approvers() {
    let mut st = quorum_screen("", "ops");
    sign(&mut st, true, "Ana");
    try_fire(&mut st, 's', "switch");
    assert!(
        modal_error(&st).contains("has 1 of the 2 GOs it needs"),
        "{}",
        modal_error(&st)
    );
    act(&mut st, Action::Escape);
    // The same approver twice is still one.
    sign(&mut st, true, "ana");
    let fx = try_fire(&mut st, 's', "switch");
    assert!(confirmed(&fx).is_empty());
    act(&mut st, Action::Escape);
    sign(&mut st, true, "Luis");
    let fx = try_fire(&mut st, 's', "switch");
    assert_eq!(confirmed(&fx), ["switch"]);
}

#[test]
fn a_gate_that_forbids_self_approval_does_not_count_the_executors_own_go() {
    let mut st = quorum_screen("forbid_self_approval = true", "alice");
    sign(&mut st, true, "alice");
    sign(&mut st, true, "Ana");
    try_fire(&mut st, 's', "switch");
    let e = modal_error(&st);
    assert!(
        e.contains("forbids self-approval") && e.contains("alice"),
        "{e}"
    );
    act(&mut st, Action::Escape);
    // Another approver's GO makes the two the quorum needs, neither of them alice's.
    sign(&mut st, true, "Luis");
    let fx = try_fire(&mut st, 's', "switch");
    assert_eq!(confirmed(&fx), ["switch"]);

    // Without the rule, alice's own GO counts.
    let mut st = quorum_screen("", "alice");
    sign(&mut st, true, "alice");
    sign(&mut st, true, "Ana");
    assert_eq!(confirmed(&try_fire(&mut st, 's', "switch")), ["switch"]);
}

#[test]
fn break_glass_needs_a_reason_and_is_its_own_audit_record() {
    let mut st = hse_at_50();
    act(&mut st, Action::Key('5'));
    type_str(&mut st, "break glass: now");
    let fx = act(&mut st, Action::Submit);
    assert!(audits(&fx).is_empty(), "{fx:?}");
    assert!(
        modal_error(&st).contains("needs a reason"),
        "{}",
        modal_error(&st)
    );

    let reason = "Tech Lead unreachable, split agreed on the bridge call";
    type_str(&mut st, &format!("Break Glass: {reason}"));
    let fx = act(&mut st, Action::Submit);
    let recs = audits(&fx);
    assert_eq!(recs.len(), 1, "{fx:?}");
    match &recs[0].1 {
        AuditEvent::BreakGlass(b) => {
            assert_eq!(b.action, "split-50");
            assert_eq!(b.reason, reason);
            assert!(b.blocked.starts_with("BLOCKED: gate"), "{}", b.blocked);
            assert_eq!(b.step, 5);
        }
        other => panic!("not a break-glass record: {other:?}"),
    }
    // Nothing is sent by the override itself: once recorded, the phrase still fires it.
    let after = written(&mut st, &fx);
    assert!(after.is_empty(), "{after:?}");
    assert!(render_text(&st, 120, 40).contains("GATE OVERRIDDEN"));
    type_str(&mut st, "split-50");
    let fx = act(&mut st, Action::Submit);
    let recs = audits(&fx);
    match recs.as_slice() {
        [(_, AuditEvent::ActionConfirmed(c))] => {
            assert_eq!(c.break_glass.as_deref(), Some(reason));
        }
        other => panic!("expected the action's confirmation: {other:?}"),
    }
    assert!(written(&mut st, &fx)
        .iter()
        .any(|e| matches!(e, Effect::Run { .. })));
    // The override was for that confirmation only: the gate still holds the next one.
    let mut st2 = hse_at_50();
    try_fire(&mut st2, '5', "split-50");
    assert!(modal_error(&st2).starts_with("BLOCKED"));
}

#[test]
fn a_rollback_is_never_blocked_and_a_no_go_blocks_what_comes_after() {
    // Two weeks in: the 100 % gate is current.
    let mut st = screen(
        preset("hse"),
        Duration::days(14) + Duration::hours(1),
        "alice",
    );
    // The 50 % gate was NO-GO (another screen), the 100 % gate GO.
    update(
        &mut st,
        remote_signoff(5, Decision::NoGo, "Ops Lead", "bob"),
    );
    sign(&mut st, true, "Tech Lead");
    try_fire(&mut st, 'F', "split-100");
    let e = modal_error(&st);
    assert!(
        e.contains("BLOCKED: gate \"Fase 2 Semana 6: incremento a 50 % (5)\" is NO-GO"),
        "{e}"
    );
    act(&mut st, Action::Escape);
    // Earlier forward steps are not after the NO-GO.
    update(&mut st, remote_signoff(2, Decision::Go, "Ops Lead", "bob"));
    assert_eq!(confirmed(&try_fire(&mut st, '1', "split-10")), ["split-10"]);

    // The rollback, whatever the gates say.
    let mut st = screen(
        preset("hse"),
        Duration::days(14) + Duration::hours(1),
        "alice",
    );
    update(
        &mut st,
        remote_signoff(5, Decision::NoGo, "Ops Lead", "bob"),
    );
    update(
        &mut st,
        remote_signoff(6, Decision::NoGo, "Ops Lead", "bob"),
    );
    act(&mut st, Action::Rollback);
    assert!(!render_text(&st, 120, 40).contains("BLOCKED"));
    type_str(&mut st, "rollback");
    let fx = act(&mut st, Action::Submit);
    assert_eq!(confirmed(&fx), ["rollback-split-0"]);
}

#[test]
fn a_go_from_another_screen_frees_an_open_confirmation() {
    let mut st = hse_at_50();
    act(&mut st, Action::Key('5'));
    assert!(render_text(&st, 120, 40).contains("BLOCKED"));
    update(&mut st, remote_signoff(5, Decision::Go, "Ops Lead", "bob"));
    assert!(!render_text(&st, 120, 40).contains("BLOCKED"));
    type_str(&mut st, "split-50");
    assert_eq!(confirmed(&act(&mut st, Action::Submit)), ["split-50"]);
}

#[test]
fn every_preset_puts_its_forward_steps_behind_gates() {
    for (name, gated) in [
        ("hse", &["split-10", "split-50", "split-100"][..]),
        (
            "cohortlens",
            &[
                "enable-v2",
                "enable-shadow-mode",
                "migrate-to-v2",
                "complete-v1-deprecation",
            ][..],
        ),
        ("brokers", &["enable-v1"][..]),
        ("edn360", &["switch-fase3"][..]),
    ] {
        let cfg = preset(name);
        let st = screen(cfg.clone(), Duration::zero(), "alice");
        for (i, a) in cfg.actions.iter().enumerate() {
            let blocked = st.action_block(i);
            if gated.contains(&a.id.as_str()) {
                assert!(blocked.is_some(), "{name}: {} is not gated", a.id);
            } else {
                assert!(blocked.is_none(), "{name}: {} is gated", a.id);
            }
            if a.danger {
                assert!(a.requires.is_none(), "{name}: rollback {} waits", a.id);
            }
        }
        for s in cfg.steps.iter().filter(|s| s.gate) {
            assert!(
                !s.approvers.is_empty(),
                "{name}: \"{}\" takes any name",
                s.title
            );
        }
    }
    // EDN360's five supervision points, Jorge's; its migration scripts wait for Punto 2.
    let cfg = preset("edn360");
    let points: Vec<_> = cfg.steps.iter().filter(|s| s.gate).collect();
    assert_eq!(points.len(), 5);
    assert!(points.iter().all(|s| s.approvers == ["Jorge Calcerrada"]));
    let st = screen(cfg.clone(), Duration::zero(), "alice");
    let migrate = cfg
        .steps
        .iter()
        .position(|s| s.title.contains("migrar cuestionarios"))
        .unwrap();
    assert!(st
        .step_block(migrate)
        .is_some_and(|b| b.text.contains("Punto 2")));
}

#[test]
fn a_step_script_behind_a_gate_waits_and_can_be_overridden() {
    // EDN360 at T-71h: the questionnaire migration is current, Punto 2 unsigned.
    let cfg = preset("edn360");
    let step = cfg
        .steps
        .iter()
        .position(|s| s.title.contains("migrar cuestionarios"))
        .unwrap();
    let mut st = screen(cfg, Duration::hours(-71) + Duration::minutes(5), "dev");
    act(&mut st, Action::RunStep);
    type_str(&mut st, "run");
    let fx = act(&mut st, Action::Submit);
    assert!(audits(&fx).is_empty(), "{fx:?}");
    assert!(modal_error(&st).contains("Punto 2"), "{}", modal_error(&st));
    type_str(
        &mut st,
        "break glass: Jorge approved by phone, see ticket 42",
    );
    let fx = act(&mut st, Action::Submit);
    assert!(
        matches!(audits(&fx).as_slice(), [(_, AuditEvent::BreakGlass(b))] if b.action.starts_with("step:"))
    );
    written(&mut st, &fx);
    type_str(&mut st, "run");
    let fx = act(&mut st, Action::Submit);
    assert!(matches!(audits(&fx).as_slice(), [(_, AuditEvent::StepRun(r))] if r.step == step));
}

#[test]
fn gate_mistakes_are_reported_by_validate() {
    let problems = |text: &str| -> Vec<String> {
        let env = |_: &str| None;
        match warroom::config::load::load_str_with_env(text, "g.toml", &env) {
            Ok(_) => vec![],
            Err(warroom::config::ConfigError::Invalid(ps)) => {
                ps.iter().map(|p| p.message.clone()).collect()
            }
            Err(e) => vec![e.to_string()],
        }
    };
    assert!(problems(QUORUM).is_empty(), "{:?}", problems(QUORUM));
    let p = problems(&QUORUM.replace(
        "requires = { gate = \"go\" }",
        "requires = { gate = \"og\" }",
    ));
    assert!(
        p.iter()
            .any(|m| m.contains("names step `og`, which is not defined")),
        "{p:?}"
    );
    let p = problems(&QUORUM.replace("quorum = 2", "quorum = 4"));
    assert!(
        p.iter()
            .any(|m| m.contains("`quorum = 4` can never be reached")),
        "{p:?}"
    );
    let p = problems(&QUORUM.replace("gate = true\n", ""));
    assert!(p.iter().any(|m| m.contains("which is not a gate")), "{p:?}");
    assert!(
        p.iter()
            .any(|m| m.contains("`approvers` is only for a GO/NO-GO gate")),
        "{p:?}"
    );
    let p = problems(&QUORUM.replace(
        "danger = true\n",
        "danger = true\nrequires = { gate = \"go\" }\n",
    ));
    assert!(
        p.iter().any(|m| m.contains("never held back by a gate")),
        "{p:?}"
    );
    let p = problems(&QUORUM.replace("\"Luis\"", "\"ana\""));
    assert!(p.iter().any(|m| m.contains("listed twice")), "{p:?}");
}

/// Another screen's sign-off, as the audit tail delivers it.
fn remote_signoff(step: usize, decision: Decision, name: &str, user: &str) -> Msg {
    Msg::Remote(Remote {
        at: t0(),
        user: user.into(),
        host: "b2".into(),
        cutover: None,
        environment: None,
        config: None,
        session: format!("s-{user}"),
        event: AuditEvent::Signoff(Signoff {
            step,
            title: String::new(),
            decision,
            name: name.into(),
            snapshot: vec![],
        }),
    })
}
