//! `warroom report FILE`: the evidence of a cutover, from its recording. The recording is
//! replayed through the same engine as the live screen, so the report's bands and verdict
//! are the screen's. Deterministic: the same recording gives the same bytes.

use crate::audit::AuditEvent;
use crate::engine::{no_data_findings, Band, Coverage, EventKind, Status};
use crate::record::{Line, Recording};
use crate::replay::Replayer;
use crate::sample::{Mono, Stamp, Ts, Value};
use crate::timefmt::{format_span, hms};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cutover: String,
    pub environment: Option<String>,
    /// The session's id (several sessions may share one recording file).
    pub session: Option<String>,
    pub recorded_from: String,
    pub recorded_to: String,
    pub complete: bool,
    /// Why the recording does not hold the whole session ("incomplete: write failed at …").
    pub incomplete: Option<String>,
    pub t0_planned: Option<String>,
    pub t0_actual: Option<String>,
    pub people: Vec<String>,
    /// Notes written before the first step (or with no T0), which no step holds.
    pub notes_before: Vec<String>,
    pub steps: Vec<StepReport>,
    pub breaches: Vec<Breach>,
    pub actions: Vec<ActionReport>,
    pub signals: Vec<SignalSummary>,
    /// Critical signals without data where a pass needed it (never had any, or went
    /// without for longer than `stale_after`), and required sources not answering at the
    /// end, each with why.
    pub no_data: Vec<String>,
    pub problems: Vec<String>,
    pub verdict: String,
    /// Each step's holds, judged over every session reported (on the latest session's
    /// report: the holds' standing at the end of what was recorded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<HoldReport>,
}

/// A hold as the report states it.
#[derive(Debug, Clone, Serialize)]
pub struct HoldReport {
    pub step: String,
    /// `HELD`, `HOLDING`, `BROKEN`, `NOT WATCHED`, `NO DATA`.
    pub standing: String,
    /// `held 3d04h of 7d · gap 1h12m at … · broken at … by 0.14%`.
    pub text: String,
    /// The step's gate waits for it (`hold_required`).
    pub gate_waits: bool,
    pub sessions: usize,
    #[serde(flatten)]
    pub verdict: crate::engine::hold::HoldVerdict,
}

/// Every hold of `cfg`, judged over `recs` at the end of the latest.
pub fn holds(cfg: &crate::config::Config, recs: &[&Recording]) -> Vec<HoldReport> {
    crate::holds::judge_recordings(cfg, recs)
        .into_iter()
        .map(|(step, v)| HoldReport {
            step: cfg
                .steps
                .get(step)
                .map(|s| s.title.clone())
                .unwrap_or_default(),
            standing: v.word().to_string(),
            text: v.text(true),
            gate_waits: cfg.steps.get(step).is_some_and(|s| s.hold_required),
            sessions: recs.len(),
            verdict: v,
        })
        .collect()
}

/// The report's holds section (nothing without holds).
fn holds_markdown(holds: &[HoldReport]) -> String {
    let Some(first) = holds.first() else {
        return String::new();
    };
    let mut o = format!(
        "## Holds\n\nJudged over {} recorded session{}, at the end of the latest:\n\n",
        first.sessions,
        if first.sessions == 1 { "" } else { "s" }
    );
    for h in holds {
        o.push_str(&format!(
            "- **{}** — {} on \"{}\"{}: {}\n",
            h.standing,
            h.verdict.title,
            h.step,
            if h.gate_waits {
                " (its gate waits for it)"
            } else {
                ""
            },
            h.text
        ));
    }
    o.push('\n');
    o
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub at: String,
    pub title: String,
    pub planned: Option<String>,
    pub actual: Option<String>,
    pub gate: Option<String>,
    pub items: Vec<ItemReport>,
    pub runs: Vec<String>,
    /// Operators' notes written while this step was the current one.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    pub text: String,
    pub ticked_by: Option<String>,
    pub at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Breach {
    pub signal: String,
    pub start: String,
    pub end: Option<String>,
    pub duration: String,
    pub worst: Option<String>,
    pub threshold: String,
    pub critical: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    pub action: String,
    pub by: String,
    pub at: String,
    pub attempt: u64,
    pub request: String,
    pub result: Option<String>,
    pub verification: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignalSummary {
    pub row: String,
    pub unit: Option<String>,
    pub samples: usize,
    pub min: Option<f64>,
    pub median: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
    pub last: Option<String>,
    /// Seconds spent in each state.
    pub time_in: BTreeMap<String, i64>,
}

/// The sessions recorded in the environment `env` (all of them without one); none is an
/// error naming the environments the file holds.
pub fn of_environment(
    all: Vec<crate::record::Recording>,
    env: Option<&str>,
    shown: &str,
) -> Result<Vec<crate::record::Recording>, String> {
    let Some(env) = env else {
        return Ok(all);
    };
    let env_of = |r: &crate::record::Recording| match r.header() {
        Some(Line::Header { environment, .. }) => environment
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .unwrap_or(crate::config::DEFAULT_ENVIRONMENT)
            .to_string(),
        _ => crate::config::DEFAULT_ENVIRONMENT.to_string(),
    };
    let mut seen: Vec<String> = all.iter().map(env_of).collect();
    seen.dedup();
    let mine: Vec<_> = all.into_iter().filter(|r| env_of(r) == env).collect();
    if mine.is_empty() {
        return Err(format!(
            "{shown}: no session recorded in environment \"{env}\" (it holds: {})",
            seen.join(", ")
        ));
    }
    Ok(mine)
}

/// A gate as the report states it: where it stands, every signature (name typed and the
/// account that typed it), and any break-glass override of it.
fn gate_line(
    state: &crate::app::State,
    i: usize,
    st: &crate::config::Step,
    overrides: &BTreeMap<usize, Vec<String>>,
) -> String {
    use crate::app::GateVerdict;
    let sigs = state.signoffs().get(i).map_or(&[][..], Vec::as_slice);
    let standing = match state.gate_verdict(i) {
        Some(GateVerdict::Go) => "GO".to_string(),
        Some(GateVerdict::NoGo { .. }) => "NO-GO".to_string(),
        Some(GateVerdict::Pending { have: 0, .. }) | None => "not signed".to_string(),
        Some(GateVerdict::Pending { have, need }) => format!("pending, {have} of {need} GO"),
    };
    let mut parts = vec![standing];
    if !st.approvers.is_empty() || st.quorum() > 1 {
        parts.push(format!(
            "approvers: {}; GO needed from {}",
            crate::app::gate::approvers_text(st),
            st.quorum()
        ));
    }
    for so in sigs {
        parts.push(format!(
            "{} signed by {} ({}) at {}",
            if so.go { "GO" } else { "NO-GO" },
            so.name,
            so.by,
            t(so.at)
        ));
    }
    parts.extend(overrides.get(&i).into_iter().flatten().cloned());
    parts.join(" · ")
}

/// The step that was current at `at` (the last one whose offset from T0 had passed);
/// None before the first step or without T0.
fn step_at(cfg: &crate::config::Config, t0: Option<Ts>, at: Ts) -> Option<usize> {
    let off = (at - t0?).num_milliseconds();
    cfg.steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.at.0 <= off)
        .max_by_key(|(_, s)| s.at.0)
        .map(|(i, _)| i)
}

fn t(ts: Ts) -> String {
    ts.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn pct(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied()
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The later of two moments, on the monotonic clock.
fn later(a: Stamp, b: Stamp) -> Stamp {
    if b.mono > a.mono {
        b
    } else {
        a
    }
}

/// Build the report from a recording.
pub fn build(rec: Recording) -> Result<Report, String> {
    let mut problems: Vec<String> = rec
        .bad
        .iter()
        .map(|(n, why)| format!("line {n}: {why}; skipped"))
        .collect();
    if rec.bad_unnamed > 0 {
        problems.push(format!(
            "{} more unreadable lines; skipped",
            rec.bad_unnamed
        ));
    }
    let incomplete = rec.incomplete();
    let complete = incomplete.is_none();
    let session = rec.session().map(String::from);
    let mut rp = Replayer::new(rec)?;
    let mut coverage = Coverage::new();
    let cfg = rp.config().clone();
    let start = rp.start();
    let (header_user, header_host, env) = match rp.recording().header() {
        Some(Line::Header {
            user,
            host,
            environment,
            ..
        }) => (user.clone(), host.clone(), environment.clone()),
        _ => (String::new(), String::new(), None),
    };
    let mut people: BTreeSet<String> = BTreeSet::new();
    people.insert(format!("{header_user}@{header_host}"));

    // Walk the recording once, integrating time in each state and collecting values.
    // Durations are monotonic (each line's `mono_ms`): a wall step inside the recording
    // neither adds nor removes time.
    let mut values: BTreeMap<String, Vec<(Mono, f64)>> = BTreeMap::new();
    let mut last_value: BTreeMap<String, String> = BTreeMap::new();
    let mut time_in: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let mut prev = start.mono;
    let mut step_actual: BTreeMap<usize, Ts> = BTreeMap::new();
    let mut actions: Vec<ActionReport> = Vec::new();
    let mut runs: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut t0_mark: Option<Ts> = None;
    let mut overrides: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut notes: Vec<(Ts, String)> = Vec::new();
    let lines = rp.recording().lines.clone();
    for (i, line) in lines.iter().enumerate().skip(1) {
        let mono = rp.mono_of(i);
        if mono > prev {
            let dt = (mono - prev).num_milliseconds();
            for r in &rp.state.engine.rows {
                *time_in
                    .entry(r.key.clone())
                    .or_default()
                    .entry(r.status.word().to_string())
                    .or_default() += dt;
            }
            prev = mono;
        }
        match line {
            Line::Poll { rows, .. } => {
                for r in rows {
                    if let Some(v) = &r.value {
                        let scale = cfg
                            .signals
                            .iter()
                            .find(|s| s.id == r.signal)
                            .and_then(|s| s.scale)
                            .unwrap_or(1.0);
                        if let Value::Num(n) = v {
                            values
                                .entry(r.key.clone())
                                .or_default()
                                .push((mono, n * scale));
                        }
                        let shown = match v {
                            Value::Num(n) => Value::Num(n * scale).to_string(),
                            other => other.to_string(),
                        };
                        last_value.insert(r.key.clone(), shown);
                    }
                }
            }
            Line::Audit {
                at,
                user,
                host,
                kind,
                details,
                ..
            } => {
                people.insert(format!("{user}@{host}"));
                let who = format!("{user}@{host}");
                let label_of = |id: &str| {
                    cfg.actions
                        .iter()
                        .find(|a| a.id == id)
                        .map(|a| a.label.clone())
                        .unwrap_or_else(|| id.to_string())
                };
                match AuditEvent::from_parts(kind, details.clone()) {
                    Ok(
                        AuditEvent::Tick(crate::audit::TickItem { step, .. })
                        | AuditEvent::Signoff(crate::audit::Signoff { step, .. })
                        | AuditEvent::StepRun(crate::audit::StepRun { step, .. }),
                    ) => {
                        step_actual.entry(step).or_insert(*at);
                    }
                    Ok(AuditEvent::T0Mark(_)) => t0_mark = Some(*at),
                    Ok(AuditEvent::Note(n)) => {
                        notes.push((*at, format!("{} by {who}: {}", hms(*at), n.text)))
                    }
                    Ok(AuditEvent::BreakGlass(b)) => {
                        overrides.entry(b.step).or_default().push(format!(
                            "BREAK GLASS by {who} at {} for \"{}\": {}",
                            hms(*at),
                            b.label,
                            b.reason
                        ));
                    }
                    Ok(AuditEvent::ActionConfirmed(c)) => actions.push(ActionReport {
                        action: c.label,
                        by: who,
                        at: t(*at),
                        attempt: u64::from(c.attempt),
                        request: match &c.break_glass {
                            Some(why) => format!(
                                "{} (past its gate, break glass: {why})",
                                c.target.first().cloned().unwrap_or_default()
                            ),
                            None => c.target.first().cloned().unwrap_or_default(),
                        },
                        result: None,
                        verification: None,
                    }),
                    Ok(AuditEvent::ActionResult(x)) => {
                        let label = label_of(&x.action);
                        if let Some(a) = actions
                            .iter_mut()
                            .rev()
                            .find(|a| a.action == label && a.attempt == u64::from(x.attempt))
                        {
                            a.result = Some(format!("{} at {}", x.summary, hms(*at)));
                        }
                    }
                    Ok(AuditEvent::VerifyResult(v)) => {
                        let label = label_of(&v.action);
                        let what = if v.verified {
                            format!(
                                "VERIFIED at {} (after {})",
                                hms(*at),
                                v.after.as_deref().unwrap_or("")
                            )
                        } else {
                            format!("NOT VERIFIED by {}: {}", hms(*at), v.failing.join(", "))
                        };
                        if let Some(a) = actions.iter_mut().rev().find(|a| a.action == label) {
                            a.verification = Some(what);
                        }
                    }
                    Ok(AuditEvent::StepRunResult(r)) => {
                        let excerpt: String =
                            r.excerpt.lines().take(5).collect::<Vec<_>>().join(" / ");
                        runs.entry(r.step).or_default().push(format!(
                            "{} by {who} at {}{}",
                            r.summary,
                            hms(*at),
                            if excerpt.is_empty() {
                                String::new()
                            } else {
                                format!(": {excerpt}")
                            }
                        ));
                    }
                    // One vocabulary with the screen: a line this version cannot read as
                    // an audit event tells nothing here either.
                    Ok(
                        AuditEvent::Untick(_)
                        | AuditEvent::ActionDeclined(_)
                        | AuditEvent::NotifyClaimed(_)
                        | AuditEvent::NotifySent(_)
                        | AuditEvent::NotifyFailed(_)
                        | AuditEvent::Other { .. },
                    )
                    | Err(_) => {}
                }
            }
            _ => {}
        }
        rp.step();
        // Only a poll brings data; the open stretch at the end is measured at the end.
        if matches!(line, Line::Poll { .. }) {
            coverage.observe(&rp.state.engine, rp.state.mono);
        }
    }
    let end = rp.end();
    let state = &rp.state;
    // No data is never a pass: the engine's own judgement over what was recorded.
    let findings = no_data_findings(&state.engine, Some(&coverage), later(end, state.stamp()));

    // Breaches: from the engine's own band changes.
    let mut open: BTreeMap<String, Stamp> = BTreeMap::new();
    let mut breaches = Vec::new();
    let row_info = |key: &str| {
        state.engine.rows.iter().find(|r| r.key == key).map(|r| {
            (
                r.label.clone(),
                r.threshold.clone(),
                r.critical,
                r.unit.clone(),
                r.signal,
            )
        })
    };
    let worst = |key: &str, from: Mono, to: Mono, sig: usize| -> Option<f64> {
        let vals: Vec<f64> = values
            .get(key)?
            .iter()
            .filter(|(at, _)| *at >= from && *at <= to)
            .map(|(_, v)| *v)
            .collect();
        let low_is_bad = cfg
            .signals
            .get(sig)
            .and_then(|s| s.crit.as_ref())
            .is_some_and(|c| matches!(c.op, crate::condition::Op::Lt | crate::condition::Op::Le));
        if low_is_bad {
            vals.into_iter().reduce(f64::min)
        } else {
            vals.into_iter().reduce(f64::max)
        }
    };
    let close = |key: &str, from: Stamp, to: Option<Stamp>, breaches: &mut Vec<Breach>| {
        if let Some((label, threshold, critical, unit, sig)) = row_info(key) {
            let stop = to.unwrap_or(end);
            breaches.push(Breach {
                signal: label,
                start: t(from.at),
                end: to.map(|x| t(x.at)),
                duration: format_span(stop.mono - from.mono),
                worst: worst(key, from.mono, stop.mono, sig).map(|v| {
                    format!(
                        "{}{}",
                        Value::Num(v),
                        unit.map(|u| format!(" {u}")).unwrap_or_default()
                    )
                }),
                threshold,
                critical,
            });
        }
    };
    for e in &rp.all_events {
        if let EventKind::BandChange { row, to, .. } = &e.kind {
            let crit = *to == Status::Band(Band::Crit);
            match (open.contains_key(row), crit) {
                (false, true) => {
                    open.insert(row.clone(), Stamp::new(e.at, e.mono));
                }
                (true, false) if matches!(to, Status::Band(_)) => {
                    if let Some(from) = open.remove(row) {
                        close(row, from, Some(Stamp::new(e.at, e.mono)), &mut breaches);
                    }
                }
                _ => {}
            }
        }
    }
    for (row, from) in open {
        close(&row, from, None, &mut breaches);
    }
    breaches.sort_by(|a, b| {
        (a.start.as_str(), a.signal.as_str()).cmp(&(b.start.as_str(), b.signal.as_str()))
    });

    // The timeline.
    let t0_actual = t0_mark.or(state.t0);
    let t0_planned = cfg
        .cutover
        .t0
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&chrono::Utc));
    let plan_base = t0_planned.or(t0_actual);
    let steps = cfg
        .steps
        .iter()
        .enumerate()
        .map(|(i, st)| StepReport {
            at: crate::timefmt::format_offset(st.at.0),
            title: st.title.clone(),
            planned: plan_base.map(|b| t(b + chrono::Duration::milliseconds(st.at.0))),
            actual: step_actual.get(&i).map(|a| t(*a)),
            gate: st.gate.then(|| gate_line(state, i, st, &overrides)),
            items: st
                .checklist
                .iter()
                .enumerate()
                .map(|(j, text)| {
                    let tick = state
                        .ticks
                        .get(i)
                        .and_then(|v| v.get(j))
                        .and_then(|x| x.as_ref());
                    ItemReport {
                        text: text.clone(),
                        ticked_by: tick.map(|tk| tk.by.clone()),
                        at: tick.map(|tk| t(tk.at)),
                    }
                })
                .collect(),
            runs: runs.get(&i).cloned().unwrap_or_default(),
            notes: notes
                .iter()
                .filter(|(at, _)| step_at(&cfg, t0_actual, *at) == Some(i))
                .map(|(_, n)| n.clone())
                .collect(),
        })
        .collect();

    // Per-signal summary, rows in the engine's order.
    let signals = state
        .engine
        .rows
        .iter()
        .map(|r| {
            let mut v: Vec<f64> = values
                .get(&r.key)
                .map(|x| x.iter().map(|(_, v)| *v).collect())
                .unwrap_or_default();
            v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            SignalSummary {
                row: r.label.clone(),
                unit: r.unit.clone(),
                samples: v.len(),
                min: v.first().copied().map(round),
                median: pct(&v, 0.5).map(round),
                p95: pct(&v, 0.95).map(round),
                max: v.last().copied().map(round),
                last: last_value.get(&r.key).cloned(),
                time_in: time_in
                    .get(&r.key)
                    .map(|m| {
                        m.iter()
                            .filter(|(_, ms)| **ms >= 1000)
                            .map(|(k, ms)| (k.clone(), ms / 1000))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();

    // The verdict.
    let critical: Vec<&Breach> = breaches.iter().filter(|b| b.critical).collect();
    // `no_data = "crit"`: the signal's own rule makes missing data a critical breach.
    let judged_crit = findings
        .iter()
        .filter(|f| f.counts_as == Some(Band::Crit))
        .count();
    let missing: Vec<&crate::engine::NoDataFinding> =
        findings.iter().filter(|f| f.counts_as.is_none()).collect();
    // A required source that does not answer at the end is no data too, as for `check`.
    let sources: Vec<String> = state
        .engine
        .required_sources_without_data()
        .iter()
        .map(|s| {
            format!(
                "required source {}: {}",
                s.id,
                s.last_error.as_deref().unwrap_or("no answer")
            )
        })
        .collect();
    let mut no_data: Vec<String> = missing.iter().map(|f| f.text()).collect();
    no_data.extend(sources.iter().cloned());
    // The verdict names them; the "No data" section says how long and why.
    let no_data_short = (!no_data.is_empty()).then(|| {
        let labels: Vec<&str> = missing.iter().map(|f| f.label.as_str()).collect();
        let mut parts = Vec::new();
        if !labels.is_empty() {
            parts.push(format!(
                "{} critical signal{} without data: {}",
                labels.len(),
                if labels.len() == 1 { "" } else { "s" },
                labels.join(", ")
            ));
        }
        parts.extend(sources.iter().cloned());
        format!("NO DATA — {}", parts.join("; "))
    });
    let danger: BTreeSet<String> = cfg
        .actions
        .iter()
        .filter(|a| a.danger)
        .map(|a| a.label.clone())
        .collect();
    let rollback = actions.iter().rev().find(|a| danger.contains(&a.action));
    let mut verdict = match (rollback, critical.len() + judged_crit) {
        (Some(a), n) => match &a.verification {
            Some(v) if v.starts_with("VERIFIED") => format!(
                "ROLLED BACK — \"{}\" by {} at {}, {v}; {n} critical breach(es)",
                a.action, a.by, a.at
            ),
            Some(v) => format!(
                "ROLLBACK {v} — \"{}\" by {}; {n} critical breach(es)",
                a.action, a.by
            ),
            None => format!(
                "ROLLBACK ATTEMPTED — \"{}\" by {}: {}; {n} critical breach(es)",
                a.action,
                a.by,
                a.result.as_deref().unwrap_or("no result recorded")
            ),
        },
        (None, 0) if no_data_short.is_some() => no_data_short.clone().unwrap_or_default(),
        (None, 0) => match &incomplete {
            Some(why) => format!(
                "INCOMPLETE — {}; no critical breach in what was recorded",
                why.trim_start_matches("incomplete: ")
            ),
            None => "OK — no critical breach while recorded".to_string(),
        },
        (None, n) => format!("BREACHED — {n} critical breach(es), no rollback recorded"),
    };
    // What the lead words leave out is still said: never a clean verdict over a gap.
    if let Some(nd) = no_data_short
        .as_ref()
        .filter(|_| !verdict.starts_with("NO DATA"))
    {
        verdict.push_str(&format!("; {nd}"));
    }
    if let Some(why) = &incomplete {
        if !verdict.starts_with("INCOMPLETE") {
            verdict.push_str(&format!("; {why}"));
        }
    }

    Ok(Report {
        cutover: cfg.cutover.name.clone(),
        environment: env,
        session,
        recorded_from: t(start.at),
        recorded_to: t(end.at),
        complete,
        incomplete,
        t0_planned: t0_planned.map(t),
        t0_actual: t0_actual.map(|x| {
            let how = if t0_mark.is_some() { " (marked)" } else { "" };
            format!("{}{how}", t(x))
        }),
        people: people.into_iter().collect(),
        notes_before: notes
            .iter()
            .filter(|(at, _)| step_at(&cfg, t0_actual, *at).is_none())
            .map(|(_, n)| n.clone())
            .collect(),
        steps,
        breaches,
        actions,
        signals,
        no_data,
        problems,
        verdict,
        holds: Vec::new(),
    })
}

fn num(x: Option<f64>) -> String {
    x.map(|v| Value::Num(v).to_string())
        .unwrap_or_else(|| "—".into())
}

/// The report as Markdown (for `docs/cutover-checklist-final.md`).
pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let mut w = |s: String| {
        o.push_str(&s);
        o.push('\n');
    };
    w(format!("# Cutover evidence: {}", r.cutover));
    w(String::new());
    w(format!("**Verdict: {}**", r.verdict));
    w(String::new());
    w("| | |".into());
    w("|---|---|".into());
    w(format!(
        "| environment | {} |",
        r.environment.as_deref().unwrap_or("—")
    ));
    if let Some(id) = &r.session {
        w(format!("| session | {id} |"));
    }
    w(format!(
        "| recorded | {} → {}{} |",
        r.recorded_from,
        r.recorded_to,
        r.incomplete
            .as_deref()
            .map(|why| format!(" ({why})"))
            .unwrap_or_default()
    ));
    w(format!(
        "| T0 planned | {} |",
        r.t0_planned.as_deref().unwrap_or("—")
    ));
    w(format!(
        "| T0 actual | {} |",
        r.t0_actual.as_deref().unwrap_or("—")
    ));
    w(format!("| people | {} |", r.people.join(", ")));
    w(String::new());
    w("## Timeline".into());
    w(String::new());
    if !r.notes_before.is_empty() {
        for n in &r.notes_before {
            w(format!("- note: {n}"));
        }
        w(String::new());
    }
    for s in &r.steps {
        w(format!(
            "### {} {} — planned {}, actual {}",
            s.at,
            s.title,
            s.planned.as_deref().unwrap_or("—"),
            s.actual.as_deref().unwrap_or("—")
        ));
        if let Some(g) = &s.gate {
            w(format!("- GATE: {g}"));
        }
        for it in &s.items {
            match (&it.ticked_by, &it.at) {
                (Some(by), Some(at)) => w(format!("- [x] {} — {by} at {at}", it.text)),
                _ => w(format!("- [ ] {}", it.text)),
            }
        }
        for run in &s.runs {
            w(format!("- script: {run}"));
        }
        for n in &s.notes {
            w(format!("- note: {n}"));
        }
        w(String::new());
    }
    let holds = holds_markdown(&r.holds);
    if !holds.is_empty() {
        o.push_str(&holds);
    }
    let mut w = |s: String| {
        o.push_str(&s);
        o.push('\n');
    };
    w("## Breaches".into());
    w(String::new());
    if r.breaches.is_empty() {
        w("None.".into());
    } else {
        w("| signal | critical | start | end | duration | worst | threshold |".into());
        w("|---|---|---|---|---|---|---|".into());
        for b in &r.breaches {
            w(format!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                b.signal,
                if b.critical { "yes" } else { "no" },
                b.start,
                b.end.as_deref().unwrap_or("ongoing"),
                b.duration,
                b.worst.as_deref().unwrap_or("—"),
                b.threshold
            ));
        }
    }
    w(String::new());
    if !r.no_data.is_empty() {
        w("## No data".into());
        w(String::new());
        w("Critical signals and required sources without data where a pass needed it:".into());
        w(String::new());
        for n in &r.no_data {
            w(format!("- {n}"));
        }
        w(String::new());
    }
    w("## Actions".into());
    w(String::new());
    if r.actions.is_empty() {
        w("None.".into());
    } else {
        for a in &r.actions {
            w(format!(
                "- **{}** (attempt {}) by {} at {}",
                a.action, a.attempt, a.by, a.at
            ));
            w(format!("  - request: `{}`", a.request));
            w(format!(
                "  - result: {}",
                a.result.as_deref().unwrap_or("none recorded")
            ));
            if let Some(v) = &a.verification {
                w(format!("  - verification: {v}"));
            }
        }
    }
    w(String::new());
    w("## Signals".into());
    w(String::new());
    w("| row | samples | min | median | p95 | max | last | time in state |".into());
    w("|---|---|---|---|---|---|---|---|".into());
    for s in &r.signals {
        let unit = s
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        let time: Vec<String> = s
            .time_in
            .iter()
            .map(|(k, v)| format!("{k} {}", format_span(chrono::Duration::seconds(*v))))
            .collect();
        w(format!(
            "| {} | {} | {}{unit} | {}{unit} | {}{unit} | {}{unit} | {} | {} |",
            s.row,
            s.samples,
            num(s.min),
            num(s.median),
            num(s.p95),
            num(s.max),
            s.last
                .as_deref()
                .map(|l| format!("{l}{}", if s.samples > 0 { unit.as_str() } else { "" }))
                .unwrap_or_else(|| "—".into()),
            time.join(", ")
        ));
    }
    if !r.problems.is_empty() {
        w(String::new());
        w("## Problems reading the recording".into());
        w(String::new());
        for p in &r.problems {
            w(format!("- {p}"));
        }
    }
    o
}

/// Which sessions of a recording file to report on: every one, or the one with `id`.
pub fn select(all: Vec<Recording>, id: Option<&str>, path: &str) -> Result<Vec<Recording>, String> {
    let Some(id) = id else {
        return Ok(all);
    };
    let names: Vec<String> = all
        .iter()
        .map(|s| match s.session() {
            Some(x) => x.to_string(),
            None => format!("(no id: the session at line {})", s.first_line),
        })
        .collect();
    match all.into_iter().find(|s| s.session() == Some(id)) {
        Some(s) => Ok(vec![s]),
        None => Err(format!(
            "no session {id} in {path}; it holds: {}",
            names.join(", ")
        )),
    }
}

/// A stretch between two sessions longer than this is a gap in the watch.
const GAP_MIN_MS: i64 = 60_000;

/// The stretches no session watched, between sessions in time order:
/// `2026-03-02 02:13–03:40 UTC (1h27m)`.
pub fn gaps(reports: &[Report]) -> Vec<String> {
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.with_timezone(&chrono::Utc))
    };
    let mut spans: Vec<(Ts, Ts)> = reports
        .iter()
        .filter_map(|r| Some((at(&r.recorded_from)?, at(&r.recorded_to)?)))
        .collect();
    spans.sort();
    let mut out = Vec::new();
    let mut watched_to: Option<Ts> = None;
    for (from, to) in spans {
        if let Some(end) = watched_to {
            let gap = (from - end).num_milliseconds();
            if gap > GAP_MIN_MS {
                let day = if end.date_naive() == from.date_naive() {
                    from.format("%H:%M").to_string()
                } else {
                    from.format("%Y-%m-%d %H:%M").to_string()
                };
                out.push(format!(
                    "{}–{day} UTC ({})",
                    end.format("%Y-%m-%d %H:%M"),
                    format_span(from - end)
                ));
            }
        }
        watched_to = Some(watched_to.map_or(to, |w| w.max(to)));
    }
    out
}

/// Several reports in one Markdown document, oldest session first.
pub fn markdown_all(reports: &[Report]) -> String {
    if let [one] = reports {
        return markdown(one);
    }
    let ids: Vec<String> = reports
        .iter()
        .map(|r| {
            format!(
                "{} ({} → {})",
                r.session.as_deref().unwrap_or("no id"),
                r.recorded_from,
                r.recorded_to
            )
        })
        .collect();
    let mut o = format!(
        "This evidence holds {} sessions, reported one by one, oldest first: {}.\n\n",
        reports.len(),
        ids.join(", ")
    );
    let gaps = gaps(reports);
    if !gaps.is_empty() {
        o.push_str(&format!("Not watched: {}.\n\n", gaps.join(", ")));
    }
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            o.push_str("\n---\n\n");
        }
        o.push_str(&markdown(r));
    }
    o
}

/// `warroom report`: every session in the file (or `--session ID`); the exit code.
pub fn run(
    path: &std::path::Path,
    json: bool,
    session: Option<&str>,
    out: &mut dyn std::io::Write,
) -> Result<i32, String> {
    run_in(path, json, session, None, out)
}

/// The line that opens the block `report --into` owns in the team's file (matched by its
/// start: what follows `begin` is for the reader).
pub const INTO_BEGIN: &str = "<!-- warroom:begin";
pub const INTO_BEGIN_LINE: &str =
    "<!-- warroom:begin report (written by `warroom report --into`; edits inside are replaced) -->";
pub const INTO_END: &str = "<!-- warroom:end -->";

/// `existing` with the block between the markers replaced by `block`, or, without
/// markers, `existing` with the markers and `block` added at its end. The team's own
/// text outside the markers is kept byte for byte; the same block twice changes nothing.
pub fn splice_into(existing: &str, block: &str) -> Result<String, String> {
    let begins: Vec<usize> = line_starts(existing, INTO_BEGIN);
    let ends: Vec<usize> = line_starts(existing, INTO_END);
    let body = if block.ends_with('\n') {
        block.to_string()
    } else {
        format!("{block}\n")
    };
    match (begins.as_slice(), ends.as_slice()) {
        ([], []) => {
            let mut out = existing.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("{INTO_BEGIN_LINE}\n{body}{INTO_END}\n"));
            Ok(out)
        }
        ([b], [e]) if b < e => {
            // Keep the begin line as the team may have written it.
            let b_end = existing[*b..].find('\n').map_or(existing.len(), |n| b + n + 1);
            Ok(format!("{}{body}{}", &existing[..b_end], &existing[*e..]))
        }
        ([_], [_]) => Err(format!(
            "`{INTO_END}` comes before `{INTO_BEGIN} …`: fix the markers, nothing was written"
        )),
        _ => Err(format!(
            "the file must hold at most one `{INTO_BEGIN} …` line and one `{INTO_END}` line (it has {} and {}): nothing was written",
            begins.len(),
            ends.len()
        )),
    }
}

/// Byte offsets of the lines that start with `marker` (leading spaces allowed).
fn line_starts(text: &str, marker: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with(marker) {
            out.push(at);
        }
        at += line.len();
    }
    out
}

/// `report --into FILE`: the report written into the team's own file, between the
/// markers, atomically (a new file renamed over it), so a crash leaves the old one.
pub fn write_into(path: &std::path::Path, block: &str) -> Result<bool, String> {
    let shown = path.display();
    let existing = match std::fs::read(path) {
        Ok(b) => String::from_utf8(b)
            .map_err(|e| format!("{shown} is not UTF-8 text ({e}): nothing was written"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{shown}: {e}")),
    };
    let new = splice_into(&existing, block).map_err(|e| format!("{shown}: {e}"))?;
    if new == existing {
        return Ok(false);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("{shown}: {e}"))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    std::io::Write::write_all(&mut tmp, new.as_bytes()).map_err(|e| format!("{shown}: {e}"))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| format!("{shown}: {e}"))?;
    tmp.persist(path).map_err(|e| format!("{shown}: {e}"))?;
    Ok(true)
}

/// As `run`, over the sessions recorded in the environment `env` only (`--env`).
pub fn run_in(
    path: &std::path::Path,
    json: bool,
    session: Option<&str>,
    env: Option<&str>,
    out: &mut dyn std::io::Write,
) -> Result<i32, String> {
    run_many(&[path.to_path_buf()], json, session, env, out)
}

/// The recordings `paths` name: each file, and every `*.jsonl` in each directory (a
/// cutover's `sessions/` folder), in name order.
pub fn recordings_in(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            if files.is_empty() {
                return Err(format!("{}: no recording (*.jsonl) in it", p.display()));
            }
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// `warroom report A.jsonl B.jsonl DIR/`: every session of every recording, oldest first,
/// the stretches none watched named.
pub fn run_many(
    paths: &[std::path::PathBuf],
    json: bool,
    session: Option<&str>,
    env: Option<&str>,
    out: &mut dyn std::io::Write,
) -> Result<i32, String> {
    let files = recordings_in(paths)?;
    let shown = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut all = Vec::new();
    for f in &files {
        all.extend(crate::record::read_all(f).map_err(|e| format!("{}: {e}", f.display()))?);
    }
    // Oldest session first, whichever file it is in.
    all.sort_by_key(|r| match r.header() {
        Some(Line::Header { at, .. }) => Some(*at),
        _ => None,
    });
    let all = of_environment(all, env, &shown)?;
    let chosen = select(all, session, &shown)?;
    // The holds of the latest session's config, over every session reported.
    let holds = chosen
        .last()
        .and_then(|r| r.config().ok())
        .map(|cfg| holds(&cfg, &chosen.iter().collect::<Vec<_>>()))
        .unwrap_or_default();
    let mut reports = Vec::new();
    let mut failed = Vec::new();
    for rec in chosen {
        let at = rec.first_line;
        // One unreadable session does not hide the others.
        match build(rec) {
            Ok(r) => reports.push(r),
            Err(e) => failed.push(format!("the session at line {at}: {e}")),
        }
    }
    if reports.is_empty() {
        return Err(failed.join("; "));
    }
    if let Some(last) = reports.last_mut() {
        last.holds = holds;
    }
    let text = if json {
        let v = match reports.as_slice() {
            [one] => serde_json::to_string_pretty(one),
            many => serde_json::to_string_pretty(many),
        };
        v.map_err(|e| e.to_string())? + "\n"
    } else {
        markdown_all(&reports)
    };
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    for r in &reports {
        for p in &r.problems {
            eprintln!("warning: {}: {p}", shown);
        }
    }
    for f in &failed {
        eprintln!("warning: {}: {f}; not reported", shown);
    }
    Ok(0)
}
