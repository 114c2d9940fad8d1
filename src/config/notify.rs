//! `[[notify]]`: where the room's news goes besides the screens — Alertmanager, Slack,
//! PagerDuty or any webhook — which events, and from which severity on.
//!
//! The target's address is a secret (a Slack or webhook URL is its own credential): from
//! `${VAR}`, or from `token_file` (the URL, or PagerDuty's routing key), never shown.

use super::schema::{kp, Shape, TableSchema};
use super::validate::Out;
use super::{http, Config, Dur};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyCfg {
    pub kind: NotifyKind,
    /// How records and `notify-test` name the target; default: its kind.
    #[serde(default)]
    pub name: Option<String>,
    /// Where to send: Alertmanager's base URL, the Slack incoming webhook, the webhook;
    /// for PagerDuty the Events v2 endpoint (default: PagerDuty's own).
    #[serde(default)]
    pub url: Option<String>,
    /// A file holding the secret: the URL (Alertmanager, Slack, webhook) or PagerDuty's
    /// routing key. Refused if others can read it.
    #[serde(default)]
    pub token_file: Option<String>,
    /// PagerDuty's integration (routing) key, e.g. `${PD_ROUTING_KEY}`.
    #[serde(default)]
    pub routing_key: Option<String>,
    /// The events sent; default: the episodes for Alertmanager and PagerDuty, every event
    /// for Slack and webhooks.
    #[serde(default)]
    pub on: Option<Vec<NotifyOn>>,
    /// Events below this are not sent; default `info` (PagerDuty: `crit`).
    #[serde(default)]
    pub min_severity: Option<MinSeverity>,
    /// Each request's time-out.
    #[serde(default = "default_timeout")]
    pub timeout: Dur,
    /// Tries per message before giving up (and saying so on the screen).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// Alertmanager: how often an active alert is sent again with a later `endsAt`.
    #[serde(default = "default_refresh")]
    pub refresh: Dur,
}

fn default_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(10))
}
fn default_attempts() -> u32 {
    5
}
fn default_refresh() -> Dur {
    Dur(std::time::Duration::from_secs(60))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyKind {
    Alertmanager,
    Slack,
    Pagerduty,
    Webhook,
}

pub const NOTIFY_KINDS: &[&str] = &["alertmanager", "slack", "pagerduty", "webhook"];

impl NotifyKind {
    pub fn word(self) -> &'static str {
        match self {
            NotifyKind::Alertmanager => "alertmanager",
            NotifyKind::Slack => "slack",
            NotifyKind::Pagerduty => "pagerduty",
            NotifyKind::Webhook => "webhook",
        }
    }

    /// Alertmanager and PagerDuty hold alerts that open and resolve: only episodes fit.
    pub fn takes_only_episodes(self) -> bool {
        matches!(self, NotifyKind::Alertmanager | NotifyKind::Pagerduty)
    }
}

/// What can be announced. The first three are episodes (opened, then resolved once);
/// the rest are single acts, announced once they are on record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyOn {
    RollbackAdvised,
    CritBreach,
    SourceDown,
    ActionConfirmed,
    ActionResult,
    VerifyResult,
    GateSignoff,
    T0Mark,
}

pub const NOTIFY_EVENTS: &[&str] = &[
    "rollback_advised",
    "crit_breach",
    "source_down",
    "action_confirmed",
    "action_result",
    "verify_result",
    "gate_signoff",
    "t0_mark",
];

impl NotifyOn {
    pub const ALL: [NotifyOn; 8] = [
        NotifyOn::RollbackAdvised,
        NotifyOn::CritBreach,
        NotifyOn::SourceDown,
        NotifyOn::ActionConfirmed,
        NotifyOn::ActionResult,
        NotifyOn::VerifyResult,
        NotifyOn::GateSignoff,
        NotifyOn::T0Mark,
    ];

    pub fn word(self) -> &'static str {
        NOTIFY_EVENTS[self as usize]
    }

    pub fn is_episode(self) -> bool {
        matches!(
            self,
            NotifyOn::RollbackAdvised | NotifyOn::CritBreach | NotifyOn::SourceDown
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MinSeverity {
    Info,
    Warn,
    Crit,
}

pub const SEVERITIES: &[&str] = &["info", "warn", "crit"];

impl NotifyCfg {
    /// The name records and `notify-test` use.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(self.kind.word())
    }

    /// The events this target takes.
    pub fn events(&self) -> Vec<NotifyOn> {
        match &self.on {
            Some(on) => on.clone(),
            None if self.kind.takes_only_episodes() => NotifyOn::ALL
                .into_iter()
                .filter(|e| e.is_episode())
                .collect(),
            None => NotifyOn::ALL.to_vec(),
        }
    }

    pub fn min_severity(&self) -> MinSeverity {
        self.min_severity.unwrap_or(match self.kind {
            NotifyKind::Pagerduty => MinSeverity::Crit,
            _ => MinSeverity::Info,
        })
    }
}

pub static NOTIFY: TableSchema = TableSchema {
    name: "[[notify]]",
    keys: &[
        ("kind", Shape::Enum(NOTIFY_KINDS)),
        ("name", Shape::Any),
        ("url", Shape::Any),
        ("token_file", Shape::Any),
        ("routing_key", Shape::Any),
        ("on", Shape::Any),
        ("min_severity", Shape::Enum(SEVERITIES)),
        ("timeout", Shape::Any),
        ("max_attempts", Shape::Any),
        ("refresh", Shape::Any),
    ],
    required: &["kind"],
};

/// Each target on its own, and names written twice.
pub(super) fn check(cfg: &Config, out: &mut Out) {
    let mut names: Vec<&str> = Vec::new();
    for (i, n) in cfg.notify.iter().enumerate() {
        let at = |k: &str| kp!["notify", i, k];
        let needs_url = n.kind != NotifyKind::Pagerduty;
        match (&n.url, &n.token_file) {
            (Some(_), Some(_)) if needs_url => out.push(
                at("token_file"),
                format!(
                    "`url` and `token_file` both give the {} target's URL: keep one",
                    n.kind.word()
                ),
                None,
            ),
            (None, None) if needs_url => out.push(
                kp!["notify", i],
                format!("the {} target has no `url`", n.kind.word()),
                Some(format!(
                    "write `url = \"${{{}}}\"` (from the environment) or `token_file = \"…\"` (a file holding the URL)",
                    match n.kind {
                        NotifyKind::Slack => "SLACK_WEBHOOK_URL",
                        NotifyKind::Alertmanager => "ALERTMANAGER_URL",
                        _ => "WEBHOOK_URL",
                    }
                )),
            ),
            _ => {}
        }
        if let Some(u) = &n.url {
            http::url(u, at("url"), "${SLACK_WEBHOOK_URL}", out);
        }
        if n.kind == NotifyKind::Pagerduty {
            match (&n.routing_key, &n.token_file) {
                (None, None) => out.push(
                    kp!["notify", i],
                    "the pagerduty target has no `routing_key`",
                    Some("write `routing_key = \"${PD_ROUTING_KEY}\"` or `token_file = \"…\"` (a file holding the key)".into()),
                ),
                (Some(_), Some(_)) => out.push(
                    at("token_file"),
                    "`routing_key` and `token_file` both give the routing key: keep one",
                    None,
                ),
                (Some(k), None) if k.trim().is_empty() => {
                    out.push(at("routing_key"), "the routing key is empty", None)
                }
                _ => {}
            }
        } else if n.routing_key.is_some() {
            out.push_key(
                at("routing_key"),
                format!("`routing_key` is for PagerDuty, not {}", n.kind.word()),
                None,
            );
        }
        if let Some(on) = &n.on {
            if on.is_empty() {
                out.push(
                    at("on"),
                    "`on` is empty: this target would never be sent anything",
                    Some(format!("events: {}", NOTIFY_EVENTS.join(", "))),
                );
            }
            if n.kind.takes_only_episodes() {
                for e in on.iter().filter(|e| !e.is_episode()) {
                    out.push(
                        at("on"),
                        format!(
                            "{} holds alerts that open and resolve: `{}` is a single act, not an episode",
                            n.kind.word(),
                            e.word()
                        ),
                        Some("send acts to a slack or webhook target; here: rollback_advised, crit_breach, source_down".into()),
                    );
                }
            }
        }
        if n.timeout.0.is_zero() {
            out.push(at("timeout"), "`timeout` is 0", None);
        }
        if !(1..=20).contains(&n.max_attempts) {
            out.push(
                at("max_attempts"),
                format!("`max_attempts` {} is outside 1..=20", n.max_attempts),
                None,
            );
        }
        if n.kind == NotifyKind::Alertmanager && n.refresh.0 < std::time::Duration::from_secs(1) {
            out.push(
                at("refresh"),
                "`refresh` is under 1s",
                Some("e.g. `refresh = \"60s\"`".into()),
            );
        }
        let name = n.label();
        if names.contains(&name) {
            out.push(
                at("name"),
                format!("two `[[notify]]` targets are named \"{name}\""),
                Some("give each target its own `name`".into()),
            );
        }
        names.push(name);
    }
}
