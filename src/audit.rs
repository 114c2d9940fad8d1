//! The audit log (SPEC §5): JSON lines, one per event, appended and synced to disk before
//! the event is considered done; shared by every `warroom` process of one cutover on a host,
//! each of which follows the file ([`AuditTail`]) to show the others' actions, ticks,
//! sign-offs and T0 marks live.
//!
//! Writers never coordinate: the file is opened with `O_APPEND` and each record is written
//! with one `write` of the whole line, which the kernel appends atomically for a regular
//! file, so lines from several processes never interleave. Secrets must be redacted by the
//! caller before they reach `details`.

use crate::sample::Ts;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {}: cannot create its directory: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {}: cannot open: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {}: cannot encode a record: {source}", path.display())]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// UTC.
    pub at: Ts,
    pub host: String,
    pub user: String,
    /// The SSH client's address, when the operator came in over SSH.
    #[serde(default)]
    pub ssh_client: Option<String>,
    pub pid: u32,
    /// Which `warroom` process wrote it: a tail skips its own.
    pub session: String,
    /// `action_confirmed`, `action_result`, `verify_result`, `tick`, `untick`, `signoff`,
    /// `t0_mark`…
    pub kind: String,
    #[serde(default)]
    pub details: serde_json::Value,
}

/// Who and where this process is: captured once, stamped on every record it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    pub host: String,
    pub user: String,
    pub ssh_client: Option<String>,
    pub pid: u32,
    pub session: String,
}

impl AuditContext {
    /// This process, from its environment.
    pub fn current() -> Self {
        Self::from_env(&|k| std::env::var(k).ok())
    }

    /// As `current`, reading variables through `env` (tests pass their own).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        AuditContext {
            host: hostname(),
            user: crate::runtime::current_user(),
            ssh_client: ssh_client(env),
            pid: std::process::id(),
            session: new_session_id(),
        }
    }

    /// A record of `kind` stamped now.
    pub fn record(&self, kind: &str, details: serde_json::Value) -> AuditRecord {
        AuditRecord {
            at: Utc::now(),
            host: self.host.clone(),
            user: self.user.clone(),
            ssh_client: self.ssh_client.clone(),
            pid: self.pid,
            session: self.session.clone(),
            kind: kind.to_string(),
            details,
        }
    }
}

/// The first field of `SSH_CLIENT` ("ip port port"), else of `SSH_CONNECTION`.
pub fn ssh_client(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    ["SSH_CLIENT", "SSH_CONNECTION"]
        .iter()
        .find_map(|k| env(k).and_then(|v| v.split_whitespace().next().map(str::to_string)))
}

/// An id unique enough to tell this process's records from another's: time, pid and std's
/// per-process random SipHash keys.
pub fn new_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(Utc::now().timestamp_nanos_opt().unwrap_or_default());
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// `$XDG_STATE_HOME/warroom/<slug>/audit.jsonl`, else `~/.local/state/warroom/<slug>/audit.jsonl`.
pub fn default_path(cutover_name: &str) -> PathBuf {
    default_path_with(cutover_name, &|k| std::env::var(k).ok())
}

/// As `default_path`, reading `XDG_STATE_HOME` and `HOME` through `env`.
pub fn default_path_with(cutover_name: &str, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    // The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
    let base = env("XDG_STATE_HOME")
        .filter(|v| Path::new(v).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| Path::new(&h).join(".local/state"))
        })
        // No HOME at all (a bare cron job): the current directory rather than nowhere.
        .unwrap_or_else(|| PathBuf::from(".local/state"));
    base.join("warroom")
        .join(slug(cutover_name))
        .join("audit.jsonl")
}

/// `Brokers v1 → legacy!` → `brokers-v1-legacy`: safe as one path component.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "cutover".into()
    } else {
        out.chars().take(64).collect()
    }
}

/// Appends records to the audit log, one synced line each, redacted.
pub struct AuditWriter {
    path: PathBuf,
    file: File,
    /// The session's redactor; without one, the process's.
    redact: Option<crate::session::Redact>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter")
            .field("path", &self.path)
            .finish()
    }
}

impl AuditWriter {
    /// Create the directories (0700) and open the file for appending (0600 when created).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| AuditError::CreateDir {
                    path: path.clone(),
                    source,
                })?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| AuditError::Open {
                path: path.clone(),
                source,
            })?;
        Ok(AuditWriter {
            path,
            file,
            redact: None,
        })
    }

    /// Redact every record with `redact` (the session's) instead of the process's.
    pub fn with_redaction(mut self, redact: crate::session::Redact) -> Self {
        self.redact = Some(redact);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One line, written with a single `write_all` (O_APPEND keeps concurrent writers'
    /// lines whole), then synced: the event is on disk before the caller goes on.
    pub fn append(&mut self, rec: &AuditRecord) -> Result<(), AuditError> {
        // The last step before the disk: no record can carry a secret, whoever made it.
        let global = crate::secrets::global();
        let redact: &dyn Fn(&str) -> String = match &self.redact {
            Some(r) => &**r,
            None => &|t: &str| global.redact(t),
        };
        let mut rec = rec.clone();
        for s in [&mut rec.host, &mut rec.user, &mut rec.kind] {
            *s = redact(s);
        }
        rec.ssh_client = rec.ssh_client.as_deref().map(redact);
        crate::secrets::redact_json_with(&mut rec.details, redact);
        let mut line = serde_json::to_vec(&rec).map_err(|source| AuditError::Encode {
            path: self.path.clone(),
            source,
        })?;
        line.push(b'\n');
        let write_err = |source| AuditError::Write {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&line).map_err(write_err)?;
        self.file.flush().map_err(write_err)?;
        self.file.sync_data().map_err(write_err)
    }
}

/// Where a new tail starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailFrom {
    /// Replay what is already in the file (e.g. ticks made before this process started).
    Start,
    /// Only what is written from now on.
    End,
}

/// Longest line a tail will hold while waiting for its newline; past it the line is dropped
/// (counted as bad) so a runaway writer cannot grow our memory.
const MAX_LINE: usize = 1024 * 1024;
/// Bytes read per `poll`: the rest waits for the next one.
const READ_PER_POLL: u64 = 4 * 1024 * 1024;

/// Follows the audit log for records written by other processes.
#[derive(Debug)]
pub struct AuditTail {
    path: PathBuf,
    session: String,
    file: Option<File>,
    /// (dev, inode) of the open file: a different one at `path` means it was rotated.
    id: Option<(u64, u64)>,
    offset: u64,
    partial: Vec<u8>,
    skipping_long_line: bool,
    bad_lines: u64,
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
            partial: Vec::new(),
            skipping_long_line: false,
            bad_lines: 0,
        };
        if from == TailFrom::End {
            if let (Ok(meta), Ok(f)) = (std::fs::metadata(&t.path), File::open(&t.path)) {
                t.id = Some((meta.dev(), meta.ino()));
                t.offset = meta.len();
                t.file = Some(f);
            }
        }
        t
    }

    /// Lines that were not valid records (or too long), skipped so far.
    pub fn bad_lines(&self) -> u64 {
        self.bad_lines
    }

    /// New complete records from other sessions since the last call. A partial last line is
    /// kept for next time; a truncated or replaced file is read again from its start.
    /// I/O errors (file missing, unreadable) yield nothing now and are retried next time.
    pub fn poll(&mut self) -> Vec<AuditRecord> {
        let Ok(meta) = std::fs::metadata(&self.path) else {
            // Gone (rotated away, not created yet): start over when it comes back.
            self.reset();
            return Vec::new();
        };
        let id = (meta.dev(), meta.ino());
        if self.id != Some(id) || meta.len() < self.offset {
            self.reset();
            let Ok(f) = File::open(&self.path) else {
                return Vec::new();
            };
            self.file = Some(f);
            self.id = Some(id);
        }
        let mut chunk = Vec::new();
        if let Some(f) = self.file.as_mut() {
            if f.seek(SeekFrom::Start(self.offset)).is_err() {
                return Vec::new();
            }
            match f.take(READ_PER_POLL).read_to_end(&mut chunk) {
                Ok(_) => {}
                Err(_) => return Vec::new(),
            }
        }
        self.offset += chunk.len() as u64;
        self.feed(&chunk)
    }

    fn reset(&mut self) {
        self.file = None;
        self.id = None;
        self.offset = 0;
        self.partial.clear();
        self.skipping_long_line = false;
    }

    /// Split `chunk` into lines (keeping the unfinished last one) and parse them.
    fn feed(&mut self, chunk: &[u8]) -> Vec<AuditRecord> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (piece, after) = rest.split_at(nl);
            rest = &after[1..];
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
            match serde_json::from_slice::<AuditRecord>(&line) {
                Ok(rec) if rec.session == self.session => {}
                Ok(rec) => out.push(rec),
                Err(_) => self.bad_lines += 1,
            }
        }
        if !self.skipping_long_line {
            self.partial.extend_from_slice(rest);
            if self.partial.len() > MAX_LINE {
                self.partial.clear();
                self.skipping_long_line = true;
                self.bad_lines += 1;
            }
        }
        out
    }
}

/// Follow `path` every `interval` (500 ms gives other instances' actions on screen well
/// within 2 s) from its current end, sending other sessions' records to `tx`. The task ends
/// when `tx` closes. File reads run on the blocking pool, never on the UI's threads.
pub fn spawn_tail(
    path: PathBuf,
    session: String,
    tx: mpsc::Sender<AuditRecord>,
    interval: Duration,
) -> JoinHandle<()> {
    spawn_tail_from(AuditTail::new(path, &session, TailFrom::End), tx, interval)
}

/// As `spawn_tail`, with a tail set up by the caller (e.g. [`TailFrom::Start`] to replay).
pub fn spawn_tail_from(
    mut tail: AuditTail,
    tx: mpsc::Sender<AuditRecord>,
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
                let recs = tail.poll();
                (tail, recs)
            })
            .await;
            let Ok((t, recs)) = polled else {
                // The blocking task panicked: nothing sane to continue with.
                return;
            };
            tail = t;
            for r in recs {
                if tx.send(r).await.is_err() {
                    return;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn ctx(session: &str) -> AuditContext {
        AuditContext {
            host: "bastion-1".into(),
            user: "ana".into(),
            ssh_client: Some("10.0.0.7".into()),
            pid: 4242,
            session: session.into(),
        }
    }

    #[test]
    fn audit_default_path_honours_xdg_state_home() {
        let env = |k: &str| match k {
            "XDG_STATE_HOME" => Some("/var/state".to_string()),
            "HOME" => Some("/home/ana".to_string()),
            _ => None,
        };
        assert_eq!(
            default_path_with("Brokers v1 → legacy!", &env),
            PathBuf::from("/var/state/warroom/brokers-v1-legacy/audit.jsonl")
        );
        let no_xdg = |k: &str| (k == "HOME").then(|| "/home/ana".to_string());
        assert_eq!(
            default_path_with("EDN360", &no_xdg),
            PathBuf::from("/home/ana/.local/state/warroom/edn360/audit.jsonl")
        );
        // A relative XDG_STATE_HOME is invalid per the spec: ignored.
        let rel = |k: &str| match k {
            "XDG_STATE_HOME" => Some("state".to_string()),
            "HOME" => Some("/home/ana".to_string()),
            _ => None,
        };
        assert!(default_path_with("x", &rel).starts_with("/home/ana/.local/state"));
        assert_eq!(slug("///"), "cutover");
    }

    #[test]
    fn audit_ssh_client_first_field() {
        let env = |k: &str| (k == "SSH_CONNECTION").then(|| "192.0.2.4 5122 10.0.0.1 22".into());
        assert_eq!(ssh_client(&env).as_deref(), Some("192.0.2.4"));
        let env = |k: &str| (k == "SSH_CLIENT").then(|| "198.51.100.9 40000 22".into());
        assert_eq!(ssh_client(&env).as_deref(), Some("198.51.100.9"));
        assert_eq!(ssh_client(&|_| None), None);
        assert_ne!(new_session_id(), new_session_id());
    }

    #[test]
    fn audit_writer_creates_0600_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/audit.jsonl");
        let mut w = AuditWriter::open(&path).unwrap();
        let rec = ctx("s1").record("action_confirmed", json!({"action": "rollback"}));
        w.append(&rec).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        let back: AuditRecord = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(back, rec);
        assert_eq!(back.ssh_client.as_deref(), Some("10.0.0.7"));
    }

    #[test]
    fn audit_open_error_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let err = AuditWriter::open(blocker.join("sub/audit.jsonl")).unwrap_err();
        assert!(
            err.to_string().contains(&blocker.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn audit_concurrent_writers_write_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let big = "x".repeat(6000);
        let handles: Vec<_> = ["one", "two"]
            .into_iter()
            .map(|s| {
                let path = path.clone();
                let big = big.clone();
                std::thread::spawn(move || {
                    let mut w = AuditWriter::open(&path).unwrap();
                    let c = ctx(s);
                    for i in 0..200 {
                        w.append(&c.record("tick", json!({"i": i, "pad": big})))
                            .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let recs: Vec<AuditRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is a whole record"))
            .collect();
        assert_eq!(recs.len(), 400);
        for s in ["one", "two"] {
            let is: Vec<u64> = recs
                .iter()
                .filter(|r| r.session == s)
                .filter_map(|r| r.details["i"].as_u64())
                .collect();
            assert_eq!(is, (0..200).collect::<Vec<_>>(), "session {s} in order");
        }
    }

    #[test]
    fn audit_tail_sees_others_not_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut mine = AuditWriter::open(&path).unwrap();
        let mut theirs = AuditWriter::open(&path).unwrap();
        let me = ctx("me");
        let other = ctx("other");
        mine.append(&me.record("tick", json!({"before": true})))
            .unwrap();
        theirs
            .append(&other.record("tick", json!({"before": true})))
            .unwrap();

        let mut from_end = AuditTail::new(&path, "me", TailFrom::End);
        let mut from_start = AuditTail::new(&path, "me", TailFrom::Start);
        assert!(from_end.poll().is_empty(), "history is skipped");
        let replay = from_start.poll();
        assert_eq!(replay.len(), 1);
        assert_eq!(replay[0].session, "other");

        mine.append(&me.record("signoff", json!({}))).unwrap();
        theirs
            .append(&other.record("action_result", json!({"ok": true})))
            .unwrap();
        let got = from_end.poll();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, "action_result");
        assert!(from_end.poll().is_empty(), "nothing twice");
    }

    #[test]
    fn audit_tail_partial_lines_bad_lines_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let line = serde_json::to_string(&ctx("other").record("t0_mark", json!({}))).unwrap();
        let (a, b) = line.split_at(line.len() / 2);
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let mut tail = AuditTail::new(&path, "me", TailFrom::Start);

        f.write_all(a.as_bytes()).unwrap();
        assert!(tail.poll().is_empty(), "half a line is not a record yet");
        f.write_all(b.as_bytes()).unwrap();
        f.write_all(b"\nnot json\n").unwrap();
        let got = tail.poll();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, "t0_mark");
        assert_eq!(tail.bad_lines(), 1);

        // Truncated (a new log for a rehearsal): read again from the start.
        f.set_len(0).unwrap();
        assert!(tail.poll().is_empty());
        f.write_all(format!("{line}\n").as_bytes()).unwrap();
        assert_eq!(tail.poll().len(), 1);

        // Rotated: a new file at the path is read from its start.
        std::fs::rename(&path, dir.path().join("audit.jsonl.1")).unwrap();
        let mut w = AuditWriter::open(&path).unwrap();
        w.append(&ctx("other").record("untick", json!({}))).unwrap();
        let got = tail.poll();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, "untick");
    }

    #[tokio::test]
    async fn audit_spawn_tail_delivers_other_sessions_live() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (tx, mut rx) = mpsc::channel(16);
        let task = spawn_tail(path.clone(), "me".into(), tx, Duration::from_millis(50));
        // The file does not exist yet when the tail starts: created later, read in full.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut w = AuditWriter::open(&path).unwrap();
        w.append(&ctx("me").record("tick", json!({}))).unwrap();
        w.append(&ctx("other").record("tick", json!({"item": 3})))
            .unwrap();
        let got = tokio::time::timeout(Duration::from_secs(2), rx.recv())
            .await
            .expect("within 2 s")
            .expect("a record");
        assert_eq!(got.session, "other");
        drop(rx);
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("the task ends when the receiver goes")
            .unwrap();
    }
}
