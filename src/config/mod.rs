//! The cutover description: one TOML file per cutover (SPEC §3).
//!
//! The types here are what the rest of the program reads. Loading (environment
//! expansion, locations, "did you mean") lives in `load`; semantic checks in
//! `validate`.

pub mod duration;
pub mod load;
pub mod report;
pub mod schema;
pub mod validate;

pub use duration::{Dur, Offset};
pub use load::{load_file, load_str, load_str_with_env, read_config, ConfigError, Problem};
pub use report::{run_validate, validate_text};

use crate::condition::Condition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub cutover: Cutover,
    #[serde(default, rename = "source")]
    pub sources: Vec<Source>,
    #[serde(default, rename = "signal")]
    pub signals: Vec<Signal>,
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
    #[serde(default, rename = "action")]
    pub actions: Vec<ActionCfg>,
    #[serde(default)]
    pub ui: Ui,
    /// `[keys]`: the built-in keys rebound, by name (`tick = ["Space", "x"]`); the key
    /// map in `app::keys` reads it, with `rollback_key` and each action's `key`.
    #[serde(default)]
    pub keys: BTreeMap<String, KeyList>,
    /// What the loader put in from the environment that must never be shown (see
    /// `load`): not part of the file's format, never written out.
    #[serde(skip)]
    pub secrets: Vec<crate::secrets::Secret>,
}

/// One key or a list of keys, as written in `[keys]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn keys(&self) -> &[String] {
        match self {
            KeyList::One(k) => std::slice::from_ref(k),
            KeyList::Many(ks) => ks,
        }
    }
}

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = KeyList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key (\"x\", \"Space\", \"F9\") or a list of keys")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<KeyList, E> {
                Ok(KeyList::One(s.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<KeyList, A::Error> {
                let mut ks = Vec::new();
                while let Some(k) = a.next_element::<String>()? {
                    ks.push(k);
                }
                Ok(KeyList::Many(ks))
            }
        }
        d.deserialize_any(V)
    }
}

/// An operator action (SPEC §5): a request or a command, fired only after the
/// confirmation phrase is typed, once, audited and verified.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionCfg {
    pub id: String,
    /// One character; the first `danger` action is also opened by the rollback key.
    pub key: String,
    pub label: String,
    /// A rollback or anything else that changes production: drawn in danger style.
    #[serde(default)]
    pub danger: bool,
    #[serde(default)]
    pub request: Option<RequestCfg>,
    #[serde(default)]
    pub command: Option<CommandCfg>,
    /// The phrase to type before Enter fires it; default: the action id.
    #[serde(default)]
    pub confirm: Option<String>,
    #[serde(default)]
    pub verify: Option<VerifyCfg>,
    /// After an attempt succeeded, how long past its verdict a second attempt still needs
    /// the deliberate `… again` phrase; default: the verify window, or 60 s without one.
    #[serde(default)]
    pub cooldown: Option<Dur>,
}

/// The cooldown of an action without `verify` and without its own `cooldown`.
const DEFAULT_COOLDOWN_MS: i64 = 60_000;

impl ActionCfg {
    pub fn confirm_phrase(&self) -> &str {
        self.confirm.as_deref().unwrap_or(&self.id)
    }

    /// The phrase of a deliberate second attempt after a success: the usual phrase and
    /// `again`, so the usual phrase typed from habit fires nothing.
    pub fn again_phrase(&self) -> String {
        format!("{} again", self.confirm_phrase())
    }

    /// See `cooldown`.
    pub fn cooldown_ms(&self) -> i64 {
        match (&self.cooldown, &self.verify) {
            (Some(c), _) => c.as_ms(),
            (None, Some(v)) => v.within.as_ms(),
            (None, None) => DEFAULT_COOLDOWN_MS,
        }
    }

    /// How long the request or command may take (0 when it has neither).
    pub fn timeout_ms(&self) -> i64 {
        match (&self.request, &self.command) {
            (Some(r), _) => r.timeout.as_ms(),
            (_, Some(c)) => c.timeout.as_ms(),
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestCfg {
    #[serde(default = "default_method")]
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Sent as is (JSON usually); `Content-Type` defaults to application/json.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default = "default_action_timeout")]
    pub timeout: Dur,
    /// Read `Authorization: Bearer <token>` from this file (refused if others can read it).
    #[serde(default)]
    pub token_file: Option<String>,
    /// Use this source's TLS settings (ca_file, insecure_tls).
    #[serde(default)]
    pub tls_from: Option<String>,
}

fn default_method() -> String {
    "POST".into()
}
fn default_action_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(10))
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommandCfg {
    /// The program and its arguments, never a shell string.
    pub argv: Vec<String>,
    #[serde(default = "default_command_timeout")]
    pub timeout: Dur,
    /// Extra environment for the command (the rest is inherited).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub cwd: Option<String>,
}

fn default_command_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(60))
}

/// After success: poll these conditions at 1 s until all hold or `within` passes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyCfg {
    pub within: Dur,
    #[serde(rename = "all")]
    pub conditions: Vec<VerifyCond>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyCond {
    /// A signal id (every row of an `each` signal must hold).
    pub signal: String,
    /// e.g. `== false`, `< 2`.
    pub is: Condition,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Cutover {
    pub name: String,
    /// `production`, `staging`… always shown in the header.
    #[serde(default)]
    pub environment: Option<String>,
    /// RFC 3339. Without it T0 is marked from the dashboard (or `--t0`).
    #[serde(default)]
    pub t0: Option<String>,
    /// Visible timeline window, default `-15m`..`+60m`.
    #[serde(default = "default_window_start")]
    pub window_start: Offset,
    #[serde(default = "default_window_end")]
    pub window_end: Offset,
    /// Raise ROLLBACK ADVISED when the rule holds.
    #[serde(default)]
    pub rollback_when: Option<RollbackWhen>,
    /// The key that opens the first `danger` action, named in the banner: one
    /// character or a key name (`F9`, `Ctrl-R`).
    #[serde(default = "default_rollback_key")]
    pub rollback_key: String,
    /// The phase derived from signals (e.g. cohortlens's flags): the first rule whose
    /// conditions all hold names the phase in the header, before the timeline's.
    #[serde(default, rename = "phase_rule")]
    pub phase_rules: Vec<PhaseRule>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseRule {
    pub name: String,
    #[serde(rename = "when")]
    pub conditions: Vec<VerifyCond>,
}

fn default_window_start() -> Offset {
    Offset(-15 * 60_000)
}
fn default_window_end() -> Offset {
    Offset(60 * 60_000)
}
/// The environment of a config that names none: its audit log and records say so.
pub const DEFAULT_ENVIRONMENT: &str = "default";

impl Cutover {
    /// `[cutover] environment`, or `default` when it is not set.
    pub fn environment_name(&self) -> &str {
        self.environment
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .unwrap_or(DEFAULT_ENVIRONMENT)
    }
}

fn default_rollback_key() -> String {
    "R".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackWhen {
    /// Any `critical` signal in `crit` for at least this long (default 0: at once).
    #[serde(default)]
    pub critical_for: Dur,
    /// At least this many critical rows in `crit` at once (default 1).
    #[serde(default = "one")]
    pub min_signals: usize,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// GET `url`; the JSON body is what signal paths read.
    Http,
    /// An instant PromQL `query` against a Prometheus-compatible API (`{url}/api/v1/query`);
    /// each series of the result is a row.
    Prometheus,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub id: String,
    pub kind: SourceKind,
    /// For `prometheus`: the server's base URL (`/api/v1/query` is appended unless present).
    pub url: String,
    /// For `prometheus` (required there, refused elsewhere): the PromQL instant query.
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default = "default_interval")]
    pub interval: Dur,
    /// Total time-out for one poll (connect, headers and body).
    #[serde(default = "default_timeout")]
    pub timeout: Dur,
    /// Default: 2 s, or `timeout` when that is shorter.
    #[serde(default)]
    pub connect_timeout: Option<Dur>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Bodies larger than this are cut and the poll is an error.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// `check` exits 3 when a required source yields no data.
    #[serde(default = "yes")]
    pub required: bool,
    /// Read `Authorization: Bearer <token>` from this file (refused if others can read it).
    #[serde(default)]
    pub token_file: Option<String>,
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Only when written explicitly; shown as a warning in the header.
    #[serde(default)]
    pub insecure_tls: bool,
}

fn default_interval() -> Dur {
    Dur(std::time::Duration::from_secs(5))
}
fn default_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(3))
}
impl Source {
    /// The connect time-out in force: as written, else 2 s capped by `timeout`.
    pub fn connect_timeout(&self) -> std::time::Duration {
        self.connect_timeout
            .map(|d| d.0)
            .unwrap_or_else(|| std::time::Duration::from_secs(2).min(self.timeout.0))
    }
}
fn default_max_body() -> u64 {
    1024 * 1024
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalKind {
    /// A state (bool, string or number) whose changes are events.
    Flag,
    /// A number with a unit, judged against thresholds.
    Metric,
    /// The source's reachability / HTTP status (value: the status code).
    Health,
}

/// Which band a no-data state counts as once it has lasted `stale_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NoDataPolicy {
    Ok,
    #[default]
    Warn,
    Crit,
}

/// What the thresholds look at: the value itself or its delta to the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum JudgeOn {
    #[default]
    Value,
    /// `value - baseline`, in the signal's unit.
    Delta,
    /// `(value - baseline) / baseline * 100`, in percent.
    DeltaPct,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Advice {
    #[serde(default)]
    pub ok: Option<String>,
    #[serde(default)]
    pub warn: Option<String>,
    #[serde(default)]
    pub crit: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    pub id: String,
    /// The `id` of a `[[source]]`.
    pub source: String,
    #[serde(default)]
    pub label: Option<String>,
    pub kind: SignalKind,
    /// jq-style path to the value (relative to each element when `each` is set).
    #[serde(default)]
    pub path: Option<String>,
    /// jq-style path to an array whose elements become one row each.
    #[serde(default)]
    pub each: Option<String>,
    /// Path inside each element that names its row (e.g. `.path`). On a `prometheus`
    /// source: a label template (`{{service}}`, `{{path}} {{code}}`) naming one row per series.
    #[serde(default)]
    pub name: Option<String>,
    /// Path inside each element: truthy marks the row critical.
    #[serde(default)]
    pub critical_if: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    /// Multiply the raw number by this before showing and judging (100 shows a fraction as %).
    #[serde(default)]
    pub scale: Option<f64>,
    /// Another signal's id shown beside this one with the delta.
    #[serde(default)]
    pub baseline: Option<String>,
    #[serde(default)]
    pub on: JudgeOn,
    #[serde(default)]
    pub warn: Option<Condition>,
    #[serde(default)]
    pub crit: Option<Condition>,
    /// The condition must hold this long before the band rises.
    #[serde(default, rename = "for")]
    pub for_: Option<Dur>,
    /// `[m, n]`: m of the last n samples must hold before the band rises.
    #[serde(default)]
    pub m_of_n: Option<[u32; 2]>,
    /// The condition must be clear this long before the band falls.
    #[serde(default)]
    pub clear_for: Option<Dur>,
    /// Its `crit` raises the banner and counts for `check`'s exit 1.
    #[serde(default)]
    pub critical: bool,
    /// Which band no data counts as. Unset, no data on a critical signal is never a pass
    /// (`check` exits 3, the report says NO DATA); set, it is judged as that band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_data: Option<NoDataPolicy>,
    /// Default: three intervals of its source.
    #[serde(default)]
    pub stale_after: Option<Dur>,
    #[serde(default)]
    pub advice: Advice,
}

impl Signal {
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.id)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at: Offset,
    pub title: String,
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub checklist: Vec<String>,
    /// A GO/NO-GO point that needs a named sign-off.
    #[serde(default)]
    pub gate: bool,
    /// A command (a runbook script) run from the dashboard after confirmation; its exit
    /// status and bounded output are kept as evidence.
    #[serde(default)]
    pub run: Option<CommandCfg>,
    /// Conditions on signals that should hold once this step is reached (shown on the step).
    #[serde(default)]
    pub expect: Vec<VerifyCond>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    #[serde(default)]
    pub theme: Option<String>,
    /// Upper bound on frames per second.
    #[serde(default = "default_fps")]
    pub max_fps: u32,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub ascii: bool,
}

impl Default for Ui {
    fn default() -> Self {
        Ui {
            theme: None,
            max_fps: default_fps(),
            read_only: false,
            ascii: false,
        }
    }
}

fn default_fps() -> u32 {
    20
}
