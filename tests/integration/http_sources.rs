//! HTTP sources that ask: POST/PUT with a body, time tokens rendered from the poll's own
//! (fixed) time in the URL, body and headers, negative indexes into a series, and
//! freshness judged from the payload's timestamp — an old body served with 200 OK is
//! `stale`, never a fresh number.

use crate::common;

use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::routing::any;
use serde_json::{json, Value as Json};
use std::sync::{Arc, Mutex};
use warroom::config::{load_str, Config};
use warroom::engine::{Band, Engine, Status};
use warroom::poll::{poll_once_at, Clients};
use warroom::sample::{NoDataKind, PollOutcome, PollResult, Value};
use warroom::sim::Scenario;

fn load(text: &str) -> Config {
    match load_str(text, "c.toml") {
        Ok(c) => c,
        Err(e) => panic!("config does not load: {e}\n{text}"),
    }
}

async fn poll(cfg: &Config, at: warroom::sample::Ts) -> PollResult {
    let clients = Clients::for_config(cfg).expect("clients");
    let s = &cfg.sources[0];
    poll_once_at(clients.get(s).expect("client"), s, at).await
}

#[tokio::test]
async fn time_tokens_in_the_url_are_rendered_from_the_polls_time() {
    let sim = common::start_sim(Scenario::Healthy).await;
    let cfg = load(&format!(
        "[cutover]\nname = \"t\"\n[[source]]\nid = \"dd\"\nkind = \"http\"\n\
         url = \"{}/api/v1/health?from={{{{now-5m:epoch}}}}&to={{{{now:epoch_ms}}}}&at={{{{now}}}}\"\n",
        sim.base_url()
    ));
    let r = poll(&cfg, common::t0()).await;
    assert!(
        matches!(r.outcome, PollOutcome::Json { status: 200, .. }),
        "{r:?}"
    );
    let t = common::t0();
    let want = format!(
        "from={}&to={}&at=2026-11-25T21:00:00Z",
        t.timestamp() - 300,
        t.timestamp_millis()
    );
    let seen = sim.requests();
    let req = seen
        .iter()
        .rfind(|r| r.path == "/api/v1/health")
        .expect("request");
    assert_eq!(req.query.as_deref(), Some(want.as_str()));
    // Each poll renders them again from its own time.
    poll(&cfg, common::at(60)).await;
    let seen = sim.requests();
    let req = seen
        .iter()
        .rfind(|r| r.path == "/api/v1/health")
        .expect("request");
    assert!(
        req.query
            .as_deref()
            .unwrap_or("")
            .starts_with(&format!("from={}&", t.timestamp() - 240)),
        "{:?}",
        req.query
    );
}

#[tokio::test]
async fn a_post_source_sends_its_body_with_tokens_rendered() {
    let sim = common::start_sim(Scenario::Healthy).await;
    let cfg = load(&format!(
        "[cutover]\nname = \"t\"\n[[source]]\nid = \"nr\"\nkind = \"http\"\nmethod = \"POST\"\n\
         url = \"{}/api/v1/analytics/portfolio/summary\"\n\
         body = '{{\"query\": \"{{ actor {{ nrql(query: \\\"SELECT count(*) SINCE {{{{now-5m:epoch_ms}}}}\\\") }} }}\"}}'\n",
        sim.base_url()
    ));
    let r = poll(&cfg, common::t0()).await;
    assert!(matches!(r.outcome, PollOutcome::Json { .. }), "{r:?}");
    let seen = sim.requests();
    let req = seen
        .iter()
        .rfind(|r| r.path == "/api/v1/analytics/portfolio/summary")
        .expect("the simulator saw the POST");
    assert_eq!(req.method, "POST");
    let sent: Json = serde_json::from_str(&req.body).expect("the body is the JSON written");
    let since = common::t0().timestamp_millis() - 300_000;
    assert_eq!(
        sent["query"],
        json!(format!(
            "{{ actor {{ nrql(query: \"SELECT count(*) SINCE {since}\") }} }}"
        ))
    );
}

/// What the stand-in server saw, and the body it answers with.
#[derive(Default)]
struct Seen {
    method: String,
    headers: HeaderMap,
    body: String,
}

async fn stand_in(answer: Json) -> (String, Arc<Mutex<Seen>>) {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let state = (Arc::clone(&seen), answer);
    let app = axum::Router::new()
        .route(
            "/{*rest}",
            any(
                |State((seen, answer)): State<(Arc<Mutex<Seen>>, Json)>,
                 method: Method,
                 headers: HeaderMap,
                 body: String| async move {
                    *seen.lock().expect("lock") = Seen {
                        method: method.to_string(),
                        headers,
                        body,
                    };
                    axum::Json(answer)
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn a_put_source_sends_method_body_and_rendered_headers() {
    let (base, seen) = stand_in(json!({"value": true})).await;
    let cfg = load(&format!(
        "[cutover]\nname = \"t\"\n[[source]]\nid = \"ofrep\"\nkind = \"http\"\nmethod = \"PUT\"\n\
         url = \"{base}/ofrep/v1/evaluate/flags/v2\"\nbody = 'plain {{{{now:epoch}}}}'\n\
         headers = {{ \"X-Window-Start\" = \"{{{{now-1h}}}}\" }}\n"
    ));
    let r = poll(&cfg, common::t0()).await;
    assert!(matches!(r.outcome, PollOutcome::Json { .. }), "{r:?}");
    let s = seen.lock().expect("lock");
    assert_eq!(s.method, "PUT");
    assert_eq!(s.body, format!("plain {}", common::t0().timestamp()));
    assert_eq!(
        s.headers
            .get("x-window-start")
            .and_then(|v| v.to_str().ok()),
        Some("2026-11-25T20:00:00Z")
    );
    assert_eq!(
        s.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/plain; charset=utf-8")
    );
}

#[tokio::test]
async fn an_old_body_served_with_200_ok_is_stale_with_its_age() {
    let now = chrono::Utc::now();
    let made = now - chrono::Duration::minutes(7);
    let ts = now.timestamp();
    let (base, _seen) = stand_in(json!({
        "generated_at": made.to_rfc3339(),
        "series": [{"pointlist": [[ts - 20, 0.2], [ts - 10, 0.4], [ts, 9.5]]}]
    }))
    .await;
    let text = format!(
        "[cutover]\nname = \"t\"\n[[source]]\nid = \"agg\"\nkind = \"http\"\nurl = \"{base}/m\"\n\
         interval = \"5s\"\nfresh_at = \".generated_at\"\n\
         [[signal]]\nid = \"err\"\nsource = \"agg\"\nkind = \"metric\"\n\
         path = \".series[0].pointlist[-1][1]\"\ncritical = true\ncrit = \"> 5\"\n\
         [[signal]]\nid = \"err_any_age\"\nsource = \"agg\"\nkind = \"metric\"\n\
         path = \".series[0].pointlist[-1][1]\"\nfresh_at = \".series[0].pointlist[-1][0]\"\n"
    );
    let cfg = Arc::new(load(&text));
    let r = poll(&cfg, now).await;
    assert!(
        matches!(r.outcome, PollOutcome::Json { status: 200, .. }),
        "{r:?}"
    );
    let mut e = Engine::new(Arc::clone(&cfg), r.mono);
    e.ingest(&r);
    let row = e.rows.iter().find(|r| r.key == "err").expect("row");
    assert_eq!(row.status, Status::NoData(NoDataKind::Stale), "{row:?}");
    assert!(
        row.reason.as_deref().unwrap_or("").contains("7m"),
        "the age is said: {:?}",
        row.reason
    );
    assert_eq!(row.value, None, "never the old number as fresh");
    // The source answered: it is not down, its data is old.
    assert_eq!(e.sources[0].consecutive_errors, 0);
    // A signal's own fresh_at overrides the source's (epoch seconds here); the latest
    // point of the series is read with a negative index.
    let row = e.rows.iter().find(|r| r.key == "err_any_age").expect("row");
    assert_eq!(row.value, Some(Value::Num(9.5)));
    assert_eq!(row.status, Status::Band(Band::Ok));
}

#[test]
fn http_source_mistakes_are_clear() {
    let bad = |keys: &str| -> String {
        let text =
            format!("[cutover]\nname = \"t\"\n[[source]]\nid = \"h\"\nkind = \"http\"\n{keys}\n");
        match load_str(&text, "c.toml") {
            Ok(_) => panic!("accepted: {keys}"),
            Err(e) => e.to_string(),
        }
    };
    assert!(bad("url = \"http://h/x\"\nbody = \"{}\"").contains("only with `method = \"POST\"`"));
    assert!(bad("url = \"http://h/x\"\nmethod = \"DELETE\"").contains("method"));
    assert!(bad("url = \"http://h/x?from={{now-5x}}\"").contains("time token"));
    assert!(bad("").contains("needs `url`"));
    // Tokens do not hide a bad URL.
    assert!(bad("url = \"ftp://h/{{now}}\"").contains("scheme"));
}
