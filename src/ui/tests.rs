//! Screens drawn on `TestBackend` from a hand-built `State` with a fixed clock.

use super::*;
use crate::app::{Notice, Tick};
use crate::config::Config;
use crate::engine::{
    Advised, BaselineView, Engine, Event, EventKind, Pending, Severity, SourceHealth, Status,
};
use crate::sample::{Mono, NoDataKind, Stamp, Value};
use crate::theme::{ColorDepth, ThemeOptions};
use chrono::{Duration as CDur, TimeZone, Utc};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use std::collections::VecDeque;
use std::sync::Arc;

const CFG: &str = r#"
[cutover]
name = "brokers cutover"
environment = "production"
rollback_key = "R"

[[source]]
id = "metrics"
kind = "http"
url = "http://localhost:5000/analytics/ops/metrics"

[[source]]
id = "flags"
kind = "http"
url = "https://localhost:5000/api/v2/admin/flags"
insecure_tls = true

[[signal]]
id = "p95"
source = "metrics"
label = "p95 latency"
kind = "metric"
path = ".p95_ms"
unit = "ms"
warn = "> 1000"
crit = "> 2000"
for = "30s"
critical = true
baseline = "p95_v1"

[[signal]]
id = "err"
source = "metrics"
label = "error rate"
kind = "metric"
path = ".error_rate_pct"
unit = "%"
warn = "> 1"
crit = "> 2"
m_of_n = [3, 5]
critical = true

[[signal]]
id = "p95_v1"
source = "metrics"
label = "p95 v1"
kind = "metric"
path = ".v1.p95_ms"
unit = "ms"

[[signal]]
id = "health"
source = "flags"
label = "api health"
kind = "health"

[[signal]]
id = "match"
source = "metrics"
label = "match rate"
kind = "metric"
path = ".match_rate"
unit = "%"

[[signal]]
id = "queue"
source = "metrics"
label = "queue depth"
kind = "metric"
path = ".queue"

[[signal]]
id = "v2_primary"
source = "flags"
kind = "flag"
path = ".flags.v2_primary"

[[signal]]
id = "shadow_mode"
source = "flags"
kind = "flag"
path = ".flags.shadow_mode"

[[step]]
at = "-15m"
title = "Freeze deploys"
phase = "prepare"
checklist = ["announce in #cutover", "snapshot the database"]

[[step]]
at = "-5m"
title = "Go / No-Go"
gate = true
checklist = ["sign-off by the lead"]

[[step]]
at = "0"
title = "Switch traffic to v2"
phase = "cutover"
checklist = ["flip v2_primary", "watch error rate"]

[[step]]
at = "+30m"
title = "Verify and close"
checklist = ["report to stakeholders"]

[[step]]
at = "+48h"
title = "Decommission v1"

[[action]]
id = "rollback"
key = "X"
label = "Roll back to v1"
danger = true
request = { url = "http://127.0.0.1:1/api/v2/admin/rollback-to-v1" }
"#;

fn now() -> Ts {
    Utc.with_ymd_and_hms(2026, 11, 25, 20, 41, 7).unwrap()
}

fn ago(s: i64) -> Ts {
    now() - CDur::seconds(s)
}

/// The fake monotonic clock's now: an origin unrelated to the wall clock's.
fn mono_now() -> Mono {
    Mono(50_000_000)
}

/// `s` seconds ago on the monotonic clock.
fn mago(s: i64) -> Mono {
    mono_now() - CDur::seconds(s)
}

fn row(key: &str, signal: usize, label: &str, kind: SignalKind, status: Status) -> Row {
    let band = match status {
        Status::Band(b) => b,
        Status::NoData(_) => Band::Ok,
    };
    Row {
        key: key.into(),
        signal,
        label: label.into(),
        kind,
        critical: false,
        unit: None,
        value: None,
        last_good_at: None,
        last_sample_at: Some(mago(2)),
        status,
        status_since: mago(30),
        reason: None,
        band,
        band_since: mago(30),
        effective: band,
        streak: 1,
        raw: Some(band),
        pending: None,
        history: VecDeque::new(),
        history_at: VecDeque::new(),
        baseline: None,
        threshold: String::new(),
        advice: None,
        changed_at: None,
        recent: VecDeque::new(),
        timers: Default::default(),
    }
}

fn state() -> State {
    let cfg: Config = toml::from_str(CFG).expect("test config parses");
    let cfg = Arc::new(cfg);
    let mut engine = Engine::new(cfg.clone(), mago(3600));

    let mut p95 = row(
        "p95",
        0,
        "p95 latency",
        SignalKind::Metric,
        Status::Band(Band::Crit),
    );
    p95.critical = true;
    p95.unit = Some("ms".into());
    p95.value = Some(Value::Num(2400.0));
    p95.last_good_at = Some(mago(2));
    p95.band_since = mago(72);
    p95.status_since = mago(72);
    p95.threshold = "warn > 1000 · crit > 2000".into();
    p95.history = (0..40).map(|i| 800.0 + (i * 40) as f64).collect();
    p95.streak = 5;
    p95.baseline = Some(BaselineView {
        row: "p95_v1".into(),
        value: Some(800.0),
        delta: Some(1600.0),
        delta_pct: Some(200.0),
    });
    p95.advice = Some("roll back if it holds".into());

    let mut err = row(
        "err",
        1,
        "error rate",
        SignalKind::Metric,
        Status::Band(Band::Warn),
    );
    err.critical = true;
    err.unit = Some("%".into());
    err.value = Some(Value::Num(1.5));
    err.threshold = "warn > 1 · crit > 2".into();
    err.pending = Some(Pending {
        toward: Band::Crit,
        since: mago(10),
    });
    err.recent = [Band::Warn, Band::Crit, Band::Crit].into_iter().collect();
    err.raw = Some(Band::Crit);
    err.history = [0.5, 0.7, 1.1, 1.5, 2.2, 2.4].into_iter().collect();

    let mut v1 = row(
        "p95_v1",
        2,
        "p95 v1",
        SignalKind::Metric,
        Status::Band(Band::Ok),
    );
    v1.unit = Some("ms".into());
    v1.value = Some(Value::Num(800.0));

    let mut health = row(
        "health",
        3,
        "api health",
        SignalKind::Health,
        Status::NoData(NoDataKind::Error),
    );
    health.reason = Some("connection refused".into());
    health.last_good_at = Some(mago(45));
    health.value = Some(Value::Num(200.0));

    let mut m = row(
        "match",
        4,
        "match rate",
        SignalKind::Metric,
        Status::NoData(NoDataKind::Empty),
    );
    m.reason = Some("path .match_rate is null".into());

    let mut q = row(
        "queue",
        5,
        "queue depth",
        SignalKind::Metric,
        Status::NoData(NoDataKind::Stale),
    );
    q.reason = Some("no sample for 2m".into());
    q.last_good_at = Some(mago(120));
    q.value = Some(Value::Num(17.0));
    q.effective = Band::Warn;

    let mut f1 = row(
        "v2_primary",
        6,
        "v2_primary",
        SignalKind::Flag,
        Status::Band(Band::Ok),
    );
    f1.value = Some(Value::Bool(true));
    f1.changed_at = Some(mago(180));
    let mut f2 = row(
        "shadow_mode",
        7,
        "shadow_mode",
        SignalKind::Flag,
        Status::NoData(NoDataKind::Error),
    );
    f2.reason = Some("source down".into());

    engine.rows = vec![p95, err, v1, health, m, q, f1, f2];
    engine.sources = vec![
        SourceHealth {
            id: "metrics".into(),
            required: true,
            polls: 100,
            last_ok: Some(mago(2)),
            last_poll: Some(mago(2)),
            last_latency_ms: Some(120),
            last_status: Some(200),
            ..Default::default()
        },
        SourceHealth {
            id: "flags".into(),
            required: true,
            polls: 100,
            errors: 3,
            consecutive_errors: 3,
            last_ok: Some(mago(45)),
            last_poll: Some(mago(1)),
            last_error: Some("connection refused".into()),
            last_latency_ms: Some(840),
            ..Default::default()
        },
    ];

    let mut events = VecDeque::new();
    for (s, sev, text) in [
        (300, Severity::Info, "v2_primary false -> true"),
        (72, Severity::Crit, "p95 latency ok -> crit (2400 ms)"),
        (45, Severity::Warn, "source flags down: connection refused"),
    ] {
        events.push_back(Event {
            at: ago(s),
            mono: mago(s),
            severity: sev,
            kind: EventKind::Note { text: text.into() },
            text: text.into(),
        });
    }

    let mut st = State::new(
        cfg,
        Stamp::new(now(), mono_now()),
        Some(ago(17 * 60 + 45)),
        "alice".into(),
    );
    // T+17:45
    st.engine = engine;
    st.events = events;
    st.selected_item = (2, 1);
    st.notice = Some(Notice {
        text: "ticked: flip v2_primary".into(),
        at: mago(3),
    });
    st.ticks[2][0] = Some(Tick {
        by: "alice".into(),
        at: Utc.with_ymd_and_hms(2026, 11, 25, 20, 24, 0).unwrap(),
    });
    st
}

fn theme() -> Theme {
    Theme::load(
        None,
        ThemeOptions {
            no_color: false,
            ascii: false,
            depth: ColorDepth::TrueColor,
        },
    )
    .unwrap()
}

fn draw(state: &State, theme: &Theme, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render(f, state, theme)).unwrap();
    term.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    dump(buf).into_iter().map(|l| l + "\n").collect()
}

fn screen(state: &State, w: u16, h: u16) -> String {
    text(&draw(state, &theme(), w, h))
}

fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{screen}"))
}

#[test]
fn full_screen_80x24_has_every_region() {
    let s = screen(&state(), 80, 24);
    // Header.
    assert!(s.contains("T+17:45"), "{s}");
    assert!(s.contains("PRODUCTION"), "{s}");
    // At 80 columns the name gives way to the phase and the overall word.
    assert!(s.contains("brokers cut"), "{s}");
    assert!(s.contains("phase: cutover"), "{s}");
    assert!(s.contains("sources 1/2 ok"), "{s}");
    assert!(s.contains("SRC DOWN 1"), "{s}");
    assert!(s.contains("1 CRIT 1 WARN 4 NO DATA"), "{s}");
    // Panels.
    for title in ["Signals", "Timeline", "Flags", "Events"] {
        assert!(s.contains(title), "{title} missing:\n{s}");
    }
    // Footer.
    assert!(s.contains("? help  q quit  Tab focus  Space tick"), "{s}");
    assert!(s.contains("ticked: flip v2_primary"), "{s}");
}

#[test]
fn overall_word_counts_and_all_ok_only_when_green() {
    let st = state();
    let (word, _) = View::new(&st, &theme()).overall();
    assert!(word.contains("1 CRIT"), "{word}");
    assert!(word.contains("1 WARN"), "{word}");
    assert!(word.contains("4 NO DATA"), "{word}");
    assert!(!word.contains("ALL OK"));

    let mut green = state();
    for r in &mut green.engine.rows {
        r.status = Status::Band(Band::Ok);
        r.effective = Band::Ok;
        r.band = Band::Ok;
    }
    green.engine.sources[1].consecutive_errors = 0;
    let (word, _) = View::new(&green, &theme()).overall();
    assert!(word.contains("ALL OK"), "{word}");
    // One source down is enough to lose "ALL OK".
    green.engine.sources[1].consecutive_errors = 1;
    let (word, _) = View::new(&green, &theme()).overall();
    assert!(
        !word.contains("ALL OK") && word.contains("1 SRC DOWN"),
        "{word}"
    );
}

#[test]
fn banner_names_signal_value_threshold_duration_and_key() {
    let s = screen(&state(), 80, 24);
    let l = line_with(&s, "BREACH");
    assert!(l.contains("p95 latency"), "{l}");
    assert!(l.contains("2400 ms"), "{l}");
    assert!(l.contains("press R to roll back"), "{l}");
    let wide = screen(&state(), 160, 40);
    let l = line_with(&wide, "BREACH");
    assert!(l.contains("crit > 2000"), "{l}");
    assert!(l.contains("for 1m12s"), "{l}");
    assert!(l.contains("press R to roll back"), "{l}");
}

#[test]
fn banner_uses_the_configured_key_and_advice() {
    let mut st = state();
    let mut cfg = (*st.cfg).clone();
    cfg.cutover.rollback_key = "F9".into();
    st.keys = crate::app::keys::KeyMap::new(&cfg);
    st.cfg = Arc::new(cfg);
    st.engine.advised = Some(Advised {
        since: mago(5),
        reasons: vec!["p95 latency crit for 1m12s".into()],
    });
    let s = screen(&st, 100, 30);
    let l = line_with(&s, "ROLLBACK ADVISED");
    assert!(l.contains("p95 latency crit for 1m12s"), "{l}");
    assert!(l.contains("press F9 to roll back"), "{l}");
    assert!(line_with(&s, "BREACH").contains("press F9"));
}

#[test]
fn banner_styled_impossible_to_miss_and_absent_without_breach() {
    let st = state();
    let t = theme();
    let buf = draw(&st, &t, 80, 24);
    let s = text(&buf);
    let y = s.lines().position(|l| l.contains("BREACH")).unwrap() as u16;
    // The whole line, edge to edge, carries the banner style.
    for x in [0, 40, 79] {
        assert_eq!(buf[(x, y)].bg, t.style(Role::Banner).bg.unwrap(), "x={x}");
    }
    let mut calm = state();
    calm.engine.rows[0].effective = Band::Warn;
    calm.engine.rows[0].status = Status::Band(Band::Warn);
    assert!(!screen(&calm, 80, 24).contains("BREACH"));
}

#[test]
fn every_status_shows_its_word_reason_and_age() {
    let s = screen(&state(), 80, 24);
    let p95 = line_with(&s, "★ p95 latency");
    assert!(p95.contains("✖ CRIT") && p95.contains("2400 ms"), "{p95}");
    // 72 s in band: past a minute an age reads in whole minutes.
    assert!(p95.contains(" 1m "), "time in band: {p95}");
    // At 80 columns the threshold of the row's band, the one that decides.
    assert!(p95.contains("crit > 2000"), "threshold: {p95}");
    let s = screen(&state(), 120, 40);
    let err = line_with(&s, "error rate");
    assert!(err.contains("▲ WARN") && err.contains("1.50%"), "{err}");
    assert!(err.contains("tripping 2/3"), "{err}");
    assert!(s
        .lines()
        .any(|l| l.contains("p95 v1 ") && l.contains("✔ OK")));
    let h = line_with(&s, "api health");
    assert!(
        h.contains("? ERROR") && h.contains("connection refused"),
        "{h}"
    );
    assert!(h.contains("last good 45s ago"), "{h}");
    // The last good value is never shown as the current value, only as "was".
    let before_word = &h[..h.find("? ERROR").unwrap()];
    assert!(h.contains("was 200") && !before_word.contains("200"), "{h}");
    let m = line_with(&s, "match rate");
    assert!(
        m.contains("? EMPTY") && m.contains("path .match_rate is null"),
        "{m}"
    );
    assert!(m.contains("never had data"), "{m}");
    let q = line_with(&s, "queue depth");
    assert!(
        q.contains("? STALE") && q.contains("last good 2m ago"),
        "{q}"
    );
    // Baseline beside with the delta, and advice, when there is room.
    let s = screen(&state(), 200, 40);
    let p95 = line_with(&s, "★ p95 latency");
    assert!(
        p95.contains("p95 v1 800 ms") && p95.contains("Δ+1600 ms (+200%)"),
        "{p95}"
    );
    assert!(p95.contains("roll back if it holds"), "{p95}");
    let h = line_with(&s, "api health");
    assert!(
        h.contains("last good 45s ago") && h.contains("connection refused"),
        "{h}"
    );
}

#[test]
fn pending_trip_counts_down_with_for() {
    let mut st = state();
    let r = &mut st.engine.rows[0];
    r.status = Status::Band(Band::Warn);
    r.band = Band::Warn;
    r.effective = Band::Warn;
    r.pending = Some(Pending {
        toward: Band::Crit,
        since: mago(10),
    });
    let s = screen(&st, 120, 40);
    assert!(
        line_with(&s, "★ p95 latency").contains("crit in 20s"),
        "{s}"
    );
}

#[test]
fn flags_show_value_change_age_and_no_data_reason() {
    let s = screen(&state(), 80, 24);
    let f = line_with(&s, "v2_primary  true");
    assert!(f.contains("changed 3m ago"), "{f}");
    let f = line_with(&s, "shadow_mode");
    assert!(f.contains("? ERROR") && f.contains("source down"), "{f}");
}

#[test]
fn timeline_marks_current_step_and_counts_down() {
    let s = screen(&state(), 120, 40);
    let cur = line_with(&s, "Switch traffic to v2");
    assert!(cur.contains("▶"), "{cur}");
    assert!(!line_with(&s, "Freeze deploys").contains("▶"));
    // Next is +30m at T+17:45: 12:15 to go.
    assert!(s.contains("next: T+30m in 12:15"), "{s}");
    assert!(line_with(&s, "Go / No-Go").contains("GATE"));
    assert!(line_with(&s, "flip v2_primary").contains("[x]"));
    assert!(line_with(&s, "flip v2_primary").contains("by alice 20:24"));
    assert!(line_with(&s, "watch error rate").contains("[ ]"));
    // +48h is outside the window: listed compactly.
    assert!(line_with(&s, "Decommission v1").contains("later"), "{s}");
}

#[test]
fn timeline_without_t0() {
    let mut st = state();
    st.t0 = None;
    let s = screen(&st, 80, 24);
    assert!(s.contains("T0 not set"), "{s}");
    assert!(!s.contains("▶ T0"), "{s}");
}

#[test]
fn timeline_selection_highlighted_when_focused() {
    let mut st = state();
    st.focus = Focus::Timeline;
    let t = theme();
    let buf = draw(&st, &t, 120, 40);
    let s = text(&buf);
    let y = s
        .lines()
        .position(|l| l.contains("watch error rate"))
        .unwrap() as u16;
    let x = s
        .lines()
        .nth(y as usize)
        .unwrap()
        .chars()
        .position(|c| c == '▸');
    assert!(x.is_some(), "{s}");
    assert_eq!(
        buf[(x.unwrap() as u16, y)].bg,
        t.style(Role::Selected).bg.unwrap()
    );
}

#[test]
fn events_newest_first_with_time_and_severity_word() {
    let s = screen(&state(), 120, 40);
    let a = s.find("source flags down").unwrap();
    let b = s.find("p95 latency ok -> crit").unwrap();
    let c = s.find("v2_primary false -> true").unwrap();
    assert!(a < b && b < c, "{s}");
    let l = line_with(&s, "p95 latency ok -> crit");
    assert!(l.contains("20:39:55") && l.contains("CRIT"), "{l}");
    assert!(line_with(&s, "source flags down").contains("WARN"));
    assert!(line_with(&s, "v2_primary false -> true").contains("INFO"));
}

#[test]
fn header_badges_read_only_and_insecure_tls() {
    let mut st = state();
    st.read_only = true;
    let s = screen(&st, 120, 40);
    assert!(s.contains("READ-ONLY"), "{s}");
    assert!(s.contains("INSECURE TLS: flags"), "{s}");
    assert!(s.contains("worst 840ms"), "{s}");
    assert!(line_with(&s, "BREACH").contains("read-only"), "{s}");
}

#[test]
fn a_rate_limited_source_reads_rate_limited_not_src_down() {
    let mut st = state();
    st.engine.sources[1].last_status = Some(429);
    st.engine.sources[1].last_error = Some("rate limited (HTTP 429): backing off".into());
    for (w, h) in [(120, 40), (80, 24)] {
        let s = screen(&st, w, h);
        assert!(!s.contains("SRC DOWN"), "{s}");
        assert!(s.contains("RATE LIMITED 1: flags"), "{s}");
    }
}

#[test]
fn production_is_reversed_bold_even_in_mono() {
    let st = state();
    let t = Theme::load(Some("mono"), ThemeOptions::default()).unwrap();
    let buf = draw(&st, &t, 80, 24);
    let s = text(&buf);
    let x = s.lines().next().unwrap().find("PRODUCTION").unwrap();
    let x = s.lines().next().unwrap()[..x].chars().count() as u16;
    let m = buf[(x, 0)].modifier;
    assert!(m.contains(ratatui::style::Modifier::REVERSED | ratatui::style::Modifier::BOLD));
}

#[test]
fn help_overlay_lists_every_entry() {
    let mut st = state();
    st.show_help = true;
    let s = screen(&st, 80, 24);
    let help = st.keys.help(&st.cfg);
    assert!(help.len() >= 15, "{help:?}");
    for (k, d) in &help {
        assert!(s.contains(k.as_str()), "{k} missing\n{s}");
        assert!(s.contains(d.as_str()), "{d} missing\n{s}");
    }
}

#[test]
fn selection_scrolls_into_view_with_many_rows() {
    let mut st = state();
    let base = st.engine.rows[2].clone();
    st.engine.rows = (0..1000)
        .map(|i| {
            let mut r = base.clone();
            r.key = format!("row{i}");
            r.label = format!("endpoint {i:04}");
            r
        })
        .collect();
    st.selected_signal = 700;
    let s = screen(&st, 80, 24);
    assert!(line_with(&s, "endpoint 0700").contains("▸"), "{s}");
    assert!(s.contains("of 1000"), "{s}");
    assert!(!s.contains("endpoint 0000"));
}

#[test]
fn small_sizes_do_not_panic_and_degrade() {
    let st = state();
    for (w, h) in [
        (1, 1),
        (20, 5),
        (79, 23),
        (80, 23),
        (79, 24),
        (10, 2),
        (300, 100),
        (0, 0),
    ] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| render(f, &st, &theme())).unwrap();
    }
    let s = screen(&st, 79, 23);
    assert!(s.contains("T+17:45"), "{s}");
    assert!(s.contains("crit 1"), "{s}");
    assert!(s.contains("SRC DOWN 1"), "{s}");
    assert!(line_with(&s, "BREACH").contains("press R"), "{s}");
    assert!(s.contains("full view needs 80x24"), "{s}");
    let s = screen(&st, 20, 5);
    assert!(s.contains("T+17:45"), "{s}");
    let s = screen(&st, 19, 3);
    assert!(s.contains("too small"), "{s}");
    let mut help = state();
    help.show_help = true;
    for (w, h) in [(1, 1), (20, 5), (79, 23)] {
        draw(&help, &theme(), w, h);
    }
}

fn no_colour_anywhere(buf: &Buffer) {
    for c in buf.content() {
        assert_eq!(c.fg, Color::Reset, "{c:?}");
        assert_eq!(c.bg, Color::Reset, "{c:?}");
    }
}

#[test]
fn mono_and_no_color_have_no_colour_but_words() {
    let st = state();
    let mono = Theme::load(Some("mono"), ThemeOptions::default()).unwrap();
    let nc = Theme::load(
        Some("high-contrast"),
        ThemeOptions {
            no_color: true,
            ..ThemeOptions::default()
        },
    )
    .unwrap();
    for t in [&mono, &nc] {
        for (w, h) in [(120, 40), (79, 23)] {
            let buf = draw(&st, t, w, h);
            no_colour_anywhere(&buf);
        }
        let s = text(&draw(&st, t, 120, 40));
        for w in ["CRIT", "WARN", "OK", "ERROR", "EMPTY", "STALE", "BREACH"] {
            assert!(s.contains(w), "{w}\n{s}");
        }
    }
}

#[test]
fn ascii_mode_draws_only_ascii() {
    let mut st = state();
    st.show_help = true;
    // Test data itself must be ASCII for the check to mean anything.
    for r in &mut st.engine.rows {
        r.threshold = r.threshold.replace('·', "|");
    }
    let t = Theme::load(
        None,
        ThemeOptions {
            ascii: true,
            ..ThemeOptions::default()
        },
    )
    .unwrap();
    for (w, h) in [(120, 40), (80, 24), (79, 23)] {
        let s = text(&draw(&st, &t, w, h));
        assert!(s.is_ascii(), "{s}");
    }
    st.show_help = false;
    let s = text(&draw(&st, &t, 120, 40));
    assert!(s.contains("[CRIT]") && s.contains("[STALE]"), "{s}");
}

#[test]
fn big_clock_on_wall_screens() {
    let rows = header::big_text("T+17:45", false).unwrap();
    let s = screen(&state(), 120, 40);
    for r in &rows {
        assert!(s.contains(r.trim_end()), "{r:?}\n{s}");
    }
    let ascii = header::big_text("T-04:12", true).unwrap();
    assert!(ascii.iter().all(|r| r.is_ascii()));
    assert!(header::big_text("T0 not set", false).is_none());
    // Without T0 the header says so in words.
    let mut st = state();
    st.t0 = None;
    assert!(screen(&st, 120, 40).contains("T0 not set"));
}

#[test]
fn snapshot_80x24() {
    insta::assert_snapshot!("full_80x24", screen(&state(), 80, 24));
}

#[test]
fn snapshot_120x40() {
    insta::assert_snapshot!("full_120x40", screen(&state(), 120, 40));
}

#[test]
fn snapshot_compact_79x23() {
    insta::assert_snapshot!("compact_79x23", screen(&state(), 79, 23));
}

#[test]
fn helpers() {
    assert_eq!(crate::timefmt::countdown(252_000), "04:12");
    assert_eq!(crate::timefmt::countdown(1), "00:01");
    assert_eq!(crate::timefmt::countdown(3_723_000), "1:02:03");
    assert_eq!(crate::timefmt::format_secs(72), "1m12s");
    assert_eq!(crate::timefmt::format_secs(0), "0s");
    assert_eq!(Value::Num(1.5).with_unit(Some("%")), "1.50%");
    assert_eq!(Value::Num(840.0).with_unit(Some("ms")), "840 ms");
    assert_eq!(Value::Bool(false).with_unit(None), "false");
}

#[test]
fn a_wall_clock_step_moves_the_t_clock_and_no_age() {
    let st = state();
    let before = screen(&st, 120, 40);
    let mut stepped = state();
    // NTP steps the wall clock back an hour; the monotonic clock runs on.
    stepped.now = now() - CDur::hours(1);
    let after = screen(&stepped, 120, 40);
    assert!(before.contains("20:41:07 UTC"), "{before}");
    assert!(after.contains("19:41:07 UTC"), "{after}");
    assert_eq!(
        stepped
            .t_offset_ms()
            .zip(st.t_offset_ms())
            .map(|(a, b)| b - a),
        Some(3_600_000),
        "the T-clock follows the step"
    );
    for row in ["★ p95 latency", "★ error rate", "api health", "queue depth"] {
        assert_eq!(line_with(&after, row), line_with(&before, row), "{row}");
    }
    assert!(line_with(&after, "api health").contains("last good 45s ago"));
    assert!(line_with(&after, "v2_primary").contains("changed 3m ago"));
    assert!(line_with(&after, "BREACH").contains("for 1m12s"));
}

#[test]
fn ascii_mode_draws_only_ascii_whatever_the_texts_hold() {
    // Engine texts and labels as they really are: `·` in thresholds, `→` in events.
    let mut st = state();
    st.engine.rows[0].label = "p95 — latency".into();
    st.events.push_back(Event {
        at: ago(1),
        mono: mago(1),
        severity: Severity::Warn,
        kind: EventKind::Note {
            text: "err: ok → crit".into(),
        },
        text: "err: ok → crit (3 %) · Δ".into(),
    });
    let t = Theme::load(
        None,
        ThemeOptions {
            ascii: true,
            ..ThemeOptions::default()
        },
    )
    .unwrap();
    for modal in [false, true] {
        if modal {
            st.modal = Some(crate::app::Modal::Menu { selected: 0 });
        }
        for (w, h) in [(80, 24), (110, 32), (200, 60), (40, 10), (12, 3)] {
            let s = text(&draw(&st, &t, w, h));
            assert!(s.is_ascii(), "{w}x{h}:\n{s}");
            assert!(!s.contains('·') && !s.contains('→'), "{s}");
        }
    }
    let s = text(&draw(&st, &t, 200, 60));
    assert!(s.contains("ok > crit"), "{s}");
}

#[test]
fn a_tiny_window_shows_the_state_and_band_counts_first() {
    let st = state();
    for (w, h) in [(12, 3), (14, 5), (30, 8)] {
        let s = screen(&st, w, h);
        let first = s.lines().next().unwrap_or_default();
        assert!(
            first.contains("1 CRIT") || first.contains("1 C"),
            "{w}x{h}:\n{s}"
        );
    }
}

/// Three rows on one source, polled ok, then the source fails, then answers again.
fn outage_events() -> Vec<Event> {
    use crate::sample::{PollOutcome, PollResult};
    let cfg: Arc<Config> = Arc::new(
        toml::from_str(
            r#"
[cutover]
name = "t"
[[source]]
id = "metrics"
kind = "http"
url = "http://127.0.0.1:1/m"
[[signal]]
id = "a"
source = "metrics"
kind = "metric"
path = ".a"
crit = "> 2"
[[signal]]
id = "b"
source = "metrics"
kind = "metric"
path = ".b"
crit = "> 2"
[[signal]]
id = "c"
source = "metrics"
kind = "metric"
path = ".c"
crit = "> 2"
"#,
        )
        .unwrap(),
    );
    let mut e = Engine::new(cfg, mago(100));
    let poll = |s: i64, outcome: PollOutcome| PollResult {
        source: "metrics".into(),
        at: ago(100 - s),
        mono: mago(100 - s),
        latency_ms: 1,
        outcome,
    };
    let ok = |a: f64| PollOutcome::Json {
        status: 200,
        body: serde_json::json!({"a": a, "b": 1, "c": 1}),
    };
    let mut events = Vec::new();
    events.extend(e.ingest(&poll(0, ok(1.0))));
    events.extend(e.ingest(&poll(1, ok(1.0))));
    events.extend(e.ingest(&poll(
        2,
        PollOutcome::Failed {
            status: None,
            reason: "connection refused".into(),
        },
    )));
    events.extend(e.ingest(&poll(3, ok(3.0))));
    events
}

#[test]
fn a_source_outage_and_its_recovery_read_as_one_line_each() {
    let events = outage_events();
    assert!(events.len() >= 8, "{events:#?}");
    let lines = events::lines(events.iter(), false);
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "metrics down: connection refused — 3 rows no data",
            "metrics answers again (after 1 failed polls) — 3 rows back: 3 ok",
            "a: ok → crit (3)",
        ],
        "{events:#?}"
    );
    assert_eq!(lines[2].severity, Severity::Crit);
}

#[test]
fn the_filter_keeps_actions_and_breaches() {
    let mut st = state();
    st.events = outage_events().into();
    st.events.push_back(Event {
        at: ago(0),
        mono: mago(0),
        severity: Severity::Info,
        kind: EventKind::Note {
            text: "alice ticked \"flip\"".into(),
        },
        text: "alice ticked \"flip\"".into(),
    });
    crate::app::update(
        &mut st,
        crate::app::Msg::Action(crate::app::Action::FilterEvents),
    );
    let lines = events::lines(st.events.iter(), st.events_filtered);
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(texts[0], "a: ok → crit (3)");
    assert!(texts[1].contains("ticked"), "{texts:?}");
    let s = screen(&st, 120, 40);
    assert!(s.contains("actions, breaches"), "{s}");
    assert!(!s.contains("metrics down"), "{s}");
}

#[test]
fn a_compare_row_names_the_baseline_by_label_and_the_delta_in_its_unit() {
    let mut st = state();
    // The error row compares with the p95 row here only to have a labelled baseline.
    let base_label = st.engine.rows[0].label.clone();
    let err = st
        .engine
        .rows
        .iter_mut()
        .find(|r| r.unit.as_deref() == Some("%"))
        .expect("a percent row");
    err.baseline = Some(BaselineView {
        row: "p95".into(),
        value: Some(0.15),
        delta: Some(7.35),
        delta_pct: Some(4900.0),
    });
    let err_label = err.label.clone();
    let s = screen(&st, 200, 60);
    let l = line_with(&s, &format!("{err_label} "));
    // Percentage points for a percent, never "+4900%" of a rate.
    assert!(l.contains(&format!("{base_label} 0.15% Δ+7.35 pp")), "{l}");
    assert!(!l.contains("4900"), "{l}");
    let l = line_with(&s, "Δ+1600");
    // A latency's delta is in ms, with its relative delta.
    assert!(l.contains("Δ+1600 ms (+200%)"), "{l}");
}

#[test]
fn a_narrow_banner_cuts_the_reasons_never_the_key_nor_how_many_more() {
    let mut st = state();
    st.engine.advised = Some(Advised {
        since: mago(5),
        reasons: vec![
            "err /api/v1/analytics/portfolio/summary 10.6% (crit > 2) for 1m39s".into(),
            "err /api/v1/analytics/brokers/summary 10.9% (crit > 2) for 1m39s".into(),
            "err /api/v1/brokers/preferences 10.9% (crit > 2) for 1m39s".into(),
        ],
    });
    for w in [80, 110] {
        let s = screen(&st, w, 24);
        let l = line_with(&s, "ROLLBACK ADVISED");
        assert!(l.contains("— press R to roll back"), "{w}: {l}");
        assert!(l.contains("(+2 more)"), "{w}: {l}");
        assert!(
            l.contains("ROLLBACK ADVISED: err /api/v1/analytics/"),
            "{w}: {l}"
        );
    }
    // Wide enough for all of them: every reason, no count.
    let s = screen(&st, 260, 40);
    let l = line_with(&s, "ROLLBACK ADVISED");
    assert!(
        l.contains("preferences 10.9%") && !l.contains("more)"),
        "{l}"
    );
    // A breach line cut at 80 keeps its "(+N more)" beside the key.
    let mut two = state();
    two.engine.rows[1].effective = Band::Crit;
    two.engine.rows[1].status = Status::Band(Band::Crit);
    let s = screen(&two, 80, 24);
    let l = line_with(&s, "BREACH");
    assert!(l.contains("(+1 more) — press R"), "{l}");
}

/// The error row as a compare row: v2 beside its v1 baseline ("p95 v1" stands in for
/// the v1 row: any labelled row does), the delta in percentage points.
fn compare_state(extra_rows: usize) -> State {
    let mut st = state();
    let err = st
        .engine
        .rows
        .iter_mut()
        .find(|r| r.key == "err")
        .expect("the error row");
    err.status = Status::Band(Band::Crit);
    err.band = Band::Crit;
    err.effective = Band::Crit;
    err.value = Some(Value::Num(7.5));
    err.pending = None;
    err.baseline = Some(BaselineView {
        row: "p95_v1".into(),
        value: Some(0.15),
        delta: Some(7.35),
        delta_pct: Some(4900.0),
    });
    // More rows than the panel has lines for second lines: a preset's real count.
    for i in 0..extra_rows {
        let mut r = row(
            &format!("more{i}"),
            5,
            &format!("err /api/v1/module-{i}/summary"),
            SignalKind::Metric,
            Status::Band(Band::Ok),
        );
        r.value = Some(Value::Num(0.2));
        r.unit = Some("%".into());
        let at = st.engine.rows.len() - 2;
        st.engine.rows.insert(at, r);
    }
    st
}

fn signals_panel(s: &str) -> Vec<&str> {
    s.lines()
        .skip_while(|l| !l.contains("Signals"))
        .skip(1)
        .take_while(|l| !l.contains("Timeline"))
        .collect()
}

#[test]
fn compare_rows_show_baseline_label_value_and_delta_at_80_and_110() {
    // Few rows (a second line fits) and a preset's many (it does not: the short form).
    for extra in [0, 12] {
        for (w, h) in [(80, 24), (110, 32)] {
            let st = compare_state(extra);
            let s = screen(&st, w, h);
            let panel = signals_panel(&s);
            for (key, base) in [
                ("★ error rate", "p95 v1 0.15% Δ+7.35 pp"),
                ("★ p95 latency", "800 ms Δ+1600 ms"),
            ] {
                let i = panel
                    .iter()
                    .position(|l| l.contains(key))
                    .unwrap_or_else(|| panic!("{key} at {w}x{h}:\n{s}"));
                // On its row, or on the line under it.
                let both = format!("{}{}", panel[i], panel.get(i + 1).unwrap_or(&""));
                assert!(
                    both.contains(base),
                    "{key} at {w}x{h} (+{extra} rows):\n{s}"
                );
                if key.contains("p95") {
                    assert!(
                        both.contains("p95 v1"),
                        "baseline by its label, {w}x{h}:\n{s}"
                    );
                }
                assert!(!both.contains("4900"), "{s}");
            }
            // The decisive columns of the breaching row are whole.
            let err = line_with(&s, "★ error rate");
            assert!(err.contains("7.50%") && err.contains("✖ CRIT"), "{err}");
            assert!(err.contains("crit > 2"), "{err}");
        }
    }
    // With room, the baseline is a second line under its row at 80 columns.
    let s = screen(&compare_state(0), 80, 24);
    assert!(s.contains("vs p95 v1 0.15% Δ+7.35 pp"), "{s}");
}

#[test]
fn enter_opens_a_detail_with_every_field_esc_enter_close_it_and_q_quits() {
    use crate::app::{update, Action, Msg};
    let mut st = state();
    st.engine.rows[0].history_at = (0..40).map(|i| mago(80 - 2 * i)).collect();
    let _ = update(&mut st, Msg::Action(Action::Submit));
    assert_eq!(st.detail(), Some("p95"));
    for (w, h) in [(80, 24), (110, 32), (200, 60)] {
        let s = screen(&st, w, h);
        for want in [
            "★ p95 latency",
            "Value",
            "2400 ms  ✖ CRIT",
            "Threshold",
            "crit > 2000 (applies: CRIT)",
            "warn > 1000 · crit > 2000",
            "In band",
            "CRIT for 1m12s (since 20:39:55)",
            "Baseline",
            "p95 v1 800 ms Δ+1600 ms (+200%)",
            "Streak",
            "5 polls at CRIT",
            "trips after 30s (for)",
            "Advice",
            "roll back if it holds",
            "Source",
            "metrics: ok, polled 2s ago in 120 ms",
            "Last error",
            "Trend",
            "▁▁",
            "Scale",
            "min 800 ms · max 2360 ms · last 40 samples over 1m18s",
            "Enter Esc close",
        ] {
            assert!(s.contains(want), "{want:?} at {w}x{h}:\n{s}");
        }
    }
    // A row of a down source: its last error, and its no-data state with the age.
    let _ = update(&mut st, Msg::Action(Action::Move(3)));
    assert_eq!(
        st.detail(),
        Some("health"),
        "up/down move to the next row's detail"
    );
    let s = screen(&st, 80, 24);
    for want in [
        "no data  ? ERROR: connection refused",
        "last good 200 45s ago",
        "flags: DOWN, 3 failed polls",
        "last ok",
        "connection refused",
    ] {
        assert!(s.contains(want), "{want:?}:\n{s}");
    }
    let _ = update(&mut st, Msg::Action(Action::Escape));
    assert_eq!(st.detail(), None);
    for close in [Action::Escape, Action::Submit] {
        let _ = update(&mut st, Msg::Action(Action::Submit));
        assert!(st.detail().is_some());
        let _ = update(&mut st, Msg::Action(close));
        assert_eq!(st.detail(), None, "{close:?} closes");
        assert!(
            !st.wants_quit(),
            "{close:?} closes the detail, it does not quit"
        );
    }
    // Quit (q, Ctrl-C) quits over the detail, as it does over help and the menu.
    let _ = update(&mut st, Msg::Action(Action::Submit));
    let _ = update(&mut st, Msg::Action(Action::Quit));
    assert!(st.wants_quit(), "quit over the detail quits");
    // Enter elsewhere than the signals panel opens nothing.
    let _ = update(&mut st, Msg::Action(Action::FocusNext));
    let _ = update(&mut st, Msg::Action(Action::Submit));
    assert_eq!(st.detail(), None);
}

#[test]
fn the_detail_follows_its_row_live() {
    use crate::app::{update, Action, Msg};
    let mut st = state();
    let _ = update(&mut st, Msg::Action(Action::Submit));
    assert!(screen(&st, 80, 24).contains("2400 ms  ✖ CRIT"));
    // A new sample: the row moves; the open detail reads it on the next frame.
    let r = &mut st.engine.rows[0];
    r.value = Some(Value::Num(900.0));
    r.status = Status::Band(Band::Ok);
    r.band = Band::Ok;
    r.effective = Band::Ok;
    r.history.push_back(900.0);
    r.baseline.as_mut().unwrap().delta = Some(100.0);
    r.baseline.as_mut().unwrap().delta_pct = Some(12.6);
    let s = screen(&st, 80, 24);
    assert!(s.contains("900 ms  ✔ OK"), "{s}");
    assert!(s.contains("warn > 1000 (applies: next)"), "{s}");
    assert!(s.contains("Δ+100 ms (+13%)"), "{s}");
    // Its row gone (a series that left the answer): said, not another row shown.
    st.engine.rows.remove(0);
    let s = screen(&st, 80, 24);
    assert!(s.contains("this row is gone"), "{s}");
}

#[test]
fn wide_terminals_show_whole_labels_and_80_columns_keep_band_and_value() {
    let mut st = compare_state(12);
    let long = "p95 /api/v1/portfolio/summary/by-client/with-positions-and-f";
    assert_eq!(long.chars().count(), 60);
    st.engine.rows[0].label = long.into();
    let s = screen(&st, 300, 60);
    // The row (the selected one), not the banner that names it too.
    assert!(line_with(&s, "▸★").contains(long), "{s}");
    // Whole events too, on a wide terminal.
    st.events.push_back(Event {
        at: ago(1),
        mono: mago(1),
        severity: Severity::Warn,
        kind: EventKind::Note {
            text: String::new(),
        },
        text: "metrics down: connection refused by 10.0.0.1:9090 — 15 rows no data, backing off"
            .into(),
    });
    let s = screen(&st, 300, 60);
    assert!(s.contains("backing off"), "{s}");
    let s = screen(&st, 120, 40);
    assert!(
        s.contains("10.0.0.1:9090") && s.contains("15 rows no data"),
        "a long event wraps:\n{s}"
    );

    let s = screen(&st, 80, 24);
    let panel = signals_panel(&s);
    assert!(panel.len() >= 8, "{s}");
    let mut cut = 0;
    for l in &panel {
        // Every visible row: its band word and a value (or its no-data age).
        assert!(
            ["CRIT", "WARN", "OK", "ERROR", "EMPTY", "STALE"]
                .iter()
                .any(|b| l.contains(b)),
            "band missing: {l}\n{s}"
        );
        assert!(
            l.contains('%') || l.contains(" ms") || l.contains(" ago ") || l.contains("never"),
            "value missing: {l}\n{s}"
        );
        cut += usize::from(l.contains('…'));
    }
    assert!(cut > 0, "labels are what is cut at 80:\n{s}");
    let p95 = line_with(&s, "▸★");
    assert!(!p95.contains(long) && p95.contains("✖ CRIT"), "{p95}");
}

#[test]
fn a_wide_character_label_is_cut_whole_characters() {
    let mut st = compare_state(12);
    // No short leading word: the cut keeps both ends, measured in columns, not characters.
    st.engine.rows[0].label = "東京大阪名古屋札幌福岡広島仙台京都神戸横浜".into();
    let buf = draw(&st, &theme(), 80, 24);
    let s = text(&buf);
    let l = line_with(&s, "▸★");
    assert!(l.contains('…') && l.contains("✖ CRIT"), "{l}");
    assert!(
        l.contains("東 京") && l.contains("横 浜"),
        "both ends, whole: {l}"
    );
    // The value column lines up with the rows of narrow labels: the cut label took its
    // columns, no more (cells, not characters: a wide one spans two).
    let end_of = |needle: &str| {
        (0..24u16)
            .find_map(|y| {
                let cells: Vec<&str> = (0..80u16).map(|x| buf[(x, y)].symbol()).collect();
                let line: String = cells.concat();
                line.contains(needle).then(|| {
                    let mut x = 0;
                    let mut acc = String::new();
                    for c in &cells {
                        acc.push_str(c);
                        x += 1;
                        if acc.contains(needle) {
                            break;
                        }
                    }
                    x
                })
            })
            .expect("the row")
    };
    assert_eq!(end_of("2400 ms"), end_of("0.20%"), "{s}");
}

#[test]
fn snapshot_detail_80x24() {
    let mut st = state();
    st.engine.rows[0].history_at = (0..40).map(|i| mago(80 - 2 * i)).collect();
    let _ = crate::app::update(&mut st, crate::app::Msg::Action(crate::app::Action::Submit));
    insta::assert_snapshot!("detail_80x24", screen(&st, 80, 24));
}

#[test]
fn snapshot_compare_rows_80x24_and_110x32() {
    insta::assert_snapshot!("compare_80x24", screen(&compare_state(12), 80, 24));
    insta::assert_snapshot!("compare_110x32", screen(&compare_state(12), 110, 32));
}
