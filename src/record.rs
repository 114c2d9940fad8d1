//! `--record FILE`: the session as JSON lines, one event per line, flushed (and synced)
//! as it happens, so a crash or an SSH drop loses nothing already seen. Every line is
//! passed through the redactor before it is written: no secret reaches the file.
//!
//! A file may hold several sessions: `--record` onto an existing file appends a new
//! segment, starting with its own header, and never truncates what is there.
//!
//! Line format, version 1 (`"v": 1` on every line, `"type"` says which):
//! - `header`: first line of each session — `at`, `warroom` (version), `host`, `user`,
//!   `cutover`, `environment`, `t0` (as configured or given), `session` (this session's
//!   id), `rev` (the format revision within version 1), `config` (the expanded config as
//!   JSON, secrets redacted).
//! - `poll`: a source answered or failed — `source`, `at`, `latency_ms`, `status`, `error`
//!   and `rows`: one per row with `key`, `signal`, `name`, `critical`, and `value` or
//!   `no_data` (`error`/`empty`) with `reason`.
//! - `clock`: the dashboard's clock ticked (`at`), for stale values and `for` rules.
//! - `event`: what the engine concluded — band and flag changes, source errors and
//!   recoveries, rollback advice — with `severity`, `kind`, `text` and the kind's fields.
//! - `audit`: an operator's act, here or on another screen sharing the audit log —
//!   `user`, `host`, `kind` (`action_confirmed`, `action_result`, `verify_result`, `tick`,
//!   `untick`, `signoff`, `t0_mark`, `step_run`, `step_run_result`) and `details`.
//! - `gap`: writing failed and lines were lost — `at` (the first lost line's time),
//!   `error`, `lost` (how many lines). Written by the first write that succeeds again.
//! - `end`: the session ended (`reason`); `lost` and `write_failed` (`at`, `error`) when
//!   lines could not be written. A recording without it was cut short.
//!
//! Every line also carries `mono_ms`: milliseconds on the recording process's monotonic
//! clock (origin arbitrary). `at` is the wall clock, shown; durations are differences of
//! `mono_ms`, so a wall step during the session changes none. A line without it (written
//! before it existed) is measured on its wall time instead.
//!
//! Revision 1 (additive, still `"v": 1`): `session` and `rev` in the header, `gap` lines,
//! `lost`/`write_failed` on `end`, and the config's `no_data` written only when the
//! config sets it. A revision-0 recording wrote `no_data = "warn"` for every signal, so
//! there `warn` is read as "not set" (no data is then never a pass).

use crate::engine::{Event, PollSummary, RowReading};
use crate::sample::{Mono, NoDataKind, Reading, Stamp, Ts, Value};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub const FORMAT_VERSION: u32 = 1;
/// The revision within version 1 this warroom writes (see the module's doc).
pub const FORMAT_REVISION: u32 = 1;
/// The longest line a reader takes (a poll of a thousand rows is a few hundred KB).
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;
/// Unreadable lines named one by one; past this they are only counted.
pub const MAX_NAMED_BAD: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowLine {
    pub key: String,
    /// The signal's id.
    pub signal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub critical: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_data: Option<NoDataKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The payload's age at the poll (`fresh_at`), so a replay ages the row as live did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    Header {
        at: Ts,
        warroom: String,
        host: String,
        user: String,
        cutover: String,
        #[serde(default)]
        environment: Option<String>,
        #[serde(default)]
        t0: Option<Ts>,
        /// This session's id: several sessions may share one file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// The format revision within version 1 (0: written before revisions existed).
        #[serde(default)]
        rev: u32,
        config: serde_json::Value,
        #[serde(rename = "mono_ms", default, skip_serializing_if = "Option::is_none")]
        mono: Option<Mono>,
    },
    Poll {
        #[serde(flatten)]
        poll: PollSummary,
        rows: Vec<RowLine>,
    },
    Clock {
        at: Ts,
        #[serde(rename = "mono_ms", default, skip_serializing_if = "Option::is_none")]
        mono: Option<Mono>,
    },
    Event {
        #[serde(flatten)]
        event: serde_json::Value,
    },
    Audit {
        at: Ts,
        #[serde(rename = "mono_ms", default, skip_serializing_if = "Option::is_none")]
        mono: Option<Mono>,
        user: String,
        host: String,
        kind: String,
        #[serde(default)]
        details: serde_json::Value,
    },
    /// Lines were lost: written by the first write that succeeded after failures.
    Gap {
        /// The first lost line's time.
        at: Ts,
        #[serde(rename = "mono_ms", default, skip_serializing_if = "Option::is_none")]
        mono: Option<Mono>,
        error: String,
        lost: u64,
    },
    End {
        at: Ts,
        #[serde(rename = "mono_ms", default, skip_serializing_if = "Option::is_none")]
        mono: Option<Mono>,
        reason: String,
        /// Lines this session could not write.
        #[serde(default, skip_serializing_if = "is_zero")]
        lost: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        write_failed: Option<WriteFailure>,
    },
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The first write that failed: when (the line's own time) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteFailure {
    pub at: Ts,
    #[serde(rename = "mono_ms", default, skip_serializing_if = "Option::is_none")]
    pub mono: Option<Mono>,
    pub error: String,
}

/// One line as written: the version and the line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rec {
    pub v: u32,
    #[serde(flatten)]
    pub line: Line,
}

impl Line {
    pub fn at(&self) -> Option<Ts> {
        match self {
            Line::Header { at, .. }
            | Line::Clock { at, .. }
            | Line::Audit { at, .. }
            | Line::Gap { at, .. }
            | Line::End { at, .. } => Some(*at),
            Line::Poll { poll, .. } => Some(poll.at),
            Line::Event { event } => event
                .get("at")
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
        }
    }

    /// The line's monotonic time, when it was recorded with one.
    pub fn mono(&self) -> Option<Mono> {
        match self {
            Line::Header { mono, .. }
            | Line::Clock { mono, .. }
            | Line::Audit { mono, .. }
            | Line::Gap { mono, .. }
            | Line::End { mono, .. } => *mono,
            Line::Poll { poll, .. } => poll.mono,
            Line::Event { event } => event
                .get("mono_ms")
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
        }
    }

    pub fn poll(
        readings: &[RowReading],
        summary: PollSummary,
        cfg: &crate::config::Config,
    ) -> Self {
        let rows = readings
            .iter()
            .map(|r| {
                let (value, no_data, reason) = match &r.reading {
                    Reading::Value(v) => (Some(v.clone()), None, None),
                    Reading::NoData { kind, reason } => (None, Some(*kind), Some(reason.clone())),
                };
                RowLine {
                    key: r.key.clone(),
                    signal: cfg
                        .signals
                        .get(r.signal)
                        .map(|s| s.id.clone())
                        .unwrap_or_default(),
                    name: r.name.clone(),
                    critical: r.critical,
                    value,
                    no_data,
                    reason,
                    age_ms: r.age_ms,
                }
            })
            .collect();
        Line::Poll {
            poll: summary,
            rows,
        }
    }

    pub fn event(e: &Event) -> Self {
        Line::Event {
            event: serde_json::to_value(e).unwrap_or_default(),
        }
    }
}

/// `--record` without a file: a new file for this session in the cutover's state
/// directory, beside its audit log: `<state>/warroom/<cutover>/<environment>/sessions/
/// <UTC start>-<pid>.jsonl`. One file per session, so a cutover of many sessions is one
/// directory `report` reads whole.
pub fn session_path(cfg: &crate::config::Config, now: Ts) -> std::path::PathBuf {
    session_path_with(cfg, now, std::process::id(), &|k| std::env::var(k).ok())
}

/// As `session_path`, with the process id and the environment given.
pub fn session_path_with(
    cfg: &crate::config::Config,
    now: Ts,
    pid: u32,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::path::PathBuf {
    let audit =
        crate::audit::default_path_with(&cfg.cutover.name, cfg.cutover.environment_name(), env);
    let dir = audit
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    dir.join("sessions")
        .join(format!("{}-{pid}.jsonl", now.format("%Y%m%dT%H%M%SZ")))
}

/// The `--record` value as given: a file, or (the flag without one) this
/// session's file in the state directory, its folder created (private).
pub fn resolve_record_path(
    asked: Option<Option<&std::path::Path>>,
    cfg: &crate::config::Config,
    now: Ts,
) -> Result<Option<std::path::PathBuf>, String> {
    match asked {
        None => Ok(None),
        Some(Some(p)) => Ok(Some(p.to_path_buf())),
        Some(None) => {
            let path = session_path(cfg, now);
            if let Some(dir) = path.parent() {
                let mut b = std::fs::DirBuilder::new();
                b.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
                b.create(dir)
                    .map_err(|e| format!("--record: cannot create {}: {e}", dir.display()))?;
            }
            Ok(Some(path))
        }
    }
}

/// A session's first line in the recording: who, where, which session, and the config as
/// it ran (redacted on write).
pub fn header_line(
    cfg: &crate::config::Config,
    t0: Option<Ts>,
    ctx: &crate::audit::AuditContext,
    now: Stamp,
) -> Line {
    Line::Header {
        at: now.at,
        mono: Some(now.mono),
        warroom: env!("CARGO_PKG_VERSION").into(),
        host: ctx.host.clone(),
        user: ctx.user.clone(),
        cutover: cfg.cutover.name.clone(),
        environment: cfg.cutover.environment.clone(),
        t0,
        session: Some(ctx.session.clone()),
        rev: FORMAT_REVISION,
        config: serde_json::to_value(cfg).unwrap_or_default(),
    }
}

impl RowLine {
    /// Back to the engine's reading (the signal id resolved against the config).
    pub fn reading(&self, cfg: &crate::config::Config) -> Option<RowReading> {
        let signal = cfg.signals.iter().position(|s| s.id == self.signal)?;
        let reading = match (&self.value, self.no_data) {
            (Some(v), _) => Reading::Value(v.clone()),
            (None, kind) => Reading::NoData {
                kind: kind.unwrap_or(NoDataKind::Empty),
                reason: self.reason.clone().unwrap_or_default(),
            },
        };
        Some(RowReading {
            signal,
            key: self.key.clone(),
            name: self.name.clone(),
            critical: self.critical,
            reading,
            age_ms: self.age_ms,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot open the recording {path}: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where the recorder's bytes go. One call is one whole buffer, made durable before it
/// returns: a failure means the buffer may be partly written.
pub trait Sink: Send {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()>;
}

/// A file: written, flushed and, when it is a regular file, synced to the disk.
pub struct FileSink {
    file: std::fs::File,
    sync: bool,
}

impl FileSink {
    pub fn new(file: std::fs::File) -> Self {
        // fsync on a pipe or a device fails (EINVAL) without saying anything about the data.
        let sync = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        FileSink { file, sync }
    }
}

impl Sink for FileSink {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.file.flush()?;
        if self.sync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

/// Any writer, flushed per line and never synced (a pipe; a test's faulty disk).
pub struct WriterSink<W>(pub W);

impl<W: Write + Send> Sink for WriterSink<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write_all(bytes)?;
        self.0.flush()
    }
}

/// What the recorder managed to write. Lost lines make the recording incomplete, for
/// good: the dashboard, `check` and `report` all say so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    pub written: u64,
    pub lost: u64,
    pub first_failure: Option<WriteFailure>,
    pub last_error: Option<String>,
}

impl Health {
    pub fn complete(&self) -> bool {
        self.first_failure.is_none()
    }

    /// "write failed at 2026-11-25T21:00:03Z: No space left on device (os error 28); 12 lines lost"
    pub fn failure_text(&self) -> Option<String> {
        let f = self.first_failure.as_ref()?;
        Some(failure_text(f, self.lost))
    }
}

fn failure_text(f: &WriteFailure, lost: u64) -> String {
    format!(
        "write failed at {}: {}; {lost} line{} lost",
        f.at.format("%Y-%m-%dT%H:%M:%SZ"),
        f.error,
        if lost == 1 { "" } else { "s" }
    )
}

enum Item {
    Line {
        at: Option<Ts>,
        mono: Option<Mono>,
        text: String,
    },
    End {
        at: Stamp,
        reason: String,
    },
}

/// Writes lines on a thread of its own (the keyboard never waits on the disk).
pub struct Recorder {
    tx: Option<std::sync::mpsc::Sender<Item>>,
    thread: Option<std::thread::JoinHandle<()>>,
    redact: crate::secrets::Redact,
    health: Arc<Mutex<Health>>,
    /// Set once a write failed: the dashboard asks after every message, so no lock.
    failed: Arc<std::sync::atomic::AtomicBool>,
    pub path: PathBuf,
}

impl Recorder {
    /// Open `path` for a new session: appended after whatever the file holds (earlier
    /// sessions are evidence too), created 0600 when it does not exist.
    pub fn append(path: &Path, redact: crate::secrets::Redact) -> Result<Self, RecordError> {
        use std::os::unix::fs::OpenOptionsExt;
        let err = |source| RecordError::Create {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(err)?;
        // A session cut mid-line before us: start on a fresh line, never glued to it.
        // Unreadable (a write-only file): assume so; an empty line costs nothing.
        let mid_line = ends_mid_line(path).unwrap_or(true);
        Ok(Self::with_sink(
            Box::new(FileSink::new(file)),
            path,
            redact,
            mid_line,
        ))
    }

    /// Record into an open file (e.g. a private temporary file).
    pub fn to_file(file: std::fs::File, path: &Path, redact: crate::secrets::Redact) -> Self {
        Self::with_sink(Box::new(FileSink::new(file)), path, redact, false)
    }

    /// Record into any sink; `mid_line`: what is already there ends without a newline.
    pub fn with_sink(
        sink: Box<dyn Sink>,
        path: &Path,
        redact: crate::secrets::Redact,
        mid_line: bool,
    ) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Item>();
        let health = Arc::new(Mutex::new(Health::default()));
        let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let shown = path.display().to_string();
        let w = Writer {
            sink,
            health: Arc::clone(&health),
            failed: Arc::clone(&failed),
            redact: Arc::clone(&redact),
            mid_line,
            shown,
        };
        let thread = std::thread::spawn(move || w.run(rx));
        Recorder {
            tx: Some(tx),
            thread: Some(thread),
            redact,
            health,
            failed,
            path: path.to_path_buf(),
        }
    }

    pub fn write(&self, line: Line) {
        let at = line.at();
        let mono = line.mono();
        let Some(text) = encode(&line, &*self.redact) else {
            return;
        };
        if let Some(tx) = &self.tx {
            let _ = tx.send(Item::Line { at, mono, text });
        }
    }

    /// What has been written and lost so far (lines still queued are not counted yet).
    pub fn health(&self) -> Health {
        lock(&self.health).clone()
    }

    /// Has any write failed yet? (Cheap: for asking after every message.)
    pub fn failed(&self) -> bool {
        self.failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Write the end line, wait for everything to reach the disk, and say how it went.
    pub fn finish(mut self, at: Stamp, reason: &str) -> Health {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Item::End {
                at,
                reason: reason.into(),
            });
        }
        self.stop();
        self.health()
    }

    fn stop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock(h: &Mutex<Health>) -> std::sync::MutexGuard<'_, Health> {
    h.lock().unwrap_or_else(|e| e.into_inner())
}

/// One record as text: versioned, redacted as a whole (a token can hide in a reason, a
/// URL or an excerpt), newline-terminated.
fn encode(line: &Line, redact: &(dyn Fn(&str) -> String + Send + Sync)) -> Option<String> {
    let rec = Rec {
        v: FORMAT_VERSION,
        line: line.clone(),
    };
    let json = serde_json::to_string(&rec).ok()?;
    let mut text = redact(&json);
    text.push('\n');
    Some(text)
}

/// Does the file end without a newline (the last session was cut mid-line)?
fn ends_mid_line(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() || meta.len() == 0 {
        return Ok(false);
    }
    f.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// The recorder's thread: one `put` per record, never glued to a partial line.
struct Writer {
    sink: Box<dyn Sink>,
    health: Arc<Mutex<Health>>,
    failed: Arc<std::sync::atomic::AtomicBool>,
    redact: crate::secrets::Redact,
    /// What is on the disk may end mid-line (a failed write, or the file as found).
    mid_line: bool,
    shown: String,
}

impl Writer {
    fn run(mut self, rx: std::sync::mpsc::Receiver<Item>) {
        // Lines lost since the last write that succeeded: said in a `gap` line by the next one.
        let mut pending: Option<(WriteFailure, u64)> = None;
        while let Ok(item) = rx.recv() {
            let (at, mono, text) = match item {
                Item::Line { at, mono, text } => (at, mono, text),
                Item::End { at, reason } => {
                    let h = lock(&self.health).clone();
                    let end = Line::End {
                        at: at.at,
                        mono: Some(at.mono),
                        reason,
                        // If the end line is lost too, the count misses it: a reader that
                        // cannot see it knows the session was cut short anyway.
                        lost: h.lost,
                        write_failed: h.first_failure,
                    };
                    match encode(&end, &*self.redact) {
                        Some(t) => (Some(at.at), Some(at.mono), t),
                        None => continue,
                    }
                }
            };
            let mut buf = Vec::with_capacity(text.len() + 160);
            if self.mid_line {
                // A failed write may have left part of a line: end it, so this one stands alone.
                buf.push(b'\n');
            }
            if let Some((f, lost)) = &pending {
                let gap = Line::Gap {
                    at: f.at,
                    mono: f.mono,
                    error: f.error.clone(),
                    lost: *lost,
                };
                if let Some(g) = encode(&gap, &*self.redact) {
                    buf.extend_from_slice(g.as_bytes());
                }
            }
            buf.extend_from_slice(text.as_bytes());
            match self.sink.put(&buf) {
                Ok(()) => {
                    self.mid_line = false;
                    pending = None;
                    lock(&self.health).written += 1;
                }
                Err(e) => {
                    self.mid_line = true;
                    let failure = WriteFailure {
                        at: at.unwrap_or_else(chrono::Utc::now),
                        mono,
                        error: e.to_string(),
                    };
                    let mut h = lock(&self.health);
                    if h.first_failure.is_none() {
                        tracing::error!(
                            "recording {}: write failed: {e}; the recording is incomplete",
                            self.shown
                        );
                    }
                    h.lost += 1;
                    h.last_error = Some(failure.error.clone());
                    h.first_failure.get_or_insert_with(|| failure.clone());
                    drop(h);
                    self.failed
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    match &mut pending {
                        Some((_, n)) => *n += 1,
                        None => pending = Some((failure, 1)),
                    }
                }
            }
        }
    }
}

/// One session of a recording read back: its lines in order, and what could not be read.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    pub lines: Vec<Line>,
    /// (line number in the file, why) for lines that are not valid records.
    pub bad: Vec<(usize, String)>,
    /// Unreadable lines past the first `MAX_NAMED_BAD`, counted only.
    pub bad_unnamed: usize,
    /// The last line was cut mid-way (a crash or an SSH drop while writing).
    pub truncated_tail: bool,
    /// An `end` line was found.
    pub ended: bool,
    /// The line number of this session's header in the file.
    pub first_line: usize,
    /// Lines lost while recording and written about later: (first failure, lines lost).
    pub gaps: Vec<(WriteFailure, u64)>,
    /// The end line's account of failed writes: (first failure, every line lost).
    pub end_failure: Option<(WriteFailure, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the recording {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a warroom recording: {why}")]
    NotARecording { path: String, why: String },
}

/// One raw line: its bytes (without the newline), or how long it was when over the cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawLine {
    Text(Vec<u8>),
    TooLong(usize),
}

/// Lines of at most `cap` bytes, read with memory bounded by the cap: a longer line is
/// skipped to its end and reported by its length. Shared by every JSON-lines reader.
pub struct CappedLines<R> {
    r: R,
    cap: usize,
    n: usize,
}

impl<R: BufRead> CappedLines<R> {
    pub fn new(r: R, cap: usize) -> Self {
        CappedLines { r, cap, n: 0 }
    }

    /// The next line: (its number from 1, the line, whether a newline ended it).
    pub fn next_line(&mut self) -> std::io::Result<Option<(usize, RawLine, bool)>> {
        let mut buf = Vec::new();
        let mut total = 0usize;
        let mut over = false;
        loop {
            let avail = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if total == 0 {
                    return Ok(None);
                }
                self.n += 1;
                let line = if over {
                    RawLine::TooLong(total)
                } else {
                    RawLine::Text(buf)
                };
                return Ok(Some((self.n, line, false)));
            }
            let (len, found) = match avail.iter().position(|b| *b == b'\n') {
                Some(i) => (i, true),
                None => (avail.len(), false),
            };
            total += len;
            if !over {
                if buf.len() + len > self.cap {
                    over = true;
                    buf = Vec::new();
                } else {
                    buf.extend_from_slice(&avail[..len]);
                }
            }
            self.r.consume(len + usize::from(found));
            if found {
                self.n += 1;
                let line = if over {
                    RawLine::TooLong(total)
                } else {
                    RawLine::Text(buf)
                };
                return Ok(Some((self.n, line, true)));
            }
        }
    }
}

/// Every session in the file at `path`, oldest first. Read line by line: a broken line
/// (bad JSON, invalid UTF-8, a cut character, over `MAX_LINE_BYTES`) is named and
/// skipped, and the rest is kept.
pub fn read_all(path: &Path) -> Result<Vec<Recording>, ReadError> {
    use std::os::unix::fs::FileTypeExt;
    let io = |source| ReadError::Io {
        path: path.display().to_string(),
        source,
    };
    let kind = std::fs::metadata(path).map_err(io)?.file_type();
    // A device never ends (/dev/zero, /dev/full): refuse it rather than read forever.
    if !(kind.is_file() || kind.is_fifo()) {
        return Err(ReadError::NotARecording {
            path: path.display().to_string(),
            why: "not a regular file (a device or a directory?)".into(),
        });
    }
    let f = std::fs::File::open(path).map_err(io)?;
    parse_reader(std::io::BufReader::with_capacity(64 * 1024, f)).map_err(|e| match e {
        ParseError::Io(source) => io(source),
        ParseError::Format(why) => ReadError::NotARecording {
            path: path.display().to_string(),
            why,
        },
    })
}

/// The most recent session in the file (see `read_all` for every one).
pub fn read(path: &Path) -> Result<Recording, ReadError> {
    let mut all = read_all(path)?;
    all.pop().ok_or_else(|| ReadError::NotARecording {
        path: path.display().to_string(),
        why: "no session in it".into(),
    })
}

/// Every session in a recording's text, oldest first.
pub fn parse_all(text: &str) -> Result<Vec<Recording>, String> {
    parse_reader(text.as_bytes()).map_err(|e| match e {
        ParseError::Io(e) => e.to_string(),
        ParseError::Format(why) => why,
    })
}

/// The most recent session in a recording's text. A bad last line without a newline is
/// a cut tail (reported, skipped); other bad lines are reported and skipped; no header
/// is an error.
pub fn parse(text: &str) -> Result<Recording, String> {
    let mut all = parse_all(text)?;
    all.pop().ok_or_else(|| "no session in it".to_string())
}

enum ParseError {
    Io(std::io::Error),
    Format(String),
}

fn parse_reader<R: BufRead>(r: R) -> Result<Vec<Recording>, ParseError> {
    let mut lines = CappedLines::new(r, MAX_LINE_BYTES);
    let mut segments: Vec<Recording> = Vec::new();
    // Lines before the first header, reported with the first session.
    let mut orphans = Recording::default();
    while let Some((n, raw, newline)) = lines.next_line().map_err(ParseError::Io)? {
        let has_session = !segments.is_empty();
        let cur = segments.last_mut().unwrap_or(&mut orphans);
        let bytes = match raw {
            RawLine::TooLong(len) => {
                cur.note_bad(
                    n,
                    format!("{len} bytes, over the {MAX_LINE_BYTES}-byte line cap"),
                );
                continue;
            }
            RawLine::Text(b) => b,
        };
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        // Only the file's last line can be cut by a crash; earlier damage is named as such.
        let cut = !newline;
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t,
            Err(e) => {
                if cut {
                    cur.truncated_tail = true;
                    cur.note_bad(n, "cut mid-line (the session ended while writing)".into());
                } else {
                    cur.note_bad(
                        n,
                        format!(
                            "invalid UTF-8 at byte {} (a damaged or cut character)",
                            e.valid_up_to() + 1
                        ),
                    );
                }
                continue;
            }
        };
        match serde_json::from_str::<Rec>(text) {
            Ok(r) if r.v == FORMAT_VERSION => match r.line {
                Line::Header { .. } => {
                    segments.push(Recording {
                        first_line: n,
                        ..Recording::default()
                    });
                    if let Some(s) = segments.last_mut() {
                        s.lines.push(r.line);
                    }
                }
                line => {
                    if !has_session {
                        cur.note_bad(n, "before the first header".into());
                        continue;
                    }
                    match &line {
                        Line::End {
                            lost, write_failed, ..
                        } => {
                            cur.ended = true;
                            if let Some(f) = write_failed {
                                cur.end_failure = Some((f.clone(), *lost));
                            }
                        }
                        Line::Gap {
                            at,
                            mono,
                            error,
                            lost,
                        } => cur.gaps.push((
                            WriteFailure {
                                at: *at,
                                mono: *mono,
                                error: error.clone(),
                            },
                            *lost,
                        )),
                        _ => {}
                    }
                    cur.lines.push(line);
                }
            },
            Ok(r) => cur.note_bad(
                n,
                format!(
                    "format version {} (this warroom reads {FORMAT_VERSION})",
                    r.v
                ),
            ),
            Err(e) => {
                if cut {
                    cur.truncated_tail = true;
                    cur.note_bad(n, "cut mid-line (the session ended while writing)".into());
                } else {
                    cur.note_bad(n, format!("not a record: {e}"));
                }
            }
        }
    }
    let Some(first) = segments.first_mut() else {
        return Err(ParseError::Format(
            "no warroom header line in it".to_string(),
        ));
    };
    if !orphans.bad.is_empty() || orphans.bad_unnamed > 0 {
        let mut bad = orphans.bad;
        bad.append(&mut first.bad);
        first.bad = bad;
        first.bad_unnamed += orphans.bad_unnamed;
    }
    Ok(segments)
}

impl Recording {
    fn note_bad(&mut self, n: usize, why: String) {
        if self.bad.len() < MAX_NAMED_BAD {
            self.bad.push((n, why));
        } else {
            self.bad_unnamed += 1;
        }
    }

    pub fn header(&self) -> Option<&Line> {
        self.lines.first()
    }

    /// The session's id, when the recording has one (revision 1 on).
    pub fn session(&self) -> Option<&str> {
        match self.header() {
            Some(Line::Header { session, .. }) => session.as_deref(),
            _ => None,
        }
    }

    /// Why this recording does not hold the whole session, if it does not: writes that
    /// failed, or no end line. None: complete.
    pub fn incomplete(&self) -> Option<String> {
        let failed = match (&self.end_failure, self.gaps.first()) {
            (Some((f, lost)), _) => Some(failure_text(f, *lost)),
            (None, Some((f, _))) => {
                let lost: u64 = self.gaps.iter().map(|(_, n)| *n).sum();
                // Without the end line, more may have been lost after the last gap line.
                let mut t = failure_text(f, lost);
                if !self.ended {
                    t.push_str(" (at least), and the recording has no end line");
                }
                Some(t)
            }
            (None, None) => None,
        };
        if let Some(t) = failed {
            return Some(format!("incomplete: {t}"));
        }
        if !self.ended || self.truncated_tail {
            let last = self
                .lines
                .iter()
                .rev()
                .find_map(Line::at)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default();
            return Some(format!(
                "incomplete: the recording stops at {last} without an end line (cut short: the session was killed, the machine stopped, or writes failed)"
            ));
        }
        None
    }

    /// The config the session ran with.
    pub fn config(&self) -> Result<crate::config::Config, String> {
        match self.header() {
            Some(Line::Header { config, rev, .. }) => {
                let mut cfg: crate::config::Config = serde_json::from_value(config.clone())
                    .map_err(|e| format!("the recorded config cannot be read: {e}"))?;
                if *rev == 0 {
                    // Revision 0 wrote the default `warn` for every signal: not a choice.
                    for s in &mut cfg.signals {
                        if s.no_data == Some(crate::config::NoDataPolicy::Warn) {
                            s.no_data = None;
                        }
                    }
                }
                Ok(cfg)
            }
            _ => Err("no header".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The recorder against a disk that fails (short writes, EIO, ENOSPC) and the reader
    //! against damaged files: nothing is glued, nothing is silent, the rest is kept.
    use super::*;
    use std::collections::VecDeque;

    use crate::sample::fake_clock::{at as st, t};

    #[derive(Debug, Clone, Copy)]
    enum Fault {
        /// Accept only this many bytes of the call (write_all calls again for the rest).
        Short(usize),
        Eio,
        Enospc,
    }

    /// A disk that fails as told, call by call; accepts everything once the plan is done.
    #[derive(Clone, Default)]
    struct Disk {
        out: Arc<Mutex<Vec<u8>>>,
        plan: Arc<Mutex<VecDeque<Option<Fault>>>>,
    }

    impl Write for Disk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let step = self.plan.lock().unwrap().pop_front().flatten();
            let mut out = self.out.lock().unwrap();
            match step {
                None => {
                    out.extend_from_slice(buf);
                    Ok(buf.len())
                }
                Some(Fault::Short(n)) => {
                    let n = n.min(buf.len());
                    out.extend_from_slice(&buf[..n]);
                    Ok(n)
                }
                Some(Fault::Eio) => Err(std::io::Error::from_raw_os_error(libc::EIO)),
                Some(Fault::Enospc) => Err(std::io::Error::from_raw_os_error(libc::ENOSPC)),
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Disk {
        fn then(&self, steps: &[Option<Fault>]) {
            self.plan.lock().unwrap().extend(steps.iter().copied());
        }
        fn text(&self) -> Vec<u8> {
            self.out.lock().unwrap().clone()
        }
    }

    fn config_json() -> serde_json::Value {
        let cfg: crate::config::Config = toml::from_str(
            r#"
[cutover]
name = "t"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
interval = "1s"
required = false
[[signal]]
id = "err"
source = "m"
kind = "metric"
path = ".err"
"#,
        )
        .expect("config");
        serde_json::to_value(cfg).expect("json")
    }

    fn header(at: i64, session: &str) -> Line {
        Line::Header {
            at: t(at),
            warroom: "test".into(),
            host: "h".into(),
            user: "u".into(),
            cutover: "t".into(),
            environment: None,
            t0: None,
            session: Some(session.into()),
            rev: FORMAT_REVISION,
            config: config_json(),
            mono: None,
        }
    }

    fn recorder(disk: &Disk) -> Recorder {
        Recorder::with_sink(
            Box::new(WriterSink(disk.clone())),
            Path::new("test.jsonl"),
            Arc::new(|s: &str| s.to_string()),
            false,
        )
    }

    /// Write a line and wait until the recorder thread has taken it.
    fn write_sync(r: &Recorder, line: Line) {
        let before = r.health();
        r.write(line);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while r.health().written + r.health().lost == before.written + before.lost {
            assert!(std::time::Instant::now() < deadline, "recorder stuck");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn a_short_write_then_eio_then_enospc_never_glues_lines_and_is_told() {
        let disk = Disk::default();
        let r = recorder(&disk);
        write_sync(&r, header(0, "a"));
        // A short write followed by EIO: part of the line is on the disk.
        disk.then(&[Some(Fault::Short(10)), Some(Fault::Eio)]);
        write_sync(
            &r,
            Line::Clock {
                at: t(1),
                mono: None,
            },
        );
        disk.then(&[Some(Fault::Enospc)]);
        write_sync(
            &r,
            Line::Clock {
                at: t(2),
                mono: None,
            },
        );
        let h = r.health();
        assert_eq!(h.lost, 2);
        assert_eq!(h.first_failure.as_ref().map(|f| f.at), Some(t(1)));
        assert!(h
            .failure_text()
            .unwrap_or_default()
            .contains("write failed at"));
        // The disk recovers: the next record starts on a fresh line, after a gap line.
        write_sync(
            &r,
            Line::Clock {
                at: t(3),
                mono: None,
            },
        );
        let h = r.finish(st(4), "test over");
        assert_eq!(h.lost, 2);
        let bytes = disk.text();
        let text = String::from_utf8(bytes).expect("utf-8");
        let rec = parse(&text).expect("still a recording");
        // Line 2 is the fragment of the short write: named, skipped, not glued to line 3.
        assert_eq!(rec.bad.len(), 1, "{:?}", rec.bad);
        assert_eq!(rec.bad[0].0, 2);
        assert!(rec
            .lines
            .iter()
            .any(|l| matches!(l, Line::Gap { lost: 2, .. })));
        assert!(rec.lines.iter().any(|l| *l
            == Line::Clock {
                at: t(3),
                mono: None,
            }));
        assert!(rec.ended);
        let why = rec.incomplete().expect("incomplete");
        assert!(why.starts_with("incomplete: write failed at"), "{why}");
        assert!(why.contains("2 lines lost"), "{why}");
        // The report says so, and its verdict is never OK.
        let rep = crate::report::build(rec).expect("report");
        assert!(!rep.complete);
        assert!(
            rep.verdict.starts_with("INCOMPLETE — write failed at"),
            "{}",
            rep.verdict
        );
        assert!(crate::report::markdown(&rep).contains("incomplete: write failed at"));
    }

    #[test]
    fn a_disk_that_stays_full_leaves_a_recording_that_says_cut_short() {
        let disk = Disk::default();
        let r = recorder(&disk);
        write_sync(&r, header(0, "a"));
        disk.then(&[Some(Fault::Enospc); 64]);
        for s in 1..10 {
            write_sync(
                &r,
                Line::Clock {
                    at: t(s),
                    mono: None,
                },
            );
        }
        let h = r.finish(st(10), "test over");
        assert_eq!(h.lost, 10, "nine clocks and the end line");
        let text = String::from_utf8(disk.text()).expect("utf-8");
        let rec = parse(&text).expect("the header made it");
        let why = rec.incomplete().expect("incomplete");
        assert!(why.contains("without an end line"), "{why}");
        let rep = crate::report::build(rec).expect("report");
        assert!(rep.verdict.starts_with("INCOMPLETE"), "{}", rep.verdict);
    }

    #[test]
    fn appending_after_a_cut_line_starts_a_fresh_line() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("rec.jsonl");
        std::fs::write(&path, b"{\"v\":1,\"type\":\"clo").expect("write");
        let r = Recorder::append(&path, Arc::new(|s: &str| s.to_string())).expect("open");
        r.write(header(0, "b"));
        r.finish(st(1), "done");
        let all = read_all(&path).expect("reads");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].session(), Some("b"));
        assert!(all[0].ended);
        assert_eq!(all[0].bad.len(), 1, "{:?}", all[0].bad);
        assert_eq!(all[0].bad[0].0, 1);
    }

    #[test]
    fn a_created_recording_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("rec.jsonl");
        let r = Recorder::append(&path, Arc::new(|s: &str| s.to_string())).expect("open");
        r.finish(st(0), "done");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn capped_lines_skip_a_long_line_with_bounded_memory_and_keep_counting() {
        let mut text = b"short\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 1000));
        text.extend(b"\nafter\nlast");
        let mut lines = CappedLines::new(std::io::BufReader::with_capacity(16, &text[..]), 100);
        let mut got = Vec::new();
        while let Some(l) = lines.next_line().expect("reads") {
            got.push(l);
        }
        assert_eq!(
            got,
            vec![
                (1, RawLine::Text(b"short".to_vec()), true),
                (2, RawLine::TooLong(1000), true),
                (3, RawLine::Text(b"after".to_vec()), true),
                (4, RawLine::Text(b"last".to_vec()), false),
            ]
        );
    }

    #[test]
    fn a_device_is_refused_not_read_forever() {
        let e = read_all(Path::new("/dev/zero")).expect_err("a device");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn revision_zero_reads_the_serialised_default_as_unset() {
        let mut h = header(0, "a");
        if let Line::Header { rev, config, .. } = &mut h {
            *rev = 0;
            config["signal"][0]["no_data"] = serde_json::json!("warn");
        }
        let rec = Recording {
            lines: vec![h],
            ..Recording::default()
        };
        assert_eq!(rec.config().expect("config").signals[0].no_data, None);
    }
}
