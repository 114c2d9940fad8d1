//! The terminal: raw mode and the alternate screen, always restored — on quit, error,
//! panic and signals — and taken back after a stop.
//!
//! Frames are drawn into memory and handed to one writer thread, one frame at a time:
//! while the terminal is still taking the last frame (a stalled SSH link, a stopped tmux
//! client) the next one is simply not drawn, so a terminal that stops reading can hold up
//! neither the event loop nor the exit. Nothing here ever waits for the terminal to
//! answer a query (ratatui's `Terminal::clear` asks for the cursor position and waits up
//! to 2 s for the reply; it is never called).

use crate::ansi::Ansi;
use crossterm::{cursor, event, queue, style, terminal};
use ratatui::layout::{Position, Rect};
use ratatui::Terminal;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// ratatui drawing into a byte buffer, through the lean backend (only changed cells, the
/// fewest escape sequences); the writer thread takes the bytes to the terminal.
pub type Term = Terminal<Ansi<FrameBuf>>;

/// Where a frame is drawn: memory shared with the `Screen`, which hands it over whole.
/// Its `flush` does nothing — ratatui flushes before the frame's last bytes.
#[derive(Clone, Default)]
pub struct FrameBuf(Arc<Mutex<Vec<u8>>>);

impl FrameBuf {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl io::Write for FrameBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What became of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drawn {
    /// Handed to the writer.
    Sent,
    /// No cell changed: nothing was sent.
    Unchanged,
    /// The terminal has not taken the last frame: nothing was drawn.
    Held,
}

/// Set while the terminal is in raw/alternate mode, so restoring twice is harmless.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// How long leaving waits for the terminal to take the restore sequence. Past it the
/// terminal is not reading (a stalled link): the tty modes are back already, and the
/// process must still exit promptly.
const RESTORE_WITHIN: Duration = Duration::from_millis(500);

// ------------------------------------------------------------------ the writer

/// What the loop hands the writer thread: at most one batch of bytes waiting.
#[derive(Default)]
struct Slot {
    /// Bytes not yet taken by the writer, and their sequence number.
    pending: Option<(u64, Vec<u8>)>,
    /// The last sequence number handed over, and the last one fully written.
    seq: u64,
    written: u64,
    /// A buffer the writer is done with, for the next frame (no allocation per frame).
    spare: Option<Vec<u8>>,
    /// The terminal refused a write (it went away): nothing more can be shown.
    failed: Option<io::ErrorKind>,
}

/// The only path to the terminal's output while the dashboard runs: one thread that
/// may block in `write(2)` for as long as the terminal likes, and never holds the lock
/// while it does.
pub struct Output {
    fd: libc::c_int,
    slot: Mutex<Slot>,
    /// Wakes the writer when bytes are handed over, and `finish` when they are written.
    changed: Condvar,
    /// Wakes the event loop when the writer can take another frame.
    ready: tokio::sync::Notify,
}

impl Output {
    fn new(fd: libc::c_int) -> Output {
        Output {
            fd,
            slot: Mutex::new(Slot::default()),
            changed: Condvar::new(),
            ready: tokio::sync::Notify::new(),
        }
    }

    /// The writer for `fd`, on its own thread for the life of the process.
    fn start(fd: libc::c_int) -> io::Result<&'static Output> {
        let out: &'static Output = Box::leak(Box::new(Output::new(fd)));
        std::thread::Builder::new()
            .name("terminal-writer".into())
            .spawn(move || out.run())?;
        Ok(out)
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self) {
        loop {
            let (seq, bytes) = {
                let mut s = self.lock();
                loop {
                    if let Some(p) = s.pending.take() {
                        break p;
                    }
                    s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
                }
            };
            let result = write_all(self.fd, &bytes);
            let mut s = self.lock();
            s.written = seq;
            let mut bytes = bytes;
            bytes.clear();
            s.spare = Some(bytes);
            let failed = result.err().map(|e| e.kind());
            s.failed = s.failed.or(failed);
            drop(s);
            self.changed.notify_all();
            self.ready.notify_one();
            if failed.is_some() {
                return;
            }
        }
    }

    /// Is the writer still holding bytes it has not started on? Then a new frame waits.
    fn busy(&self) -> io::Result<bool> {
        let s = self.lock();
        match s.failed {
            Some(kind) => Err(io::Error::new(kind, "the terminal stopped taking output")),
            None => Ok(s.pending.is_some()),
        }
    }

    /// Hand bytes over without waiting; anything not yet taken stays in front of them.
    fn send(&self, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.lock();
        if let Some(kind) = s.failed {
            return Err(io::Error::new(kind, "the terminal stopped taking output"));
        }
        s.seq += 1;
        let seq = s.seq;
        match &mut s.pending {
            Some((n, queued)) => {
                queued.extend_from_slice(bytes);
                *n = seq;
            }
            None => {
                let mut buf = s.spare.take().unwrap_or_default();
                buf.extend_from_slice(bytes);
                s.pending = Some((seq, buf));
            }
        }
        drop(s);
        self.changed.notify_all();
        Ok(())
    }

    /// Hand over the last bytes (the restore sequence) in place of anything not yet
    /// taken, and wait for them to be written — for `within` at most.
    fn finish(&self, bytes: Vec<u8>, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut s = self.lock();
        if s.failed.is_some() {
            return false;
        }
        s.seq += 1;
        let seq = s.seq;
        s.pending = Some((seq, bytes));
        self.changed.notify_all();
        while s.written < seq && s.failed.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            s = self
                .changed
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        s.written >= seq
    }
}

/// `write(2)` until every byte is taken. Straight to the descriptor: `io::stdout()`'s
/// lock would be held across a blocked write, and the exit path needs that lock.
fn write_all(fd: libc::c_int, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a live slice; write(2) reads at most `buf.len()` bytes of it.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            buf = &buf[n as usize..];
            continue;
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => {}
            // Someone made the descriptor non-blocking: wait until it can take more.
            io::ErrorKind::WouldBlock => {
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut p, 1, -1) };
            }
            _ => return Err(e),
        }
    }
    Ok(())
}

/// The writer to stdout, started by the first `Screen::enter`.
static OUTPUT: Mutex<Option<&'static Output>> = Mutex::new(None);

fn stdout_output() -> io::Result<&'static Output> {
    let mut o = OUTPUT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(out) = *o {
        return Ok(out);
    }
    let out = Output::start(libc::STDOUT_FILENO)?;
    *o = Some(out);
    Ok(out)
}

// ------------------------------------------------------------------ the screen

/// The dashboard's screen: raw mode and the alternate screen while it lives, restored
/// when it is dropped, whatever path leaves the dashboard.
pub struct Screen {
    term: Term,
    frame: FrameBuf,
    out: &'static Output,
}

impl Screen {
    pub fn enter() -> io::Result<Screen> {
        install_panic_hook();
        let out = stdout_output()?;
        // The size comes from an ioctl; the viewport is the whole screen, so nothing
        // asks the terminal where its cursor is.
        let frame = FrameBuf::default();
        let term = Terminal::new(Ansi::new(frame.clone()))?;
        let mut screen = Screen { term, frame, out };
        screen.take_terminal()?;
        Ok(screen)
    }

    /// Raw mode, the alternate screen, the cursor hidden, and the next frame drawn whole.
    /// Also after a stop, when the shell may have reset the tty and the screen: raw mode
    /// is left and entered again because crossterm remembers it as still on.
    fn take_terminal(&mut self) -> io::Result<()> {
        let _ = terminal::disable_raw_mode();
        terminal::enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut seq = Vec::new();
        queue!(
            seq,
            terminal::EnterAlternateScreen,
            cursor::Hide,
            event::EnableBracketedPaste
        )?;
        self.out.send(&seq)?;
        // Whoever had the terminal meanwhile may have left any style and cursor.
        self.term.backend_mut().forget();
        // Clears the screen and forgets the last frame (the clear goes out with the
        // next one) — what `Terminal::clear` does, without its cursor query.
        let size = self.term.size()?;
        self.term.resize(Rect::from((Position::ORIGIN, size)))
    }

    /// Draw one frame, as one synchronized update so a slow link never shows half of
    /// one. A frame in which no cell changed sends nothing at all. `Held`: the terminal
    /// has not taken the last frame yet; nothing was drawn, try again when `ready` fires.
    /// `Err`: the terminal is gone.
    pub fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame)) -> io::Result<Drawn> {
        if self.out.busy()? {
            return Ok(Drawn::Held);
        }
        // Bytes already waiting (a clear after a resize) go out whatever the frame holds.
        let waiting = self.frame.lock().len();
        queue!(
            self.term.backend_mut().writer_mut(),
            terminal::BeginSynchronizedUpdate
        )?;
        self.term.backend_mut().mark();
        self.term.draw(render)?;
        let mut buf = self.frame.lock();
        if self.term.backend().wrote() == 0 && waiting == 0 {
            buf.clear();
            return Ok(Drawn::Unchanged);
        }
        drop(buf);
        queue!(
            self.term.backend_mut().writer_mut(),
            terminal::EndSynchronizedUpdate
        )?;
        let mut buf = self.frame.lock();
        let sent = self.out.send(&buf);
        buf.clear();
        sent.map(|()| Drawn::Sent)
    }

    /// Fires when the writer can take another frame (after `draw` said `false`).
    pub fn ready(&self) -> &'static tokio::sync::Notify {
        &self.out.ready
    }

    /// Leave the terminal usable, stop the process (Ctrl-Z, or a SIGTSTP from outside),
    /// and take the terminal back once continued.
    pub fn suspend(&mut self) -> io::Result<()> {
        restore();
        stop_self();
        self.take_terminal()
    }

    /// Continued after a stop nobody could catch (SIGSTOP): the shell had the terminal
    /// meanwhile, so raw mode and the alternate screen are taken again and all redrawn.
    pub fn resume(&mut self) -> io::Result<()> {
        self.take_terminal()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Stop as SIGTSTP's default action would: our own handler set aside for the moment,
/// so the kernel's rules still hold (a process group that nobody could continue — an
/// orphaned one — is not stopped).
fn stop_self() {
    // SAFETY: sigaction with valid pointers to zeroed (SIG_DFL) and saved actions, and
    // raise on our own thread; the saved action is put back once continued.
    unsafe {
        let default: libc::sigaction = std::mem::zeroed();
        let mut saved: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGTSTP, &default, &mut saved) != 0 {
            return;
        }
        libc::raise(libc::SIGTSTP);
        libc::sigaction(libc::SIGTSTP, &saved, std::ptr::null_mut());
    }
}

/// Idempotent and bounded: the tty modes first (that never waits for output), then the
/// screen sequences through the writer, waited for `RESTORE_WITHIN` at most. Errors are
/// ignored because there is nothing better to do on the way out.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = terminal::disable_raw_mode();
    let mut seq = Vec::new();
    // Frames leave their last style in force (the next frame goes on from it): reset.
    let _ = queue!(
        seq,
        terminal::EndSynchronizedUpdate,
        style::SetAttribute(style::Attribute::Reset),
        event::DisableBracketedPaste,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
    // Active implies a writer: the screen is only entered through it.
    if let Some(out) = *OUTPUT.lock().unwrap_or_else(|e| e.into_inner()) {
        out.finish(seq, RESTORE_WITHIN);
    }
}

/// Restore first, then print the message on the normal screen, redacted (a panic may
/// quote a value that holds a token).
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            restore();
            let thread = std::thread::current();
            eprint!(
                "{}",
                panic_report(
                    thread.name().unwrap_or("<unnamed>"),
                    info.payload(),
                    info.location()
                )
            );
            let bt = std::backtrace::Backtrace::capture();
            if bt.status() == std::backtrace::BacktraceStatus::Captured {
                eprintln!("stack backtrace:\n{bt}");
            } else {
                eprintln!("note: run with `RUST_BACKTRACE=1` to display a backtrace");
            }
        }));
    });
}

/// The panic's words, as the standard hook writes them, through the process's redactor.
fn panic_report(
    thread: &str,
    payload: &(dyn std::any::Any + Send),
    location: Option<&std::panic::Location<'_>>,
) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "Box<dyn Any>".into());
    let at = location
        .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    format!(
        "thread '{thread}' panicked{at}:\n{}\n",
        crate::secrets::redact(&msg)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe nobody reads, as a terminal whose reader stopped: (read end, write end).
    fn stalled_pipe() -> (libc::c_int, libc::c_int) {
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        (fds[0], fds[1])
    }

    #[test]
    fn a_terminal_that_stops_reading_never_blocks_the_caller() {
        let (r, w) = stalled_pipe();
        let out = Output::start(w).expect("writer thread");
        let frame = vec![b'x'; 256 * 1024]; // more than a pipe holds
        out.send(&frame).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while out.busy().unwrap() {
            assert!(Instant::now() < deadline, "the writer never took the frame");
            std::thread::sleep(Duration::from_millis(1));
        }
        // The writer is now blocked in write(2): one more frame waits behind it, and
        // every later one is not drawn — each call returns at once.
        let started = Instant::now();
        out.send(&frame).unwrap();
        for _ in 0..100 {
            assert!(
                out.busy().unwrap(),
                "at most one frame queued behind the blocked one"
            );
        }
        // Leaving gives up after its bound instead of waiting for the reader.
        assert!(!out.finish(b"bye".to_vec(), Duration::from_millis(200)));
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{took:?}");
        // SAFETY: closing our own descriptors; the blocked writer then fails with EPIPE.
        unsafe {
            libc::close(r);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while out.busy().is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(out.busy().is_err(), "a dead terminal is reported");
        assert!(out.send(b"x").is_err());
        unsafe {
            libc::close(w);
        }
    }

    #[test]
    fn bytes_reach_the_terminal_in_order() {
        let (r, w) = stalled_pipe();
        let out = Output::start(w).expect("writer thread");
        out.send(b"one ").unwrap();
        out.send(b"two ").unwrap();
        assert!(out.finish(b"three".to_vec(), Duration::from_secs(10)));
        let mut buf = [0u8; 64];
        // SAFETY: reading into a live buffer from our own pipe.
        let n = unsafe { libc::read(r, buf.as_mut_ptr().cast(), buf.len()) };
        let got = String::from_utf8_lossy(&buf[..n.max(0) as usize]).into_owned();
        // `finish` replaces what was not taken yet, never what was written.
        assert!(got.ends_with("three"), "{got:?}");
        assert!(
            got == "one two three" || got == "one three" || got == "three",
            "{got:?}"
        );
        unsafe {
            libc::close(r);
            libc::close(w);
        }
    }
}

#[cfg(test)]
mod panic_tests {
    #[test]
    fn a_panic_message_is_redacted() {
        let mut r = crate::secrets::Redactor::new();
        r.add("p4nic-t0ken-xyz123");
        crate::secrets::install(&r);
        let payload: Box<dyn std::any::Any + Send> = Box::new(format!(
            "bad header value Bearer p4nic-t0ken-xyz123 for {:?}",
            "x"
        ));
        let shown = super::panic_report("main", &*payload, Some(std::panic::Location::caller()));
        assert!(!shown.contains("p4nic-t0ken"), "{shown}");
        assert!(
            shown.starts_with("thread 'main' panicked at src/terminal.rs:")
                && shown.contains("bad header value Bearer ***"),
            "{shown}"
        );
    }
}
