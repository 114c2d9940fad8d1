//! The audit vocabulary: every kind of record, with its details as typed fields.
//!
//! On disk a record keeps the shape it always had — `"kind": "tick"` beside a `"details"`
//! object — so logs written by earlier versions still parse; only this module turns the
//! pair into an [`AuditEvent`] and back. The loop, the remote tail and the report match on
//! the enum, never on key strings.

use crate::sample::Ts;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One operator act (or its result) as the audit log holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditEvent {
    /// An action was confirmed: its request or command starts only once this is on disk.
    ActionConfirmed(Confirmed),
    /// A screen confirmed an action but sent nothing: another attempt held the flight.
    ActionDeclined(Declined),
    ActionResult(ActionResult),
    VerifyResult(VerifyResult),
    Tick(TickItem),
    Untick(TickItem),
    Signoff(Signoff),
    T0Mark(T0Mark),
    StepRun(StepRun),
    StepRunResult(StepRunResult),
    /// An operator overrode a gate that held an action back, with a typed reason: the
    /// action's own confirmation follows as usual.
    BreakGlass(BreakGlass),
    /// An operator's one-line note for the room.
    Note(Note),
    /// A screen took the announcement of an episode's opening or resolve: no other screen
    /// sharing the log sends it.
    NotifyClaimed(NotifyClaimed),
    /// A notification reached its target.
    NotifySent(NotifySent),
    /// A notification did not reach its target (given up after its tries).
    NotifyFailed(NotifyFailed),
    /// A kind this version does not know (a newer warroom wrote it): shown, never applied.
    Other {
        kind: String,
        details: Value,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmed {
    pub action: String,
    #[serde(default)]
    pub label: String,
    #[serde(default = "one")]
    pub attempt: u32,
    #[serde(default)]
    pub idempotency_key: String,
    /// What the modal showed would run (request or argv), secrets redacted.
    #[serde(default)]
    pub target: Vec<String>,
    /// The breaching rows when the modal opened: why.
    #[serde(default)]
    pub snapshot: Vec<String>,
    /// A deliberate second attempt after one that succeeded (typed `… again`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub again: bool,
    /// Sent past a gate that held it back: the break-glass reason recorded before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<String>,
}

/// Why a confirmation was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    /// Another attempt was confirmed and has not reported back.
    InFlight,
    /// Another attempt succeeded recently (verifying, or within the cooldown).
    RecentSuccess,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Declined {
    pub action: String,
    #[serde(default)]
    pub label: String,
    pub reason: DeclineReason,
    /// `user@host` of the attempt that held the flight.
    #[serde(default)]
    pub by: String,
    /// When that attempt was confirmed (in flight) or succeeded.
    #[serde(default)]
    pub since: Option<Ts>,
}

/// How an attempt ended, for scripts: `ok`, `failed`, or `unknown` (it may have arrived).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
    Unknown,
}

impl Outcome {
    pub fn of(ok: bool, unknown: bool) -> Self {
        match (ok, unknown) {
            (true, _) => Outcome::Ok,
            (false, true) => Outcome::Unknown,
            (false, false) => Outcome::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionResult {
    pub action: String,
    #[serde(default = "one")]
    pub attempt: u32,
    #[serde(default)]
    pub ok: bool,
    #[serde(default)]
    pub outcome_unknown: bool,
    /// Absent in records of earlier versions: [`ActionResult::outcome`] derives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub idempotency_key: String,
    /// The human line: "HTTP 200 in 45 ms".
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub excerpt: String,
    /// A command's `capture` values, judged (absent in records of earlier versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captures: Vec<crate::capture::Captured>,
}

impl ActionResult {
    pub fn outcome(&self) -> Outcome {
        self.outcome
            .unwrap_or_else(|| Outcome::of(self.ok, self.outcome_unknown))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyResult {
    pub action: String,
    pub verified: bool,
    /// How long it took to verify ("12s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The conditions still not holding at the deadline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickItem {
    pub step: usize,
    pub item: usize,
    #[serde(default)]
    pub step_title: String,
    #[serde(default)]
    pub item_text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    #[serde(rename = "GO")]
    Go,
    #[serde(rename = "NO-GO")]
    NoGo,
}

impl Decision {
    pub fn of(go: bool) -> Self {
        if go {
            Decision::Go
        } else {
            Decision::NoGo
        }
    }
    pub fn is_go(self) -> bool {
        self == Decision::Go
    }
    pub fn word(self) -> &'static str {
        match self {
            Decision::Go => "GO",
            Decision::NoGo => "NO-GO",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signoff {
    pub step: usize,
    #[serde(default)]
    pub title: String,
    pub decision: Decision,
    /// The name typed (may differ from the account).
    pub name: String,
    #[serde(default)]
    pub snapshot: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct T0Mark {
    /// Absent in hand-written records: the record's time is T0 then.
    #[serde(default)]
    pub t0: Option<Ts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRun {
    pub step: usize,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub argv: Vec<String>,
    #[serde(default)]
    pub snapshot: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRunResult {
    pub step: usize,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub excerpt: String,
    /// The script's `capture` values, judged: a failed one fails the run though it
    /// exited 0 (`exit_code` says how it exited).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captures: Vec<crate::capture::Captured>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakGlass {
    /// The action let past the gate.
    pub action: String,
    #[serde(default)]
    pub label: String,
    /// The gate step that held it back, by index and title.
    pub step: usize,
    #[serde(default)]
    pub gate: String,
    /// What the modal said held it back (`BLOCKED: …`).
    #[serde(default)]
    pub blocked: String,
    /// Why, as the operator typed it.
    pub reason: String,
    #[serde(default)]
    pub snapshot: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
}

/// Which announcement of an episode a claim takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyPhase {
    /// The episode opened (firing).
    Trigger,
    /// The episode ended.
    Resolve,
    /// A single act, announced once.
    Event,
}

impl NotifyPhase {
    pub fn word(self) -> &'static str {
        match self {
            NotifyPhase::Trigger => "trigger",
            NotifyPhase::Resolve => "resolve",
            NotifyPhase::Event => "event",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyClaimed {
    /// The episode: `crit_breach/error_rate`, `rollback_advised`, `source_down/api`.
    pub key: String,
    pub phase: NotifyPhase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifySent {
    /// The target's name (never its URL).
    pub target: String,
    #[serde(default)]
    pub target_kind: String,
    /// `crit_breach`, `action_result`, `test`…
    pub event: String,
    pub phase: NotifyPhase,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyFailed {
    pub target: String,
    #[serde(default)]
    pub target_kind: String,
    pub event: String,
    pub phase: NotifyPhase,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub attempts: u32,
    /// The last try's error, redacted (no URL, no key).
    #[serde(default)]
    pub error: String,
}

fn one() -> u32 {
    1
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl AuditEvent {
    /// The `kind` string on disk.
    pub fn kind(&self) -> &str {
        match self {
            AuditEvent::ActionConfirmed(_) => "action_confirmed",
            AuditEvent::ActionDeclined(_) => "action_declined",
            AuditEvent::ActionResult(_) => "action_result",
            AuditEvent::VerifyResult(_) => "verify_result",
            AuditEvent::Tick(_) => "tick",
            AuditEvent::Untick(_) => "untick",
            AuditEvent::Signoff(_) => "signoff",
            AuditEvent::T0Mark(_) => "t0_mark",
            AuditEvent::StepRun(_) => "step_run",
            AuditEvent::StepRunResult(_) => "step_run_result",
            AuditEvent::BreakGlass(_) => "break_glass",
            AuditEvent::Note(_) => "note",
            AuditEvent::NotifyClaimed(_) => "notify_claimed",
            AuditEvent::NotifySent(_) => "notify_sent",
            AuditEvent::NotifyFailed(_) => "notify_failed",
            AuditEvent::Other { kind, .. } => kind,
        }
    }

    /// The `details` object on disk.
    pub fn details(&self) -> Value {
        fn v<T: Serialize>(t: &T) -> Value {
            // Plain structs of strings and numbers: encoding cannot fail.
            serde_json::to_value(t).unwrap_or(Value::Null)
        }
        match self {
            AuditEvent::ActionConfirmed(d) => v(d),
            AuditEvent::ActionDeclined(d) => v(d),
            AuditEvent::ActionResult(d) => v(d),
            AuditEvent::VerifyResult(d) => v(d),
            AuditEvent::Tick(d) | AuditEvent::Untick(d) => v(d),
            AuditEvent::Signoff(d) => v(d),
            AuditEvent::T0Mark(d) => v(d),
            AuditEvent::StepRun(d) => v(d),
            AuditEvent::StepRunResult(d) => v(d),
            AuditEvent::BreakGlass(d) => v(d),
            AuditEvent::Note(d) => v(d),
            AuditEvent::NotifyClaimed(d) => v(d),
            AuditEvent::NotifySent(d) => v(d),
            AuditEvent::NotifyFailed(d) => v(d),
            AuditEvent::Other { details, .. } => details.clone(),
        }
    }

    /// The event a (`kind`, `details`) pair names. A kind this version does not know is
    /// [`AuditEvent::Other`]; a known kind whose details lack what it needs is an error.
    pub fn from_parts(kind: &str, details: Value) -> Result<Self, serde_json::Error> {
        use serde_json::from_value as de;
        Ok(match kind {
            "action_confirmed" => AuditEvent::ActionConfirmed(de(details)?),
            "action_declined" => AuditEvent::ActionDeclined(de(details)?),
            "action_result" => AuditEvent::ActionResult(de(details)?),
            "verify_result" => AuditEvent::VerifyResult(de(details)?),
            "tick" => AuditEvent::Tick(de(details)?),
            "untick" => AuditEvent::Untick(de(details)?),
            "signoff" => AuditEvent::Signoff(de(details)?),
            "t0_mark" => AuditEvent::T0Mark(de(details)?),
            "step_run" => AuditEvent::StepRun(de(details)?),
            "step_run_result" => AuditEvent::StepRunResult(de(details)?),
            "break_glass" => AuditEvent::BreakGlass(de(details)?),
            "note" => AuditEvent::Note(de(details)?),
            "notify_claimed" => AuditEvent::NotifyClaimed(de(details)?),
            "notify_sent" => AuditEvent::NotifySent(de(details)?),
            "notify_failed" => AuditEvent::NotifyFailed(de(details)?),
            other => AuditEvent::Other {
                kind: other.to_string(),
                details,
            },
        })
    }

    /// The action id the event is about, for the action kinds.
    pub fn action(&self) -> Option<&str> {
        match self {
            AuditEvent::ActionConfirmed(d) => Some(&d.action),
            AuditEvent::ActionDeclined(d) => Some(&d.action),
            AuditEvent::ActionResult(d) => Some(&d.action),
            AuditEvent::VerifyResult(d) => Some(&d.action),
            AuditEvent::BreakGlass(d) => Some(&d.action),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_round_trips_through_its_parts() {
        let events = [
            AuditEvent::ActionConfirmed(Confirmed {
                action: "rollback".into(),
                label: "Roll back".into(),
                attempt: 2,
                idempotency_key: "k".into(),
                target: vec!["POST http://x".into()],
                snapshot: vec!["CRIT err".into()],
                again: true,
                break_glass: Some("the approver is unreachable".into()),
            }),
            AuditEvent::BreakGlass(BreakGlass {
                action: "split-50".into(),
                label: "Split 50".into(),
                step: 5,
                gate: "GO 50 %".into(),
                blocked: "BLOCKED: gate \"GO 50 %\" unsigned".into(),
                reason: "the approver is unreachable".into(),
                snapshot: vec![],
            }),
            AuditEvent::ActionDeclined(Declined {
                action: "rollback".into(),
                label: "Roll back".into(),
                reason: DeclineReason::InFlight,
                by: "bob@b2".into(),
                since: None,
            }),
            AuditEvent::ActionResult(ActionResult {
                action: "rollback".into(),
                attempt: 1,
                ok: false,
                outcome_unknown: true,
                outcome: Some(Outcome::Unknown),
                http_status: None,
                exit_code: Some(3),
                duration_ms: 9,
                idempotency_key: "k".into(),
                summary: "exit 3".into(),
                excerpt: String::new(),
                captures: Vec::new(),
            }),
            AuditEvent::VerifyResult(VerifyResult {
                action: "rollback".into(),
                verified: false,
                after: None,
                failing: vec!["v1 == false".into()],
            }),
            AuditEvent::Tick(TickItem {
                step: 1,
                item: 2,
                step_title: "s".into(),
                item_text: "i".into(),
            }),
            AuditEvent::Signoff(Signoff {
                step: 0,
                title: "gate".into(),
                decision: Decision::NoGo,
                name: "Ana".into(),
                snapshot: vec![],
            }),
            AuditEvent::T0Mark(T0Mark { t0: None }),
            AuditEvent::Note(Note {
                text: "DBA confirms the snapshot".into(),
            }),
            AuditEvent::NotifyClaimed(NotifyClaimed {
                key: "crit_breach/err".into(),
                phase: NotifyPhase::Trigger,
            }),
            AuditEvent::NotifySent(NotifySent {
                target: "sre".into(),
                target_kind: "slack".into(),
                event: "crit_breach".into(),
                phase: NotifyPhase::Resolve,
                key: "crit_breach/err".into(),
                attempts: 2,
                http_status: Some(200),
            }),
            AuditEvent::NotifyFailed(NotifyFailed {
                target: "pd".into(),
                target_kind: "pagerduty".into(),
                event: "rollback_advised".into(),
                phase: NotifyPhase::Trigger,
                key: "rollback_advised".into(),
                attempts: 5,
                error: "connection refused".into(),
            }),
            AuditEvent::Other {
                kind: "from_the_future".into(),
                details: json!({"x": 1}),
            },
        ];
        for e in events {
            let back = AuditEvent::from_parts(e.kind(), e.details()).unwrap();
            assert_eq!(back, e);
        }
    }

    #[test]
    fn a_known_kind_without_its_key_fields_is_an_error_not_a_default() {
        // A tick that names no item must never tick item 0.
        assert!(AuditEvent::from_parts("tick", json!({"item_text": "x"})).is_err());
        assert!(AuditEvent::from_parts("signoff", json!({"step": 0})).is_err());
        assert!(AuditEvent::from_parts("action_result", json!({"ok": true})).is_err());
        // An override that gives no reason is not an override.
        assert!(AuditEvent::from_parts("break_glass", json!({"action": "a", "step": 1})).is_err());
    }

    #[test]
    fn results_of_earlier_versions_derive_their_outcome() {
        let old = json!({"action": "rollback", "attempt": 1, "ok": false,
            "outcome_unknown": true, "summary": "time-out after 5s", "duration_ms": 5000,
            "excerpt": ""});
        let AuditEvent::ActionResult(r) = AuditEvent::from_parts("action_result", old).unwrap()
        else {
            panic!("not a result");
        };
        assert_eq!(r.outcome(), Outcome::Unknown);
        assert_eq!(r.http_status, None);
    }
}
