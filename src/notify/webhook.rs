//! The generic webhook: one JSON object per notification, `"version": 1`. The shape is
//! documented in the README; a change that is not an addition bumps the version.

use super::{Notice, NotifyPhase, Origin};
use serde_json::{json, Value};

pub const VERSION: u32 = 1;

pub fn body(n: &Notice, o: &Origin) -> Value {
    json!({
        "version": VERSION,
        "source": "warroom",
        "event": n.event_word(),
        "status": match n.phase {
            NotifyPhase::Trigger => "firing",
            NotifyPhase::Resolve => "resolved",
            NotifyPhase::Event => "event",
        },
        "key": n.key,
        "severity": n.severity,
        "summary": n.summary,
        "cutover": o.cutover,
        "environment": o.environment,
        "host": o.host,
        "subject": n.subject,
        "value": n.value,
        "threshold": n.threshold,
        "advice": n.advice,
        "reasons": n.reasons,
        "by": n.by,
        "started_at": n.started_at,
        "at": n.at,
    })
}
