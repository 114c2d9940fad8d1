//! `warroom check`: the headless monitor. One poll judged on that sample alone, or a
//! window of polls with the full trip/clear rules (like the runbook's
//! `cutover_window_monitor.py`). Same engine as the screen.
//!
//! In a window every source polls on its own schedule (its `interval`, or `--interval`
//! for all when given) through the dashboard's pollers: a slow source never delays
//! another. A line is printed when every source has answered once, then every
//! `--interval` (without it, the shortest source interval) and at the end of the window.
//!
//! Exit codes: 0 all within thresholds, 1 a critical breach, 3 no data (a critical signal
//! without data, or a required source), 4 the `--record` file is incomplete (2,
//! config/usage errors, is decided before we get here). The first that applies wins.

use crate::audit::AuditContext;
use crate::config::Config;
use crate::engine::{no_data_findings, Band, Coverage, Engine, EventKind, Row, Status};
use crate::poll::{http_poller, spawn_pollers_with, Clients, PollFn, PollSetupError};
use crate::record::{Health, Line, Recorder};
use crate::sample::{PollResult, Stamp, Ts};
use chrono::Utc;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub struct CheckOptions {
    pub cfg: Arc<Config>,
    /// None: one poll, judged alone.
    pub window: Option<Duration>,
    /// `--interval`: every source polls at this instead of its own `interval`, and a
    /// line is printed at this pace. None: each source's own interval.
    pub interval: Option<Duration>,
    pub format: Format,
    /// `--record FILE`. A window is recorded even without it (to a private temporary
    /// file) so the report's summary can close the output.
    pub record: Option<std::path::PathBuf>,
    pub redact: crate::secrets::Redact,
    /// `--notify`: announce episodes to the `[[notify]]` targets, claimed in this audit
    /// log (the screens' own) so a check and the screens never both send one.
    pub notify: Option<std::path::PathBuf>,
}

/// How long a finished check waits for its notifications to go out.
const NOTIFY_DRAIN: Duration = Duration::from_secs(20);

/// `check --notify`: the episodes the engine shows, announced as a screen would.
struct CheckNotify {
    episodes: crate::notify::Episodes,
    notifier: crate::notify::Notifier,
}

impl CheckNotify {
    fn start(cfg: &Arc<Config>, log: &std::path::Path, redact: &crate::secrets::Redact) -> Self {
        let fingerprint = crate::audit::fingerprint(cfg, &**redact);
        let ctx = AuditContext::current().for_config(cfg, fingerprint);
        let audit = match crate::audit::AuditWriter::open(log) {
            Ok(w) => Some((w.with_redaction(Arc::clone(redact)), ctx.clone())),
            Err(e) => {
                eprintln!(
                    "warning: {}; notifications are sent unclaimed",
                    redact(&e.to_string())
                );
                None
            }
        };
        let notifier = crate::notify::Notifier::start(crate::notify::NotifierOptions {
            cfg: Arc::clone(cfg),
            host: ctx.host.clone(),
            audit,
            redact: Arc::clone(redact),
            tell: Arc::new(|t: crate::notify::Told| {
                if t.ok {
                    tracing::info!("{}", t.text);
                } else {
                    eprintln!("warning: {}", t.text);
                }
            }),
        });
        CheckNotify {
            episodes: Default::default(),
            notifier,
        }
    }

    fn observe(this: &mut Option<Self>, engine: &Engine, at: Ts) {
        let Some(n) = this else { return };
        for notice in n.episodes.observe(at, crate::notify::conditions(engine)) {
            if let Err(e) = n.notifier.offer(notice) {
                eprintln!("warning: {e}");
            }
        }
    }
}

pub const EXIT_OK: i32 = 0;
pub const EXIT_BREACH: i32 = 1;
pub const EXIT_NO_DATA: i32 = 3;
/// The recording asked for with `--record` could not be written in full.
pub const EXIT_RECORDING_INCOMPLETE: i32 = 4;

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
    /// Answers since the previous line (0: no answer, its poll is still out).
    answered: u32,
    /// Answers since the start.
    polls: u64,
    /// Milliseconds since its last answer (or since the start, before the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    age_ms: Option<u64>,
}

#[derive(Serialize)]
struct RecordingLine {
    path: String,
    complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

// One line at a time, written and dropped: not worth boxing the summary.
#[allow(clippy::large_enum_variant)]
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
        /// Critical signals without data (exit 3).
        no_data: Vec<String>,
        sources_without_data: Vec<String>,
        /// Critical signals without data that their `no_data` policy judges.
        no_data_judged: Vec<String>,
        source_polls: BTreeMap<&'a str, u64>,
        sources_behind: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        recording: Option<RecordingLine>,
        #[serde(skip_serializing_if = "Option::is_none")]
        report_verdict: Option<String>,
        /// Each step's holds: the cutover's recordings and this check's polls.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        holds: Vec<HoldLine>,
    },
}

#[derive(Serialize)]
struct HoldLine {
    step: String,
    standing: &'static str,
    text: String,
    #[serde(flatten)]
    verdict: crate::engine::hold::HoldVerdict,
}

/// The holds of `cfg`: what the cutover's recordings hold (read once, here), with this
/// check's own polls to follow.
fn hold_book(
    cfg: &Config,
    start: Stamp,
    record: Option<&std::path::Path>,
    own: &str,
) -> crate::engine::hold::Book {
    let mut book = crate::engine::hold::Book::new(cfg, start);
    if !book.is_empty() {
        let past = crate::holds::read_past(cfg, &crate::holds::files(cfg, record), Some(own));
        for p in &past.problems {
            eprintln!("warning: holds: {p}; skipped");
        }
        book.await_past();
        let what = past.summary();
        book.load_past(past.runs, what);
    }
    book
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

/// How one source kept its schedule over the window.
#[derive(Debug, Clone, Default)]
struct Pace {
    interval: Duration,
    polls: u64,
    since_line: u32,
    slowest_ms: u64,
    last_answer: Option<Instant>,
    longest_wait: Duration,
}

impl Pace {
    fn answered(&mut self, p: &PollResult, at: Instant, start: Instant) {
        self.polls += 1;
        self.since_line += 1;
        self.slowest_ms = self.slowest_ms.max(p.latency_ms);
        let wait = at - self.last_answer.unwrap_or(start);
        self.longest_wait = self.longest_wait.max(wait);
        self.last_answer = Some(at);
    }

    /// "4 polls in 20s; slowest answer 5s; longest wait between answers 5s", when it
    /// could not keep its interval: a poll took longer than the interval, or two answers
    /// were more than two intervals apart (a hang, a 429 back-off).
    fn behind(&self, id: &str, end: Instant, start: Instant) -> Option<String> {
        let wait = self
            .longest_wait
            .max(end - self.last_answer.unwrap_or(start));
        let slow = Duration::from_millis(self.slowest_ms) > self.interval;
        if !slow && wait <= self.interval * 2 {
            return None;
        }
        let f = crate::timefmt::format_duration;
        Some(format!(
            "{id} fell behind its {} interval: {} poll{} in {}; slowest answer {}; longest wait between answers {}",
            f(self.interval),
            self.polls,
            if self.polls == 1 { "" } else { "s" },
            f(end - start),
            f(Duration::from_millis(self.slowest_ms)),
            f(wait)
        ))
    }
}

/// The config as the window runs it: `--interval` replaces every source's own (so
/// `stale_after`'s default, three intervals, follows the real pace).
fn paced(cfg: &Arc<Config>, interval: Option<Duration>) -> Arc<Config> {
    match interval {
        None => Arc::clone(cfg),
        Some(i) => {
            let mut c = (**cfg).clone();
            for s in &mut c.sources {
                s.interval = crate::config::Dur(i);
            }
            Arc::new(c)
        }
    }
}

/// Run the check, writing lines to `out`. Returns the exit code.
pub async fn run_check(opts: CheckOptions, out: &mut dyn Write) -> Result<i32, PollSetupError> {
    let clients = Clients::for_config(&opts.cfg)?;
    let poll = http_poller(&opts.cfg, &clients);
    Ok(run_with(opts, poll, out).await)
}

/// Where the window's evidence goes.
struct Recording {
    recorder: Option<Recorder>,
    /// `--record FILE` (the exit code answers for it), or check's own temporary file.
    asked: Option<std::path::PathBuf>,
    /// The private temporary file, removed when dropped.
    temp: Option<tempfile::NamedTempFile>,
    /// It could not even be opened.
    open_error: Option<String>,
}

/// Open the recording: `--record FILE` appended to, or for a window without it a private
/// temporary file (created 0600 with an unpredictable name, never following a link).
fn open_recording(opts: &CheckOptions) -> Recording {
    let mut r = Recording {
        recorder: None,
        asked: opts.record.clone(),
        temp: None,
        open_error: None,
    };
    match &opts.record {
        Some(p) => match Recorder::append(p, Arc::clone(&opts.redact)) {
            Ok(rec) => r.recorder = Some(rec),
            Err(e) => r.open_error = Some(e.to_string()),
        },
        None if opts.window.is_some() => match window_tempfile() {
            Ok(t) => match t.as_file().try_clone() {
                Ok(f) => {
                    r.recorder = Some(Recorder::to_file(f, t.path(), Arc::clone(&opts.redact)));
                    r.temp = Some(t);
                }
                Err(e) => r.open_error = Some(e.to_string()),
            },
            Err(e) => r.open_error = Some(format!("cannot create a temporary recording: {e}")),
        },
        None => {}
    }
    r
}

/// A private file for the window's own recording, in the temporary directory.
fn window_tempfile() -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix("warroom-check-")
        .suffix(".jsonl")
        .tempfile()
}

/// Both clocks now. The monotonic one is counted on tokio's clock from the start, which
/// is the process's monotonic clock (and a paused one in tests); the wall clock only shows.
fn stamp(start: Stamp, started: Instant) -> Stamp {
    let elapsed = chrono::Duration::from_std(Instant::now() - started).unwrap_or_default();
    Stamp::new(Utc::now(), start.mono + elapsed)
}

async fn run_with(opts: CheckOptions, poll: PollFn, out: &mut dyn Write) -> i32 {
    let cfg = paced(&opts.cfg, opts.interval);
    // The window, the intervals and every `for` run on the monotonic clock; wall times
    // only stamp the lines.
    let start = Stamp::now();
    let started = Instant::now();
    let single = opts.window.is_none();
    let mut engine = if single {
        Engine::single_sample(Arc::clone(&cfg), start.mono)
    } else {
        Engine::new(Arc::clone(&cfg), start.mono)
    };
    let ctx = AuditContext::current();
    let mut rec = open_recording(&opts);
    if let Some(r) = &rec.recorder {
        r.write(crate::record::header_line(&cfg, None, &ctx, start));
    }
    if let Some(e) = &rec.open_error {
        let _ = writeln!(out, "warning: {e}; not recording");
    }
    let mut coverage = Coverage::new();
    let mut book = hold_book(&cfg, start, opts.record.as_deref(), &ctx.session);
    let mut pace: BTreeMap<String, Pace> = cfg
        .sources
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                Pace {
                    interval: s.interval.0,
                    ..Pace::default()
                },
            )
        })
        .collect();
    let mut seq = 0u32;
    let mut breached: Vec<String> = Vec::new();
    let ingest = |engine: &mut Engine,
                  coverage: &mut Coverage,
                  breached: &mut Vec<String>,
                  rec: &Option<Recorder>,
                  book: &mut crate::engine::hold::Book,
                  r: &PollResult| {
        // Read once: the recording keeps exactly what the engine is given.
        let (summary, readings) = engine.extract(r);
        if let Some(rec) = rec {
            rec.write(Line::poll(&readings, summary.clone(), &cfg));
        }
        book.observe(&cfg, &summary, &readings);
        for ev in engine.ingest_readings(&summary, readings) {
            tracing::info!(target: "warroom::events", "{}", ev.text);
            if let Some(rec) = rec {
                rec.write(Line::event(&ev));
            }
            note_breach(engine, &ev.kind, breached);
        }
        coverage.observe(engine, r.mono);
    };
    let tick = |engine: &mut Engine,
                coverage: &mut Coverage,
                breached: &mut Vec<String>,
                rec: &Option<Recorder>,
                now: Stamp| {
        if let Some(rec) = rec {
            rec.write(Line::Clock {
                at: now.at,
                mono: Some(now.mono),
            });
        }
        for ev in engine.tick(now) {
            if let Some(rec) = rec {
                rec.write(Line::event(&ev));
            }
            note_breach(engine, &ev.kind, breached);
        }
        coverage.observe(engine, now.mono);
        for r in engine.critical_breaches() {
            // A breach is a measured value; no data is exit 3, counted apart.
            if r.status == Status::Band(Band::Crit) && !breached.contains(&r.key) {
                breached.push(r.key.clone());
            }
        }
    };
    let mut notify = opts
        .notify
        .as_deref()
        .filter(|_| !cfg.notify.is_empty())
        .map(|log| CheckNotify::start(&cfg, log, &opts.redact));
    let mut now: Stamp;
    match opts.window {
        None => {
            // One sample: every source once, concurrently, each bounded by its time-out.
            let results = futures::future::join_all(cfg.sources.iter().map(|s| poll(s))).await;
            for r in &results {
                if let Some(p) = pace.get_mut(&r.source) {
                    p.answered(r, Instant::now(), started);
                }
                ingest(
                    &mut engine,
                    &mut coverage,
                    &mut breached,
                    &rec.recorder,
                    &mut book,
                    r,
                );
            }
            // Read after every poll finished: no poll is stamped later than this.
            now = stamp(start, started);
            tick(
                &mut engine,
                &mut coverage,
                &mut breached,
                &rec.recorder,
                now,
            );
            CheckNotify::observe(&mut notify, &engine, now.at);
            seq += 1;
            write_poll(
                out,
                opts.format,
                seq,
                now.at,
                &engine,
                &pace,
                Instant::now(),
                started,
            );
        }
        Some(window) => {
            let deadline = started + window;
            let every = opts
                .interval
                .or_else(|| cfg.sources.iter().map(|s| s.interval.0).min())
                .unwrap_or(Duration::from_secs(60))
                .max(Duration::from_millis(100));
            let (ptx, mut prx) = tokio::sync::mpsc::channel::<PollResult>(256);
            let pollers = spawn_pollers_with(&cfg.sources, Arc::clone(&poll), ptx);
            // Lines fall between polls (half an interval after they start), so each shows
            // the answers of the polls just made rather than racing them.
            let mut next_line = started + every + every / 2;
            let mut first_pending = true;
            loop {
                let due = next_line.min(deadline);
                tokio::select! {
                    got = prx.recv() => {
                        let Some(r) = got else { break };
                        if let Some(p) = pace.get_mut(&r.source) {
                            p.answered(&r, Instant::now(), started);
                        }
                        ingest(&mut engine, &mut coverage, &mut breached, &rec.recorder, &mut book, &r);
                        CheckNotify::observe(&mut notify, &engine, r.at);
                        // The first line as soon as every source has answered once.
                        if first_pending && pace.values().all(|p| p.polls > 0) {
                            first_pending = false;
                            now = stamp(start, started);
                            tick(&mut engine, &mut coverage, &mut breached, &rec.recorder, now);
                            seq += 1;
                            write_poll(out, opts.format, seq, now.at, &engine, &pace, Instant::now(), started);
                            pace.values_mut().for_each(|p| p.since_line = 0);
                        }
                    }
                    _ = tokio::time::sleep_until(due) => {
                        first_pending = false;
                        now = stamp(start, started);
                        tick(&mut engine, &mut coverage, &mut breached, &rec.recorder, now);
                        CheckNotify::observe(&mut notify, &engine, now.at);
                        seq += 1;
                        write_poll(out, opts.format, seq, now.at, &engine, &pace, Instant::now(), started);
                        pace.values_mut().for_each(|p| p.since_line = 0);
                        if due >= deadline {
                            break;
                        }
                        next_line += every;
                    }
                }
            }
            pollers.abort();
        }
    }
    if let Some(n) = notify.take() {
        n.notifier.finish(NOTIFY_DRAIN).await;
    }
    let ended = Instant::now();
    let now = stamp(start, started);
    let findings = no_data_findings(&engine, (!single).then_some(&coverage), now);
    let mut breaches: Vec<String> = breached
        .iter()
        .filter_map(|k| engine.rows.iter().find(|r| &r.key == k))
        .map(|r| crate::engine::breach_text(r, engine.signal(r), now.mono))
        .collect();
    // A `no_data = "crit"` policy makes missing data a breach, by the signal's own rule.
    breaches.extend(
        findings
            .iter()
            .filter(|f| f.counts_as == Some(Band::Crit))
            .map(|f| f.text()),
    );
    let no_data: Vec<String> = findings
        .iter()
        .filter(|f| f.counts_as.is_none())
        .map(|f| f.text())
        .collect();
    let judged: Vec<String> = findings
        .iter()
        .filter(|f| matches!(f.counts_as, Some(Band::Ok | Band::Warn)))
        .map(|f| f.text())
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
    let behind: Vec<String> = if single {
        Vec::new()
    } else {
        pace.iter()
            .filter_map(|(id, p)| p.behind(id, ended, started))
            .collect()
    };
    let health: Option<Health> = rec.recorder.take().map(|r| r.finish(now, "check finished"));
    // Only the file asked for answers for the exit code; the temporary one feeds the summary.
    let record_problem: Option<String> = rec.asked.as_ref().and_then(|_| {
        rec.open_error
            .clone()
            .or_else(|| health.as_ref().and_then(Health::failure_text))
    });
    let (verdict, code) = if !breaches.is_empty() {
        ("crit", EXIT_BREACH)
    } else if !no_data.is_empty() || !missing.is_empty() {
        ("no_data", EXIT_NO_DATA)
    } else if record_problem.is_some() {
        ("recording_incomplete", EXIT_RECORDING_INCOMPLETE)
    } else {
        ("ok", EXIT_OK)
    };
    let mode = if single { "single-sample" } else { "window" };
    // A window's output ends with the report's summary: the runbook's evidence in one command.
    let report: Option<Result<crate::report::Report, String>> = if single {
        None
    } else {
        let path = rec
            .temp
            .as_ref()
            .map(|t| t.path().to_path_buf())
            .or(rec.asked.clone());
        path.filter(|_| rec.open_error.is_none()).map(|p| {
            let all = crate::record::read_all(&p).map_err(|e| e.to_string())?;
            // `--record` may append to earlier sessions: this window's is the one with our id.
            let mine = all
                .into_iter()
                .rev()
                .find(|s| s.session() == Some(ctx.session.as_str()))
                .ok_or_else(|| "this window's session is not in the recording".to_string())?;
            crate::report::build(mine)
        })
    };
    drop(rec.temp.take());
    let holds: Vec<HoldLine> = book
        .specs()
        .iter()
        .enumerate()
        .filter_map(|(k, (step, _, _))| {
            let v = book.verdict(k, now.mono)?;
            Some(HoldLine {
                step: cfg
                    .steps
                    .get(*step)
                    .map(|s| s.title.clone())
                    .unwrap_or_default(),
                standing: v.word(),
                text: v.text(true),
                verdict: v,
            })
        })
        .collect();
    let polls_total: u64 = pace.values().map(|p| p.polls).sum();
    let recording_line = rec.asked.as_ref().map(|p| RecordingLine {
        path: p.display().to_string(),
        complete: record_problem.is_none(),
        error: record_problem.clone(),
    });
    match opts.format {
        Format::Json => {
            let line = CheckLine::Summary {
                verdict,
                exit_code: code,
                mode,
                polls: seq,
                breaches,
                no_data,
                sources_without_data: missing,
                no_data_judged: judged,
                source_polls: pace.iter().map(|(k, p)| (k.as_str(), p.polls)).collect(),
                sources_behind: behind,
                recording: recording_line,
                report_verdict: report.as_ref().map(|r| {
                    r.as_ref()
                        .map_or_else(|e| format!("not available: {e}"), |r| r.verdict.clone())
                }),
                holds,
            };
            let _ = writeln!(out, "{}", serde_json::to_string(&line).unwrap_or_default());
        }
        Format::Text => {
            let how = if single {
                "judged on this one sample alone (for/m_of_n/clear_for not applied; use --window for the full rules)".to_string()
            } else {
                format!(
                    "{polls_total} polls of {} sources, each on its own schedule, with the full trip/clear rules",
                    pace.len()
                )
            };
            let word = match verdict {
                "crit" => "CRIT",
                "no_data" => "NO DATA",
                "recording_incomplete" => "RECORDING INCOMPLETE",
                _ => "OK",
            };
            let lead = if verdict == "recording_incomplete" {
                "all within thresholds, but the evidence is not whole; "
            } else {
                ""
            };
            let _ = writeln!(out, "summary: {word} — {lead}{how}");
            for b in &breaches {
                let _ = writeln!(out, "  critical breach: {b}");
            }
            for n in &no_data {
                let _ = writeln!(out, "  no data from critical signal {n}");
            }
            for m in &missing {
                let _ = writeln!(out, "  no data from required source {m}");
            }
            for j in &judged {
                let _ = writeln!(out, "  judged by its no_data policy: {j}");
            }
            for b in &behind {
                let _ = writeln!(out, "  source {b}");
            }
            for h in &holds {
                let _ = writeln!(
                    out,
                    "  hold {} on \"{}\": {} — {}",
                    h.verdict.title, h.step, h.standing, h.text
                );
            }
            if let Some(r) = &recording_line {
                match &r.error {
                    Some(e) => {
                        let _ = writeln!(out, "  recording {}: INCOMPLETE — {e}", r.path);
                    }
                    None => {
                        let _ = writeln!(out, "  recording {}: complete", r.path);
                    }
                }
            }
            match &report {
                Some(Ok(r)) => {
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
                Some(Err(e)) => {
                    let _ = writeln!(out, "report: not available: {e}");
                }
                None => {}
            }
            let _ = writeln!(out, "exit {code}");
        }
    }
    let _ = out.flush();
    code
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

#[allow(clippy::too_many_arguments)]
fn write_poll(
    out: &mut dyn Write,
    format: Format,
    seq: u32,
    at: Ts,
    engine: &Engine,
    pace: &BTreeMap<String, Pace>,
    mono: Instant,
    started: Instant,
) {
    let answered = |id: &str| pace.get(id).map(|p| p.since_line).unwrap_or(0);
    // Since the source's last answer (or the start): "not due yet" versus "no answer".
    let age = |id: &str| {
        pace.get(id)
            .map(|p| (mono - p.last_answer.unwrap_or(started), p))
    };
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
                        ok: !s.is_failing() && s.last_ok.is_some(),
                        error: s.last_error.as_deref(),
                        latency_ms: s.last_latency_ms,
                        answered: answered(&s.id),
                        polls: s.polls,
                        age_ms: age(&s.id).map(|(a, _)| a.as_millis() as u64),
                    })
                    .collect(),
            };
            let _ = writeln!(out, "{}", serde_json::to_string(&line).unwrap_or_default());
        }
        Format::Text => {
            let c = engine.counts();
            // Which sources answered since the last line, and which did not.
            let f = crate::timefmt::format_duration_tenths;
            let said: Vec<String> = engine
                .sources
                .iter()
                .map(|s| {
                    let n = answered(&s.id);
                    let times = if n > 1 {
                        format!(" ×{n}")
                    } else {
                        String::new()
                    };
                    let state = if s.is_failing() {
                        format!("failed ({})", s.last_error.as_deref().unwrap_or(""))
                    } else {
                        "ok".to_string()
                    };
                    match (n, age(&s.id)) {
                        (0, Some((a, p))) if p.last_answer.is_none() => {
                            format!("{} no answer yet ({})", s.id, f(a))
                        }
                        (0, Some((a, p))) if a > p.interval => {
                            format!("{} no answer for {}", s.id, f(a))
                        }
                        // Answered within its interval: not due again yet.
                        (0, Some((a, _))) => format!("{} {state} {} ago", s.id, f(a)),
                        (0, None) => format!("{} no answer", s.id),
                        _ => format!("{} {state}{times}", s.id),
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "{} poll {seq}: {} ok, {} warn, {} crit, {} no data, {} of {} sources down; sources: {}",
                at.format("%Y-%m-%dT%H:%M:%SZ"),
                c.ok,
                c.warn,
                c.crit,
                c.no_data,
                c.sources_down,
                engine.sources.len(),
                said.join(", ")
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

#[cfg(test)]
mod tests {
    //! The window's schedule on tokio's paused clock: a source that hangs to its time-out
    //! and one that answers at once, no real time spent.
    use super::*;
    use crate::config::Source;
    use crate::sample::PollOutcome;
    use futures::FutureExt;

    fn cfg() -> Arc<Config> {
        Arc::new(
            toml::from_str(
                r#"
[cutover]
name = "t"
[[source]]
id = "fast"
kind = "http"
url = "http://127.0.0.1:1/fast"
interval = "1s"
timeout = "1s"
[[source]]
id = "hang"
kind = "http"
url = "http://127.0.0.1:1/hang"
interval = "1s"
timeout = "5s"
required = false
[[signal]]
id = "err"
source = "fast"
kind = "metric"
path = ".err"
critical = true
crit = "> 2"
"#,
            )
            .expect("config"),
        )
    }

    /// `fast` answers at once; `hang` answers only when its 5 s time-out fires.
    fn fake_poller() -> PollFn {
        let wall = Utc::now();
        let mono = crate::sample::Mono::now();
        let base = Instant::now();
        Arc::new(move |src: &Source| {
            let id = src.id.clone();
            async move {
                let started = Instant::now();
                let outcome = if id == "hang" {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    PollOutcome::Failed {
                        status: None,
                        reason: "time-out after 5s".into(),
                    }
                } else {
                    PollOutcome::Json {
                        status: 200,
                        body: serde_json::json!({"err": 0.5}),
                    }
                };
                let elapsed = chrono::Duration::from_std(Instant::now() - base).unwrap_or_default();
                PollResult {
                    source: id,
                    at: wall + elapsed,
                    mono: mono + elapsed,
                    latency_ms: (Instant::now() - started).as_millis() as u64,
                    outcome,
                }
            }
            .boxed()
        })
    }

    fn opts(window: Duration) -> CheckOptions {
        CheckOptions {
            cfg: cfg(),
            window: Some(window),
            interval: None,
            format: Format::Json,
            record: None,
            redact: Arc::new(|s: &str| s.to_string()),
            notify: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_hanging_to_its_time_out_never_delays_another() {
        let mut out = Vec::new();
        let code = run_with(opts(Duration::from_secs(20)), fake_poller(), &mut out).await;
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON lines"))
            .collect();
        let summary = lines.last().expect("summary");
        assert_eq!(code, EXIT_OK, "{text}");
        // `fast` keeps its 1 s interval (about 20 polls in 20 s), `hang` gets one per 5 s.
        let fast = summary["source_polls"]["fast"].as_u64().unwrap_or(0);
        let hang = summary["source_polls"]["hang"].as_u64().unwrap_or(0);
        assert!(fast >= 18, "fast polled {fast} times:\n{text}");
        assert!(hang <= 5, "hang polled {hang} times");
        let behind = summary["sources_behind"].to_string();
        assert!(
            behind.contains("hang fell behind its 1s interval"),
            "{behind}"
        );
        assert!(!behind.contains("fast"), "{behind}");
        // Each line says who answered since the previous one: `fast` is never overdue,
        // `hang` mostly is (no answer for longer than its interval).
        let polls: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "poll").collect();
        assert!(polls.len() >= 20, "{} lines", polls.len());
        let source = |l: &serde_json::Value, id: &str| {
            let s = l["sources"]
                .as_array()
                .and_then(|a| a.iter().find(|s| s["id"] == id))
                .cloned()
                .unwrap_or_default();
            (
                s["answered"].as_u64().unwrap_or(99),
                s["age_ms"].as_u64().unwrap_or(0),
            )
        };
        let overdue = |l: &serde_json::Value, id: &str| {
            let (answered, age) = source(l, id);
            answered == 0 && age > 1000
        };
        assert!(polls.iter().all(|l| !overdue(l, "fast")), "{text}");
        assert!(
            polls.iter().filter(|l| overdue(l, "hang")).count() >= 10,
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn with_interval_every_source_keeps_that_pace() {
        let mut o = opts(Duration::from_secs(20));
        o.interval = Some(Duration::from_secs(2));
        let mut out = Vec::new();
        run_with(o, fake_poller(), &mut out).await;
        let text = String::from_utf8(out).expect("utf-8");
        let summary: serde_json::Value =
            serde_json::from_str(text.lines().last().expect("summary")).expect("json");
        let fast = summary["source_polls"]["fast"].as_u64().unwrap_or(0);
        assert!((9..=11).contains(&fast), "fast polled {fast} times at 2s");
        let polls = text
            .lines()
            .filter(|l| l.contains("\"type\":\"poll\""))
            .count();
        assert!((10..=12).contains(&polls), "{polls} lines at 2s in 20s");
    }

    #[test]
    fn the_window_recording_is_private_and_unpredictable() {
        use std::os::unix::fs::PermissionsExt;
        let a = window_tempfile().expect("temp");
        let b = window_tempfile().expect("temp");
        assert_ne!(a.path(), b.path());
        let old = std::env::temp_dir().join(format!("warroom-check-{}.jsonl", std::process::id()));
        assert_ne!(a.path(), old.as_path());
        let mode = a.as_file().metadata().expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists(), "removed when done");
    }
}
