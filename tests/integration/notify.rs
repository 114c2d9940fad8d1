//! Notifications end to end: dashboard sessions (no terminal) polling a loopback source
//! and sending to loopback receivers — the Slack, PagerDuty and webhook bodies; two
//! screens on one audit log send each message once; a read-only screen sends nothing; a
//! flapping signal is one episode; a receiver that never answers, or is not there, never
//! holds the polls or the clock; a target that refuses is given up on with an event on
//! the screen; no secret in any body or audit record; `check --notify`; `notify-test`.

use crate::common;

use crate::common::{audit_path, drive_until, session};
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom::app::{Msg, State};
use warroom::config::Config;
use warroom::sample::Stamp;
use warroom::session::{Inbox, Session};

/// Generous: debug builds on a loaded machine.
const WAIT: Duration = Duration::from_secs(20);

/// The secrets of these tests: the source's token, the targets' URLs and PagerDuty's key.
const API_TOKEN: &str = "canary-api-token-5e1f0c";
const HOOK_SECRET: &str = "canary-hook-7d3e9a";
const SLACK_SECRET: &str = "canary-slack-51b2c8";
const PD_KEY: &str = "canary-pd-routing-90af3b";

/// The loopback source (`GET /m`) and receivers (`POST /…`), in this process.
#[derive(Clone, Default)]
struct Hub {
    /// Every POST: its path and body.
    got: Arc<Mutex<Vec<(String, Value)>>>,
    /// The source's answers for `err`, taken in turn (the last one holds).
    errs: Arc<Mutex<Vec<f64>>>,
    /// Cycle through `errs` instead of holding the last.
    cycle: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
    /// The source fails (HTTP 500, its body echoing the request's token).
    down: Arc<AtomicBool>,
    /// The source answers `err` as text quoting the Authorization header it was sent.
    echo: Arc<AtomicBool>,
    /// What the receivers answer (0: 200).
    status: Arc<AtomicU16>,
}

impl Hub {
    fn set(&self, errs: &[f64], cycle: bool) {
        *self.errs.lock().unwrap() = errs.to_vec();
        self.cycle.store(cycle, Ordering::SeqCst);
    }

    fn posts(&self, prefix: &str) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, b)| b.clone())
            .collect()
    }

    fn all_bodies(&self) -> String {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn source(AxState(h): AxState<Hub>, headers: axum::http::HeaderMap) -> Response {
    let n = h.served.fetch_add(1, Ordering::SeqCst);
    if h.down.load(Ordering::SeqCst) {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{{\"error\": \"rejected {auth}\"}}"),
        )
            .into_response();
    }
    if h.echo.load(Ordering::SeqCst) {
        // A server that quotes the request's credential back in its answer.
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        return axum::Json(serde_json::json!({ "err": format!("rejected {auth}") }))
            .into_response();
    }
    let errs = h.errs.lock().unwrap().clone();
    let v = if errs.is_empty() {
        1.0
    } else if h.cycle.load(Ordering::SeqCst) {
        errs[n % errs.len()]
    } else {
        errs[errs.len() - 1]
    };
    axum::Json(serde_json::json!({ "err": v })).into_response()
}

async fn receive(AxState(h): AxState<Hub>, uri: Uri, body: Bytes) -> StatusCode {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    h.got.lock().unwrap().push((uri.path().to_string(), v));
    match h.status.load(Ordering::SeqCst) {
        0 => StatusCode::OK,
        s => StatusCode::from_u16(s).unwrap(),
    }
}

async fn start_hub() -> (Hub, String) {
    let hub = Hub::default();
    let app = axum::Router::new()
        .route("/m", axum::routing::get(source))
        .route("/{*rest}", axum::routing::post(receive))
        .with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (hub, base)
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A listener that accepts every connection and never answers (held until the test ends).
async fn silent_receiver() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/silent", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(sock);
        }
    });
    (url, accepted)
}

/// The test cutover: one source at `base`, one critical signal (`signal_extra` added to
/// it), then `notify` (TOML of `[[notify]]` tables). `${HOOK_URL}`, `${SLACK_URL}`,
/// `${PD_ROUTING_KEY}` and `${API_TOKEN}` come from the environment given.
fn config(base: &str, signal_extra: &str, notify: &str) -> Arc<Config> {
    let text = format!(
        r#"
[cutover]
name = "Notify test"

[[source]]
id = "api"
kind = "http"
url = "{base}/m"
interval = "100ms"
timeout = "2s"
headers = {{ Authorization = "Bearer ${{API_TOKEN}}" }}

[[signal]]
id = "err"
label = "error rate"
source = "api"
kind = "metric"
path = ".err"
unit = "%"
crit = "> 5"
critical = true
{signal_extra}

{notify}
"#
    );
    let base = base.to_string();
    let env = move |k: &str| match k {
        "API_TOKEN" => Some(API_TOKEN.to_string()),
        "HOOK_URL" => Some(format!("{base}/hook/{HOOK_SECRET}")),
        "SLACK_URL" => Some(format!("{base}/slack/T000/B000/{SLACK_SECRET}")),
        "PD_ROUTING_KEY" => Some(PD_KEY.to_string()),
        _ => None,
    };
    Arc::new(
        warroom::config::load::load_str_with_env(&text, "notify-test.toml", &env)
            .unwrap_or_else(|e| panic!("test config loads: {e}")),
    )
}

const WEBHOOK: &str = r#"
[[notify]]
kind = "webhook"
name = "hook"
url = "${HOOK_URL}"
"#;

fn triggers(posts: &[Value], key: &str) -> usize {
    posts
        .iter()
        .filter(|b| b["key"] == key && b["status"] == "firing")
        .count()
}

fn resolves(posts: &[Value], key: &str) -> usize {
    posts
        .iter()
        .filter(|b| b["key"] == key && b["status"] == "resolved")
        .count()
}

/// Drive the session for `d` more (a duplicate would have time to arrive).
async fn settle(s: &mut Session, rx: &mut Inbox, d: Duration) {
    drive_until(s, rx, d, |_| false).await;
}

fn audit_text(dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(audit_path(dir)).unwrap_or_default()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [API_TOKEN, HOOK_SECRET, SLACK_SECRET, PD_KEY] {
        assert!(!text.contains(secret), "{what} holds {secret}:\n{text}");
    }
}

fn event_texts(st: &State) -> String {
    st.events()
        .iter()
        .map(|e| e.text.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn slack_pagerduty_and_webhook_get_one_opening_and_one_resolve_with_no_secret() {
    let (hub, base) = start_hub().await;
    let pd = format!(
        r#"
[[notify]]
kind = "slack"
name = "team"
url = "${{SLACK_URL}}"

[[notify]]
kind = "pagerduty"
name = "oncall"
url = "{base}/pd/v2/enqueue"
routing_key = "${{PD_ROUTING_KEY}}"
"#
    );
    let cfg = config(&base, "", &format!("{WEBHOOK}{pd}"));
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("session.jsonl");
    let (mut s, mut rx) =
        common::session_recording(cfg, &audit_path(&dir), false, Some(&recording)).await;

    hub.set(&[1.0], false);
    assert!(
        drive_until(&mut s, &mut rx, WAIT, |st| st.engine().sources[0].polls
            >= 2)
        .await
    );
    assert!(
        hub.got.lock().unwrap().is_empty(),
        "nothing to tell while ok"
    );

    hub.set(&[9.5], false);
    let opened = |h: &Hub| {
        !h.posts("/hook/").is_empty()
            && !h.posts("/slack/").is_empty()
            && !h.posts("/pd/").is_empty()
    };
    assert!(
        drive_until(&mut s, &mut rx, WAIT, |_| opened(&hub)).await,
        "every target told of the breach; got {:?}",
        hub.got.lock().unwrap()
    );

    hub.set(&[1.0], false);
    let resolved = |h: &Hub| {
        resolves(&h.posts("/hook/"), "crit_breach/err") == 1
            && h.posts("/slack/").len() >= 2
            && h.posts("/pd/").len() >= 2
    };
    assert!(
        drive_until(&mut s, &mut rx, WAIT, |_| resolved(&hub)).await,
        "every target told of the resolve; got {:?}",
        hub.got.lock().unwrap()
    );
    settle(&mut s, &mut rx, Duration::from_secs(1)).await;

    // The webhook: the documented, versioned body, once per opening and once per resolve.
    let hook = hub.posts("/hook/");
    assert_eq!(hook.len(), 2, "{hook:#?}");
    let (open, end) = (&hook[0], &hook[1]);
    assert_eq!(open["version"], 1);
    assert_eq!(open["source"], "warroom");
    assert_eq!(open["event"], "crit_breach");
    assert_eq!(open["status"], "firing");
    assert_eq!(open["key"], "crit_breach/err");
    assert_eq!(open["severity"], "crit");
    assert_eq!(open["cutover"], "Notify test");
    assert_eq!(open["environment"], "default");
    assert_eq!(open["subject"], "err");
    assert_eq!(open["threshold"], "crit > 5");
    assert!(open["value"].as_str().unwrap().starts_with("9.5"), "{open}");
    assert!(!open["host"].as_str().unwrap().is_empty());
    assert!(open["summary"].as_str().unwrap().contains("9.5"), "{open}");
    assert_eq!(end["status"], "resolved");
    assert_eq!(end["started_at"], open["started_at"]);
    // Frozen at the event: the resolve still says what the opening read.
    assert!(
        end["summary"].as_str().unwrap().contains("RESOLVED"),
        "{end}"
    );
    assert!(end["summary"].as_str().unwrap().contains("9.5"), "{end}");

    // Slack: text and blocks.
    let slack = hub.posts("/slack/");
    assert_eq!(slack.len(), 2, "{slack:#?}");
    assert!(
        slack[0]["text"]
            .as_str()
            .unwrap()
            .contains("CRIT error rate"),
        "{}",
        slack[0]
    );
    assert_eq!(slack[0]["blocks"][0]["type"], "header");
    assert_eq!(slack[0]["blocks"][0]["text"]["text"], "CRIT BREACH");
    assert!(slack[0]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["type"] == "context"));
    assert_eq!(
        slack[1]["blocks"][0]["text"]["text"],
        "RESOLVED: CRIT BREACH"
    );

    // PagerDuty Events v2: trigger, then resolve, one dedup_key from cutover and reason.
    let pd = hub.posts("/pd/");
    assert_eq!(pd.len(), 2, "{pd:#?}");
    assert_eq!(pd[0]["event_action"], "trigger");
    assert_eq!(pd[0]["routing_key"], PD_KEY);
    assert_eq!(
        pd[0]["dedup_key"],
        "warroom/notify-test/default/crit_breach/err"
    );
    assert_eq!(pd[0]["payload"]["severity"], "critical");
    assert_eq!(pd[0]["payload"]["component"], "err");
    assert!(!pd[0]["payload"]["source"].as_str().unwrap().is_empty());
    assert_eq!(pd[1]["event_action"], "resolve");
    assert_eq!(pd[1]["dedup_key"], pd[0]["dedup_key"]);

    // Now the source fails, its error body echoing the token it was sent.
    hub.down.store(true, Ordering::SeqCst);
    assert!(
        drive_until(&mut s, &mut rx, WAIT, |_| triggers(
            &hub.posts("/hook/"),
            "source_down/api"
        ) == 1)
        .await,
        "the webhook is told the source is down: {:?}",
        hub.posts("/hook/")
    );

    // Every record of the sends, and no secret anywhere but where it belongs.
    let audit = audit_text(&dir);
    assert_eq!(audit.matches("\"notify_claimed\"").count(), 3, "{audit}");
    assert!(audit.matches("\"notify_sent\"").count() >= 6, "{audit}");
    assert!(audit.contains("\"target\":\"hook\""), "{audit}");
    assert_no_secret("the audit log", &audit);
    let bodies = hub.all_bodies().replace(PD_KEY, "");
    assert_no_secret("the bodies sent", &bodies);
    assert_no_secret("the screen's events", &event_texts(&s.state));
    s.shutdown();
    let recorded = std::fs::read_to_string(&recording).unwrap();
    assert!(recorded.contains("\"notify\""), "the config is recorded");
    assert_no_secret("the recording", &recorded);
}

#[tokio::test]
async fn a_servers_words_never_carry_a_secret_into_a_notification() {
    let (hub, base) = start_hub().await;
    hub.echo.store(true, Ordering::SeqCst);
    let cfg = config(&base, "no_data = \"crit\"", WEBHOOK);
    let dir = tempfile::tempdir().unwrap();
    let (mut s, mut rx) = session(cfg, &audit_path(&dir), false).await;
    assert!(
        drive_until(&mut s, &mut rx, WAIT, |_| triggers(
            &hub.posts("/hook/"),
            "crit_breach/err"
        ) == 1)
        .await,
        "no data judged crit is announced: {:?}",
        hub.posts("/hook/")
    );
    let posts = hub.posts("/hook/");
    let summary = posts[0]["summary"].as_str().unwrap();
    // The server's words are there, its echo of the token is not.
    assert!(summary.contains("rejected Bearer"), "{summary}");
    assert_no_secret("the bodies sent", &hub.all_bodies());
    assert_no_secret("the audit log", &audit_text(&dir));
    s.shutdown();
}

/// Two sessions on one audit log, fed the same source, until `done` or the time is up.
async fn drive_two(
    a: &mut (Session, Inbox),
    b: &mut (Session, Inbox),
    limit: Duration,
    done: impl Fn() -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    while tokio::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::select! {
            Some(m) = a.1.recv() => a.0.receive(m),
            Some(m) = b.1.recv() => b.0.receive(m),
            _ = tick.tick() => {
                a.0.handle(Msg::Tick(Stamp::now()));
                b.0.handle(Msg::Tick(Stamp::now()));
            }
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
    done()
}

#[tokio::test]
async fn two_screens_on_one_audit_log_send_each_message_once() {
    let (hub, base) = start_hub().await;
    let cfg = config(&base, "", WEBHOOK);
    let dir = tempfile::tempdir().unwrap();
    let log = audit_path(&dir);
    let mut a = session(Arc::clone(&cfg), &log, false).await;
    let mut b = session(cfg, &log, false).await;
    hub.set(&[9.0], false);
    let both_saw = |a: &(Session, Inbox), b: &(Session, Inbox)| {
        [&a.0, &b.0]
            .iter()
            .all(|s| s.state.engine().critical_breaches().count() == 1)
    };
    assert!(drive_two(&mut a, &mut b, WAIT, || !hub.posts("/hook/").is_empty()).await);
    // Both screens show the breach, and a duplicate has had time to arrive.
    assert!(both_saw(&a, &b));
    drive_two(&mut a, &mut b, Duration::from_secs(2), || false).await;
    assert_eq!(
        triggers(&hub.posts("/hook/"), "crit_breach/err"),
        1,
        "{:#?}",
        hub.posts("/hook/")
    );

    hub.set(&[1.0], false);
    assert!(
        drive_two(&mut a, &mut b, WAIT, || resolves(
            &hub.posts("/hook/"),
            "crit_breach/err"
        ) >= 1)
        .await
    );
    drive_two(&mut a, &mut b, Duration::from_secs(2), || false).await;
    let posts = hub.posts("/hook/");
    assert_eq!(triggers(&posts, "crit_breach/err"), 1, "{posts:#?}");
    assert_eq!(resolves(&posts, "crit_breach/err"), 1, "{posts:#?}");
    // One claim per announcement, one delivery each, in the shared log.
    let audit = std::fs::read_to_string(&log).unwrap();
    assert_eq!(audit.matches("\"notify_claimed\"").count(), 2, "{audit}");
    assert_eq!(audit.matches("\"notify_sent\"").count(), 2, "{audit}");
    a.0.shutdown();
    b.0.shutdown();
}

#[tokio::test]
async fn a_read_only_screen_never_sends() {
    let (hub, base) = start_hub().await;
    let cfg = config(&base, "", WEBHOOK);
    let dir = tempfile::tempdir().unwrap();
    let (mut s, mut rx) = session(cfg, &audit_path(&dir), true).await;
    hub.set(&[9.0], false);
    assert!(
        drive_until(&mut s, &mut rx, WAIT, |st| st
            .engine()
            .critical_breaches()
            .count()
            == 1
            && st.engine().sources[0].polls >= 10)
        .await
    );
    settle(&mut s, &mut rx, Duration::from_secs(1)).await;
    assert!(hub.got.lock().unwrap().is_empty());
    assert!(
        event_texts(&s.state).contains("read-only: this screen sends no notifications"),
        "{}",
        event_texts(&s.state)
    );
    s.shutdown();
}

#[tokio::test]
async fn a_signal_flapping_within_its_clear_for_is_one_episode() {
    let (hub, base) = start_hub().await;
    let cfg = config(&base, "clear_for = \"30s\"", WEBHOOK);
    let dir = tempfile::tempdir().unwrap();
    let (mut s, mut rx) = session(cfg, &audit_path(&dir), false).await;
    // Crit and back on every poll, never clear for 30 s.
    hub.set(&[9.0, 1.0], true);
    assert!(
        drive_until(&mut s, &mut rx, WAIT, |st| st.engine().sources[0].polls
            >= 20)
        .await
    );
    settle(&mut s, &mut rx, Duration::from_millis(500)).await;
    let posts = hub.posts("/hook/");
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert_eq!(triggers(&posts, "crit_breach/err"), 1);
    s.shutdown();
}

#[tokio::test]
async fn a_dead_receiver_never_holds_the_polls_or_the_clock() {
    let (hub, base) = start_hub().await;
    let (silent, accepted) = silent_receiver().await;
    let closed = format!("http://127.0.0.1:{}/closed", closed_port());
    let notify = format!(
        r#"
[[notify]]
kind = "webhook"
name = "silent"
url = "{silent}"
timeout = "60s"

[[notify]]
kind = "slack"
name = "gone"
url = "{closed}"
"#
    );
    let cfg = config(&base, "", &notify);
    let dir = tempfile::tempdir().unwrap();
    let (mut s, mut rx) = session(cfg, &audit_path(&dir), false).await;
    // No clear_for: a new episode (a notice) on every other poll, far more than the
    // targets can take while one never answers.
    hub.set(&[9.0, 1.0], true);
    let start_polls = s.state.engine().sources[0].polls;
    let start_clock = s.state.now();
    assert!(
        drive_until(&mut s, &mut rx, WAIT, |st| st.engine().sources[0].polls
            >= start_polls + 40
            && accepted.load(Ordering::SeqCst) >= 1)
        .await,
        "polls went on while the receiver hung: {} polls, {} connections",
        s.state.engine().sources[0].polls,
        accepted.load(Ordering::SeqCst)
    );
    // The clock moved with them, and the screen still takes what arrives.
    assert!(s.state.now() > start_clock);
    let before = s.state.engine().sources[0].polls;
    assert!(
        drive_until(&mut s, &mut rx, WAIT, |st| st.engine().sources[0].polls
            >= before + 5)
        .await
    );
    s.shutdown();
}

#[tokio::test]
async fn a_refusing_target_is_given_up_on_with_an_event_on_the_screen() {
    let (hub, base) = start_hub().await;
    hub.status.store(500, Ordering::SeqCst);
    let notify = r#"
[[notify]]
kind = "webhook"
name = "hook"
url = "${HOOK_URL}"
max_attempts = 2
"#;
    let cfg = config(&base, "", notify);
    let dir = tempfile::tempdir().unwrap();
    let (mut s, mut rx) = session(cfg, &audit_path(&dir), false).await;
    hub.set(&[9.0], false);
    assert!(
        drive_until(&mut s, &mut rx, WAIT, |st| event_texts(st)
            .contains("NOTIFICATION FAILED"))
        .await,
        "the screen says the notification failed: {}",
        event_texts(&s.state)
    );
    assert_eq!(hub.posts("/hook/").len(), 2, "two tries");
    let text = event_texts(&s.state);
    assert!(text.contains("HTTP 500"), "{text}");
    assert_no_secret("the screen's events", &text);
    let audit = audit_text(&dir);
    assert!(audit.contains("\"notify_failed\""), "{audit}");
    assert!(audit.contains("\"attempts\":2"), "{audit}");
    assert_no_secret("the audit log", &audit);
    s.shutdown();
}

#[tokio::test]
async fn check_notify_announces_what_a_window_sees() {
    let (hub, base) = start_hub().await;
    let mut cfg = (*config(&base, "", WEBHOOK)).clone();
    let (redactor, _) = warroom::secure::secure(&mut cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    hub.set(&[9.0], false);
    let mut out = Vec::new();
    let code = warroom::check::run_check(
        warroom::check::CheckOptions {
            cfg: Arc::new(cfg),
            window: Some(Duration::from_secs(2)),
            interval: None,
            format: warroom::check::Format::Text,
            record: None,
            redact: redactor.into_fn(),
            notify: Some(audit_path(&dir)),
        },
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(code, warroom::check::EXIT_BREACH);
    let posts = hub.posts("/hook/");
    assert_eq!(triggers(&posts, "crit_breach/err"), 1, "{posts:#?}");
    let audit = audit_text(&dir);
    assert!(audit.contains("\"notify_sent\""), "{audit}");
    assert_no_secret("the audit log", &audit);
}

#[tokio::test]
async fn notify_test_sends_to_every_target_and_says_which_failed() {
    let (hub, base) = start_hub().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cutover.toml");
    let closed = closed_port();
    // The webhook's URL from a private file, as a token is.
    let url_file = dir.path().join("hook.url");
    std::fs::write(&url_file, format!("{base}/hook/{HOOK_SECRET}\n")).unwrap();
    std::fs::set_permissions(
        &url_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    std::fs::write(
        &file,
        format!(
            r#"
[cutover]
name = "Notify test"

[[source]]
id = "api"
kind = "http"
url = "{base}/m"

[[notify]]
kind = "webhook"
name = "hook"
token_file = "{}"

[[notify]]
kind = "slack"
name = "gone"
url = "http://127.0.0.1:{closed}/services/T/B/{SLACK_SECRET}"
"#,
            url_file.display()
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_warroom");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .args(["notify-test", "-c"])
            .arg(&file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ok      webhook \"hook\": HTTP 200"),
        "{stdout}"
    );
    assert!(stdout.contains("FAILED  slack \"gone\""), "{stdout}");
    assert!(stdout.contains("1 of 2 target(s) answered"), "{stdout}");
    assert_no_secret("notify-test's output", &format!("{stdout}{stderr}"));
    let posts = hub.posts("/hook/");
    assert_eq!(
        posts.len(),
        1,
        "the URL read from the file, its newline dropped"
    );
    assert_eq!(posts[0]["event"], "test");
    assert_eq!(posts[0]["version"], 1);
}
