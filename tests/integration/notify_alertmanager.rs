//! A real Alertmanager (Debian's `prometheus-alertmanager`) on a loopback port, started by
//! the test with its own storage and a minimal config: a dashboard session's breach is an
//! active alert with the labels and annotations on-call routes by, it stays active while
//! its `endsAt` is refreshed, and it resolves when the breach ends (`GET /api/v2/alerts`).
//!
//! Without the binary the test says so and skips; with `CI` set it fails instead (`.ci/run`
//! installs it).

use crate::common::{audit_path, drive_until, session};
use axum::response::IntoResponse;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn alertmanager_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("prometheus-alertmanager"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let p = PathBuf::from("/usr/bin/prometheus-alertmanager");
        p.is_file().then_some(p)
    })
}

/// Kills and reaps Alertmanager however the test ends.
struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn start_alertmanager(bin: &PathBuf, dir: &std::path::Path) -> (Running, String) {
    let port = free_port();
    let cfg = dir.join("alertmanager.yml");
    let mut f = std::fs::File::create(&cfg).expect("write alertmanager.yml");
    write!(
        f,
        "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n"
    )
    .expect("write alertmanager.yml");
    let log = dir.join("alertmanager.log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // No cluster: it would listen on 9094 on every interface.
        .arg("--cluster.listen-address=")
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start alertmanager");
    (Running { child, log }, format!("http://127.0.0.1:{port}"))
}

/// The source: `{"err": <value>}`, the value set by the test.
async fn start_source(err: Arc<AtomicU64>) -> String {
    let app = axum::Router::new().route(
        "/m",
        axum::routing::get(move || {
            let err = Arc::clone(&err);
            async move {
                let v = f64::from_bits(err.load(Ordering::SeqCst));
                axum::Json(serde_json::json!({ "err": v })).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

/// Our alerts as Alertmanager lists them (`GET /api/v2/alerts`: active ones only).
async fn our_alerts(am: &str) -> Vec<Value> {
    let Ok(r) = reqwest::get(format!("{am}/api/v2/alerts")).await else {
        return Vec::new();
    };
    let body = r.bytes().await.unwrap_or_default();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["labels"]["cutover"] == "AM test")
        .collect()
}

#[tokio::test]
async fn a_breach_is_an_active_alert_until_it_ends_then_it_resolves() {
    let Some(bin) = alertmanager_binary() else {
        if std::env::var_os("CI").is_some() {
            panic!("no `prometheus-alertmanager` binary on PATH or at /usr/bin, and CI is set: .ci/run installs Debian's `prometheus-alertmanager` package");
        }
        eprintln!(
            "SKIPPED: no `prometheus-alertmanager` binary (apt-get install prometheus-alertmanager); with CI set this fails"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (running, am) = start_alertmanager(&bin, dir.path());
    let client = reqwest::Client::new();
    let start = std::time::Instant::now();
    loop {
        let ready = client
            .get(format!("{am}/-/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "alertmanager not ready: {}",
            running.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let err = Arc::new(AtomicU64::new(1.0f64.to_bits()));
    let base = start_source(Arc::clone(&err)).await;
    let text = format!(
        r#"
[cutover]
name = "AM test"
environment = "production"

[[source]]
id = "api"
kind = "http"
url = "{base}/m"
interval = "200ms"

[[signal]]
id = "err"
label = "error rate"
source = "api"
kind = "metric"
path = ".err"
unit = "%"
crit = "> 5"
critical = true
advice = {{ crit = "roll back the modules flag" }}

[[notify]]
kind = "alertmanager"
url = "${{ALERTMANAGER_URL}}"
refresh = "1s"
"#
    );
    let am_env = am.clone();
    let env = move |k: &str| (k == "ALERTMANAGER_URL").then(|| am_env.clone());
    let cfg = Arc::new(
        warroom::config::load::load_str_with_env(&text, "am.toml", &env).expect("config loads"),
    );
    let log_dir = tempfile::tempdir().unwrap();
    let (mut s, mut rx) = session(cfg, &audit_path(&log_dir), false).await;

    err.store(9.0f64.to_bits(), Ordering::SeqCst);
    let mut active = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while active.is_empty() {
        drive_until(&mut s, &mut rx, Duration::from_millis(300), |_| false).await;
        active = our_alerts(&am).await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "no active alert; events: {:?}\n{}",
            s.state.events().iter().map(|e| &e.text).collect::<Vec<_>>(),
            running.log_text()
        );
    }
    assert_eq!(active.len(), 1, "{active:#?}");
    let a = &active[0];
    assert_eq!(a["labels"]["alertname"], "WarroomCritBreach");
    assert_eq!(a["labels"]["environment"], "production");
    assert_eq!(a["labels"]["signal"], "err");
    assert_eq!(a["labels"]["severity"], "critical");
    assert!(
        a["annotations"]["summary"].as_str().unwrap().contains('9'),
        "{a}"
    );
    assert_eq!(a["annotations"]["threshold"], "crit > 5");
    assert_eq!(a["annotations"]["advice"], "roll back the modules flag");
    assert!(!a["annotations"]["host"].as_str().unwrap().is_empty());
    assert_ne!(a["status"]["state"], "suppressed");
    let first_end = a["endsAt"].as_str().unwrap().to_string();

    // Held for far longer than the 3 s one `endsAt` lasts: refreshed, it stays active.
    drive_until(&mut s, &mut rx, Duration::from_secs(5), |_| false).await;
    let still = our_alerts(&am).await;
    assert_eq!(
        still.len(),
        1,
        "the alert lapsed while the breach held: {still:#?}"
    );
    let later_end = still[0]["endsAt"].as_str().unwrap().to_string();
    assert!(later_end > first_end, "{later_end} after {first_end}");

    // The breach ends: the alert resolves (Alertmanager lists active alerts only).
    err.store(1.0f64.to_bits(), Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        drive_until(&mut s, &mut rx, Duration::from_millis(300), |_| false).await;
        if our_alerts(&am).await.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the alert did not resolve: {:#?}",
            our_alerts(&am).await
        );
    }
    let log = std::fs::read_to_string(audit_path(&log_dir)).unwrap();
    assert!(log.contains("\"phase\":\"resolve\""), "{log}");
    assert!(!log.contains(&am), "the target's URL is a secret: {log}");
    s.shutdown();
}
