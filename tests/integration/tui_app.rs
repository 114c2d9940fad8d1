//! The whole app on ratatui's TestBackend: the simulator in-process, polls fed to
//! `update` with a fixed clock, key events through the key map, and assertions on the
//! rendered buffer.

use crate::common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;
use warroom::app::{update, Msg, State};
use warroom::sim::Scenario;

/// A key, with the audit log answering "on disk" for every record it leads to (a tick is
/// shown once recorded).
fn press(state: &mut State, code: KeyCode) {
    let key = KeyEvent::new(code, KeyModifiers::NONE);
    if let Some(a) = state.keys().action_for(key, state.text_entry()) {
        for fx in update(state, Msg::Action(a)) {
            if let warroom::app::Effect::Audit { id, .. } = fx {
                let _ = update(state, Msg::AuditWritten { id });
            }
        }
    }
}

async fn poll_into(state: &mut State, offset: i64) {
    let cfg = state.config().clone();
    for r in poll_all_at(&cfg, stamp(offset)).await {
        let poll = Msg::readings(state.engine(), &r);
        let _ = update(state, poll);
    }
    let _ = update(state, Msg::Tick(stamp(offset)));
}

#[tokio::test]
async fn healthy_then_breach_raises_banner_and_rollback_advice() {
    let sim = start_sim(Scenario::Healthy).await;
    let cfg = demo_config(&sim);
    let mut st = State::new(cfg, stamp(-30), Some(t0()), "alice".into());
    poll_into(&mut st, -30).await;
    let s = render_text(&st, 100, 30);
    assert!(s.contains("T-00:30"), "{s}");
    assert!(s.contains("ALL OK"), "{s}");
    assert!(!s.contains("BREACH"), "{s}");

    sim.set_scenario(Scenario::ErrorBurst);
    // m_of_n = [2, 3]: one bad sample is not a breach, two are.
    poll_into(&mut st, 1).await;
    let s = render_text(&st, 100, 30);
    assert!(!s.contains("BREACH"), "one sample must not alert:\n{s}");
    poll_into(&mut st, 2).await;
    let s = render_text(&st, 100, 30);
    assert!(s.contains("BREACH"), "{s}");
    assert!(s.contains("press R to roll back"), "{s}");
    assert!(s.contains("CRIT"), "{s}");
    assert!(!s.contains("ROLLBACK ADVISED"), "critical_for is 10s:\n{s}");
    for t in 3..=12 {
        poll_into(&mut st, t).await;
    }
    let s = render_text(&st, 100, 30);
    assert!(s.contains("ROLLBACK ADVISED"), "{s}");
    assert!(s.contains("T+00:12"), "{s}");
    // Back under the threshold: the banner says it is clearing (clear_for 6s), not a breach.
    sim.set_flag("brokers_v1_modules", false);
    sim.set_scenario(Scenario::Healthy);
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    poll_into(&mut st, 13).await;
    let s = render_text(&st, 120, 40);
    assert!(s.contains("clearing in"), "{s}");
    sim.shutdown().await;
}

#[tokio::test]
async fn source_down_shows_reason_and_age_never_ok() {
    let sim = start_sim(Scenario::Healthy).await;
    let cfg = demo_config(&sim);
    let mut st = State::new(cfg, stamp(0), Some(t0()), "alice".into());
    poll_into(&mut st, 0).await;
    sim.set_scenario(Scenario::Down);
    poll_into(&mut st, 20).await;
    let s = render_text(&st, 120, 40);
    assert!(s.contains("connection refused"), "{s}");
    assert!(s.contains("last good 20s ago"), "{s}");
    assert!(!s.contains("ALL OK"), "{s}");
    assert!(s.contains("SRC DOWN"), "{s}");
    sim.shutdown().await;
}

#[tokio::test]
async fn timeline_marks_current_step_and_counts_down() {
    let sim = start_sim(Scenario::Healthy).await;
    let cfg = demo_config(&sim);
    // T+00:45: the T0 step is current, the T+1m step comes in 15 s.
    let mut st = State::new(cfg, stamp(45), Some(t0()), "alice".into());
    poll_into(&mut st, 45).await;
    let s = render_text(&st, 100, 30);
    assert!(s.contains("T+00:45"), "{s}");
    assert!(s.contains("▶ T0"), "{s}");
    assert!(s.contains("in 00:15"), "{s}");
    sim.shutdown().await;
}

#[tokio::test]
async fn keys_tick_a_checklist_item_and_open_help() {
    let sim = start_sim(Scenario::Healthy).await;
    let cfg = demo_config(&sim);
    let mut st = State::new(cfg, stamp(-600), Some(t0()), "alice".into());
    poll_into(&mut st, -600).await;
    // Signals → Flags → Timeline, then tick the first item.
    press(&mut st, KeyCode::Tab);
    press(&mut st, KeyCode::Tab);
    press(&mut st, KeyCode::Char(' '));
    let s = render_text(&st, 100, 30);
    assert!(s.contains("[x]"), "{s}");
    assert!(s.contains("by alice"), "{s}");
    assert!(s.contains("alice ticked"), "{s}");
    // Untick.
    press(&mut st, KeyCode::Char(' '));
    assert!(st.ticks()[0][0].is_none());

    press(&mut st, KeyCode::Char('?'));
    let s = render_text(&st, 100, 30);
    for (k, what) in st.keys().help(st.config()) {
        assert!(s.contains(what.as_str()), "help lacks {k}: {what}\n{s}");
    }
    press(&mut st, KeyCode::Esc);
    let s = render_text(&st, 100, 30);
    assert!(!s.contains("show / hide this help"), "{s}");
    press(&mut st, KeyCode::Char('q'));
    assert!(st.wants_quit());
    sim.shutdown().await;
}

#[tokio::test]
async fn read_only_refuses_ticks() {
    let sim = start_sim(Scenario::Healthy).await;
    // `[ui] read_only = true`, as a watch-only screen's config says.
    let mut cfg = (*demo_config(&sim)).clone();
    cfg.ui.read_only = true;
    let mut st = State::new(Arc::new(cfg), stamp(0), Some(t0()), "alice".into());
    press(&mut st, KeyCode::Tab);
    press(&mut st, KeyCode::Tab);
    press(&mut st, KeyCode::Char(' '));
    assert!(st.ticks()[0][0].is_none());
    let s = render_text(&st, 100, 30);
    assert!(s.contains("read-only"), "{s}");
    assert!(s.contains("READ-ONLY"), "{s}");
    sim.shutdown().await;
}

#[tokio::test]
async fn fits_80x24_and_degrades_below() {
    let sim = start_sim(Scenario::ErrorBurst).await;
    let cfg = demo_config(&sim);
    let mut st = State::new(cfg, stamp(0), Some(t0()), "alice".into());
    poll_into(&mut st, 0).await;
    poll_into(&mut st, 1).await;
    let s = render_text(&st, 80, 24);
    for want in [
        "T+00:01", "Signals", "Timeline", "Flags", "Events", "BREACH",
    ] {
        assert!(s.contains(want), "80x24 lacks {want}:\n{s}");
    }
    let s = render_text(&st, 60, 12);
    assert!(s.contains("T+00:01"), "{s}");
    assert!(s.contains("CRIT"), "{s}");
    assert!(!s.contains("Timeline"), "compact view expected:\n{s}");
    for (w, h) in [(1, 1), (20, 5), (79, 23), (300, 100)] {
        let _ = render_text(&st, w, h);
    }
    sim.shutdown().await;
}
