//! Episodes: a condition that opens (ROLLBACK ADVISED, a row at crit, a source down) and
//! later ends. One notice when it opens and one when it ends — never one per sample. The
//! engine's trip/clear rules (`for`, `m_of_n`, `clear_for`) already hold a flapping row at
//! its band, so an episode here is exactly the span the screen shows it. Pure: the state
//! and the time in, notices out.

use super::{Notice, NotifyOn, NotifyPhase};
use crate::audit::AuditEvent;
use crate::engine::{breach_text, Band, Engine, Severity};
use crate::sample::Ts;
use std::collections::BTreeMap;

/// A condition that holds now, described as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub key: String,
    pub event: NotifyOn,
    pub severity: Severity,
    pub summary: String,
    pub subject: Option<String>,
    pub value: Option<String>,
    pub threshold: Option<String>,
    pub advice: Option<String>,
    pub reasons: Vec<String>,
}

/// What holds in the engine now: the rollback advice, every row whose effective band is
/// crit (critical rows at crit severity, the others at warn), every source that fails.
pub fn conditions(engine: &Engine) -> Vec<Condition> {
    let mut out = Vec::new();
    if let Some(a) = &engine.advised {
        out.push(Condition {
            key: "rollback_advised".into(),
            event: NotifyOn::RollbackAdvised,
            severity: Severity::Crit,
            summary: format!("ROLLBACK ADVISED: {}", a.reasons.join("; ")),
            subject: None,
            value: None,
            threshold: None,
            advice: None,
            reasons: a.reasons.clone(),
        });
    }
    for r in engine.rows.iter().filter(|r| r.effective == Band::Crit) {
        let sig = engine.signal(r);
        out.push(Condition {
            key: format!("crit_breach/{}", r.key),
            event: NotifyOn::CritBreach,
            severity: if r.critical {
                Severity::Crit
            } else {
                Severity::Warn
            },
            // The breach text names the row itself: "err /login 6.1% (crit > 2) for 0s".
            summary: format!("CRIT {}", breach_text(r, sig, engine.mono)),
            subject: Some(r.key.clone()),
            value: r.value.as_ref().map(|v| v.with_unit(r.unit.as_deref())),
            threshold: (!r.threshold.is_empty()).then(|| r.threshold.clone()),
            advice: r.advice.clone(),
            reasons: Vec::new(),
        });
    }
    for s in engine.sources.iter().filter(|s| s.is_down()) {
        out.push(Condition {
            key: format!("source_down/{}", s.id),
            event: NotifyOn::SourceDown,
            severity: if s.required {
                Severity::Crit
            } else {
                Severity::Warn
            },
            summary: format!(
                "source {} down: {}",
                s.id,
                s.last_error.as_deref().unwrap_or("no answer")
            ),
            subject: Some(s.id.clone()),
            value: None,
            threshold: None,
            advice: None,
            reasons: Vec::new(),
        });
    }
    out
}

/// The episodes open on this screen.
#[derive(Debug, Clone, Default)]
pub struct Episodes {
    open: BTreeMap<String, Opened>,
    /// Notices of acts waiting for their audit record to be on disk, by record id.
    awaiting: Vec<(u64, Notice)>,
}

#[derive(Debug, Clone)]
struct Opened {
    cond: Condition,
    at: Ts,
}

impl Episodes {
    /// The conditions holding at `now`: a notice for each episode that opens, and one for
    /// each that ended (its content as it was, and how long it lasted).
    pub fn observe(&mut self, now: Ts, holding: Vec<Condition>) -> Vec<Notice> {
        let mut out = Vec::new();
        let keys: Vec<String> = holding.iter().map(|c| c.key.clone()).collect();
        let ended: Vec<String> = self
            .open
            .keys()
            .filter(|k| !keys.contains(k))
            .cloned()
            .collect();
        for k in ended {
            if let Some(o) = self.open.remove(&k) {
                out.push(resolve(&o, now));
            }
        }
        for c in holding {
            if self.open.contains_key(&c.key) {
                continue;
            }
            out.push(notice(
                &c,
                NotifyPhase::Trigger,
                now,
                now,
                c.summary.clone(),
            ));
            self.open.insert(c.key.clone(), Opened { cond: c, at: now });
        }
        out
    }

    /// The episodes open now, by key.
    pub fn open(&self) -> impl Iterator<Item = &str> {
        self.open.keys().map(String::as_str)
    }

    /// Hold `notice` until record `id` is on disk.
    pub fn await_record(&mut self, id: u64, notice: Notice) {
        self.awaiting.push((id, notice));
    }

    /// Record `id` is on disk (`Some` notice to send) or will never be (`written` false).
    pub fn record_answered(&mut self, id: u64, written: bool) -> Option<Notice> {
        let at = self.awaiting.iter().position(|(i, _)| *i == id)?;
        let (_, n) = self.awaiting.remove(at);
        written.then_some(n)
    }
}

fn notice(c: &Condition, phase: NotifyPhase, started: Ts, at: Ts, summary: String) -> Notice {
    Notice {
        event: Some(c.event),
        phase,
        key: c.key.clone(),
        severity: c.severity,
        summary,
        subject: c.subject.clone(),
        value: c.value.clone(),
        threshold: c.threshold.clone(),
        advice: c.advice.clone(),
        reasons: c.reasons.clone(),
        by: None,
        started_at: started,
        at,
    }
}

fn resolve(o: &Opened, now: Ts) -> Notice {
    let lasted = crate::timefmt::format_span(now - o.at);
    let what = match o.cond.event {
        NotifyOn::RollbackAdvised => "rollback advice cleared".to_string(),
        NotifyOn::SourceDown => format!(
            "source {} answers again",
            o.cond.subject.as_deref().unwrap_or("?")
        ),
        _ => format!(
            "{} back out of crit",
            o.cond.subject.as_deref().unwrap_or("?")
        ),
    };
    notice(
        &o.cond,
        NotifyPhase::Resolve,
        o.at,
        now,
        format!("RESOLVED after {lasted}: {what} (was: {})", o.cond.summary),
    )
}

/// The notice of an act, once its record is on disk: a confirmed action, its result, its
/// verdict, a gate's sign-off, a T0 mark. None for records that are not announced.
pub fn act_notice(event: &AuditEvent, by: &str, at: Ts) -> Option<Notice> {
    let (on, key, severity, summary, subject) = match event {
        AuditEvent::ActionConfirmed(c) => (
            NotifyOn::ActionConfirmed,
            format!("action_confirmed/{}/{}", c.action, c.attempt),
            Severity::Warn,
            format!(
                "{by} confirmed \"{}\" (attempt {}){}",
                c.label,
                c.attempt,
                if c.snapshot.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", c.snapshot.join("; "))
                }
            ),
            c.action.clone(),
        ),
        AuditEvent::ActionResult(x) => (
            NotifyOn::ActionResult,
            format!("action_result/{}/{}", x.action, x.attempt),
            if x.ok { Severity::Info } else { Severity::Crit },
            format!(
                "\"{}\" attempt {} {}: {}",
                x.action,
                x.attempt,
                match x.outcome() {
                    crate::audit::Outcome::Ok => "succeeded",
                    crate::audit::Outcome::Failed => "FAILED",
                    crate::audit::Outcome::Unknown => "outcome UNKNOWN",
                },
                x.summary
            ),
            x.action.clone(),
        ),
        AuditEvent::VerifyResult(v) => (
            NotifyOn::VerifyResult,
            format!("verify_result/{}", v.action),
            if v.verified {
                Severity::Info
            } else {
                Severity::Crit
            },
            if v.verified {
                format!(
                    "\"{}\" VERIFIED{}",
                    v.action,
                    v.after
                        .as_deref()
                        .map(|a| format!(" after {a}"))
                        .unwrap_or_default()
                )
            } else {
                format!(
                    "\"{}\" NOT VERIFIED: still failing {}",
                    v.action,
                    v.failing.join("; ")
                )
            },
            v.action.clone(),
        ),
        AuditEvent::Signoff(s) => (
            NotifyOn::GateSignoff,
            format!("gate_signoff/{}", s.step),
            if s.decision.is_go() {
                Severity::Info
            } else {
                Severity::Warn
            },
            format!(
                "gate \"{}\": {} signed by {} ({by})",
                s.title,
                s.decision.word(),
                s.name
            ),
            s.title.clone(),
        ),
        AuditEvent::T0Mark(m) => (
            NotifyOn::T0Mark,
            "t0_mark".to_string(),
            Severity::Info,
            format!(
                "T0 marked by {by}: {}",
                m.t0.unwrap_or(at)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            "t0".to_string(),
        ),
        _ => return None,
    };
    Some(Notice {
        event: Some(on),
        phase: NotifyPhase::Event,
        key,
        severity,
        summary,
        subject: Some(subject),
        value: None,
        threshold: None,
        advice: None,
        reasons: Vec::new(),
        by: Some(by.to_string()),
        started_at: at,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::sample::{Mono, PollOutcome, PollResult, Stamp};
    use std::sync::Arc;

    const CFG: &str = r#"
[cutover]
name = "Brokers v1"
[[source]]
id = "api"
kind = "http"
url = "http://127.0.0.1:1/m"
[[signal]]
id = "err"
source = "api"
kind = "metric"
path = ".err"
crit = "> 5"
critical = true
clear_for = "30s"
"#;

    use crate::sample::fake_clock::t_ms as wall;

    fn poll(ms: i64, err: f64) -> PollResult {
        PollResult {
            source: "api".into(),
            at: wall(ms),
            mono: Mono(ms),
            latency_ms: 3,
            outcome: PollOutcome::Json {
                status: 200,
                body: serde_json::json!({ "err": err }),
            },
        }
    }

    /// The engine fed `err` every 5 s on a fake clock; the notices the episodes give.
    fn run(values: &[f64]) -> Vec<Notice> {
        let cfg = Arc::new(load_str(CFG, "t.toml").unwrap());
        let mut engine = Engine::new(cfg, Mono(0));
        let mut eps = Episodes::default();
        let mut out = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let ms = i as i64 * 5_000;
            engine.ingest(&poll(ms, *v));
            engine.tick(Stamp::new(wall(ms), Mono(ms)));
            out.extend(eps.observe(wall(ms), conditions(&engine)));
        }
        out
    }

    #[test]
    fn a_breach_is_announced_once_and_resolved_once() {
        let n = run(&[
            1.0, 9.0, 9.0, 9.0, 9.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        ]);
        let phases: Vec<_> = n.iter().map(|n| (n.key.as_str(), n.phase)).collect();
        assert_eq!(
            phases,
            [
                ("crit_breach/err", NotifyPhase::Trigger),
                ("crit_breach/err", NotifyPhase::Resolve)
            ]
        );
        // Frozen at the event: the opening says what was read then.
        assert!(n[0].summary.contains('9'), "{}", n[0].summary);
        assert_eq!(n[0].started_at, wall(5_000));
        assert_eq!(n[1].started_at, wall(5_000));
        assert!(
            n[1].summary.starts_with("RESOLVED after"),
            "{}",
            n[1].summary
        );
    }

    #[test]
    fn a_signal_flapping_within_its_clear_for_is_one_episode() {
        // Crit and back every 5 s, never clear for the 30 s `clear_for` asks.
        let mut v = vec![1.0];
        for _ in 0..10 {
            v.extend([9.0, 1.0]);
        }
        let n = run(&v);
        assert_eq!(n.len(), 1, "{n:#?}");
        assert_eq!(n[0].phase, NotifyPhase::Trigger);
    }

    #[test]
    fn a_condition_seen_again_is_not_announced_again() {
        let mut eps = Episodes::default();
        let c = Condition {
            key: "source_down/api".into(),
            event: NotifyOn::SourceDown,
            severity: Severity::Crit,
            summary: "source api down: refused".into(),
            subject: Some("api".into()),
            value: None,
            threshold: None,
            advice: None,
            reasons: vec![],
        };
        assert_eq!(eps.observe(wall(0), vec![c.clone()]).len(), 1);
        let mut later = c.clone();
        later.summary = "source api down: timed out".into();
        assert!(eps.observe(wall(1_000), vec![later]).is_empty());
        let end = eps.observe(wall(61_000), vec![]);
        assert_eq!(end.len(), 1);
        assert_eq!(end[0].phase, NotifyPhase::Resolve);
        assert!(
            end[0].summary.contains("1m") || end[0].summary.contains("61s"),
            "{}",
            end[0].summary
        );
        assert!(eps.observe(wall(62_000), vec![]).is_empty());
        // A new opening after the end is a new episode.
        assert_eq!(
            eps.observe(wall(63_000), vec![c])[0].phase,
            NotifyPhase::Trigger
        );
    }

    #[test]
    fn an_act_waits_for_its_record() {
        let mut eps = Episodes::default();
        let ev = AuditEvent::T0Mark(crate::audit::T0Mark { t0: Some(wall(0)) });
        let n = act_notice(&ev, "ana", wall(0)).unwrap();
        assert_eq!(n.event, Some(NotifyOn::T0Mark));
        eps.await_record(7, n.clone());
        assert_eq!(eps.record_answered(8, true), None);
        assert_eq!(eps.record_answered(7, true), Some(n.clone()));
        assert_eq!(eps.record_answered(7, true), None);
        eps.await_record(9, n);
        assert_eq!(eps.record_answered(9, false), None);
        let tick = AuditEvent::Tick(crate::audit::TickItem {
            step: 0,
            item: 0,
            step_title: String::new(),
            item_text: String::new(),
        });
        assert!(act_notice(&tick, "ana", wall(0)).is_none());
    }
}
