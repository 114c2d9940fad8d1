//! Shared pieces of the integration tests: the simulator in-process on an ephemeral
//! loopback port, the demo config pointed at it, and a fixed clock.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use std::sync::Arc;
use std::time::Duration;
use warroom::config::Config;
use warroom::poll::{poll_once, Clients};
use warroom::sample::{Mono, PollResult, Stamp, Ts};
use warroom::sim::{self, Profile, Scenario, SimHandle, SimOptions};

pub const TOKEN: &str = "s3cr3t-test-token-4f1d";

/// 2026-11-25 21:00:00 UTC: the fixed T0 of the screen tests.
pub fn t0() -> Ts {
    Utc.with_ymd_and_hms(2026, 11, 25, 21, 0, 0)
        .single()
        .expect("valid date")
}

pub fn at(offset_secs: i64) -> Ts {
    t0() + chrono::Duration::seconds(offset_secs)
}

/// Both clocks at `offset_secs` from T0, in step (the fake monotonic origin is arbitrary).
pub fn stamp(offset_secs: i64) -> Stamp {
    Stamp::new(at(offset_secs), Mono(1_000_000 + offset_secs * 1000))
}

pub async fn start_sim(scenario: Scenario) -> SimHandle {
    let mut opts = SimOptions::new(Profile::Brokers);
    opts.scenario = scenario;
    opts.token = Some(TOKEN.into());
    // Longer than the demo config's 1.5 s poll time-out, short enough to end fast.
    opts.slow_delay = Duration::from_secs(4);
    sim::start(opts)
        .await
        .expect("simulator starts on loopback")
}

/// The demo's bundled config (the brokers runbook) against this simulator.
pub fn demo_config(sim: &SimHandle) -> Arc<Config> {
    Arc::new(warroom::demo::demo_config(&sim.base_url(), TOKEN).expect("demo config loads"))
}

/// Poll every source once, stamping the results with a fixed time.
pub async fn poll_all_at(cfg: &Config, when: Stamp) -> Vec<PollResult> {
    let clients = Clients::for_config(cfg).expect("clients");
    let mut out = Vec::new();
    for s in &cfg.sources {
        let client = clients.get(s).expect("client for source");
        let mut r = poll_once(client, s).await;
        r.at = when.at;
        r.mono = when.mono;
        out.push(r);
    }
    out
}

use warroom::app::{Msg, State};
use warroom::session::{Session, SessionOptions};

/// A session (the dashboard without the terminal) on `cfg`, auditing to `audit`.
pub async fn session(
    cfg: Arc<Config>,
    audit: &std::path::Path,
    read_only: bool,
) -> (Session, warroom::session::Inbox) {
    session_recording(cfg, audit, read_only, None).await
}

/// As `session`, recording to `record`.
pub async fn session_recording(
    cfg: Arc<Config>,
    audit: &std::path::Path,
    read_only: bool,
    record: Option<&std::path::Path>,
) -> (Session, warroom::session::Inbox) {
    let mut c = (*cfg).clone();
    let (redactor, _warnings) = warroom::secure::secure(&mut c).expect("secrets");
    let redact = redactor.into_fn();
    Session::start(SessionOptions {
        cfg: Arc::new(c),
        t0: Some(chrono::Utc::now()),
        read_only,
        user: "alice".into(),
        audit_log: Some(audit.to_path_buf()),
        redact,
        now: Stamp::now(),
        record: record.map(|p| p.to_path_buf()),
    })
    .await
    .expect("session starts")
}

/// Type keys as the terminal would deliver them.
pub fn keys(s: &mut Session, input: &str) {
    for ch in input.chars() {
        let code = match ch {
            '\n' => crossterm::event::KeyCode::Enter,
            '\x1b' => crossterm::event::KeyCode::Esc,
            c => crossterm::event::KeyCode::Char(c),
        };
        let ev = crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE);
        if let Some(a) = s.state.keys().action_for(ev, s.state.text_entry()) {
            s.handle(Msg::Action(a));
        }
    }
}

/// Feed the session its messages and a real clock until `done` holds or `limit` passes.
pub async fn drive_until(
    s: &mut Session,
    rx: &mut warroom::session::Inbox,
    limit: Duration,
    done: impl Fn(&State) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    while tokio::time::Instant::now() < deadline {
        if done(&s.state) {
            return true;
        }
        tokio::select! {
            Some(m) = rx.recv() => s.receive(m),
            _ = tick.tick() => s.handle(Msg::Tick(Stamp::now())),
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
    done(&s.state)
}

/// Everything on the screen, as text.
pub fn render_text(state: &State, w: u16, h: u16) -> String {
    let theme =
        warroom::theme::Theme::load(None, warroom::theme::ThemeOptions::default()).expect("theme");
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("term");
    term.draw(|f| warroom::ui::render(f, state, &theme))
        .expect("draw");
    warroom::ui::dump(term.backend().buffer())
        .into_iter()
        .map(|l| l + "\n")
        .collect()
}

pub fn rollback_posts(sim: &SimHandle) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v1/admin/flags/brokers_v1_modules")
        .count()
}

/// The simulator of one profile, with the test token.
pub async fn start_profile(profile: warroom::sim::Profile, scenario: Scenario) -> SimHandle {
    let mut opts = SimOptions::new(profile);
    opts.scenario = scenario;
    opts.token = Some(TOKEN.into());
    opts.slow_delay = Duration::from_secs(4);
    sim::start(opts)
        .await
        .expect("simulator starts on loopback")
}

/// A preset as `warroom init` prints it, with its variables pointing at `sim`.
pub fn load_preset(name: &str, sim: &SimHandle) -> Config {
    let text = warroom::presets::get(name).unwrap_or_else(|| panic!("no preset {name}"));
    // The drill's variables, as `warroom demo` gives them: the address and token, Datadog on
    // the same address, the simulated backend's `.env` and MongoDB.
    let vars = warroom::demo::drill_vars(sim, TOKEN);
    warroom::demo::load_with(text, &format!("<{name} preset>"), &vars)
        .unwrap_or_else(|e| panic!("the {name} preset loads against the simulator: {e}"))
}

/// A preset at test speed, with the stand-in vendor CLIs on its commands' PATH: polls
/// every 400 ms, HTTP time-outs of 1.5 s, the banner after 1 s of crit. Keep the stand-ins
/// alive as long as the session.
pub fn brisk_preset(name: &str, sim: &SimHandle) -> (Config, warroom::sim::standin::Standins) {
    let mut cfg = load_preset(name, sim);
    for s in &mut cfg.sources {
        s.interval = warroom::config::Dur(std::time::Duration::from_millis(400));
        if s.kind != warroom::config::SourceKind::Command {
            s.timeout = warroom::config::Dur(std::time::Duration::from_millis(1500));
        }
    }
    if let Some(rw) = cfg.cutover.rollback_when.as_mut() {
        rw.critical_for = warroom::config::Dur(std::time::Duration::from_secs(1));
    }
    let standins = standins(sim);
    with_standins(&mut cfg, &standins);
    (cfg, standins)
}

/// A row by key, or a panic listing the rows there are.
pub fn row<'a>(st: &'a State, key: &str) -> &'a warroom::engine::Row {
    st.engine()
        .rows
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| {
            panic!(
                "no row {key}; rows: {:?}",
                st.engine().rows.iter().map(|r| &r.key).collect::<Vec<_>>()
            )
        })
}

/// `warroom check` once (single sample, text), as the command runs it.
pub async fn check_text(cfg: Arc<Config>) -> (i32, String) {
    let mut out = Vec::new();
    let code = warroom::check::run_check(
        warroom::check::CheckOptions {
            cfg,
            window: None,
            interval: None,
            format: warroom::check::Format::Text,
            record: None,
            redact: Arc::new(|s: &str| s.to_string()),
            notify: None,
        },
        &mut out,
    )
    .await
    .expect("check runs");
    (code, String::from_utf8(out).expect("utf-8"))
}

/// The audit log of a test, in its temporary folder.
pub fn audit_path(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("audit.jsonl")
}

/// A row's value by key.
pub fn value(st: &State, key: &str) -> Option<warroom::sample::Value> {
    row(st, key).value.clone()
}

pub fn num(st: &State, key: &str) -> f64 {
    value(st, key)
        .and_then(|v| v.as_f64())
        .unwrap_or_else(|| panic!("{key} has no number"))
}

/// Every source answered and every row has a value.
pub fn all_polled(st: &State) -> bool {
    st.engine().sources.iter().all(|s| s.polls > 0)
        && st.engine().rows.iter().all(|r| r.value.is_some())
}

/// Every source has been polled at least twice (trip rules need more than one sample).
pub fn polled_twice(st: &State) -> bool {
    st.engine().sources.iter().all(|s| s.polls >= 2)
}

/// The stand-ins for `aws`, `docker`, `mongosh`, `supervisorctl` and `sudo` (links to the
/// built warroom binary) answering from `sim`, in a private directory removed when dropped.
/// Give each command its `env()`: tests drive several simulators in one process, so the
/// process's own `PATH` is never changed.
pub fn standins(sim: &SimHandle) -> warroom::sim::standin::Standins {
    warroom::sim::standin::Standins::create(
        std::path::Path::new(env!("CARGO_BIN_EXE_warroom")),
        &sim.control_url(),
    )
    .expect("the stand-ins link to the warroom binary")
}

/// Gives every command `cfg` runs (command sources, actions and step commands) the
/// stand-ins' environment.
pub fn with_standins(cfg: &mut Config, s: &warroom::sim::standin::Standins) {
    let env = s.env();
    for src in &mut cfg.sources {
        if src.kind == warroom::config::SourceKind::Command {
            src.env.extend(env.iter().cloned());
        }
    }
    let commands = cfg
        .actions
        .iter_mut()
        .filter_map(|a| a.command.as_mut())
        .chain(cfg.steps.iter_mut().filter_map(|st| st.run.as_mut()));
    for c in commands {
        c.env.extend(env.iter().cloned());
    }
}

/// Runs the script of the step of `preset` whose title holds `title`, as the preset writes
/// its command line, with the runbooks' scripts stood in by `tests/fixtures/bin` (first on
/// PATH) and `vars` set; its captures read from the output as the screen reads them.
pub async fn run_step_script(
    preset: &str,
    title: &str,
    vars: &[(&str, &str)],
) -> (
    warroom::action::ActionOutcome,
    Vec<warroom::capture::Captured>,
) {
    let text = warroom::presets::get(preset).unwrap_or_else(|| panic!("no preset {preset}"));
    let env = |k: &str| match k {
        "WARROOM_URL" => Some("http://127.0.0.1:9".to_string()),
        "ADMIN_TOKEN" => Some(TOKEN.to_string()),
        "DD_API_KEY" | "DD_APP_KEY" => Some("capture-dd-key".to_string()),
        _ => None,
    };
    let cfg = warroom::config::load::load_str_with_env(text, preset, &env)
        .unwrap_or_else(|e| panic!("{preset}: {e}"));
    let step = cfg
        .steps
        .iter()
        .find(|s| s.title.contains(title) && s.run.is_some())
        .unwrap_or_else(|| panic!("{preset}: no step with a script titled {title:?}"));
    let mut run = step.run.clone().expect("a script");
    let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bin");
    let path = format!("{bin}:{}", std::env::var("PATH").unwrap_or_default());
    run.env.insert("PATH".into(), path);
    for (k, v) in vars {
        run.env.insert((*k).into(), (*v).into());
    }
    run.cwd = None;
    let action = warroom::config::ActionCfg {
        id: "step".into(),
        key: String::new(),
        label: step.title.clone(),
        danger: false,
        request: None,
        command: Some(run.clone()),
        confirm: None,
        verify: None,
        cooldown: None,
        requires: None,
    };
    let attempt = warroom::action::Attempt::first("step");
    let out = warroom::action::execute(&action, &[], &attempt, &|s: &str| s.to_string()).await;
    let caps = warroom::capture::extract(&run.capture, &out.output);
    (out, caps)
}

/// `name → (value, passed)` of captures, for assertions.
pub fn capture_map(
    caps: &[warroom::capture::Captured],
) -> std::collections::BTreeMap<String, (Option<String>, bool)> {
    caps.iter()
        .map(|c| (c.name.clone(), (c.value.clone(), c.passed())))
        .collect()
}
