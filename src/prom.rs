//! Prometheus as a source: the instant-query URL, Prometheus's own error bodies (a bad
//! query or an overloaded server is said in its own words, never as a bare HTTP status),
//! label templates that name rows, and a query result turned into readings.
//!
//! Pure functions: the poller builds the URL and reads error bodies; the engine converts a
//! successful answer into one reading per series.

use crate::config::SignalKind;
use crate::fresh::PayloadAge;
use crate::sample::{Reading, Ts, Value};
use chrono::DateTime;
use serde_json::{Map, Value as Json};

/// The instant-query endpoint for `base`: `/api/v1/query` is appended to the path unless the
/// URL already ends with it; query parameters already in `base` (e.g. Thanos's `dedup`) stay.
pub fn query_url(base: &str, query: &str) -> Result<reqwest::Url, String> {
    let mut url = reqwest::Url::parse(base).map_err(|e| format!("not a valid URL: {e}"))?;
    let path = url.path().trim_end_matches('/').to_string();
    if !path.ends_with("/api/v1/query") {
        url.set_path(&format!("{path}/api/v1/query"));
    }
    url.query_pairs_mut().append_pair("query", query);
    Ok(url)
}

/// Longest error text kept from a Prometheus error body.
const MAX_ERROR_CHARS: usize = 300;

/// The failure reason from a Prometheus error body
/// (`{"status":"error","errorType":"bad_data","error":"parse error …"}`), if it is one.
/// `http` is the status code when the answer was not 2xx.
pub fn error_reason(http: Option<u16>, body: &Json) -> Option<String> {
    if body.get("status").and_then(Json::as_str) != Some("error") {
        return None;
    }
    let kind = body
        .get("errorType")
        .and_then(Json::as_str)
        .unwrap_or("error");
    let text = body
        .get("error")
        .and_then(Json::as_str)
        .unwrap_or("no error text");
    let code = http.map(|c| format!(" (HTTP {c})")).unwrap_or_default();
    Some(format!(
        "Prometheus {kind}{code}: {}",
        clip(&one_line(text), MAX_ERROR_CHARS)
    ))
}

/// Prometheus's `warnings` (and `infos`, newer servers) on a successful answer, one string.
pub fn warnings(body: &Json) -> Option<String> {
    let list: Vec<String> = ["warnings", "infos"]
        .iter()
        .filter_map(|k| body.get(*k).and_then(Json::as_array))
        .flatten()
        .filter_map(|w| w.as_str().map(one_line))
        .collect();
    (!list.is_empty()).then(|| clip(&list.join("; "), MAX_ERROR_CHARS))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// A row name made of literal text and `{{label}}` references: `{{service}}`,
/// `{{path}} {{code}}`, `api {{instance}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Label(String),
}

impl Template {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(format!("`{{{{` without a closing `}}}}` in name {s:?}"));
            };
            let label = after[..close].trim();
            if !valid_label(label) {
                return Err(format!(
                    "`{{{{{label}}}}}` in name {s:?} is not a label name (letters, digits and `_`, not starting with a digit)"
                ));
            }
            parts.push(Part::Label(label.to_string()));
            rest = &after[close + 2..];
        }
        if rest.contains("}}") {
            return Err(format!("`}}}}` without an opening `{{{{` in name {s:?}"));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// The name of one series; a missing label renders as nothing (as in Prometheus's own
    /// templates). A name that renders empty falls back to the whole label set.
    pub fn render(&self, labels: &Map<String, Json>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Label(l) => {
                    if let Some(v) = labels.get(l).and_then(Json::as_str) {
                        out.push_str(v);
                    }
                }
            }
        }
        let out = out.trim().to_string();
        if out.is_empty() {
            label_set(labels)
        } else {
            out
        }
    }
}

fn valid_label(l: &str) -> bool {
    let mut cs = l.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `{code="500",path="/a"}` (the metric name, if any, in front), as Prometheus prints it.
pub fn label_set(labels: &Map<String, Json>) -> String {
    let name = labels.get("__name__").and_then(Json::as_str).unwrap_or("");
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={}", Json::String(json_text(v))))
        .collect();
    format!("{name}{{{}}}", inner.join(","))
}

fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What one answer means for one signal.
#[derive(Debug, Clone, PartialEq)]
pub enum Converted {
    /// The same reading for every row of the signal (an error, an empty result…).
    All(Reading),
    /// The signal's own single row (a scalar, or one series without a name template).
    One(Reading),
    /// One reading per series, by rendered name (only with a name template).
    Series(Vec<(String, Reading)>),
}

/// A successful (2xx, JSON) answer of `/api/v1/query` as readings. `at` is when the poll
/// completed; a sample older than `stale_after_ms` by then is `stale`.
pub fn convert(
    body: &Json,
    template: Option<&Template>,
    kind: SignalKind,
    at: Ts,
    stale_after_ms: i64,
) -> Converted {
    if let Some(reason) = error_reason(None, body) {
        return Converted::All(Reading::error(format!("query failed: {reason}")));
    }
    if body.get("status").and_then(Json::as_str) != Some("success") {
        return Converted::All(Reading::empty(
            "not a Prometheus query answer (no \"status\": \"success\"); check the url",
        ));
    }
    let data = body.get("data");
    let rtype = data
        .and_then(|d| d.get("resultType"))
        .and_then(Json::as_str)
        .unwrap_or("");
    let result = data.and_then(|d| d.get("result"));
    let sample = |s: Option<&Json>| read_sample(s, kind, at, stale_after_ms);
    match (rtype, result) {
        ("scalar", Some(s)) | ("string", Some(s)) => Converted::One(sample(Some(s))),
        ("vector", Some(Json::Array(series))) => {
            if series.is_empty() {
                return Converted::All(Reading::empty("query returned no series"));
            }
            let Some(t) = template else {
                if series.len() == 1 {
                    return Converted::One(sample(series[0].get("value")));
                }
                return Converted::All(Reading::empty(format!(
                    "query returned {} series; aggregate it (sum(…)) or set name = \"{{{{label}}}}\" for a row each",
                    series.len()
                )));
            };
            let empty = Map::new();
            let named: Vec<(String, &Json)> = series
                .iter()
                .map(|s| {
                    let labels = s.get("metric").and_then(Json::as_object).unwrap_or(&empty);
                    (t.render(labels), s)
                })
                .collect();
            let mut out: Vec<(String, Reading)> = Vec::with_capacity(named.len());
            for (name, s) in &named {
                if out.iter().any(|(n, _)| n == name) {
                    continue;
                }
                let same = named.iter().filter(|(n, _)| n == name).count();
                let reading = if same > 1 {
                    Reading::empty(format!(
                        "{same} series are named {name:?}: add labels to `name` or aggregate by them"
                    ))
                } else if s.get("histogram").is_some() {
                    Reading::empty(
                        "a native histogram sample: use histogram_quantile() or histogram_count()",
                    )
                } else {
                    sample(s.get("value"))
                };
                out.push((name.clone(), reading));
            }
            Converted::Series(out)
        }
        ("matrix", _) => Converted::All(Reading::empty(
            "query returns a range vector (matrix): make it an instant vector, e.g. rate(…[1m])",
        )),
        _ => Converted::All(Reading::empty(
            "not a Prometheus query answer (no data.resultType/result)",
        )),
    }
}

/// One `[<unix seconds>, "<value>"]` sample.
fn read_sample(s: Option<&Json>, kind: SignalKind, at: Ts, stale_after_ms: i64) -> Reading {
    let Some([ts, v]) = s.and_then(Json::as_array).map(Vec::as_slice) else {
        return Reading::empty("the sample is not [time, \"value\"]");
    };
    if let Some(made) = ts
        .as_f64()
        .and_then(|t| DateTime::from_timestamp_millis((t * 1000.0) as i64))
    {
        if let Some(stale) = PayloadAge::at_poll(at, made).stale(stale_after_ms, "the sample", None)
        {
            return stale;
        }
    }
    let text = match v {
        Json::String(t) => t.as_str(),
        Json::Number(_) => {
            return Reading::empty("the sample value is a bare number, not a string")
        }
        _ => return Reading::empty("the sample has no value"),
    };
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_nan() => {
            Reading::empty("the query gave NaN (0/0: no traffic in the window?)")
        }
        Ok(x) if x.is_infinite() => Reading::empty(format!(
            "the query gave {} (a division by zero?)",
            if x > 0.0 { "+Inf" } else { "-Inf" }
        )),
        Ok(x) => Reading::Value(Value::Num(x)),
        Err(_) if kind == SignalKind::Flag => Reading::Value(Value::Str(text.to_string())),
        Err(_) => Reading::empty(format!("the sample {:?} is not a number", clip(text, 20))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::NoDataKind;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn at() -> Ts {
        Utc.timestamp_opt(1_800_000_100, 0)
            .single()
            .unwrap_or_default()
    }
    const NOW: f64 = 1_800_000_100.0;

    fn vector(series: serde_json::Value) -> serde_json::Value {
        json!({"status": "success", "data": {"resultType": "vector", "result": series}})
    }

    fn conv(body: &serde_json::Value, t: Option<&str>) -> Converted {
        let t = t.map(|t| Template::parse(t).expect("template"));
        convert(body, t.as_ref(), SignalKind::Metric, at(), 15_000)
    }

    fn empty_reason(c: &Converted) -> String {
        match c {
            Converted::All(Reading::NoData {
                kind: NoDataKind::Empty,
                reason,
            })
            | Converted::One(Reading::NoData {
                kind: NoDataKind::Empty,
                reason,
            }) => reason.clone(),
            other => panic!("expected empty, got {other:?}"),
        }
    }

    #[test]
    fn url_appends_the_query_endpoint_once() {
        let u = query_url("http://p:9090", "up == 1").expect("url");
        assert_eq!(u.as_str(), "http://p:9090/api/v1/query?query=up+%3D%3D+1");
        let u = query_url("https://h/prometheus/?dedup=true", "a{b=~\"5..\"}").expect("url");
        assert_eq!(
            u.as_str(),
            "https://h/prometheus/api/v1/query?dedup=true&query=a%7Bb%3D%7E%225..%22%7D"
        );
        let u = query_url("http://p/api/v1/query", "x").expect("url");
        assert_eq!(u.as_str(), "http://p/api/v1/query?query=x");
        assert!(query_url("not a url", "x").is_err());
    }

    #[test]
    fn templates_parse_and_render() {
        let t = Template::parse("{{service}}").expect("t");
        let labels = json!({"service": "api", "code": "500"});
        let m = labels.as_object().expect("map");
        assert_eq!(t.render(m), "api");
        let t = Template::parse("{{ path }} {{code}}!").expect("t");
        assert_eq!(t.render(m), "500!", "missing label renders empty");
        let t = Template::parse("{{nope}}").expect("t");
        assert_eq!(t.render(m), "{code=\"500\",service=\"api\"}");
        let t = Template::parse("literal").expect("t");
        assert_eq!(t.render(m), "literal");
        assert!(Template::parse("{{service").is_err());
        assert!(Template::parse("{{9x}}").is_err());
        assert!(Template::parse("{{a-b}}").is_err());
        assert!(Template::parse("x}}").is_err());
    }

    #[test]
    fn error_bodies_name_type_and_text() {
        let b = json!({"status": "error", "errorType": "bad_data",
                       "error": "invalid parameter \"query\": 1:5: parse error:\n unexpected"});
        assert_eq!(
            error_reason(Some(400), &b).as_deref(),
            Some("Prometheus bad_data (HTTP 400): invalid parameter \"query\": 1:5: parse error: unexpected")
        );
        let b = json!({"status": "error", "errorType": "execution", "error": "many-to-many matching not allowed"});
        assert!(error_reason(Some(422), &b).is_some_and(|r| r.contains("execution (HTTP 422)")));
        let b = json!({"status": "error", "errorType": "unavailable", "error": "TSDB not ready"});
        assert!(error_reason(Some(503), &b).is_some_and(|r| r.contains("TSDB not ready")));
        assert_eq!(error_reason(Some(500), &json!({"error": "x"})), None);
        // A 200 that says error (some proxies): every row in error, with Prometheus's words.
        match conv(&b, None) {
            Converted::All(Reading::NoData {
                kind: NoDataKind::Error,
                reason,
            }) => assert_eq!(
                reason,
                "query failed: Prometheus unavailable: TSDB not ready"
            ),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn one_series_and_scalar_give_the_plain_row() {
        let b = vector(json!([{"metric": {}, "value": [NOW, "0.25"]}]));
        assert_eq!(
            conv(&b, None),
            Converted::One(Reading::Value(Value::Num(0.25)))
        );
        let b =
            json!({"status": "success", "data": {"resultType": "scalar", "result": [NOW, "3"]}});
        assert_eq!(
            conv(&b, None),
            Converted::One(Reading::Value(Value::Num(3.0)))
        );
        assert_eq!(
            conv(&b, Some("{{x}}")),
            Converted::One(Reading::Value(Value::Num(3.0)))
        );
    }

    #[test]
    fn empty_vector_is_empty_never_ok() {
        let b = vector(json!([]));
        assert_eq!(empty_reason(&conv(&b, None)), "query returned no series");
        assert_eq!(
            empty_reason(&conv(&b, Some("{{service}}"))),
            "query returned no series"
        );
    }

    #[test]
    fn nan_and_inf_are_empty() {
        for (v, word) in [("NaN", "NaN"), ("+Inf", "+Inf"), ("-Inf", "-Inf")] {
            let b = vector(json!([{"metric": {}, "value": [NOW, v]}]));
            let r = empty_reason(&conv(&b, None));
            assert!(r.contains(word), "{v}: {r}");
        }
        let b = vector(json!([{"metric": {}, "value": [NOW, "abc"]}]));
        assert!(empty_reason(&conv(&b, None)).contains("not a number"));
        // A flag may read a string sample as is.
        let b =
            json!({"status": "success", "data": {"resultType": "string", "result": [NOW, "v2"]}});
        assert_eq!(
            convert(&b, None, SignalKind::Flag, at(), 15_000),
            Converted::One(Reading::Value(Value::Str("v2".into())))
        );
    }

    #[test]
    fn many_series_need_a_template_and_get_a_row_each() {
        let series: Vec<_> = (0..200)
            .map(|i| json!({"metric": {"service": format!("s{i:03}")}, "value": [NOW, format!("{i}")]}))
            .collect();
        let b = vector(json!(series));
        assert!(empty_reason(&conv(&b, None)).contains("200 series"));
        let Converted::Series(rows) = conv(&b, Some("{{service}}")) else {
            panic!("series")
        };
        assert_eq!(rows.len(), 200);
        assert_eq!(rows[7], ("s007".into(), Reading::Value(Value::Num(7.0))));
    }

    #[test]
    fn series_with_the_same_name_are_not_mixed_up() {
        let b = vector(json!([
            {"metric": {"service": "a", "code": "200"}, "value": [NOW, "1"]},
            {"metric": {"service": "a", "code": "500"}, "value": [NOW, "2"]},
            {"metric": {"service": "b"}, "value": [NOW, "3"]},
        ]));
        let Converted::Series(rows) = conv(&b, Some("{{service}}")) else {
            panic!("series")
        };
        assert_eq!(rows.len(), 2);
        assert!(
            matches!(&rows[0].1, Reading::NoData { reason, .. } if reason.contains("2 series are named \"a\""))
        );
        assert_eq!(rows[1], ("b".into(), Reading::Value(Value::Num(3.0))));
    }

    #[test]
    fn an_old_sample_is_stale() {
        let b = vector(json!([{"metric": {}, "value": [NOW - 600.0, "1"]}]));
        match conv(&b, None) {
            Converted::One(Reading::NoData {
                kind: NoDataKind::Stale,
                reason,
            }) => assert!(reason.contains("10m") && reason.contains("15s"), "{reason}"),
            o => panic!("{o:?}"),
        }
        // Within the limit: a value.
        let b = vector(json!([{"metric": {}, "value": [NOW - 10.0, "1"]}]));
        assert_eq!(
            conv(&b, None),
            Converted::One(Reading::Value(Value::Num(1.0)))
        );
    }

    #[test]
    fn warnings_are_collected() {
        let b = json!({"status": "success", "warnings": ["partial response", "x\ny"],
                       "data": {"resultType": "vector", "result": []}});
        assert_eq!(warnings(&b).as_deref(), Some("partial response; x y"));
        assert_eq!(warnings(&vector(json!([]))), None);
    }

    #[test]
    fn not_a_prometheus_answer() {
        assert!(empty_reason(&conv(&json!({"ok": true}), None)).contains("not a Prometheus"));
        let b = json!({"status": "success", "data": {"resultType": "matrix", "result": []}});
        assert!(empty_reason(&conv(&b, None)).contains("matrix"));
    }
}
