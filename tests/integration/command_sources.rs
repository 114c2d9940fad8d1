//! `command` sources run for real: every state a run can end in (ok, a failing exit, a
//! time-out that kills the whole process group, output past the cap, unparsable output,
//! stdin at EOF, a missing program), pipelines wired without a shell, and the source
//! read through the engine and the `check` binary.

use crate::common;

use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warroom::config::{load_str, Config, Source};
use warroom::engine::{Engine, Status};
use warroom::poll::run_command_at;
use warroom::sample::{NoDataKind, PollOutcome, Value};

fn fixture(name: &str) -> String {
    let p: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "commands",
        name,
    ]
    .iter()
    .collect();
    p.to_string_lossy().into_owned()
}

/// A config with one command source (its keys as TOML lines) and a metric on it.
fn config(source_keys: &str, path: &str) -> Config {
    let text = format!(
        "[cutover]\nname = \"t\"\n\n[[source]]\nid = \"cmd\"\nkind = \"command\"\n{source_keys}\n\n\
         [[signal]]\nid = \"v\"\nsource = \"cmd\"\nkind = \"metric\"\npath = '{path}'\ncritical = true\n\
         crit = \"> 100\"\n"
    );
    match load_str(&text, "c.toml") {
        Ok(c) => c,
        Err(e) => panic!("config does not load: {e}\n{text}"),
    }
}

fn source(source_keys: &str) -> Source {
    config(source_keys, ".").sources[0].clone()
}

async fn run(keys: &str) -> PollOutcome {
    run_command_at(&source(keys), common::t0()).await.outcome
}

fn failed(o: &PollOutcome) -> &str {
    match o {
        PollOutcome::Failed { reason, .. } => reason,
        other => panic!("expected a failed run, got {other:?}"),
    }
}

fn body(o: &PollOutcome) -> &serde_json::Value {
    match o {
        PollOutcome::Json { body, .. } => body,
        other => panic!("expected output, got {other:?}"),
    }
}

#[tokio::test]
async fn command_output_is_parsed_as_json_number_text_or_lines() {
    let o = run(r#"argv = ["echo", '{"split": 10, "series": [[1, 2], [3, 4]]}']"#).await;
    assert_eq!(body(&o)["split"], json!(10));
    let o = run("argv = [\"echo\", \" 42.5 \"]\nparse = \"number\"").await;
    assert_eq!(body(&o), &json!(42.5));
    let o = run("argv = [\"echo\", \"  on \"]\nparse = \"text\"").await;
    assert_eq!(body(&o), &json!("on"));
    let o = run("argv = [\"printf\", 'a\\n\\nb\\n']\nparse = \"lines\"").await;
    assert_eq!(body(&o), &json!(["a", "b"]));
    // The value is the regex's first group.
    let o = run(
        "argv = [\"echo\", \"shadow errors: 17 (last 5m)\"]\nparse = \"number\"\nregex = 'errors: (\\d+)'",
    )
    .await;
    assert_eq!(body(&o), &json!(17.0));
    let o = run(
        "argv = [\"printf\", 'USE_X=true\\nOTHER=1\\nUSE_Y=false\\n']\nparse = \"lines\"\nregex = '^USE_\\w+=(.*)$'",
    )
    .await;
    assert_eq!(body(&o), &json!(["true", "false"]));
}

#[tokio::test]
async fn env_and_cwd_reach_the_command() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("here.txt"), "7\n").expect("write");
    let keys = format!(
        "argv = [\"sh\", \"-c\", 'cat here.txt; echo \"$WR_EXTRA\"']\nparse = \"lines\"\ncwd = \"{}\"\nenv = {{ WR_EXTRA = \"from-env\" }}",
        dir.path().display()
    );
    let o = run(&keys).await;
    assert_eq!(body(&o), &json!(["7", "from-env"]));
    // A cwd that is not there is a source error, not "program not found".
    let o = run("argv = [\"true\"]\ncwd = \"/nonexistent/warroom-cwd\"").await;
    assert!(failed(&o).contains("not a directory"), "{o:?}");
}

#[tokio::test]
async fn a_failing_exit_is_an_error_with_a_clean_redacted_stderr_excerpt() {
    let keys = format!(
        "argv = [\"{}\"]\nenv = {{ API_TOKEN = \"tok-zzz-9876543\" }}",
        fixture("fail.sh")
    );
    let o = run(&keys).await;
    let why = failed(&o);
    assert!(why.contains("exited with status 3"), "{why}");
    assert!(why.contains("access denied"), "the excerpt says why: {why}");
    assert!(
        !why.contains("tok-zzz-9876543"),
        "the token is redacted: {why}"
    );
    assert!(
        !why.chars().any(char::is_control),
        "control chars stripped: {why:?}"
    );
    assert!(why.len() < 300, "short: {why}");
    // The exit codes a source counts as success can be widened (grep says "no match" with 1).
    let keys = format!(
        "argv = [\"{}\"]\nok_exit = [0, 3]\nenv = {{ API_TOKEN = \"x\" }}",
        fixture("fail.sh")
    );
    assert_eq!(body(&run(&keys).await)["partial"], json!(true));
}

#[tokio::test]
async fn a_time_out_kills_the_whole_process_group_grandchildren_too() {
    let dir = tempfile::tempdir().expect("dir");
    let pidfile = dir.path().join("grandchild.pid");
    let keys = format!(
        "argv = [\"{}\", \"{}\"]\ntimeout = \"1s\"",
        fixture("hang.sh"),
        pidfile.display()
    );
    let started = Instant::now();
    let o = run(&keys).await;
    assert!(failed(&o).starts_with("time-out after 1s"), "{o:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "bounded by the time-out"
    );
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("the fixture wrote its grandchild's pid")
        .trim()
        .parse()
        .expect("pid");
    // Gone (or a zombie waiting for a reaper) within a generous deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or("").trim().chars().next();
        if stat.is_empty() || state == Some('Z') || state == Some('X') {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the grandchild {pid} still runs: {stat}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn output_past_the_cap_is_an_error_and_the_command_is_stopped() {
    let keys = format!(
        "argv = [\"{}\"]\nmax_output_bytes = 4096\ntimeout = \"20s\"",
        fixture("flood.sh")
    );
    let started = Instant::now();
    let o = run(&keys).await;
    assert!(
        failed(&o).contains("larger than the 4096 byte cap"),
        "{o:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopped at the cap, not at the time-out"
    );
}

#[tokio::test]
async fn unparsable_output_is_an_error_that_shows_what_came() {
    let o = run("argv = [\"echo\", \"<html>oops</html>\"]").await;
    assert!(failed(&o).starts_with("the output is not JSON"), "{o:?}");
    let o = run("argv = [\"echo\", \"twelve\"]\nparse = \"number\"").await;
    assert!(failed(&o).contains("not a number: \"twelve\""), "{o:?}");
    let o = run("argv = [\"true\"]\nparse = \"number\"").await;
    assert!(failed(&o).contains("no output"), "{o:?}");
    let o = run("argv = [\"echo\", \"nothing here\"]\nparse = \"number\"\nregex = '(\\d+)'").await;
    assert!(failed(&o).contains("does not match `regex`"), "{o:?}");
}

#[tokio::test]
async fn stdin_is_at_eof_at_once() {
    let keys = format!("argv = [\"{}\"]\ntimeout = \"10s\"", fixture("stdin.sh"));
    let started = Instant::now();
    let o = run(&keys).await;
    assert_eq!(body(&o)["stdin"], json!("eof"));
    assert!(started.elapsed() < Duration::from_secs(8));
    // `cat` with no stdin ends at once with no output.
    let o = run("argv = [\"cat\"]\nparse = \"text\"\ntimeout = \"10s\"").await;
    assert_eq!(body(&o), &json!(""));
}

#[tokio::test]
async fn a_missing_program_is_a_source_error() {
    let o = run("argv = [\"warroom-no-such-program-xyz\", \"--version\"]").await;
    assert!(
        failed(&o).starts_with("program not found: warroom-no-such-program-xyz"),
        "{o:?}"
    );
    // In a pipeline too, after the first command started (which is then stopped).
    let o = run("pipeline = [[\"yes\"], [\"warroom-no-such-program-xyz\"]]").await;
    assert!(failed(&o).contains("program not found"), "{o:?}");
}

#[tokio::test]
async fn arguments_reach_the_program_literally_no_shell_anywhere() {
    // `;`, `|`, `$(…)`, globs and quotes are text, not shell syntax.
    let o = run("argv = [\"echo\", \"a;b | c $(id) * 'q'\"]\nparse = \"text\"").await;
    assert_eq!(body(&o), &json!("a;b | c $(id) * 'q'"));
    // A pipeline warroom wires itself: stdout to stdin, case-insensitive count.
    let o = run(
        "pipeline = [[\"printf\", 'ok\\nerror 1\\nERROR 2;ls\\nfine\\n'], [\"grep\", \"-i\", \"error\"], [\"wc\", \"-l\"]]\nparse = \"number\"",
    )
    .await;
    assert_eq!(body(&o), &json!(2.0));
    // A `|` inside one command's argv is an argument, not a pipe.
    let o = run("pipeline = [[\"echo\", \"x | wc -l\"], [\"cat\"]]\nparse = \"text\"").await;
    assert_eq!(body(&o), &json!("x | wc -l"));
    // Any command of the pipeline failing fails the run (grep: 1 = no match).
    let o = run("pipeline = [[\"echo\", \"fine\"], [\"grep\", \"error\"], [\"wc\", \"-l\"]]").await;
    assert!(failed(&o).contains("grep exited with status 1"), "{o:?}");
    let o = run(
        "pipeline = [[\"echo\", \"fine\"], [\"grep\", \"error\"], [\"wc\", \"-l\"]]\nparse = \"number\"\nok_exit = [0, 1]",
    )
    .await;
    assert_eq!(body(&o), &json!(0.0));
}

#[tokio::test]
async fn time_tokens_are_rendered_in_argv_from_the_polls_time() {
    let o = run("argv = [\"echo\", \"{{now-5m:epoch}} {{now}}\"]\nparse = \"text\"").await;
    let t = common::t0();
    let want = format!(
        "{} {}",
        (t - chrono::Duration::minutes(5)).timestamp(),
        "2026-11-25T21:00:00Z"
    );
    assert_eq!(body(&o), &json!(want));
}

#[tokio::test]
async fn a_command_source_feeds_the_engine_with_paths_and_freshness() {
    let cfg = Arc::new(config(
        "argv = [\"echo\", '{\"series\": [{\"pointlist\": [[1, 5], [2, 250]]}]}']",
        ".series[0].pointlist[-1][1]",
    ));
    let now = common::stamp(0);
    let mut poll = run_command_at(&cfg.sources[0], now.at).await;
    poll.at = now.at;
    poll.mono = now.mono;
    let mut e = Engine::new(Arc::clone(&cfg), common::stamp(-1).mono);
    e.ingest(&poll);
    let row = &e.rows[0];
    assert_eq!(row.value, Some(Value::Num(250.0)));
    assert_eq!(row.effective, warroom::engine::Band::Crit);

    // The payload's own time decides staleness: an old `generated_at` is stale, not 3.
    let old = (now.at - chrono::Duration::minutes(10)).to_rfc3339();
    let keys = format!(
        "argv = [\"echo\", '{{\"v\": 3, \"generated_at\": \"{old}\"}}']\nfresh_at = \".generated_at\""
    );
    let cfg = Arc::new(config(&keys, ".v"));
    let mut poll = run_command_at(&cfg.sources[0], now.at).await;
    poll.at = now.at;
    poll.mono = now.mono;
    let mut e = Engine::new(Arc::clone(&cfg), common::stamp(-1).mono);
    e.ingest(&poll);
    let row = &e.rows[0];
    assert_eq!(row.status, Status::NoData(NoDataKind::Stale), "{row:?}");
    assert!(
        row.reason.as_deref().unwrap_or("").contains("10m"),
        "{:?}",
        row.reason
    );
    assert_eq!(row.value, None, "never the old number");
}

#[test]
fn command_source_config_mistakes_are_clear() {
    let bad = |keys: &str| -> String {
        let text = format!(
            "[cutover]\nname = \"t\"\n\n[[source]]\nid = \"cmd\"\nkind = \"command\"\n{keys}\n"
        );
        match load_str(&text, "c.toml") {
            Ok(_) => panic!("accepted: {keys}"),
            Err(e) => e.to_string(),
        }
    };
    assert!(bad("argv = []").contains("the command is empty"));
    assert!(bad("").contains("needs `argv`"));
    assert!(bad("argv = [\"a\"]\npipeline = [[\"b\"]]").contains("both set"));
    assert!(bad("pipeline = []").contains("`pipeline` is empty"));
    assert!(bad("pipeline = [[\"a\"], []]").contains("the command is empty"));
    assert!(bad("argv = [\"\"]").contains("program"));
    // A shell string is refused with the list to write.
    let e = bad("argv = \"docker logs api | grep error\"");
    assert!(e.contains("argv"), "{e}");
    assert!(bad("argv = [\"a\"]\nurl = \"http://h/x\"").contains("does not apply"));
    assert!(bad("argv = [\"a\"]\nregex = '(unclosed'").contains("does not compile"));
    assert!(bad("argv = [\"a\"]\nregex = 'no group'").contains("no group"));
    assert!(bad("argv = [\"a\"]\nparse = \"yaml\"").contains("parse"));
    assert!(bad("argv = [\"a\", \"{{now-5}}\"]").contains("time token"));
    assert!(bad("argv = [\"a\"]\nok_exit = []").contains("`ok_exit` is empty"));
    assert!(bad("argv = [\"a\"]\nfresh_at = \"generated_at\"").contains("bad path"));
    // The command keys on an http source.
    let text = "[cutover]\nname = \"t\"\n\n[[source]]\nid = \"h\"\nkind = \"http\"\nurl = \"http://h/x\"\nargv = [\"a\"]\n";
    let e = load_str(text, "c.toml")
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("only applies to `kind = \"command\"`"), "{e}");
}

/// The binary's `check`, one sample and a window with a recording, then `report` on it:
/// a command source all the way through.
#[test]
fn check_window_record_and_report_read_a_command_source() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[cutover]\nname = \"cmd\"\n\n[[source]]\nid = \"split\"\nkind = \"command\"\n\
         argv = [\"echo\", '{\"percent\": 10}']\ninterval = \"1s\"\n\n\
         [[signal]]\nid = \"split\"\nsource = \"split\"\nkind = \"metric\"\npath = \".percent\"\n\
         critical = true\ncrit = \"> 50\"\n",
    )
    .expect("write");
    let bin = env!("CARGO_BIN_EXE_warroom");
    let out = std::process::Command::new(bin)
        .args(["check", "-c"])
        .arg(&cfg)
        .args(["--format", "json"])
        .output()
        .expect("check runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("\"split\""), "{text}");

    let rec = dir.path().join("w.jsonl");
    let out = std::process::Command::new(bin)
        .args(["check", "-c"])
        .arg(&cfg)
        .args(["--window", "3s", "--interval", "1s", "--record"])
        .arg(&rec)
        .output()
        .expect("check --window runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let recorded = std::fs::read_to_string(&rec).expect("recording");
    assert!(recorded.contains("\"value\":10"), "{recorded}");
    let out = std::process::Command::new(bin)
        .arg("report")
        .arg(&rec)
        .output()
        .expect("report runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("split"), "{report}");
}

/// `merge_stderr`: the first command's stderr joins its stdout (`2>&1`), in a pipeline and
/// alone; without it, what a program logs on stderr is not counted.
#[tokio::test]
async fn merge_stderr_joins_the_first_commands_stderr_to_its_output() {
    let logs = "[\"sh\", \"-c\", \"echo 'LOG ok'; echo 'ERROR one' >&2; echo 'Error two' >&2\"]";
    let count = format!(
        "pipeline = [{logs}, [\"grep\", \"-ci\", \"error\"]]\nparse = \"number\"\nok_exit = [0, 1]"
    );
    assert_eq!(
        body(&run(&count).await),
        &json!(0.0),
        "stderr is not output by default"
    );
    let merged = format!("{count}\nmerge_stderr = true");
    assert_eq!(body(&run(&merged).await), &json!(2.0));
    let alone = format!("argv = {logs}\nparse = \"lines\"\nmerge_stderr = true");
    let o = run(&alone).await;
    let lines = body(&o).as_array().expect("lines").len();
    assert_eq!(lines, 3, "{o:?}");
    // Only the first command's: a later command's stderr stays out of the value.
    let later = "pipeline = [[\"echo\", \"x\"], [\"sh\", \"-c\", \"cat; echo 'ERROR late' >&2\"]]\nparse = \"lines\"\nmerge_stderr = true";
    assert_eq!(body(&run(later).await), &json!(["x"]));
    // On an http source it is refused.
    let cfg = "[cutover]\nname = \"x\"\n[[source]]\nid = \"a\"\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\nmerge_stderr = true\n";
    let e = warroom::config::load::load_str(cfg, "<t>").expect_err("refused");
    assert!(e.to_string().contains("`merge_stderr` only applies"), "{e}");
}
