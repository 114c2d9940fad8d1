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

// ---- cohortlens, edn360, hse -------------------------------------------------------------

async fn sim_of(profile: Profile, scenario: Scenario) -> SimHandle {
    let mut o = SimOptions::new(profile);
    o.scenario = scenario;
    o.token = Some(TOKEN.into());
    start(o).await.unwrap()
}

async fn get_admin(h: &SimHandle, path: &str) -> Value {
    let r = client()
        .get(format!("{}{path}", h.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json_value().await.unwrap()
}

async fn post_admin(h: &SimHandle, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut rb = client()
        .post(format!("{}{path}", h.base_url()))
        .bearer_auth(TOKEN);
    if let Some(b) = body {
        rb = rb.json_body(b);
    }
    rb.send().await.unwrap()
}

/// Polls `path` until `ok` holds, or fails after `limit`.
async fn wait_json(h: &SimHandle, path: &str, limit: Duration, ok: impl Fn(&Value) -> bool) {
    let t = Instant::now();
    loop {
        let v = get_admin(h, path).await;
        if ok(&v) {
            return;
        }
        assert!(
            t.elapsed() < limit,
            "{path} not there within {limit:?}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Admin endpoints refuse a missing token with 401, the refusal is recorded (without the
/// token), and nothing changed.
async fn assert_admin_needs_token(h: &SimHandle, get_path: &str, post_path: &str, body: Value) {
    let c = client();
    let r = c
        .get(format!("{}{get_path}", h.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "{get_path}");
    let r = c
        .post(format!("{}{post_path}", h.base_url()))
        .bearer_auth("wrong")
        .json_body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "{post_path}");
    let rec = h.requests();
    let post = rec.iter().find(|r| r.path == post_path).unwrap();
    assert_eq!(post.status, Some(401));
    assert!(post.authorization_present);
    assert_eq!(post.authorization_valid, Some(false));
    let get = rec.iter().find(|r| r.path == get_path).unwrap();
    assert!(!get.authorization_present);
    assert!(!format!("{rec:?}").contains(TOKEN));
}

fn num(v: &Value, ptr: &str) -> f64 {
    v.pointer(ptr)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{ptr} missing in {v}"))
}

/// `name{labels} value` of an exposition text.
fn sample(text: &str, key: &str) -> f64 {
    samples(text)
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("{key} missing"))
        .1
}

#[test]
fn new_profiles_parse() {
    for (s, p) in [
        ("cohortlens", Profile::Cohortlens),
        ("EDN360", Profile::Edn360),
        ("hse", Profile::Hse),
    ] {
        assert_eq!(s.parse::<Profile>().unwrap(), p);
        assert_eq!(p.spec().name, p.name());
    }
}

#[tokio::test]
async fn cohortlens_healthy_flags_and_metrics_within_thresholds() {
    let h = sim_of(Profile::Cohortlens, Scenario::Healthy).await;
    let health: Value = client()
        .get(format!("{}/api/v2/health", h.base_url()))
        .send()
        .await
        .unwrap()
        .json_value()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let f = get_admin(&h, "/api/v2/admin/flags").await;
    assert_eq!(
        f["flags"],
        json!({"v2_enabled": true, "v2_primary": true, "shadow_mode": false,
               "v1_deprecated": false, "migration_logging": true})
    );
    assert_eq!(f["migration_status"]["phase"], "cutover");
    assert_eq!(f["migration_status"]["primary"], "v2");
    let m = get_admin(&h, "/api/v2/admin/metrics").await;
    for side in ["/v1", "/v2"] {
        assert!(num(&m, &format!("{side}/error_rate_pct")) < 0.1, "{m}");
        assert!(num(&m, &format!("{side}/p95_ms")) < 2000.0, "{m}");
    }
    assert!(num(&m, "/v2/requests") > num(&m, "/v1/requests"));
    // The exposition shows the JSON's numbers (same instant).
    h.shared.with_now(|ctx, readings, _| {
        let j = cohortlens::metrics_json(ctx, readings, "t");
        let text = cohortlens::prometheus_extra(ctx, readings);
        for v in ["v1", "v2"] {
            let key = format!("cohortlens_error_rate_pct{{version=\"{v}\"}}");
            assert_eq!(
                sample(&text, &key),
                num(&j, &format!("/{v}/error_rate_pct"))
            );
            let key = format!("cohortlens_p95_ms{{version=\"{v}\"}}");
            assert_eq!(sample(&text, &key), num(&j, &format!("/{v}/p95_ms")));
        }
    });
    let text = client()
        .get(format!("{}/metrics", h.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("http_requests_total{path=\"/api/v2/predict\",code=\"500\"}"));
    assert!(text.contains("warroom_sim_flag{name=\"v2_primary\"} 1"));
    h.shutdown().await;
}

#[tokio::test]
async fn cohortlens_faults_hit_v2_and_rollback_to_v1_recovers() {
    let h = sim_of(Profile::Cohortlens, Scenario::ErrorBurst).await;
    let m = get_admin(&h, "/api/v2/admin/metrics").await;
    assert!(num(&m, "/v2/error_rate_pct") > 1.0, "{m}");
    assert!(num(&m, "/v1/error_rate_pct") < 0.1, "{m}");
    h.set_scenario(Scenario::LatencySpike);
    let m = get_admin(&h, "/api/v2/admin/metrics").await;
    assert!(num(&m, "/v2/p95_ms") > 2000.0, "{m}");
    assert!(num(&m, "/v1/p95_ms") < 2000.0, "{m}");
    h.set_scenario(Scenario::ErrorBurst);

    let r = post_admin(&h, "/api/v2/admin/rollback-to-v1", None).await;
    assert_eq!(r.status(), 200);
    let v = r.json_value().await.unwrap();
    assert_eq!(v["status"]["v2_primary"], false);
    assert_eq!(h.flag("v2_primary"), Some(false));
    wait_json(&h, "/api/v2/admin/metrics", Duration::from_secs(5), |m| {
        num(m, "/v2/error_rate_pct") < 0.1 && num(m, "/v2/p95_ms") < 2000.0
    })
    .await;
    let m = get_admin(&h, "/api/v2/admin/metrics").await;
    assert_eq!(m["primary"], "v1");
    // Once the error rate is back, most traffic is on v1 again.
    assert!(num(&m, "/v1/requests") > num(&m, "/v2/requests"), "{m}");
    let rec = h.requests();
    let post = rec
        .iter()
        .find(|r| r.path == "/api/v2/admin/rollback-to-v1")
        .unwrap();
    assert_eq!(post.authorization_valid, Some(true));
    assert_eq!(post.status, Some(200));
    h.shutdown().await;
}

#[tokio::test]
async fn cohortlens_phase_actions_follow_the_runbook() {
    let h = sim_of(Profile::Cohortlens, Scenario::Healthy).await;
    let phase = |v: &Value| v["migration_status"]["phase"].as_str().unwrap().to_string();
    let r = post_admin(&h, "/api/v2/admin/enable-shadow-mode", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json_value().await.unwrap()["message"],
        "Shadow mode enabled"
    );
    assert_eq!(phase(&get_admin(&h, "/api/v2/admin/flags").await), "shadow");
    // Deprecating v1 while it is primary is refused.
    let r = post_admin(&h, "/api/v2/admin/complete-v1-deprecation", None).await;
    assert_eq!(r.status(), 409);
    let r = post_admin(&h, "/api/v2/admin/migrate-to-v2", None).await;
    let v = r.json_value().await.unwrap();
    assert_eq!(
        v["status"],
        json!({"v2_primary": true, "shadow_mode": false, "migration_logging": true})
    );
    let r = post_admin(&h, "/api/v2/admin/complete-v1-deprecation", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json_value().await.unwrap()["status"]["v1_endpoints"],
        "returning 410 Gone"
    );
    assert_eq!(
        phase(&get_admin(&h, "/api/v2/admin/flags").await),
        "deprecation"
    );
    let r = client()
        .get(format!("{}/api/v1/predict", h.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    // Both flag body forms; the kill switch takes v2 out of primary.
    let r = post_admin(
        &h,
        "/api/v2/admin/flags",
        Some(json!({"flag": "migration_logging", "enabled": false})),
    )
    .await;
    assert_eq!(
        r.json_value().await.unwrap()["flags"]["migration_logging"],
        false
    );
    let r = post_admin(
        &h,
        "/api/v2/admin/flags",
        Some(json!({"v2_enabled": false})),
    )
    .await;
    let v = r.json_value().await.unwrap();
    assert_eq!(v["flags"]["v2_primary"], false);
    let r = post_admin(&h, "/api/v2/admin/flags", Some(json!({"nope": true}))).await;
    assert_eq!(r.status(), 404);
    let r = post_admin(&h, "/api/v2/admin/flags", Some(json!({"flag": 3}))).await;
    assert_eq!(r.status(), 400);
    h.shutdown().await;
}

#[tokio::test]
async fn cohortlens_admin_needs_the_token() {
    let h = sim_of(Profile::Cohortlens, Scenario::ErrorBurst).await;
    assert_admin_needs_token(
        &h,
        "/api/v2/admin/flags",
        "/api/v2/admin/rollback-to-v1",
        json!({}),
    )
    .await;
    assert_eq!(h.flag("v2_primary"), Some(true));
    h.shutdown().await;
}

#[test]
fn edn360_degrade_then_recover_goes_99_85_99() {
    let flags = BTreeMap::from([
        (edn360::FLAG_READ.to_string(), true),
        (edn360::FLAG_WRITE.to_string(), true),
    ]);
    let at = |s: u64| {
        edn360::numbers(&ReadCtx {
            scenario: Scenario::DegradeThenRecover,
            elapsed: Duration::from_secs(s),
            weight: 1.0,
            bucket: 3,
            flags: &flags,
        })
    };
    for s in [0, 150, 400] {
        assert!(at(s).match_rate() >= 0.98, "{s}: {:?}", at(s));
        assert_eq!(at(s).duplicates, 0);
    }
    let worst = at(75);
    assert!((0.84..=0.86).contains(&worst.match_rate()), "{worst:?}");
    assert!(worst.success_rate() < 0.9 && worst.duplicates > 0);
}

#[tokio::test]
async fn edn360_healthy_within_the_decision_table() {
    let h = sim_of(Profile::Edn360, Scenario::Healthy).await;
    let d = get_admin(&h, "/admin/monitoring/dual-write-stats").await;
    assert!(num(&d, "/match_rate") >= 0.97, "{d}");
    assert!(num(&d, "/match_rate_pct") >= 97.0, "{d}");
    assert!(num(&d, "/total_validations") > 0.0);
    let s = get_admin(&h, "/api/admin/monitoring/switch-status").await;
    assert!(num(&s, "/success_rate") >= 0.98, "{s}");
    assert_eq!(s["USE_CLIENT_DRAWER_READ"], true);
    let dup = get_admin(&h, "/admin/monitoring/duplicates").await;
    assert_eq!(dup, json!({"duplicates": 0, "items": []}));
    let p = get_admin(&h, "/admin/monitoring/plans-without-snapshot").await;
    assert_eq!(p["plans_without_snapshot_id"], 0);
    h.shared.with_now(|ctx, _, _| {
        let n = edn360::numbers(ctx);
        let text = edn360::prometheus_extra(ctx, &[]);
        assert_eq!(
            sample(&text, "edn360_dual_write_match_rate"),
            n.match_rate()
        );
        assert_eq!(
            sample(&text, "edn360_switch_success_rate"),
            n.success_rate()
        );
        assert_eq!(sample(&text, "edn360_duplicates_detected"), 0.0);
    });
    h.shutdown().await;
}

#[tokio::test]
async fn edn360_error_burst_breaches_and_the_drill_rollback_recovers() {
    let h = sim_of(Profile::Edn360, Scenario::ErrorBurst).await;
    let s = get_admin(&h, "/admin/monitoring/summary").await;
    assert!(num(&s, "/match_rate") < 0.9, "{s}");
    assert!(num(&s, "/success_rate") < 0.9, "{s}");
    assert!(num(&s, "/duplicates") > 0.0, "{s}");
    assert!(num(&s, "/plans_without_snapshot_id") > 0.0, "{s}");
    let dup = get_admin(&h, "/admin/monitoring/duplicates").await;
    assert_eq!(
        dup["items"].as_array().unwrap().len() as f64,
        num(&dup, "/duplicates")
    );

    let r = post_admin(
        &h,
        "/admin/drill/client-drawer-read",
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json_value().await.unwrap()["USE_CLIENT_DRAWER_READ"],
        false
    );
    wait_json(
        &h,
        "/admin/monitoring/summary",
        Duration::from_secs(5),
        |s| {
            num(s, "/match_rate") >= 0.97
                && num(s, "/success_rate") >= 0.98
                && num(s, "/duplicates") == 0.0
                && num(s, "/plans_without_snapshot_id") == 0.0
        },
    )
    .await;
    let s = get_admin(&h, "/api/admin/monitoring/switch-status").await;
    assert_eq!(s["USE_CLIENT_DRAWER_READ"], false);
    let r = post_admin(
        &h,
        "/admin/drill/client-drawer-read",
        Some(json!({"on": 1})),
    )
    .await;
    assert_eq!(r.status(), 400);
    h.shutdown().await;
}

#[tokio::test]
async fn edn360_admin_needs_the_token() {
    let h = sim_of(Profile::Edn360, Scenario::ErrorBurst).await;
    assert_admin_needs_token(
        &h,
        "/admin/monitoring/switch-status",
        "/admin/drill/client-drawer-read",
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(h.flag("USE_CLIENT_DRAWER_READ"), Some(true));
    h.shutdown().await;
}

#[tokio::test]
async fn hse_healthy_split_and_side_by_side_metrics() {
    let h = sim_of(Profile::Hse, Scenario::Healthy).await;
    let r: Value = client()
        .get(format!("{}/health/readiness", h.base_url()))
        .send()
        .await
        .unwrap()
        .json_value()
        .await
        .unwrap();
    assert_eq!(r["status"], "ok");
    let s = get_admin(&h, "/admin/traffic-split").await;
    assert_eq!(s["percent"], 10);
    let m = get_admin(&h, "/admin/metrics").await;
    for side in ["/old", "/new", "/overall"] {
        assert!(num(&m, &format!("{side}/error_rate_pct")) < 0.1, "{m}");
        assert!(num(&m, &format!("{side}/p99_ms")) < 500.0, "{m}");
    }
    assert!(num(&m, "/drift_pct") < 1.0);
    assert!(num(&m, "/old/requests") > num(&m, "/new/requests"));
    h.shared.with_now(|ctx, readings, _| {
        let j = hse::metrics_json(ctx, readings, 10, "t");
        let text = hse::prometheus_extra(ctx, readings);
        for sys in ["old", "new"] {
            let key = format!("hse_error_rate_pct{{system=\"{sys}\"}}");
            assert_eq!(
                sample(&text, &key),
                num(&j, &format!("/{sys}/error_rate_pct"))
            );
            let key = format!("hse_p99_ms{{system=\"{sys}\"}}");
            assert_eq!(sample(&text, &key), num(&j, &format!("/{sys}/p99_ms")));
        }
        assert_eq!(sample(&text, "hse_drift_pct"), num(&j, "/drift_pct"));
    });
    h.shutdown().await;
}

#[tokio::test]
async fn hse_faults_hit_the_new_system_and_split_zero_recovers() {
    let h = sim_of(Profile::Hse, Scenario::ErrorBurst).await;
    let m = get_admin(&h, "/admin/metrics").await;
    assert!(num(&m, "/new/error_rate_pct") > 0.1, "{m}");
    assert!(num(&m, "/old/error_rate_pct") < 0.1, "{m}");
    assert!(num(&m, "/drift_pct") > 1.0, "{m}");
    h.set_scenario(Scenario::LatencySpike);
    let m = get_admin(&h, "/admin/metrics").await;
    assert!(num(&m, "/new/p99_ms") > 500.0, "{m}");
    assert!(num(&m, "/old/p99_ms") < 500.0, "{m}");
    h.set_scenario(Scenario::ErrorBurst);

    let r = client()
        .put(format!("{}/admin/traffic-split", h.base_url()))
        .bearer_auth(TOKEN)
        .json_body(json!({"percent": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = r.json_value().await.unwrap();
    assert_eq!(
        (v["percent"].clone(), v["previous_percent"].clone()),
        (json!(0), json!(10))
    );
    wait_json(&h, "/admin/metrics", Duration::from_secs(5), |m| {
        num(m, "/new/error_rate_pct") < 0.1
            && num(m, "/new/p99_ms") < 500.0
            && num(m, "/overall/error_rate_pct") < 0.1
            && num(m, "/drift_pct") < 1.0
    })
    .await;
    let r = post_admin(&h, "/admin/traffic-split", Some(json!({"percent": 101}))).await;
    assert_eq!(r.status(), 400);
    h.shutdown().await;
}

#[tokio::test]
async fn hse_admin_needs_the_token() {
    let h = sim_of(Profile::Hse, Scenario::ErrorBurst).await;
    assert_admin_needs_token(
        &h,
        "/admin/metrics",
        "/admin/traffic-split",
        json!({"percent": 0}),
    )
    .await;
    assert_eq!(get_admin(&h, "/admin/traffic-split").await["percent"], 10);
    h.shutdown().await;
}

fn ctx_of(
    flags: &BTreeMap<String, bool>,
    scenario: Scenario,
    elapsed_ms: u64,
    weight: f64,
    bucket: u64,
) -> ReadCtx<'_> {
    ReadCtx {
        scenario,
        elapsed: Duration::from_millis(elapsed_ms),
        weight,
        bucket,
        flags,
    }
}

#[test]
fn new_profiles_scenario_ranges_hold_for_every_bucket() {
    let cl: BTreeMap<String, bool> = cohortlens::SPEC
        .flags
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    let none = BTreeMap::new();
    let v2 = |s, ms, w, b| {
        let r = cohortlens::readings(&ctx_of(&cl, s, ms, w, b));
        let j = cohortlens::metrics_json(&ctx_of(&cl, s, ms, w, b), &r, "t");
        (num(&j, "/v2/error_rate_pct"), num(&j, "/v2/p95_ms"))
    };
    let new = |s, ms, w, b| {
        let c = ctx_of(&none, s, ms, w, b);
        let j = hse::metrics_json(&c, &hse::readings(&c), 10, "t");
        (
            num(&j, "/new/error_rate_pct"),
            num(&j, "/new/p99_ms"),
            num(&j, "/drift_pct"),
        )
    };
    for b in 0..300 {
        use Scenario::*;
        // cohortlens: alert > 0.1 %, roll back > 1 % or p95 > 2000 ms.
        let (e, p) = v2(Healthy, 0, 1.0, b);
        assert!(e < 0.1 && p < 2000.0);
        assert!(v2(ErrorBurst, 0, 1.0, b).0 > 1.0);
        assert!(v2(LatencySpike, 0, 1.0, b).1 > 2000.0);
        let (lo, hi) = (v2(Flapping, 1_000, 1.0, b), v2(Flapping, 3_000, 1.0, b));
        assert!(lo.0 < 1.0 && lo.1 < 2000.0 && hi.0 > 1.0 && hi.1 > 2000.0);
        assert!(v2(DegradeThenRecover, 75_000, 1.0, b).0 > 1.0);
        let (e, p) = v2(ErrorBurst, 0, 0.0, b);
        assert!(e < 0.1 && p < 2000.0, "rolled back");
        // hse at the initial 10 % split: error < 0.1 %, p99 < 500 ms, drift ≤ 1 %.
        let (e, p, d) = new(Healthy, 0, 0.1, b);
        assert!(e < 0.1 && p < 500.0 && d < 1.0);
        let (e, _, d) = new(ErrorBurst, 0, 0.1, b);
        assert!(e > 0.1 && d > 1.0);
        assert!(new(LatencySpike, 0, 0.1, b).1 > 500.0);
        let (lo, hi) = (new(Flapping, 1_000, 0.1, b), new(Flapping, 3_000, 0.1, b));
        assert!(lo.0 < 0.1 && lo.1 < 500.0 && lo.2 < 1.0);
        assert!(hi.0 > 0.1 && hi.1 > 500.0 && hi.2 > 1.0);
        let (e, p, d) = new(DegradeThenRecover, 75_000, 0.1, b);
        assert!(e > 0.1 && p > 500.0 && d > 1.0);
        let (e, p, d) = new(ErrorBurst, 0, 0.0, b);
        assert!(e < 0.1 && p < 500.0 && d < 1.0, "split 0");
        // edn360: ≥ 95 % ok, < 90 % roll back.
        let ed = |s, ms| edn360::numbers(&ctx_of(&none, s, ms, 1.0, b));
        let h = ed(Healthy, 0);
        assert!(h.match_rate() >= 0.97 && h.success_rate() >= 0.98);
        assert_eq!((h.duplicates, h.plans_without_snapshot()), (0, 0));
        let x = ed(ErrorBurst, 0);
        assert!(x.match_rate() < 0.9 && x.success_rate() < 0.9 && x.duplicates > 0);
        let (lo, hi) = (ed(Flapping, 1_000), ed(Flapping, 3_000));
        assert!((0.9..0.95).contains(&lo.success_rate()) && hi.success_rate() < 0.9);
        let s = ed(LatencySpike, 0);
        assert!(s.success_rate() >= 0.98 && s.generate.p95_ms > 4000.0);
    }
}
