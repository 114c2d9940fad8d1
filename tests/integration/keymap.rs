//! One key map: for every preset, the key the banner names is the key that opens the
//! rollback — with the preset's own `rollback_key` and with another one — and the
//! help overlay and footer name the keys that work.

use crate::common::render_text;
use chrono::{TimeZone, Utc};
use std::sync::Arc;
use warroom::app::keys::Chord;
use warroom::app::{update, Action, ConfirmKind, Modal, Msg, State};
use warroom::config::Config;
use warroom::engine::{Advised, Engine};

const PRESETS: &[&str] = &["cohortlens", "brokers", "edn360", "hse"];

fn preset(name: &str, rollback_key: Option<&str>) -> Config {
    let mut text = warroom::presets::get(name)
        .unwrap_or_else(|| panic!("no preset {name}"))
        .to_string();
    if let Some(k) = rollback_key {
        let line = "rollback_key = \"R\"";
        assert!(
            text.contains(line),
            "{name}: the preset names its rollback key"
        );
        text = text.replacen(line, &format!("rollback_key = \"{k}\""), 1);
    }
    let env = |k: &str| match k {
        "WARROOM_URL" => Some("http://127.0.0.1:9".to_string()),
        "ADMIN_TOKEN" => Some("keymap-test-token".to_string()),
        "DD_API_KEY" | "DD_APP_KEY" => Some("keymap-dd-key".to_string()),
        _ => None,
    };
    warroom::config::load::load_str_with_env(&text, &format!("<{name}>"), &env)
        .unwrap_or_else(|e| panic!("{name} with rollback_key {rollback_key:?}: {e}"))
}

/// A screen at 21:10, with no reading yet.
fn quiet_state(cfg: Config) -> State {
    let now = Utc.with_ymd_and_hms(2026, 3, 14, 21, 10, 0).unwrap();
    let stamp = warroom::sample::Stamp::new(now, warroom::sample::Mono(1_000_000));
    State::new(Arc::new(cfg), stamp, Some(now), "alice".into())
}

fn state(cfg: Config) -> State {
    let now = Utc.with_ymd_and_hms(2026, 3, 14, 21, 10, 0).unwrap();
    let mono = warroom::sample::Mono(1_000_000);
    let stamp = warroom::sample::Stamp::new(now, mono);
    let mut engine = Engine::new(Arc::new(cfg), mono);
    // The banner as a breach raises it: it names the key that opens the rollback.
    engine.advised = Some(Advised {
        since: mono,
        reasons: vec!["error rate crit for 1m".into()],
    });
    State::with_engine(engine, stamp, Some(now), "alice".into())
}

/// The key named by "press X to roll back" on the banner.
fn banner_key(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| l.contains("ROLLBACK ADVISED"))
        .unwrap_or_else(|| panic!("no banner:\n{s}"));
    let (_, rest) = line
        .split_once("press ")
        .unwrap_or_else(|| panic!("the banner names no key: {line}"));
    let (key, _) = rest
        .split_once(" to roll back")
        .unwrap_or_else(|| panic!("the banner names no key: {line}"));
    key.to_string()
}

/// Press the key the banner names, as the terminal delivers it, through the map.
fn press_banner_key(st: &mut State) -> (String, Option<Action>) {
    let key = banner_key(&render_text(st, 120, 40));
    let chord = Chord::parse(&key).unwrap_or_else(|e| panic!("banner key {key:?}: {e}"));
    let action = st.keys().action_for(chord.event(), st.text_entry());
    if let Some(a) = action {
        let _ = update(st, Msg::Action(a));
    }
    (key, action)
}

fn rollback_opened(st: &State) -> bool {
    let danger = st
        .rollback_action()
        .expect("the preset has a danger action");
    matches!(st.modal(), Some(Modal::Confirm(c)) if c.kind == ConfirmKind::Action(danger))
}

#[test]
fn every_preset_opens_the_rollback_on_the_key_its_banner_names() {
    for name in PRESETS {
        let mut st = state(preset(name, None));
        let (key, action) = press_banner_key(&mut st);
        assert_eq!(key, "R", "{name}");
        assert!(
            rollback_opened(&st),
            "{name}: {key} ({action:?}) did not open the rollback; modal {:?}",
            st.modal().map(|_| "other")
        );
    }
}

#[test]
fn every_preset_follows_its_rollback_key_when_it_is_changed() {
    for (name, key) in PRESETS
        .iter()
        .flat_map(|p| [(p, "X"), (p, "F9"), (p, "Ctrl-R")])
    {
        let mut st = state(preset(name, Some(key)));
        let (named, action) = press_banner_key(&mut st);
        assert_eq!(named, key, "{name}: the banner names the configured key");
        assert!(
            rollback_opened(&st),
            "{name}: {key} ({action:?}) did not open the rollback"
        );
        // R no longer opens the rollback: it is free (or an action's own key).
        let mut st = state(preset(name, Some(key)));
        let r = Chord::parse("R").unwrap().event();
        assert_ne!(
            st.keys().action_for(r, false),
            Some(Action::Rollback),
            "{name}"
        );
        if let Some(a) = st.keys().action_for(r, false) {
            let _ = update(&mut st, Msg::Action(a));
        }
        assert!(!rollback_opened(&st), "{name}: R still opens the rollback");
        // The help overlay names the configured key beside the rollback.
        let _ = update(&mut st, Msg::Action(Action::Escape));
        let _ = update(&mut st, Msg::Action(Action::ToggleHelp));
        assert!(st.modal().is_none() && st.help_shown());
        let help = render_text(&st, 120, 40);
        let row = help
            .lines()
            .find(|l| l.contains("roll back: open"))
            .unwrap_or_else(|| panic!("{name}: no rollback row in help:\n{help}"));
        assert!(row.contains(key), "{name}: {row}");
    }
}

#[test]
fn an_action_on_r_is_reachable_once_the_rollback_moves() {
    // brokers' rollback moved to X, and an action of its own put on R.
    let mut cfg = preset("brokers", Some("X"));
    let other = cfg
        .actions
        .iter()
        .position(|a| !a.danger)
        .expect("a non-danger action");
    cfg.actions[other].key = "R".into();
    let mut st = state(cfg);
    let r = Chord::parse("R").unwrap().event();
    let a = st.keys().action_for(r, false).expect("R is bound");
    let _ = update(&mut st, Msg::Action(a));
    assert!(
        matches!(st.modal(), Some(Modal::Confirm(c)) if c.kind == ConfirmKind::Action(other)),
        "R opens the action bound to it"
    );
}

#[test]
fn the_footer_and_help_name_rebound_keys() {
    let mut text = warroom::presets::get("cohortlens").unwrap().to_string();
    text.push_str("\n[keys]\nhelp = \"F1\"\ntick = \"T\"\n");
    let env = |k: &str| match k {
        "WARROOM_URL" => Some("http://127.0.0.1:9".to_string()),
        "ADMIN_TOKEN" => Some("keymap-test-token".to_string()),
        "DD_API_KEY" | "DD_APP_KEY" => Some("keymap-dd-key".to_string()),
        _ => None,
    };
    let cfg = warroom::config::load::load_str_with_env(&text, "<c>", &env).expect("loads");
    let mut st = quiet_state(cfg);
    let s = render_text(&st, 120, 40);
    assert!(s.contains("F1 help  q quit  Tab focus  T tick"), "{s}");
    // The key the footer names for help opens it; the old one does nothing.
    let old = Chord::parse("?").unwrap().event();
    assert_eq!(st.keys().action_for(old, false), None);
    let f1 = Chord::parse("F1").unwrap().event();
    let a = st.keys().action_for(f1, false).expect("F1 is bound");
    let _ = update(&mut st, Msg::Action(a));
    assert!(st.help_shown());
    let s = render_text(&st, 120, 40);
    assert!(s.contains("Esc or F1 to close"), "{s}");
    assert!(s.contains("tick / untick"), "{s}");
    let tick_row = s.lines().find(|l| l.contains("tick / untick")).unwrap();
    assert!(tick_row.contains(" T "), "{tick_row}");
}
