//! `[[step]]`: a point of the runbook on the timeline, with its checklist, its gate, the
//! script it may run and what should hold once it is reached.

use super::action::{CommandCfg, VerifyCond, COMMAND, VERIFY_COND};
use super::schema::{kp, Shape, TableSchema};
use super::validate::Out;
use super::{Config, Dur, Offset};
use crate::condition::Condition;
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
    /// Conditions that must have held without a break for days (`v2_err < 0.1` for 7d),
    /// judged over every recording of the cutover and the live polls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hold: Vec<Hold>,
    /// A gate that waits for its holds: GO cannot be signed, and the actions it holds
    /// back stay blocked, until every hold has held for its whole `for`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hold_required: bool,
}

/// `hold = [{ signal = "v2_err", is = "< 0.1", for = "7d", max_gap = "15m" }]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hold {
    /// A signal id (every row of an `each` signal must hold).
    pub signal: String,
    /// The condition every sample must meet, e.g. `< 0.1` (a unit that converts to the
    /// signal's may be written: `< 0.1%`, `< 2s`).
    pub is: Condition,
    /// How long it must have held, counting back from now.
    #[serde(rename = "for")]
    pub for_: Dur,
    /// The longest stretch without a sample that still counts as watched; longer, the
    /// hold starts again after it. Default: the signal's `stale_after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_gap: Option<Dur>,
}

pub static HOLD: TableSchema = TableSchema {
    name: "[[step.hold]]",
    keys: &[
        ("signal", Shape::Any),
        ("is", Shape::Any),
        ("for", Shape::Any),
        ("max_gap", Shape::Any),
    ],
    required: &["signal", "is", "for"],
};

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
        ("hold", Shape::Tables(&HOLD)),
        ("hold_required", Shape::Any),
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
        holds(s, i, out);
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

/// A step's holds on their own: windows and gaps that can be judged, and
/// `hold_required` only on a gate that has holds. The signals they name are checked
/// across tables (`validate`).
fn holds(s: &Step, i: usize, out: &mut Out) {
    for (j, h) in s.hold.iter().enumerate() {
        if h.for_.0.is_zero() {
            out.push(
                kp!["step", i, "hold", j, "for"],
                "a hold's `for` is 0: there is nothing to hold",
                Some("write how long it must hold, e.g. `for = \"7d\"`".into()),
            );
        }
        if let Some(g) = h.max_gap {
            if g.0.is_zero() {
                out.push(
                    kp!["step", i, "hold", j, "max_gap"],
                    "`max_gap` is 0: any two samples are apart, so nothing would ever hold",
                    Some("write the longest unwatched stretch that still counts, e.g. `max_gap = \"15m\"`".into()),
                );
            } else if g.0 >= h.for_.0 && !h.for_.0.is_zero() {
                out.push(
                    kp!["step", i, "hold", j, "max_gap"],
                    format!(
                        "`max_gap` ({}) is not shorter than `for` ({}): the whole window could go unwatched",
                        crate::timefmt::format_days(g.0),
                        crate::timefmt::format_days(h.for_.0)
                    ),
                    Some("a gap is a small part of the window, e.g. `for = \"7d\", max_gap = \"15m\"`".into()),
                );
            }
        }
    }
    if s.hold_required {
        if !s.gate {
            out.push_key(
                kp!["step", i, "hold_required"],
                "`hold_required` is only for a GO/NO-GO gate, and this step has no `gate = true`",
                Some("add `gate = true` to the step, or remove the key".into()),
            );
        } else if s.hold.is_empty() {
            out.push_key(
                kp!["step", i, "hold_required"],
                "`hold_required = true`, but the step has no `hold` to wait for",
                Some("add e.g. `hold = [{ signal = \"v2_err\", is = \"< 0.1\", for = \"7d\", max_gap = \"15m\" }]`".into()),
            );
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
