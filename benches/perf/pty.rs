//! A real pseudo-terminal for a command: `script(1)` allocates it, sets it to 100x30 with
//! `stty`, and relays. We see exactly the bytes the process writes to the terminal, each
//! chunk stamped on arrival, and answer the cursor-position query (`ESC[6n`) as a
//! terminal would.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const COLS: u16 = 100;
pub const ROWS: u16 = 30;

#[derive(Default)]
pub struct Cap {
    pub buf: Vec<u8>,
    /// (offset of the chunk's end, when it arrived).
    pub chunks: Vec<(usize, Instant)>,
}

impl Cap {
    /// When the byte at `end - 1` arrived.
    pub fn arrival(&self, end: usize) -> Option<Instant> {
        self.chunks.iter().find(|(e, _)| *e >= end).map(|(_, t)| *t)
    }
}

pub struct Pty {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    pub cap: Arc<Mutex<Cap>>,
}

pub fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

impl Pty {
    /// Run `cmd` (a shell command, `exec`ed so the pid below `script` is the program's).
    pub fn spawn(cmd: &str) -> std::io::Result<Pty> {
        let mut child = Command::new("script")
            .args(["-q", "-f", "-e", "-c"])
            .arg(format!("stty rows {ROWS} cols {COLS} && exec {cmd}"))
            .arg("/dev/null")
            .env("SHELL", "/bin/sh")
            .env("TERM", "xterm-256color")
            .env_remove("COLORTERM")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = Arc::new(Mutex::new(child.stdin.take().expect("stdin")));
        let mut out = child.stdout.take().expect("stdout");
        let cap = Arc::new(Mutex::new(Cap::default()));
        let (c2, s2) = (Arc::clone(&cap), Arc::clone(&stdin));
        std::thread::spawn(move || {
            let mut b = vec![0u8; 64 * 1024];
            loop {
                let n = match out.read(&mut b) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let at = Instant::now();
                let mut c = c2.lock().unwrap_or_else(|e| e.into_inner());
                let start = c.buf.len().saturating_sub(3);
                c.buf.extend_from_slice(&b[..n]);
                let end = c.buf.len();
                c.chunks.push((end, at));
                let asks = c.buf[start..]
                    .windows(4)
                    .filter(|w| *w == b"\x1b[6n")
                    .count();
                drop(c);
                for _ in 0..asks {
                    let _ = s2
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .write_all(b"\x1b[1;1R");
                }
            }
        });
        Ok(Pty { child, stdin, cap })
    }

    pub fn write(&self, bytes: &[u8]) {
        let mut s = self.stdin.lock().unwrap_or_else(|e| e.into_inner());
        let _ = s.write_all(bytes);
        let _ = s.flush();
    }

    pub fn total(&self) -> usize {
        self.cap.lock().unwrap_or_else(|e| e.into_inner()).buf.len()
    }

    /// The program below `script` once it has exec'ed into a name starting with `comm`.
    pub fn pid_of(&self, comm: &str, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            for p in super::procfs::descendants(self.child.id() as i32) {
                if super::procfs::comm(p).is_some_and(|c| c.starts_with(comm)) {
                    return Some(p);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Stop the program and `script` (only processes this harness started).
    pub fn stop(self) {
        stop_all(vec![self]);
    }

    fn signal(&self) {
        for p in super::procfs::descendants(self.child.id() as i32) {
            super::procfs::kill(p, libc::SIGTERM);
        }
        super::procfs::kill(self.child.id() as i32, libc::SIGTERM);
    }

    fn reap(mut self) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signal every pty's processes first, then reap them: one wait instead of one per pty.
pub fn stop_all(ptys: Vec<Pty>) {
    for p in &ptys {
        p.signal();
    }
    for p in ptys {
        p.reap();
    }
}
