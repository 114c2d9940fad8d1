//! Holds over days: judged across the cutover's recorded sessions (with the stretch none
//! watched between them), never counting another environment's; shown by `check`, the
//! report and the timeline; and a gate that waits for its holds refuses GO until then.

use chrono::{Duration as CDur, Utc};
use std::process::Command;
use std::sync::Arc;
use warroom::app::{update, Action, Effect, Modal, Msg, State};
use warroom::engine::{PollSummary, RowReading};
use warroom::record::{Line, Rec, RowLine};
use warroom::sample::{Mono, Reading, Stamp, Ts, Value};

const CFG: &str = r#"
[cutover]
name = "Shadow week"
environment = "production"

[[source]]
id = "m"
kind = "command"
argv = ["echo", "{\"err\": 0.0005}"]
interval = "1m"

[[signal]]
id = "v2_err"
source = "m"
kind = "metric"
path = ".err"
unit = "%"
scale = 100

[[step]]
id = "go"
at = "0"
title = "Cut over"
gate = true
hold_required = true
hold = [{ signal = "v2_err", is = "< 0.1%", for = "7d", max_gap = "15m" }]

[[action]]
id = "cutover"
key = "c"
label = "Make v2 primary"
requires = { gate = "go" }
command = { argv = ["true"] }
"#;

fn cfg() -> warroom::config::Config {
    warroom::config::load_str_with_env(CFG, "c.toml", &|_| None).expect("config loads")
}

/// A recorded session of `cfg`'s cutover in `environment`: a sample every five minutes
/// from `from` to `to`, each valued by `err` (a raw fraction; the signal scales it to %).
fn session(env: &str, id: &str, from: Ts, to: Ts, err: impl Fn(Ts) -> f64) -> String {
    let mut c = cfg();
    c.cutover.environment = Some(env.into());
    let mut out = String::new();
    let mut put = |l: Line| {
        out.push_str(&serde_json::to_string(&Rec { v: 1, line: l }).expect("json"));
        out.push('\n');
    };
    put(Line::Header {
        at: from,
        warroom: "test".into(),
        host: "h".into(),
        user: "u".into(),
        cutover: c.cutover.name.clone(),
        environment: c.cutover.environment.clone(),
        t0: None,
        session: Some(id.into()),
        rev: 1,
        config: serde_json::to_value(&c).expect("json"),
        mono: Some(Mono(0)),
    });
    let mut t = from;
    while t <= to {
        put(Line::Poll {
            poll: PollSummary {
                source: "m".into(),
                at: t,
                latency_ms: 3,
                status: Some(0),
                error: None,
                warning: None,
                mono: Some(Mono((t - from).num_milliseconds())),
            },
            rows: vec![RowLine {
                key: "v2_err".into(),
                signal: "v2_err".into(),
                name: None,
                critical: false,
                value: Some(Value::Num(err(t))),
                no_data: None,
                reason: None,
                age_ms: None,
            }],
        });
        t += CDur::minutes(5);
    }
    put(Line::End {
        at: to,
        mono: Some(Mono((to - from).num_milliseconds())),
        reason: "quit".into(),
        lost: 0,
        write_failed: None,
    });
    out
}

/// Two production sessions: days -6 to -3 with one bad sample on day -5, then, after
/// 1h12m nobody watched, day -3 to now. A staging rehearsal covers the gap: it must not
/// count.
fn write_sessions(dir: &std::path::Path, now: Ts) -> std::path::PathBuf {
    let prod = dir.join("warroom/shadow-week/production/sessions");
    let staging = dir.join("warroom/shadow-week/staging/sessions");
    std::fs::create_dir_all(&prod).expect("dir");
    std::fs::create_dir_all(&staging).expect("dir");
    let bad = now - CDur::days(5);
    let a_end = now - CDur::days(3);
    std::fs::write(
        prod.join("a.jsonl"),
        session("production", "a", now - CDur::days(6), a_end, |t| {
            if (t - bad).num_minutes().abs() < 3 {
                0.0014
            } else {
                0.0005
            }
        }),
    )
    .expect("write");
    let b_start = a_end + CDur::minutes(72);
    std::fs::write(
        prod.join("b.jsonl"),
        session("production", "b", b_start, now - CDur::minutes(2), |_| {
            0.0005
        }),
    )
    .expect("write");
    // The rehearsal, in the same folder a careless copy could put it: left out by its
    // environment, wherever it lies.
    let rehearsal = session("staging", "s", a_end - CDur::hours(1), b_start, |_| 0.0005);
    std::fs::write(staging.join("s.jsonl"), &rehearsal).expect("write");
    std::fs::write(prod.join("s.jsonl"), &rehearsal).expect("write");
    prod
}

#[test]
fn check_judges_a_hold_across_two_recorded_sessions_and_names_the_gap_between_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("state");
    let now = Utc::now();
    let sessions = write_sessions(&state, now);
    let cfg_path = dir.path().join("c.toml");
    std::fs::write(&cfg_path, CFG).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["check", "-c"])
        .arg(&cfg_path)
        .env("XDG_STATE_HOME", &state)
        .output()
        .expect("warroom runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("hold v2_err < 0.1 for 7d"))
        .unwrap_or_else(|| panic!("no hold line:\n{text}"));
    // Held since the second session began (2d22h48m ago), not since the first: the 1h12m
    // between them is longer than max_gap, and the rehearsal does not fill it.
    assert!(line.contains("HOLDING — held 2d22h of 7d"), "{line}");
    assert!(line.contains("gap 1h12m at"), "{line}");
    assert!(line.contains("(over the 15m allowed)"), "{line}");
    assert!(line.contains("broken at"), "{line}");
    assert!(line.contains("by 0.14%"), "{line}");

    // The report over the folder: the same verdict, judged at the end of what was recorded.
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["report", "--env", "production"])
        .arg(&sessions)
        .output()
        .expect("warroom runs");
    let md = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(md.contains("## Holds"), "{md}");
    let hold = md
        .lines()
        .find(|l| {
            l.starts_with(
                "- **HOLDING** — v2_err < 0.1 for 7d on \"Cut over\" (its gate waits for it)",
            )
        })
        .unwrap_or_else(|| panic!("no hold in the report:\n{md}"));
    assert!(hold.contains("gap 1h12m at"), "{hold}");
    assert!(hold.contains("by 0.14%"), "{hold}");
}

#[test]
fn a_week_recorded_in_two_sessions_a_few_minutes_apart_holds_in_full() {
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("state");
    let prod = state.join("warroom/shadow-week/production/sessions");
    std::fs::create_dir_all(&prod).expect("dir");
    let now = Utc::now();
    let mid = now - CDur::days(4);
    std::fs::write(
        prod.join("a.jsonl"),
        session("production", "a", now - CDur::days(8), mid, |_| 0.0005),
    )
    .expect("write");
    std::fs::write(
        prod.join("b.jsonl"),
        session(
            "production",
            "b",
            mid + CDur::minutes(10),
            now - CDur::minutes(1),
            |_| 0.0005,
        ),
    )
    .expect("write");
    let cfg_path = dir.path().join("c.toml");
    std::fs::write(&cfg_path, CFG).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["check", "-c"])
        .arg(&cfg_path)
        .args(["--format", "json"])
        .env("XDG_STATE_HOME", &state)
        .output()
        .expect("warroom runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["type"] == "summary")
        .unwrap_or_else(|| panic!("no summary:\n{text}"));
    let h = &summary["holds"][0];
    assert_eq!(h["standing"], "HELD", "{summary}");
    assert_eq!(h["step"], "Cut over");
    // The ten minutes between the sessions are within max_gap: the widest gap, told.
    assert_eq!(h["widest"]["ms"], 10 * 60_000, "{summary}");
}

// ---------------------------------------------------------------------------------------
// The gate, through `update` on a fake clock.

const DAY_MS: i64 = 86_400_000;

fn at(ms: i64) -> Stamp {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    Stamp::new(t0 + CDur::milliseconds(ms), Mono(1_000 + ms))
}

fn poll(st: &mut State, ms: i64, err: f64) {
    let summary = PollSummary {
        source: "m".into(),
        at: at(ms).at,
        latency_ms: 1,
        status: Some(0),
        error: None,
        warning: None,
        mono: Some(at(ms).mono),
    };
    let reading = RowReading {
        signal: 0,
        key: "v2_err".into(),
        name: None,
        critical: false,
        reading: Reading::Value(Value::Num(err)),
        age_ms: None,
    };
    update(st, Msg::Readings(summary, vec![reading]));
}

fn typed(st: &mut State, s: &str) {
    for c in s.chars() {
        update(st, Msg::Action(Action::Type(c)));
    }
}

fn modal_error(st: &State) -> String {
    match st.modal() {
        Some(Modal::Confirm(c)) => c.error.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// The audit records asked for are on disk.
fn written(st: &mut State, fx: &[Effect]) {
    for f in fx {
        if let Effect::Audit { id, .. } = f {
            update(st, Msg::AuditWritten { id: *id });
        }
    }
}

fn kinds(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|f| match f {
            Effect::Audit { event, .. } => Some(event.kind().to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_gate_waiting_for_its_hold_refuses_go_and_blocks_its_actions_until_the_hold_is_full() {
    let cfg = Arc::new(cfg());
    let mut st = State::new(Arc::clone(&cfg), at(0), Some(at(0).at), "alice".into());
    // No data yet: short, and said so.
    assert!(st.hold_short(0).is_some_and(|w| w.contains("no data yet")));

    // Three days of good minutes: held 3d of 7d.
    let mut ms = 0;
    while ms <= 3 * DAY_MS {
        poll(&mut st, ms, 0.0005);
        ms += 60_000;
    }
    update(&mut st, Msg::Tick(at(3 * DAY_MS)));
    let why = st.hold_short(0).expect("the hold is short");
    assert!(why.contains("held 3d of 7d"), "{why}");

    // GO is refused, with the hold's standing; nothing is recorded.
    update(&mut st, Msg::Action(Action::SignOff { go: true }));
    match st.modal() {
        Some(Modal::Confirm(c)) => {
            let shown = c.target.join("\n");
            assert!(shown.contains("GO IS REFUSED"), "{shown}");
            assert!(
                shown.contains("hold v2_err < 0.1 for 7d: HOLDING"),
                "{shown}"
            );
        }
        other => panic!("no sign-off modal: {other:?}"),
    }
    typed(&mut st, "Ana");
    let fx = update(&mut st, Msg::Action(Action::Submit));
    assert!(kinds(&fx).is_empty(), "{fx:?}");
    let err = modal_error(&st);
    assert!(
        err.starts_with("GO refused: hold v2_err < 0.1 for 7d: held 3d of 7d"),
        "{err}"
    );
    update(&mut st, Msg::Action(Action::Escape));

    // The action behind the gate is BLOCKED, naming the hold.
    let block = st.action_block(0).expect("blocked");
    assert!(block.text.contains("waits for its holds"), "{}", block.text);
    assert!(block.text.contains("held 3d of 7d"), "{}", block.text);

    // NO-GO can always be signed.
    update(&mut st, Msg::Action(Action::SignOff { go: false }));
    typed(&mut st, "Ana");
    let fx = update(&mut st, Msg::Action(Action::Submit));
    assert_eq!(kinds(&fx), vec!["signoff"], "{}", modal_error(&st));
    written(&mut st, &fx);

    // Four more days: held in full. GO is taken, its record carries the hold's standing.
    while ms <= 7 * DAY_MS + 60_000 {
        poll(&mut st, ms, 0.0005);
        ms += 60_000;
    }
    update(&mut st, Msg::Tick(at(7 * DAY_MS + 60_000)));
    assert_eq!(st.hold_short(0), None);
    update(&mut st, Msg::Action(Action::SignOff { go: true }));
    typed(&mut st, "Ana");
    let fx = update(&mut st, Msg::Action(Action::Submit));
    assert_eq!(kinds(&fx), vec!["signoff"], "{}", modal_error(&st));
    let snapshot = fx
        .iter()
        .find_map(|f| match f {
            Effect::Audit { event, .. } => Some(event.details().to_string()),
            _ => None,
        })
        .unwrap_or_default();
    assert!(
        snapshot.contains("hold v2_err < 0.1 for 7d: HELD"),
        "{snapshot}"
    );
    written(&mut st, &fx);
    assert_eq!(st.action_block(0), None);

    // One bad sample after: the action is blocked again, whatever was signed.
    poll(&mut st, ms, 0.0014);
    let block = st
        .action_block(0)
        .expect("blocked again by the broken hold");
    assert!(block.text.contains("by 0.14%"), "{}", block.text);
}

#[test]
fn the_timeline_shows_the_hold_under_its_step_at_80_columns_and_wide() {
    let cfg = Arc::new(cfg());
    let mut st = State::new(Arc::clone(&cfg), at(0), Some(at(0).at), "alice".into());
    let mut ms = 0;
    while ms <= 3 * DAY_MS {
        poll(&mut st, ms, if ms == DAY_MS { 0.0014 } else { 0.0005 });
        ms += 60_000;
    }
    update(&mut st, Msg::Tick(at(3 * DAY_MS)));
    let narrow = crate::common::render_text(&st, 80, 24);
    let line = narrow
        .lines()
        .find(|l| l.contains("hold HOLDING"))
        .unwrap_or_else(|| panic!("no hold line at 80 columns:\n{narrow}"));
    assert!(
        line.contains("1d23h/7d") || line.contains("held 1d23h of 7d"),
        "{line}"
    );
    assert!(line.contains("0.14%"), "{line}");
    let wide = crate::common::render_text(&st, 300, 60);
    let line = wide
        .lines()
        .find(|l| l.contains("hold HOLDING"))
        .unwrap_or_else(|| panic!("no hold line wide:\n{wide}"));
    assert!(line.contains("v2_err < 0.1 for 7d"), "{line}");
    assert!(line.contains("held 1d23h of 7d"), "{line}");
    assert!(line.contains("broken at 03-11 12:00 by 0.14%"), "{line}");
}

// ---------------------------------------------------------------------------------------
// The presets, where the runbooks ask for days of good numbers.

fn preset(name: &str) -> warroom::config::Config {
    let env = |k: &str| match k {
        "WARROOM_URL" => Some("http://127.0.0.1:9".to_string()),
        "ADMIN_TOKEN" => Some("holds-test-token".to_string()),
        "DD_API_KEY" | "DD_APP_KEY" => Some("holds-dd-key".to_string()),
        _ => None,
    };
    let text = warroom::presets::get(name).expect("preset");
    warroom::config::load_str_with_env(text, name, &env).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `(step id or title, hold titles, hold_required)` of every step with holds.
fn holds_of(cfg: &warroom::config::Config) -> Vec<(String, Vec<String>, bool)> {
    cfg.steps
        .iter()
        .filter(|s| !s.hold.is_empty())
        .map(|s| {
            let titles = s
                .hold
                .iter()
                .map(|h| warroom::engine::hold::HoldSpec::of(cfg, h).title())
                .collect();
            (s.name().to_string(), titles, s.hold_required)
        })
        .collect()
}

#[test]
fn the_presets_judge_the_runbooks_days_of_good_numbers() {
    let c = preset("cohortlens");
    assert_eq!(
        holds_of(&c),
        vec![
            (
                "go-cutover".into(),
                vec!["v2_err < 0.1 for 7d".into()],
                true
            ),
            (
                "go-deprecation".into(),
                vec!["v2_err < 0.1 for 7d".into(), "v2_p95 < 2000 for 7d".into()],
                true
            ),
        ]
    );
    // migrate-to-v2 waits for the 7 days of shadow mode, whoever signed.
    let st = State::new(Arc::new(c.clone()), at(0), Some(at(0).at), "alice".into());
    let migrate = c
        .actions
        .iter()
        .position(|a| a.id == "migrate-to-v2")
        .expect("action");
    let b = st.action_block(migrate).expect("blocked");
    assert!(b.text.contains("waits for its holds"), "{}", b.text);
    assert!(b.text.contains("v2_err < 0.1 for 7d"), "{}", b.text);

    let e = preset("edn360");
    assert_eq!(
        holds_of(&e),
        vec![(
            "Fase 3 · fin del monitoreo 48 h".into(),
            vec![
                "success_rate > 95 for 2d".into(),
                "duplicates == 0 for 2d".into()
            ],
            false
        )]
    );
    let h = preset("hse");
    let weekly = vec![
        "new_err < 0.1 for 7d".to_string(),
        "new_p99 < 500 for 7d".to_string(),
    ];
    assert_eq!(
        holds_of(&h),
        vec![
            ("go-50".into(), weekly.clone(), false),
            ("go-100".into(), weekly, false)
        ]
    );
}

#[test]
fn the_readme_holds_and_provider_windows_load_as_written() {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("\n### Holds over days")
        .expect("the README has a holds section");
    let body = &readme[start + 1..];
    let end = body.find("\n### Where a config").expect("and it ends");
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in body[..end].lines() {
        match &mut cur {
            None if line.trim() == "```toml" => cur = Some(String::new()),
            Some(b) if line.trim() == "```" => blocks.push(std::mem::take(b)),
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
        if line.trim() == "```" {
            cur = None;
        }
    }
    assert_eq!(blocks.len(), 5, "the hold and one window per provider");
    let env = |k: &str| match k {
        "DD_API_KEY" | "DD_APP_KEY" | "NEW_RELIC_API_KEY" => Some("readme-secret-1".to_string()),
        "NEW_RELIC_ACCOUNT_ID" => Some("1234567".to_string()),
        "TG" => Some("targetgroup/api/0123456789abcdef".to_string()),
        "ALB" => Some("app/api-alb/0123456789abcdef".to_string()),
        _ => None,
    };
    let base = "[[source]]\nid = \"m\"\nkind = \"http\"\nurl = \"http://127.0.0.1:9/m\"\n\n\
                [[signal]]\nid = \"v2_err\"\nsource = \"m\"\nkind = \"metric\"\npath = \".err\"\nunit = \"%\"\n\n";
    for b in &blocks {
        let text = if b.contains("[[step]]") {
            format!("[cutover]\nname = \"readme\"\n\n{base}{b}")
        } else {
            format!("[cutover]\nname = \"readme\"\n\n{b}")
        };
        let cfg = warroom::config::load_str_with_env(&text, "<README holds>", &env)
            .unwrap_or_else(|e| panic!("the README's block does not validate: {e}\n{text}"));
        if b.contains("[[step]]") {
            assert!(cfg.steps[0].hold_required);
            assert_eq!(cfg.steps[0].hold.len(), 1);
        }
    }
}
