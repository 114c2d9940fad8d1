//! `warroom report FILE`: the evidence of a cutover, from its recording. The recording is
//! replayed through the same engine as the live screen, so the report's bands and verdict
//! are the screen's. Deterministic: the same recording gives the same bytes. Several
//! sessions are one report (`merge`): one timeline, the gaps in the watch in place.

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
    /// What the merged report needs of each session and does not print for one.
    #[serde(skip)]
    pub(crate) merge: MergeParts,
}

/// A session's parts a report over several sessions lays on one timeline.
#[derive(Debug, Clone, Default)]
pub(crate) struct MergeParts {
    /// The account that recorded it (`user@host`).
    by: String,
    from: Option<Ts>,
    to: Option<Ts>,
    /// Every act, as it happened.
    entries: Vec<Entry>,
    /// Rows whose `no_data = "crit"` made missing data a critical breach.
    judged_crit: usize,
    /// The verdict's NO DATA words, when it has them.
    no_data_short: Option<String>,
    /// The labels of the `danger` actions: a rollback among the acts.
    danger: BTreeSet<String>,
    /// Each row's samples (scaled), for summaries over every session.
    values: BTreeMap<String, Vec<f64>>,
}

/// One line of the timeline: when, which session(s) when it helps, what.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    pub text: String,
    #[serde(skip)]
    ts: Option<Ts>,
    /// An audit record's identity (`user@host`, kind, details): two screens that recorded
    /// the same record hold it once.
    #[serde(skip)]
    key: Option<String>,
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
    /// The values the step's last script run captured from its output, each judged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub captures: Vec<crate::capture::Captured>,
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
    let mut captured: BTreeMap<usize, Vec<crate::capture::Captured>> = BTreeMap::new();
    let mut t0_mark: Option<Ts> = None;
    let mut overrides: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut notes: Vec<(Ts, String)> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
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
                if let Ok(ev) = AuditEvent::from_parts(kind, details.clone()) {
                    if let Some(text) = act_text(&ev, &who, &cfg) {
                        entries.push(Entry {
                            at: t(*at),
                            session: None,
                            text,
                            ts: Some(*at),
                            key: Some(format!("{who}|{kind}|{details}")),
                        });
                    }
                }
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
                        captured.insert(r.step, r.captures.clone());
                        runs.entry(r.step).or_default().push(format!(
                            "{}{} by {who} at {}{}",
                            if r.ok { "" } else { "FAILED: " },
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
            captures: captured.get(&i).cloned().unwrap_or_default(),
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
    let mut verdict = verdict_words(
        rollback,
        critical.len() + judged_crit,
        no_data_short.as_deref(),
        incomplete.as_deref(),
    );
    // A script's evidence that failed its expectation is said beside the breaches.
    if let Some(failed) = failed_evidence(&cfg, &captured) {
        verdict.push_str(&format!("; {failed}"));
    }

    let merge = MergeParts {
        by: format!("{header_user}@{header_host}"),
        from: Some(start.at),
        to: Some(end.at),
        entries,
        judged_crit,
        no_data_short: no_data_short.clone(),
        danger: danger.clone(),
        values: values
            .iter()
            .filter_map(|(k, v)| {
                let label = state
                    .engine
                    .rows
                    .iter()
                    .find(|r| &r.key == k)?
                    .label
                    .clone();
                Some((label, v.iter().map(|(_, x)| *x).collect()))
            })
            .collect(),
    };
    Ok(Report {
        merge,
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

/// "captured evidence failed: No-regression run (mean_delta_pct 7.1 % (< 5))", from each
/// step's last script run.
/// The verdict's words: a rollback and its verification first, then the critical
/// breaches, no data and an incomplete recording — never a clean verdict over a gap.
fn verdict_words(
    rollback: Option<&ActionReport>,
    crit: usize,
    no_data_short: Option<&str>,
    incomplete: Option<&str>,
) -> String {
    let mut verdict = match (rollback, crit) {
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
        (None, 0) if no_data_short.is_some() => no_data_short.unwrap_or_default().to_string(),
        (None, 0) => match incomplete {
            Some(why) => format!(
                "INCOMPLETE — {}; no critical breach in what was recorded",
                why.trim_start_matches("incomplete: ")
            ),
            None => "OK — no critical breach while recorded".to_string(),
        },
        (None, n) => format!("BREACHED — {n} critical breach(es), no rollback recorded"),
    };
    if let Some(nd) = no_data_short.filter(|_| !verdict.starts_with("NO DATA")) {
        verdict.push_str(&format!("; {nd}"));
    }
    if let Some(why) = incomplete {
        if !verdict.starts_with("INCOMPLETE") {
            verdict.push_str(&format!("; {why}"));
        }
    }
    verdict
}

fn failed_evidence(
    cfg: &crate::config::Config,
    captured: &BTreeMap<usize, Vec<crate::capture::Captured>>,
) -> Option<String> {
    let titles: Vec<String> = cfg.steps.iter().map(|s| s.title.clone()).collect();
    failed_evidence_of(&titles, captured)
}

fn failed_evidence_of(
    titles: &[String],
    captured: &BTreeMap<usize, Vec<crate::capture::Captured>>,
) -> Option<String> {
    let failed: Vec<String> = captured
        .iter()
        .filter_map(|(i, caps)| {
            let bad: Vec<String> = caps
                .iter()
                .filter(|c| !c.passed())
                .map(crate::capture::Captured::text)
                .collect();
            let title = titles.get(*i).map_or("?", String::as_str);
            (!bad.is_empty()).then(|| format!("{title} ({})", bad.join(", ")))
        })
        .collect();
    (!failed.is_empty()).then(|| format!("captured evidence failed: {}", failed.join("; ")))
}

/// `mean_delta_pct 3.2 % ✔ (< 5)`: one capture with its verdict's mark.
pub fn capture_line(c: &crate::capture::Captured) -> String {
    use crate::capture::Verdict;
    let mark = match c.verdict {
        Verdict::Pass => "✔",
        Verdict::Recorded => "·",
        Verdict::Fail | Verdict::NotFound | Verdict::Redacted => "✘",
    };
    let text = c.text();
    // The mark goes after the value, before the expectation in parentheses.
    match text.find(" (") {
        Some(at) if c.expect.is_some() || c.value.is_some() => {
            format!("{} {mark}{}", &text[..at], &text[at..])
        }
        _ => format!("{text} {mark}"),
    }
}

/// An audit record as a line of the timeline ("alice@h1 ticked …"); None for the
/// records that tell the room nothing (notification bookkeeping, unknown kinds).
fn act_text(ev: &AuditEvent, who: &str, cfg: &crate::config::Config) -> Option<String> {
    let label_of = |id: &str| {
        cfg.actions
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| id.to_string(), |a| a.label.clone())
    };
    Some(match ev {
        AuditEvent::Tick(x) => format!("{who} ticked \"{}\" ({})", x.item_text, x.step_title),
        AuditEvent::Untick(x) => {
            format!("{who} unticked \"{}\" ({})", x.item_text, x.step_title)
        }
        AuditEvent::Signoff(x) => format!(
            "{} on gate \"{}\" signed by {} ({who})",
            x.decision.word(),
            x.title,
            x.name
        ),
        AuditEvent::T0Mark(_) => format!("T0 marked by {who}"),
        AuditEvent::StepRun(x) => format!("{who} ran the script of \"{}\"", x.title),
        AuditEvent::StepRunResult(x) => {
            let mut line = format!(
                "script of \"{}\": {}{}",
                x.title,
                if x.ok { "" } else { "FAILED: " },
                x.summary
            );
            if !x.captures.is_empty() {
                let caps: Vec<String> = x.captures.iter().map(capture_line).collect();
                line.push_str(&format!(" — {}", caps.join(", ")));
            }
            line
        }
        AuditEvent::ActionConfirmed(x) => format!(
            "{who} confirmed \"{}\" (attempt {}){}",
            x.label,
            x.attempt,
            if x.break_glass.is_some() {
                ", past its gate"
            } else {
                ""
            }
        ),
        AuditEvent::ActionDeclined(x) => {
            format!(
                "{who} confirmed \"{}\": not sent, {} held it",
                x.label, x.by
            )
        }
        AuditEvent::ActionResult(x) => {
            format!("\"{}\" result: {}", label_of(&x.action), x.summary)
        }
        AuditEvent::VerifyResult(x) if x.verified => format!(
            "\"{}\" VERIFIED (after {})",
            label_of(&x.action),
            x.after.as_deref().unwrap_or("")
        ),
        AuditEvent::VerifyResult(x) => format!(
            "\"{}\" NOT VERIFIED: {}",
            label_of(&x.action),
            x.failing.join(", ")
        ),
        AuditEvent::BreakGlass(x) => format!(
            "BREAK GLASS by {who} for \"{}\" past gate \"{}\": {}",
            x.label, x.gate, x.reason
        ),
        AuditEvent::Note(n) => format!("note by {who}: {}", n.text),
        AuditEvent::NotifyClaimed(_)
        | AuditEvent::NotifySent(_)
        | AuditEvent::NotifyFailed(_)
        | AuditEvent::Other { .. } => return None,
    })
}

fn num(x: Option<f64>) -> String {
    x.map(|v| Value::Num(v).to_string())
        .unwrap_or_else(|| "—".into())
}

/// The title, the verdict and the table's first row, alike for one session and several.
fn heading(cutover: &str, verdict: &str, environment: Option<&str>) -> String {
    format!(
        "# Cutover evidence: {cutover}\n\n**Verdict: {verdict}**\n\n| | |\n|---|---|\n| environment | {} |\n",
        environment.unwrap_or("—")
    )
}

/// The report as Markdown (for `docs/cutover-checklist-final.md`).
pub fn markdown(r: &Report) -> String {
    let mut o = heading(&r.cutover, &r.verdict, r.environment.as_deref());
    let mut w = |s: String| {
        o.push_str(&s);
        o.push('\n');
    };
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
        step_body(s, &mut w);
        w(String::new());
    }
    // The holds, judged over every session, before what each session saw.
    o.push_str(&holds_markdown(&r.holds));
    o.push_str(&summaries(
        &r.breaches,
        &r.no_data,
        &r.actions,
        &r.signals,
        &r.problems,
    ));
    o
}

/// A step's gate, checklist, script runs with their captures, and notes.
fn step_body(s: &StepReport, w: &mut dyn FnMut(String)) {
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
    if !s.captures.is_empty() {
        w("- captured by the last run:".into());
        for c in &s.captures {
            w(format!("  - {} — {}", capture_line(c), c.verdict.word()));
        }
    }
    for n in &s.notes {
        w(format!("- note: {n}"));
    }
}

/// The sections after the timeline: breaches, no data, actions, signals, problems.
fn summaries(
    breaches: &[Breach],
    no_data: &[String],
    actions: &[ActionReport],
    signals: &[SignalSummary],
    problems: &[String],
) -> String {
    let mut o = String::new();
    let mut w = |s: String| {
        o.push_str(&s);
        o.push('\n');
    };
    w("## Breaches".into());
    w(String::new());
    if breaches.is_empty() {
        w("None.".into());
    } else {
        w("| signal | critical | start | end | duration | worst | threshold |".into());
        w("|---|---|---|---|---|---|---|".into());
        for b in breaches {
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
    if !no_data.is_empty() {
        w("## No data".into());
        w(String::new());
        w("Critical signals and required sources without data where a pass needed it:".into());
        w(String::new());
        for n in no_data {
            w(format!("- {n}"));
        }
        w(String::new());
    }
    w("## Actions".into());
    w(String::new());
    if actions.is_empty() {
        w("None.".into());
    } else {
        for a in actions {
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
    for s in signals {
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
    if !problems.is_empty() {
        w(String::new());
        w("## Problems reading the recording".into());
        w(String::new());
        for p in problems {
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

/// A stretch no session watched longer than this is a gap in the watch.
const GAP_MIN_MS: i64 = 60_000;

/// Two sessions' copies of one audit record are this close in time at most: one screen
/// records its own act when it is on disk, another when its tail reads it.
const SAME_RECORD_MS: i64 = 5_000;

/// Several sessions as one report: one header, one timeline, one verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Merged {
    pub cutover: String,
    pub environment: Option<String>,
    /// From the first session's start to the last one's end.
    pub from: String,
    pub to: String,
    pub span: String,
    /// How much of the span some session watched.
    pub watched: String,
    pub sessions: Vec<SessionInfo>,
    pub not_watched: Vec<Gap>,
    pub t0_planned: Option<String>,
    pub t0_actual: Option<String>,
    pub people: Vec<String>,
    /// Every session's acts and the breaches, in time order, with the sessions' starts and
    /// ends and the stretches none watched in place.
    pub timeline: Vec<Entry>,
    pub steps: Vec<StepReport>,
    pub breaches: Vec<Breach>,
    pub actions: Vec<ActionReport>,
    pub signals: Vec<SignalSummary>,
    pub no_data: Vec<String>,
    pub problems: Vec<String>,
    pub verdict: String,
    /// Each step's holds, judged over every session.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<HoldReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    pub id: Option<String>,
    /// How the timeline names it.
    pub short: String,
    pub by: String,
    pub from: String,
    pub to: String,
    pub complete: bool,
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub from: String,
    pub to: String,
    pub duration: String,
}

fn parse_t(s: &str) -> Option<Ts> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

/// The stretches watched by some session, merged, in time order.
fn watched(spans: &[(Ts, Ts)]) -> Vec<(Ts, Ts)> {
    let mut s = spans.to_vec();
    s.sort();
    let mut out: Vec<(Ts, Ts)> = Vec::new();
    for (a, b) in s {
        match out.last_mut() {
            Some(last) if a <= last.1 + chrono::Duration::milliseconds(GAP_MIN_MS) => {
                last.1 = last.1.max(b);
            }
            _ => out.push((a, b)),
        }
    }
    out
}

/// `02:13–03:40 (1h27m)`; the day named when the gap crosses midnight.
fn gap_words(g: &Gap) -> String {
    let (Some(a), Some(b)) = (parse_t(&g.from), parse_t(&g.to)) else {
        return format!("{}–{} ({})", g.from, g.to, g.duration);
    };
    let to = if a.date_naive() == b.date_naive() {
        b.format("%H:%M").to_string()
    } else {
        b.format("%Y-%m-%d %H:%M").to_string()
    };
    format!("{}–{to} UTC ({})", a.format("%Y-%m-%d %H:%M"), g.duration)
}

/// Breaches of one signal seen by several sessions at once are one breach.
fn merge_breaches(all: Vec<(Breach, Ts)>) -> Vec<Breach> {
    let mut all: Vec<(Breach, Ts, Ts)> = all
        .into_iter()
        .filter_map(|(b, session_end)| {
            let from = parse_t(&b.start)?;
            let to = b.end.as_deref().and_then(parse_t).unwrap_or(session_end);
            Some((b, from, to))
        })
        .collect();
    all.sort_by(|a, b| (a.0.signal.as_str(), a.1).cmp(&(b.0.signal.as_str(), b.1)));
    let mut out: Vec<(Breach, Ts, Ts)> = Vec::new();
    for (b, from, to) in all {
        match out.last_mut() {
            Some((m, _, mto)) if m.signal == b.signal && from <= *mto => {
                if to >= *mto {
                    *mto = to;
                    m.end = b.end.clone();
                }
                let low_is_bad = m.threshold.contains('<');
                let n = |w: &Option<String>| {
                    w.as_deref()
                        .and_then(|x| x.split_whitespace().next())
                        .and_then(|x| x.parse::<f64>().ok())
                };
                let worse = match (n(&m.worst), n(&b.worst)) {
                    (Some(a), Some(c)) => (low_is_bad && c < a) || (!low_is_bad && c > a),
                    (None, Some(_)) => true,
                    _ => false,
                };
                if worse {
                    m.worst = b.worst.clone();
                }
            }
            _ => out.push((b, from, to)),
        }
    }
    let mut out: Vec<Breach> = out
        .into_iter()
        .map(|(mut b, from, to)| {
            b.duration = format_span(to - from);
            b
        })
        .collect();
    out.sort_by(|a, b| {
        (a.start.as_str(), a.signal.as_str()).cmp(&(b.start.as_str(), b.signal.as_str()))
    });
    out
}

/// One report over several sessions (at least one), whatever order they come in.
pub fn merge(mut reports: Vec<Report>) -> Merged {
    reports.sort_by(|a, b| {
        (a.merge.from, a.merge.to, a.session.as_deref()).cmp(&(
            b.merge.from,
            b.merge.to,
            b.session.as_deref(),
        ))
    });
    let many = reports.len() > 1;
    let shorts: Vec<String> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| match &r.session {
            Some(id) => id.chars().take(8).collect(),
            None => format!("#{}", i + 1),
        })
        .collect();
    let spans: Vec<(Ts, Ts)> = reports
        .iter()
        .filter_map(|r| Some((r.merge.from?, r.merge.to?)))
        .collect();
    let covered = watched(&spans);
    let gaps: Vec<(Ts, Ts)> = covered.windows(2).map(|w| (w[0].1, w[1].0)).collect();
    let from = covered.first().map(|c| c.0);
    let to = covered.iter().map(|c| c.1).max();
    let watched_ms: i64 = covered
        .iter()
        .map(|(a, b)| (*b - *a).num_milliseconds())
        .sum();
    let covering = |at: Ts| -> Vec<usize> {
        reports
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.merge.from.is_some_and(|f| f <= at) && r.merge.to.is_some_and(|t| at <= t)
            })
            .map(|(i, _)| i)
            .collect()
    };

    // The acts: each record once, however many sessions recorded it.
    let mut acts: Vec<(Entry, Vec<usize>)> = Vec::new();
    let mut all: Vec<(Entry, usize)> = reports
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.merge.entries.iter().cloned().map(move |e| (e, i)))
        .collect();
    all.sort_by_key(|a| (a.0.ts, a.1));
    for (e, i) in all {
        let same = acts.iter_mut().rev().find(|(k, seen)| {
            k.key.is_some()
                && k.key == e.key
                && !seen.contains(&i)
                && matches!((k.ts, e.ts), (Some(a), Some(b)) if (b - a).num_milliseconds().abs() <= SAME_RECORD_MS)
        });
        match same {
            Some((_, seen)) => seen.push(i),
            None => acts.push((e, vec![i])),
        }
    }
    // Tagged with its session only where two were recording and not every one saw it.
    let tag = |at: Option<Ts>, seen: &[usize]| -> Option<String> {
        let at = at?;
        let cov = covering(at);
        (many && cov.len() > 1 && !cov.iter().all(|c| seen.contains(c))).then(|| {
            seen.iter()
                .map(|i| shorts[*i].clone())
                .collect::<Vec<_>>()
                .join("+")
        })
    };
    // (time, order within the same moment, entry): a start first, an end and a gap last.
    let mut timeline: Vec<(Option<Ts>, u8, Entry)> = acts
        .into_iter()
        .map(|(mut e, seen)| {
            e.session = tag(e.ts, &seen);
            (e.ts, 1, e)
        })
        .collect();
    let line = |at: Ts, text: String, session: Option<String>| Entry {
        at: t(at),
        session,
        text,
        ts: Some(at),
        key: None,
    };
    if many {
        for (i, r) in reports.iter().enumerate() {
            if let Some(a) = r.merge.from {
                timeline.push((
                    Some(a),
                    0,
                    line(
                        a,
                        format!("session {} started ({})", shorts[i], r.merge.by),
                        None,
                    ),
                ));
            }
            if let Some(b) = r.merge.to {
                let how = match &r.incomplete {
                    Some(why) => format!(" — {why}"),
                    None => String::new(),
                };
                timeline.push((
                    Some(b),
                    2,
                    line(b, format!("session {} ended{how}", shorts[i]), None),
                ));
            }
        }
    }
    let not_watched: Vec<Gap> = gaps
        .iter()
        .map(|(a, b)| Gap {
            from: t(*a),
            to: t(*b),
            duration: format_span(*b - *a),
        })
        .collect();
    for (g, (a, _)) in not_watched.iter().zip(&gaps) {
        timeline.push((
            Some(*a),
            3,
            line(*a, format!("not watched {}", gap_words(g)), None),
        ));
    }

    // Breaches: one per signal and stretch, on the timeline where they start and end.
    let breaches = merge_breaches(
        reports
            .iter()
            .flat_map(|r| {
                let end = r.merge.to.unwrap_or_default();
                r.breaches.iter().cloned().map(move |b| (b, end))
            })
            .collect(),
    );
    for b in &breaches {
        let kind = if b.critical {
            "CRITICAL breach"
        } else {
            "breach"
        };
        if let Some(a) = parse_t(&b.start) {
            timeline.push((
                Some(a),
                1,
                line(a, format!("{kind}: {} ({})", b.signal, b.threshold), None),
            ));
        }
        if let Some(z) = b.end.as_deref().and_then(parse_t) {
            let worst = b
                .worst
                .as_deref()
                .map(|w| format!(", worst {w}"))
                .unwrap_or_default();
            timeline.push((
                Some(z),
                1,
                line(
                    z,
                    format!("{kind} ended: {} after {}{worst}", b.signal, b.duration),
                    None,
                ),
            ));
        }
    }
    timeline.sort_by_key(|a| (a.0, a.1));
    let timeline: Vec<Entry> = timeline.into_iter().map(|(_, _, e)| e).collect();

    let last = reports.last().cloned();
    let steps = merge_steps(&reports);
    let actions = merge_actions(&reports);
    let signals = merge_signals(&reports);
    let tagged = |_: &Report, i: usize, s: &str| {
        if many {
            format!("[{}] {s}", shorts[i])
        } else {
            s.to_string()
        }
    };
    let no_data: Vec<String> = reports
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.no_data.iter().map(move |n| tagged(r, i, n)))
        .collect();
    let problems: Vec<String> = reports
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.problems.iter().map(move |n| tagged(r, i, n)))
        .collect();
    let mut people: BTreeSet<String> = BTreeSet::new();
    for r in &reports {
        people.extend(r.people.iter().cloned());
    }

    // The verdict over all: the engine's words per session, put together.
    let danger: BTreeSet<String> = reports
        .iter()
        .flat_map(|r| r.merge.danger.iter().cloned())
        .collect();
    let rollback = actions.iter().rev().find(|a| danger.contains(&a.action));
    let crit = breaches.iter().filter(|b| b.critical).count()
        + reports.iter().map(|r| r.merge.judged_crit).sum::<usize>();
    let no_data_short: Vec<String> = reports
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let s = r
                .merge
                .no_data_short
                .as_deref()?
                .trim_start_matches("NO DATA — ");
            Some(tagged(r, i, s))
        })
        .collect();
    let no_data_short =
        (!no_data_short.is_empty()).then(|| format!("NO DATA — {}", no_data_short.join("; ")));
    let incomplete: Vec<String> = reports
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some(tagged(r, i, r.incomplete.as_deref()?)))
        .collect();
    let incomplete = (!incomplete.is_empty()).then(|| incomplete.join("; "));
    let mut verdict = verdict_words(
        rollback,
        crit,
        no_data_short.as_deref(),
        incomplete.as_deref(),
    );
    if !not_watched.is_empty() {
        let total: i64 = gaps.iter().map(|(a, b)| (*b - *a).num_milliseconds()).sum();
        verdict.push_str(&format!(
            "; not watched for {} in {} gap{}",
            format_span(chrono::Duration::milliseconds(total)),
            not_watched.len(),
            if not_watched.len() == 1 { "" } else { "s" }
        ));
    }
    let captured: BTreeMap<usize, Vec<crate::capture::Captured>> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.captures.clone()))
        .collect();
    let titles: Vec<String> = steps.iter().map(|s| s.title.clone()).collect();
    if let Some(f) = failed_evidence_of(&titles, &captured) {
        verdict.push_str(&format!("; {f}"));
    }

    let first = reports.first();
    Merged {
        cutover: first.map(|r| r.cutover.clone()).unwrap_or_default(),
        environment: first.and_then(|r| r.environment.clone()),
        from: from.map(t).unwrap_or_default(),
        to: to.map(t).unwrap_or_default(),
        span: match (from, to) {
            (Some(a), Some(b)) => format_span(b - a),
            _ => String::new(),
        },
        watched: format_span(chrono::Duration::milliseconds(watched_ms)),
        sessions: reports
            .iter()
            .enumerate()
            .map(|(i, r)| SessionInfo {
                id: r.session.clone(),
                short: shorts[i].clone(),
                by: r.merge.by.clone(),
                from: r.recorded_from.clone(),
                to: r.recorded_to.clone(),
                complete: r.complete,
                verdict: r.verdict.clone(),
            })
            .collect(),
        not_watched,
        t0_planned: reports.iter().rev().find_map(|r| r.t0_planned.clone()),
        t0_actual: reports.iter().find_map(|r| r.t0_actual.clone()),
        people: people.into_iter().collect(),
        timeline,
        steps,
        breaches,
        actions,
        signals,
        no_data,
        problems,
        verdict: if last.is_some() {
            verdict
        } else {
            String::new()
        },
        // One report carries them: judged over all the sessions at once.
        holds: reports
            .iter()
            .find(|r| !r.holds.is_empty())
            .map(|r| r.holds.clone())
            .unwrap_or_default(),
    }
}

/// Each step over every session: first seen, every tick, every run, the gate as the
/// latest session that saw it signed states it.
fn merge_steps(reports: &[Report]) -> Vec<StepReport> {
    let Some(first) = reports.first() else {
        return Vec::new();
    };
    let mut steps = first.steps.clone();
    for r in &reports[1..] {
        for (m, s) in steps.iter_mut().zip(&r.steps) {
            if let Some(a) = &s.actual {
                if m.actual.as_ref().is_none_or(|b| a < b) {
                    m.actual = Some(a.clone());
                }
            }
            if let Some(g) = &s.gate {
                if !g.starts_with("not signed") || m.gate.is_none() {
                    m.gate = Some(g.clone());
                }
            }
            for (mi, si) in m.items.iter_mut().zip(&s.items) {
                if si.ticked_by.is_some() {
                    *mi = si.clone();
                }
            }
            for run in &s.runs {
                if !m.runs.contains(run) {
                    m.runs.push(run.clone());
                }
            }
            if !s.captures.is_empty() {
                m.captures = s.captures.clone();
            }
            for n in &s.notes {
                if !m.notes.contains(n) {
                    m.notes.push(n.clone());
                }
            }
        }
    }
    steps
}

/// Every attempt once: two screens that recorded one confirmation hold one action.
fn merge_actions(reports: &[Report]) -> Vec<ActionReport> {
    let mut out: Vec<ActionReport> = Vec::new();
    for a in reports.iter().flat_map(|r| r.actions.iter()) {
        let close = |b: &ActionReport| matches!((parse_t(&a.at), parse_t(&b.at)), (Some(x), Some(y)) if (x - y).num_milliseconds().abs() <= SAME_RECORD_MS);
        match out
            .iter_mut()
            .find(|b| b.action == a.action && b.by == a.by && b.attempt == a.attempt && close(b))
        {
            Some(b) => {
                if b.result.is_none() {
                    b.result = a.result.clone();
                }
                if b.verification.is_none() {
                    b.verification = a.verification.clone();
                }
            }
            None => out.push(a.clone()),
        }
    }
    out.sort_by(|a, b| a.at.cmp(&b.at));
    out
}

/// Each row over every session's samples; time in each state summed over the sessions.
fn merge_signals(reports: &[Report]) -> Vec<SignalSummary> {
    let mut out: Vec<SignalSummary> = Vec::new();
    let mut pooled: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in reports {
        for s in &r.signals {
            pooled
                .entry(s.row.clone())
                .or_default()
                .extend(r.merge.values.get(&s.row).into_iter().flatten().copied());
            match out.iter_mut().find(|m| m.row == s.row) {
                Some(m) => {
                    m.samples += s.samples;
                    if s.last.is_some() {
                        m.last = s.last.clone();
                    }
                    for (k, v) in &s.time_in {
                        *m.time_in.entry(k.clone()).or_default() += v;
                    }
                }
                None => out.push(s.clone()),
            }
        }
    }
    for m in &mut out {
        let mut v = pooled.remove(&m.row).unwrap_or_default();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        m.min = v.first().copied().map(round);
        m.median = pct(&v, 0.5).map(round);
        m.p95 = pct(&v, 0.95).map(round);
        m.max = v.last().copied().map(round);
    }
    out
}

/// The merged report as Markdown: the header, the one timeline, the steps, then the
/// summaries over the whole span.
pub fn markdown_merged(m: &Merged) -> String {
    let mut o = heading(&m.cutover, &m.verdict, m.environment.as_deref());
    let mut w = |s: String| {
        o.push_str(&s);
        o.push('\n');
    };
    w(format!(
        "| span | {} → {} ({}; watched {}) |",
        m.from, m.to, m.span, m.watched
    ));
    let sessions: Vec<String> = m
        .sessions
        .iter()
        .map(|s| {
            format!(
                "{} {} {} → {}{}",
                s.short,
                s.by,
                s.from,
                s.to,
                if s.complete { "" } else { " (incomplete)" }
            )
        })
        .collect();
    w(format!("| sessions | {} |", sessions.join("<br>")));
    w(format!(
        "| T0 planned | {} |",
        m.t0_planned.as_deref().unwrap_or("—")
    ));
    w(format!(
        "| T0 actual | {} |",
        m.t0_actual.as_deref().unwrap_or("—")
    ));
    w(format!("| people | {} |", m.people.join(", ")));
    w(String::new());
    w("## Timeline".into());
    w(String::new());
    let mut day = String::new();
    for e in &m.timeline {
        let (d, hms) = match e.ts {
            Some(ts) => (
                ts.format("%Y-%m-%d").to_string(),
                ts.format("%H:%M:%S").to_string(),
            ),
            None => (String::new(), e.at.clone()),
        };
        if d != day {
            w(format!("**{d}**"));
            w(String::new());
            day = d;
        }
        let tag = e
            .session
            .as_deref()
            .map(|s| format!(" [{s}]"))
            .unwrap_or_default();
        w(format!("- {hms}{tag} {}", e.text));
    }
    w(String::new());
    w("## Steps".into());
    w(String::new());
    for s in &m.steps {
        w(format!(
            "### {} {} — planned {}, actual {}",
            s.at,
            s.title,
            s.planned.as_deref().unwrap_or("—"),
            s.actual.as_deref().unwrap_or("—")
        ));
        step_body(s, &mut w);
        w(String::new());
    }
    o.push_str(&holds_markdown(&m.holds));
    o.push_str(&summaries(
        &m.breaches,
        &m.no_data,
        &m.actions,
        &m.signals,
        &m.problems,
    ));
    o
}

/// The sessions as one document: one session's own report, or several merged.
pub fn markdown_all(reports: &[Report]) -> String {
    match reports {
        [one] => markdown(one),
        many => markdown_merged(&merge(many.to_vec())),
    }
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

/// `warroom report A.jsonl B.jsonl DIR/`: every session of every recording as one report
/// on one timeline (`merge`), the stretches none watched in place; one session as itself.
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
            many => serde_json::to_string_pretty(&merge(many.to_vec())),
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
