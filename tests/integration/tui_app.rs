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

/// The signals panel's lines of a rendered screen.
fn signal_lines(s: &str) -> Vec<&str> {
    s.lines()
        .skip_while(|l| !l.contains("Signals"))
        .skip(1)
        .take_while(|l| !l.contains("Timeline"))
        .collect()
}

/// A preset on its simulated system in a breach, polled a few times.
async fn preset_in_breach(
    name: &str,
    profile: warroom::sim::Profile,
) -> (warroom::sim::SimHandle, State) {
    let sim = start_profile(profile, Scenario::ErrorBurst).await;
    let mut cfg = if name == "demo" {
        (*demo_config(&sim)).clone()
    } else {
        load_preset(name, &sim)
    };
    // Kept to the end of the function: dropping it removes the stand-ins' folder.
    let vendor = standins(&sim);
    with_standins(&mut cfg, &vendor);
    let mut st = State::new(Arc::new(cfg), stamp(0), Some(t0()), "alice".into());
    for t in 0..4 {
        poll_into(&mut st, t).await;
    }
    (sim, st)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_preset_at_80x24_keeps_band_value_and_baseline_of_each_visible_row() {
    use warroom::sim::Profile;
    for (name, profile) in [
        ("demo", Profile::Brokers),
        ("brokers", Profile::Brokers),
        ("cohortlens", Profile::Cohortlens),
        ("edn360", Profile::Edn360),
        ("hse", Profile::Hse),
    ] {
        // A session, so command sources (the stand-ins) are polled as the dashboard polls.
        let sim = start_profile(profile, Scenario::ErrorBurst).await;
        let mut cfg = if name == "demo" {
            (*demo_config(&sim)).clone()
        } else {
            load_preset(name, &sim)
        };
        // Kept as long as the session: dropping it removes the stand-ins' folder.
        let vendor = standins(&sim);
        with_standins(&mut cfg, &vendor);
        for src in &mut cfg.sources {
            src.interval = warroom::config::Dur(std::time::Duration::from_millis(300));
        }
        let dir = tempfile::tempdir().expect("tmp");
        let (mut session, mut rx) = session(Arc::new(cfg), &audit_path(&dir), false).await;
        let polled = drive_until(
            &mut session,
            &mut rx,
            std::time::Duration::from_secs(20),
            |st| st.engine().sources.iter().all(|s| s.polls >= 4),
        )
        .await;
        assert!(polled, "{name}: every source polled");
        let st = &session.state;
        let rows: Vec<_> = st
            .engine()
            .rows
            .iter()
            .filter(|r| r.kind != warroom::config::SignalKind::Flag)
            .collect();
        for (w, h) in [(80, 24), (110, 32)] {
            let s = render_text(st, w, h);
            let lines = signal_lines(&s);
            // The rows in their order from the top (the first is selected), a compare row's
            // baseline on its own line or on the line under it.
            let mut shown = 0;
            let mut i = 0;
            for r in &rows {
                let Some(line) = lines.get(i).copied() else {
                    break;
                };
                let next = lines.get(i + 1).copied().unwrap_or("");
                let second = next.trim_start().starts_with("vs ");
                i += 1 + usize::from(second);
                shown += 1;
                let word = r.status.word().to_uppercase();
                assert!(
                    line.contains(word.as_str()),
                    "{name} {w}x{h}: {} band {word}:\n{s}",
                    r.key
                );
                if let (warroom::engine::Status::Band(_), Some(v)) = (r.status, &r.value) {
                    let val = v.with_unit(r.unit.as_deref());
                    assert!(
                        line.contains(&val),
                        "{name} {w}x{h}: {} value {val}:\n{s}",
                        r.key
                    );
                }
                if let Some(b) = r.baseline.as_ref().filter(|b| b.delta.is_some()) {
                    let base = st.engine().rows.iter().find(|x| x.key == b.row).unwrap();
                    let both = if second {
                        format!("{line} {next}")
                    } else {
                        line.to_string()
                    };
                    let bval = base.value.as_ref().unwrap().with_unit(r.unit.as_deref());
                    assert!(
                        both.contains(&bval),
                        "{name} {w}x{h}: {} baseline {bval}:\n{s}",
                        r.key
                    );
                    assert!(both.contains('Δ'), "{name} {w}x{h}: {} delta:\n{s}", r.key);
                    if r.unit.as_deref() == Some("%") {
                        assert!(both.contains(" pp"), "{name} {w}x{h}: points:\n{s}");
                    }
                    if w == 110 {
                        assert!(
                            both.contains(&base.label),
                            "{name}: baseline by label:\n{s}"
                        );
                    }
                }
            }
            eprintln!(
                "{name} {w}x{h}: {} signal rows, {shown} on screen",
                rows.len()
            );
            let visible = (h as usize) / 2 - 3;
            assert!(
                shown >= rows.len().min(visible),
                "{name} {w}x{h}: {shown} of {} rows readable:\n{s}",
                rows.len()
            );
            // What decides a rollback is on screen: the breach, when there is one.
            let breach = st
                .engine()
                .rows
                .iter()
                .any(|r| r.critical && r.effective == warroom::engine::Band::Crit);
            assert!(
                !breach || s.contains("BREACH") || s.contains("ROLLBACK"),
                "{name} {w}x{h}:\n{s}"
            );
        }
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_opens_a_row_detail_that_follows_new_samples() {
    use warroom::sim::Profile;
    let (sim, mut st) = preset_in_breach("cohortlens", Profile::Cohortlens).await;
    // Down to the v2 error rate, then Enter.
    for _ in 0..20 {
        if st.selected_signal_row().map(|r| r.key.as_str()) == Some("v2_err") {
            break;
        }
        press(&mut st, KeyCode::Char('j'));
    }
    press(&mut st, KeyCode::Enter);
    assert_eq!(st.detail(), Some("v2_err"));
    let value = |st: &State| {
        let r = row(st, "v2_err");
        r.value.as_ref().unwrap().with_unit(r.unit.as_deref())
    };
    let before = value(&st);
    let s = render_text(&st, 80, 24);
    for want in [
        "v2 error rate",
        &format!("Value       {before}"),
        "Threshold",
        "(applies: CRIT)",
        "In band",
        "Baseline    v1 error rate",
        " pp",
        "Streak",
        "Advice",
        "Source ",
        "Last error",
        "Trend",
        "Scale",
        "samples over",
    ] {
        assert!(s.contains(want), "{want:?}:\n{s}");
    }
    // New samples: the open detail shows them.
    sim.set_scenario(Scenario::Healthy);
    for t in 4..8 {
        poll_into(&mut st, t).await;
    }
    let after = value(&st);
    assert_ne!(before, after, "the simulator moved the error rate");
    let s = render_text(&st, 80, 24);
    assert!(s.contains(&format!("Value       {after}")), "{s}");
    assert_eq!(st.detail(), Some("v2_err"), "still open");
    press(&mut st, KeyCode::Char('q'));
    assert_eq!(st.detail(), None);
    assert!(!st.wants_quit());
    sim.shutdown().await;
}
