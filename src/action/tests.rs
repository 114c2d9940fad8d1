//! Actions against loopback servers only: the simulator in-process and tiny axum routers.

use super::exec::{capture_for_test, HEAD_KEEP_FOR_TEST, TAIL_KEEP_FOR_TEST};
use super::*;
use crate::config::{CommandCfg, Dur, RequestCfg, Source};
use crate::sim::{self, Profile, Scenario, SimOptions};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "s3cret-rollback-token";
const FLAG: &str = "brokers_v1_modules";

fn redact_token(s: &str) -> String {
    s.replace(TOKEN, "***")
}

fn no_redact(s: &str) -> String {
    s.to_string()
}

fn request(url: String, timeout: Duration) -> RequestCfg {
    RequestCfg {
        method: "POST".into(),
        url,
        headers: BTreeMap::new(),
        body: Some(r#"{"enabled": false}"#.into()),
        timeout: Dur(timeout),
        token_file: None,
        tls_from: None,
    }
}

fn action_req(r: RequestCfg) -> ActionCfg {
    ActionCfg {
        id: "rollback".into(),
        key: "R".into(),
        label: "Roll back".into(),
        danger: true,
        request: Some(r),
        command: None,
        confirm: None,
        verify: None,
        cooldown: None,
        requires: None,
    }
}

fn action_cmd(argv: &[&str], timeout: Duration) -> ActionCfg {
    ActionCfg {
        id: "restart".into(),
        key: "X".into(),
        label: "Restart".into(),
        danger: true,
        request: None,
        command: Some(CommandCfg {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            timeout: Dur(timeout),
            env: BTreeMap::new(),
            cwd: None,
            capture: Vec::new(),
        }),
        confirm: None,
        verify: None,
        cooldown: None,
        requires: None,
    }
}

async fn sim_with(scenario: Scenario, slow: Duration) -> sim::SimHandle {
    let mut o = SimOptions::new(Profile::Brokers);
    o.scenario = scenario;
    o.token = Some(TOKEN.into());
    o.slow_delay = slow;
    sim::start(o).await.expect("simulator starts on loopback")
}

fn flag_url(h: &sim::SimHandle) -> String {
    format!("{}/api/v1/admin/flags/{FLAG}", h.base_url())
}

/// A token file with mode 0600 in its own temp dir.
fn token_file(dir: &tempfile::TempDir) -> String {
    let p = dir.path().join("token");
    let mut f = std::fs::File::create(&p).unwrap();
    writeln!(f, "{TOKEN}").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.to_string_lossy().into_owned()
}

/// Serve `router` on 127.0.0.1 with a free port.
async fn tiny(router: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, router).await;
    });
    format!("http://{addr}")
}

fn posts(h: &sim::SimHandle) -> Vec<sim::RecordedRequest> {
    h.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(FLAG))
        .collect()
}

#[tokio::test]
async fn action_exactly_one_post_with_key_and_token_file() {
    let h = sim_with(Scenario::Healthy, Duration::from_secs(30)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut r = request(flag_url(&h), Duration::from_secs(5));
    r.token_file = Some(token_file(&dir));
    let cfg = action_req(r);
    let a = Attempt::first("rollback");
    let out = execute(&cfg, &[], &a, &no_redact).await;
    assert_eq!(out.result, ActionResult::Http { status: 200 }, "{out:?}");
    assert!(out.is_success() && !out.outcome_unknown());
    assert!(
        out.summary().starts_with("HTTP 200 in "),
        "{}",
        out.summary()
    );
    let p = posts(&h);
    assert_eq!(p.len(), 1, "exactly one POST: {p:?}");
    assert_eq!(
        p[0].idempotency_key.as_deref(),
        Some(a.idempotency_key.as_str())
    );
    assert_eq!(p[0].authorization_valid, Some(true));
    assert!(p[0].body.contains("\"enabled\""));
    assert_eq!(h.flag(FLAG), Some(false), "the rollback took effect");
    assert!(!out.excerpt.contains(TOKEN));
}

#[tokio::test]
async fn action_manual_retry_reuses_the_key() {
    let h = sim_with(Scenario::Healthy, Duration::from_secs(30)).await;
    let mut r = request(flag_url(&h), Duration::from_secs(5));
    r.headers
        .insert("Authorization".into(), format!("Bearer {TOKEN}"));
    let cfg = action_req(r);
    let first = Attempt::first("rollback");
    let retry = first.retry();
    assert_eq!(retry.attempt, 2);
    execute(&cfg, &[], &first, &redact_token).await;
    execute(&cfg, &[], &retry, &redact_token).await;
    let p = posts(&h);
    assert_eq!(p.len(), 2);
    assert!(p
        .iter()
        .all(|r| r.idempotency_key.as_deref() == Some(first.idempotency_key.as_str())));
}

#[tokio::test]
async fn action_401_says_unauthorized() {
    let h = sim_with(Scenario::Healthy, Duration::from_secs(30)).await;
    let cfg = action_req(request(flag_url(&h), Duration::from_secs(5)));
    let out = execute(&cfg, &[], &Attempt::first("rollback"), &no_redact).await;
    assert_eq!(out.result, ActionResult::HttpError { status: 401 });
    assert!(!out.is_success() && !out.outcome_unknown());
    assert!(out.summary().contains("unauthorized"), "{}", out.summary());
    assert_eq!(posts(&h).len(), 1);
    assert_eq!(
        h.flag(FLAG),
        Some(true),
        "refused by the server: nothing changed"
    );
}

#[tokio::test]
async fn action_500_is_http_error_with_excerpt() {
    let base = tiny(Router::new().route(
        "/rb",
        post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "db is on fire\x1b[2J") }),
    ))
    .await;
    let cfg = action_req(request(format!("{base}/rb"), Duration::from_secs(5)));
    let out = execute(&cfg, &[], &Attempt::first("rollback"), &no_redact).await;
    assert_eq!(out.result, ActionResult::HttpError { status: 500 });
    assert!(out.summary().contains("HTTP 500 Internal Server Error"));
    assert!(out.excerpt.contains("db is on fire"));
    assert!(
        !out.excerpt.contains('\x1b'),
        "no escape sequences reach the TUI"
    );
}

#[tokio::test]
async fn action_redirect_is_not_followed() {
    let hits = Arc::new(AtomicU32::new(0));
    let h2 = Arc::clone(&hits);
    let base = tiny(
        Router::new()
            .route(
                "/rb",
                post(|| async {
                    (
                        StatusCode::FOUND,
                        [("location", format!("/elsewhere?token={TOKEN}"))],
                    )
                }),
            )
            .route(
                "/elsewhere",
                get(move || {
                    h2.fetch_add(1, Ordering::SeqCst);
                    async { "followed" }
                })
                .post(|| async { "followed" }),
            ),
    )
    .await;
    let cfg = action_req(request(format!("{base}/rb"), Duration::from_secs(5)));
    let out = execute(&cfg, &[], &Attempt::first("rollback"), &redact_token).await;
    match &out.result {
        ActionResult::Redirect { status, location } => {
            assert_eq!(*status, 302);
            assert_eq!(location.as_deref(), Some("/elsewhere?token=***"));
        }
        other => panic!("expected a redirect, got {other:?}"),
    }
    assert!(!out.is_success());
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );
    assert!(!out.summary().contains(TOKEN));
}

#[tokio::test]
async fn action_refused_means_nothing_sent() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = action_req(request(
        format!("http://127.0.0.1:{port}/rb"),
        Duration::from_secs(5),
    ));
    let out = execute(&cfg, &[], &Attempt::first("rollback"), &no_redact).await;
    assert_eq!(out.result, ActionResult::Refused, "{out:?}");
    assert!(!out.outcome_unknown());
    assert_eq!(out.summary(), "refused: nothing was sent");
}

#[tokio::test]
async fn action_timeout_is_outcome_unknown() {
    // `slow`: the handler runs (the flag flips) and only the answer is late — exactly the
    // case where the rollback may have happened although we saw no answer.
    let h = sim_with(Scenario::Slow, Duration::from_secs(30)).await;
    let mut r = request(flag_url(&h), Duration::from_millis(400));
    r.headers
        .insert("Authorization".into(), format!("Bearer {TOKEN}"));
    let cfg = action_req(r);
    let started = Instant::now();
    let out = execute(&cfg, &[], &Attempt::first("rollback"), &redact_token).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        out.result,
        ActionResult::TimedOut { after_ms: 400 },
        "{out:?}"
    );
    assert!(out.outcome_unknown() && !out.is_success());
    assert_eq!(
        out.summary(),
        "time-out after 400ms: outcome unknown — check before retrying"
    );
    assert_eq!(posts(&h).len(), 1, "never retried");
    assert_eq!(h.flag(FLAG), Some(false), "it did arrive");
}

#[tokio::test]
async fn action_reset_after_send_is_outcome_unknown() {
    // A server that reads the request and closes the connection without answering.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        if let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            drop(s);
        }
    });
    let cfg = action_req(request(format!("http://{addr}/rb"), Duration::from_secs(5)));
    let out = execute(&cfg, &[], &Attempt::first("rollback"), &no_redact).await;
    assert!(
        matches!(out.result, ActionResult::ResetAfterSend { .. }),
        "{out:?}"
    );
    assert!(out.outcome_unknown());
    assert!(out.summary().contains("outcome unknown"));
}

#[tokio::test]
async fn action_excerpt_never_holds_a_secret() {
    // The server echoes the Authorization header back: the worst case for a leak.
    let echo = |h: HeaderMap| async move {
        let auth = h
            .get("authorization")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        (StatusCode::FORBIDDEN, format!("bad credentials: {auth}")).into_response()
    };
    let base = tiny(Router::new().route("/rb", post(echo))).await;

    // 1. A header token known to the caller's redaction.
    let mut r = request(format!("{base}/rb"), Duration::from_secs(5));
    r.headers
        .insert("Authorization".into(), format!("Bearer {TOKEN}"));
    let out = execute(
        &action_req(r),
        &[],
        &Attempt::first("rollback"),
        &redact_token,
    )
    .await;
    assert_eq!(out.result, ActionResult::HttpError { status: 403 });
    assert!(out.summary().contains("unauthorized"));
    assert!(out.excerpt.contains("Bearer ***"), "{}", out.excerpt);
    assert!(!format!("{out:?}").contains(TOKEN));

    // 2. A token_file token the caller does not know: still hidden.
    let dir = tempfile::tempdir().unwrap();
    let mut r = request(format!("{base}/rb"), Duration::from_secs(5));
    r.token_file = Some(token_file(&dir));
    let out = execute(&action_req(r), &[], &Attempt::first("rollback"), &no_redact).await;
    assert!(out.excerpt.contains("Bearer ***"), "{}", out.excerpt);
    assert!(!format!("{out:?}").contains(TOKEN));
    assert!(out.excerpt.len() <= EXCERPT_MAX);
}

#[tokio::test]
async fn action_token_file_readable_by_others_is_refused_unsent() {
    let h = sim_with(Scenario::Healthy, Duration::from_secs(30)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(&dir);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut r = request(flag_url(&h), Duration::from_secs(5));
    r.token_file = Some(path);
    let out = execute(&action_req(r), &[], &Attempt::first("rollback"), &no_redact).await;
    assert!(
        matches!(&out.result, ActionResult::NotSent { reason } if reason.contains("readable by others")),
        "{out:?}"
    );
    assert!(posts(&h).is_empty(), "nothing was sent");
    assert!(!format!("{out:?}").contains(TOKEN));
}

#[tokio::test]
async fn action_tls_from_unknown_source_or_bad_ca_is_not_sent() {
    let cfg = action_req(RequestCfg {
        tls_from: Some("nope".into()),
        ..request("https://127.0.0.1:9/rb".into(), Duration::from_secs(1))
    });
    let out = execute(&cfg, &[], &Attempt::first("rollback"), &no_redact).await;
    assert!(
        matches!(out.result, ActionResult::NotSent { .. }),
        "{out:?}"
    );

    let src: Source = toml::from_str(
        r#"id = "api"
kind = "http"
url = "https://127.0.0.1:9/"
ca_file = "/nonexistent/ca.pem""#,
    )
    .unwrap();
    let cfg = action_req(RequestCfg {
        tls_from: Some("api".into()),
        ..request("https://127.0.0.1:9/rb".into(), Duration::from_secs(1))
    });
    let out = execute(&cfg, &[src], &Attempt::first("rollback"), &no_redact).await;
    assert!(
        matches!(&out.result, ActionResult::NotSent { reason } if reason.contains("/nonexistent/ca.pem")),
        "{out:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Commands

#[tokio::test]
async fn action_command_true_and_false() {
    let out = execute(
        &action_cmd(&["true"], Duration::from_secs(5)),
        &[],
        &Attempt::first("restart"),
        &no_redact,
    )
    .await;
    assert_eq!(out.result, ActionResult::Exited { code: 0 });
    assert!(out.is_success());
    assert!(out.summary().starts_with("exit 0 in "));

    let out = execute(
        &action_cmd(&["false"], Duration::from_secs(5)),
        &[],
        &Attempt::first("restart"),
        &no_redact,
    )
    .await;
    assert_eq!(out.result, ActionResult::Exited { code: 1 });
    assert!(!out.is_success() && !out.outcome_unknown());
}

#[tokio::test]
async fn action_command_not_found() {
    let out = execute(
        &action_cmd(&["warroom-no-such-binary-xyz", "a"], Duration::from_secs(5)),
        &[],
        &Attempt::first("restart"),
        &no_redact,
    )
    .await;
    assert_eq!(
        out.result,
        ActionResult::NotFound {
            program: "warroom-no-such-binary-xyz".into()
        }
    );
    assert!(!out.is_success());
    assert!(out.summary().contains("not found"));
}

#[tokio::test]
async fn action_command_bad_cwd_is_not_not_found() {
    let mut cfg = action_cmd(&["true"], Duration::from_secs(5));
    if let Some(c) = cfg.command.as_mut() {
        c.cwd = Some("/nonexistent/dir".into());
    }
    let out = execute(&cfg, &[], &Attempt::first("restart"), &no_redact).await;
    assert!(
        matches!(out.result, ActionResult::SpawnFailed(_)),
        "{out:?}"
    );
}

#[tokio::test]
async fn action_command_hang_is_killed_with_its_group() {
    let started = Instant::now();
    let out = execute(
        &action_cmd(
            &["sh", "-c", "echo started; sleep 30"],
            Duration::from_millis(300),
        ),
        &[],
        &Attempt::first("restart"),
        &no_redact,
    )
    .await;
    let took = started.elapsed();
    assert_eq!(out.result, ActionResult::Killed { after_ms: 300 });
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(out.outcome_unknown());
    assert_eq!(
        out.summary(),
        "killed after 300ms: outcome unknown — check before retrying"
    );
    assert!(out.excerpt.contains("started"), "{}", out.excerpt);
    // The `sleep` died too: it held the pipe, and the pipe closed without the grace wait.
    assert!(!out.excerpt.contains("not all read"), "{}", out.excerpt);
}

#[tokio::test]
async fn action_command_huge_output_is_capped() {
    let out = execute(
        &action_cmd(
            &["head", "-c", "100000000", "/dev/zero"],
            Duration::from_secs(30),
        ),
        &[],
        &Attempt::first("restart"),
        &no_redact,
    )
    .await;
    assert_eq!(out.result, ActionResult::Exited { code: 0 });
    assert!(out.excerpt.len() <= EXCERPT_MAX, "{}", out.excerpt.len());
    assert!(out.excerpt.contains("bytes …]"), "{}", out.excerpt);
}

#[tokio::test]
async fn action_capture_memory_is_bounded() {
    use tokio::io::AsyncReadExt;
    let c = capture_for_test(tokio::io::repeat(b'x').take(100_000_000)).await;
    assert_eq!(c.0, 100_000_000);
    assert_eq!(c.1, HEAD_KEEP_FOR_TEST);
    assert!(c.2 <= TAIL_KEEP_FOR_TEST);
}

#[tokio::test]
async fn action_command_stdin_is_eof() {
    let started = Instant::now();
    let out = execute(
        &action_cmd(&["cat"], Duration::from_secs(5)),
        &[],
        &Attempt::first("restart"),
        &no_redact,
    )
    .await;
    assert_eq!(out.result, ActionResult::Exited { code: 0 });
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn action_command_has_no_controlling_terminal() {
    // `sudo`/`ssh` prompts open /dev/tty: with no controlling terminal they fail at once
    // instead of drawing over the TUI.
    let out = execute(
        &action_cmd(&["sh", "-c", "exec 3</dev/tty"], Duration::from_secs(5)),
        &[],
        &Attempt::first("restart"),
        &no_redact,
    )
    .await;
    assert!(
        matches!(out.result, ActionResult::Exited { code } if code != 0),
        "{out:?}"
    );
}

#[tokio::test]
async fn action_command_output_is_redacted_and_env_passed() {
    let mut cfg = action_cmd(
        &[
            "sh",
            "-c",
            "echo \"token=$SECRET_T\"; echo \"$SECRET_T\" >&2; echo \"$PLAIN\"; exit 3",
        ],
        Duration::from_secs(5),
    );
    if let Some(c) = cfg.command.as_mut() {
        c.env.insert("SECRET_T".into(), TOKEN.into());
        c.env
            .insert("PLAIN".into(), "USE_CLIENT_DRAWER_READ=false".into());
    }
    let out = execute(&cfg, &[], &Attempt::first("restart"), &redact_token).await;
    assert_eq!(out.result, ActionResult::Exited { code: 3 });
    assert!(out.summary().starts_with("exit 3 in "));
    assert!(out.excerpt.contains("token=***"), "{}", out.excerpt);
    assert!(out.excerpt.contains("USE_CLIENT_DRAWER_READ=false"));
    assert!(!format!("{out:?}").contains(TOKEN));
}

// ---------------------------------------------------------------------------------------
// Texts

#[test]
fn action_summaries() {
    let s = |r: ActionResult, ms| r.summary(ms);
    assert_eq!(
        s(ActionResult::Http { status: 200 }, 45),
        "HTTP 200 in 45 ms"
    );
    assert_eq!(s(ActionResult::Exited { code: 3 }, 1_200), "exit 3 in 1.2s");
    assert_eq!(
        s(ActionResult::TimedOut { after_ms: 10_000 }, 10_001),
        "time-out after 10s: outcome unknown — check before retrying"
    );
    assert_eq!(
        s(ActionResult::Killed { after_ms: 60_000 }, 60_010),
        "killed after 1m: outcome unknown — check before retrying"
    );
    assert!(s(ActionResult::HttpError { status: 403 }, 5).contains("unauthorized"));
    assert!(!ActionResult::Refused.outcome_unknown());
}

#[test]
fn action_describe_masks_secrets() {
    let mut r = request(
        "https://api.example/api/v1/admin/rollback".into(),
        Duration::from_secs(10),
    );
    r.headers
        .insert("Authorization".into(), format!("Bearer {TOKEN}"));
    r.headers.insert("X-Api-Key".into(), TOKEN.into());
    r.headers.insert("X-Reason".into(), "breach".into());
    let lines = describe(&action_req(r), &no_redact);
    assert_eq!(lines[0], "POST https://api.example/api/v1/admin/rollback");
    assert!(
        lines.contains(&"Authorization: Bearer ***".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"X-Api-Key: ***".to_string()));
    assert!(lines.contains(&"X-Reason: breach".to_string()));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("body: {\"enabled\": false}")));
    assert!(lines.contains(&"timeout: 10s".to_string()));
    assert!(lines.iter().all(|l| !l.contains(TOKEN)));

    let mut c = action_cmd(
        &["supervisorctl", "restart", "backend"],
        Duration::from_secs(60),
    );
    if let Some(cmd) = c.command.as_mut() {
        cmd.env
            .insert("USE_CLIENT_DRAWER_READ".into(), "false".into());
    }
    let lines = describe(&c, &no_redact);
    assert_eq!(lines[0], r#"argv: ["supervisorctl", "restart", "backend"]"#);
    assert!(lines.contains(&"env: USE_CLIENT_DRAWER_READ=false".to_string()));
    assert!(lines.contains(&"timeout: 1m".to_string()));
}

#[test]
fn action_idempotency_keys_are_unique() {
    let a = Attempt::first("rollback");
    let b = Attempt::first("rollback");
    assert_ne!(a.idempotency_key, b.idempotency_key);
    assert!(a.idempotency_key.starts_with("warroom-rollback-"));
}
