//! `warroom check`: the headless monitor. One poll judged on that sample alone, or a
//! window of polls with the full trip/clear rules (like the runbook's
//! `cutover_window_monitor.py`). Same engine as the screen.
//!
//! Exit codes: 0 all within thresholds, 1 a critical breach, 3 no data from a
//! required source (2, config/usage errors, is decided before we get here).

use crate::config::Config;
use crate::engine::{Band, Engine, EventKind, Row, Status};
use crate::poll::{poll_once, Clients, PollSetupError};
use crate::record::Line;
use crate::sample::{PollResult, Stamp, Ts};
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
    /// `--record FILE`. A window is recorded even without it (to a temporary file) so
    /// the report's summary can close the output.
    pub record: Option<std::path::PathBuf>,
    pub redact: crate::session::Redact,
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
enum CheckLine<'a> {
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
        #[serde(skip_serializing_if = "Option::is_none")]
        report_verdict: Option<String>,
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
    // The window, the interval and every `for` run on the monotonic clock; wall times
    // only stamp the lines.
    let start = Stamp::now();
    let single = opts.window.is_none();
    let mut engine = if single {
        Engine::single_sample(Arc::clone(&opts.cfg), start.mono)
    } else {
        Engine::new(Arc::clone(&opts.cfg), start.mono)
    };
    let deadline = opts.window.map(|w| tokio::time::Instant::now() + w);
    let temp = (opts.record.is_none() && opts.window.is_some())
        .then(|| std::env::temp_dir().join(format!("warroom-check-{}.jsonl", std::process::id())));
    let record_path = opts.record.clone().or(temp.clone());
    let recorder = match &record_path {
        Some(p) => match crate::record::Recorder::create(p, opts.redact.clone()) {
            Ok(r) => {
                let ctx = crate::audit::AuditContext::current();
                r.write(crate::session::header_line(&opts.cfg, None, &ctx, start));
                Some(r)
            }
            Err(e) => {
                let _ = writeln!(out, "warning: {e}; not recording");
                None
            }
        },
        None => None,
    };
    let mut seq = 0u32;
    let mut breached: Vec<String> = Vec::new();
    loop {
        seq += 1;
        let results = poll_all(&opts.cfg, &clients).await;
        // Read after every poll finished: no poll is stamped later than this.
        let now = Stamp::now();
        for r in &results {
            if let Some(rec) = &recorder {
                let readings = engine.readings(r);
                rec.write(Line::poll(&readings, engine.summary(r), &opts.cfg));
            }
            for ev in engine.ingest(r) {
                tracing::info!(target: "warroom::events", "{}", ev.text);
                if let Some(rec) = &recorder {
                    rec.write(Line::event(&ev));
                }
                note_breach(&engine, &ev.kind, &mut breached);
            }
        }
        if let Some(rec) = &recorder {
            rec.write(Line::Clock {
                at: now.at,
                mono: Some(now.mono),
            });
        }
        for ev in engine.tick(now) {
            if let Some(rec) = &recorder {
                rec.write(Line::event(&ev));
            }
            note_breach(&engine, &ev.kind, &mut breached);
        }
        for r in engine.critical_breaches() {
            // A breach is a measured value; no data is exit 3, counted apart.
            if r.status == Status::Band(Band::Crit) && !breached.contains(&r.key) {
                breached.push(r.key.clone());
            }
        }
        write_poll(out, opts.format, seq, now.at, &engine);
        let Some(deadline) = deadline else { break };
        let next = tokio::time::Instant::now() + opts.interval;
        if next > deadline {
            break;
        }
        tokio::time::sleep_until(next).await;
    }
    let now = Stamp::now();
    let breaches: Vec<String> = breached
        .iter()
        .filter_map(|k| engine.rows.iter().find(|r| &r.key == k))
        .map(|r| crate::engine::breach_text(r, engine.signal(r), now.mono))
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
    if let Some(rec) = recorder {
        rec.finish(now, "check finished");
    }
    // A window's output ends with the report's summary: the runbook's evidence in one command.
    let report = if opts.window.is_some() {
        record_path
            .as_deref()
            .and_then(|p| crate::record::read(p).ok())
            .and_then(|r| crate::report::build(r).ok())
    } else {
        None
    };
    if let Some(t) = &temp {
        let _ = std::fs::remove_file(t);
    }
    match opts.format {
        Format::Json => {
            let line = CheckLine::Summary {
                verdict,
                exit_code: code,
                mode,
                polls: seq,
                breaches,
                sources_without_data: missing,
                report_verdict: report.as_ref().map(|r| r.verdict.clone()),
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
            if let Some(r) = &report {
                let _ = writeln!(out, "report: {}", r.verdict);
                for b in &r.breaches {
                    let _ = writeln!(
                        out,
                        "  breach: {} {} → {} ({}), worst {}, {}",
                        b.signal,
                        b.start,
                        b.end.as_deref().unwrap_or("ongoing"),
                        b.duration,
                        b.worst.as_deref().unwrap_or("—"),
                        b.threshold
                    );
                }
                if let Some(p) = &opts.record {
                    let _ = writeln!(out, "  full evidence: warroom report {}", p.display());
                }
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
            let line = CheckLine::Poll {
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
