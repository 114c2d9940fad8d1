//! GO/NO-GO gates, judged from the signatures the audit log holds: where each gate
//! stands, and whether it holds an action back. Read-only over `State`, so the screen,
//! the confirmation and the report all judge a gate the same way.
//!
//! A gate's standing is each approver's latest decision: any NO-GO makes it NO-GO (until
//! that approver signs GO again); GO from `quorum` different approvers makes it GO. A
//! NO-GO stops every forward action that waits for that gate or a later one; a `danger`
//! action (a rollback) is never held back. A gate with `hold_required` also holds back
//! while any of its holds is short of its window, and GO cannot be signed on it then.

use super::{SignOff, State};
use crate::config::Step;

/// Where a gate stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateVerdict {
    /// Enough different approvers signed GO, and none NO-GO.
    Go,
    /// An approver's latest decision is NO-GO.
    NoGo { by: SignOff },
    /// Fewer GOs than the quorum, and no NO-GO.
    Pending { have: usize, need: usize },
}

/// Why an action cannot be confirmed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The gate step that holds it back.
    pub step: usize,
    /// `BLOCKED: gate "…" unsigned (approvers: …)`.
    pub text: String,
}

/// Each approver's latest decision on `step`, in signing order. Names the step does not
/// list are left out (another screen's config may list others).
pub fn decisions<'a>(step: &Step, signatures: &'a [SignOff]) -> Vec<&'a SignOff> {
    let mut latest: Vec<&SignOff> = Vec::new();
    for s in signatures {
        if step.approver(&s.name).is_none() {
            continue;
        }
        latest.retain(|l| !same_name(&l.name, &s.name));
        latest.push(s);
    }
    latest
}

/// The gate's standing, counting a GO only when `counts` says so.
fn verdict(step: &Step, signatures: &[SignOff], counts: impl Fn(&SignOff) -> bool) -> GateVerdict {
    let latest = decisions(step, signatures);
    if let Some(no) = latest.iter().find(|s| !s.go) {
        return GateVerdict::NoGo { by: (*no).clone() };
    }
    let have = latest.iter().filter(|s| s.go && counts(s)).count();
    let need = step.quorum();
    if have >= need {
        GateVerdict::Go
    } else {
        GateVerdict::Pending { have, need }
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Would `account` fire what it approved itself? The approver named is that account.
fn self_approved(s: &SignOff, account: &str) -> bool {
    same_name(&s.name, account)
}

/// `Ana, Luis`, or `any named person` for a gate that lists none.
pub fn approvers_text(step: &Step) -> String {
    if step.approvers.is_empty() {
        "any named person".into()
    } else {
        step.approvers
            .iter()
            .map(|a| a.trim())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl State {
    /// `cfg.steps[step]`'s standing, if it is a gate.
    pub fn gate_verdict(&self, step: usize) -> Option<GateVerdict> {
        let st = self.cfg.steps.get(step).filter(|s| s.gate)?;
        let sigs = self.signoffs.get(step).map_or(&[][..], Vec::as_slice);
        Some(verdict(st, sigs, |_| true))
    }

    /// What holds `cfg.actions[i]` back from being confirmed on this screen, if anything.
    /// A `danger` action (a rollback) never waits.
    pub fn action_block(&self, i: usize) -> Option<Blocked> {
        let a = self.cfg.actions.get(i).filter(|a| !a.danger)?;
        self.gate_block(&a.requires.as_ref()?.gate)
    }

    /// What holds `cfg.steps[step]`'s script back, if anything.
    pub fn step_block(&self, step: usize) -> Option<Blocked> {
        let st = self.cfg.steps.get(step)?;
        self.gate_block(&st.requires.as_ref()?.gate)
    }

    /// What the gate of id `want` holds back on this screen: that gate not yet GO, a
    /// NO-GO at it or at an earlier gate, or (with `forbid_self_approval`) only GOs whose
    /// approver is this account.
    fn gate_block(&self, want: &str) -> Option<Blocked> {
        let (g, gate) = self
            .cfg
            .steps
            .iter()
            .enumerate()
            .find(|(_, s)| s.id.as_deref() == Some(want))?;
        // A NO-GO stops the way forward: this gate, and every gate before it.
        let mut earlier: Vec<usize> = (0..self.cfg.steps.len())
            .filter(|&s| self.cfg.steps[s].gate && self.cfg.steps[s].at.0 <= gate.at.0)
            .collect();
        earlier.sort_by_key(|&s| self.cfg.steps[s].at.0);
        for s in earlier {
            if let Some(GateVerdict::NoGo { by }) = self.gate_verdict(s) {
                return Some(Blocked {
                    step: s,
                    text: format!(
                        "BLOCKED: gate \"{}\" is NO-GO (signed by {} ({}) at {} UTC)",
                        self.cfg.steps[s].title,
                        by.name,
                        by.by,
                        by.at.format("%H:%M:%S")
                    ),
                });
            }
        }
        // A gate that waits for its holds holds back while they are short, whatever was
        // signed: the GO was given on evidence that no longer stands (or not yet).
        if let Some(why) = self.hold_short(g) {
            return Some(Blocked {
                step: g,
                text: format!(
                    "BLOCKED: gate \"{}\" waits for its holds: {why}",
                    gate.title
                ),
            });
        }
        let sigs = self.signoffs.get(g).map_or(&[][..], Vec::as_slice);
        let me = self.user.as_str();
        let own = |s: &SignOff| gate.forbid_self_approval && self_approved(s, me);
        match verdict(gate, sigs, |s| !own(s)) {
            GateVerdict::Go => None,
            GateVerdict::NoGo { .. } => None, // reported above
            GateVerdict::Pending { have, need } => {
                let approvers = approvers_text(gate);
                let mine: Vec<&SignOff> = decisions(gate, sigs)
                    .into_iter()
                    .filter(|s| s.go && own(s))
                    .collect();
                let text = if let Some(so) = mine.first() {
                    format!(
                        "BLOCKED: gate \"{}\" forbids self-approval: the GO of {} ({}) does not count for {me}, who would fire it (approvers: {approvers}); another approver signs GO, or another account fires it",
                        gate.title, so.name, so.by
                    )
                } else if have == 0 && need == 1 {
                    format!(
                        "BLOCKED: gate \"{}\" unsigned (approvers: {approvers})",
                        gate.title
                    )
                } else if have == 0 {
                    format!(
                        "BLOCKED: gate \"{}\" unsigned: it needs GO from {need} different approvers (approvers: {approvers})",
                        gate.title
                    )
                } else {
                    format!(
                        "BLOCKED: gate \"{}\" has {have} of the {need} GOs it needs (approvers: {approvers})",
                        gate.title
                    )
                };
                Some(Blocked { step: g, text })
            }
        }
    }
}
