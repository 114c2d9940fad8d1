//! The audit log: JSON lines, one per event, each on disk (written and synced) before the
//! act it records takes effect — an action's request starts only once its confirmation is
//! durable. Shared by every `warroom` process of one cutover and environment on a host, each
//! of which follows the file ([`AuditTail`]) to show the others' actions, ticks, sign-offs
//! and T0 marks live.
//!
//! Writers coordinate through an advisory lock on the log itself ([`AuditWriter`]): a record
//! is one `write` of one whole line under the lock, and a claim for an action's flight reads
//! the log's tail and appends its confirmation under the same lock, so two screens cannot
//! both send. Secrets must be redacted by the caller before they reach a record.

mod event;
mod identity;
mod tail;
mod writer;

pub use event::*;
pub use identity::{current_user, hostname, new_session_id, ssh_client};
pub use tail::{spawn_tail, spawn_tail_from, AuditTail, TailFrom, TailItem};
pub use writer::{
    guard_until, AuditWriter, ClaimRule, Claimed, Competitor, LogFile, Opener, RealFile,
};

use crate::config::Config;
use crate::sample::Ts;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {}: cannot create its directory: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {}: cannot open: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {}: cannot lock: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {}: short write ({written} of {len} bytes): disk full?", path.display())]
    Short {
        path: PathBuf,
        written: usize,
        len: usize,
    },
    #[error("audit log {}: cannot sync to disk: {source}", path.display())]
    Sync {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {}: cannot read it back: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {}: cannot encode a record: {source}", path.display())]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// UTC.
    pub at: Ts,
    pub host: String,
    pub user: String,
    /// The SSH client's address, when the operator came in over SSH.
    pub ssh_client: Option<String>,
    pub pid: u32,
    /// Which `warroom` process wrote it: a tail skips its own.
    pub session: String,
    /// The cutover and environment of the writer's config: a screen applies only records of
    /// its own (absent in records of earlier versions).
    pub cutover: Option<String>,
    pub environment: Option<String>,
    /// A short fingerprint of the writer's config (redacted): two screens of one environment
    /// on different configs are told so.
    pub config: Option<String>,
    pub event: AuditEvent,
}

/// The line as it is on disk: the event as `kind` and `details`, as it always was.
#[derive(Serialize, Deserialize)]
struct RawRecord {
    at: Ts,
    host: String,
    user: String,
    #[serde(default)]
    ssh_client: Option<String>,
    pid: u32,
    session: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cutover: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    config: Option<String>,
    kind: String,
    #[serde(default)]
    details: serde_json::Value,
}

impl Serialize for AuditRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawRecord {
            at: self.at,
            host: self.host.clone(),
            user: self.user.clone(),
            ssh_client: self.ssh_client.clone(),
            pid: self.pid,
            session: self.session.clone(),
            cutover: self.cutover.clone(),
            environment: self.environment.clone(),
            config: self.config.clone(),
            kind: self.event.kind().to_string(),
            details: self.event.details(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for AuditRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = RawRecord::deserialize(d)?;
        let event = AuditEvent::from_parts(&r.kind, r.details)
            .map_err(|e| serde::de::Error::custom(format!("{} details: {e}", r.kind)))?;
        Ok(AuditRecord {
            at: r.at,
            host: r.host,
            user: r.user,
            ssh_client: r.ssh_client,
            pid: r.pid,
            session: r.session,
            cutover: r.cutover,
            environment: r.environment,
            config: r.config,
            event,
        })
    }
}

impl AuditRecord {
    /// `user@host`: who, as every screen names them.
    pub fn who(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }

    /// Why this record belongs to another cutover or environment than (`cutover`,
    /// `environment`), if it does. Records of earlier versions name neither: they are
    /// taken as this one's.
    pub fn foreign_to(&self, cutover: &str, environment: &str) -> Option<String> {
        foreign(
            self.cutover.as_deref(),
            self.environment.as_deref(),
            cutover,
            environment,
        )
    }
}

/// Why a record stamped with (`rec_cutover`, `rec_environment`) belongs to another cutover
/// or environment than (`cutover`, `environment`), if it does. Names are compared as slugs
/// (`Production` is `production`); a record that names neither is taken as this one's.
pub fn foreign(
    rec_cutover: Option<&str>,
    rec_environment: Option<&str>,
    cutover: &str,
    environment: &str,
) -> Option<String> {
    if let Some(c) = rec_cutover.filter(|c| slug(c) != slug(cutover)) {
        return Some(format!("cutover \"{c}\""));
    }
    if let Some(e) = rec_environment.filter(|e| slug(e) != slug(environment)) {
        return Some(format!("environment \"{e}\""));
    }
    None
}

/// Who and where this process is: captured once, stamped on every record it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    pub host: String,
    pub user: String,
    pub ssh_client: Option<String>,
    pub pid: u32,
    pub session: String,
    pub cutover: Option<String>,
    pub environment: Option<String>,
    pub config: Option<String>,
}

impl AuditContext {
    /// This process, from its environment.
    pub fn current() -> Self {
        Self::from_env(&|k| std::env::var(k).ok())
    }

    /// As `current`, reading variables through `env` (tests pass their own).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        AuditContext {
            host: hostname(),
            user: current_user(),
            ssh_client: ssh_client(env),
            pid: std::process::id(),
            session: new_session_id(),
            cutover: None,
            environment: None,
            config: None,
        }
    }

    /// Stamp records with the cutover, environment and config fingerprint of `cfg`.
    pub fn for_config(mut self, cfg: &Config, fingerprint: String) -> Self {
        self.cutover = Some(cfg.cutover.name.clone());
        self.environment = Some(cfg.cutover.environment_name().to_string());
        self.config = Some(fingerprint);
        self
    }

    /// A record of `event` stamped now.
    pub fn record(&self, event: AuditEvent) -> AuditRecord {
        AuditRecord {
            at: Utc::now(),
            host: self.host.clone(),
            user: self.user.clone(),
            ssh_client: self.ssh_client.clone(),
            pid: self.pid,
            session: self.session.clone(),
            cutover: self.cutover.clone(),
            environment: self.environment.clone(),
            config: self.config.clone(),
            event,
        }
    }
}

/// A short fingerprint of the effective config (8 hex digits), taken after `redact` so no
/// secret goes into it: two screens of one environment can tell they run different configs.
pub fn fingerprint(cfg: &Config, redact: &dyn Fn(&str) -> String) -> String {
    let text = serde_json::to_string(cfg).unwrap_or_default();
    let h = fnv1a(redact(&text).as_bytes());
    format!("{:08x}", (h ^ (h >> 32)) as u32)
}

/// FNV-1a, 64 bits: stable across builds and versions (std's hashers promise neither).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `$XDG_STATE_HOME/warroom/<cutover>/<environment>/audit.jsonl`, else under
/// `~/.local/state`: staging and production of one cutover never share a log by default.
pub fn default_path(cutover_name: &str, environment: &str) -> PathBuf {
    default_path_with(cutover_name, environment, &|k| std::env::var(k).ok())
}

/// As `default_path`, reading `XDG_STATE_HOME` and `HOME` through `env`.
pub fn default_path_with(
    cutover_name: &str,
    environment: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> PathBuf {
    // The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
    let base = env("XDG_STATE_HOME")
        .filter(|v| Path::new(v).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| Path::new(&h).join(".local/state"))
        })
        // No HOME at all (a bare cron job): the current directory rather than nowhere.
        .unwrap_or_else(|| PathBuf::from(".local/state"));
    base.join("warroom")
        .join(slug(cutover_name))
        .join(slug(environment))
        .join("audit.jsonl")
}

/// `Brokers v1 → legacy!` → `brokers-v1-legacy`: safe as one path component.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "cutover".into()
    } else {
        out.chars().take(64).collect()
    }
}

#[cfg(test)]
mod tests;
