//! `--record FILE`: the session as JSON lines, one event per line, flushed (and synced)
//! as it happens, so a crash or an SSH drop loses nothing already seen. Every line is
//! passed through the redactor before it is written: no secret reaches the file.
//!
//! Line format, version 1 (`"v": 1` on every line, `"type"` says which):
//! - `header`: once, first — `at`, `warroom` (version), `host`, `user`, `cutover`,
//!   `environment`, `t0` (as configured or given), `config` (the expanded config as JSON,
//!   secrets redacted).
//! - `poll`: a source answered or failed — `source`, `at`, `latency_ms`, `status`, `error`
//!   and `rows`: one per row with `key`, `signal`, `name`, `critical`, and `value` or
//!   `no_data` (`error`/`empty`) with `reason`.
//! - `clock`: the dashboard's clock ticked (`at`), for stale values and `for` rules.
//! - `event`: what the engine concluded — band and flag changes, source errors and
//!   recoveries, rollback advice — with `severity`, `kind`, `text` and the kind's fields.
//! - `audit`: an operator's act, here or on another screen sharing the audit log —
//!   `user`, `host`, `kind` (`action_confirmed`, `action_result`, `verify_result`, `tick`,
//!   `untick`, `signoff`, `t0_mark`, `step_run`, `step_run_result`) and `details`.
//! - `end`: the session ended cleanly (`reason`). A recording without it was cut short.
//!
//! Every line also carries `mono_ms`: milliseconds on the recording process's monotonic
//! clock (origin arbitrary). `at` is the wall clock, shown; durations are differences of
//! `mono_ms`, so a wall step during the session changes none. A line without it (written
//! before it existed) is measured on its wall time instead.

use crate::engine::{Event, PollSummary, RowReading};
use crate::sample::{Mono, NoDataKind, Reading, Stamp, Ts, Value};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const FORMAT_VERSION: u32 = 1;

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
    End {
        at: Ts,
        #[serde(rename = "mono_ms", default, skip_serializing_if = "Option::is_none")]
        mono: Option<Mono>,
        reason: String,
    },
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
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot create the recording {path}: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Writes lines on a thread of its own (the keyboard never waits on the disk).
pub struct Recorder {
    tx: Option<std::sync::mpsc::Sender<String>>,
    thread: Option<std::thread::JoinHandle<()>>,
    redact: crate::session::Redact,
    pub path: PathBuf,
}

impl Recorder {
    pub fn create(path: &Path, redact: crate::session::Redact) -> Result<Self, RecordError> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| RecordError::Create {
                path: path.display().to_string(),
                source,
            })?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let shown = path.display().to_string();
        let thread = std::thread::spawn(move || {
            while let Ok(line) = rx.recv() {
                let ok = f
                    .write_all(line.as_bytes())
                    .and_then(|_| f.flush())
                    .and_then(|_| f.sync_data());
                if let Err(e) = ok {
                    tracing::error!("recording {shown}: write failed: {e}");
                }
            }
        });
        Ok(Recorder {
            tx: Some(tx),
            thread: Some(thread),
            redact,
            path: path.to_path_buf(),
        })
    }

    pub fn write(&self, line: Line) {
        let rec = Rec {
            v: FORMAT_VERSION,
            line,
        };
        let Ok(json) = serde_json::to_string(&rec) else {
            return;
        };
        // Redact the whole line: a token can hide in a reason, a URL or an excerpt.
        let mut text = (self.redact)(&json);
        text.push('\n');
        if let Some(tx) = &self.tx {
            let _ = tx.send(text);
        }
    }

    /// Write the end line and wait for everything to reach the disk.
    pub fn finish(mut self, at: Stamp, reason: &str) {
        self.write(Line::End {
            at: at.at,
            mono: Some(at.mono),
            reason: reason.into(),
        });
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A recording read back: its lines in order, and what could not be read.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    pub lines: Vec<Line>,
    /// (line number, why) for lines that are not valid records.
    pub bad: Vec<(usize, String)>,
    /// The last line was cut mid-way (a crash or an SSH drop while writing).
    pub truncated_tail: bool,
    /// An `end` line was found.
    pub ended: bool,
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

pub fn read(path: &Path) -> Result<Recording, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text).map_err(|why| ReadError::NotARecording {
        path: path.display().to_string(),
        why,
    })
}

/// Parse a recording's text. A bad last line without a newline is a cut tail (reported,
/// skipped); other bad lines are reported and skipped; no header is an error.
pub fn parse(text: &str) -> Result<Recording, String> {
    let mut rec = Recording::default();
    let ends_clean = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Rec>(l) {
            Ok(r) if r.v == FORMAT_VERSION => {
                if matches!(r.line, Line::End { .. }) {
                    rec.ended = true;
                }
                rec.lines.push(r.line);
            }
            Ok(r) => rec.bad.push((
                i + 1,
                format!(
                    "format version {} (this warroom reads {FORMAT_VERSION})",
                    r.v
                ),
            )),
            Err(e) => {
                if i + 1 == lines.len() && !ends_clean {
                    rec.truncated_tail = true;
                    rec.bad.push((
                        i + 1,
                        "cut mid-line (the session ended while writing)".into(),
                    ));
                } else {
                    rec.bad.push((i + 1, format!("not a record: {e}")));
                }
            }
        }
    }
    match rec.lines.first() {
        Some(Line::Header { .. }) => Ok(rec),
        _ => Err("the first line is not a warroom header".into()),
    }
}

impl Recording {
    pub fn header(&self) -> Option<&Line> {
        self.lines.first()
    }

    /// The config the session ran with.
    pub fn config(&self) -> Result<crate::config::Config, String> {
        match self.header() {
            Some(Line::Header { config, .. }) => serde_json::from_value(config.clone())
                .map_err(|e| format!("the recorded config cannot be read: {e}")),
            _ => Err("no header".into()),
        }
    }
}
