//! `warroom check`: the headless monitor. One poll judged on that sample alone, or a
//! window of polls with the full trip/clear rules (like the runbook's
//! `cutover_window_monitor.py`). Same engine as the screen.
//!
//! Exit codes: 0 all within thresholds, 1 a critical breach, 3 no data from a
//! required source (2, config/usage errors, is decided before we get here).

use crate::config::Config;
use crate::engine::{Band, Engine, EventKind, Row, Status};
use crate::poll::{poll_once, Clients, PollSetupError};
use crate::sample::{PollResult, Ts};
use chrono::Utc;
use serde::Serialize;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub struct CheckOptions {
    pub cfg: Arc<Config>,
    /// None: one poll, judged alone.
    pub window: Option<Duration>,
    /// Time between polls in a window (default: 60 s, as the runbook's monitor).
    pub interval: Duration,
    pub format: Format,
}

pub const EXIT_OK: i32 = 0;
pub const EXIT_BREACH: i32 = 1;
pub const EXIT_NO_DATA: i32 = 3;

#[derive(Serialize)]
struct RowLine<'a> {
    key: &'a str,
    label: &'a str,
    status: &'static str,
    band: Band,
    effective: Band,
    critical: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a crate::sample::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    threshold: &'a str,
}

#[derive(Serialize)]
struct SourceLine<'a> {
    id: &'a str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Line<'a> {
    Poll {
        seq: u32,
        at: Ts,
        rows: Vec<RowLine<'a>>,
        sources: Vec<SourceLine<'a>>,
    },
    Summary {
        verdict: &'static str,
        exit_code: i32,
        mode: &'static str,
        polls: u32,
        breaches: Vec<String>,
        sources_without_data: Vec<String>,
    },
}

fn row_line(r: &Row) -> RowLine<'_> {
    RowLine {
        key: &r.key,
        label: &r.label,
        status: r.status.word(),
        band: r.band,
        effective: r.effective,
        critical: r.critical,
        value: r
            .value
            .as_ref()
            .filter(|_| matches!(r.status, Status::Band(_))),
        unit: r.unit.as_deref(),
        reason: r.reason.as_deref(),
        threshold: &r.threshold,
    }
}

async fn poll_all(cfg: &Config, clients: &Clients) -> Vec<PollResult> {
    let futs = cfg
        .sources
        .iter()
        .filter_map(|s| clients.get(s).map(|c| (c.clone(), s.clone())))
        .map(|(c, s)| async move { poll_once(&c, &s).await });
    futures::future::join_all(futs).await
}

/// Run the check, writing lines to `out`. Returns the exit code.
pub async fn run_check(opts: CheckOptions, out: &mut dyn Write) -> Result<i32, PollSetupError> {
    let clients = Clients::for_config(&opts.cfg)?;
    let start = Utc::now();
    let single = opts.window.is_none();
    let mut engine = if single {
        Engine::single_sample(Arc::clone(&opts.cfg), start)
    } else {
        Engine::new(Arc::clone(&opts.cfg), start)
    };
    let deadline = opts.window.map(|w| tokio::time::Instant::now() + w);
    let mut seq = 0u32;
    let mut breached: Vec<String> = Vec::new();
    loop {
        seq += 1;
        let results = poll_all(&opts.cfg, &clients).await;
        let mut now = Utc::now();
        for r in &results {
            now = now.max(r.at);
            for ev in engine.ingest(r) {
                note_breach(&engine, &ev.kind, &mut breached);
            }
        }
        for ev in engine.tick(now) {
            note_breach(&engine, &ev.kind, &mut breached);
        }
        for r in engine.critical_breaches() {
            // A breach is a measured value; no data is exit 3, counted apart.
            if r.status == Status::Band(Band::Crit) && !breached.contains(&r.key) {
                breached.push(r.key.clone());
            }
        }
        write_poll(out, opts.format, seq, now, &engine);
        let Some(deadline) = deadline else { break };
        let next = tokio::time::Instant::now() + opts.interval;
        if next > deadline {
            break;
        }
        tokio::time::sleep_until(next).await;
    }
    let now = Utc::now();
    let breaches: Vec<String> = breached
        .iter()
        .filter_map(|k| engine.rows.iter().find(|r| &r.key == k))
        .map(|r| crate::engine::breach_text(r, engine.signal(r), now))
        .collect();
    let missing: Vec<String> = engine
        .required_sources_without_data()
        .iter()
        .map(|s| {
            format!(
                "{}: {}",
                s.id,
                s.last_error.as_deref().unwrap_or("no answer")
            )
        })
        .collect();
    let (verdict, code) = if !breaches.is_empty() {
        ("crit", EXIT_BREACH)
    } else if !missing.is_empty() {
        ("no_data", EXIT_NO_DATA)
    } else {
        ("ok", EXIT_OK)
    };
    let mode = if single { "single-sample" } else { "window" };
    match opts.format {
        Format::Json => {
            let line = Line::Summary {
                verdict,
                exit_code: code,
                mode,
                polls: seq,
                breaches,
                sources_without_data: missing,
            };
            let _ = writeln!(out, "{}", serde_json::to_string(&line).unwrap_or_default());
        }
        Format::Text => {
            let how = if single {
                "judged on this one sample alone (for/m_of_n/clear_for not applied; use --window for the full rules)".to_string()
            } else {
                format!("{seq} polls with the full trip/clear rules")
            };
            let _ = writeln!(out, "summary: {} — {how}", verdict.to_uppercase());
            for b in &breaches {
                let _ = writeln!(out, "  critical breach: {b}");
            }
            for m in &missing {
                let _ = writeln!(out, "  no data from required source {m}");
            }
            let _ = writeln!(out, "exit {code}");
        }
    }
    let _ = out.flush();
    Ok(code)
}

fn note_breach(engine: &Engine, kind: &EventKind, breached: &mut Vec<String>) {
    if let EventKind::BandChange { row, .. } = kind {
        if engine
            .rows
            .iter()
            .any(|r| &r.key == row && r.critical && r.status == Status::Band(Band::Crit))
            && !breached.contains(row)
        {
            breached.push(row.clone());
        }
    }
}

fn write_poll(out: &mut dyn Write, format: Format, seq: u32, at: Ts, engine: &Engine) {
    match format {
        Format::Json => {
            let line = Line::Poll {
                seq,
                at,
                rows: engine.rows.iter().map(row_line).collect(),
                sources: engine
                    .sources
                    .iter()
                    .map(|s| SourceLine {
                        id: &s.id,
                        ok: !s.is_down() && s.last_ok.is_some(),
                        error: s.last_error.as_deref(),
                        latency_ms: s.last_latency_ms,
                    })
                    .collect(),
            };
            let _ = writeln!(out, "{}", serde_json::to_string(&line).unwrap_or_default());
        }
        Format::Text => {
            let c = engine.counts();
            let _ = writeln!(
                out,
                "{} poll {seq}: {} ok, {} warn, {} crit, {} no data, {} of {} sources down",
                at.format("%Y-%m-%dT%H:%M:%SZ"),
                c.ok,
                c.warn,
                c.crit,
                c.no_data,
                c.sources_down,
                engine.sources.len()
            );
            for r in &engine.rows {
                let value = match (&r.status, &r.value) {
                    (Status::Band(_), Some(v)) => format!(
                        "{v}{}",
                        r.unit
                            .as_deref()
                            .map(|u| format!(" {u}"))
                            .unwrap_or_default()
                    ),
                    _ => format!("no data: {}", r.reason.as_deref().unwrap_or("")),
                };
                let mark = if r.critical { "*" } else { " " };
                let thr = if r.threshold.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", r.threshold)
                };
                let _ = writeln!(
                    out,
                    "  {mark} {:<5} {:<40} {value}{thr}",
                    r.status.word().to_uppercase(),
                    r.label
                );
            }
        }
    }
}
