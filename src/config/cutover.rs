//! `[cutover]`, `[cutover.rollback_when]` and `[[cutover.phase_rule]]`: what the cutover
//! is called, where it runs, its T0, its timeline window and when to advise a rollback.

use super::action::{VerifyCond, VERIFY_COND};
use super::schema::{kp, Shape, TableSchema};
use super::validate::Out;
use super::{Config, Dur, Offset};
use serde::{Deserialize, Serialize};

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

pub static CUTOVER: TableSchema = TableSchema {
    name: "[cutover]",
    keys: &[
        ("name", Shape::Any),
        ("environment", Shape::Any),
        ("t0", Shape::Any),
        ("window_start", Shape::Any),
        ("window_end", Shape::Any),
        ("rollback_when", Shape::Table(&ROLLBACK_WHEN)),
        ("rollback_key", Shape::Any),
        ("phase_rule", Shape::Tables(&PHASE_RULE)),
    ],
    required: &["name"],
};

pub static PHASE_RULE: TableSchema = TableSchema {
    name: "[[cutover.phase_rule]]",
    keys: &[("name", Shape::Any), ("when", Shape::Tables(&VERIFY_COND))],
    required: &["name", "when"],
};

pub static ROLLBACK_WHEN: TableSchema = TableSchema {
    name: "[cutover.rollback_when]",
    keys: &[("critical_for", Shape::Any), ("min_signals", Shape::Any)],
    required: &[],
};

/// `rollback_key` is checked with every other key (`keys`); the signals `rollback_when`
/// and the phase rules name, across tables (`validate`).
pub(super) fn check(cfg: &Config, out: &mut Out) {
    let c = &cfg.cutover;
    if c.name.trim().is_empty() {
        out.push(
            kp!["cutover", "name"],
            "`name` is empty",
            Some("name the cutover, e.g. `name = \"Brokers v2 cutover\"`".into()),
        );
    }
    if let Some(t0) = &c.t0 {
        if t0.trim().eq_ignore_ascii_case("now") {
            // "now" in a file would move T0 to each start of each screen: the room
            // would disagree on the T clock. The command line means this start.
            out.push(
                kp!["cutover", "t0"],
                "`t0 = \"now\"` would move T0 to every start of every screen",
                Some("mark T0 once: `--t0 now` on the command line, `t` on the dashboard, or write the time, e.g. `t0 = \"2026-03-14T21:00:00Z\"`".into()),
            );
        } else if chrono::DateTime::parse_from_rfc3339(t0).is_err() {
            out.push(
                kp!["cutover", "t0"],
                format!("`t0` \"{t0}\" is not an RFC 3339 time"),
                Some("write e.g. `t0 = \"2026-03-14T21:00:00Z\"`, or leave it out and mark T0 from the dashboard".into()),
            );
        }
    }
    if c.window_start >= c.window_end {
        out.push(
            kp!["cutover", "window_end"],
            format!(
                "`window_end` ({}) must be after `window_start` ({})",
                crate::timefmt::format_offset(c.window_end.0),
                crate::timefmt::format_offset(c.window_start.0)
            ),
            None,
        );
    }
    if c.rollback_when
        .as_ref()
        .is_some_and(|rw| rw.min_signals == 0)
    {
        out.push(
            kp!["cutover", "rollback_when", "min_signals"],
            "`min_signals` must be at least 1",
            None,
        );
    }
    for (i, r) in c.phase_rules.iter().enumerate() {
        if r.name.trim().is_empty() {
            out.push(
                kp!["cutover", "phase_rule", i, "name"],
                "phase rule `name` is empty",
                None,
            );
        }
    }
}
