//! PagerDuty Events API v2: `trigger` when an episode opens, `resolve` when it ends, one
//! incident per episode through a `dedup_key` made of the cutover, the environment and
//! the episode — the same on every screen, so PagerDuty merges what two screens send.

use super::{severity_word, Notice, NotifyPhase, Origin};
use serde_json::{json, Value};

/// PagerDuty's own endpoint, when the config gives no `url`.
pub const EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// `warroom/<cutover>/<environment>/<episode>`, as slugs.
pub fn dedup_key(n: &Notice, o: &Origin) -> String {
    format!(
        "warroom/{}/{}/{}",
        crate::audit::slug(&o.cutover),
        crate::audit::slug(&o.environment),
        n.key
    )
}

pub fn body(n: &Notice, o: &Origin, routing_key: &str) -> Value {
    if n.phase == NotifyPhase::Resolve {
        return json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key(n, o),
        });
    }
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(n, o),
        "payload": {
            // PagerDuty caps the summary at 1024 characters.
            "summary": n.summary.chars().take(1024).collect::<String>(),
            "source": o.host,
            "severity": severity_word(n.severity),
            "timestamp": n.started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "component": n.subject.as_deref().unwrap_or("warroom"),
            "group": o.cutover,
            "class": n.event_word(),
            "custom_details": {
                "environment": o.environment,
                "value": n.value,
                "threshold": n.threshold,
                "advice": n.advice,
                "reasons": n.reasons,
            },
        },
    })
}
