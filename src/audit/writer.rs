//! Appending to the audit log: whole lines, on disk before the caller goes on, under an
//! advisory lock shared by every process writing the same file.
//!
//! The lock is `flock` on the log itself. After taking it the writer checks that the path
//! still names the file it holds — (device, inode) of the path against the open file —
//! and reopens (or recreates) it when the log was renamed, replaced or deleted, so a
//! rotated log never keeps one screen writing into a file nobody reads. Every process then
//! locks the same inode: the one at the path.
//!
//! A record is one `write` of one line. When a write fails or comes up short the file may
//! end mid-line; the next record starts with a newline so it is never glued onto the
//! broken one (readers skip the broken line and keep the rest). Short writes are not
//! completed: the rest would most likely fail the same way, and the record counts as not
//! written either way.

use super::{AuditError, AuditEvent, AuditRecord};
use crate::sample::Ts;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// How much of the log's end a claim reads for competing attempts: far more than the
/// records of an action's time-out and cooldown on any real log.
const CLAIM_SCAN: u64 = 4 * 1024 * 1024;

/// What the writer needs of the open log: the real file, or (in tests) one that fails on
/// demand — short writes, EIO, ENOSPC.
pub trait LogFile: Send {
    /// One `write` of `buf`: how many bytes went in (maybe fewer than asked).
    fn write_once(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Data to disk.
    fn sync(&mut self) -> io::Result<()>;
    /// The file's last byte; `None` when it is empty.
    fn last_byte(&mut self) -> io::Result<Option<u8>>;
    /// Up to `max` bytes from the end, and whether they start at the file's start.
    fn read_tail(&mut self, max: u64) -> io::Result<(Vec<u8>, bool)>;
    /// Take the exclusive advisory lock (waits for it).
    fn lock(&mut self) -> io::Result<()>;
    fn unlock(&mut self);
    /// Does `path` still name this open file? `Ok(false)` once it was renamed away,
    /// replaced or deleted.
    fn is_at(&self, path: &Path) -> io::Result<bool>;
}

/// Opens (creating when needed) the log at a path.
pub type Opener = Box<dyn FnMut(&Path) -> Result<Box<dyn LogFile>, AuditError> + Send>;

/// The audit log on disk.
pub struct RealFile {
    file: File,
}

impl RealFile {
    /// Create the directories (0700) and open the file for appending (0600 when created).
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| AuditError::CreateDir {
                    path: path.to_path_buf(),
                    source,
                })?;
        }
        let file = OpenOptions::new()
            .append(true)
            .read(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| AuditError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(RealFile { file })
    }

    pub fn opener() -> Opener {
        Box::new(|p: &Path| Ok(Box::new(RealFile::open(p)?) as Box<dyn LogFile>))
    }
}

impl LogFile for RealFile {
    fn write_once(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A device or a pipe takes the bytes and keeps nothing (/dev/null), or keeps them
        // where no screen can read them back: not an audit log.
        if !self.file.metadata()?.is_file() {
            return Err(io::Error::other(
                "not a regular file: records written there are not kept",
            ));
        }
        self.file.write(buf)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn last_byte(&mut self) -> io::Result<Option<u8>> {
        let len = self.file.metadata()?.len();
        if len == 0 {
            return Ok(None);
        }
        let mut b = [0u8; 1];
        let n = self.file.read_at(&mut b, len - 1)?;
        Ok((n == 1).then_some(b[0]))
    }

    fn read_tail(&mut self, max: u64) -> io::Result<(Vec<u8>, bool)> {
        let len = self.file.metadata()?.len();
        let start = len.saturating_sub(max);
        let mut buf = vec![0u8; (len - start) as usize];
        let mut got = 0;
        while got < buf.len() {
            match self.file.read_at(&mut buf[got..], start + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(got);
        Ok((buf, start == 0))
    }

    fn lock(&mut self) -> io::Result<()> {
        loop {
            // SAFETY: flock on a descriptor this struct owns.
            let rc = unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    fn unlock(&mut self) {
        // SAFETY: as in `lock`. Closing the file would release it too.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }

    fn is_at(&self, path: &Path) -> io::Result<bool> {
        let mine = self.file.metadata()?;
        match std::fs::metadata(path) {
            Ok(m) => Ok((m.dev(), m.ino()) == (mine.dev(), mine.ino())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Appends records to the audit log, one synced line each.
pub struct AuditWriter {
    path: PathBuf,
    file: Box<dyn LogFile>,
    open: Opener,
    /// A write failed or came up short: the file may end mid-line.
    dirty: bool,
    /// Something the screen should be told (the log was rotated), not yet taken.
    notice: Option<String>,
    /// The session's redactor; without one, the process's.
    redact: Option<crate::secrets::Redact>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter")
            .field("path", &self.path)
            .field("dirty", &self.dirty)
            .finish_non_exhaustive()
    }
}

/// How a claim for an action's flight went.
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed {
    /// The confirmation is on disk: send.
    Won,
    /// Another attempt holds the flight: send nothing.
    Lost(Competitor),
}

/// The attempt that held the flight when a claim was made.
#[derive(Debug, Clone, PartialEq)]
pub enum Competitor {
    /// Confirmed (by `by`, at `since`) and not reported back yet.
    InFlight { by: String, since: Ts, attempt: u32 },
    /// Succeeded at `at`; a second attempt needs the deliberate phrase until `until`.
    Succeeded {
        by: String,
        at: Ts,
        /// `Some(true)` verified, `Some(false)` not verified, `None` still verifying.
        verdict: Option<bool>,
        until: Ts,
    },
}

/// What counts as a competing attempt for a claim on `action`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRule {
    pub action: String,
    /// This process: its own records never compete with it.
    pub session: String,
    pub cutover: String,
    pub environment: String,
    /// How long an unanswered confirmation counts as in flight: the action's time-out and
    /// a margin (its screen may have died without a result).
    pub in_flight_ms: i64,
    /// The verify window, when the action verifies.
    pub verify_ms: Option<i64>,
    pub cooldown_ms: i64,
    /// A deliberate second attempt (the `… again` phrase): a recent success does not stop it.
    pub again: bool,
}

/// Until when a success at `success_at` makes a second attempt need the deliberate phrase:
/// through its verification (to the verdict, or the verify deadline when no verdict came)
/// and `cooldown_ms` after it.
/// Generic over the clock: a screen measures on its monotonic clock, a claim compares
/// records of several processes on the wall clock they share.
pub fn guard_until<T>(
    success_at: T,
    verify_ms: Option<i64>,
    verdict_at: Option<T>,
    cooldown_ms: i64,
) -> T
where
    T: Copy + std::ops::Add<chrono::Duration, Output = T>,
{
    let decided = verdict_at
        .unwrap_or_else(|| success_at + chrono::Duration::milliseconds(verify_ms.unwrap_or(0)));
    decided + chrono::Duration::milliseconds(cooldown_ms)
}

impl ClaimRule {
    /// The attempt in `records` (oldest first) that holds the flight at `now`, if any.
    pub fn competitor(&self, records: &[AuditRecord], now: Ts) -> Option<Competitor> {
        struct Open {
            session: String,
            by: String,
            since: Ts,
            attempt: u32,
        }
        struct Success {
            session: String,
            by: String,
            at: Ts,
            verdict: Option<(bool, Ts)>,
        }
        let mut open: Vec<Open> = Vec::new();
        let mut success: Option<Success> = None;
        for r in records {
            if r.foreign_to(&self.cutover, &self.environment).is_some() {
                continue;
            }
            match &r.event {
                AuditEvent::ActionConfirmed(c) if c.action == self.action => {
                    open.retain(|o| o.session != r.session);
                    if r.session != self.session {
                        open.push(Open {
                            session: r.session.clone(),
                            by: r.who(),
                            since: r.at,
                            attempt: c.attempt,
                        });
                    }
                }
                AuditEvent::ActionResult(x) if x.action == self.action => {
                    open.retain(|o| o.session != r.session);
                    if x.ok {
                        success = Some(Success {
                            session: r.session.clone(),
                            by: r.who(),
                            at: r.at,
                            verdict: None,
                        });
                    }
                }
                AuditEvent::VerifyResult(v) if v.action == self.action => {
                    if let Some(s) = success.as_mut().filter(|s| s.session == r.session) {
                        s.verdict = Some((v.verified, r.at));
                    }
                }
                _ => {}
            }
        }
        if let Some(o) = open
            .into_iter()
            .find(|o| (now - o.since).num_milliseconds() <= self.in_flight_ms)
        {
            return Some(Competitor::InFlight {
                by: o.by,
                since: o.since,
                attempt: o.attempt,
            });
        }
        let s = success.filter(|_| !self.again)?;
        let until = guard_until(
            s.at,
            self.verify_ms,
            s.verdict.map(|(_, at)| at),
            self.cooldown_ms,
        );
        (now < until).then(|| Competitor::Succeeded {
            by: s.by,
            at: s.at,
            verdict: s.verdict.map(|(ok, _)| ok),
            until,
        })
    }
}

/// The whole records in `bytes` (a tail of the log): a first line cut by the window and
/// an unfinished last line are left out, and so is anything that is not a record.
fn parse_tail(bytes: &[u8], from_start: bool) -> Vec<AuditRecord> {
    let mut pieces: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // The piece after the last newline is unfinished (or empty).
    pieces.pop();
    let skip = usize::from(!from_start);
    pieces
        .into_iter()
        .skip(skip)
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

impl AuditWriter {
    /// The log at `path` on disk (directories created 0700, the file 0600).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        Self::with_opener(path, RealFile::opener())
    }

    /// The log at `path`, opened (and reopened after a rotation) by `open`.
    pub fn with_opener(path: impl AsRef<Path>, mut open: Opener) -> Result<Self, AuditError> {
        let path = path.as_ref().to_path_buf();
        let file = open(&path)?;
        Ok(AuditWriter {
            path,
            file,
            open,
            dirty: false,
            notice: None,
            redact: None,
        })
    }

    /// Redact every record with `redact` (the session's) instead of the process's.
    pub fn with_redaction(mut self, redact: crate::secrets::Redact) -> Self {
        self.redact = Some(redact);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the screen should be told since the last call (e.g. the log was rotated).
    pub fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    /// One record, on disk when this returns `Ok`.
    pub fn append(&mut self, rec: &AuditRecord) -> Result<(), AuditError> {
        self.lock_current()?;
        let r = self.write_locked(rec);
        self.file.unlock();
        r
    }

    /// Claim an action's flight for every process sharing the log: under the lock, look
    /// for a competing attempt in the log's tail and, when there is none, append `rec` (the
    /// confirmation). A competitor found means nothing was written.
    pub fn claim(
        &mut self,
        rec: &AuditRecord,
        rule: &ClaimRule,
        now: Ts,
    ) -> Result<Claimed, AuditError> {
        self.lock_current()?;
        let r = self.claim_locked(rec, rule, now);
        self.file.unlock();
        r
    }

    /// The same claim for anything else that only one process may do (a notification):
    /// under the lock, `held` is asked whether the records in the log's tail (oldest first)
    /// already hold it; when they do not, `rec` is appended. True when `rec` was written.
    pub fn claim_if_free(
        &mut self,
        rec: &AuditRecord,
        held: &dyn Fn(&[AuditRecord]) -> bool,
    ) -> Result<bool, AuditError> {
        self.lock_current()?;
        let r = self.read_claim_tail().and_then(|records| {
            if held(&records) {
                return Ok(false);
            }
            self.write_locked(rec).map(|()| true)
        });
        self.file.unlock();
        r
    }

    fn read_claim_tail(&mut self) -> Result<Vec<AuditRecord>, AuditError> {
        let (bytes, from_start) =
            self.file
                .read_tail(CLAIM_SCAN)
                .map_err(|source| AuditError::Read {
                    path: self.path.clone(),
                    source,
                })?;
        Ok(parse_tail(&bytes, from_start))
    }

    fn claim_locked(
        &mut self,
        rec: &AuditRecord,
        rule: &ClaimRule,
        now: Ts,
    ) -> Result<Claimed, AuditError> {
        if let Some(c) = rule.competitor(&self.read_claim_tail()?, now) {
            return Ok(Claimed::Lost(c));
        }
        self.write_locked(rec)?;
        Ok(Claimed::Won)
    }

    /// Lock the file the path names, reopening it first when the path has moved on.
    fn lock_current(&mut self) -> Result<(), AuditError> {
        let lock_err = |path: &Path, source| AuditError::Lock {
            path: path.to_path_buf(),
            source,
        };
        // A log rotated again between our reopen and our lock: try a few times.
        for _ in 0..4 {
            self.file.lock().map_err(|e| lock_err(&self.path, e))?;
            match self.file.is_at(&self.path) {
                Ok(true) => return Ok(()),
                Ok(false) => self.file.unlock(),
                Err(e) => {
                    self.file.unlock();
                    return Err(lock_err(&self.path, e));
                }
            }
            self.file = (self.open)(&self.path)?;
            self.dirty = false;
            self.notice = Some(format!(
                "audit log {} was renamed, replaced or deleted under this screen: \
                 reopened — records go to the file now at that path",
                self.path.display()
            ));
        }
        Err(lock_err(
            &self.path,
            io::Error::other("the file at the path keeps changing"),
        ))
    }

    fn write_locked(&mut self, rec: &AuditRecord) -> Result<(), AuditError> {
        let mut buf = Vec::with_capacity(512);
        // The file may end mid-line (our failed write, or another process's): start on a
        // fresh line so this record is never glued onto a broken one.
        let fresh_line = self.dirty || matches!(self.file.last_byte(), Ok(Some(b)) if b != b'\n');
        if fresh_line {
            buf.push(b'\n');
        }
        // The last step before the disk: no record can carry a secret, whoever made it.
        let encode = |source| AuditError::Encode {
            path: self.path.clone(),
            source,
        };
        let mut value = serde_json::to_value(rec).map_err(encode)?;
        match &self.redact {
            Some(r) => crate::secrets::redact_json_with(&mut value, &**r),
            None => {
                let global = crate::secrets::global();
                crate::secrets::redact_json_with(&mut value, &|t: &str| global.redact(t));
            }
        }
        serde_json::to_writer(&mut buf, &value).map_err(encode)?;
        buf.push(b'\n');
        let path = &self.path;
        match self.file.write_once(&buf) {
            Ok(n) if n == buf.len() => {}
            Ok(n) => {
                self.dirty = true;
                return Err(AuditError::Short {
                    path: path.clone(),
                    written: n,
                    len: buf.len(),
                });
            }
            Err(source) => {
                self.dirty = true;
                return Err(AuditError::Write {
                    path: path.clone(),
                    source,
                });
            }
        }
        self.dirty = false;
        self.file.sync().map_err(|source| AuditError::Sync {
            path: path.clone(),
            source,
        })
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A log file in memory that fails when told to.
    use super::*;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    /// What the next write does.
    #[derive(Debug, Clone, Copy)]
    pub enum Fault {
        /// Only this many bytes go in.
        Short(usize),
        /// Fails with this errno (libc::EIO, libc::ENOSPC…), writing nothing.
        Errno(i32),
    }

    #[derive(Default)]
    pub struct Disk {
        pub bytes: Vec<u8>,
        pub faults: VecDeque<Fault>,
        pub sync_fails: bool,
    }

    pub struct FakeFile(pub Arc<Mutex<Disk>>);

    impl LogFile for FakeFile {
        fn write_once(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut d = self.0.lock().unwrap();
            match d.faults.pop_front() {
                Some(Fault::Short(n)) => {
                    let n = n.min(buf.len());
                    d.bytes.extend_from_slice(&buf[..n]);
                    Ok(n)
                }
                Some(Fault::Errno(e)) => Err(io::Error::from_raw_os_error(e)),
                None => {
                    d.bytes.extend_from_slice(buf);
                    Ok(buf.len())
                }
            }
        }
        fn sync(&mut self) -> io::Result<()> {
            if self.0.lock().unwrap().sync_fails {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            Ok(())
        }
        fn last_byte(&mut self) -> io::Result<Option<u8>> {
            Ok(self.0.lock().unwrap().bytes.last().copied())
        }
        fn read_tail(&mut self, max: u64) -> io::Result<(Vec<u8>, bool)> {
            let d = self.0.lock().unwrap();
            let start = d.bytes.len().saturating_sub(max as usize);
            Ok((d.bytes[start..].to_vec(), start == 0))
        }
        fn lock(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn unlock(&mut self) {}
        fn is_at(&self, _: &Path) -> io::Result<bool> {
            Ok(true)
        }
    }

    pub fn writer(disk: &Arc<Mutex<Disk>>) -> AuditWriter {
        let disk = Arc::clone(disk);
        AuditWriter::with_opener(
            "fake/audit.jsonl",
            Box::new(move |_: &Path| Ok(Box::new(FakeFile(Arc::clone(&disk))) as Box<dyn LogFile>)),
        )
        .unwrap()
    }
}
