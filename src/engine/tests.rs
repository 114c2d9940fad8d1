//! The engine with a fake clock: every time is given, nothing sleeps.

use super::*;
use crate::sample::{PollOutcome, Value};
use serde_json::json;

use crate::sample::fake_clock::{at, m, t};

fn cfg(signal_extra: &str) -> Arc<Config> {
    let text = format!(
        r#"
[cutover]
name = "test"
rollback_when = {{ critical_for = "10s" }}
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
interval = "1s"
[[signal]]
id = "err"
source = "m"
kind = "metric"
unit = "%"
critical = true
warn = "> 1"
crit = "> 2"
{signal_extra}
"#
    );
    Arc::new(toml::from_str(&text).unwrap())
}

fn poll(at: i64, v: serde_json::Value) -> PollResult {
    PollResult {
        source: "m".into(),
        at: t(at),
        mono: m(at),
        latency_ms: 5,
        outcome: PollOutcome::Json {
            status: 200,
            body: v,
        },
    }
}

fn fail(at: i64, reason: &str) -> PollResult {
    PollResult {
        source: "m".into(),
        at: t(at),
        mono: m(at),
        latency_ms: 5,
        outcome: PollOutcome::Failed {
            status: None,
            reason: reason.into(),
        },
    }
}

fn row(e: &Engine) -> &Row {
    &e.rows[0]
}

#[test]
fn no_for_trips_at_once_and_clears_at_once() {
    let mut e = Engine::new(cfg(""), m(0));
    e.ingest(&poll(0, json!(0.5)));
    assert_eq!(row(&e).status, Status::Band(Band::Ok));
    let ev = e.ingest(&poll(1, json!(2.5)));
    assert_eq!(row(&e).status, Status::Band(Band::Crit));
    assert!(ev.iter().any(|e| matches!(
        e.kind,
        EventKind::BandChange {
            to: Status::Band(Band::Crit),
            ..
        }
    )));
    e.ingest(&poll(2, json!(0.2)));
    assert_eq!(row(&e).band, Band::Ok);
}

#[test]
fn for_needs_the_condition_to_hold_that_long() {
    let mut e = Engine::new(cfg("for = \"30s\""), m(0));
    e.ingest(&poll(0, json!(0.5)));
    for s in 1..30 {
        e.ingest(&poll(s, json!(3.0)));
        assert_eq!(row(&e).band, Band::Ok, "tripped too early at {s}s");
        assert_eq!(row(&e).pending.map(|p| p.toward), Some(Band::Crit));
    }
    e.ingest(&poll(31, json!(3.0)));
    assert_eq!(row(&e).band, Band::Crit);
    assert_eq!(row(&e).streak, 30);
}

#[test]
fn one_bad_sample_does_not_alert() {
    let mut e = Engine::new(cfg("for = \"5s\""), m(0));
    e.ingest(&poll(0, json!(0.5)));
    e.ingest(&poll(1, json!(9.0)));
    e.ingest(&poll(2, json!(0.5)));
    for s in 3..20 {
        e.ingest(&poll(s, json!(0.5)));
    }
    assert_eq!(row(&e).band, Band::Ok);
    assert!(row(&e).pending.is_none());
}

#[test]
fn for_matures_on_the_clock_between_samples() {
    let mut e = Engine::new(cfg("for = \"3s\"\nstale_after = \"10s\""), m(0));
    e.ingest(&poll(0, json!(3.0)));
    assert_eq!(row(&e).band, Band::Ok);
    e.tick(at(2));
    assert_eq!(row(&e).band, Band::Ok);
    e.tick(at(3));
    assert_eq!(row(&e).band, Band::Crit);
}

#[test]
fn m_of_n_trips_on_enough_recent_samples() {
    let mut e = Engine::new(cfg("m_of_n = [3, 5]"), m(0));
    let vals = [3.0, 0.1, 3.0, 0.1];
    for (i, v) in vals.iter().enumerate() {
        e.ingest(&poll(i as i64, json!(v)));
        assert_eq!(row(&e).band, Band::Ok);
    }
    e.ingest(&poll(4, json!(3.0)));
    assert_eq!(row(&e).band, Band::Crit);
}

#[test]
fn clear_for_prevents_flapping() {
    let mut e = Engine::new(cfg("clear_for = \"10s\""), m(0));
    e.ingest(&poll(0, json!(2.5)));
    assert_eq!(row(&e).band, Band::Crit);
    let mut band_events = 0;
    // Flapping just around the threshold: 1.9 / 2.1 alternating.
    for s in 1..40 {
        let v = if s % 2 == 0 { 2.1 } else { 1.9 };
        let ev = e.ingest(&poll(s, json!(v)));
        band_events += ev
            .iter()
            .filter(|e| matches!(e.kind, EventKind::BandChange { .. }))
            .count();
        assert_eq!(row(&e).band, Band::Crit, "flapped at {s}s");
    }
    assert_eq!(band_events, 0, "no re-announcement while flapping");
    for s in 40..49 {
        e.ingest(&poll(s, json!(0.1)));
        assert_eq!(row(&e).band, Band::Crit);
    }
    e.ingest(&poll(50, json!(0.1)));
    assert_eq!(row(&e).band, Band::Ok);
}

#[test]
fn source_error_is_error_state_not_ok_and_counted_apart() {
    let mut e = Engine::new(cfg(""), m(0));
    e.ingest(&poll(0, json!(0.5)));
    let ev = e.ingest(&fail(1, "connection refused"));
    assert_eq!(row(&e).status, Status::NoData(NoDataKind::Error));
    assert!(row(&e)
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("source down"));
    assert_eq!(row(&e).last_good_at, Some(m(0)));
    assert!(ev
        .iter()
        .any(|e| matches!(e.kind, EventKind::SourceError { .. })));
    // A second failure with the same reason is counted, not re-announced.
    let ev = e.ingest(&fail(2, "connection refused"));
    assert!(!ev
        .iter()
        .any(|e| matches!(e.kind, EventKind::SourceError { .. })));
    assert_eq!(e.sources[0].errors, 2);
    assert_eq!(e.counts().crit, 0, "errors are not breaches");
    assert!(!e.counts().all_green());
    // Default policy: counts as warn once it lasted stale_after (3 intervals).
    assert_eq!(row(&e).effective, Band::Ok);
    e.tick(at(4));
    assert_eq!(row(&e).effective, Band::Warn);
    let ev = e.ingest(&poll(5, json!(0.5)));
    assert!(ev
        .iter()
        .any(|e| matches!(e.kind, EventKind::SourceRecovered { .. })));
    assert_eq!(row(&e).status, Status::Band(Band::Ok));
}

#[test]
fn no_data_policy_crit_counts_as_crit() {
    let mut e = Engine::new(cfg("no_data = \"crit\""), m(0));
    e.ingest(&fail(0, "time-out"));
    e.tick(at(5));
    assert_eq!(row(&e).effective, Band::Crit);
    assert_eq!(e.critical_breaches().count(), 1);
}

#[test]
fn a_value_that_stops_arriving_goes_stale() {
    let mut e = Engine::new(cfg(""), m(0));
    e.ingest(&poll(0, json!(0.5)));
    e.tick(at(3));
    assert_eq!(row(&e).status, Status::Band(Band::Ok));
    e.tick(at(4));
    assert_eq!(row(&e).status, Status::NoData(NoDataKind::Stale));
    assert_eq!(
        row(&e).value,
        Some(Value::Num(0.5)),
        "last good kept, shown as stale"
    );
}

#[test]
fn value_edges_map_to_documented_states() {
    let cases = [
        (json!(null), NoDataKind::Empty),
        (json!("5"), NoDataKind::Empty),
        (json!("NaN"), NoDataKind::Empty),
        (json!(true), NoDataKind::Empty),
        (json!({"a": 1}), NoDataKind::Empty),
    ];
    for (v, kind) in cases {
        let mut e = Engine::new(cfg(""), m(0));
        e.ingest(&poll(0, v.clone()));
        assert_eq!(row(&e).status, Status::NoData(kind), "{v}");
    }
    let mut e = Engine::new(cfg(""), m(0));
    e.ingest(&poll(0, json!(-1.0)));
    assert_eq!(
        row(&e).status,
        Status::Band(Band::Ok),
        "negative is a value"
    );
    e.ingest(&poll(1, json!(250.0)));
    assert_eq!(
        row(&e).status,
        Status::Band(Band::Crit),
        "> 100 % judged as is"
    );
}

#[test]
fn rollback_advised_after_critical_for() {
    let mut e = Engine::new(cfg(""), m(0));
    e.ingest(&poll(0, json!(3.0)));
    assert!(e.advised.is_none());
    e.ingest(&poll(9, json!(3.0)));
    assert!(e.advised.is_none());
    let ev = e.ingest(&poll(10, json!(3.0)));
    assert!(e.advised.is_some());
    assert!(ev
        .iter()
        .any(|e| matches!(e.kind, EventKind::RollbackAdvised { .. })));
    // Not re-announced on every sample.
    let ev = e.ingest(&poll(11, json!(3.0)));
    assert!(!ev
        .iter()
        .any(|e| matches!(e.kind, EventKind::RollbackAdvised { .. })));
    let ev = e.ingest(&poll(12, json!(0.1)));
    assert!(e.advised.is_none());
    assert!(ev
        .iter()
        .any(|e| matches!(e.kind, EventKind::RollbackAdviceCleared)));
}

#[test]
fn breach_text_names_the_crit_condition_itself() {
    // A condition whose own words look like another part of the threshold text.
    let c: Arc<Config> = Arc::new(
        toml::from_str(
            r#"
[cutover]
name = "test"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
[[signal]]
id = "mode"
source = "m"
kind = "flag"
path = ".mode"
critical = true
warn = '== "v1 · crit soon"'
crit = '== "v0"'
"#,
        )
        .expect("config"),
    );
    let mut e = Engine::new(c, m(0));
    e.ingest(&poll(0, json!({"mode": "v0"})));
    let r = row(&e);
    assert_eq!(r.band, Band::Crit);
    assert_eq!(r.threshold, r#"warn == "v1 · crit soon" · crit == "v0""#);
    let text = breach_text(r, e.signal(r), m(5));
    assert_eq!(text, r#"mode v0 (crit == "v0") for 5s"#);
}

#[test]
fn single_sample_mode_ignores_trip_rules() {
    let mut e = Engine::single_sample(cfg("for = \"5m\""), m(0));
    e.ingest(&poll(0, json!(3.0)));
    assert_eq!(row(&e).band, Band::Crit);
    let mut e = Engine::single_sample(cfg(""), m(0));
    e.ingest(&fail(0, "connection refused"));
    assert_eq!(row(&e).effective, Band::Warn);
    assert_eq!(e.required_sources_without_data().len(), 1);
}

#[test]
fn health_without_path_reads_the_status() {
    let text = r#"
[cutover]
name = "t"
[[source]]
id = "h"
kind = "http"
url = "http://127.0.0.1:1/h"
[[signal]]
id = "up"
source = "h"
kind = "health"
critical = true
"#;
    let c: Arc<Config> = Arc::new(toml::from_str(text).unwrap());
    let mut e = Engine::new(c, m(0));
    e.ingest(&PollResult {
        source: "h".into(),
        at: t(0),
        mono: m(0),
        latency_ms: 1,
        outcome: PollOutcome::Json {
            status: 200,
            body: json!({}),
        },
    });
    assert_eq!(e.rows[0].status, Status::Band(Band::Ok));
    e.ingest(&PollResult {
        source: "h".into(),
        at: t(1),
        mono: m(1),
        latency_ms: 1,
        outcome: PollOutcome::Failed {
            status: None,
            reason: "connection refused".into(),
        },
    });
    assert_eq!(
        e.rows[0].effective,
        Band::Crit,
        "a health check that is down is critical at once"
    );
}

#[test]
fn each_expands_rows_named_by_a_field_with_critical_marks() {
    let text = r#"
[cutover]
name = "t"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
[[signal]]
id = "err"
source = "m"
kind = "metric"
each = ".endpoints[]"
name = ".path"
critical_if = ".critical"
path = ".error_rate_pct"
crit = "> 2.0"
"#;
    let c: Arc<Config> = Arc::new(toml::from_str(text).unwrap());
    let mut e = Engine::new(c, m(0));
    assert!(e.rows.is_empty(), "each rows appear with data");
    e.ingest(&poll(
        0,
        json!({"endpoints": [
            {"path": "/a", "critical": true, "error_rate_pct": 5.0},
            {"path": "/b", "critical": false, "error_rate_pct": 5.0},
            {"path": "/c", "critical": true, "error_rate_pct": null},
        ]}),
    ));
    assert_eq!(e.rows.len(), 3);
    let a = e.rows.iter().find(|r| r.key == "err[/a]").unwrap();
    assert!(a.critical);
    assert_eq!(a.status, Status::Band(Band::Crit));
    let b = e.rows.iter().find(|r| r.key == "err[/b]").unwrap();
    assert!(!b.critical);
    let c = e.rows.iter().find(|r| r.key == "err[/c]").unwrap();
    assert_eq!(c.status, Status::NoData(NoDataKind::Empty));
    assert_eq!(e.critical_breaches().count(), 1);
    // /b disappears from the response: it says so instead of keeping its value.
    e.ingest(&poll(
        1,
        json!({"endpoints": [
            {"path": "/a", "critical": true, "error_rate_pct": 0.1},
        ]}),
    ));
    let b = e.rows.iter().find(|r| r.key == "err[/b]").unwrap();
    assert_eq!(b.status, Status::NoData(NoDataKind::Empty));
    assert_eq!(b.reason.as_deref(), Some("no longer in the response"));
}

#[test]
fn baseline_shows_delta_and_thresholds_may_judge_it() {
    let text = r#"
[cutover]
name = "t"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
[[signal]]
id = "v1_p95"
source = "m"
kind = "metric"
path = ".v1.p95"
[[signal]]
id = "v2_p95"
source = "m"
kind = "metric"
path = ".v2.p95"
baseline = "v1_p95"
on = "deltapct"
warn = "> 5"
crit = "> 10"
"#;
    let c: Arc<Config> = Arc::new(toml::from_str(text).unwrap());
    let mut e = Engine::new(c, m(0));
    e.ingest(&poll(
        0,
        json!({"v1": {"p95": 100.0}, "v2": {"p95": 108.0}}),
    ));
    let r = &e.rows[1];
    let b = r.baseline.as_ref().unwrap();
    assert_eq!(b.value, Some(100.0));
    assert_eq!(b.delta, Some(8.0));
    assert!((b.delta_pct.unwrap() - 8.0).abs() < 1e-9);
    assert_eq!(r.status, Status::Band(Band::Warn));
    e.ingest(&poll(
        1,
        json!({"v1": {"p95": 100.0}, "v2": {"p95": 120.0}}),
    ));
    assert_eq!(e.rows[1].status, Status::Band(Band::Crit));
}

fn prom_cfg(name: Option<&str>) -> Arc<Config> {
    let name = name
        .map(|n| format!("name = \"{n}\"\n"))
        .unwrap_or_default();
    let text = format!(
        r#"
[cutover]
name = "t"
rollback_when = {{ critical_for = "0s" }}
[[source]]
id = "m"
kind = "prometheus"
url = "http://127.0.0.1:1"
query = "sum(rate(x[1m]))"
interval = "1s"
[[signal]]
id = "err"
source = "m"
kind = "metric"
unit = "%"
critical = true
warn = "> 1"
crit = "> 2"
{name}
"#
    );
    let c: Config = toml::from_str(&text).unwrap();
    assert!(
        crate::config::validate::validate(&c, &|_| 0).is_empty(),
        "{:?}",
        crate::config::validate::validate(&c, &|_| 0)
    );
    Arc::new(c)
}

/// An instant-vector answer at poll second `at` with (labels, value) series.
fn vector(at: i64, series: &[(serde_json::Value, &str)]) -> PollResult {
    let ts = t(at).timestamp() as f64;
    let result: Vec<_> = series
        .iter()
        .map(|(m, v)| json!({"metric": m, "value": [ts, v]}))
        .collect();
    poll(
        at,
        json!({"status": "success", "data": {"resultType": "vector", "result": result}}),
    )
}

fn status_of(e: &Engine, key: &str) -> (Status, Option<String>) {
    let r = e.rows.iter().find(|r| r.key == key).unwrap_or_else(|| {
        panic!(
            "no row {key} in {:?}",
            e.rows.iter().map(|r| &r.key).collect::<Vec<_>>()
        )
    });
    (r.status, r.reason.clone())
}

#[test]
fn prometheus_single_series_is_judged_like_any_value() {
    let mut e = Engine::new(prom_cfg(None), m(0));
    assert_eq!(e.rows.len(), 1, "the plain row exists from the start");
    e.ingest(&vector(0, &[(json!({}), "0.4")]));
    assert_eq!(row(&e).status, Status::Band(Band::Ok));
    e.ingest(&vector(1, &[(json!({}), "6.5")]));
    assert_eq!(row(&e).status, Status::Band(Band::Crit));
    assert_eq!(e.critical_breaches().count(), 1);
    assert!(e.advised.is_some());
}

#[test]
fn prometheus_nan_from_zero_traffic_is_empty_not_ok() {
    let mut e = Engine::new(prom_cfg(None), m(0));
    e.ingest(&vector(0, &[(json!({}), "NaN")]));
    let (st, reason) = status_of(&e, "err");
    assert_eq!(st, Status::NoData(NoDataKind::Empty));
    assert!(reason.unwrap_or_default().contains("NaN"));
    assert_eq!(e.critical_breaches().count(), 0, "not a breach");
    assert!(!e.counts().all_green(), "not ok");
    e.ingest(&vector(1, &[(json!({}), "+Inf")]));
    let (st, reason) = status_of(&e, "err");
    assert_eq!(st, Status::NoData(NoDataKind::Empty));
    assert!(reason.unwrap_or_default().contains("+Inf"));
}

#[test]
fn prometheus_empty_vector_is_empty() {
    let mut e = Engine::new(prom_cfg(None), m(0));
    e.ingest(&vector(0, &[]));
    assert_eq!(
        status_of(&e, "err"),
        (
            Status::NoData(NoDataKind::Empty),
            Some("query returned no series".into())
        )
    );
    assert!(!e.counts().all_green());
    // With a template and no series yet: a placeholder row says so…
    let mut e = Engine::new(prom_cfg(Some("{{service}}")), m(0));
    assert!(e.rows.is_empty(), "series rows appear with data");
    e.ingest(&vector(0, &[]));
    assert_eq!(e.rows.len(), 1);
    assert_eq!(status_of(&e, "err").0, Status::NoData(NoDataKind::Empty));
    // …and gives way to the series once they come.
    e.ingest(&vector(1, &[(json!({"service": "api"}), "0.5")]));
    assert_eq!(e.rows.len(), 1);
    assert_eq!(status_of(&e, "err[api]").0, Status::Band(Band::Ok));
    assert_eq!(e.rows[0].label, "err api");
    assert!(e.counts().all_green());
    // All series gone: every row says why.
    e.ingest(&vector(2, &[]));
    assert_eq!(
        status_of(&e, "err[api]"),
        (
            Status::NoData(NoDataKind::Empty),
            Some("query returned no series".into())
        )
    );
}

#[test]
fn prometheus_many_series_a_row_each() {
    let mut e = Engine::new(prom_cfg(Some("{{service}}")), m(0));
    let series: Vec<_> = (0..50)
        .map(|i| {
            (
                json!({"service": format!("s{i}")}),
                if i == 7 { "9" } else { "0.1" },
            )
        })
        .collect();
    e.ingest(&vector(0, &series));
    assert_eq!(e.rows.len(), 50);
    assert_eq!(status_of(&e, "err[s7]").0, Status::Band(Band::Crit));
    assert_eq!(status_of(&e, "err[s8]").0, Status::Band(Band::Ok));
    assert_eq!(e.critical_breaches().count(), 1);
    // One vanishes: it says so instead of keeping its value.
    e.ingest(&vector(1, &series[1..]));
    assert_eq!(
        status_of(&e, "err[s0]"),
        (
            Status::NoData(NoDataKind::Empty),
            Some("no longer in the query result".into())
        )
    );
    // Without a template, many series cannot be one value.
    let mut e = Engine::new(prom_cfg(None), m(0));
    e.ingest(&vector(0, &series));
    let (st, reason) = status_of(&e, "err");
    assert_eq!(st, Status::NoData(NoDataKind::Empty));
    assert!(reason.unwrap_or_default().contains("50 series"));
}

#[test]
fn prometheus_errors_and_warnings() {
    let mut e = Engine::new(prom_cfg(Some("{{service}}")), m(0));
    e.ingest(&vector(0, &[(json!({"service": "api"}), "0.5")]));
    // The poller's reason for a 400 with Prometheus's error body.
    let ev = e.ingest(&PollResult {
        source: "m".into(),
        at: t(1),
        mono: m(1),
        latency_ms: 3,
        outcome: PollOutcome::Failed {
            status: Some(400),
            reason: "Prometheus bad_data (HTTP 400): parse error".into(),
        },
    });
    assert_eq!(
        status_of(&e, "err[api]"),
        (
            Status::NoData(NoDataKind::Error),
            Some("query failed: Prometheus bad_data (HTTP 400): parse error".into())
        )
    );
    assert!(ev
        .iter()
        .any(|e| matches!(e.kind, EventKind::SourceError { .. })));
    assert_eq!(e.sources[0].errors, 1);
    // Unreachable is still "source down".
    e.ingest(&fail(2, "connection refused"));
    assert!(status_of(&e, "err[api]")
        .1
        .unwrap_or_default()
        .starts_with("source down"));
    // Warnings: the value is used and the warning announced once.
    let body = json!({"status": "success", "warnings": ["partial response"],
        "data": {"resultType": "vector", "result": [
            {"metric": {"service": "api"}, "value": [t(3).timestamp() as f64, "0.5"]}]}});
    let ev = e.ingest(&poll(3, body.clone()));
    assert_eq!(status_of(&e, "err[api]").0, Status::Band(Band::Ok));
    assert!(ev.iter().any(|e| e.text.contains("partial response")));
    assert_eq!(
        e.sources[0].last_warning.as_deref(),
        Some("partial response")
    );
    let ev = e.ingest(&poll(4, body));
    assert!(!ev.iter().any(|e| e.text.contains("partial response")));
    e.ingest(&vector(5, &[(json!({"service": "api"}), "0.5")]));
    assert_eq!(e.sources[0].last_warning, None);
}

#[test]
fn prometheus_old_sample_is_stale() {
    let mut e = Engine::new(prom_cfg(None), m(0));
    e.ingest(&vector(100, &[(json!({}), "0.5")]));
    assert_eq!(row(&e).status, Status::Band(Band::Ok));
    // The answer at 200 carries a sample from 150: older than 3 intervals (3 s).
    let mut old = vector(150, &[(json!({}), "0.7")]);
    old.at = t(200);
    old.mono = m(200);
    e.ingest(&old);
    let (st, reason) = status_of(&e, "err");
    assert_eq!(st, Status::NoData(NoDataKind::Stale));
    assert!(reason.unwrap_or_default().contains("50s old"));
    assert_eq!(row(&e).value, Some(Value::Num(0.5)), "last good kept");
}

#[test]
fn zero_traffic_ratio_is_no_data() {
    // A ratio over zero requests arrives as null (or is absent): empty, neither ok nor a breach.
    let mut e = Engine::new(cfg("path = \".ratio\""), m(0));
    e.ingest(&poll(0, json!({"requests": 0, "ratio": null})));
    assert_eq!(row(&e).status, Status::NoData(NoDataKind::Empty));
    assert_eq!(e.critical_breaches().count(), 0);
    assert!(!e.counts().all_green());
}

/// What a row shows, without the wall clock: for comparing two runs.
fn shown(e: &Engine) -> Vec<String> {
    e.rows
        .iter()
        .map(|r| {
            format!(
                "{} {:?} {:?} {:?} since {:?}/{:?} pending {:?} reason {:?} | advised {:?} | {}",
                r.key,
                r.status,
                r.band,
                r.effective,
                r.status_since,
                r.band_since,
                r.pending,
                r.reason,
                e.advised,
                breach_text(r, e.signal(r), e.mono),
            )
        })
        .collect()
}

#[test]
fn a_wall_clock_step_changes_no_band_staleness_timer_or_advice() {
    // `for` 30 s, `clear_for` 10 s, stale after 3 s, rollback advice after 10 s in crit.
    let c = || cfg("for = \"30s\"\nclear_for = \"10s\"");
    for step in [10, 3_600, -3_600] {
        // The wall clock steps by `step` at 20 s (while `for` runs) and again at 65 s
        // (while `clear_for` runs); the monotonic clock never does.
        let wall = |s: i64| t(s + step * ((s >= 20) as i64 + (s >= 65) as i64));
        let mut e = Engine::new(c(), m(0));
        let mut steady = Engine::new(c(), m(0));
        let mut changes = Vec::new();
        for s in 0..100 {
            let v = if (5..60).contains(&s) { 3.0 } else { 0.5 };
            if s <= 80 {
                // Polls stop at 80 s: the value must go stale 3 s later, step or not.
                let mut p = poll(s, json!(v));
                steady.ingest(&p);
                p.at = wall(s);
                let ev = e.ingest(&p);
                assert!(ev.iter().all(|x| x.at == wall(s) && x.mono == m(s)));
                changes.extend(ev.into_iter().map(|x| (s, x.kind)));
            }
            let ev = e.tick(Stamp::new(
                wall(s) + CDur::milliseconds(500),
                m(s) + ms(500),
            ));
            steady.tick(Stamp::new(t(s) + CDur::milliseconds(500), m(s) + ms(500)));
            assert_eq!(shown(&e), shown(&steady), "step {step}s, at {s}s");
            changes.extend(ev.into_iter().map(|x| (s, x.kind)));
            if s == 40 {
                assert_eq!(row(&e).band, Band::Crit, "step {step}s");
                assert_eq!(row(&e).status_since, m(35), "time in band is monotonic");
            }
        }
        let when = |f: &dyn Fn(&EventKind) -> bool| {
            changes
                .iter()
                .filter(|(_, k)| f(k))
                .map(|(s, _)| *s)
                .collect::<Vec<_>>()
        };
        let to = |want: Status| move |k: &EventKind| matches!(k, EventKind::BandChange { to, .. } if *to == want);
        // `for` trips after 30 s, `clear_for` clears after 10 s, stale 3 s after the
        // last sample, advice after 10 s in crit: all on the monotonic clock.
        assert_eq!(
            when(&to(Status::Band(Band::Crit))),
            vec![35],
            "step {step}s"
        );
        assert_eq!(when(&to(Status::Band(Band::Ok))), vec![70], "step {step}s");
        let stale = to(Status::NoData(NoDataKind::Stale));
        assert_eq!(when(&stale), vec![83], "step {step}s");
        let advised = |k: &EventKind| matches!(k, EventKind::RollbackAdvised { .. });
        assert_eq!(when(&advised), vec![45], "step {step}s");
        let cleared = |k: &EventKind| matches!(k, EventKind::RollbackAdviceCleared);
        assert_eq!(when(&cleared), vec![70], "step {step}s");
    }
}

#[test]
fn rollback_advice_holds_on_the_monotonic_clock() {
    // A +1 h step right after a breach starts is not an hour of breach.
    let mut e = Engine::new(cfg(""), m(0));
    e.ingest(&poll(0, json!(3.0)));
    assert_eq!(row(&e).band, Band::Crit);
    let mut p = poll(1, json!(3.0));
    p.at = t(3_601);
    e.ingest(&p);
    e.tick(Stamp::new(t(3_602), m(2)));
    assert!(e.advised.is_none(), "advised after 2 s of crit");
    let text = breach_text(row(&e), e.signal(row(&e)), m(2));
    assert!(text.ends_with("for 2s"), "{text}");
    e.tick(Stamp::new(t(3_610), m(10)));
    assert!(e.advised.is_some(), "the 10 s hold still runs");
}

mod no_data {
    //! No data is never a pass: with a fake clock, every time given.
    use super::*;
    use serde_json::json;

    fn cfg(extra: &str) -> Arc<Config> {
        let text = format!(
            r#"
[cutover]
name = "test"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
interval = "1s"
[[signal]]
id = "err"
source = "m"
kind = "metric"
path = ".err"
critical = true
crit = "> 2"
{extra}
"#
        );
        Arc::new(toml::from_str(&text).expect("config"))
    }

    fn poll(at: i64, body: serde_json::Value) -> PollResult {
        PollResult {
            source: "m".into(),
            at: t(at),
            mono: m(at),
            latency_ms: 5,
            outcome: PollOutcome::Json { status: 200, body },
        }
    }

    /// A window of polls every second from 0 to `secs`, the body chosen per second.
    fn window(
        c: Arc<Config>,
        secs: i64,
        body: impl Fn(i64) -> serde_json::Value,
    ) -> (Engine, Coverage) {
        let mut e = Engine::new(c, m(0));
        let mut cov = Coverage::new();
        for s in 0..=secs {
            e.ingest(&poll(s, body(s)));
            e.tick(at(s));
            cov.observe(&e, m(s));
        }
        (e, cov)
    }

    #[test]
    fn a_mistyped_path_in_one_sample_is_no_data() {
        let mut e = Engine::single_sample(cfg(""), m(0));
        e.ingest(&poll(0, json!({"error_rate": 0.1})));
        let f = no_data_findings(&e, None, at(0));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].missing, Missing::Sample);
        assert_eq!(f[0].counts_as, None);
        assert!(
            f[0].text().contains(".err not in the response"),
            "{}",
            f[0].text()
        );
    }

    #[test]
    fn a_window_without_data_is_no_data() {
        let (e, cov) = window(cfg(""), 20, |_| json!({}));
        let f = no_data_findings(&e, Some(&cov), at(20));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].missing, Missing::Never);
        assert_eq!(f[0].longest_ms, 20_000);
        // The band alone would have passed it: no data counts as warn, not crit.
        assert_eq!(e.critical_breaches().count(), 0);
    }

    #[test]
    fn data_only_at_the_start_of_a_window_is_no_data() {
        let (e, cov) = window(cfg(""), 20, |s| {
            if s < 2 {
                json!({"err": 0.5})
            } else {
                json!({})
            }
        });
        let f = no_data_findings(&e, Some(&cov), at(20));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].missing, Missing::Stretch);
        assert_eq!(f[0].longest_ms, 19_000);
        assert_eq!(f[0].from, t(1));
    }

    #[test]
    fn a_stretch_longer_than_stale_after_is_remembered_after_data_returns() {
        // stale_after is 3 s (three 1 s intervals); 6 s without data in the middle.
        let (e, cov) = window(cfg(""), 20, |s| {
            if (5..11).contains(&s) {
                json!({})
            } else {
                json!({"err": 0.5})
            }
        });
        let f = no_data_findings(&e, Some(&cov), at(20));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].longest_ms, 7_000);
        assert_eq!(f[0].reason, None, "the data is back");
        // A stretch within stale_after is not a finding.
        let (e, cov) = window(cfg(""), 20, |s| {
            if (5..7).contains(&s) {
                json!({})
            } else {
                json!({"err": 0.5})
            }
        });
        assert!(no_data_findings(&e, Some(&cov), at(20)).is_empty());
    }

    #[test]
    fn data_throughout_is_no_finding() {
        let (e, cov) = window(cfg(""), 20, |_| json!({"err": 0.5}));
        assert!(no_data_findings(&e, Some(&cov), at(20)).is_empty());
    }

    #[test]
    fn an_explicit_policy_says_what_no_data_counts_as() {
        for (policy, band) in [("ok", Band::Ok), ("warn", Band::Warn), ("crit", Band::Crit)] {
            let (e, cov) = window(cfg(&format!("no_data = \"{policy}\"")), 10, |_| json!({}));
            let f = no_data_findings(&e, Some(&cov), at(10));
            assert_eq!(f[0].counts_as, Some(band), "{policy}");
            assert!(f[0].text().contains(&format!("counts as {policy}")));
        }
    }

    #[test]
    fn a_signal_that_is_not_critical_is_not_asked() {
        let c = cfg("");
        let mut plain = (*c).clone();
        plain.signals[0].critical = false;
        let (e, cov) = window(Arc::new(plain), 10, |_| json!({}));
        assert!(no_data_findings(&e, Some(&cov), at(10)).is_empty());
    }

    #[test]
    fn the_live_screen_waits_for_stale_after_before_saying_no_data() {
        let mut e = Engine::new(cfg(""), m(0));
        e.ingest(&poll(0, json!({})));
        e.tick(at(2));
        assert!(
            no_data_findings(&e, None, at(2)).is_empty(),
            "within stale_after"
        );
        e.tick(at(4));
        let f = no_data_findings(&e, None, at(4));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].missing, Missing::Never);
        // Data arrives: the screen's finding clears.
        e.ingest(&poll(5, json!({"err": 0.5})));
        assert!(no_data_findings(&e, None, at(5)).is_empty());
    }
}

#[test]
fn a_warn_row_quotes_its_warn_threshold_not_the_crit_one() {
    let mut e = Engine::new(cfg(""), m(0));
    e.ingest(&poll(0, json!(1.5)));
    let r = row(&e);
    assert_eq!(r.effective, Band::Warn);
    let text = breach_text(r, e.signal(r), m(20));
    assert!(text.contains("(warn > 1)"), "{text}");
    assert!(!text.contains("crit"), "{text}");
    // The same row in crit quotes crit.
    e.ingest(&poll(21, json!(3.0)));
    let r = row(&e);
    assert_eq!(r.effective, Band::Crit);
    let text = breach_text(r, e.signal(r), m(22));
    assert!(text.contains("(crit > 2)"), "{text}");
}

#[test]
fn a_rate_limited_source_is_backing_off_not_down() {
    let mut e = Engine::new(cfg(""), m(0));
    e.ingest(&poll(0, json!(0.5)));
    e.ingest(&PollResult {
        source: "m".into(),
        at: t(1),
        mono: m(1),
        latency_ms: 5,
        outcome: PollOutcome::Failed {
            status: Some(429),
            reason: "rate limited (HTTP 429): backing off".into(),
        },
    });
    let c = e.counts();
    assert_eq!(c.sources_down, 0, "{c:?}");
    assert_eq!(c.sources_limited, 1, "{c:?}");
    assert!(!c.all_green());
    let reason = row(&e).reason.clone().unwrap_or_default();
    assert!(!reason.contains("down"), "{reason}");
    assert!(reason.contains("rate limited"), "{reason}");
    // A refused connection is down.
    e.ingest(&fail(2, "connection refused"));
    assert_eq!(e.counts().sources_down, 1);
}

#[test]
fn a_payload_that_says_it_is_old_is_stale_and_its_age_carries_on_the_monotonic_clock() {
    let c = cfg("path = \".v\"\nfresh_at = \".generated_at\"\nstale_after = \"15s\"");
    let mut e = Engine::new(Arc::clone(&c), m(0));
    // 200 OK with a body made 5 minutes before the poll: stale with its age, never 0.5.
    e.ingest(&poll(
        10,
        json!({"v": 0.5, "generated_at": t(10 - 300).to_rfc3339()}),
    ));
    let r = &e.rows[0];
    assert_eq!(r.status, Status::NoData(NoDataKind::Stale), "{r:?}");
    assert!(
        r.reason.as_deref().unwrap_or("").contains("5m"),
        "{:?}",
        r.reason
    );
    assert_eq!(r.value, None);

    // A body 10 s old at the poll (epoch seconds): ok, and stale once 15 s have passed
    // since it was made — 5 s after the poll, not 15 s.
    e.ingest(&poll(
        20,
        json!({"v": 0.5, "generated_at": t(10).timestamp()}),
    ));
    assert_eq!(e.rows[0].status, Status::Band(Band::Ok));
    assert_eq!(e.rows[0].last_good_at, Some(m(10)));
    e.tick(at(24));
    assert_eq!(e.rows[0].status, Status::Band(Band::Ok));
    e.tick(at(26));
    assert_eq!(e.rows[0].status, Status::NoData(NoDataKind::Stale));

    // The age is taken at the poll: a wall step afterwards (either way) moves nothing.
    let mut e = Engine::new(Arc::clone(&c), m(0));
    let ms = t(12).timestamp_millis();
    e.ingest(&poll(20, json!({"v": 0.5, "generated_at": ms})));
    e.tick(Stamp::new(t(20 - 3600), m(24)));
    assert_eq!(e.rows[0].status, Status::Band(Band::Ok));
    e.tick(Stamp::new(t(20 + 3600), m(26)));
    assert_eq!(e.rows[0].status, Status::Band(Band::Ok));
    e.tick(Stamp::new(t(20 + 3600), m(28)));
    assert_eq!(e.rows[0].status, Status::NoData(NoDataKind::Stale));

    // A body without its time cannot pass as fresh.
    e.ingest(&poll(30, json!({"v": 0.5})));
    assert_eq!(e.rows[0].status, Status::NoData(NoDataKind::Empty));
    assert!(e.rows[0]
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("fresh_at .generated_at not in the response"));
}

#[test]
fn a_source_s_fresh_at_serves_every_signal_on_it_and_a_recording_keeps_the_age() {
    let text = r#"
[cutover]
name = "test"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
fresh_at = ".meta.generated_at"
[[signal]]
id = "err"
source = "m"
kind = "metric"
path = ".v"
stale_after = "15s"
"#;
    let c: Arc<Config> = Arc::new(toml::from_str(text).unwrap());
    let e = Engine::new(Arc::clone(&c), m(0));
    let p = poll(
        20,
        json!({"v": 1, "meta": {"generated_at": t(12).to_rfc3339()}}),
    );
    let (summary, readings) = e.extract(&p);
    assert_eq!(readings[0].age_ms, Some(8_000));
    // Through a recording's line and back, as a replay reads it.
    let line = crate::record::Line::poll(&readings, summary.clone(), &c);
    let text = serde_json::to_string(&line).unwrap();
    assert!(text.contains("\"age_ms\":8000"), "{text}");
    let back: crate::record::Line = serde_json::from_str(&text).unwrap();
    let crate::record::Line::Poll { rows, .. } = back else {
        panic!("a poll line")
    };
    let again = rows[0].reading(&c).unwrap();
    assert_eq!(again.age_ms, Some(8_000));
    let mut replayed = Engine::new(Arc::clone(&c), m(0));
    replayed.ingest_readings(&summary, vec![again]);
    assert_eq!(replayed.rows[0].last_good_at, Some(m(12)));
}
