//! Following the audit log for records written by other processes.

use super::{fnv1a, AuditRecord};
use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Where a new tail starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailFrom {
    /// Replay what is already in the file (e.g. ticks made before this process started).
    Start,
    /// Only what is written from now on.
    End,
}

/// What a poll of the tail found.
// Passed on one by one, never stored in bulk: not worth boxing the record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum TailItem {
    /// A record of another session.
    Record(AuditRecord),
    /// A line that is not a whole record (bad JSON, invalid UTF-8, a cut character, too
    /// long), skipped: its number in the file (from 1) and why. The lines after it are read.
    Bad { line: u64, why: String },
    /// The file at the path changed under us (renamed, replaced, truncated, deleted).
    Rotated(String),
}

/// Longest line a tail will hold while waiting for its newline; past it the line is dropped
/// (counted as bad) so a runaway writer cannot grow our memory.
const MAX_LINE: usize = 1024 * 1024;
/// Bytes read per `poll`: the rest waits for the next one.
const READ_PER_POLL: u64 = 4 * 1024 * 1024;
/// Lines remembered to skip a record seen twice (a log replaced by a copy of itself).
const SEEN_CAP: usize = 200_000;

/// Follows the audit log for records written by other processes.
#[derive(Debug)]
pub struct AuditTail {
    path: PathBuf,
    session: String,
    file: Option<File>,
    /// (dev, inode) of the open file: a different one at `path` means it was rotated.
    id: Option<(u64, u64)>,
    offset: u64,
    /// Lines of the current file read so far: the next line's number is this + 1.
    line_no: u64,
    partial: Vec<u8>,
    skipping_long_line: bool,
    bad_lines: u64,
    /// Hashes of the records delivered: after a rotation the same record is not applied twice.
    seen: HashSet<u64>,
    /// The path is known to be gone (said once).
    gone: bool,
    /// The path is not a regular file (said once).
    not_file: bool,
}

impl AuditTail {
    /// A tail of `path` that skips records of `own_session`. The file need not exist yet.
    /// With [`TailFrom::End`], "the end" is the end at this call; a file that does not exist
    /// yet is read from its start once it appears (everything in it is new).
    pub fn new(path: impl AsRef<Path>, own_session: &str, from: TailFrom) -> Self {
        let mut t = AuditTail {
            path: path.as_ref().to_path_buf(),
            session: own_session.to_string(),
            file: None,
            id: None,
            offset: 0,
            line_no: 0,
            partial: Vec::new(),
            skipping_long_line: false,
            bad_lines: 0,
            seen: HashSet::new(),
            gone: false,
            not_file: false,
        };
        if from == TailFrom::End {
            let meta = std::fs::metadata(&t.path).ok().filter(|m| m.is_file());
            if let (Some(meta), Ok(mut f)) = (meta, File::open(&t.path)) {
                t.id = Some((meta.dev(), meta.ino()));
                t.offset = meta.len();
                // Line numbers count from the file's start, history included.
                t.line_no = count_newlines(&mut f, meta.len());
                t.file = Some(f);
            }
        }
        t
    }

    /// Lines that were not valid records (or too long), skipped so far.
    pub fn bad_lines(&self) -> u64 {
        self.bad_lines
    }

    /// What is new since the last call: other sessions' records, broken lines, rotations.
    /// A partial last line is kept for next time; a truncated or replaced file is read again
    /// from its start. I/O errors (unreadable file) yield nothing now and are retried.
    pub fn poll(&mut self) -> Vec<TailItem> {
        let mut out = Vec::new();
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(_) => {
                // Gone (rotated away, not created yet): start over when it comes back.
                if self.id.is_some() && !self.gone {
                    out.push(TailItem::Rotated(format!(
                        "audit log {} is gone (renamed or deleted): following the path for a new one",
                        self.path.display()
                    )));
                    self.gone = true;
                }
                self.reset();
                return out;
            }
        };
        if !meta.is_file() {
            // A device reads forever (/dev/full, /dev/zero) and holds no records.
            if !self.not_file {
                out.push(TailItem::Rotated(format!(
                    "audit log {} is not a regular file: other screens' records cannot be followed",
                    self.path.display()
                )));
                self.not_file = true;
            }
            self.reset();
            return out;
        }
        self.not_file = false;
        let id = (meta.dev(), meta.ino());
        if self.id != Some(id) || meta.len() < self.offset {
            if self.gone {
                out.push(TailItem::Rotated(format!(
                    "a new audit log appeared at {}: following it",
                    self.path.display()
                )));
            } else if self.id.is_some() && self.id != Some(id) {
                out.push(TailItem::Rotated(format!(
                    "audit log {} was replaced: following the new file from its start",
                    self.path.display()
                )));
            } else if self.id.is_some() {
                out.push(TailItem::Rotated(format!(
                    "audit log {} was truncated: reading it again from its start",
                    self.path.display()
                )));
            }
            self.reset();
            let Ok(f) = File::open(&self.path) else {
                return out;
            };
            self.gone = false;
            self.file = Some(f);
            self.id = Some(id);
        }
        let mut chunk = Vec::new();
        if let Some(f) = self.file.as_mut() {
            if f.seek(SeekFrom::Start(self.offset)).is_err() {
                return out;
            }
            if f.take(READ_PER_POLL).read_to_end(&mut chunk).is_err() {
                return out;
            }
        }
        self.offset += chunk.len() as u64;
        self.feed(&chunk, &mut out);
        out
    }

    fn reset(&mut self) {
        self.file = None;
        self.id = None;
        self.offset = 0;
        self.line_no = 0;
        self.partial.clear();
        self.skipping_long_line = false;
    }

    /// Split `chunk` into lines (keeping the unfinished last one) and parse them.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<TailItem>) {
        let mut rest = chunk;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (piece, after) = rest.split_at(nl);
            rest = &after[1..];
            self.line_no += 1;
            if self.skipping_long_line {
                self.skipping_long_line = false;
                self.partial.clear();
                continue;
            }
            self.partial.extend_from_slice(piece);
            let line = std::mem::take(&mut self.partial);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match parse_line(&line) {
                Ok(rec) if rec.session == self.session => {}
                Ok(rec) => {
                    if self.seen.len() >= SEEN_CAP {
                        self.seen.clear();
                    }
                    if self.seen.insert(fnv1a(&line)) {
                        out.push(TailItem::Record(rec));
                    }
                }
                Err(why) => {
                    self.bad_lines += 1;
                    out.push(TailItem::Bad {
                        line: self.line_no,
                        why,
                    });
                }
            }
        }
        if !self.skipping_long_line {
            self.partial.extend_from_slice(rest);
            if self.partial.len() > MAX_LINE {
                self.partial.clear();
                self.skipping_long_line = true;
                self.bad_lines += 1;
                out.push(TailItem::Bad {
                    line: self.line_no + 1,
                    why: format!("longer than {} MiB: not a record", MAX_LINE >> 20),
                });
            }
        }
    }
}

/// One line as a record, or why it is not one.
fn parse_line(line: &[u8]) -> Result<AuditRecord, String> {
    let text = std::str::from_utf8(line).map_err(|e| {
        format!(
            "not valid UTF-8 at byte {} (a cut or corrupt character)",
            e.valid_up_to() + 1
        )
    })?;
    serde_json::from_str(text).map_err(|e| format!("not a whole record ({e})"))
}

/// Newlines in the first `len` bytes of `f` (its read position ends anywhere).
fn count_newlines(f: &mut File, len: u64) -> u64 {
    let mut n = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = len;
    let _ = f.seek(SeekFrom::Start(0));
    while left > 0 {
        let want = buf.len().min(left as usize);
        match f.read(&mut buf[..want]) {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64;
                left -= k as u64;
            }
        }
    }
    n
}

/// Follow `path` every `interval` (500 ms gives other instances' actions on screen well
/// within 2 s) from its current end, sending what it finds to `tx`. The task ends when
/// `tx` closes. File reads run on the blocking pool, never on the UI's threads.
pub fn spawn_tail(
    path: PathBuf,
    session: String,
    tx: mpsc::Sender<TailItem>,
    interval: Duration,
) -> JoinHandle<()> {
    spawn_tail_from(AuditTail::new(path, &session, TailFrom::End), tx, interval)
}

/// As `spawn_tail`, with a tail set up by the caller (e.g. [`TailFrom::Start`] to replay).
pub fn spawn_tail_from(
    mut tail: AuditTail,
    tx: mpsc::Sender<TailItem>,
    interval: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = tx.closed() => return,
            }
            let polled = tokio::task::spawn_blocking(move || {
                let items = tail.poll();
                (tail, items)
            })
            .await;
            let Ok((t, items)) = polled else {
                // The blocking task panicked: nothing sane to continue with.
                return;
            };
            tail = t;
            for it in items {
                if tx.send(it).await.is_err() {
                    return;
                }
            }
        }
    })
}
