//! The vendors' APIs the simulator plays: Datadog's query API and NerdGraph on the data
//! listener; SSM, CloudWatch, container logs, MongoDB and the backend's `.env` on the control
//! listener. Shapes, refusals, and numbers that follow the scenario and the rollback.

use super::*;
use crate::sim::vendor::nerdgraph::ACCOUNT_ID;

const DD_API: &str = "0123456789abcdef0123456789abcdef";
const DD_APP: &str = "0123456789abcdef0123456789abcdef01234567";
const NR_KEY: &str = "NRAK-TESTKEY0123456789";

const V2_ERR: &str = "sum:trace.http.request.errors{service:cohortlens-api,version:v2}.as_count() / sum:trace.http.request.hits{service:cohortlens-api,version:v2}.as_count() * 100";
const V1_ERR: &str = "sum:trace.http.request.errors{service:cohortlens-api,version:v1}.as_count() / sum:trace.http.request.hits{service:cohortlens-api,version:v1}.as_count() * 100";
const V2_P95: &str = "p95:trace.http.request{service:cohortlens-api,version:v2}";

async fn sim_with(profile: Profile, scenario: Scenario, keys: bool) -> SimHandle {
    let mut o = SimOptions::new(profile);
    o.scenario = scenario;
    o.token = Some(TOKEN.into());
    if keys {
        o.keys = VendorKeys {
            datadog_api: Some(DD_API.into()),
            datadog_app: Some(DD_APP.into()),
            new_relic: Some(NR_KEY.into()),
        };
    }
    start(o).await.unwrap()
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn dd(
    h: &SimHandle,
    params: &[(&str, String)],
    keys: (Option<&str>, Option<&str>),
) -> (u16, Value) {
    let mut rb = client()
        .get(format!("{}/api/v1/query", h.base_url()))
        .query(params);
    if let Some(k) = keys.0 {
        rb = rb.header("DD-API-KEY", k);
    }
    if let Some(k) = keys.1 {
        rb = rb.header("DD-APPLICATION-KEY", k);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json_value().await.unwrap())
}

fn window(q: &str) -> Vec<(&'static str, String)> {
    let now = now_s();
    vec![
        ("from", (now - 300).to_string()),
        ("to", now.to_string()),
        ("query", q.to_string()),
    ]
}

/// The latest point of the first series.
fn latest(v: &Value) -> f64 {
    let pl = v["series"][0]["pointlist"].as_array().expect("pointlist");
    pl.last()
        .and_then(|p| p[1].as_f64())
        .expect("a latest value")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datadog_answers_the_query_api_shape_from_the_simulated_numbers() {
    let h = sim_with(Profile::Cohortlens, Scenario::ErrorBurst, true).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (st, v) = dd(&h, &window(V2_ERR), (Some(DD_API), Some(DD_APP))).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["res_type"], "time_series");
    assert_eq!(v["query"], V2_ERR);
    assert!(v["from_date"].as_i64().unwrap() > 1_000_000_000_000, "ms");
    assert_eq!(
        v["to_date"].as_i64().unwrap() - v["from_date"].as_i64().unwrap(),
        300_000
    );
    let s = &v["series"][0];
    assert_eq!(s["interval"], 1, "a 5-minute window has 1 s points");
    assert_eq!(s["query_index"], 0);
    let pl = s["pointlist"].as_array().unwrap();
    assert!(!pl.is_empty() && pl.len() <= 301);
    let ts = pl[0][0].as_f64().unwrap();
    assert!(
        ts % 1000.0 == 0.0 && ts > 1.6e12,
        "ms timestamps on the interval"
    );
    // error-burst hits v2 at 2-6 %; v1 stays healthy.
    let e2 = latest(&v);
    assert!((2.0..=6.0).contains(&e2), "v2 error rate {e2}");
    let (_, v1) = dd(&h, &window(V1_ERR), (Some(DD_API), Some(DD_APP))).await;
    let e1 = latest(&v1);
    assert!(e1 < 0.1, "v1 error rate {e1}");
    // p95 in seconds, from the same numbers as the admin metrics.
    let (_, p) = dd(&h, &window(V2_P95), (Some(DD_API), Some(DD_APP))).await;
    let s = &p["series"][0];
    assert_eq!(s["metric"], "trace.http.request");
    assert_eq!(s["aggr"], "p95");
    assert_eq!(s["scope"], "service:cohortlens-api,version:v2");
    assert_eq!(s["unit"][0]["name"], "second");
    let p95 = latest(&p);
    assert!((0.25..=0.75).contains(&p95), "v2 p95 {p95} s");
    // Grouped: one series per version.
    let (_, g) = dd(
        &h,
        &window("sum:trace.http.request.hits{service:cohortlens-api} by {version}.as_count()"),
        (Some(DD_API), Some(DD_APP)),
    )
    .await;
    let tags: Vec<&Value> = g["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["tag_set"])
        .collect();
    assert_eq!(tags, [&json!(["version:v1"]), &json!(["version:v2"])]);
    assert_eq!(g["group_by"], json!(["version"]));
    // An unknown metric or a scope matching nothing: no series, as Datadog.
    for q in [
        "avg:trace.express.request.hits{service:cohortlens-api}",
        "sum:trace.http.request.hits{service:checkout}",
    ] {
        let (st, v) = dd(&h, &window(q), (Some(DD_API), Some(DD_APP))).await;
        assert_eq!((st, v["series"].clone()), (200, json!([])), "{q}");
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datadog_refuses_missing_or_wrong_keys_with_403() {
    let h = sim_with(Profile::Cohortlens, Scenario::Healthy, true).await;
    for keys in [
        (None, None),
        (Some(DD_API), None),
        (None, Some(DD_APP)),
        (Some(DD_API), Some("wrong")),
        (Some("wrong"), Some(DD_APP)),
        (Some(" "), Some(DD_APP)),
    ] {
        let (st, v) = dd(&h, &window(V2_ERR), keys).await;
        assert_eq!((st, v), (403, json!({"errors": ["Forbidden"]})), "{keys:?}");
    }
    // The keys are checked before anything else: a bad window without keys is still 403.
    let (st, _) = dd(&h, &[("query", V2_ERR.to_string())], (None, None)).await;
    assert_eq!(st, 403);
    // Without configured keys, any non-empty pair is accepted.
    let open = sim_with(Profile::Cohortlens, Scenario::Healthy, false).await;
    let (st, _) = dd(&open, &window(V2_ERR), (Some("k"), Some("a"))).await;
    assert_eq!(st, 200);
    let (st, _) = dd(&open, &window(V2_ERR), (Some("k"), None)).await;
    assert_eq!(st, 403);
    // The keys never reach the request log.
    assert!(!format!("{:?}", h.requests()).contains(DD_API));
    h.shutdown().await;
    open.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datadog_checks_from_to_and_the_query_with_400s() {
    let h = sim_with(Profile::Cohortlens, Scenario::Healthy, true).await;
    let now = now_s();
    let q = || ("query", V2_ERR.to_string());
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("to", now.to_string()), q()],
            "parameter 'from' is invalid",
        ),
        (
            vec![("from", (now - 60).to_string()), q()],
            "parameter 'to' is invalid",
        ),
        (
            vec![("from", "an hour ago".into()), ("to", now.to_string()), q()],
            "parameter 'from' is invalid",
        ),
        (
            vec![
                ("from", now.to_string()),
                ("to", (now - 60).to_string()),
                q(),
            ],
            "must be before 'to'",
        ),
        (
            vec![("from", now.to_string()), ("to", now.to_string()), q()],
            "must be before 'to'",
        ),
        (
            vec![
                ("from", (now - 90_000).to_string()),
                ("to", now.to_string()),
                q(),
            ],
            "up to 24 h",
        ),
        (
            vec![
                ("from", (now - 7200).to_string()),
                ("to", (now - 3600).to_string()),
                q(),
            ],
            "within 5 minutes of now",
        ),
        (
            vec![
                ("from", ((now - 300) * 1000).to_string()),
                ("to", (now * 1000).to_string()),
                q(),
            ],
            "milliseconds",
        ),
        (
            vec![("from", (now - 300).to_string()), ("to", now.to_string())],
            "parameter 'query' is invalid",
        ),
        (
            vec![
                ("from", (now - 300).to_string()),
                ("to", now.to_string()),
                (
                    "query",
                    "avg:trace.http.request{service:cohortlens-api".into(),
                ),
            ],
            "Error parsing query",
        ),
        (
            vec![
                ("from", (now - 300).to_string()),
                ("to", now.to_string()),
                ("query", "bogus:trace.http.request{*}".into()),
            ],
            "Error parsing query",
        ),
        (
            vec![
                ("from", (now - 300).to_string()),
                ("to", now.to_string()),
                ("query", "1 + 2".into()),
            ],
            "Error parsing query",
        ),
    ];
    for (params, want) in cases {
        let (st, v) = dd(&h, &params, (Some(DD_API), Some(DD_APP))).await;
        assert_eq!(st, 400, "{params:?}: {v}");
        let msgs = v["errors"].as_array().expect("errors list");
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].as_str().unwrap().contains(want), "{params:?}: {v}");
    }
    h.shutdown().await;
}

#[test]
fn datadog_parser_reads_the_query_language() {
    use crate::sim::vendor::datadog::{parse, Expr, Filter};
    let e = parse("avg:trace.http.request{service:a AND !version:v1,env:prod*} by {version}.rollup(avg, 60).fill(zero)").unwrap();
    let Expr::Metric(m) = &e[0] else {
        panic!("{e:?}")
    };
    assert_eq!(m.aggr, "avg");
    assert_eq!(
        m.filters,
        vec![
            Filter::Is("service".into(), "a".into()),
            Filter::Not("version".into(), "v1".into()),
            Filter::Is("env".into(), "prod*".into())
        ]
    );
    assert_eq!(m.by, vec!["version".to_string()]);
    assert_eq!(m.rollup, Some(60));
    assert_eq!(parse("sum:x{*}.as_count(), max:y{a:b}").unwrap().len(), 2);
    assert!(parse("(sum:x{*} / sum:y{*}) * 100").is_ok());
    for bad in ["sum:x", "sum:x{", "x{*}.nope()", "sum:x{*} +", "sum:x{a b}"] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

async fn nerdgraph(h: &SimHandle, key: Option<&str>, body: Value) -> (u16, Value) {
    let mut rb = client()
        .post(format!("{}/graphql", h.base_url()))
        .json_body(body);
    if let Some(k) = key {
        rb = rb.header("API-Key", k);
    }
    let r = rb.send().await.unwrap();
    let st = r.status().as_u16();
    (st, r.json_value().await.unwrap())
}

fn nrql_body(account: i64, nrql: &str) -> Value {
    json!({"query": format!(
        "{{ actor {{ account(id: {account}) {{ nrql(query: {}) {{ results }} }} }} }}",
        serde_json::to_string(nrql).unwrap()
    )})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nerdgraph_answers_nrql_in_nerdgraphs_shape() {
    let h = sim_with(Profile::Hse, Scenario::ErrorBurst, true).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let q = "SELECT percentage(count(*), WHERE error IS true) AS 'error_rate', percentile(duration, 99) FROM Transaction WHERE appName = 'hse-monolith' SINCE 5 minutes ago";
    let (st, v) = nerdgraph(&h, Some(NR_KEY), nrql_body(ACCOUNT_ID, q)).await;
    assert_eq!(st, 200, "{v}");
    assert!(v.get("errors").is_none(), "{v}");
    let r = &v["data"]["actor"]["account"]["nrql"]["results"];
    assert_eq!(r.as_array().unwrap().len(), 1, "{v}");
    // The new system at the initial 10 % split in error-burst: 0.81-1.55 % of its requests
    // fail (8-15 % at full traffic, a tenth of it over healthy 0.01-0.06 %).
    let err = r[0]["error_rate"].as_f64().unwrap();
    assert!((0.8..=1.56).contains(&err), "{err}");
    let p99 = r[0]["percentile.duration"]["99"].as_f64().unwrap();
    assert!((0.2..=0.8).contains(&p99), "p99 in seconds: {p99}");
    // FACET, default keys, and the old system healthy.
    let q = "SELECT count(*), percentage(count(*), WHERE error IS true) FROM Transaction FACET appName SINCE 5 minutes ago LIMIT 10";
    let (_, v) = nerdgraph(&h, Some(NR_KEY), nrql_body(ACCOUNT_ID, q)).await;
    let rows = v["data"]["actor"]["account"]["nrql"]["results"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), 2, "{v}");
    let old = rows
        .iter()
        .find(|r| r["appName"] == "hse-old-system")
        .unwrap();
    assert_eq!(old["facet"], "hse-old-system");
    assert!(old["percentage"].as_f64().unwrap() < 0.1);
    assert!(old["count"].as_f64().unwrap() > 0.0);
    // Variables, aliases and TIMESERIES.
    let body = json!({
        "query": "query Err($q: Nrql!) { actor { acc: account(id: 1234567) { id nrql(query: $q) { results } } } }",
        "variables": {"q": "SELECT count(*) FROM Transaction WHERE appName IN ('hse-monolith') SINCE 60 seconds ago TIMESERIES 30 seconds"},
    });
    let (_, v) = nerdgraph(&h, Some(NR_KEY), body).await;
    assert_eq!(v["data"]["actor"]["acc"]["id"], ACCOUNT_ID);
    let ts = v["data"]["actor"]["acc"]["nrql"]["results"]
        .as_array()
        .unwrap();
    assert!(
        ts.len() >= 2 && ts[0].get("beginTimeSeconds").is_some(),
        "{v}"
    );
    // An attribute of the wrong case matches nothing (as New Relic); another event type has
    // no data.
    for q in [
        "SELECT count(*) FROM Transaction WHERE appname = 'hse-monolith'",
        "SELECT count(*) FROM TransactionError",
    ] {
        let (_, v) = nerdgraph(&h, Some(NR_KEY), nrql_body(ACCOUNT_ID, q)).await;
        assert_eq!(
            v["data"]["actor"]["account"]["nrql"]["results"],
            json!([{"count": 0.0}]),
            "{q}"
        );
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nerdgraph_refusals_keys_accounts_syntax_and_fields() {
    let h = sim_with(Profile::Cohortlens, Scenario::Healthy, true).await;
    let ok_q = "SELECT count(*) FROM Transaction";
    for key in [None, Some("NRAK-wrong"), Some("")] {
        let (st, v) = nerdgraph(&h, key, nrql_body(ACCOUNT_ID, ok_q)).await;
        assert_eq!(st, 401, "{key:?}");
        assert_eq!(v["errors"][0]["extensions"]["error_code"], "BAD_API_KEY");
    }
    // Another account: account null and an error with its path.
    let (st, v) = nerdgraph(&h, Some(NR_KEY), nrql_body(42, ok_q)).await;
    assert_eq!(st, 200);
    assert_eq!(v["data"]["actor"]["account"], Value::Null);
    assert_eq!(v["errors"][0]["path"], json!(["actor", "account"]));
    // NRQL that does not parse: HTTP 200 with nrql null and the syntax error.
    let (st, v) = nerdgraph(
        &h,
        Some(NR_KEY),
        nrql_body(ACCOUNT_ID, "SELECT count(*) Transaction"),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v["data"]["actor"]["account"]["nrql"], Value::Null);
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("NRQL Syntax Error: Error at line 1 position 17"),
        "{msg}"
    );
    assert_eq!(v["errors"][0]["path"], json!(["actor", "account", "nrql"]));
    // A field NerdGraph has elsewhere, or a broken document: GraphQL errors, no data.
    let (_, v) = nerdgraph(
        &h,
        Some(NR_KEY),
        json!({"query": "{ actor { account(id: 1234567) { nrql(query: \"SELECT count(*) FROM Transaction\") { results metadata { facets } } } } }"}),
    )
    .await;
    assert!(v.get("data").is_none(), "{v}");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("\"metadata\""));
    let (_, v) = nerdgraph(&h, Some(NR_KEY), json!({"query": "{ actor { "})).await;
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("syntax error"));
    // Not JSON, no query.
    let r = client()
        .post(format!("{}/graphql", h.base_url()))
        .header("API-Key", NR_KEY)
        .body("query=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (st, _) = nerdgraph(&h, Some(NR_KEY), json!({"variables": {}})).await;
    assert_eq!(st, 400);
    h.shutdown().await;
}

async fn aws(h: &SimHandle, service: &str, op: &str, body: Value) -> (u16, Value) {
    let r = client()
        .post(format!("{}/__sim/aws/{service}/{op}", h.control_url()))
        .header("x-amz-region", "eu-west-1")
        .json_body(body)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json_value().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssm_parameter_is_the_hse_split_both_ways() {
    let h = sim_with(Profile::Hse, Scenario::Healthy, false).await;
    let name = hse::PARAMETER;
    let get = || aws(&h, "ssm", "GetParameter", json!({"Name": name}));
    let (st, v) = get().await;
    assert_eq!(st, 200, "{v}");
    let p = &v["Parameter"];
    assert_eq!(p["Value"], hse::INITIAL_SPLIT.to_string());
    assert_eq!(
        (p["Version"].clone(), p["Type"].clone()),
        (json!(1), json!("String"))
    );
    assert_eq!(
        p["ARN"],
        "arn:aws:ssm:eu-west-1:123456789012:parameter/hse/traffic-split-percent"
    );
    assert!(p["LastModifiedDate"].as_f64().unwrap() > 1.6e9);
    // Refusals in AWS's shape.
    let (st, v) = aws(&h, "ssm", "GetParameter", json!({"Name": "/hse/nope"})).await;
    assert_eq!(
        (st, v),
        (400, json!({"__type": "ParameterNotFound", "message": ""}))
    );
    let (st, v) = aws(
        &h,
        "ssm",
        "PutParameter",
        json!({"Name": name, "Value": "0"}),
    )
    .await;
    assert_eq!(
        (st, v["__type"].clone()),
        (400, json!("ParameterAlreadyExists"))
    );
    assert_eq!(h.rollback_target(), 0.1, "a refused put changes nothing");
    let (_, v) = aws(
        &h,
        "ssm",
        "PutParameter",
        json!({"Name": "/hse/new", "Value": "1"}),
    )
    .await;
    assert_eq!(v["__type"], "ValidationException");
    let (_, v) = aws(
        &h,
        "ssm",
        "PutParameter",
        json!({"Name": name, "Value": "", "Overwrite": true}),
    )
    .await;
    assert_eq!(v["__type"], "ValidationException");
    // The rollback: put 0 with overwrite moves the split for real.
    let (st, v) = aws(
        &h,
        "ssm",
        "PutParameter",
        json!({"Name": name, "Value": "0", "Overwrite": true}),
    )
    .await;
    assert_eq!((st, v), (200, json!({"Version": 2, "Tier": "Standard"})));
    assert_eq!(h.rollback_target(), 0.0);
    assert_eq!(get_admin(&h, "/admin/traffic-split").await["percent"], 0);
    assert_eq!(
        get_json(format!("{}/health", h.base_url())).await["serving"],
        "old"
    );
    // The split set over HTTP shows in the parameter, as a new version.
    let r = post_admin(&h, "/admin/traffic-split", Some(json!({"percent": 50}))).await;
    assert_eq!(r.status(), 200);
    let (_, v) = get().await;
    assert_eq!(
        (
            v["Parameter"]["Value"].clone(),
            v["Parameter"]["Version"].clone()
        ),
        (json!("50"), json!(3))
    );
    // The app reads the value as a number: 100 is everybody, garbage nobody.
    for (value, target) in [
        ("100", 1.0),
        (" 12.5 ", 0.125),
        ("abc", 0.0),
        ("250", 1.0),
        ("-5", 0.0),
    ] {
        aws(
            &h,
            "ssm",
            "PutParameter",
            json!({"Name": name, "Value": value, "Overwrite": true}),
        )
        .await;
        assert_eq!(h.rollback_target(), target, "{value:?}");
    }
    h.shutdown().await;
}

fn alb_query(id: &str, metric: &str, tg: &str, stat: &str, period: i64) -> Value {
    json!({"Id": id, "MetricStat": {"Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": metric,
        "Dimensions": [{"Name": "LoadBalancer", "Value": hse::LB}, {"Name": "TargetGroup", "Value": tg}]},
        "Period": period, "Stat": stat}, "ReturnData": false})
}

fn cw_request(tg_new: &str, period: i64) -> Value {
    let now = now_s() as f64;
    json!({
        "MetricDataQueries": [
            alb_query("r", "RequestCount", tg_new, "Sum", period),
            alb_query("e", "HTTPCode_Target_5XX_Count", tg_new, "Sum", period),
            {"Id": "err", "Expression": "100 * e / r", "Label": "error %"},
            {"Id": "p99", "MetricStat": alb_query("x", "TargetResponseTime", tg_new, "p99", period)["MetricStat"]},
        ],
        "StartTime": now - 300.0,
        "EndTime": now + 1.0,
    })
}

fn result<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["MetricDataResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudwatch_get_metric_data_reports_the_target_groups() {
    let h = sim_with(Profile::Hse, Scenario::ErrorBurst, false).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (st, v) = aws(
        &h,
        "cloudwatch",
        "GetMetricData",
        cw_request(hse::TG_NEW, 1),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["Messages"], json!([]));
    let ids: Vec<&Value> = v["MetricDataResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["Id"])
        .collect();
    assert_eq!(
        ids,
        [&json!("err"), &json!("p99")],
        "ReturnData false is left out"
    );
    let err = result(&v, "err");
    assert_eq!(err["Label"], "error %");
    assert_eq!(err["StatusCode"], "Complete");
    let ts = err["Timestamps"].as_array().unwrap();
    assert!(ts.len() >= 2);
    assert!(ts[0].as_f64() > ts[1].as_f64(), "newest first");
    let e = err["Values"][0].as_f64().unwrap();
    // The burst's 8-15 % at a tenth of its strength (the 10 % split), over healthy
    // 0.01-0.06 %: 0.81-1.55 %.
    assert!(
        (0.8..=1.56).contains(&e),
        "new system 5xx % {e} (at the 10 % split)"
    );
    let p99 = result(&v, "p99")["Values"][0].as_f64().unwrap();
    assert!((0.2..=0.8).contains(&p99), "p99 seconds {p99}");
    assert_eq!(result(&v, "p99")["Label"], "TargetResponseTime");
    let (_, old) = aws(
        &h,
        "cloudwatch",
        "GetMetricData",
        cw_request(hse::TG_OLD, 60),
    )
    .await;
    assert!(result(&old, "err")["Values"][0].as_f64().unwrap() < 0.1);
    // Unknown dimensions, metrics or units find no data, as CloudWatch.
    let mut nothing = cw_request("targetgroup/other/0", 60);
    nothing["MetricDataQueries"][3]["MetricStat"]["Unit"] = json!("Milliseconds");
    let (st, v) = aws(&h, "cloudwatch", "GetMetricData", nothing).await;
    assert_eq!(st, 200);
    assert_eq!(result(&v, "err")["Values"], json!([]));
    assert_eq!(result(&v, "p99")["Values"], json!([]));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudwatch_validation_errors() {
    let h = sim_with(Profile::Hse, Scenario::Healthy, false).await;
    let base = cw_request(hse::TG_NEW, 60);
    let with = |f: fn(&mut Value)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            with(|b| b["MetricDataQueries"][0]["Id"] = json!("Req")),
            "expected pattern",
        ),
        (
            with(|b| b["MetricDataQueries"][0]["MetricStat"]["Period"] = json!(45)),
            "not a valid period",
        ),
        (
            with(|b| b["EndTime"] = b["StartTime"].clone()),
            "StartTime must be less than",
        ),
        (
            with(|b| b["MetricDataQueries"][2]["Expression"] = json!("100 * e / q")),
            "Unrecognized metric",
        ),
        (
            with(|b| b["MetricDataQueries"][2]["Expression"] = json!("RATE(e)")),
            "Unrecognized",
        ),
        (
            with(|b| b["MetricDataQueries"][1]["Id"] = json!("r")),
            "not unique",
        ),
        (
            with(|b| b["MetricDataQueries"] = json!([])),
            "MetricDataQueries is required",
        ),
    ];
    for (req, want) in cases {
        let (st, v) = aws(&h, "cloudwatch", "GetMetricData", req).await;
        assert_eq!(
            (st, v["__type"].clone()),
            (400, json!("ValidationError")),
            "{want}: {v}"
        );
        assert!(v["message"].as_str().unwrap().contains(want), "{want}: {v}");
    }
    let (st, v) = aws(&h, "cloudwatch", "ListMetrics", json!({})).await;
    assert_eq!(
        (st, v["__type"].clone()),
        (400, json!("UnknownOperationException"))
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_logs_count_the_failures_on_stderr() {
    let h = sim_with(Profile::Cohortlens, Scenario::ErrorBurst, false).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let logs = |q: &'static str| {
        let url = format!(
            "{}/__sim/docker/containers/cohortlens-api-ts/logs{q}",
            h.control_url()
        );
        async move { get_json(url).await }
    };
    let v = logs("").await;
    let lines = v["lines"].as_array().unwrap();
    let errors: Vec<&Value> = lines
        .iter()
        .filter(|l| l["log"].as_str().unwrap().to_lowercase().contains("error"))
        .collect();
    assert!(!errors.is_empty(), "error-burst fails v2 requests: {v}");
    assert!(
        errors.iter().all(|l| l["stream"] == "stderr"),
        "Nest logs errors on stderr"
    );
    assert!(lines.iter().any(|l| l["stream"] == "stdout"
        && l["log"]
            .as_str()
            .unwrap()
            .contains("Nest application successfully started")));
    // One ERROR line per failed request: up to a second already over, the count is what
    // the history counted.
    let until = now_s();
    let counted: f64 = h.sim.with_history(|hist, _| {
        let before = hist.errors_before(until);
        before[2].floor() + before[3].floor()
    });
    let url = format!(
        "{}/__sim/docker/containers/cohortlens-api-ts/logs?until={until}",
        h.control_url()
    );
    let got = get_json(url).await["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["log"].as_str().unwrap().to_lowercase().contains("error"))
        .count() as f64;
    assert!(counted > 0.0);
    assert_eq!(got, counted, "ERROR lines and failures up to {until}");
    // --tail and a window.
    let t = logs("?tail=3").await;
    assert_eq!(t["lines"].as_array().unwrap().len(), 3);
    let future = logs("?since=99999999999").await;
    assert_eq!(future["lines"], json!([]));
    let r = client()
        .get(format!(
            "{}/__sim/docker/containers/nope/logs",
            h.control_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json_value().await.unwrap()["message"],
        "No such container: nope"
    );
    // v1 (uvicorn) writes everything to stderr.
    let v1 = get_json(format!(
        "{}/__sim/docker/containers/cohortlens-api/logs",
        h.control_url()
    ))
    .await;
    assert!(v1["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["stream"] == "stderr"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_mode_errors_show_on_v2_while_v1_serves() {
    let h = sim_with(Profile::Cohortlens, Scenario::ErrorBurst, false).await;
    let r = post_admin(&h, "/api/v2/admin/enable-shadow-mode", None).await;
    assert_eq!(r.status(), 200);
    wait_json(&h, "/api/v2/admin/metrics", Duration::from_secs(8), |m| {
        m["primary"] == "v1"
            && num(m, "/v2/error_rate_pct") > 1.0
            && num(m, "/v1/error_rate_pct") < 0.1
    })
    .await;
    h.shutdown().await;
}

#[test]
fn dotenv_reads_as_python_dotenv_does() {
    use crate::sim::dotenv::{parse, switch};
    let v = parse(
        "# comment\nexport A=1\nUSE_CLIENT_DRAWER_READ=true\nB = 'x # y'\nC=\"q\"  # c\nD=plain # note\nUSE_CLIENT_DRAWER_READ=false  # Lectura sigue en AS IS\nE=\nnot a line\n",
    );
    assert_eq!(v.get("A").map(String::as_str), Some("1"));
    assert_eq!(v.get("B").map(String::as_str), Some("x # y"));
    assert_eq!(v.get("C").map(String::as_str), Some("q"));
    assert_eq!(v.get("D").map(String::as_str), Some("plain"));
    assert_eq!(v.get("E").map(String::as_str), Some(""));
    assert!(!switch(&v, "USE_CLIENT_DRAWER_READ"), "the last line wins");
    let on = parse("X=TRUE\nY=yes\n");
    assert!(switch(&on, "X") && !switch(&on, "Y") && !switch(&on, "Z"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edn360_env_file_is_read_at_restart_and_written_by_the_drill_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = SimOptions::new(Profile::Edn360);
    o.scenario = Scenario::ErrorBurst;
    o.token = Some(TOKEN.into());
    o.state_dir = Some(dir.path().to_path_buf());
    let h = start(o).await.unwrap();
    let env = h.env_file().unwrap();
    assert_eq!(env, dir.path().join(".env"));
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(
        text.contains("USE_CLIENT_DRAWER_READ=true\nUSE_CLIENT_DRAWER_WRITE=true\n"),
        "{text}"
    );
    // Appending the rollback line changes nothing until the backend restarts.
    std::fs::write(&env, format!("{text}USE_CLIENT_DRAWER_READ=false\n")).unwrap();
    assert_eq!(h.flag(edn360::FLAG_READ), Some(true));
    let restart = || {
        client()
            .post(format!(
                "{}/__sim/supervisor/backend/restart",
                h.control_url()
            ))
            .send()
    };
    let r = restart().await.unwrap();
    assert_eq!(r.status(), 200);
    let v = r.json_value().await.unwrap();
    assert_eq!(
        (v["state"].clone(), v["pid"].clone()),
        (json!("RUNNING"), json!(4243))
    );
    assert_eq!(h.flag(edn360::FLAG_READ), Some(false));
    assert_eq!(h.flag(edn360::FLAG_WRITE), Some(true));
    wait_json(
        &h,
        "/admin/monitoring/summary",
        Duration::from_secs(8),
        |s| s["success_rate_pct"].as_f64().unwrap() > 95.0 && s["duplicates"] == 0,
    )
    .await;
    // The HTTP drill endpoint edits the file too.
    let r = post_admin(
        &h,
        "/admin/drill/client-drawer-write",
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(
        text.contains("USE_CLIENT_DRAWER_WRITE=false\n")
            && !text.contains("USE_CLIENT_DRAWER_WRITE=true"),
        "{text}"
    );
    // An unknown program, an unreadable file.
    let r = client()
        .post(format!(
            "{}/__sim/supervisor/frontend/restart",
            h.control_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    std::fs::remove_file(&env).unwrap();
    let r = restart().await.unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.json_value().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("spawn error"));
    h.shutdown().await;
    // A simulator started on a `.env` that says rolled back starts rolled back.
    std::fs::write(dir.path().join(".env"), "USE_CLIENT_DRAWER_READ=false\n").unwrap();
    let mut o = SimOptions::new(Profile::Edn360);
    o.scenario = Scenario::ErrorBurst;
    o.state_dir = Some(dir.path().to_path_buf());
    let h = start(o).await.unwrap();
    assert_eq!(h.flag(edn360::FLAG_READ), Some(false));
    assert_eq!(
        h.flag(edn360::FLAG_WRITE),
        Some(false),
        "missing means false"
    );
    let s = get_json(format!("{}/admin/monitoring/summary", h.base_url())).await;
    assert!(s["success_rate_pct"].as_f64().unwrap() > 95.0, "{s}");
    h.shutdown().await;
    // Without a state dir the file is private and goes with the simulator.
    let h = sim_with(Profile::Edn360, Scenario::Healthy, false).await;
    let tmp = h.env_file().unwrap();
    assert!(tmp.exists());
    h.shutdown().await;
    assert!(!tmp.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_database_agrees_with_the_monitoring_endpoints() {
    let h = sim_with(Profile::Edn360, Scenario::ErrorBurst, false).await;
    let m = get_json(format!("{}/__sim/mongo/edn360", h.control_url())).await;
    let c = &m["collections"];
    assert_eq!(
        c["client_drawers"].as_array().unwrap().len(),
        edn360::DRAWERS
    );
    let plans = |k: &str| {
        c[k].as_array()
            .unwrap()
            .iter()
            .filter(|p| p.get("snapshot_id").is_none())
            .count()
    };
    let dups = get_admin(&h, "/admin/monitoring/duplicates").await;
    let pws = get_admin(&h, "/admin/monitoring/plans-without-snapshot").await;
    // The numbers change every 2 s: compare within one bucket.
    let same_bucket = pws["plans_without_snapshot_id"].as_u64().unwrap()
        == (plans("training_plans") + plans("nutrition_plans")) as u64;
    if same_bucket {
        for item in dups["items"].as_array().unwrap() {
            let d = c["client_drawers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["_id"] == item["client_id"])
                .unwrap();
            let f = d["services"]["shared"]["questionnaires"]["followups"]
                .as_array()
                .unwrap();
            assert_eq!(
                f.iter()
                    .filter(|x| x["followup_id"] == item["duplicate_followup_id"])
                    .count(),
                2
            );
        }
    }
    assert!(
        plans("training_plans") > 0,
        "error-burst leaves plans without snapshot_id"
    );
    // Another database is empty, another profile has none.
    let other = get_json(format!("{}/__sim/mongo/test", h.control_url())).await;
    assert_eq!(other["collections"], json!({}));
    let b = sim_with(Profile::Brokers, Scenario::Healthy, false).await;
    let r = client()
        .get(format!("{}/__sim/mongo/edn360", b.control_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    h.shutdown().await;
    b.shutdown().await;
}
