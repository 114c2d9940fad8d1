//! Logs go to a file, never to the screen (the dashboard owns the terminal).
//!
//! The file is private (0600, like the audit log: it names hosts, paths and users), and
//! every line passes the process's redactor just before it is handed on, so no log call
//! anywhere can put a secret in it — a poll's reason quoting a server's echo included.
//!
//! Lines are written by a thread of their own (`tracing-appender`): a log call only
//! queues its line, and a full queue drops the line rather than wait, so a full disk or a
//! slow file never holds the loop. The guard `init` returns writes what is queued when it
//! is dropped (waiting a second at most).

use crate::exit::CliError;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};

/// Keeps the log's writer thread; dropping it writes the lines still queued. Hold it for
/// as long as the command runs.
#[must_use = "dropping the guard stops the log; hold it until the command ends"]
pub struct LogGuard {
    _writer: Option<WorkerGuard>,
}

/// Log to `file` with the `WARROOM_LOG` filter (default `warroom=info`). Without a
/// file nothing is logged.
pub fn init(file: Option<&Path>) -> Result<LogGuard, CliError> {
    let Some(path) = file else {
        return Ok(LogGuard { _writer: None });
    };
    let f = open_private(path).map_err(CliError::Io)?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warroom=info"));
    let (writer, guard) = redacting(f);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer)
        .try_init()
        .map_err(|e| CliError::Io(format!("cannot start logging: {e}")))?;
    Ok(LogGuard {
        _writer: Some(guard),
    })
}

/// Lines waiting for the file at most (a few MB); beyond it a line is dropped.
const QUEUED_LINES: usize = 8_192;

/// The writer tracing is given: each event redacted whole, then queued for `out`'s
/// thread without waiting.
fn redacting<W: Write + Send + 'static>(out: W) -> (LogFile, WorkerGuard) {
    let (queue, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(QUEUED_LINES)
        .lossy(true)
        .thread_name("warroom-log")
        .finish(out);
    (LogFile(queue), guard)
}

/// Open for appending; created 0600, and an existing file others or the group can
/// read is made private first (or refused when it cannot be).
pub fn open_private(path: &Path) -> Result<File, String> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let f = opts
        .open(path)
        .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = f
            .metadata()
            .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        // Only a regular file: `--log-file /dev/stderr` must not chmod a terminal.
        if meta.is_file() && mode & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))
                .map_err(|e| {
                    format!(
                        "log file {} is readable by others (mode {mode:04o}) and cannot be made private: {e}; choose another --log-file",
                        path.display()
                    )
                })?;
        }
    }
    Ok(f)
}

/// Hands tracing one buffer per event; the buffer is redacted and queued whole when
/// the event is done (a secret is never split between two writes).
struct LogFile(NonBlocking);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogFile {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine {
            queue: self.0.clone(),
            buf: Vec::new(),
        }
    }
}

struct LogLine {
    queue: NonBlocking,
    buf: Vec<u8>,
}

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = crate::secrets::redact(&String::from_utf8_lossy(&self.buf));
        // One write is one queued line; a full queue drops it (never waits).
        let _ = self.queue.write_all(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::{mpsc, Arc, Mutex};
    use std::time::Duration;
    use tracing_subscriber::fmt::MakeWriter;

    /// Everything the log thread wrote, shared with the test.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Sink {
        fn lines(&self) -> usize {
            self.0.lock().unwrap().split(|&b| b == b'\n').count() - 1
        }
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A file that takes nothing until released (a hung NFS mount, a stopped pipe).
    struct Stalled(Mutex<mpsc::Receiver<()>>, Sink);

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.lock().unwrap().recv();
            self.1.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A full disk for the first `failing` writes.
    struct Full(usize, Sink);

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 > 0 {
                self.0 -= 1;
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            self.1.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn log_lines(w: &LogFile, n: usize) {
        for i in 0..n {
            let mut line = w.make_writer();
            line.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
    }

    #[test]
    fn a_log_file_that_takes_nothing_never_holds_the_caller() {
        let (release, stalled) = mpsc::channel();
        let sink = Sink::default();
        let (w, guard) = redacting(Stalled(Mutex::new(stalled), sink.clone()));
        let (done_tx, done) = mpsc::channel();
        // More lines than the queue holds: the surplus is dropped, never waited for.
        let caller = std::thread::spawn(move || {
            log_lines(&w, 3 * QUEUED_LINES);
            let _ = done_tx.send(());
            w
        });
        let finished = done.recv_timeout(Duration::from_secs(20));
        // Let the writer go before asserting, so a failure does not hang the test.
        drop(release);
        let w = caller.join().unwrap();
        assert!(finished.is_ok(), "a log call waited for a stalled file");
        drop(w);
        drop(guard);
        assert!(sink.lines() <= QUEUED_LINES + 1, "{} lines", sink.lines());
    }

    #[test]
    fn queued_lines_are_written_when_the_guard_drops() {
        let sink = Sink::default();
        let (w, guard) = redacting(sink.clone());
        log_lines(&w, 500);
        drop(guard);
        assert_eq!(sink.lines(), 500);
    }

    #[test]
    fn a_full_disk_loses_lines_but_not_the_log() {
        let sink = Sink::default();
        let (w, guard) = redacting(Full(10, sink.clone()));
        log_lines(&w, 10);
        // The disk has room again: the lines after the failed ones land.
        log_lines(&w, 5);
        drop(guard);
        assert_eq!(sink.lines(), 5);
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("meta").permissions().mode() & 0o777
    }

    #[test]
    fn log_file_is_created_private() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("warroom.log");
        drop(open_private(&p).expect("opens"));
        assert_eq!(mode(&p), 0o600);
    }

    #[test]
    fn an_existing_readable_log_file_is_made_private() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("old.log");
        std::fs::write(&p, "old line\n").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let mut f = open_private(&p).expect("opens");
        f.write_all(b"new line\n").expect("append");
        assert_eq!(mode(&p), 0o600);
        // Appended, nothing lost.
        assert_eq!(
            std::fs::read_to_string(&p).expect("read"),
            "old line\nnew line\n"
        );
    }
}
