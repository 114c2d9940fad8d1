//! Logs go to a file, never to the screen (the dashboard owns the terminal).
//!
//! The file is private (0600, like the audit log: it names hosts, paths and users), and
//! every line passes the process's redactor just before it is written, so no log call
//! anywhere can put a secret in it — a poll's reason quoting a server's echo included.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Log to `file` with the `WARROOM_LOG` filter (default `warroom=info`). Without a
/// file nothing is logged.
pub fn init(file: Option<&Path>) -> Result<(), String> {
    let Some(path) = file else {
        return Ok(());
    };
    let f = open_private(path)?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warroom=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(LogFile(Arc::new(Mutex::new(f))))
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))
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

/// Hands tracing one buffer per event; the buffer is redacted and written whole when
/// the event is done (a secret is never split between two writes).
struct LogFile(Arc<Mutex<File>>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogFile {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine {
            file: Arc::clone(&self.0),
            buf: Vec::new(),
        }
    }
}

struct LogLine {
    file: Arc<Mutex<File>>,
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
        if let Ok(mut f) = self.file.lock() {
            let _ = f.write_all(text.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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
