//! Config fixtures: every file in `valid/` loads; every file in `invalid/` prints exactly
//! its sibling `.expected` (what `warroom validate` shows) and exits 2.
//! `UPDATE_FIXTURES=1 cargo test --test config_fixtures` rewrites the `.expected` files.

use std::path::{Path, PathBuf};
use warroom::config::{run_validate, validate_text};

const DIR: &str = "tests/fixtures/config";

/// A fixed environment, so the outcome never depends on the machine.
fn env(k: &str) -> Option<String> {
    match k {
        "ADMIN_TOKEN" => Some("fixture-token-never-shown".into()),
        // A token read with its trailing newline (a file written by `echo`).
        "NEWLINE_TOKEN" => Some("fixture-token-never-shown\n".into()),
        // Set but empty, and with a control character inside.
        "EMPTY_TOKEN" => Some(String::new()),
        "CONTROL_TOKEN" => Some("fixture-token-never-shown\u{7}x".into()),
        "CUTOVER_METRICS_URL" => Some("http://127.0.0.1:5000/analytics/ops/metrics".into()),
        _ => None,
    }
}

fn toml_files(sub: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR).join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// The name users would type, relative to the crate: `tests/fixtures/config/invalid/X.toml`.
fn shown_name(p: &Path, sub: &str) -> String {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{DIR}/{sub}/{name}")
}

fn run(p: &Path, sub: &str) -> (String, i32) {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut out = Vec::new();
    let code = validate_text(&text, &shown_name(p, sub), &env, &mut out);
    (String::from_utf8_lossy(&out).into_owned(), code)
}

#[test]
fn valid_configs_load() {
    let files = toml_files("valid");
    assert!(files.len() >= 2);
    for p in files {
        let (out, code) = run(&p, "valid");
        assert_eq!(code, 0, "{}:\n{out}", p.display());
        assert!(out.starts_with("ok: "), "{out}");
    }
}

#[test]
fn invalid_configs_print_exactly_the_expected_text() {
    let files = toml_files("invalid");
    assert!(files.len() >= 12);
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    let mut failures = Vec::new();
    for p in files {
        let (out, code) = run(&p, "invalid");
        assert_eq!(code, 2, "{}:\n{out}", p.display());
        assert!(!out.contains("fixture-token-never-shown"), "{out}");
        let expected_path = p.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &out).unwrap_or_else(|e| panic!("{e}"));
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        if out != expected {
            failures.push(format!(
                "{}\n--- expected\n{expected}--- got\n{out}",
                p.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn missing_file_is_one_clear_line() {
    let mut out = Vec::new();
    let code = run_validate(
        Path::new("tests/fixtures/config/no-such-file.toml"),
        &mut out,
    );
    assert_eq!(code, 2);
    let out = String::from_utf8_lossy(&out);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with("error: cannot read config tests/fixtures/config/no-such-file.toml: "),
        "{out}"
    );
}

#[test]
fn run_validate_reads_a_file() {
    let mut out = Vec::new();
    let code = run_validate(
        Path::new("tests/fixtures/config/valid/minimal.toml"),
        &mut out,
    );
    assert_eq!(code, 0);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "ok: tests/fixtures/config/valid/minimal.toml: 1 source, 0 signals, 0 steps\n"
    );
}

#[test]
fn brokers_fixture_reads_as_written() {
    use warroom::config::{load_str_with_env, JudgeOn, SignalKind};
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(DIR)
        .join("valid/brokers.toml");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
    let cfg = load_str_with_env(&text, "brokers.toml", &env).unwrap_or_else(|e| panic!("{e}"));
    // Defaults apply when the variable is unset; set ones win.
    assert_eq!(cfg.cutover.environment.as_deref(), Some("production"));
    assert_eq!(cfg.sources[0].url, "http://localhost:5000/api/v1/health");
    assert_eq!(
        cfg.sources[2].url,
        "http://127.0.0.1:5000/analytics/ops/metrics"
    );
    assert_eq!(
        cfg.sources[2].headers["Authorization"],
        "Bearer fixture-token-never-shown"
    );
    let er = &cfg.signals[2];
    assert_eq!(er.kind, SignalKind::Metric);
    assert_eq!(er.each.as_deref(), Some(".endpoints[]"));
    assert_eq!(er.m_of_n, Some([3, 5]));
    assert!(er.advice.crit.is_some());
    assert_eq!(cfg.signals[5].on, JudgeOn::DeltaPct);
    assert_eq!(cfg.steps.len(), 5);
    assert!(cfg.steps[2].gate);
    let rw = cfg
        .cutover
        .rollback_when
        .as_ref()
        .map(|r| r.critical_for.0.as_secs());
    assert_eq!(rw, Some(60));
}

#[test]
fn actions_fixture_reads_as_written() {
    use warroom::config::load_str_with_env;
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(DIR)
        .join("valid/actions.toml");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
    let cfg = load_str_with_env(&text, "actions.toml", &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.actions.len(), 3);
    let rb = &cfg.actions[0];
    assert!(rb.danger);
    assert_eq!(rb.key, "R");
    assert_eq!(rb.confirm_phrase(), "rollback brokers");
    let req = rb.request.as_ref().unwrap_or_else(|| panic!("request"));
    assert_eq!(req.method, "POST");
    assert_eq!(req.tls_from.as_deref(), Some("admin"));
    let v = rb.verify.as_ref().unwrap_or_else(|| panic!("verify"));
    assert_eq!(v.within.0.as_secs(), 120);
    assert_eq!(v.conditions.len(), 2);
    let cmd = cfg.actions[1]
        .command
        .as_ref()
        .unwrap_or_else(|| panic!("command"));
    assert_eq!(cmd.argv, ["supervisorctl", "restart", "backend"]);
    assert_eq!(cmd.timeout.0.as_secs(), 90);
    assert_eq!(cmd.env["LANG"], "C");
    assert_eq!(cfg.actions[1].confirm_phrase(), "restart_backend");
    let purge = cfg.actions[2]
        .request
        .as_ref()
        .unwrap_or_else(|| panic!("request"));
    assert_eq!(purge.method, "DELETE");
    assert_eq!(purge.timeout.0.as_secs(), 10);
    assert_eq!(purge.token_file.as_deref(), Some("/etc/warroom/cdn.token"));
    assert_eq!(
        cfg.sources[1].token_file.as_deref(),
        Some("/etc/warroom/health.token")
    );
    let mut out = Vec::new();
    assert_eq!(validate_text(&text, "actions.toml", &env, &mut out), 0);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "ok: actions.toml: 2 sources, 2 signals, 0 steps, 3 actions\n"
    );
}

/// No input makes loading panic: every prefix of a real config, and each line dropped.
#[test]
fn truncated_and_mangled_configs_never_panic() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(DIR)
        .join("valid/brokers.toml");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
    let mut sink = Vec::new();
    for (i, _) in text.char_indices().step_by(5) {
        sink.clear();
        validate_text(&text[..i], "t.toml", &env, &mut sink);
    }
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let mangled: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| *l)
            .collect();
        sink.clear();
        validate_text(&mangled.join("\n"), "t.toml", &env, &mut sink);
    }
    for odd in [
        "",
        "\u{feff}",
        "\0",
        "[[",
        "= 1",
        "[cutover]\nname = \"${\"",
        "a.b.c.d = 1",
    ] {
        sink.clear();
        assert_eq!(validate_text(odd, "t.toml", &env, &mut sink), 2, "{odd:?}");
    }
}

// ------------------------------------------------------------------ what -c can name

const BIN: &str = env!("CARGO_BIN_EXE_warroom");
const MINIMAL: &str = "tests/fixtures/config/valid/minimal.toml";

/// `warroom validate -c PATH` (or the `sh` line given): exit code and all output.
fn validate_bin(cmd: &mut std::process::Command) -> (Option<i32>, String) {
    let out = cmd.output().expect("run warroom");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn a_device_is_refused_at_once_with_bounded_memory() {
    // Reading /dev/zero as text never ends: it must be refused before any read.
    let (code, out) =
        validate_bin(std::process::Command::new(BIN).args(["validate", "-c", "/dev/zero"]));
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(
        out,
        "error: cannot read config /dev/zero: it is a character device (a terminal or something like /dev/zero), not a config file; give the path of a TOML file, or pipe one in (`-c <(…)`, `-c /dev/stdin`)\n"
    );
    // The dashboard and check say the same, on stderr.
    let (code, out) =
        validate_bin(std::process::Command::new(BIN).args(["check", "-c", "/dev/zero"]));
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.starts_with("warroom: cannot read config /dev/zero: it is a character device"),
        "{out}"
    );
}

#[test]
fn a_huge_file_is_refused_before_reading() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("huge.toml");
    let mut text = std::fs::read_to_string(MINIMAL).expect("fixture");
    text.push_str(&"# padding\n".repeat(5 * 1024 * 1024 / 10 + 1));
    std::fs::write(&p, text).expect("write");
    let (code, out) = validate_bin(
        std::process::Command::new(BIN)
            .args(["validate", "-c"])
            .arg(&p),
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("it is 5.0 MiB, over the 4 MiB limit for a config"),
        "{out}"
    );
}

#[test]
fn a_fifo_without_a_writer_never_blocks() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("cutover.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&p)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    // Run with a deadline so a regression fails instead of hanging the suite.
    let mut child = std::process::Command::new(BIN)
        .args(["validate", "-c"])
        .arg(&p)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("validate blocked on a FIFO nobody writes to");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut out)
        .expect("read");
    assert_eq!(status.code(), Some(2), "{out}");
    assert!(
        out.contains("it is a pipe and nothing came through it"),
        "{out}"
    );
}

#[test]
fn invalid_utf8_is_reported_at_its_line_and_column() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("latin1.toml");
    // `é` written in Latin-1 on line 2, after `name = "Caf` (column 12).
    std::fs::write(&p, b"[cutover]\nname = \"Caf\xe9 cutover\"\n").expect("write");
    let (code, out) = validate_bin(
        std::process::Command::new(BIN)
            .args(["validate", "-c"])
            .arg(&p),
    );
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(
        out,
        format!(
            "{}:2:12: not UTF-8 text: byte 0xe9 here is not valid UTF-8\n  hint: save the config as UTF-8 (it may be Latin-1 or binary)\n1 problem\n",
            p.display()
        )
    );
}

#[test]
fn a_piped_config_is_read_from_stdin_and_from_process_substitution() {
    let text = std::fs::read(MINIMAL).expect("fixture");
    let mut child = std::process::Command::new(BIN)
        .args(["validate", "-c", "/dev/stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &text).expect("pipe");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok: /dev/stdin: 1 source, 0 signals, 0 steps\n"
    );
    // The README's preset recipe: `-c <(warroom init --preset P)`.
    let line = format!("'{BIN}' validate -c <('{BIN}' init --preset brokers)");
    let (code, out) = validate_bin(
        std::process::Command::new("bash")
            .args(["-c", &line])
            .env("ADMIN_TOKEN", "fixture-token-never-shown"),
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("ok: /dev/fd/"), "{out}");
}
