//! Reading a config's text with bounded memory and time: a file, or a pipe (`-c <(…)`,
//! `-c /dev/stdin`); never a device, a directory or anything without an end.

use super::load::{ConfigError, Problem};
use std::path::Path;

/// Largest config read: far above any real cutover, small enough that a wrong path (a
/// log file, a dump) cannot fill the memory of a bastion host.
pub const MAX_CONFIG_BYTES: usize = 4 * 1024 * 1024;

/// A pipe that sends nothing for this long is given up on (a process substitution whose
/// command hangs): start-up must not wait for ever.
pub const PIPE_IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// The text of the config at `path`, read with bounded memory and time:
/// - a regular file over [`MAX_CONFIG_BYTES`] is refused before it is read;
/// - a pipe (`-c <(…)`, `-c /dev/stdin`, a named FIFO) is read to its end, at most
///   [`MAX_CONFIG_BYTES`], giving up when nothing arrives for [`PIPE_IDLE`]; one that
///   nothing writes to is refused at once (it is never waited on for a writer);
/// - anything else (a device such as /dev/zero, a terminal, a directory, a socket) is
///   refused without reading;
/// - text that is not UTF-8 is a problem at the line and column of its first bad byte.
pub fn read_config(path: &Path) -> Result<String, ConfigError> {
    let shown = path.display().to_string();
    let refused = |why: String| ConfigError::Refused {
        path: shown.clone(),
        why,
    };
    let io = |source| ConfigError::Io {
        path: shown.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    not_a_config(&meta).map_or(Ok(()), |why| Err(refused(why)))?;
    if meta.is_file() && meta.len() > MAX_CONFIG_BYTES as u64 {
        return Err(refused(too_large(Some(meta.len()))));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO nobody writes to would block the open itself.
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = opts.open(path).map_err(io)?;
    // Judge what was opened (the path may have changed since the look).
    let meta = file.metadata().map_err(io)?;
    not_a_config(&meta).map_or(Ok(()), |why| Err(refused(why)))?;
    let bytes = if meta.is_file() {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_CONFIG_BYTES as u64 + 1),
            &mut bytes,
        )
        .map_err(io)?;
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(refused(too_large(None)));
        }
        bytes
    } else {
        read_pipe(file, PIPE_IDLE).map_err(|e| match e {
            PipeError::Io(source) => io(source),
            PipeError::Refused(why) => refused(why),
        })?
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        // Valid up to `at`, so this is the text as an editor shows it.
        let before = String::from_utf8_lossy(&bytes[..at]);
        let line = before.matches('\n').count() + 1;
        let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
            .chars()
            .count()
            + 1;
        ConfigError::Invalid(vec![Problem {
            file: shown.clone(),
            line,
            col,
            message: format!(
                "not UTF-8 text: byte 0x{:02x} here is not valid UTF-8",
                bytes.get(at).copied().unwrap_or(0)
            ),
            hint: Some("save the config as UTF-8 (it may be Latin-1 or binary)".into()),
        }])
    })
}

/// Why this is not something to read a config from, if it is not.
fn not_a_config(meta: &std::fs::Metadata) -> Option<String> {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() || t.is_file() {
            return None;
        }
        let what = if t.is_char_device() {
            "a character device (a terminal or something like /dev/zero)"
        } else if t.is_block_device() {
            "a block device"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        Some(format!(
            "it is {what}, not a config file; give the path of a TOML file, or pipe one in (`-c <(…)`, `-c /dev/stdin`)"
        ))
    }
    #[cfg(not(unix))]
    {
        (!t.is_file()).then(|| "it is not a regular file".to_string())
    }
}

fn too_large(size: Option<u64>) -> String {
    let limit = MAX_CONFIG_BYTES / (1024 * 1024);
    match size {
        Some(n) => format!(
            "it is {:.1} MiB, over the {limit} MiB limit for a config (is this the right file?)",
            n as f64 / (1024.0 * 1024.0)
        ),
        None => format!("more than {limit} MiB arrived, over the limit for a config"),
    }
}

enum PipeError {
    Io(std::io::Error),
    Refused(String),
}

/// A pipe opened non-blocking, read to its end: at most the cap, waiting at most `idle`
/// for each next piece.
fn read_pipe(mut file: std::fs::File, idle: std::time::Duration) -> Result<Vec<u8>, PipeError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                if bytes.len() > MAX_CONFIG_BYTES {
                    return Err(PipeError::Refused(too_large(None)));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if !wait_readable(&file, idle).map_err(PipeError::Io)? {
                    return Err(PipeError::Refused(format!(
                        "it is a pipe and nothing more arrived for {} s (is the command writing it stuck?)",
                        idle.as_secs()
                    )));
                }
            }
            Err(e) => return Err(PipeError::Io(e)),
        }
    }
    if bytes.is_empty() {
        return Err(PipeError::Refused(
            "it is a pipe and nothing came through it: no program is writing to it, or the one that did printed nothing".into(),
        ));
    }
    Ok(bytes)
}

/// Wait until `file` has something to read (or its writer closed); false after `idle`.
#[cfg(unix)]
fn wait_readable(file: &std::fs::File, idle: std::time::Duration) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    let deadline = std::time::Instant::now() + idle;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let rc = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if rc > 0 {
            return Ok(true);
        }
        if rc == 0 {
            return Ok(false);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(not(unix))]
fn wait_readable(_file: &std::fs::File, _idle: std::time::Duration) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const MINIMAL: &str = "[cutover]\nname = \"x\"\n\n[[source]]\nid = \"api\"\nkind = \"http\"\nurl = \"http://h/x\"\n";

    fn refused(r: Result<String, ConfigError>) -> String {
        match r {
            Err(e @ ConfigError::Refused { .. }) => e.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_device_is_refused_without_reading() {
        // /dev/zero never ends: reading it would grow without bound.
        let msg = refused(read_config(Path::new("/dev/zero")));
        assert!(
            msg.contains("/dev/zero") && msg.contains("character device"),
            "{msg}"
        );
        let dir = tempfile::tempdir().expect("tmp");
        let msg = refused(read_config(dir.path()));
        assert!(msg.contains("a directory"), "{msg}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_before_reading() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("big.toml");
        let f = std::fs::File::create(&p).expect("create");
        // Sparse: 5 MiB of nothing, instantly.
        f.set_len(5 * 1024 * 1024).expect("grow");
        let msg = refused(read_config(&p));
        assert!(
            msg.contains("5.0 MiB") && msg.contains("4 MiB limit"),
            "{msg}"
        );
    }

    fn fifo(dir: &tempfile::TempDir) -> std::path::PathBuf {
        let p = dir.path().join("cfg.fifo");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        p
    }

    #[test]
    fn a_fifo_nobody_writes_to_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = fifo(&dir);
        // Not a wait for a writer: that would end on the idle deadline, with other words.
        let msg = refused(read_config(&p));
        assert!(msg.contains("nothing came through"), "{msg}");
    }

    #[test]
    fn a_fifo_with_a_writer_is_read_to_its_end() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = fifo(&dir);
        // The writer is there before the reader (as `cat cfg > fifo &` blocked in its
        // open would be; read-write so that this open does not block) and writes in two
        // pieces, as a slow command would.
        let mut w = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&p)
            .expect("open for writing");
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            w.write_all(&MINIMAL.as_bytes()[..10]).expect("write");
            std::thread::sleep(std::time::Duration::from_millis(200));
            w.write_all(&MINIMAL.as_bytes()[10..]).expect("write");
        });
        let text = read_config(&p).expect("read");
        writer.join().expect("writer");
        assert_eq!(text, MINIMAL);
    }

    #[test]
    fn a_pipe_over_the_cap_is_refused_with_bounded_memory() {
        let (r, w) = pipe();
        let writer = std::thread::spawn(move || {
            let mut w = w;
            let chunk = vec![b'#'; 64 * 1024];
            // Stops when the reader gives up (EPIPE).
            while w.write_all(&chunk).is_ok() {}
        });
        let e = read_pipe(r, PIPE_IDLE);
        assert!(matches!(&e, Err(PipeError::Refused(why)) if why.contains("4 MiB")));
        drop(e);
        writer.join().expect("writer");
    }

    #[test]
    fn a_pipe_that_goes_quiet_is_given_up_on() {
        let (r, w) = pipe();
        let e = read_pipe(r, std::time::Duration::from_millis(300));
        assert!(matches!(&e, Err(PipeError::Refused(why)) if why.contains("nothing more arrived")));
        drop(w);
    }

    /// A non-blocking read end and a write end.
    fn pipe() -> (std::fs::File, std::fs::File) {
        use std::os::unix::io::FromRawFd;
        let mut fds = [0; 2];
        // SAFETY: two fds written by pipe2, each owned by one File from here on.
        unsafe {
            assert_eq!(
                libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC),
                0
            );
            let w = std::fs::File::from_raw_fd(fds[1]);
            // Blocking writes: the writer waits for the reader like a real command.
            let flags = libc::fcntl(fds[1], libc::F_GETFL);
            libc::fcntl(fds[1], libc::F_SETFL, flags & !libc::O_NONBLOCK);
            (std::fs::File::from_raw_fd(fds[0]), w)
        }
    }

    #[test]
    fn invalid_utf8_is_located() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("latin1.toml");
        // Line 3, after `name = "caf` (11 characters, one of them `é` as UTF-8).
        let mut bytes = b"[cutover]\n# r\xc3\xa9sum\xc3\xa9\nname = \"caf".to_vec();
        bytes.push(0xe9);
        bytes.extend_from_slice(b"\"\n");
        std::fs::write(&p, bytes).expect("write");
        match read_config(&p) {
            Err(ConfigError::Invalid(ps)) => {
                assert_eq!(ps.len(), 1);
                let shown = ps[0].to_string();
                assert!(
                    shown.starts_with(&format!("{}:3:12: not UTF-8 text: byte 0xe9", p.display())),
                    "{shown}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
