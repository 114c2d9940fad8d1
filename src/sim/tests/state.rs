//! The state's transitions on a fake `now`: the rollback ramp, the weight lever, scripts.

use crate::sim::profiles::{brokers, hse};
use crate::sim::scenario::{Scenario, Script};
use crate::sim::state::*;
use chrono::Utc;
use std::time::{Duration, Instant};

fn at(origin: Instant, ms: u64) -> Instant {
    origin + Duration::from_millis(ms)
}

#[test]
fn the_rollback_flag_ramps_the_weight_and_other_flags_do_not() {
    let t0 = Instant::now();
    let mut st = SystemState::new(
        &brokers::SPEC,
        Clock::new(t0, Utc::now()),
        Scenario::ErrorBurst,
        None,
    );
    assert_eq!(st.weight(t0), 1.0);
    assert_eq!(
        st.set_flag(brokers::FLAG_LEGACY_FALLBACK, true, t0),
        Some(false)
    );
    assert_eq!(st.weight(at(t0, 5_000)), 1.0);
    assert_eq!(st.set_flag("nope", true, t0), None);
    assert_eq!(st.set_flag(brokers::FLAG_V1_MODULES, false, t0), Some(true));
    let half = st.weight(at(t0, ROLLBACK_RAMP.as_millis() as u64 / 2));
    assert!((half - 0.5).abs() < 1e-9, "{half}");
    assert_eq!(st.weight(at(t0, 10_000)), 0.0);
    assert_eq!(st.weight_target(), 0.0);
}

#[test]
fn the_weight_lever_is_set_directly() {
    let t0 = Instant::now();
    let mut st = SystemState::new(
        &hse::SPEC,
        Clock::new(t0, Utc::now()),
        Scenario::Healthy,
        None,
    );
    assert_eq!(st.weight(t0), 0.1);
    assert_eq!(st.set_weight_target(2.0, t0), 0.1);
    assert_eq!(st.weight_target(), 1.0, "clamped");
    assert_eq!(st.weight(at(t0, 10_000)), 1.0);
}

#[test]
fn a_script_step_loses_to_a_person() {
    let t0 = Instant::now();
    let script: Script = "healthy:1s,down".parse().unwrap();
    let mut st = SystemState::new(
        &brokers::SPEC,
        Clock::new(t0, Utc::now()),
        Scenario::Healthy,
        Some(script),
    );
    assert_eq!(
        st.set_scenario(Scenario::Flapping, ChangedBy::Control, at(t0, 10)),
        Some(Scenario::Healthy)
    );
    assert_eq!(
        st.set_scenario(Scenario::Down, ChangedBy::Script, at(t0, 20)),
        None
    );
    assert_eq!(st.scenario(), Scenario::Flapping);
    assert_eq!(st.script().map(|(_, active)| active), Some(false));
    assert_eq!(st.scenario_elapsed(at(t0, 110)), Duration::from_millis(100));
}
