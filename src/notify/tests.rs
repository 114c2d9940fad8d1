//! What `update` asks to announce, with a fake clock: episodes from the engine after a
//! poll or a tick, acts only once their record is on disk, nothing on a read-only screen.

use super::*;
use crate::app::{update, Action, Effect, Msg, State};
use crate::config::Config;
use crate::sample::{PollOutcome, PollResult};
use std::sync::Arc;

const CFG: &str = r#"
[cutover]
name = "t"
[[source]]
id = "api"
kind = "http"
url = "http://127.0.0.1:1/m"
[[signal]]
id = "err"
source = "api"
kind = "metric"
path = ".err"
crit = "> 5"
critical = true
[[notify]]
kind = "webhook"
url = "http://127.0.0.1:1/hook"
"#;

use crate::sample::fake_clock::at;

fn state(read_only: bool) -> State {
    let mut cfg: Config = crate::config::load_str(CFG, "t.toml").unwrap();
    cfg.ui.read_only = read_only;
    State::new(Arc::new(cfg), at(0), None, "alice".into())
}

fn poll(st: &mut State, s: i64, err: f64) -> Vec<Effect> {
    let p = PollResult {
        source: "api".into(),
        at: at(s).at,
        mono: at(s).mono,
        latency_ms: 1,
        outcome: PollOutcome::Json {
            status: 200,
            body: serde_json::json!({ "err": err }),
        },
    };
    let msg = Msg::readings(st.engine(), &p);
    let mut fx = update(st, msg);
    fx.extend(update(st, Msg::Tick(at(s))));
    fx
}

fn notices(fx: &[Effect]) -> Vec<(String, NotifyPhase)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify(n) => Some((n.key.clone(), n.phase)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_breach_opens_once_over_many_samples_and_resolves_once() {
    let mut st = state(false);
    let mut all = Vec::new();
    for (s, v) in [(1, 1.0), (2, 9.0), (3, 9.0), (4, 8.0), (5, 1.0), (6, 1.0)] {
        all.extend(notices(&poll(&mut st, s, v)));
    }
    let key = "crit_breach/err".to_string();
    assert_eq!(
        all,
        vec![
            (key.clone(), NotifyPhase::Trigger),
            (key, NotifyPhase::Resolve)
        ]
    );
}

#[test]
fn a_read_only_screen_asks_for_nothing() {
    let mut st = state(true);
    let mut all = Vec::new();
    for (s, v) in [(1, 9.0), (2, 1.0), (3, 9.0)] {
        all.extend(notices(&poll(&mut st, s, v)));
    }
    assert!(all.is_empty(), "{all:?}");
}

#[test]
fn an_act_is_announced_once_its_record_is_on_disk_and_never_if_it_failed() {
    let mut st = state(false);
    update(&mut st, Msg::Action(Action::MarkT0));
    for c in crate::app::update::T0_PHRASE.chars() {
        update(&mut st, Msg::Action(Action::Type(c)));
    }
    let fx = update(&mut st, Msg::Action(Action::Submit));
    let id = fx
        .iter()
        .find_map(|e| match e {
            Effect::Audit { id, .. } => Some(*id),
            _ => None,
        })
        .expect("the T0 mark is recorded first");
    assert!(notices(&fx).is_empty(), "not before it is on disk");
    let fx = update(&mut st, Msg::AuditWritten { id });
    assert_eq!(notices(&fx), vec![("t0_mark".into(), NotifyPhase::Event)]);
    assert!(notices(&update(&mut st, Msg::AuditWritten { id })).is_empty());

    // A record that failed: the act did not happen, nothing is announced.
    update(&mut st, Msg::Action(Action::MarkT0));
    for c in crate::app::update::T0_PHRASE.chars() {
        update(&mut st, Msg::Action(Action::Type(c)));
    }
    let fx = update(&mut st, Msg::Action(Action::Submit));
    let Some(id) = fx.iter().find_map(|e| match e {
        Effect::Audit { id, .. } => Some(*id),
        _ => None,
    }) else {
        // A second mark may be refused outright: then nothing to announce either.
        return;
    };
    let failed = update(
        &mut st,
        Msg::AuditFailed {
            id: Some(id),
            reason: "disk full".into(),
        },
    );
    assert!(notices(&failed).is_empty());
    assert!(notices(&update(&mut st, Msg::AuditWritten { id })).is_empty());
}

#[test]
fn a_target_takes_its_events_from_its_severity_on() {
    let cfg: Config = crate::config::load_str(
        r#"
[cutover]
name = "t"
[[source]]
id = "api"
kind = "http"
url = "http://127.0.0.1:1/m"
[[notify]]
kind = "slack"
url = "http://127.0.0.1:1/s"
on = ["crit_breach", "t0_mark"]
min_severity = "warn"
[[notify]]
kind = "pagerduty"
routing_key = "k-0123456789"
"#,
        "t.toml",
    )
    .unwrap();
    let n = |event, severity| Notice {
        event: Some(event),
        phase: NotifyPhase::Trigger,
        key: "k".into(),
        severity,
        summary: String::new(),
        subject: None,
        value: None,
        threshold: None,
        advice: None,
        reasons: vec![],
        by: None,
        started_at: at(0).at,
        at: at(0).at,
    };
    let (slack, pd) = (&cfg.notify[0], &cfg.notify[1]);
    assert!(wants(slack, &n(NotifyOn::CritBreach, Severity::Warn)));
    assert!(!wants(slack, &n(NotifyOn::SourceDown, Severity::Crit)));
    assert!(!wants(slack, &n(NotifyOn::T0Mark, Severity::Info)));
    // PagerDuty: episodes only, crit only, by default.
    assert!(wants(pd, &n(NotifyOn::RollbackAdvised, Severity::Crit)));
    assert!(!wants(pd, &n(NotifyOn::CritBreach, Severity::Warn)));
    assert!(!wants(pd, &n(NotifyOn::ActionResult, Severity::Crit)));
}
