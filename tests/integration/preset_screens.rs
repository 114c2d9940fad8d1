//! Each preset's screen in a breach (ROLLBACK ADVISED up) at the sizes people use — 80×24
//! (an SSH session), 110×32 (a split pane), 200×60 (the wall screen) — drawn by the real
//! render function and kept as insta snapshots.
//!
//! Deterministic: the polls are fixtures recorded from the simulator (the preset's own
//! sources, healthy, then an error burst held past the rollback rule), fed to the state at
//! their recorded times with a fake clock; nothing here reads the system clock or the
//! network. The preset itself is read as `warroom init` prints it, so a change of its
//! labels, thresholds or advice shows in the snapshots.
//!
//! The fixtures are made again (after a change of the simulator's answers or of a
//! preset's sources) with
//! `cargo test --test integration preset_screens::record_fixtures -- --ignored`.

use crate::common;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use warroom::app::{Msg, State};
use warroom::config::Config;
use warroom::sample::{Mono, PollOutcome, PollResult, Stamp};
use warroom::sim::{Profile, Scenario};

const PRESETS: [(&str, Profile); 4] = [
    ("cohortlens", Profile::Cohortlens),
    ("edn360", Profile::Edn360),
    ("hse", Profile::Hse),
    ("brokers", Profile::Brokers),
];

const SIZES: [(u16, u16); 3] = [(80, 24), (110, 32), (200, 60)];

/// How long the recording stays healthy before the error burst.
const HEALTHY: Duration = Duration::from_secs(30);
/// How long the burst is held past the rollback rule's `critical_for`.
const PAST_RULE: Duration = Duration::from_secs(45);

/// One recorded poll: its source, when (ms from the start), and what it answered.
#[derive(Debug, Serialize, Deserialize)]
struct Poll {
    source: String,
    ms: i64,
    latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failed: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Fixture {
    preset: String,
    /// The wall time of the start (payload timestamps such as Datadog's are of this day).
    start: DateTime<Utc>,
    /// T0, ms from the start.
    t0_ms: i64,
    /// The recording's end, ms from the start: the screen is drawn at this instant.
    end_ms: i64,
    polls: Vec<Poll>,
}

fn fixture_path(preset: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/screens")
        .join(format!("{preset}.json"))
}

/// The preset as `warroom init` prints it, its variables fixed (no simulator: nothing is
/// polled, and the screen shows none of them).
fn preset_config(name: &str) -> Config {
    let text = warroom::presets::get(name).expect("preset");
    let base = "http://127.0.0.1:9".to_string();
    let vars: Vec<(String, String)> = [
        ("WARROOM_URL", base.as_str()),
        ("ADMIN_TOKEN", common::TOKEN),
        ("DD_API_URL", base.as_str()),
        ("DD_API_KEY", "dd-api"),
        ("DD_APP_KEY", "dd-app"),
        ("NEW_RELIC_API_KEY", "nr"),
        ("EDN360_MONGO_URI", "mongodb://127.0.0.1:27017/edn360"),
        ("EDN360_BACKEND_DIR", "/srv/edn360/backend"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    warroom::demo::load_with(text, &format!("<{name} preset>"), &vars).expect("preset loads")
}

/// The state at the fixture's end: every poll fed at its recorded time, the clock ticking
/// each second between them, as the live loop does.
fn state_at_end(f: &Fixture) -> State {
    let cfg = Arc::new(preset_config(&f.preset));
    let mono0 = Mono(10_000_000);
    let stamp = |ms: i64| {
        Stamp::new(
            f.start + chrono::Duration::milliseconds(ms),
            Mono(mono0.0 + ms),
        )
    };
    let t0 = f.start + chrono::Duration::milliseconds(f.t0_ms);
    let mut st = State::new(cfg, stamp(0), Some(t0), "alice".into());
    let mut next_tick = 1_000;
    let tick_until = |st: &mut State, ms: i64, next_tick: &mut i64| {
        while *next_tick <= ms {
            warroom::app::update(st, Msg::Tick(stamp(*next_tick)));
            *next_tick += 1_000;
        }
    };
    for p in &f.polls {
        tick_until(&mut st, p.ms, &mut next_tick);
        let s = stamp(p.ms);
        let outcome = match (&p.body, &p.failed) {
            (Some(body), _) => PollOutcome::Json {
                status: p.status.unwrap_or(200),
                body: body.clone(),
            },
            (None, reason) => PollOutcome::Failed {
                status: p.status,
                reason: reason.clone().unwrap_or_default(),
            },
        };
        let poll = PollResult {
            source: p.source.clone(),
            at: s.at,
            mono: s.mono,
            latency_ms: p.latency_ms,
            outcome,
        };
        let msg = Msg::readings(st.engine(), &poll);
        warroom::app::update(&mut st, msg);
    }
    tick_until(&mut st, f.end_ms, &mut next_tick);
    st
}

fn load(preset: &str) -> Fixture {
    let path = fixture_path(preset);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (record it with `cargo test --test integration \
             preset_screens::record_fixtures -- --ignored`)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("fixture parses")
}

fn snapshots(preset: &str) {
    let f = load(preset);
    let st = state_at_end(&f);
    // The fixture holds a breach the rule has advised on: the screens show it.
    assert!(
        st.engine().advised.is_some(),
        "{preset}: no rollback advised at the fixture's end:\n{}",
        common::render_text(&st, 200, 60)
    );
    for (w, h) in SIZES {
        let screen = common::render_text(&st, w, h);
        assert!(
            screen.contains("ROLLBACK ADVISED"),
            "{preset} {w}x{h}:\n{screen}"
        );
        insta::assert_snapshot!(format!("{preset}_{w}x{h}"), screen);
    }
}

#[test]
fn cohortlens_in_a_breach() {
    snapshots("cohortlens");
}

#[test]
fn edn360_in_a_breach() {
    snapshots("edn360");
}

#[test]
fn hse_in_a_breach() {
    snapshots("hse");
}

#[test]
fn brokers_in_a_breach() {
    snapshots("brokers");
}

/// Records the fixtures from the simulator: every source of the preset polled at its own
/// interval, healthy for a while, then in an error burst held past the rollback rule.
/// Takes a couple of minutes (the presets' rules wait up to 60 s), all four at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "records the fixtures from the simulator; run by hand"]
async fn record_fixtures() {
    let tasks: Vec<_> = PRESETS
        .iter()
        .map(|&(name, profile)| tokio::spawn(record(name, profile)))
        .collect();
    for t in tasks {
        let f = t.await.expect("recording task");
        let text = serde_json::to_string_pretty(&f).expect("serialise") + "\n";
        let path = fixture_path(&f.preset);
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, text).expect("write fixture");
    }
}

async fn record(name: &'static str, profile: Profile) -> Fixture {
    let sim = common::start_profile(profile, Scenario::Healthy).await;
    let mut cfg = common::load_preset(name, &sim);
    let standins = common::standins(&sim);
    common::with_standins(&mut cfg, &standins);
    let clients = warroom::poll::Clients::for_config(&cfg).expect("clients");
    let rule = cfg
        .cutover
        .rollback_when
        .as_ref()
        .map_or(Duration::ZERO, |r| r.critical_for.0);
    let start = Utc::now();
    let begun = tokio::time::Instant::now();
    let burst_at = HEALTHY;
    let end = HEALTHY + rule + PAST_RULE;
    let mut due: Vec<Duration> = vec![Duration::ZERO; cfg.sources.len()];
    let mut polls = Vec::new();
    let mut burst = false;
    loop {
        let now = begun.elapsed();
        if now >= end {
            break;
        }
        if !burst && now >= burst_at {
            sim.set_scenario(Scenario::ErrorBurst);
            burst = true;
        }
        for (i, src) in cfg.sources.iter().enumerate() {
            if due[i] > now {
                continue;
            }
            due[i] = now + src.interval.0;
            let r = warroom::poll::poll_source_at(clients.get(src), src, Utc::now()).await;
            let ms = (r.at - start).num_milliseconds();
            let (status, body, failed) = match r.outcome {
                PollOutcome::Json { status, body } => (Some(status), Some(body), None),
                PollOutcome::Failed { status, reason } => (status, None, Some(reason)),
            };
            polls.push(Poll {
                source: r.source,
                ms,
                latency_ms: r.latency_ms,
                status,
                body,
                failed,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    polls.sort_by_key(|p| p.ms);
    drop(standins);
    sim.shutdown().await;
    Fixture {
        preset: name.to_string(),
        start,
        // T0 at the burst's start: the T-clock reads how long the cutover has run.
        t0_ms: (burst_at.as_millis() as i64) - 20_000,
        end_ms: end.as_millis() as i64,
        polls,
    }
}
