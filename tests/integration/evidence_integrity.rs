//! Evidence that never lies: recordings appended, never truncated; write failures loud
//! (`/dev/full`); a private window recording; damaged lines skipped and named; no data
//! never a pass; and a window where one hanging source does not slow the others.

use crate::common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use warroom::check::{run_check, CheckOptions, Format};
use warroom::config::{Config, NoDataPolicy};
use warroom::record;
use warroom::replay::Replayer;
use warroom::report;
use warroom::sim::Scenario;

const FIXTURE: &str = "tests/fixtures/recordings/drill.jsonl";

fn plain() -> warroom::secrets::Redact {
    Arc::new(|s: &str| s.to_string())
}

async fn check(
    cfg: Arc<Config>,
    window: Option<Duration>,
    interval: Option<Duration>,
    format: Format,
    rec: Option<&std::path::Path>,
) -> (i32, String) {
    let mut out = Vec::new();
    let code = run_check(
        CheckOptions {
            cfg,
            window,
            interval,
            format,
            record: rec.map(|p| p.to_path_buf()),
            redact: plain(),
            notify: None,
        },
        &mut out,
    )
    .await
    .expect("check runs");
    (code, String::from_utf8(out).expect("utf-8"))
}

fn load(text: &str) -> Arc<Config> {
    Arc::new(warroom::config::load_str(text, "test.toml").expect("config loads"))
}

/// A loopback JSON server: the n-th request (from 0) gets `body(n)`.
async fn json_server(
    body: impl Fn(usize) -> serde_json::Value + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let body = Arc::new(body);
    let h = Arc::clone(&hits);
    let app = axum::Router::new().route(
        "/m",
        axum::routing::get(move || {
            let n = h.fetch_add(1, Ordering::SeqCst);
            let v = body(n);
            async move { axum::Json(v) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), hits)
}

/// A loopback port that accepts connections and never answers: a hung backend.
async fn hanging_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    format!("http://{addr}")
}

fn metric_config(base: &str, interval: &str, extra: &str) -> Arc<Config> {
    load(&format!(
        r#"
[cutover]
name = "evidence-test"
[[source]]
id = "m"
kind = "http"
url = "{base}/m"
interval = "{interval}"
timeout = "1s"
[[signal]]
id = "err"
label = "error rate"
source = "m"
kind = "metric"
path = ".err"
critical = true
crit = "> 2"
{extra}
"#
    ))
}

// ------------------------------------------------------------------ appended sessions

#[tokio::test]
async fn recording_twice_into_one_file_keeps_both_sessions() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("window.jsonl");
    let w = Some(Duration::from_millis(1200));
    let i = Some(Duration::from_millis(400));
    let (c1, t1) = check(demo_config(&sim), w, i, Format::Text, Some(&path)).await;
    assert_eq!(c1, 0, "{t1}");
    let first_len = std::fs::metadata(&path).expect("recorded").len();
    let (c2, t2) = check(demo_config(&sim), w, i, Format::Text, Some(&path)).await;
    assert_eq!(c2, 0, "{t2}");
    // The second run appended: the first session's bytes are still there, unchanged.
    assert!(std::fs::metadata(&path).expect("recorded").len() > first_len);
    let all = record::read_all(&path).expect("reads");
    assert_eq!(all.len(), 2, "two sessions");
    let ids: Vec<String> = all
        .iter()
        .map(|s| s.session().expect("a session id").to_string())
        .collect();
    assert_ne!(ids[0], ids[1]);
    for s in &all {
        assert!(s.ended, "each session has its end line");
        assert!(s.bad.is_empty(), "{:?}", s.bad);
        assert!(s
            .lines
            .iter()
            .any(|l| matches!(l, record::Line::Poll { .. })));
    }
    // Each window's own summary came from its own session.
    assert!(t2.contains("report: OK"), "{t2}");

    // `report` shows both on one timeline; `--session` selects one.
    let mut md = Vec::new();
    report::run(&path, false, None, &mut md).expect("report");
    let md = String::from_utf8(md).expect("utf-8");
    assert_eq!(md.matches("# Cutover evidence:").count(), 1, "{md}");
    assert_eq!(md.matches("## Timeline").count(), 1, "{md}");
    for id in &ids {
        let short: String = id.chars().take(8).collect();
        assert!(
            md.contains(&format!("session {short} started")),
            "{id} missing: {md}"
        );
    }
    let mut js = Vec::new();
    report::run(&path, true, Some(&ids[0]), &mut js).expect("report one");
    let v: serde_json::Value = serde_json::from_slice(&js).expect("json");
    assert_eq!(v["session"], ids[0].as_str());
    let mut all_js = Vec::new();
    report::run(&path, true, None, &mut all_js).expect("report all");
    let v: serde_json::Value = serde_json::from_slice(&all_js).expect("json");
    // The same merged structure: one timeline, the sessions listed.
    assert_eq!(v["sessions"].as_array().map(|a| a.len()), Some(2), "{v}");
    assert!(v["timeline"].is_array(), "{v}");
    let e = report::run(&path, false, Some("nope"), &mut Vec::new()).expect_err("unknown");
    assert!(e.contains(&ids[0]) && e.contains(&ids[1]), "{e}");
    sim.shutdown().await;
}

// ------------------------------------------------------------------ loud write failures

#[tokio::test]
async fn check_recording_to_dev_full_is_incomplete_and_never_exits_0() {
    let sim = start_sim(Scenario::Healthy).await;
    let full = std::path::Path::new("/dev/full");
    let (code, text) = check(demo_config(&sim), None, None, Format::Text, Some(full)).await;
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("summary: RECORDING INCOMPLETE"), "{text}");
    assert!(
        text.contains("recording /dev/full: INCOMPLETE — write failed at"),
        "{text}"
    );
    assert!(text.contains("No space left on device"), "{text}");
    // A window too, in JSON: the summary says the recording is incomplete.
    let (code, text) = check(
        demo_config(&sim),
        Some(Duration::from_millis(800)),
        Some(Duration::from_millis(400)),
        Format::Json,
        Some(full),
    )
    .await;
    assert_eq!(code, 4, "{text}");
    let summary: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("summary")).expect("json");
    assert_eq!(summary["verdict"], "recording_incomplete");
    assert_eq!(summary["recording"]["complete"], false);
    assert!(summary["report_verdict"]
        .as_str()
        .unwrap_or("")
        .starts_with("not available"));
    // A breach still wins: exit 1, and the recording is still said to be incomplete.
    sim.set_scenario(Scenario::ErrorBurst);
    let (code, text) = check(demo_config(&sim), None, None, Format::Text, Some(full)).await;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("INCOMPLETE"), "{text}");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_dashboard_recording_to_dev_full_shows_a_lasting_badge_and_an_event() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (mut s, mut rx) = session_recording(
        demo_config(&sim),
        &audit_path(&dir),
        true,
        Some(std::path::Path::new("/dev/full")),
    )
    .await;
    let told = drive_until(&mut s, &mut rx, Duration::from_secs(10), |st| {
        st.recording_failed().is_some()
    })
    .await;
    assert!(told, "the write failure never reached the screen");
    let screen = render_text(&s.state, 120, 30);
    assert!(screen.contains("RECORDING INCOMPLETE"), "{screen}");
    assert!(s
        .state
        .events()
        .iter()
        .any(|e| e.text.contains("RECORDING INCOMPLETE") && e.text.contains("/dev/full")));
    // It lasts: more polls and ticks do not clear it.
    drive_until(&mut s, &mut rx, Duration::from_secs(2), |_| false).await;
    assert!(render_text(&s.state, 120, 30).contains("RECORDING INCOMPLETE"));
    s.shutdown();
    sim.shutdown().await;
}

#[tokio::test]
async fn a_recording_without_its_end_is_never_reported_ok() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("w.jsonl");
    let (code, _) = check(
        demo_config(&sim),
        Some(Duration::from_millis(800)),
        Some(Duration::from_millis(400)),
        Format::Text,
        Some(&path),
    )
    .await;
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&path).expect("recording");
    let whole = report::build(record::parse(&text).expect("parses")).expect("report");
    assert!(whole.verdict.starts_with("OK"), "{}", whole.verdict);
    // The disk filled (or the process was killed) before the end line: never OK.
    let cut: String = text
        .lines()
        .filter(|l| !l.contains("\"type\":\"end\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let rep = report::build(record::parse(&cut).expect("parses")).expect("report");
    assert!(rep.verdict.starts_with("INCOMPLETE"), "{}", rep.verdict);
    assert!(!rep.complete);
    assert!(report::markdown(&rep).contains("without an end line"));
    sim.shutdown().await;
}

// ------------------------------------------------------------------ private temp file

#[tokio::test]
async fn the_window_recording_never_follows_a_link_at_the_old_predictable_path() {
    let sim = start_sim(Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("tmp");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"").expect("victim");
    let planted = std::env::temp_dir().join(format!("warroom-check-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&planted);
    std::os::unix::fs::symlink(&victim, &planted).expect("plant the link");
    let (code, text) = check(
        demo_config(&sim),
        Some(Duration::from_millis(800)),
        Some(Duration::from_millis(400)),
        Format::Text,
        None,
    )
    .await;
    let victim_len = std::fs::metadata(&victim).expect("victim").len();
    let link_left = std::fs::symlink_metadata(&planted).is_ok();
    let _ = std::fs::remove_file(&planted);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("report: OK"),
        "the window still has its report:\n{text}"
    );
    assert_eq!(
        victim_len, 0,
        "the recording was written through the planted link"
    );
    assert!(link_left, "the planted link was touched");
    sim.shutdown().await;
}

// ------------------------------------------------------------------ damaged lines

#[tokio::test]
async fn a_bad_byte_in_a_middle_line_is_named_and_the_rest_is_kept() {
    let text = std::fs::read(FIXTURE).expect("fixture");
    let mut lines: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(|l| l.to_vec()).collect();
    // Line 8: one invalid byte. Line 17: a multi-byte character cut in half. Line 26: a
    // line over the 4 MiB cap. All three are clock lines; the rest is whole.
    lines[7].insert(10, 0xFF);
    let mut cut = lines[16][..20].to_vec();
    cut.push(0xC3);
    cut.extend_from_slice(&lines[16][20..]);
    lines[16] = cut;
    lines[25] = vec![b'x'; 4 * 1024 * 1024 + 10];
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("damaged.jsonl");
    std::fs::write(&path, lines.join(&b'\n')).expect("write");

    let rec = record::read(&path).expect("still readable");
    let named: Vec<usize> = rec.bad.iter().map(|(n, _)| *n).collect();
    assert_eq!(named, vec![8, 17, 26], "{:?}", rec.bad);
    assert!(rec.bad[0].1.contains("invalid UTF-8"), "{:?}", rec.bad);
    assert!(rec.bad[2].1.contains("line cap"), "{:?}", rec.bad);

    let mut md = Vec::new();
    report::run(&path, false, None, &mut md).expect("report works");
    let md = String::from_utf8(md).expect("utf-8");
    assert!(md.contains("**Verdict: ROLLED BACK"), "{md}");
    for n in [8, 17, 26] {
        assert!(md.contains(&format!("- line {n}: ")), "line {n} not named");
    }

    // Replay reads it too and reaches the same end state as the whole fixture.
    let whole = record::parse(&String::from_utf8(text).expect("utf-8")).expect("fixture");
    let mut a = Replayer::new(whole).expect("replayer");
    let mut b = Replayer::new(rec).expect("replayer");
    let end = a.end();
    a.seek(end.mono);
    b.seek(end.mono);
    assert_eq!(
        render_text(&a.state, 100, 30),
        render_text(&b.state, 100, 30)
    );
}

// ------------------------------------------------------------------ no data never passes

/// The demo config with the critical endpoints' error-rate path mistyped.
fn mistyped(sim: &warroom::sim::SimHandle, policy: Option<NoDataPolicy>) -> Arc<Config> {
    let mut cfg = (*demo_config(sim)).clone();
    let sig = cfg
        .signals
        .iter_mut()
        .find(|s| s.id == "endpoint_errors")
        .expect("endpoint_errors");
    sig.path = Some(".error_rate_pcnt".into());
    sig.no_data = policy;
    Arc::new(cfg)
}

#[tokio::test]
async fn a_mistyped_path_on_a_critical_signal_is_no_data_never_a_pass() {
    let sim = start_sim(Scenario::Healthy).await;
    let (code, text) = check(mistyped(&sim, None), None, None, Format::Text, None).await;
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("summary: NO DATA"), "{text}");
    assert!(
        text.contains(
            "no data from critical signal err /api/v1/auth/login: no data in this sample"
        ),
        "{text}"
    );
    assert!(
        text.contains(".error_rate_pcnt not in the response"),
        "{text}"
    );
    // Over a window too, and its report says NO DATA.
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("w.jsonl");
    let (code, text) = check(
        mistyped(&sim, None),
        Some(Duration::from_millis(1500)),
        Some(Duration::from_millis(500)),
        Format::Text,
        Some(&path),
    )
    .await;
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("never had data"), "{text}");
    assert!(text.contains("report: NO DATA"), "{text}");
    let rep = report::build(record::read(&path).expect("recording")).expect("report");
    assert!(rep.verdict.starts_with("NO DATA"), "{}", rep.verdict);
    assert!(
        rep.verdict.contains("err /api/v1/auth/login"),
        "{}",
        rep.verdict
    );
    assert!(
        rep.no_data.iter().any(|n| n.contains("never had data")),
        "{:?}",
        rep.no_data
    );
    assert!(report::markdown(&rep).contains("## No data"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_required_source_down_at_the_end_is_no_data_in_the_report_too() {
    let sim = start_sim(Scenario::Down).await;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("w.jsonl");
    let (code, text) = check(
        demo_config(&sim),
        Some(Duration::from_millis(1000)),
        Some(Duration::from_millis(500)),
        Format::Text,
        Some(&path),
    )
    .await;
    assert_eq!(code, 3, "{text}");
    let rep = report::build(record::read(&path).expect("recording")).expect("report");
    assert!(rep.verdict.starts_with("NO DATA"), "{}", rep.verdict);
    assert!(
        rep.verdict.contains("required source health: source down")
            || rep
                .verdict
                .contains("required source health: connection refused"),
        "{}",
        rep.verdict
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_explicit_no_data_policy_is_judged_as_its_band() {
    let sim = start_sim(Scenario::Healthy).await;
    let (code, text) = check(
        mistyped(&sim, Some(NoDataPolicy::Ok)),
        None,
        None,
        Format::Text,
        None,
    )
    .await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("summary: OK"), "{text}");
    assert!(text.contains("judged by its no_data policy"), "{text}");
    let (code, text) = check(
        mistyped(&sim, Some(NoDataPolicy::Crit)),
        None,
        None,
        Format::Text,
        None,
    )
    .await;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("counts as crit"), "{text}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_critical_signal_with_data_only_at_the_start_of_a_window_is_no_data() {
    // Two good answers, then the value is gone (the path no longer in the body).
    let (base, _hits) = json_server(|n| {
        if n < 2 {
            serde_json::json!({"err": 0.5})
        } else {
            serde_json::json!({})
        }
    })
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("w.jsonl");
    let (code, text) = check(
        metric_config(&base, "200ms", ""),
        Some(Duration::from_millis(2500)),
        None,
        Format::Text,
        Some(&path),
    )
    .await;
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("no data from critical signal error rate: no data for"),
        "{text}"
    );
    assert!(
        text.contains("(stale_after 600ms)") || text.contains("stale_after"),
        "{text}"
    );
    let rep = report::build(record::read(&path).expect("recording")).expect("report");
    assert!(
        rep.verdict
            .starts_with("NO DATA — 1 critical signal without data: error rate"),
        "{}",
        rep.verdict
    );
    // Declared: no data counts as ok for this signal, so the same window passes.
    let (base, _hits) = json_server(|n| {
        if n < 2 {
            serde_json::json!({"err": 0.5})
        } else {
            serde_json::json!({})
        }
    })
    .await;
    let (code, text) = check(
        metric_config(&base, "200ms", "no_data = \"ok\""),
        Some(Duration::from_millis(2500)),
        None,
        Format::Text,
        None,
    )
    .await;
    assert_eq!(code, 0, "{text}");
}

#[test]
fn the_header_names_a_critical_signal_that_never_had_data() {
    use warroom::app::{update, Msg, State};
    let cfg = metric_config("http://127.0.0.1:1", "1s", "");
    let mut st = State::new(Arc::clone(&cfg), stamp(0), Some(t0()), "ana".into());
    for s in 0..10 {
        let p = warroom::sample::PollResult {
            source: "m".into(),
            at: at(s),
            mono: stamp(s).mono,
            latency_ms: 3,
            outcome: warroom::sample::PollOutcome::Json {
                status: 200,
                body: serde_json::json!({"error_rate": 0.5}),
            },
        };
        let poll = Msg::readings(st.engine(), &p);
        update(&mut st, poll);
        update(&mut st, Msg::Tick(stamp(s)));
    }
    let screen = render_text(&st, 100, 30);
    assert!(screen.contains("NO DATA: error rate"), "{screen}");
    assert!(!screen.contains("ALL OK"), "{screen}");
    // Data arrives: the header lets go.
    let p = warroom::sample::PollResult {
        source: "m".into(),
        at: at(11),
        mono: stamp(11).mono,
        latency_ms: 3,
        outcome: warroom::sample::PollOutcome::Json {
            status: 200,
            body: serde_json::json!({"err": 0.5}),
        },
    };
    let poll = Msg::readings(st.engine(), &p);
    update(&mut st, poll);
    update(&mut st, Msg::Tick(stamp(11)));
    assert!(!render_text(&st, 100, 30).contains("NO DATA: error rate"));
}

// ------------------------------------------------------------------ one schedule per source

#[tokio::test]
async fn a_source_hanging_to_its_time_out_does_not_slow_the_others_in_a_window() {
    let (base, hits) = json_server(|_| serde_json::json!({"err": 0.5})).await;
    let hang = hanging_server().await;
    let cfg = load(&format!(
        r#"
[cutover]
name = "evidence-pace"
[[source]]
id = "fast"
kind = "http"
url = "{base}/m"
interval = "250ms"
timeout = "1s"
[[source]]
id = "hang"
kind = "http"
url = "{hang}/never"
interval = "250ms"
timeout = "2s"
required = false
[[signal]]
id = "err"
source = "fast"
kind = "metric"
path = ".err"
critical = true
crit = "> 2"
"#
    ));
    let (code, text) = check(cfg, Some(Duration::from_secs(4)), None, Format::Text, None).await;
    assert_eq!(code, 0, "{text}");
    // 250 ms for 4 s is 16 polls; lock-step behind a 2 s time-out would be 2 or 3.
    let fast = hits.load(Ordering::SeqCst);
    assert!(
        fast >= 8,
        "the fast source was polled {fast} times:\n{text}"
    );
    assert!(
        text.contains("source hang fell behind its 250ms interval"),
        "{text}"
    );
    assert!(!text.contains("source fast fell behind"), "{text}");
    assert!(text.contains("fast ok"), "{text}");
    assert!(text.contains("hang no answer"), "{text}");
}
