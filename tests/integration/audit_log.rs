//! The audit log under real conditions, with sessions (the dashboard without the terminal)
//! against the simulator on loopback: an unwritable log, a second confirm while the first
//! attempt verifies, a log rotated under running screens, and staging and production screens
//! sharing one file.

use crate::common::*;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use warroom::app::{Action, Focus, Modal, Msg, RunState, State};
use warroom::session::{Session, SessionOptions};
use warroom::sim::Scenario;

async fn warm(s: &mut Session, rx: &mut warroom::session::Inbox) {
    drive_until(s, rx, Duration::from_secs(5), |st| {
        st.engine().sources.iter().all(|src| src.polls > 0)
    })
    .await;
}

/// Tab to the timeline, as the operator does.
fn focus_timeline(s: &mut Session) {
    for _ in 0..4 {
        if s.state.focus() == Focus::Timeline {
            return;
        }
        s.handle(Msg::Action(Action::FocusNext));
    }
    assert_eq!(s.state.focus(), Focus::Timeline, "Tab reaches the timeline");
}

fn modal_error(st: &State) -> Option<String> {
    match st.modal() {
        Some(Modal::Confirm(c)) => c.error.clone(),
        _ => None,
    }
}

fn events(st: &State) -> Vec<String> {
    st.events().iter().map(|e| e.text.clone()).collect()
}

#[tokio::test]
async fn dev_full_as_the_audit_log_sends_nothing_and_says_so_loudly() {
    let sim = start_sim(Scenario::ErrorBurst).await;
    let (mut s, mut rx) = session(demo_config(&sim), Path::new("/dev/full"), false).await;
    warm(&mut s, &mut rx).await;
    // Known before anyone acts.
    assert!(render_text(&s.state, 80, 24).contains("AUDIT LOG FAILING"));

    keys(&mut s, "Rrollback\n");
    let refused = drive_until(&mut s, &mut rx, Duration::from_secs(10), |st| {
        modal_error(st).is_some()
    })
    .await;
    assert!(refused, "no refusal: {:?}", events(&s.state));
    let err = modal_error(&s.state).unwrap_or_default();
    assert!(
        err.starts_with("not sent: the audit log cannot be written (")
            && err.contains("not a regular file"),
        "{err}"
    );
    let screen = render_text(&s.state, 120, 40);
    assert!(
        screen.contains("not sent: the audit log cannot be written"),
        "{screen}"
    );
    assert!(screen.contains("AUDIT LOG FAILING"), "{screen}");
    assert_eq!(s.state.action_runs()[0].state, RunState::Idle);

    // A tick is not shown as done either.
    keys(&mut s, "\x1b");
    focus_timeline(&mut s);
    keys(&mut s, " ");
    drive_until(&mut s, &mut rx, Duration::from_secs(5), |st| {
        st.events().iter().any(|e| e.text.contains("NOT TICKED"))
    })
    .await;
    assert!(s.state.ticks()[0][0].is_none());
    assert!(events(&s.state).iter().any(|e| e.contains("NOT TICKED")));

    // Nothing reached the simulator, however long we wait.
    drive_until(&mut s, &mut rx, Duration::from_secs(1), |_| false).await;
    assert_eq!(rollback_posts(&sim), 0);
    // The badge lasts while the log fails.
    assert!(render_text(&s.state, 80, 24).contains("AUDIT LOG FAILING"));
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn a_second_confirm_while_the_first_attempt_verifies_needs_again() {
    let sim = start_sim(Scenario::ErrorBurst).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (mut s, mut rx) = session(demo_config(&sim), &audit_path(&dir), false).await;
    warm(&mut s, &mut rx).await;
    keys(&mut s, "Rrollback\n");
    drive_until(&mut s, &mut rx, Duration::from_secs(10), |st| {
        st.action_runs()[0].state == RunState::Done
    })
    .await;
    assert!(s.state.action_runs()[0].last.as_ref().is_some_and(|r| r.ok));
    let screen = render_text(&s.state, 120, 40);
    assert!(!screen.contains("press R to roll back"), "{screen}");

    // The habit — R, rollback, Enter — sends nothing now.
    keys(&mut s, "R");
    let screen = render_text(&s.state, 120, 40);
    assert!(screen.contains("Previous attempt:"), "{screen}");
    assert!(screen.contains("rollback again"), "{screen}");
    keys(&mut s, "rollback\n");
    assert!(modal_error(&s.state).is_some_and(|e| e.contains("not the phrase")));
    // On the smallest supported screen the previous attempt, the phrase and the error stay.
    let small = render_text(&s.state, 80, 24);
    for want in ["Previous attempt:", "rollback again", "is not the phrase"] {
        assert!(small.contains(want), "{want} missing at 80x24:\n{small}");
    }
    drive_until(&mut s, &mut rx, Duration::from_secs(1), |_| false).await;
    assert_eq!(rollback_posts(&sim), 1);

    // Deliberately: a second request, with a new key.
    keys(&mut s, "\x1bRrollback again\n");
    drive_until(&mut s, &mut rx, Duration::from_secs(10), |st| {
        st.action_runs()[0].attempts == 2 && st.action_runs()[0].state == RunState::Done
    })
    .await;
    let posts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert_ne!(posts[0].idempotency_key, posts[1].idempotency_key);
    s.shutdown();
    let log = std::fs::read_to_string(audit_path(&dir)).expect("audit log");
    assert!(log.contains("\"again\":true"), "{log}");
    // Results a script can query.
    assert!(log.contains("\"http_status\":200") && log.contains("\"outcome\":\"ok\""));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_log_renamed_under_running_screens_is_recreated_and_both_keep_seeing_each_other() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let path = audit_path(&dir);
    let (mut a, mut arx) = session(demo_config(&sim), &path, false).await;
    let (mut b, mut brx) = session(demo_config(&sim), &path, false).await;
    focus_timeline(&mut a);
    focus_timeline(&mut b);
    keys(&mut a, " ");
    assert!(
        drive_until(&mut a, &mut arx, Duration::from_secs(5), |st| st.ticks()[0]
            [0]
        .is_some())
        .await
    );
    assert!(
        drive_until(&mut b, &mut brx, Duration::from_secs(5), |st| st.ticks()[0]
            [0]
        .is_some())
        .await,
        "B sees A's tick before the rotation"
    );

    std::fs::rename(&path, dir.path().join("audit.jsonl.1")).expect("rename");
    keys(&mut a, " ");
    let recorded = drive_until(&mut a, &mut arx, Duration::from_secs(5), |st| {
        st.ticks()[0][0].is_none()
            && st
                .events()
                .iter()
                .any(|e| e.text.contains("renamed, replaced or deleted"))
    })
    .await;
    assert!(recorded, "{:?}", events(&a.state));
    let fresh = std::fs::read_to_string(&path).expect("a new log at the path");
    assert!(fresh.contains("\"kind\":\"untick\""), "{fresh}");
    let seen = drive_until(&mut b, &mut brx, Duration::from_secs(5), |st| {
        st.ticks()[0][0].is_none()
    })
    .await;
    assert!(seen, "B never saw the untick: {:?}", events(&b.state));

    // And the other way round, into the same new file.
    // j: the next checklist item.
    b.handle(Msg::Action(Action::Move(1)));
    assert_eq!(b.state.selected_item(), (0, 1));
    keys(&mut b, " ");
    let seen = drive_until(&mut a, &mut arx, Duration::from_secs(5), |st| {
        st.ticks()[0][1].is_some()
    })
    .await;
    assert!(seen, "A never saw B's tick: {:?}", events(&a.state));
    a.shutdown();
    b.shutdown();
    sim.shutdown().await;
}

async fn session_in(
    sim: &warroom::sim::SimHandle,
    environment: &str,
    audit: &Path,
) -> (Session, warroom::session::Inbox) {
    let mut c = (*demo_config(sim)).clone();
    c.cutover.environment = Some(environment.into());
    let (redactor, _) = warroom::secure::secure(&mut c).expect("secrets");
    let redact = redactor.into_fn();
    Session::start(SessionOptions {
        cfg: Arc::new(c),
        t0: None,
        read_only: false,
        user: "alice".into(),
        audit_log: Some(audit.to_path_buf()),
        redact,
        now: warroom::sample::Stamp::now(),
        record: None,
    })
    .await
    .expect("session starts")
}

#[tokio::test]
async fn staging_records_in_a_shared_log_never_change_a_production_screen() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let shared = audit_path(&dir);
    let (mut staging, mut srx) = session_in(&sim, "staging", &shared).await;
    let (mut prod, mut prx) = session_in(&sim, "production", &shared).await;

    keys(&mut staging, "tt0\n");
    assert!(
        drive_until(&mut staging, &mut srx, Duration::from_secs(5), |st| st
            .t0()
            .is_some())
        .await
    );
    focus_timeline(&mut staging);
    keys(&mut staging, " ");
    assert!(
        drive_until(&mut staging, &mut srx, Duration::from_secs(5), |st| {
            st.t0().is_some() && st.ticks()[0][0].is_some()
        })
        .await
    );
    let warned = drive_until(&mut prod, &mut prx, Duration::from_secs(5), |st| {
        st.events()
            .iter()
            .any(|e| e.text.contains("environment \"staging\""))
    })
    .await;
    assert!(warned, "{:?}", events(&prod.state));
    drive_until(&mut prod, &mut prx, Duration::from_secs(1), |_| false).await;
    assert_eq!(prod.state.t0(), None, "staging's T0 mark was adopted");
    assert!(prod.state.ticks()[0][0].is_none());

    // A production screen started later replays the file from its start: still not adopted.
    let (mut later, mut lrx) = session_in(&sim, "production", &shared).await;
    let warned = drive_until(&mut later, &mut lrx, Duration::from_secs(5), |st| {
        st.events()
            .iter()
            .any(|e| e.text.contains("environment \"staging\""))
    })
    .await;
    assert!(warned);
    assert_eq!(later.state.t0(), None);
    let log = std::fs::read_to_string(&shared).expect("log");
    assert!(log.contains("\"environment\":\"staging\""), "{log}");
    staging.shutdown();
    prod.shutdown();
    later.shutdown();
    sim.shutdown().await;
}

#[test]
fn the_default_log_of_staging_and_production_differ() {
    let env = |k: &str| (k == "HOME").then(|| "/home/ana".to_string());
    let p = warroom::audit::default_path_with("Brokers v1 cutover", "production", &env);
    let s = warroom::audit::default_path_with("Brokers v1 cutover", "staging", &env);
    assert_ne!(p, s);
    assert!(
        p.ends_with("brokers-v1-cutover/production/audit.jsonl"),
        "{p:?}"
    );
}
