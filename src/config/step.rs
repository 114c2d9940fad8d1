//! `[[step]]`: a point of the runbook on the timeline, with its checklist, its gate, the
//! script it may run and what should hold once it is reached.

use super::action::{CommandCfg, VerifyCond, COMMAND, VERIFY_COND};
use super::schema::{kp, Shape, TableSchema};
use super::validate::Out;
use super::{Config, Offset};
use serde::{Deserialize, Serialize};

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

pub static STEP: TableSchema = TableSchema {
    name: "[[step]]",
    keys: &[
        ("at", Shape::Any),
        ("title", Shape::Any),
        ("phase", Shape::Any),
        ("checklist", Shape::Any),
        ("gate", Shape::Any),
        ("run", Shape::Table(&COMMAND)),
        ("expect", Shape::Tables(&VERIFY_COND)),
    ],
    required: &["at", "title"],
};

/// Each step on its own; a step written twice and the signals `expect` names are
/// checked across tables (`validate`).
pub(super) fn check(cfg: &Config, out: &mut Out) {
    for (i, s) in cfg.steps.iter().enumerate() {
        if s.title.trim().is_empty() {
            out.push(kp!["step", i, "title"], "step `title` is empty", None);
        }
        if let Some(run) = &s.run {
            match run.argv.first() {
                None => out.push(
                    kp!["step", i, "run", "argv"],
                    "`run.argv` is empty: there is no program to run",
                    Some(
                        "e.g. `run = { argv = [\"python\", \"scripts/perf_smoke_api_v1.py\"] }`"
                            .into(),
                    ),
                ),
                Some(p) if p.trim().is_empty() => out.push(
                    kp!["step", i, "run", "argv"],
                    "`run.argv[0]` is empty: there is no program to run",
                    None,
                ),
                _ => {}
            }
            if run.timeout.0.is_zero() {
                out.push(kp!["step", i, "run", "timeout"], "`run.timeout` is 0", None);
            }
        }
    }
}
