//! The simulator against a real HTTP client on 127.0.0.1:0, one file per subject; the helpers
//! they share are here.

mod brokers_api;
mod cohortlens_api;
mod edn360_api;
mod hse_api;
mod model;
mod spec;
mod state;
mod transport;
mod vendors;

use super::auth::bearer_matches;
use super::state::ReadCtx;
use super::*;
pub(super) use serde_json::{json, Value};
pub(super) use std::collections::BTreeMap;
pub(super) use std::time::{Duration, Instant};

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
    get_json(url).await
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

fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

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

async fn get_json(url: impl reqwest::IntoUrl) -> Value {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json_value()
        .await
        .unwrap()
}

async fn get_text(url: impl reqwest::IntoUrl) -> String {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn get_ok(url: impl reqwest::IntoUrl) -> bool {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .status()
        .is_success()
}

/// A profile's `/metrics` gauges at `ctx`, as exposition text.
fn gauges_of(spec: &ProfileSpec, ctx: &ReadCtx, readings: &[Reading]) -> String {
    let mut text = String::new();
    (spec.gauges)(ctx, readings, &mut text);
    text
}
