//! What changes from one frame to the next: at steady state a second later only the
//! clocks, so the terminal is sent a handful of cells, not the rows again; and the
//! ASCII pass keeps every column where it was.

use super::*;
use crate::app::{update, Msg};
use crate::config::Config;
use crate::sample::fake_clock::{at, t};
use crate::sample::{PollOutcome, PollResult, Stamp};
use crate::theme::ThemeOptions;
use std::sync::Arc;

/// 20 metric rows on one source polled every second, as the benchmark's fleet.
fn fleet_config(stale_after: Option<&str>) -> Config {
    let mut text = String::from(
        "[cutover]\nname = \"fleet\"\n\n[[source]]\nid = \"m\"\nkind = \"http\"\nurl = \"http://127.0.0.1:9/m\"\ninterval = \"1s\"\n",
    );
    for i in 0..20 {
        text += &format!(
            "\n[[signal]]\nid = \"s{i:02}\"\nsource = \"m\"\nkind = \"metric\"\npath = \".v{i}\"\nunit = \"ms\"\nwarn = \"> 5000\"\ncrit = \"> 9000\"\n"
        );
        if let Some(s) = stale_after {
            text += &format!("stale_after = \"{s}\"\n");
        }
    }
    toml::from_str(&text).expect("fleet config")
}

fn poll(st: &mut State, at: Stamp) {
    let body: serde_json::Value = (0..20)
        .map(|i| (format!("v{i}"), serde_json::json!(100 + i)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let p = PollResult {
        source: "m".into(),
        at: at.at,
        mono: at.mono,
        latency_ms: 3,
        outcome: PollOutcome::Json { status: 200, body },
    };
    let m = Msg::readings(st.engine(), &p);
    update(st, m);
}

fn draw(st: &State, w: u16, h: u16) -> Buffer {
    let theme = Theme::load(None, ThemeOptions::default()).unwrap();
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    render_to(&mut buf, area, st, &theme);
    buf
}

/// The state after `secs` seconds of polls (one a second) and ticks.
fn steady(secs: i64) -> State {
    // T0 twenty minutes before: the T-clock ticks too.
    let mut st = State::new(
        Arc::new(fleet_config(None)),
        at(0),
        Some(t(-1200)),
        "t".into(),
    );
    for s in 0..=secs {
        update(&mut st, Msg::Tick(at(s)));
        poll(&mut st, at(s));
    }
    st
}

#[test]
fn a_second_later_at_steady_state_only_the_clocks_are_rewritten() {
    for (w, h) in [(100, 30), (80, 24), (200, 60)] {
        // Five minutes in: every row has been in its band for minutes.
        let mut st = steady(300);
        let before = draw(&st, w, h);
        // One second later: the clock's tick and a poll that brings the same numbers.
        update(&mut st, Msg::Tick(at(301)));
        poll(&mut st, at(301));
        let after = draw(&st, w, h);
        let changed = before.diff(&after);
        let rows: Vec<u16> = changed.iter().map(|(_, y, _)| *y).collect();
        // The T-clock and the wall clock: a few cells of the header, nothing else.
        assert!(
            rows.iter().all(|y| *y < 3),
            "{w}x{h}: cells changed below the header in rows {rows:?}:\n{}",
            dump(&after).join("\n")
        );
        assert!(
            changed.len() <= 20,
            "{w}x{h}: {} cells changed",
            changed.len()
        );
    }
}

#[test]
fn under_a_minute_ages_count_seconds_past_it_minutes() {
    let st = steady(42);
    let s = dump(&draw(&st, 100, 30)).join("\n");
    assert!(s.contains(" 42s"), "{s}");
    let st = steady(150);
    let s = dump(&draw(&st, 100, 30)).join("\n");
    // 2m30s in band reads "2m": the text changes once a minute, not every second.
    assert!(s.contains(" 2m ") && !s.contains("2m30s"), "{s}");
}

#[test]
fn a_value_goes_stale_the_second_past_its_limit_whatever_the_age_reads() {
    let cfg = Arc::new(fleet_config(Some("90s")));
    let mut st = State::new(cfg, at(0), None, "t".into());
    for s in 0..=30 {
        update(&mut st, Msg::Tick(at(s)));
        poll(&mut st, at(s));
    }
    // The source then hangs: no poll comes back, the clock ticks on.
    let row_line = |st: &State| {
        dump(&draw(st, 100, 30))
            .into_iter()
            .find(|l| l.contains("s00"))
            .unwrap()
    };
    for s in 31..=120 {
        update(&mut st, Msg::Tick(at(s)));
    }
    // 90 s after the last sample (its limit), its age reads "2m" (in band since 0 s):
    // still its value.
    let l = row_line(&st);
    assert!(!l.contains("STALE") && l.contains("100 ms"), "{l}");
    update(&mut st, Msg::Tick(at(121)));
    let l = row_line(&st);
    assert!(
        l.contains("STALE"),
        "past its stale_after the row says so: {l}"
    );
    // The last value only as what it was, never where a current one stands.
    assert!(
        !l.replace("was 100 ms", "").contains("100 ms"),
        "a stale number is not shown as current: {l}"
    );
}

#[test]
fn the_ascii_pass_gives_a_wide_character_two_stand_ins() {
    let mut cfg = fleet_config(None);
    cfg.signals[0].label = Some("数据 p95".into());
    cfg.signals[1].label = Some("abcd p95".into());
    let mut st = State::new(Arc::new(cfg), at(0), None, "t".into());
    update(&mut st, Msg::Tick(at(0)));
    poll(&mut st, at(0));
    let theme = Theme::load(
        None,
        ThemeOptions {
            ascii: true,
            ..ThemeOptions::default()
        },
    )
    .unwrap();
    let area = Rect::new(0, 0, 100, 30);
    let mut buf = Buffer::empty(area);
    render_to(&mut buf, area, &st, &theme);
    let lines = dump(&buf);
    assert!(lines.iter().all(|l| l.is_ascii()), "{lines:#?}");
    let wide = lines
        .iter()
        .find(|l| l.contains("p95") && l.contains('?'))
        .unwrap();
    let narrow = lines.iter().find(|l| l.contains("abcd p95")).unwrap();
    assert!(wide.contains("???? p95"), "{wide}");
    // Every column after the label is where the ASCII row has it.
    assert_eq!(
        wide.find("100 ms"),
        narrow.find("101 ms"),
        "\n{wide}\n{narrow}"
    );
}
