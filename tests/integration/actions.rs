//! The rollback loop end to end: key events into a session against the simulator on
//! loopback, asserting on what the simulator received, the screen, and the audit log.

use crate::common::*;
use std::sync::Arc;
use std::time::Duration;
use warroom::app::{Msg, RunState, Verdict};
use warroom::sim::Scenario;
/// Wait until the first polls are in (the rollback modal snapshots the breaches).
async fn warm(s: &mut warroom::session::Session, rx: &mut warroom::session::Inbox) {
    drive_until(s, rx, Duration::from_secs(5), |st| {
        st.engine().sources.iter().all(|src| src.polls > 0)
    })
    .await;
}

#[tokio::test]
async fn one_authorised_post_after_the_full_sequence_then_verified() {
    let sim = start_sim(Scenario::ErrorBurst).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (mut s, mut rx) = session(demo_config(&sim), &audit_path(&dir), false).await;
    warm(&mut s, &mut rx).await;

    keys(&mut s, "R");
    let screen = render_text(&s.state, 100, 30);
    assert!(screen.contains("POST http://"), "{screen}");
    assert!(screen.contains("Authorization: Bearer ***"), "{screen}");
    assert!(screen.contains("Type  rollback  then Enter"), "{screen}");
    assert!(!screen.contains(TOKEN), "token on screen:\n{screen}");
    assert_eq!(rollback_posts(&sim), 0, "nothing sent before Enter");

    keys(&mut s, "rollback\n");
    let done = drive_until(&mut s, &mut rx, Duration::from_secs(20), |st| {
        st.action_runs()[0]
            .verify
            .as_ref()
            .is_some_and(|v| v.verdict.is_some())
    })
    .await;
    assert!(done, "no verdict: {:?}", s.state.action_runs()[0]);
    assert!(matches!(
        s.state.action_runs()[0]
            .verify
            .as_ref()
            .and_then(|v| v.verdict.clone()),
        Some(Verdict::Verified { .. })
    ));
    let posts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].authorization_valid, Some(true));
    assert!(posts[0].idempotency_key.is_some());
    assert_eq!(sim.flag("brokers_v1_modules"), Some(false));
    let screen = render_text(&s.state, 100, 30);
    assert!(screen.contains("VERIFIED"), "{screen}");
    // Rows still waiting out clear_for no longer ask for a rollback.
    assert!(!screen.contains("press R to roll back"), "{screen}");

    // The audit log holds each step, and no secret.
    s.shutdown();
    let log = std::fs::read_to_string(audit_path(&dir)).expect("audit log");
    for kind in ["action_confirmed", "action_result", "verify_result"] {
        assert!(
            log.contains(&format!("\"kind\":\"{kind}\"")),
            "{kind} missing:\n{log}"
        );
    }
    assert!(!log.contains(TOKEN), "token in the audit log");
    assert!(log.contains("\"user\":\"") && log.contains("\"host\":\""));
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_phrase_esc_and_idle_send_nothing() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (mut s, mut rx) = session(demo_config(&sim), &audit_path(&dir), false).await;
    warm(&mut s, &mut rx).await;
    keys(&mut s, "Rrollbak\n");
    assert!(render_text(&s.state, 100, 30).contains("is not the phrase"));
    keys(&mut s, "\x1b");
    keys(&mut s, "Rn\n\x1b");
    keys(&mut s, "R\n");
    assert!(s.state.modal().is_none(), "Enter on empty cancels");
    keys(&mut s, "Rrollback");
    // 30 s without typing: the fake clock jumps, the modal closes itself.
    let later = chrono::Duration::seconds(31);
    let now = warroom::sample::Stamp::now();
    s.handle(Msg::Tick(warroom::sample::Stamp::new(
        now.at + later,
        now.mono + later,
    )));
    assert!(s.state.modal().is_none());
    keys(&mut s, "\n");
    drive_until(&mut s, &mut rx, Duration::from_millis(800), |_| false).await;
    assert_eq!(rollback_posts(&sim), 0);
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn held_key_double_enter_and_paste_send_one() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (mut s, mut rx) = session(demo_config(&sim), &audit_path(&dir), false).await;
    warm(&mut s, &mut rx).await;
    keys(&mut s, "RRRR");
    s.handle(Msg::Paste("rollback\n".into()));
    keys(&mut s, "\n\n\nRRR\n\n");
    drive_until(&mut s, &mut rx, Duration::from_secs(5), |st| {
        matches!(st.action_runs()[0].state, RunState::Done)
    })
    .await;
    keys(&mut s, "\n\n");
    drive_until(&mut s, &mut rx, Duration::from_millis(500), |_| false).await;
    assert_eq!(rollback_posts(&sim), 1);
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn unauthorized_is_a_clear_error_and_a_retry_reuses_the_key() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let cfg =
        Arc::new(warroom::demo::demo_config(&sim.base_url(), "wrong-token-1234").expect("config"));
    let (mut s, mut rx) = session(cfg, &audit_path(&dir), false).await;
    warm(&mut s, &mut rx).await;
    keys(&mut s, "Rrollback\n");
    drive_until(&mut s, &mut rx, Duration::from_secs(5), |st| {
        matches!(st.action_runs()[0].state, RunState::Done)
    })
    .await;
    let screen = render_text(&s.state, 120, 40);
    assert!(screen.contains("FAILED"), "{screen}");
    assert!(screen.contains("unauthorized"), "{screen}");
    assert!(!screen.contains("wrong-token-1234"));
    // No automatic retry.
    drive_until(&mut s, &mut rx, Duration::from_secs(1), |_| false).await;
    assert_eq!(rollback_posts(&sim), 1);
    keys(&mut s, "Rrollback\n");
    drive_until(&mut s, &mut rx, Duration::from_secs(5), |st| {
        st.action_runs()[0].attempts == 2 && matches!(st.action_runs()[0].state, RunState::Done)
    })
    .await;
    let posts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].idempotency_key, posts[1].idempotency_key);
    // Shutdown lets the writer finish; then the log is complete.
    s.shutdown();
    let log = std::fs::read_to_string(audit_path(&dir)).expect("audit");
    assert_eq!(
        log.matches("\"kind\":\"action_result\"").count(),
        2,
        "one record per attempt"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn refused_and_time_out_are_reported_never_retried() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = (*demo_config(&sim)).clone();
    if let Some(r) = cfg.actions[0].request.as_mut() {
        // Shorter than the simulator's 4 s `slow` delay.
        r.timeout = warroom::config::Dur(Duration::from_secs(1));
    }
    let (mut s, mut rx) = session(Arc::new(cfg), &audit_path(&dir), false).await;
    warm(&mut s, &mut rx).await;
    sim.set_scenario(Scenario::Down);
    keys(&mut s, "Rrollback\n");
    drive_until(&mut s, &mut rx, Duration::from_secs(5), |st| {
        matches!(st.action_runs()[0].state, RunState::Done)
    })
    .await;
    let last = s.state.action_runs()[0].last.clone().expect("a result");
    assert!(!last.ok && !last.unknown, "{last:?}");
    assert!(
        last.summary.contains("nothing was sent"),
        "{}",
        last.summary
    );

    // Slow: the request may have arrived — outcome unknown.
    sim.set_scenario(Scenario::Slow);
    keys(&mut s, "Rrollback\n");
    drive_until(&mut s, &mut rx, Duration::from_secs(10), |st| {
        st.action_runs()[0].attempts == 2 && matches!(st.action_runs()[0].state, RunState::Done)
    })
    .await;
    let last = s.state.action_runs()[0].last.clone().expect("a result");
    assert!(last.unknown, "{last:?}");
    let screen = render_text(&s.state, 120, 40);
    assert!(screen.contains("OUTCOME UNKNOWN"), "{screen}");
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn server_error_500_is_reported() {
    use tokio::io::AsyncWriteExt;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            let mut buf = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut c, &mut buf).await;
            let _ = c
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\nconnection: close\r\n\r\noops")
                .await;
        }
    });
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = (*demo_config(&sim)).clone();
    if let Some(r) = cfg.actions[0].request.as_mut() {
        r.url = format!("http://{addr}/rollback");
    }
    let (mut s, mut rx) = session(Arc::new(cfg), &audit_path(&dir), false).await;
    keys(&mut s, "Rrollback\n");
    drive_until(&mut s, &mut rx, Duration::from_secs(5), |st| {
        matches!(st.action_runs()[0].state, RunState::Done)
    })
    .await;
    let screen = render_text(&s.state, 120, 40);
    assert!(screen.contains("HTTP 500"), "{screen}");
    assert!(screen.contains("FAILED"), "{screen}");
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn verification_fails_visibly_when_the_system_does_not_flip() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = (*demo_config(&sim)).clone();
    // A request that succeeds but changes another flag: the verify never holds.
    if let Some(r) = cfg.actions[0].request.as_mut() {
        r.url = format!("{}/api/v1/admin/flags/legacy_fallback", sim.base_url());
    }
    if let Some(v) = cfg.actions[0].verify.as_mut() {
        v.within = warroom::config::Dur(Duration::from_secs(2));
    }
    let (mut s, mut rx) = session(Arc::new(cfg), &audit_path(&dir), false).await;
    keys(&mut s, "Rrollback\n");
    let done = drive_until(&mut s, &mut rx, Duration::from_secs(8), |st| {
        st.action_runs()[0]
            .verify
            .as_ref()
            .is_some_and(|v| v.verdict.is_some())
    })
    .await;
    assert!(done);
    let screen = render_text(&s.state, 120, 40);
    assert!(screen.contains("NOT VERIFIED"), "{screen}");
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn read_only_refuses_every_action() {
    let sim = start_sim(Scenario::ErrorBurst).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (mut s, mut rx) = session(demo_config(&sim), &audit_path(&dir), true).await;
    warm(&mut s, &mut rx).await;
    keys(&mut s, "Rrollback\nDrollback\naEtg");
    assert!(s.state.modal().is_none());
    let screen = render_text(&s.state, 100, 30);
    assert!(screen.contains("read-only"), "{screen}");
    drive_until(&mut s, &mut rx, Duration::from_millis(500), |_| false).await;
    assert_eq!(rollback_posts(&sim), 0);
    assert!(
        !audit_path(&dir).exists(),
        "a read-only screen writes nothing"
    );
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn command_actions_run_argv_without_a_shell() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let marker = dir.path().join("x; touch pwned");
    let mut cfg = (*demo_config(&sim)).clone();
    cfg.actions[0].request = None;
    cfg.actions[0].verify = None;
    cfg.actions[0].command = Some(warroom::config::CommandCfg {
        argv: vec!["touch".into(), marker.display().to_string()],
        timeout: warroom::config::Dur(Duration::from_secs(5)),
        env: Default::default(),
        cwd: Some(dir.path().display().to_string()),
        capture: Vec::new(),
    });
    let (mut s, mut rx) = session(Arc::new(cfg), &audit_path(&dir), false).await;
    keys(&mut s, "Rrollback\n");
    drive_until(&mut s, &mut rx, Duration::from_secs(5), |st| {
        matches!(st.action_runs()[0].state, RunState::Done)
    })
    .await;
    assert!(s.state.action_runs()[0].last.as_ref().is_some_and(|r| r.ok));
    assert!(
        marker.exists(),
        "the argument arrived as one literal file name"
    );
    assert!(
        !dir.path().join("pwned").exists(),
        "no shell interpreted it"
    );
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn two_instances_sharing_an_audit_log_see_each_others_rollback() {
    let sim = start_sim(Scenario::ErrorBurst).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (mut a, mut arx) = session(demo_config(&sim), &audit_path(&dir), false).await;
    let (mut b, mut brx) = session(demo_config(&sim), &audit_path(&dir), true).await;
    warm(&mut a, &mut arx).await;
    keys(&mut a, "Rrollback\n");
    drive_until(&mut a, &mut arx, Duration::from_secs(5), |st| {
        matches!(st.action_runs()[0].state, RunState::Done)
    })
    .await;
    let started = std::time::Instant::now();
    let seen = drive_until(&mut b, &mut brx, Duration::from_secs(3), |st| {
        st.events()
            .iter()
            .any(|e| e.text.contains("fired \"Disable Brokers v1 modules"))
    })
    .await;
    assert!(
        seen,
        "B never saw A's rollback: {:?}\naudit: {}",
        b.state
            .events()
            .iter()
            .map(|e| e.text.clone())
            .collect::<Vec<_>>(),
        std::fs::read_to_string(audit_path(&dir)).unwrap_or_default()
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let screen = render_text(&b.state, 120, 40);
    assert!(screen.contains("@") && screen.contains("fired"), "{screen}");
    a.shutdown();
    b.shutdown();
    sim.shutdown().await;
}
