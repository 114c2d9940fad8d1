//! The terminal: raw mode and the alternate screen, always restored — on quit,
//! error, panic and signals — and frames written as one synchronized update.

use crossterm::{cursor, event, execute, terminal};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{self, BufWriter, Stdout, Write};
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};

pub type Term = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// Set while the terminal is in raw/alternate mode, so restoring twice is harmless.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Restores the terminal when dropped, whatever path leaves the dashboard.
pub struct TerminalGuard {
    /// Dropped by hand: see `Drop for TerminalGuard`.
    pub term: ManuallyDrop<Term>,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enter_raw()?;
        // A large buffer so that one frame leaves in one write.
        let backend = CrosstermBackend::new(BufWriter::with_capacity(256 * 1024, io::stdout()));
        let mut term = Terminal::new(backend)?;
        term.clear()?;
        Ok(TerminalGuard {
            term: ManuallyDrop::new(term),
        })
    }

    /// Leave the terminal usable, stop the process (Ctrl-Z), and come back on `fg`.
    pub fn suspend(&mut self) -> io::Result<()> {
        restore();
        #[cfg(unix)]
        // SAFETY: raising a signal on our own process; SIGTSTP's default action stops us.
        unsafe {
            libc::raise(libc::SIGTSTP);
        }
        enter_raw()?;
        self.term.clear()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // ratatui's own Drop shows the cursor it hid and `eprintln!`s if that fails. When
        // the terminal has gone away (SSH drop) it fails, and so does that eprintln! on the
        // dead stderr — a panic, exit 101 instead of 129. Show it through ratatui first;
        // if that fails, the terminal is gone and ratatui's Drop is skipped (all it holds
        // is a write buffer for that dead terminal).
        let shown = self.term.show_cursor().is_ok();
        restore();
        if shown {
            // SAFETY: dropped once, here; the guard is never used after its Drop.
            unsafe { ManuallyDrop::drop(&mut self.term) }
        }
    }
}

fn enter_raw() -> io::Result<()> {
    terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    execute!(
        io::stdout(),
        terminal::EnterAlternateScreen,
        cursor::Hide,
        event::EnableBracketedPaste
    )
}

/// Idempotent; errors are ignored because there is nothing better to do on the way out.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        let mut out = io::stdout();
        let _ = execute!(
            out,
            event::DisableBracketedPaste,
            terminal::LeaveAlternateScreen,
            cursor::Show
        );
        let _ = out.flush();
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

/// One frame as one synchronized update, so a slow SSH link never shows half a frame.
pub fn draw(term: &mut Term, render: impl FnOnce(&mut ratatui::Frame)) -> io::Result<()> {
    execute!(term.backend_mut(), terminal::BeginSynchronizedUpdate)?;
    term.draw(render)?;
    execute!(term.backend_mut(), terminal::EndSynchronizedUpdate)?;
    term.backend_mut().flush()
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
