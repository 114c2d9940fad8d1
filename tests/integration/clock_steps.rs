//! The wall clock steps (NTP, `date -s`) by an hour either way while warroom runs: no
//! band, staleness, countdown or recorded duration may change; the shown time follows.
//!
//! The real binary runs under libfaketime with a control file, so the test steps the
//! clock of a running process. `FAKETIME_DONT_FAKE_MONOTONIC=1` leaves `CLOCK_MONOTONIC`
//! alone (libfaketime fakes it too by default), which is what an NTP step does: Rust's
//! `Instant` reads `clock_gettime(CLOCK_MONOTONIC)` through libc, `SystemTime` reads
//! `CLOCK_REALTIME`, and only the latter moves. Without libfaketime (or tmux, for the
//! dashboard) those tests are skipped, unless `CI` is set.
//!
//! A report over a recording with a step inside a breach runs everywhere.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_warroom");
/// Generous: a debug build on a loaded machine.
const WAIT: Duration = Duration::from_secs(20);

// ------------------------------------------------------------- a source to poll

/// An HTTP source answering `{"v": <value>}` on any path; the test sets the value.
struct Source {
    port: u16,
    value: Arc<AtomicU64>,
}

impl Source {
    fn start(v: f64) -> Source {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let value = Arc::new(AtomicU64::new(v.to_bits()));
        let shared = Arc::clone(&value);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let value = Arc::clone(&shared);
                std::thread::spawn(move || serve(conn, &value));
            }
        });
        Source { port, value }
    }

    fn set(&self, v: f64) {
        self.value.store(v.to_bits(), Ordering::SeqCst);
    }
}

/// Keep-alive HTTP/1.1: answer every request on the connection until it closes.
fn serve(conn: std::net::TcpStream, value: &AtomicU64) {
    let mut w = match conn.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut r = BufReader::new(conn);
    loop {
        let mut line = String::new();
        // The request line and headers, up to the blank line (GET: no body).
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" || line == "\n" => break,
                Ok(_) => {}
            }
        }
        let body = format!(
            "{{\"v\": {}}}",
            f64::from_bits(value.load(Ordering::SeqCst))
        );
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if w.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// A metric `v` (crit > 2) and a health check on the same source, both critical, with
/// rollback advice after 30 s of crit and values stale after 10 s.
fn config(dir: &Path, src: &Source, for_: &str) -> PathBuf {
    let text = format!(
        r#"
[cutover]
name = "clock steps"
rollback_when = {{ critical_for = "30s" }}

[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:{port}/m"
interval = "1s"
timeout = "2s"

[[signal]]
id = "v"
label = "value"
source = "m"
kind = "metric"
path = ".v"
critical = true
crit = "> 2"
stale_after = "10s"
{for_}

[[signal]]
id = "up"
label = "api up"
source = "m"
kind = "health"
critical = true
stale_after = "10s"
"#,
        port = src.port
    );
    let path = dir.join("cutover.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

// ------------------------------------------------------------- libfaketime

/// The preload library, if installed (its directory differs per architecture).
fn libfaketime() -> Option<PathBuf> {
    let mut dirs = vec![
        PathBuf::from("/usr/lib/faketime"),
        PathBuf::from("/usr/local/lib/faketime"),
    ];
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        dirs.extend(entries.flatten().map(|e| e.path().join("faketime")));
    }
    let found = dirs
        .into_iter()
        .map(|d| d.join("libfaketimeMT.so.1"))
        .find(|p| p.exists());
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("libfaketime is not installed but CI is set: install the faketime package");
        }
        eprintln!("libfaketime not found: skipping (install the faketime package to run this)");
    }
    found
}

/// The clock of every process started with `env()`: stepped by writing an offset.
struct FakeClock {
    lib: PathBuf,
    file: PathBuf,
}

impl FakeClock {
    fn new(dir: &Path) -> Option<FakeClock> {
        let lib = libfaketime()?;
        let file = dir.join("faketime.rc");
        let c = FakeClock { lib, file };
        c.set_offset(0);
        Some(c)
    }

    /// The wall clock runs `secs` off the real one from now on; the monotonic clock never.
    fn set_offset(&self, secs: i64) {
        // Write then rename: the reader never sees a half-written offset.
        let tmp = self.file.with_extension("tmp");
        std::fs::write(&tmp, format!("{secs:+}\n")).expect("write faketime offset");
        std::fs::rename(&tmp, &self.file).expect("replace faketime offset");
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("LD_PRELOAD".into(), self.lib.display().to_string()),
            (
                "FAKETIME_TIMESTAMP_FILE".into(),
                self.file.display().to_string(),
            ),
            ("FAKETIME_NO_CACHE".into(), "1".into()),
            ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
            // The variable's older name, for older libfaketime releases.
            ("DONT_FAKE_MONOTONIC".into(), "1".into()),
        ]
    }
}

// ------------------------------------------------------------- check --window

/// `check --window 12s --interval 1s --format json` on a breach with `for = "5s"`, the
/// wall clock stepped by `step` right after the first poll.
fn check_window_with_step(step: i64) {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(clock) = FakeClock::new(dir.path()) else {
        return;
    };
    let src = Source::start(3.0);
    let cfg = config(dir.path(), &src, "for = \"5s\"");
    let mut child = Command::new(BIN)
        .args(["check", "-c", cfg.to_str().unwrap()])
        .args(["--window", "12s", "--interval", "1s", "--format", "json"])
        .envs(clock.env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start warroom check");
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines: Vec<serde_json::Value> = Vec::new();
    for line in out.lines() {
        let line = line.expect("read check output");
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["type"] == "poll" && lines.iter().all(|l| l["type"] != "poll") {
            clock.set_offset(step);
        }
        lines.push(v);
    }
    let code = child.wait().expect("check exits").code();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let polls: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "poll").collect();
    let ctx = format!("step {step}s, exit {code:?}\n{err}\n{lines:#?}");
    assert!(polls.len() >= 6, "too few polls: {ctx}");
    // The step happened: the second poll's wall time is about `step` after the first's.
    let at = |p: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(p["at"].as_str().unwrap_or("")).expect("poll time")
    };
    let gap = (at(polls[1]) - at(polls[0])).num_seconds();
    assert!((gap - step).abs() <= 5, "the clock did not step: {ctx}");
    let status = |p: &serde_json::Value| {
        p["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["key"] == "v"))
            .map(|r| r["status"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    // `for` 5 s: one second after the breach began it has not tripped, step or not…
    assert_eq!(status(polls[1]), "ok", "{ctx}");
    // …and it does trip, after about five seconds of it.
    assert!(polls.iter().any(|p| status(p) == "crit"), "{ctx}");
    for p in &polls {
        assert!(
            !p.to_string().contains("\"stale\""),
            "a row went stale: {ctx}"
        );
    }
    let summary = lines.last().expect("summary");
    assert_eq!(summary["type"], "summary", "{ctx}");
    assert_eq!(code, Some(1), "{ctx}");
    let breach = summary["breaches"][0].as_str().unwrap_or("");
    assert!(breach.starts_with("value 3 (crit > 2) for "), "{ctx}");
    assert!(!breach.contains('h'), "an hour-long breach: {ctx}");
}

#[test]
fn check_window_trips_for_on_time_across_a_forward_step() {
    check_window_with_step(3_600);
}

#[test]
fn check_window_trips_for_on_time_across_a_backward_step() {
    check_window_with_step(-3_600);
}

// ------------------------------------------------------------- the dashboard

/// A tmux server of its own (socket in a temp dir), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(dir: &Path) -> Option<Tmux> {
        let ok = Command::new("tmux")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            if std::env::var_os("CI").is_some() {
                panic!("tmux is not installed but CI is set");
            }
            eprintln!("tmux not found: skipping");
            return None;
        }
        Some(Tmux {
            socket: dir.join("tmux.sock").display().to_string(),
        })
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-S", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "clock-step"])
    }

    /// Wait for `cond` on the screen; the last screen either way.
    fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.screen();
            if cond(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

/// The header's `HH:MM:SS UTC`, as seconds of the day.
fn shown_time(screen: &str) -> Option<i64> {
    let i = screen.find(" UTC")?;
    let hms = screen.get(i.checked_sub(8)?..i)?;
    let mut parts = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    Some(h * 3600 + m * 60 + s)
}

/// Is the header within a few seconds of the real time plus `offset`?
fn shows_time_off_by(screen: &str, offset: i64) -> bool {
    let now = chrono::Utc::now().timestamp() + offset;
    let want = now.rem_euclid(86_400);
    shown_time(screen).is_some_and(|t| {
        let d = (t - want).rem_euclid(86_400);
        d.min(86_400 - d) <= 4
    })
}

/// No row stale, no rollback advice, for `secs` seconds (the values keep arriving).
fn holds_for(t: &Tmux, secs: u64, why: &str) {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        let s = t.screen();
        assert!(!s.contains("STALE"), "{why}: a row went stale:\n{s}");
        assert!(
            !s.contains("ROLLBACK ADVISED"),
            "{why}: false rollback advice:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn the_dashboard_shows_a_step_and_keeps_every_band_and_duration() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(clock) = FakeClock::new(dir.path()) else {
        return;
    };
    let Some(t) = Tmux::new(dir.path()) else {
        return;
    };
    let src = Source::start(0.5);
    let cfg = config(dir.path(), &src, "");
    let rec = dir.path().join("session.jsonl");
    let p = |n: &str| dir.path().join(n).display().to_string();
    let t0 = chrono::Utc::now().to_rfc3339();
    let mut argv: Vec<String> = vec!["env".into()];
    argv.extend(clock.env().into_iter().map(|(k, v)| format!("{k}={v}")));
    argv.extend([
        BIN.into(),
        "watch".into(),
        "-c".into(),
        cfg.display().to_string(),
        "--read-only".into(),
        "--t0".into(),
        t0,
        "--audit-log".into(),
        p("audit.jsonl"),
        "--log-file".into(),
        p("warroom.log"),
        "--record".into(),
        rec.display().to_string(),
    ]);
    let mut args = vec![
        "new-session",
        "-d",
        "-s",
        "clock-step",
        "-x",
        "100",
        "-y",
        "30",
        "--",
    ];
    args.extend(argv.iter().map(String::as_str));
    t.tmux(&args);

    t.wait_for("the value, ok", |s| {
        s.contains("value") && s.contains("OK") && shows_time_off_by(s, 0)
    });
    // A breach begins, then the wall clock jumps an hour ahead in the middle of it.
    src.set(3.0);
    t.wait_for("the breach", |s| s.contains("BREACH"));
    clock.set_offset(3_600);
    let s = t.wait_for("the step forward, shown", |s| {
        shows_time_off_by(s, 3_600) && s.contains("wall clock stepped +1h00m")
    });
    assert!(s.contains("T+1:00:"), "the T-clock follows the step:\n{s}");
    holds_for(&t, 4, "after +1h");
    // The breach ends two or three seconds later, and the clock steps back.
    src.set(0.5);
    t.wait_for("the breach over", |s| !s.contains("BREACH"));
    clock.set_offset(0);
    let s = t.wait_for("the step back, shown", |s| {
        shows_time_off_by(s, 0) && s.contains("wall clock stepped -1h00m")
    });
    assert!(s.contains("T+00:"), "the T-clock follows the step:\n{s}");
    holds_for(&t, 4, "after -1h");
    t.tmux(&["send-keys", "-t", "clock-step", "q"]);
    let deadline = Instant::now() + WAIT;
    while !std::fs::read_to_string(&rec).is_ok_and(|r| r.contains("\"type\":\"end\"")) {
        assert!(Instant::now() < deadline, "the recording never ended");
        std::thread::sleep(Duration::from_millis(200));
    }

    // The report measures the breach on the monotonic clock: seconds, not an hour.
    let out = Command::new(BIN)
        .args(["report", rec.to_str().unwrap(), "--format", "json"])
        .output()
        .expect("run report");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    let breaches = report["breaches"].as_array().expect("breaches");
    assert_eq!(breaches.len(), 1, "{report:#}");
    let d = breaches[0]["duration"].as_str().unwrap_or("");
    assert!(
        d.ends_with('s') && !d.contains('h') && !d.contains('m') && d != "0s",
        "the breach lasted seconds, the report says {d}: {report:#}"
    );
    let secs: i64 = report["signals"]
        .as_array()
        .and_then(|s| s.iter().find(|r| r["row"] == "value"))
        .and_then(|r| r["time_in"]["crit"].as_i64())
        .unwrap_or(-1);
    assert!((1..60).contains(&secs), "time in crit {secs}s: {report:#}");
}

// ------------------------------------------------------------- a recording

/// A recording, as the dashboard writes it: polls every second from 0 to 200 s (the
/// value crit from 40 s to 160 s), the wall clock stepped by `step` at 100 s.
fn recording_with_step(step: i64, with_mono: bool) -> String {
    let cfg_text = r#"
[cutover]
name = "clock steps"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
interval = "1s"
[[signal]]
id = "v"
label = "value"
source = "m"
kind = "metric"
path = ".v"
critical = true
crit = "> 2"
"#;
    let cfg: warroom::config::Config = toml::from_str(cfg_text).expect("config");
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-25T21:00:00Z")
        .expect("base")
        .with_timezone(&chrono::Utc);
    let wall = |s: i64| {
        let off = if s >= 100 { step } else { 0 };
        (base + chrono::Duration::seconds(s + off))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let mono = |s: i64, v: &mut serde_json::Value| {
        if with_mono {
            v["mono_ms"] = serde_json::json!(900_000 + s * 1000);
        }
    };
    let mut lines = Vec::new();
    let mut header = serde_json::json!({
        "v": 1, "type": "header", "at": wall(0), "warroom": "test", "host": "bastion-1",
        "user": "ana", "cutover": "clock steps",
        "config": serde_json::to_value(&cfg).expect("config as JSON"),
    });
    mono(0, &mut header);
    lines.push(header);
    for s in 1..=200 {
        let v = if (40..160).contains(&s) { 3.0 } else { 0.5 };
        let mut poll = serde_json::json!({
            "v": 1, "type": "poll", "source": "m", "at": wall(s), "latency_ms": 3,
            "status": 200, "rows": [{"key": "v", "signal": "v", "critical": true, "value": v}],
        });
        mono(s, &mut poll);
        lines.push(poll);
        let mut clock = serde_json::json!({"v": 1, "type": "clock", "at": wall(s)});
        mono(s, &mut clock);
        lines.push(clock);
    }
    let mut end = serde_json::json!({"v": 1, "type": "end", "at": wall(200), "reason": "quit"});
    mono(200, &mut end);
    lines.push(end);
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn report_measures_a_breach_across_a_wall_clock_step_on_the_monotonic_clock() {
    for step in [3_600, -3_600, 10] {
        let rec = warroom::record::parse(&recording_with_step(step, true)).expect("recording");
        let r = warroom::report::build(rec).expect("report");
        assert_eq!(r.breaches.len(), 1, "step {step}s: {:?}", r.breaches);
        let b = &r.breaches[0];
        assert_eq!(b.duration, "2m", "step {step}s: {b:?}");
        // Start and end are the wall times shown then: the end carries the step.
        assert_eq!(b.start, "2026-11-25T21:00:40Z");
        let end = chrono::DateTime::parse_from_rfc3339("2026-11-25T21:02:40Z").expect("end")
            + chrono::Duration::seconds(step);
        assert_eq!(
            b.end.as_deref(),
            Some(end.format("%Y-%m-%dT%H:%M:%SZ").to_string().as_str())
        );
        let v = &r.signals[0];
        assert_eq!(v.time_in.get("crit"), Some(&120), "step {step}s: {v:?}");
        assert_eq!(v.time_in.get("ok"), Some(&79), "step {step}s: {v:?}");
    }
}

#[test]
fn a_recording_without_monotonic_times_is_measured_on_its_wall_times() {
    let rec = warroom::record::parse(&recording_with_step(0, false)).expect("recording");
    let r = warroom::report::build(rec).expect("report");
    assert_eq!(r.breaches.len(), 1, "{:?}", r.breaches);
    assert_eq!(r.breaches[0].duration, "2m");
    assert_eq!(r.signals[0].time_in.get("crit"), Some(&120));
}
