//! Cutovers of days and weeks: the T-clock counts days, the header and the timeline name
//! the step the cutover is in even once it is past the visible window, and the timeline
//! reaches any step.

use crate::common::render_text;
use chrono::{Duration, TimeZone, Utc};
use std::sync::Arc;
use warroom::app::keys::Chord;
use warroom::app::{update, Focus, Msg, State};
use warroom::sample::{Mono, Stamp, Ts};

/// The default window (-15m to +60m), and steps over three days.
const CFG: &str = r#"
[cutover]
name = "long"
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
at = "-1h"
title = "Before the window"
checklist = ["backup taken"]
[[step]]
at = "0"
title = "Switch"
checklist = ["flag on"]
[[step]]
at = "+30m"
title = "First check"
checklist = ["errors flat"]
[[step]]
at = "+48h"
title = "Day two review"
checklist = ["48 h of monitoring done"]
[[step]]
at = "+72h"
title = "Day three close"
checklist = ["report written"]
"#;

fn t0() -> Ts {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn screen(offset: Duration) -> State {
    let cfg: warroom::config::Config =
        warroom::config::load::load_str_with_env(CFG, "long.toml", &|_| None).unwrap();
    let stamp = Stamp::new(t0() + offset, Mono(1_000_000));
    State::new(Arc::new(cfg), stamp, Some(t0()), "alice".into())
}

/// Press a key as the terminal delivers it, through the key map.
fn press(st: &mut State, key: &str) {
    let chord = Chord::parse(key).unwrap();
    let a = st
        .keys()
        .action_for(chord.event(), st.text_entry())
        .unwrap_or_else(|| panic!("{key} is bound to nothing"));
    update(st, Msg::Action(a));
}

#[test]
fn the_t_clock_counts_days() {
    let st = screen(Duration::hours(76) + Duration::minutes(12) + Duration::seconds(5));
    let small = render_text(&st, 100, 30);
    assert!(small.contains("T+3d04:12:05"), "{small}");
    // On a wall screen the clock is drawn big: the day has its glyph, so it stays big.
    let wall = render_text(&st, 140, 45);
    let first = wall.lines().next().unwrap_or_default();
    assert!(
        first.contains("▀█▀") && !first.contains("T+3d04:12:05"),
        "{wall}"
    );
}

#[test]
fn past_the_window_the_header_and_timeline_name_the_current_step() {
    // Fifty hours in: the window ended 49 hours ago; "Day two review" is the current step.
    let st = screen(Duration::hours(50));
    let wall = render_text(&st, 140, 45);
    assert!(wall.contains("now: Day two review"), "{wall}");
    assert!(
        wall.contains("next: T+72h in 22:00:00 Day three close"),
        "{wall}"
    );
    // The timeline shows it in full, marked, with its checklist, not folded into "later".
    let marked = wall
        .lines()
        .find(|l| l.contains("Day two review") && l.contains("T+48h"))
        .unwrap_or_else(|| panic!("the current step is not listed:\n{wall}"));
    assert!(marked.contains('▶'), "{marked}");
    assert!(wall.contains("48 h of monitoring done"), "{wall}");
    assert!(wall.contains("1 later: T+72h Day three close"), "{wall}");
}

#[test]
fn the_timeline_reaches_any_step_in_or_out_of_the_window() {
    let mut st = screen(Duration::minutes(10));
    press(&mut st, "]");
    assert_eq!(st.focus(), Focus::Timeline);
    // From the first step (-1h, outside the window) step by step to the last (+72h).
    for _ in 0..6 {
        press(&mut st, "]");
    }
    assert_eq!(st.selected_item(), (4, 0));
    let text = render_text(&st, 100, 30);
    assert!(
        text.contains("report written") && text.contains("Day three close"),
        "{text}"
    );
    press(&mut st, "[");
    assert_eq!(st.selected_item(), (3, 0));
    let text = render_text(&st, 100, 30);
    assert!(text.contains("48 h of monitoring done"), "{text}");
    // The help names the keys.
    press(&mut st, "?");
    let help = render_text(&st, 120, 50);
    assert!(
        help.contains("select the next / previous step of the timeline"),
        "{help}"
    );
}
