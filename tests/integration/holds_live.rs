//! Holds on the live dashboard, end to end: real sessions against the simulator on
//! loopback, each recording (`--record` without a file) into the cutover's state
//! directory; a later session of the same cutover reads those recordings at start
//! (`READING` until they arrive) and counts their samples with its own live ones.

use crate::common::{drive_until, render_text, session_recording, start_sim, TOKEN};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use warroom::app::{Action, Modal, Msg, State};
use warroom::config::Config;
use warroom::session::{Inbox, Session};
use warroom::sim::{Scenario, SimHandle};

/// The state directory of every in-process session of this binary: set once, before any
/// session here reads it, so no test writes under the real home. Each test below uses a
/// cutover name of its own, so their folders never meet.
fn state_home() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().expect("tmp");
        std::env::set_var("XDG_STATE_HOME", d.path());
        d
    })
    .path()
}

/// One gate waiting for a short hold on the simulator's fallback flag, polled twice a
/// second: seconds of recorded and live samples fill it.
fn cfg(sim: &SimHandle, name: &str, env: &str) -> Config {
    let toml = format!(
        r#"
[cutover]
name = "{name}"
environment = "{env}"

[[source]]
id = "flags"
kind = "http"
url = "{base}/api/v1/admin/flags"
interval = "500ms"
timeout = "1500ms"
headers = {{ Authorization = "Bearer {TOKEN}" }}

[[signal]]
id = "legacy_fallback"
source = "flags"
kind = "flag"
path = ".flags.legacy_fallback"

[[step]]
id = "go"
at = "0"
title = "Cut over"
gate = true
hold_required = true
hold = [{{ signal = "legacy_fallback", is = "== false", for = "10s", max_gap = "6s" }}]
"#,
        base = sim.base_url()
    );
    warroom::config::load_str_with_env(&toml, "c.toml", &|_| None).expect("config loads")
}

/// A dashboard session of `cfg` recording as `--record` without a file does: a new file
/// in the cutover's state directory.
async fn recording(cfg: &Config, dir: &tempfile::TempDir, who: &str) -> (Session, Inbox) {
    state_home();
    let path = warroom::record::resolve_record_path(Some(None), cfg, chrono::Utc::now())
        .expect("record path")
        .expect("a file");
    session_recording(
        Arc::new(cfg.clone()),
        &dir.path().join(format!("audit-{who}.jsonl")),
        false,
        Some(&path),
    )
    .await
}

fn sessions_dir(cfg: &Config) -> std::path::PathBuf {
    warroom::record::session_path(cfg, chrono::Utc::now())
        .parent()
        .expect("a folder")
        .to_path_buf()
}

fn verdict(st: &State) -> warroom::engine::hold::HoldVerdict {
    st.hold_verdicts(0).into_iter().next().expect("one hold")
}

/// The hold's line in the timeline at `w` columns.
fn hold_line(st: &State, w: u16) -> String {
    let screen = render_text(st, w, 30);
    screen
        .lines()
        .find(|l| l.contains("hold "))
        .unwrap_or_else(|| panic!("no hold line at {w} columns:\n{screen}"))
        .to_string()
}

/// Sign GO as Ana: the refusal shown in the modal, or None when it was taken.
async fn sign_go(s: &mut Session, rx: &mut Inbox) -> Option<String> {
    s.handle(Msg::Action(Action::SignOff { go: true }));
    assert!(
        matches!(s.state.modal(), Some(Modal::Confirm(_))),
        "no sign-off modal"
    );
    for c in "Ana".chars() {
        s.handle(Msg::Action(Action::Type(c)));
    }
    s.handle(Msg::Action(Action::Submit));
    let error = |st: &State| match st.modal() {
        Some(Modal::Confirm(c)) => c.error.clone(),
        _ => None,
    };
    if let Some(e) = error(&s.state) {
        s.handle(Msg::Action(Action::Escape));
        return Some(e);
    }
    // Taken: the modal closes once the audit record is on disk.
    let closed = drive_until(s, rx, Duration::from_secs(10), |st| st.modal().is_none()).await;
    assert!(closed, "the sign-off never closed: {:?}", error(&s.state));
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_session_counts_the_first_sessions_recorded_samples_with_its_own() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = cfg(&sim, "Holds live two sessions", "production");

    // Session A: three seconds of good samples, short of the ten the gate waits for.
    let (mut a, mut arx) = recording(&cfg, &dir, "a").await;
    let a_start = chrono::Utc::now();
    let part = drive_until(&mut a, &mut arx, Duration::from_secs(20), |st| {
        !st.holds().waiting() && verdict(st).held_ms >= 3_000
    })
    .await;
    assert!(part, "session A never held 3s: {:?}", verdict(&a.state));
    let a_held = verdict(&a.state).held_ms;
    assert!(!verdict(&a.state).held(), "{:?}", verdict(&a.state));
    let refused = sign_go(&mut a, &mut arx).await.expect("GO refused in A");
    assert!(
        refused.starts_with("GO refused: hold legacy_fallback == false for 10s: held ")
            && refused.contains(" of 10s"),
        "{refused}"
    );
    a.shutdown();
    assert_eq!(
        std::fs::read_dir(sessions_dir(&cfg))
            .expect("sessions")
            .count(),
        1
    );

    // Session B of the same cutover: READING until its start-up read arrives.
    let (mut b, mut brx) = recording(&cfg, &dir, "b").await;
    let b_start = chrono::Utc::now();
    assert!(b.state.holds().waiting());
    let line = hold_line(&b.state, 80);
    assert!(line.contains("hold READING"), "{line}");
    let read = drive_until(&mut b, &mut brx, Duration::from_secs(20), |st| {
        !st.holds().waiting()
    })
    .await;
    assert!(read, "the recordings were never read");
    assert_eq!(b.state.holds().past(), Some("1 recorded session"));
    // Wait for B's first live sample, so the line shows A's and B's together.
    let live = drive_until(&mut b, &mut brx, Duration::from_secs(20), |st| {
        verdict(st).held_ms > a_held
    })
    .await;
    let v = verdict(&b.state);
    assert!(live, "B's samples did not extend A's: {v:?}");
    // Held since A's samples, not since B began.
    let since = v.since.expect("holding");
    assert!(since < b_start, "held only since B began: {v:?}");
    assert!(since >= a_start - chrono::Duration::seconds(1), "{v:?}");
    let line = hold_line(&b.state, 80);
    assert!(
        line.contains("hold HOLDING") || line.contains("hold HELD"),
        "{line}"
    );

    // Held in full within a few seconds more: the line says so, and GO is taken.
    let full = drive_until(&mut b, &mut brx, Duration::from_secs(20), |st| {
        verdict(st).held()
    })
    .await;
    assert!(full, "never held in full: {:?}", verdict(&b.state));
    for w in [80, 300] {
        let line = hold_line(&b.state, w);
        assert!(line.contains("hold HELD"), "{line}");
        assert!(line.contains("10s"), "{line}");
    }
    assert_eq!(sign_go(&mut b, &mut brx).await, None);
    b.shutdown();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rehearsal_in_the_same_folder_never_counts_and_a_recorded_break_is_named_later() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let name = "Holds live rehearsal and break";
    let prod = cfg(&sim, name, "production");
    let staging = cfg(&sim, name, "staging");

    // A staging rehearsal of good samples, recorded (carelessly) into production's folder.
    state_home();
    let into_prod = warroom::record::session_path(&prod, chrono::Utc::now());
    std::fs::create_dir_all(into_prod.parent().expect("folder")).expect("dir");
    let (mut r, mut rrx) = session_recording(
        Arc::new(staging.clone()),
        &dir.path().join("audit-r.jsonl"),
        false,
        Some(&into_prod),
    )
    .await;
    let rehearsed = drive_until(&mut r, &mut rrx, Duration::from_secs(20), |st| {
        !st.holds().waiting() && verdict(st).held_ms >= 3_000
    })
    .await;
    assert!(rehearsed, "{:?}", verdict(&r.state));
    r.shutdown();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // Production session A: the rehearsal is left out; a bad sample, then good ones.
    let (mut a, mut arx) = recording(&prod, &dir, "a").await;
    let a_start = chrono::Utc::now();
    let read = drive_until(&mut a, &mut arx, Duration::from_secs(20), |st| {
        !st.holds().waiting() && verdict(st).seen
    })
    .await;
    assert!(read, "{:?}", verdict(&a.state));
    let v = verdict(&a.state);
    assert!(
        v.since
            .is_some_and(|s| s >= a_start - chrono::Duration::milliseconds(500)),
        "the rehearsal counted: {v:?}"
    );
    assert!(
        a.state
            .holds()
            .past()
            .is_some_and(|p| p.contains("left out")),
        "{:?}",
        a.state.holds().past()
    );
    sim.set_flag("legacy_fallback", true);
    let broke = drive_until(&mut a, &mut arx, Duration::from_secs(20), |st| {
        verdict(st).word() == "BROKEN"
    })
    .await;
    assert!(broke, "{:?}", verdict(&a.state));
    sim.set_flag("legacy_fallback", false);
    let again = drive_until(&mut a, &mut arx, Duration::from_secs(20), |st| {
        verdict(st).held_ms >= 1_000
    })
    .await;
    assert!(again, "{:?}", verdict(&a.state));
    let a_broken = verdict(&a.state).broken.expect("the break").at;
    a.shutdown();

    // Session B: the break recorded by A is named, and held counts only from after it.
    let (mut b, mut brx) = recording(&prod, &dir, "b").await;
    let b_start = chrono::Utc::now();
    let read = drive_until(&mut b, &mut brx, Duration::from_secs(20), |st| {
        !st.holds().waiting()
    })
    .await;
    assert!(read);
    let v = verdict(&b.state);
    let broken = v.broken.clone().expect("A's break is told in B");
    assert_eq!(broken.at, a_broken);
    assert!(
        v.since.is_some_and(|s| s > a_broken && s < b_start),
        "{v:?}"
    );
    // The rehearsal is the one left out; B's own file (its samples arrive live) is not
    // another environment's.
    assert_eq!(
        b.state.holds().past(),
        Some("1 recorded session (1 of another cutover or environment left out)")
    );
    let line = hold_line(&b.state, 300);
    assert!(line.contains("broken at"), "{line}");
    assert!(line.contains("by true"), "{line}");
    let line = hold_line(&b.state, 80);
    assert!(line.contains("broke true"), "{line}");
    // Beside the short verdict, the hold's title is there to be read or not at all: never
    // cut to a letter or two.
    let first = line
        .split("hold HOLDING ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_default();
    assert!(
        first.contains('/') || first.chars().count() >= 6,
        "a stub of a title: {line}"
    );
    b.shutdown();
    sim.shutdown().await;
}
