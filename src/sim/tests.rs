//! The simulator against a real HTTP client on 127.0.0.1:0.

use super::*;
use std::time::Duration;

const TOKEN: &str = "s3cret-token-value";

/// reqwest is built without its `json` feature; these keep the tests readable.
trait JsonResponse {
    async fn json_value(self) -> Result<Value, String>;
}

impl JsonResponse for reqwest::Response {
    async fn json_value(self) -> Result<Value, String> {
        let b = self.bytes().await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&b).map_err(|e| e.to_string())
    }
}

trait JsonBody {
    fn json_body(self, v: Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, v: Value) -> Self {
        self.header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(v.to_string())
    }
}

fn client() -> reqwest::Client {
    // No pooling: each check sees the listener as it is now, not a kept-alive connection.
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn sim(scenario: Scenario) -> SimHandle {
    let mut o = SimOptions::new(Profile::Brokers);
    o.scenario = scenario;
    o.token = Some(TOKEN.into());
    start(o).await.unwrap()
}

async fn ops(h: &SimHandle) -> Value {
    let url = format!("{}/analytics/ops/metrics", h.base_url());
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json_value()
        .await
        .unwrap()
}

fn critical(v: &Value) -> Vec<(f64, f64)> {
    v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["critical"] == true)
        .map(|e| {
            (
                e["error_rate_pct"].as_f64().unwrap(),
                e["p95_ms"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn healthy_serves_the_runbook_endpoints_within_thresholds() {
    let h = sim(Scenario::Healthy).await;
    let c = client();
    let health: Value = c
        .get(format!("{}/api/v1/health", h.base_url()))
        .send()
        .await
        .unwrap()
        .json_value()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["db"], "ok");
    assert!(health["version"].is_string());
    let files: Value = c
        .get(format!("{}/api/check-files", h.base_url()))
        .send()
        .await
        .unwrap()
        .json_value()
        .await
        .unwrap();
    assert_eq!(files["ok"], true);
    assert_eq!(files["missing"], json!([]));

    let m = ops(&h).await;
    assert_eq!(m["window_seconds"], 60);
    assert!(chrono::DateTime::parse_from_rfc3339(m["generated_at"].as_str().unwrap()).is_ok());
    let eps = m["endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 8);
    let crit: Vec<&str> = eps
        .iter()
        .filter(|e| e["critical"] == true)
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        crit,
        [
            "/api/v1/analytics/portfolio/summary",
            "/api/v1/analytics/brokers/summary",
            "/api/v1/brokers/preferences",
            "/api/v1/auth/login"
        ]
    );
    for e in eps.iter().chain([&m["summary"]]) {
        let err = e["error_rate_pct"].as_f64().unwrap();
        let p95 = e["p95_ms"].as_f64().unwrap();
        assert!((0.1..=0.6).contains(&err), "{e}");
        assert!((250.0..=600.0).contains(&p95), "{e}");
        assert!(e["requests"].as_u64().unwrap() > 0);
    }
    h.shutdown().await;
}

#[tokio::test]
async fn error_burst_and_latency_spike_breach_critical_endpoints() {
    let h = sim(Scenario::ErrorBurst).await;
    for (err, _) in critical(&ops(&h).await) {
        assert!(err > 2.0, "error-burst critical at {err}");
    }
    h.set_scenario(Scenario::LatencySpike);
    for (_, p95) in critical(&ops(&h).await) {
        assert!(p95 > 1200.0, "latency-spike critical at {p95}");
    }
    // Scenario time starts at the switch: degrade-then-recover begins healthy.
    h.set_scenario(Scenario::DegradeThenRecover);
    for (err, p95) in critical(&ops(&h).await) {
        assert!(
            err < 2.0 && p95 < 1200.0,
            "degrade starts at {err} % / {p95} ms"
        );
    }
    h.shutdown().await;
}

#[tokio::test]
async fn down_refuses_connections_and_comes_back_on_the_same_address() {
    let h = sim(Scenario::Healthy).await;
    let url = format!("{}/api/v1/health", h.base_url());
    // A pooled client too: its kept-alive connection must not survive `down`.
    let pooled = reqwest::Client::new();
    assert!(pooled.get(&url).send().await.unwrap().status().is_success());

    h.set_scenario(Scenario::Down);
    let e = client().get(&url).send().await.unwrap_err();
    assert!(e.is_connect(), "want connection refused, got {e:?}");
    assert!(pooled.get(&url).send().await.is_err());
    // The control listener stays up and says so.
    let st: Value = client()
        .get(format!("http://{}/__sim/state", h.control_addr()))
        .send()
        .await
        .unwrap()
        .json_value()
        .await
        .unwrap();
    assert_eq!(st["scenario"], "down");
    assert_eq!(st["data_listener"]["up"], false);

    let addr = h.addr();
    h.set_scenario(Scenario::Healthy);
    assert_eq!(h.addr(), addr);
    assert!(client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    h.shutdown().await;
}

#[tokio::test]
async fn down_can_be_left_through_the_control_api() {
    let h = sim(Scenario::Down).await;
    let url = format!("{}/api/v1/health", h.base_url());
    assert!(client().get(&url).send().await.unwrap_err().is_connect());
    let r = client()
        .post(format!(
            "http://{}/__sim/scenario/healthy",
            h.control_addr()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json_value().await.unwrap();
    assert_eq!(v, json!({"scenario": "healthy", "previous": "down"}));
    assert!(client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    h.shutdown().await;
}

#[tokio::test]
async fn a_taken_address_is_retried_after_down() {
    let h = sim(Scenario::Healthy).await;
    let mut ev = h.events();
    h.set_scenario(Scenario::Down);
    let squatter = std::net::TcpListener::bind(h.addr()).unwrap();
    h.set_scenario(Scenario::Healthy);
    let mut saw_error = false;
    while let Ok(e) = ev.try_recv() {
        saw_error |= matches!(e, SimEvent::ListenerError(ref m) if m.contains("address in use"));
    }
    assert!(saw_error);
    drop(squatter);
    let url = format!("{}/api/v1/health", h.base_url());
    let t = Instant::now();
    while client().get(&url).send().await.is_err() {
        assert!(t.elapsed() < Duration::from_secs(4), "never re-bound");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.shutdown().await;
}

#[tokio::test]
async fn slow_outlasts_the_client_timeout_without_blocking_others() {
    let mut o = SimOptions::new(Profile::Brokers);
    o.scenario = Scenario::Slow;
    // Long enough for any client time-out in the test, short enough not to linger.
    o.slow_delay = Duration::from_secs(3);
    let h = start(o).await.unwrap();
    let url = format!("{}/api/v1/health", h.base_url());
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let slow = tokio::spawn(async move { impatient.get(url).send().await });
    // Meanwhile the same listener answers its control endpoint at once.
    let t = Instant::now();
    let st = client()
        .get(format!("{}/__sim/state", h.base_url()))
        .send()
        .await
        .unwrap();
    assert!(st.status().is_success());
    assert!(t.elapsed() < Duration::from_millis(1000));
    let e = slow.await.unwrap().unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    h.shutdown().await;
}

#[tokio::test]
async fn malformed_is_200_with_broken_json() {
    let h = sim(Scenario::Malformed).await;
    for path in ["/api/v1/health", "/analytics/ops/metrics"] {
        let r = client()
            .get(format!("{}{path}", h.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body = r.bytes().await.unwrap();
        assert!(!body.is_empty());
        assert!(
            serde_json::from_slice::<Value>(&body).is_err(),
            "{path} parsed"
        );
    }
    h.shutdown().await;
}

#[tokio::test]
async fn unauthorized_refuses_data_and_admin_even_with_the_token() {
    let h = sim(Scenario::Unauthorized).await;
    let c = client();
    for path in [
        "/api/v1/health",
        "/analytics/ops/metrics",
        "/api/v1/admin/flags",
        "/metrics",
    ] {
        let r = c
            .get(format!("{}{path}", h.base_url()))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let www = r.headers()[reqwest::header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(www.starts_with("Bearer"), "{www}");
    }
    let r = c
        .post(format!(
            "{}/api/v1/admin/flags/brokers_v1_modules",
            h.base_url()
        ))
        .bearer_auth(TOKEN)
        .json_body(json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(h.flag("brokers_v1_modules"), Some(true));
    h.shutdown().await;
}

#[tokio::test]
async fn admin_flags_need_the_token_and_never_echo_it() {
    let h = sim(Scenario::Healthy).await;
    let url = format!("{}/api/v1/admin/flags", h.base_url());
    let c = client();
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("missing `Authorization: Bearer"));
    let r = c.get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert!(body.contains("does not match") && !body.contains(TOKEN));
    let v: Value = c
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json_value()
        .await
        .unwrap();
    assert_eq!(
        v,
        json!({"flags": {"brokers_v1_modules": true, "legacy_fallback": false}})
    );
    let r = c
        .post(format!("{url}/nope"))
        .bearer_auth(TOKEN)
        .json_body(json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .post(format!("{url}/legacy_fallback"))
        .bearer_auth(TOKEN)
        .body("{\"enabled\": \"yes\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    h.shutdown().await;
}

/// Polls until every critical endpoint satisfies `ok`, or fails after `limit`.
async fn wait_critical(h: &SimHandle, limit: Duration, ok: impl Fn(f64, f64) -> bool) -> Duration {
    let t = Instant::now();
    loop {
        if critical(&ops(h).await).iter().all(|(e, p)| ok(*e, *p)) {
            return t.elapsed();
        }
        assert!(t.elapsed() < limit, "not reached within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn rollback_flag_recovers_metrics_and_is_recorded_without_the_token() {
    let h = sim(Scenario::ErrorBurst).await;
    let url = format!("{}/api/v1/admin/flags/brokers_v1_modules", h.base_url());
    let r = client()
        .post(&url)
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "rb-1")
        .json_body(json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json_value().await.unwrap();
    assert_eq!(v["flags"]["brokers_v1_modules"], false);
    assert_eq!(h.flag("brokers_v1_modules"), Some(false));

    wait_critical(&h, Duration::from_secs(5), |e, p| e <= 2.0 && p <= 1200.0).await;

    // Switching the modules back on brings the scenario back.
    h.set_flag("brokers_v1_modules", true);
    wait_critical(&h, Duration::from_secs(5), |e, _| e > 2.0).await;

    let rec = h.requests();
    let post = rec.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.path, "/api/v1/admin/flags/brokers_v1_modules");
    assert!(post.authorization_present);
    assert_eq!(post.authorization_valid, Some(true));
    assert_eq!(post.idempotency_key.as_deref(), Some("rb-1"));
    assert_eq!(post.body, r#"{"enabled":false}"#);
    assert_eq!(post.status, Some(200));
    let listed = client()
        .get(format!("http://{}/__sim/requests", h.control_addr()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains("rb-1"));
    assert!(!listed.contains(TOKEN), "token leaked into /__sim/requests");
    assert!(!format!("{rec:?}").contains(TOKEN));
    h.shutdown().await;
}

#[tokio::test]
async fn transport_faults_survive_a_rollback() {
    let h = sim(Scenario::Malformed).await;
    h.set_flag("brokers_v1_modules", false);
    let r = client()
        .get(format!("{}/api/v1/health", h.base_url()))
        .send()
        .await
        .unwrap();
    assert!(serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).is_err());
    h.shutdown().await;
}

fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn prometheus_counters_grow_monotonically() {
    let h = sim(Scenario::Healthy).await;
    let url = format!("{}/metrics", h.base_url());
    let r = client().get(&url).send().await.unwrap();
    assert!(r.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .contains("version=0.0.4"));
    let a = samples(&r.text().await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.set_scenario(Scenario::ErrorBurst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = samples(
        &client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(a.len(), b.len());
    for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb);
        if !ka.starts_with("warroom_sim_flag") {
            assert!(vb >= va, "{ka}: {va} -> {vb}");
        }
    }
    let total = |s: &[(String, f64)]| {
        s.iter()
            .filter(|(k, _)| k.starts_with("http_requests_total"))
            .map(|(_, v)| v)
            .sum::<f64>()
    };
    assert!(total(&b) > total(&a), "no traffic counted");
    assert!(b.iter().any(|(k, _)| k
        == "http_request_duration_seconds_bucket{path=\"/api/v1/auth/login\",le=\"+Inf\"}"));
    h.shutdown().await;
}

#[tokio::test]
async fn script_runs_in_order_and_a_manual_change_stops_it() {
    let mut o = SimOptions::new(Profile::Brokers);
    o.script = Some("error-burst:300ms,latency-spike".parse().unwrap());
    let h = start(o).await.unwrap();
    assert_eq!(h.scenario(), Scenario::ErrorBurst);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.scenario(), Scenario::LatencySpike);
    h.shutdown().await;

    let mut o = SimOptions::new(Profile::Brokers);
    o.script = Some("healthy:300ms,down".parse().unwrap());
    let h = start(o).await.unwrap();
    let mut ev = h.events();
    h.set_scenario(Scenario::Flapping);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.scenario(), Scenario::Flapping);
    assert_eq!(
        ev.recv().await.unwrap(),
        SimEvent::ScenarioChanged {
            from: Scenario::Healthy,
            to: Scenario::Flapping,
            by: ChangedBy::Handle
        }
    );
    h.shutdown().await;
}

#[tokio::test]
async fn control_api_on_both_listeners() {
    let h = sim(Scenario::Healthy).await;
    let c = client();
    for base in [h.base_url(), format!("http://{}", h.control_addr())] {
        let r = c
            .post(format!("{base}/__sim/scenario/latency-spike"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(h.scenario(), Scenario::LatencySpike);
        let r = c
            .post(format!("{base}/__sim/scenario/latncy-spike"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let v: Value = r.json_value().await.unwrap();
        assert!(v["detail"].as_str().unwrap().contains("did you mean"));
        h.set_scenario(Scenario::Healthy);
    }
    h.shutdown().await;
}

#[tokio::test]
async fn busy_address_is_a_clear_error() {
    let h = sim(Scenario::Healthy).await;
    let mut o = SimOptions::new(Profile::Brokers);
    o.listen = h.addr();
    let e = start(o).await.unwrap_err().to_string();
    assert_eq!(e, format!("cannot listen on {}: address in use", h.addr()));
    h.shutdown().await;
}

#[tokio::test]
async fn empty_token_is_refused() {
    let mut o = SimOptions::new(Profile::Brokers);
    o.token = Some(" ".into());
    assert!(matches!(start(o).await, Err(SimError::EmptyToken)));
}

#[test]
fn options_debug_redacts_the_token() {
    let mut o = SimOptions::new(Profile::Brokers);
    o.token = Some(TOKEN.into());
    let d = format!("{o:?}");
    assert!(!d.contains(TOKEN) && d.contains("redacted"));
    assert_eq!("brokers".parse::<Profile>().unwrap(), Profile::Brokers);
    assert!("nope".parse::<Profile>().is_err());
}

#[test]
fn bearer_comparison() {
    assert!(bearer_matches(b"Bearer abc", b"abc"));
    assert!(bearer_matches(b"bearer abc", b"abc"));
    assert!(!bearer_matches(b"Bearer abd", b"abc"));
    assert!(!bearer_matches(b"Bearer abcd", b"abc"));
    assert!(!bearer_matches(b"Basic abc", b"abc"));
}
