//! A step's script whose output says what the runbook checks: the values it captures are
//! judged on the step, in the audit log, the recording and the report — a value off its
//! expectation fails the run though the script exited 0, a value the output does not show
//! fails as "not found", and a secret in the output never shows, even when a capture's
//! regex takes it.

use crate::common::{audit_path, drive_until, keys, render_text, session_recording};
use std::sync::Arc;
use std::time::Duration;
use warroom::app::{Action, Msg, RunState};
use warroom::capture::Verdict;

const TOKEN: &str = "tok-cap7ure-5ecret-0042";

/// The no-regression script's output shape, with colour and CRLF, a mean delta past its
/// bound, no "Max delta" line, and the token printed back.
fn config() -> warroom::config::Config {
    let script = r#"printf '\033[32m✅ Ran 50 predictions\033[0m\r\n✅ Mean delta: \033[1m7.1\033[0m%%  (< 5%%)\r\nissued token: %s\n' "$TOKEN"; exit 0"#;
    let text = format!(
        r#"
[cutover]
name = "captures"
[[source]]
id = "api"
kind = "http"
url = "http://127.0.0.1:9/x"
headers = {{ Authorization = "Bearer ${{CAPTURE_TOKEN}}" }}
[[signal]]
id = "up"
source = "api"
kind = "flag"
path = ".up"
[[step]]
at = "0"
title = "No-regression run"
gate = true
[step.run]
argv = ["sh", "-c", '''{script}''']
env = {{ TOKEN = "${{CAPTURE_TOKEN}}" }}
capture = [
  {{ name = "mean_delta_pct", regex = 'Mean delta: ([0-9.]+)%', expect = "< 5", unit = "%" }},
  {{ name = "max_delta_pct", regex = 'Max delta: ([0-9.]+)%', expect = "< 10", unit = "%" }},
  {{ name = "ran", regex = 'Ran (\d+) predictions', expect = ">= 50" }},
  {{ name = "token", regex = 'issued token: (\S+)' }},
]
"#
    );
    warroom::config::load_str_with_env(&text, "captures.toml", &|k| {
        (k == "CAPTURE_TOKEN").then(|| TOKEN.to_string())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_script_that_exits_0_but_misses_its_expectation_is_failed_evidence_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let audit = audit_path(&dir);
    let rec = dir.path().join("session.jsonl");
    let (mut s, mut rx) = session_recording(Arc::new(config()), &audit, false, Some(&rec)).await;
    keys(&mut s, "!");
    keys(&mut s, "run\n");
    let ran = drive_until(&mut s, &mut rx, Duration::from_secs(20), |st| {
        st.step_runs()[0].state == RunState::Done
    })
    .await;
    assert!(ran, "the script never finished");
    let last = s.state.step_runs()[0].last.clone().unwrap();
    assert_eq!(last.exit_code, Some(0), "{last:?}");
    assert!(!last.ok, "exit 0 with a failed capture is a failed run");
    let verdicts: Vec<Verdict> = last.captures.iter().map(|c| c.verdict).collect();
    assert_eq!(
        verdicts,
        [
            Verdict::Fail,
            Verdict::NotFound,
            Verdict::Pass,
            Verdict::Redacted
        ]
    );
    assert!(
        last.output.is_empty(),
        "the state keeps the values, not the output"
    );

    // On the step: the value, the mark and the expectation.
    let screen = render_text(&s.state, 120, 40);
    assert!(screen.contains("mean_delta_pct 7.1 % ✘ (< 5)"), "{screen}");
    assert!(
        screen.contains("max_delta_pct not found in output ✘ (< 10)"),
        "{screen}"
    );
    assert!(screen.contains("ran 50 ✔ (>= 50)"), "{screen}");
    assert!(screen.contains("token redacted ✘"), "{screen}");
    assert!(!screen.contains(TOKEN), "{screen}");

    // A GO on that gate is warned about before the name is typed.
    s.handle(Msg::Action(Action::SignOff { go: true }));
    let modal = render_text(&s.state, 120, 40);
    assert!(
        modal.contains("script evidence FAILED"),
        "the sign-off modal must warn: {modal}"
    );
    keys(&mut s, "\x1b");

    // Audited, typed: the captures in the step's result record.
    let log = std::fs::read_to_string(&audit).unwrap();
    let result = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["kind"] == "step_run_result")
        .expect("a step_run_result record");
    let caps = &result["details"]["captures"];
    assert_eq!(caps[0]["name"], "mean_delta_pct");
    assert_eq!(caps[0]["value"], "7.1");
    assert_eq!(caps[0]["verdict"], "fail");
    assert_eq!(caps[1]["verdict"], "not_found");
    assert_eq!(caps[3]["verdict"], "redacted");
    assert_eq!(result["details"]["ok"], false);
    assert_eq!(result["details"]["exit_code"], 0);
    assert!(!log.contains(TOKEN), "the audit log shows the token");

    // Its record is on disk: the recording has it once the writer answers.
    let audit_ = audit.clone();
    drive_until(&mut s, &mut rx, Duration::from_secs(2), move |_| {
        std::fs::read_to_string(&audit_).is_ok_and(|l| l.contains("step_run_result"))
    })
    .await;
    drive_until(&mut s, &mut rx, Duration::from_millis(600), |_| false).await;
    s.shutdown();
    let recording = std::fs::read_to_string(&rec).unwrap();
    assert!(!recording.contains(TOKEN), "the recording shows the token");
    assert!(recording.contains("\"captures\""));

    // Reported: each capture with value, expectation and verdict; the verdict says so.
    let mut out = Vec::new();
    warroom::report::run(&rec, false, None, &mut out).unwrap();
    let md = String::from_utf8(out).unwrap();
    assert!(!md.contains(TOKEN));
    assert!(
        md.contains("  - mean_delta_pct 7.1 % ✘ (< 5) — FAIL"),
        "{md}"
    );
    assert!(
        md.contains("  - max_delta_pct not found in output ✘ (< 10) — NOT FOUND"),
        "{md}"
    );
    assert!(md.contains("- script: FAILED: exit 0"), "{md}");
    assert!(
        md.contains("captured evidence failed: No-regression run"),
        "{md}"
    );
    let mut out = Vec::new();
    warroom::report::run(&rec, true, None, &mut out).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["steps"][0]["captures"][0]["expect"], "< 5");
    assert_eq!(json["steps"][0]["captures"][0]["verdict"], "fail");
}

#[test]
fn another_screens_run_shows_its_captures_on_this_step_and_in_ascii() {
    use chrono::{TimeZone, Utc};
    use warroom::app::{update, Remote, State};
    use warroom::audit::{AuditEvent, StepRunResult};
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 5, 0).unwrap();
    let cfg = config();
    let specs = cfg.steps[0].run.as_ref().unwrap().capture.clone();
    let mut st = State::new(
        Arc::new(cfg),
        warroom::sample::Stamp::new(now, warroom::sample::Mono(1_000_000)),
        Some(now),
        "alice".into(),
    );
    let caps = warroom::capture::extract(
        &specs,
        "Ran 50 predictions\nMean delta: 3.2%\nMax delta: 4.1%\nissued token: x\n",
    );
    update(
        &mut st,
        Msg::Remote(Remote {
            at: now,
            user: "bob".into(),
            host: "b2".into(),
            cutover: None,
            environment: None,
            config: None,
            session: "s2".into(),
            event: AuditEvent::StepRunResult(StepRunResult {
                step: 0,
                title: "No-regression run".into(),
                ok: true,
                outcome: None,
                exit_code: Some(0),
                summary: "exit 0 in 1.2s".into(),
                duration_ms: 1200,
                excerpt: String::new(),
                captures: caps,
            }),
        }),
    );
    let screen = render_text(&st, 120, 40);
    assert!(screen.contains("mean_delta_pct 3.2 % ✔ (< 5)"), "{screen}");
    // `--ascii`: words for the marks.
    let theme = warroom::theme::Theme::load(
        None,
        warroom::theme::ThemeOptions {
            ascii: true,
            ..Default::default()
        },
    )
    .unwrap();
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    term.draw(|f| warroom::ui::render(f, &st, &theme)).unwrap();
    let screen: String = warroom::ui::dump(term.backend().buffer())
        .into_iter()
        .map(|l| l + "\n")
        .collect();
    assert!(screen.contains("mean_delta_pct 3.2 % OK (< 5)"), "{screen}");
    assert!(screen.contains("max_delta_pct 4.1 % OK (< 10)"), "{screen}");
    assert!(!screen.contains('✔'), "ASCII only: {screen}");
}
