//! Telling the team outside the room: Alertmanager, Slack, PagerDuty and webhooks.
//!
//! ```text
//! engine state ─► episode::Episodes::observe (pure, per message) ─► Notice ─┐
//! an act on record (AuditWritten) ─► episode::act_notice (pure) ─► Notice ──┼─► Effect::Notify
//!                                                                           │
//! session ─► Notifier::offer (never waits) ─► bounded queue ─► sender task ─┘
//!   claim the episode in the audit log (one sender among the screens sharing it)
//!   ─► one queue per target ─► POST, retried with back-off ─► notify_sent / notify_failed
//! ```
//!
//! - `episode`: which episodes are open, from the engine's state (one message when one
//!   opens, one when it ends), and the notices of single acts; pure, fake-clock tested;
//! - `alertmanager`, `slack`, `pagerduty`, `webhook`: each target's request body;
//! - `sender`: the queue, the claim, the retries, the audit records, `notify-test`.
//!
//! What a notice says is decided when its event happens (the engine's state then), never
//! re-read when it is sent: a retry a minute later says what was true at the event.

pub mod alertmanager;
pub mod episode;
pub mod pagerduty;
pub mod sender;
pub mod slack;
pub mod webhook;

pub use crate::audit::NotifyPhase;
pub use crate::config::{NotifyKind, NotifyOn};
pub use episode::{act_notice, conditions, Condition, Episodes};
pub use sender::{notify_test, Notifier, NotifierOptions, Told};

use crate::engine::Severity;
use crate::sample::Ts;
use serde::Serialize;

/// One announcement, its content frozen at its event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// What happened; None for `notify-test`'s message.
    pub event: Option<NotifyOn>,
    pub phase: NotifyPhase,
    /// The episode (`crit_breach/error_rate`, `rollback_advised`, `source_down/api`), or
    /// the act (`action_result/rollback/2`): the same on every screen for the same thing.
    pub key: String,
    pub severity: Severity,
    /// One line: what a pager or a chat shows first.
    pub summary: String,
    /// The row or source it is about (`error_rate`, `api`), or the action.
    pub subject: Option<String>,
    pub value: Option<String>,
    pub threshold: Option<String>,
    pub advice: Option<String>,
    /// The reasons behind a rollback advice.
    pub reasons: Vec<String>,
    /// Who did it (an act), `user@host`-free: the account on the screen.
    pub by: Option<String>,
    /// When the episode opened (an act: when it happened).
    pub started_at: Ts,
    /// When this event happened (the opening, the resolve, the act).
    pub at: Ts,
}

impl Notice {
    /// `crit_breach`, …, or `test`.
    pub fn event_word(&self) -> &'static str {
        self.event.map(NotifyOn::word).unwrap_or("test")
    }
}

/// Where the notices come from: stamped on every message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub cutover: String,
    pub environment: String,
    /// The screen's host.
    pub host: String,
}

/// A severity as the receivers spell it (Alertmanager's and PagerDuty's convention).
pub fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warn => "warning",
        Severity::Crit => "critical",
    }
}

/// Does `target` take `notice`: its event listed, at or above its minimum severity?
pub fn wants(target: &crate::config::NotifyCfg, notice: &Notice) -> bool {
    let Some(event) = notice.event else {
        return true;
    };
    let min = match target.min_severity() {
        crate::config::MinSeverity::Info => Severity::Info,
        crate::config::MinSeverity::Warn => Severity::Warn,
        crate::config::MinSeverity::Crit => Severity::Crit,
    };
    target.events().contains(&event) && notice.severity >= min
}

#[cfg(test)]
mod tests;
