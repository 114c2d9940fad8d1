//! The token never appears anywhere — stdout, stderr, the log file, the recording, the
//! audit log, the report, the screen — whatever the source answers and however the config
//! was read. The real binary, against the simulator and against a server that echoes the
//! request (URL, headers and body) back in its answers and errors.

use crate::common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use warroom::sim::Scenario;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

fn run_check(dir: &std::path::Path, url: &str, token: &str) -> (String, String, String, String) {
    let cfg = dir.join("cutover.toml");
    std::fs::write(&cfg, warroom::demo::DEMO_CONFIG).expect("write config");
    let rec = dir.join("rec.jsonl");
    let log = dir.join("warroom.log");
    let out = Command::new(BIN)
        .args(["check", "-c"])
        .arg(&cfg)
        .args(["--window", "2s", "--interval", "1s", "--record"])
        .arg(&rec)
        .arg("--log-file")
        .arg(&log)
        .env("WARROOM_URL", url)
        .env("ADMIN_TOKEN", token)
        .env("WARROOM_LOG", "warroom=trace")
        .output()
        .expect("run warroom");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        std::fs::read_to_string(&rec).unwrap_or_default(),
        std::fs::read_to_string(&log).unwrap_or_default(),
    )
}

#[tokio::test]
async fn no_output_holds_the_token() {
    for scenario in [
        Scenario::Healthy,
        Scenario::Unauthorized,
        Scenario::Malformed,
    ] {
        let sim = start_sim(scenario).await;
        let dir = tempfile::tempdir().expect("tmp");
        // The right token and a wrong one: neither may leak.
        for token in [TOKEN, "wrong-but-secret-9f8e7d"] {
            let url = sim.base_url();
            let dir_path = dir.path().to_path_buf();
            let token_s = token.to_string();
            let (stdout, stderr, rec, log) =
                tokio::task::spawn_blocking(move || run_check(&dir_path, &url, &token_s))
                    .await
                    .expect("join");
            assert!(stdout.contains("summary:"), "{scenario}: {stdout}{stderr}");
            assert!(
                rec.contains("\"type\":\"header\""),
                "{scenario}: no recording"
            );
            assert!(
                log.contains("poll"),
                "{scenario}: the log file was not written"
            );
            for (what, text) in [
                ("stdout", &stdout),
                ("stderr", &stderr),
                ("recording", &rec),
                ("log", &log),
            ] {
                assert!(
                    !text.contains(token),
                    "{scenario}: the token leaked into {what}"
                );
            }
        }
        sim.shutdown().await;
    }
}

#[test]
fn validate_never_prints_a_bad_token() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("cutover.toml");
    std::fs::write(&cfg, warroom::demo::DEMO_CONFIG).expect("write config");
    let out = Command::new(BIN)
        .args(["validate", "-c"])
        .arg(&cfg)
        .env("ADMIN_TOKEN", "tok-with-newline-5a6b\n")
        .output()
        .expect("run warroom");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("ADMIN_TOKEN"), "{text}");
    assert!(!text.contains("tok-with-newline-5a6b"), "{text}");
}

// ------------------------------------------------------------------ the canary

/// One token, in a header, a URL query, a request body and an argv. A name that does not
/// look secret: only where it is used makes it one.
const CANARY: &str = "cnry9Qx3mZp4Lk2Vt8wH";
const VAR: &str = "PROBE_REF";

/// Every 8-character piece of the canary: none may show anywhere.
fn assert_clean(what: &str, text: &str) {
    for piece in CANARY.as_bytes().windows(8) {
        let piece = std::str::from_utf8(piece).expect("ascii");
        if let Some(i) = text.find(piece) {
            let from = text[..i].char_indices().rev().nth(80).map_or(0, |(j, _)| j);
            let to = (i + 80).min(text.len());
            let to = (to..=text.len())
                .find(|&j| text.is_char_boundary(j))
                .unwrap_or(text.len());
            panic!(
                "{what} holds `{piece}`, a piece of the canary:\n…{}…",
                &text[from..to]
            );
        }
    }
}

/// A server that echoes what it was sent — method, path and query, every header, the
/// body — where a client shows it: a JSON field of a 200 (a flag's value), a Prometheus
/// error (a source's reason), a long 500 (an action's excerpt). Each echo is placed so
/// that the clip of the text that shows it falls inside the canary.
async fn start_echo() -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::response::IntoResponse;
    async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: String) -> impl IntoResponse {
        let mut seen = format!("{method} {uri}");
        for (k, v) in &headers {
            seen.push_str(&format!(" {k}: {}", v.to_str().unwrap_or("?")));
        }
        seen.push_str(&format!(" body: {body}"));
        // Put a copy of the canary across a clip at `at` (the first 10 characters before it).
        let across = |at: usize| {
            let pad = "x".repeat(at - 10);
            format!("{pad}{CANARY} ")
        };
        let path = uri.path();
        if path == "/flags" {
            let v = serde_json::json!({ "echo": seen, "up": true });
            (StatusCode::OK, v.to_string())
        } else if path.ends_with("/api/v1/query") {
            // warroom keeps 300 characters of a Prometheus error.
            let v = serde_json::json!({
                "status": "error", "errorType": "bad_data",
                "error": format!("{}{seen}", across(300)),
            });
            (StatusCode::BAD_REQUEST, v.to_string())
        } else if path == "/rollback" {
            // An action's excerpt is 2 KiB of at most 16 KiB read.
            let mut text = across(2048);
            text.push_str(&"y".repeat(16 * 1024 - 10 - text.len()));
            text.push_str(CANARY);
            text.push_str(&format!(" {seen}"));
            (StatusCode::INTERNAL_SERVER_ERROR, text)
        } else {
            (StatusCode::NOT_FOUND, format!("no route: {seen}"))
        }
    }
    let app = axum::Router::new().fallback(echo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

/// The canary in a header, in URL queries, in a body (where the modal's 400-byte clip of
/// it falls inside the canary) and in an argv.
fn canary_config(url: &str) -> String {
    // `{"pad": "` + pad + `", "ref": "` is 20 + pad bytes; the clip keeps 397.
    let pad = "p".repeat(367);
    format!(
        r#"[cutover]
name = "canary"

[[source]]
id = "api"
kind = "http"
url = "{url}/flags?ref=${{{VAR}}}"
interval = "1s"
headers = {{ Authorization = "Bearer ${{{VAR}}}" }}

[[source]]
id = "prom"
kind = "prometheus"
url = "{url}/?ref=${{{VAR}}}"
query = "up"
interval = "1s"
required = false
headers = {{ Authorization = "Bearer ${{{VAR}}}" }}

[[signal]]
id = "echo"
source = "api"
kind = "flag"
path = ".echo"

[[signal]]
id = "up"
source = "api"
kind = "flag"
path = ".up"
crit = "== false"
critical = true

[[signal]]
id = "prom_up"
source = "prom"
kind = "metric"

[[action]]
id = "rollback"
key = "R"
label = "Roll back"
danger = true
request = {{ method = "POST", url = "{url}/rollback?ref=${{{VAR}}}", body = '{{"pad": "{pad}", "ref": "${{{VAR}}}"}}', headers = {{ Authorization = "Bearer ${{{VAR}}}" }} }}

[[action]]
id = "probe"
key = "E"
label = "Echo the probe"
command = {{ argv = ["/bin/echo", "probe ref=${{{VAR}}} done"] }}
"#
    )
}

#[derive(Clone, Copy, Debug)]
enum Input {
    File,
    Pipe,
}

/// `warroom ARGS` with the config as a file or piped in on stdin (`-c /dev/stdin`).
fn run_with(input: Input, cfg: &Path, args: &[&str], extra: &[&std::ffi::OsStr]) -> (i32, String) {
    let mut c = Command::new(BIN);
    c.args(args)
        .env(VAR, CANARY)
        .env("WARROOM_LOG", "warroom=trace");
    match input {
        Input::File => {
            c.arg("-c").arg(cfg).stdin(Stdio::null());
        }
        Input::Pipe => {
            c.args(["-c", "/dev/stdin"]).stdin(Stdio::piped());
        }
    }
    c.args(extra).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("run warroom");
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&std::fs::read(cfg).expect("config"))
            .expect("pipe the config in");
    }
    let out = child.wait_with_output().expect("wait");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A tmux server of our own (socket in a temp dir), one session, killed on drop.
struct Screen {
    socket: PathBuf,
    /// Every capture taken: all of it must be clean.
    seen: String,
}

impl Screen {
    fn start(dir: &Path, name: &str, argv: &[&str]) -> Option<Screen> {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is not installed but CI is set"
            );
            eprintln!("tmux not found: skipping the screen part");
            return None;
        }
        let s = Screen {
            socket: dir.join(format!("redact-{name}.sock")),
            seen: String::new(),
        };
        let mut args = vec![
            "new-session",
            "-d",
            "-s",
            "redact-canary",
            "-x",
            "120",
            "-y",
            "40",
            "--",
        ];
        args.extend_from_slice(argv);
        s.tmux(&args);
        Some(s)
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn capture(&mut self) -> String {
        let text = self.tmux(&["capture-pane", "-p", "-t", "redact-canary"]);
        self.seen.push_str(&text);
        text
    }

    fn keys(&self, keys: &str) {
        self.tmux(&["send-keys", "-t", "redact-canary", "-l", keys]);
    }

    fn key(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "redact-canary", key]);
        if key == "Escape" {
            // A key that follows Esc within the terminal's escape time reads as Alt-<key>.
            std::thread::sleep(Duration::from_millis(400));
        }
    }

    fn wait_for(&mut self, what: &str) {
        let start = Instant::now();
        loop {
            if self.capture().contains(what) {
                return;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("no {what:?} on screen:\n{}", self.capture());
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .env_remove("TMUX")
            .output();
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// The dashboard on the canary config (a file, or `-c <(…)` through bash): the echoing
/// source's rows, the rollback's modal and its 500, the command action's output; then
/// the log file, the audit log and the recording.
fn watch_canary(dir: &Path, cfg: &Path, input: Input) -> Option<(String, PathBuf)> {
    let tag = format!("{input:?}").to_lowercase();
    let audit = dir.join(format!("audit-{tag}.jsonl"));
    let rec = dir.join(format!("rec-{tag}.jsonl"));
    let log = dir.join(format!("watch-{tag}.log"));
    let config_arg = match input {
        Input::File => format!("'{}'", cfg.display()),
        Input::Pipe => format!("<(cat '{}')", cfg.display()),
    };
    let line = format!(
        "exec '{BIN}' -c {config_arg} --audit-log '{}' --record '{}' --log-file '{}'",
        audit.display(),
        rec.display(),
        log.display()
    );
    let env = format!("{VAR}={CANARY}");
    let mut s = Screen::start(
        dir,
        &tag,
        &[
            "env",
            &env,
            "WARROOM_LOG=warroom=trace",
            "bash",
            "-c",
            &line,
        ],
    )?;
    s.wait_for("GET /flags");
    // The Prometheus source's error (its reason) is in the events.
    s.wait_for("Prometheus bad_data");
    s.keys("R");
    s.wait_for("/rollback?ref=");
    s.keys("rollback");
    s.key("Enter");
    s.wait_for("HTTP 500");
    s.key("Escape");
    s.keys("E");
    s.wait_for("/bin/echo");
    s.keys("probe");
    s.key("Enter");
    s.wait_for("exit 0");
    s.key("Escape");
    s.capture();
    s.keys("q");
    let start = Instant::now();
    while !read(&rec).contains("\"type\":\"end\"") && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let audit_text = read(&audit);
    assert!(
        audit_text.contains("action_result") && audit_text.contains("probe"),
        "{tag}: both actions ran: {audit_text}"
    );
    assert_clean(&format!("watch ({tag}): the screen"), &s.seen);
    assert_clean(&format!("watch ({tag}): the log file"), &read(&log));
    assert!(
        read(&log).contains("INFO"),
        "{tag}: the log file was written"
    );
    assert_clean(&format!("watch ({tag}): the audit log"), &audit_text);
    assert_clean(&format!("watch ({tag}): the recording"), &read(&rec));
    Some((s.seen.clone(), rec))
}

#[test]
fn one_canary_never_shows_in_any_command_output_file_or_screen() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (url, _server) = rt.block_on(start_echo());
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("canary.toml");
    std::fs::write(&cfg, canary_config(&url)).expect("write config");

    for input in [Input::File, Input::Pipe] {
        let (code, out) = run_with(input, &cfg, &["validate"], &[]);
        assert_eq!(code, 0, "{input:?}: {out}");
        assert_clean(&format!("validate ({input:?})"), &out);

        for format in ["text", "json"] {
            let tag = format!("{input:?}-{format}");
            let rec = dir.path().join(format!("check-{tag}.jsonl"));
            let log = dir.path().join(format!("check-{tag}.log"));
            let (_, out) = run_with(
                input,
                &cfg,
                &["check", "--format", format],
                &[
                    "--record".as_ref(),
                    rec.as_os_str(),
                    "--log-file".as_ref(),
                    log.as_os_str(),
                ],
            );
            // The echo is there (redacted), so the test looks where the canary would be.
            assert!(out.contains("GET /flags?ref=***"), "{tag}: {out}");
            assert!(out.contains("Prometheus bad_data"), "{tag}: {out}");
            assert_clean(&format!("check ({tag}): stdout and stderr"), &out);
            assert_clean(&format!("check ({tag}): the recording"), &read(&rec));
            assert_clean(&format!("check ({tag}): the log file"), &read(&log));
            assert!(
                read(&log).contains("INFO"),
                "{tag}: the log file was written"
            );
        }
    }

    let mut recordings = Vec::new();
    for input in [Input::File, Input::Pipe] {
        if let Some((_, rec)) = watch_canary(dir.path(), &cfg, input) {
            recordings.push(rec);
        }
    }
    // The evidence of a session, and its replay.
    for rec in recordings
        .iter()
        .chain(std::iter::once(&dir.path().join("check-Pipe-json.jsonl")))
    {
        for format in ["md", "json"] {
            let out = Command::new(BIN)
                .arg("report")
                .arg(rec)
                .args(["--format", format])
                .env(VAR, CANARY)
                .output()
                .expect("report");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.status.code(), Some(0), "{text}");
            assert_clean(&format!("report {format} of {}", rec.display()), &text);
        }
    }
    if let Some(rec) = recordings.first() {
        let line = format!("exec '{BIN}' replay '{}' --speed 50", rec.display());
        if let Some(mut s) = Screen::start(dir.path(), "replay", &["bash", "-c", &line]) {
            s.wait_for("REPLAY");
            std::thread::sleep(Duration::from_millis(800));
            s.capture();
            s.keys("q");
            assert_clean("replay: the screen", &s.seen);
        }
    }
}

/// `warroom demo` with the canary as its token: the screen, the log file and the audit
/// log after a rollback (the simulator takes the token as its bearer).
#[test]
fn the_demo_never_shows_its_token() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = dir.path().join("demo.log");
    let audit = dir.path().join("demo-audit.jsonl");
    let line = format!(
        "exec '{BIN}' demo --log-file '{}' --audit-log '{}'",
        log.display(),
        audit.display()
    );
    let env = format!("ADMIN_TOKEN={CANARY}");
    let Some(mut s) = Screen::start(
        dir.path(),
        "demo",
        &[
            "env",
            &env,
            "WARROOM_LOG=warroom=trace",
            "bash",
            "-c",
            &line,
        ],
    ) else {
        return;
    };
    s.wait_for("OK");
    s.keys("R");
    s.wait_for("Authorization");
    s.keys("rollback");
    s.key("Enter");
    s.wait_for("HTTP 200");
    s.key("Escape");
    s.capture();
    s.keys("q");
    std::thread::sleep(Duration::from_millis(500));
    assert_clean("demo: the screen", &s.seen);
    assert_clean("demo: the log file", &read(&log));
    assert_clean("demo: the audit log", &read(&audit));
    assert!(read(&audit).contains("action_result"), "{}", read(&audit));
}

/// With the config from a pipe and the token only in a URL query and a body (no header
/// to learn it from), `check`'s output and recording still never show it.
#[test]
fn a_piped_config_hides_a_token_in_a_url_and_a_body() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (url, _server) = rt.block_on(start_echo());
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("c.toml");
    let text = canary_config(&url).replace(
        &format!("headers = {{ Authorization = \"Bearer ${{{VAR}}}\" }}"),
        "headers = { Accept = \"application/json\" }",
    );
    assert!(!text.contains("Bearer"), "{text}");
    std::fs::write(&cfg, text).expect("write");
    let rec = dir.path().join("rec.jsonl");
    let (_, out) = run_with(
        Input::Pipe,
        &cfg,
        &["check"],
        &["--record".as_ref(), rec.as_os_str()],
    );
    assert!(out.contains("GET /flags?ref=***"), "{out}");
    assert_clean("check (pipe, no header)", &out);
    let rec = read(&rec);
    assert!(rec.contains("/rollback?ref=***"), "{rec}");
    assert_clean("the recording (pipe, no header)", &rec);
}

/// The log file is private like the audit log: created 0600, and an old one others
/// could read is made private before anything is appended.
#[test]
fn the_log_file_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("cutover.toml");
    std::fs::write(&cfg, warroom::demo::DEMO_CONFIG).expect("write config");
    let old = dir.path().join("old.log");
    std::fs::write(&old, "").expect("write");
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    for log in [dir.path().join("new.log"), old] {
        let out = Command::new(BIN)
            .args(["check", "-c"])
            .arg(&cfg)
            .arg("--log-file")
            .arg(&log)
            // Nothing listens there: the poll fails at once.
            .env("WARROOM_URL", "http://127.0.0.1:9")
            .env("ADMIN_TOKEN", TOKEN)
            .output()
            .expect("run warroom");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("summary:"),
            "{out:?}"
        );
        let mode = std::fs::metadata(&log).expect("log").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", log.display());
        assert!(!read(&log).is_empty(), "{} was written", log.display());
    }
}
