//! Alertmanager's `POST /api/v2/alerts`: one alert per episode, identified by its labels
//! (the same on every screen, so Alertmanager groups, silences and deduplicates it). An
//! open episode is sent again every `refresh` with a later `endsAt`; its resolve sets
//! `endsAt` to the time it ended, and the alert resolves. If the screen that sends dies,
//! the alert resolves by itself at its last `endsAt`.

use super::{severity_word, Notice, NotifyOn, NotifyPhase, Origin};
use crate::sample::Ts;
use serde_json::{json, Map, Value};

/// `…/api/v2/alerts` under the configured base URL (or the URL itself when it names it).
pub fn alerts_url(base: &str) -> String {
    let b = base.trim_end_matches('/');
    if b.ends_with("/api/v2/alerts") {
        b.to_string()
    } else {
        format!("{b}/api/v2/alerts")
    }
}

/// The alert's name: one per kind of episode.
pub fn alertname(event: Option<NotifyOn>) -> &'static str {
    match event {
        Some(NotifyOn::RollbackAdvised) => "WarroomRollbackAdvised",
        Some(NotifyOn::CritBreach) => "WarroomCritBreach",
        Some(NotifyOn::SourceDown) => "WarroomSourceDown",
        Some(_) => "WarroomEvent",
        None => "WarroomTest",
    }
}

fn stamp(t: Ts) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The alert for `n`. While open its `endsAt` is `open_until` (a refresh moves it on);
/// a resolve ends at the time the episode ended.
pub fn alert(n: &Notice, o: &Origin, open_until: Ts) -> Value {
    let mut labels = Map::new();
    labels.insert("alertname".into(), json!(alertname(n.event)));
    labels.insert("cutover".into(), json!(o.cutover));
    labels.insert("environment".into(), json!(o.environment));
    labels.insert(
        "signal".into(),
        json!(n.subject.as_deref().unwrap_or(match n.event {
            Some(NotifyOn::RollbackAdvised) => "rollback",
            _ => "warroom",
        })),
    );
    labels.insert("severity".into(), json!(severity_word(n.severity)));
    let mut ann = Map::new();
    ann.insert("summary".into(), json!(n.summary));
    if let Some(t) = &n.threshold {
        ann.insert("threshold".into(), json!(t));
    }
    if let Some(a) = &n.advice {
        ann.insert("advice".into(), json!(a));
    }
    if !n.reasons.is_empty() {
        ann.insert("reasons".into(), json!(n.reasons.join("; ")));
    }
    if let Some(v) = &n.value {
        ann.insert("value".into(), json!(v));
    }
    ann.insert("host".into(), json!(o.host));
    let ends = match n.phase {
        NotifyPhase::Resolve => n.at,
        _ => open_until,
    };
    json!({
        "labels": labels,
        "annotations": ann,
        "startsAt": stamp(n.started_at),
        "endsAt": stamp(ends),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Severity;
    use crate::sample::fake_clock::t;

    #[test]
    fn labels_identify_the_episode_and_a_resolve_ends_it() {
        let mut n = Notice {
            event: Some(NotifyOn::CritBreach),
            phase: NotifyPhase::Trigger,
            key: "crit_breach/err".into(),
            severity: Severity::Crit,
            summary: "CRIT err: 9%".into(),
            subject: Some("err".into()),
            value: Some("9%".into()),
            threshold: Some("crit > 5".into()),
            advice: Some("roll back".into()),
            reasons: vec![],
            by: None,
            started_at: t(0),
            at: t(0),
        };
        let o = Origin {
            cutover: "Brokers v1".into(),
            environment: "production".into(),
            host: "wr1".into(),
        };
        let a = alert(&n, &o, t(180));
        assert_eq!(a["labels"]["alertname"], "WarroomCritBreach");
        assert_eq!(a["labels"]["signal"], "err");
        assert_eq!(a["labels"]["severity"], "critical");
        assert_eq!(a["annotations"]["threshold"], "crit > 5");
        assert_eq!(a["annotations"]["host"], "wr1");
        assert_eq!(a["endsAt"], "2027-01-15T08:03:00.000Z");
        n.phase = NotifyPhase::Resolve;
        n.at = t(60);
        let r = alert(&n, &o, t(999));
        assert_eq!(r["labels"], a["labels"]);
        assert_eq!(r["endsAt"], "2027-01-15T08:01:00.000Z");
        assert_eq!(
            alerts_url("http://am:9093/"),
            "http://am:9093/api/v2/alerts"
        );
        assert_eq!(
            alerts_url("http://am:9093/api/v2/alerts"),
            "http://am:9093/api/v2/alerts"
        );
    }
}
