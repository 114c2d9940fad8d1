//! The README's recipes (one per place a team keeps its numbers) are configs that load as
//! written, and the Loki one reads a number from a server answering as Loki does.

use crate::common;

use std::sync::{Arc, Mutex};

/// The ```toml blocks of the README's recipes section, each with the heading it is under.
fn recipes() -> Vec<(String, String)> {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("\n### Recipes")
        .expect("the README has a recipes section");
    let body = &readme[start + 1..];
    let end = body[4..]
        .find("\n## ")
        .into_iter()
        .chain(body[4..].find("\n### "))
        .min()
        .map_or(body.len(), |e| e + 4);
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut block: Option<String> = None;
    for line in body[..end].lines() {
        match &mut block {
            None if line.starts_with("#### ") => heading = line[5..].to_string(),
            None if line.trim() == "```toml" => block = Some(String::new()),
            Some(b) if line.trim() == "```" => {
                out.push((heading.clone(), std::mem::take(b)));
                block = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    out
}

/// The variables the recipes need without a default (a value of the right shape for each).
fn env(k: &str) -> Option<String> {
    let v = match k {
        "DD_API_KEY" | "DD_APP_KEY" | "NEW_RELIC_API_KEY" | "OFREP_TOKEN" => "recipe-secret-1",
        "NEW_RELIC_ACCOUNT_ID" => "1234567",
        "TG" => "targetgroup/api/0123456789abcdef",
        "ALB" => "app/api-alb/0123456789abcdef",
        _ => return None,
    };
    Some(v.to_string())
}

fn load(
    heading: &str,
    toml: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> warroom::config::Config {
    let text = format!("[cutover]\nname = \"recipe: {heading}\"\n\n{toml}");
    warroom::config::load::load_str_with_env(&text, &format!("<README recipe {heading}>"), env)
        .unwrap_or_else(|e| panic!("the README's {heading} recipe does not validate: {e}\n{text}"))
}

#[test]
fn every_readme_recipe_validates() {
    let all = recipes();
    let headings: Vec<&str> = all.iter().map(|(h, _)| h.as_str()).collect();
    for want in [
        "Prometheus",
        "Loki",
        "Datadog",
        "New Relic",
        "CloudWatch",
        "SSM",
        "kubectl",
        "docker logs",
        ".env",
        "OFREP",
    ] {
        assert!(
            headings.iter().any(|h| h.contains(want)),
            "no recipe for {want}: {headings:?}"
        );
    }
    for (heading, toml) in &all {
        let cfg = load(heading, toml, &env);
        assert!(!cfg.sources.is_empty(), "{heading}: no source");
        assert!(!cfg.signals.is_empty(), "{heading}: no signal");
    }
}

/// What the Loki stand-in was asked: path, query string, tenant header.
type Asked = Arc<Mutex<Vec<(String, String, Option<String>)>>>;

/// A loopback server answering `GET /loki/api/v1/query` as Loki answers a LogQL metric
/// query (a vector, Prometheus's shape, with Loki's `stats`).
async fn loki_standin(asked: Asked) -> String {
    use axum::extract::State;
    use axum::http::{HeaderMap, Uri};
    async fn query(
        State(asked): State<Asked>,
        uri: Uri,
        headers: HeaderMap,
    ) -> axum::Json<serde_json::Value> {
        let tenant = headers
            .get("X-Scope-OrgID")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        asked.lock().expect("lock").push((
            uri.path().to_string(),
            uri.query().unwrap_or_default().to_string(),
            tenant,
        ));
        let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        axum::Json(serde_json::json!({
            "status": "success",
            "data": {
                "resultType": "vector",
                "result": [{"metric": {}, "value": [now, "73"]}],
                "stats": {"summary": {"bytesProcessedPerSecond": 1024, "execTime": 0.002}}
            }
        }))
    }
    let app = axum::Router::new()
        .route("/loki/api/v1/query", axum::routing::get(query))
        .with_state(asked);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_loki_recipe_reads_a_logql_count_through_the_prometheus_kind() {
    let asked: Asked = Arc::default();
    let base = loki_standin(asked.clone()).await;
    let (heading, toml) = recipes()
        .into_iter()
        .find(|(h, _)| h.contains("Loki"))
        .expect("a Loki recipe");
    let env = move |k: &str| match k {
        "LOKI_URL" => Some(base.clone()),
        "LOKI_TENANT" => Some("team-a".to_string()),
        _ => None,
    };
    let cfg = load(&heading, &toml, &env);
    let (code, out) = common::check_text(Arc::new(cfg)).await;
    assert!(out.contains("log_errors_5m") && out.contains("73"), "{out}");
    assert_eq!(code, 0, "73 > 50 is a warning, not a breach: {out}");
    assert!(out.contains("WARN"), "{out}");
    let asked = asked.lock().expect("lock").clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let (path, query, tenant) = &asked[0];
    assert_eq!(path, "/loki/api/v1/query");
    let logql: String = url_decode(query.strip_prefix("query=").unwrap_or(query));
    assert_eq!(
        logql,
        r#"sum(count_over_time({container="cohortlens-api-ts"} |~ "(?i)error" [5m]))"#
    );
    assert_eq!(tenant.as_deref(), Some("team-a"));
}

/// `application/x-www-form-urlencoded` decoding, enough for a query parameter.
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("ascii");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).expect("utf-8")
}
