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
    /// How actions name this step (`[[action]] requires = { gate = "…" }`).
    #[serde(default)]
    pub id: Option<String>,
    pub at: Offset,
    pub title: String,
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub checklist: Vec<String>,
    /// A GO/NO-GO point that needs a named sign-off.
    #[serde(default)]
    pub gate: bool,
    /// Who may sign the gate: the typed name must be one of these (empty: any name).
    #[serde(default)]
    pub approvers: Vec<String>,
    /// How many different approvers must sign GO before the gate is GO (default 1).
    #[serde(default)]
    pub quorum: Option<u32>,
    /// A GO does not count for an action fired by the account its approver names: who
    /// approves is not who carries it out.
    #[serde(default)]
    pub forbid_self_approval: bool,
    /// A command (a runbook script) run from the dashboard after confirmation; its exit
    /// status and bounded output are kept as evidence.
    #[serde(default)]
    pub run: Option<CommandCfg>,
    /// Conditions on signals that should hold once this step is reached (shown on the step).
    #[serde(default)]
    pub expect: Vec<VerifyCond>,
    /// The step's `run` waits for this gate's GO, as a forward action does.
    #[serde(default)]
    pub requires: Option<super::action::Requires>,
}

pub static STEP: TableSchema = TableSchema {
    name: "[[step]]",
    keys: &[
        ("at", Shape::Any),
        ("title", Shape::Any),
        ("phase", Shape::Any),
        ("checklist", Shape::Any),
        ("id", Shape::Any),
        ("gate", Shape::Any),
        ("approvers", Shape::Any),
        ("quorum", Shape::Any),
        ("forbid_self_approval", Shape::Any),
        ("run", Shape::Table(&COMMAND)),
        ("expect", Shape::Tables(&VERIFY_COND)),
        ("requires", Shape::Table(&super::action::REQUIRES)),
    ],
    required: &["at", "title"],
};

impl Step {
    /// How many different approvers must sign GO.
    pub fn quorum(&self) -> usize {
        self.quorum.map_or(1, |q| q as usize).max(1)
    }

    /// The approver `typed` names (trimmed, case-insensitive), spelled as the config
    /// spells it; any non-empty name when the step lists none.
    pub fn approver(&self, typed: &str) -> Option<String> {
        let typed = typed.trim();
        if typed.is_empty() {
            return None;
        }
        if self.approvers.is_empty() {
            return Some(typed.to_string());
        }
        self.approvers
            .iter()
            .find(|a| a.trim().to_lowercase() == typed.to_lowercase())
            .map(|a| a.trim().to_string())
    }

    /// How the step is named in messages: its id, else its title.
    pub fn name(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.title)
    }
}

/// Each step on its own; a step written twice and the signals `expect` names are
/// checked across tables (`validate`).
pub(super) fn check(cfg: &Config, out: &mut Out) {
    for (i, s) in cfg.steps.iter().enumerate() {
        if s.title.trim().is_empty() {
            out.push(kp!["step", i, "title"], "step `title` is empty", None);
        }
        if s.id.as_deref().is_some_and(|id| id.trim().is_empty()) {
            out.push(kp!["step", i, "id"], "step `id` is empty", None);
        }
        gate(s, i, out);
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
            super::action::captures(&run.capture, kp!["step", i, "run"], out);
        }
    }
}

/// A gate's approvers and quorum: only on a gate, and a quorum the approvers can reach.
fn gate(s: &Step, i: usize, out: &mut Out) {
    if !s.gate {
        for (key, set) in [
            ("approvers", !s.approvers.is_empty()),
            ("quorum", s.quorum.is_some()),
            ("forbid_self_approval", s.forbid_self_approval),
        ] {
            if set {
                out.push_key(
                    kp!["step", i, key],
                    format!(
                        "`{key}` is only for a GO/NO-GO gate, and this step has no `gate = true`"
                    ),
                    Some("add `gate = true` to the step, or remove the key".into()),
                );
            }
        }
        return;
    }
    let mut seen: Vec<String> = Vec::new();
    for (j, a) in s.approvers.iter().enumerate() {
        let name = a.trim().to_lowercase();
        if name.is_empty() {
            out.push(
                kp!["step", i, "approvers", j],
                "an approver's name is empty",
                None,
            );
        } else if seen.contains(&name) {
            out.push(
                kp!["step", i, "approvers", j],
                format!("approver \"{}\" is listed twice", a.trim()),
                None,
            );
        } else {
            seen.push(name);
        }
    }
    match s.quorum {
        Some(0) => out.push(
            kp!["step", i, "quorum"],
            "`quorum` is 0: a gate needs at least one GO",
            Some("remove it (one GO is enough), or write e.g. `quorum = 2`".into()),
        ),
        Some(q) if !s.approvers.is_empty() && q as usize > s.approvers.len() => out.push(
            kp!["step", i, "quorum"],
            format!(
                "`quorum = {q}` can never be reached: the gate lists {} approver(s)",
                s.approvers.len()
            ),
            Some("list more `approvers`, or lower the quorum".into()),
        ),
        _ => {}
    }
}
