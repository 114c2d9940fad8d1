//! A Slack incoming webhook: `text` (the notification's line, and what clients without
//! blocks show) and `blocks` (a header, the details, the cutover, host and time).

use super::{Notice, NotifyPhase, Origin};
use crate::engine::Severity;
use serde_json::{json, Value};

pub fn body(n: &Notice, o: &Origin) -> Value {
    let mark = match (n.phase, n.severity) {
        (NotifyPhase::Resolve, _) => ":large_green_circle:",
        (_, Severity::Crit) => ":red_circle:",
        (_, Severity::Warn) => ":large_orange_circle:",
        (_, Severity::Info) => ":information_source:",
    };
    let text = format!("{mark} [{} · {}] {}", o.cutover, o.environment, n.summary);
    let mut fields = Vec::new();
    let mut field = |name: &str, v: &str| {
        fields.push(json!({"type": "mrkdwn", "text": format!("*{name}*\n{v}")}));
    };
    if let Some(v) = &n.value {
        field("value", v);
    }
    if let Some(t) = &n.threshold {
        field("threshold", t);
    }
    if let Some(a) = &n.advice {
        field("advice", a);
    }
    if let Some(b) = &n.by {
        field("by", b);
    }
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": header(n), "emoji": true}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("{mark} {}", n.summary)}}),
    ];
    if !fields.is_empty() {
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    blocks.push(
        json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!(
            "{} · {} · from {} · {}",
            o.cutover,
            o.environment,
            o.host,
            n.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )}]}),
    );
    json!({"text": text, "blocks": blocks})
}

/// The header line: the event, and whether it opened or ended (Slack caps it at 150).
fn header(n: &Notice) -> String {
    let what = n.event_word().replace('_', " ").to_uppercase();
    let h = match n.phase {
        NotifyPhase::Trigger => what,
        NotifyPhase::Resolve => format!("RESOLVED: {what}"),
        NotifyPhase::Event => what,
    };
    h.chars().take(150).collect()
}
