//! The dashboard's event loop: one `select!` over keys, poll results, the clock and
//! signals; `update` on each message; at most one frame per `1/max_fps`, and only
//! when something changed or the clock's second ticked — and only when the terminal
//! has taken the last one, so a stalled terminal never holds the loop.

use crate::app::{Action, Msg};
use crate::config::Config;
use crate::sample::{Stamp, Ts};
use crate::session::{Redact, Session, SessionOptions};
use crate::terminal::Screen;
use crate::theme::Theme;
use chrono::Utc;
use crossterm::event::{Event as CEvent, EventStream};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::time::Instant;

pub struct WatchOptions {
    pub cfg: Arc<Config>,
    pub t0: Option<Ts>,
    pub theme: Theme,
    pub read_only: bool,
    pub user: String,
    pub audit_log: Option<std::path::PathBuf>,
    pub redact: Redact,
    /// Shown as warnings in the events panel at start (e.g. a group-readable token file).
    pub warnings: Vec<String>,
    pub record: Option<std::path::PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot set up the terminal: {0}")]
    Terminal(#[source] std::io::Error),
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    #[error("cannot listen for signals: {0}")]
    Signals(#[source] std::io::Error),
}

/// What a signal asks of the dashboard.
enum Sig {
    /// Restore the terminal and exit with this code (128 + the signal's number).
    Exit(i32),
    /// SIGTSTP from outside: restore the terminal, then stop, as Ctrl-Z does.
    Stop,
    /// SIGCONT: continued after a stop, maybe one nobody could catch (SIGSTOP) — the
    /// terminal is taken back and redrawn.
    Continued,
}

/// Every signal the dashboard answers. Those whose default would leave the terminal
/// raw (SIGQUIT's core dump, SIGUSR1/2, SIGALRM) end it cleanly instead.
struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
    quit: Signal,
    usr1: Signal,
    usr2: Signal,
    alrm: Signal,
    tstp: Signal,
    cont: Signal,
}

impl Signals {
    fn new() -> Result<Signals, RunError> {
        let on = |n: i32| signal(SignalKind::from_raw(n)).map_err(RunError::Signals);
        Ok(Signals {
            int: on(libc::SIGINT)?,
            term: on(libc::SIGTERM)?,
            hup: on(libc::SIGHUP)?,
            quit: on(libc::SIGQUIT)?,
            usr1: on(libc::SIGUSR1)?,
            usr2: on(libc::SIGUSR2)?,
            alrm: on(libc::SIGALRM)?,
            tstp: on(libc::SIGTSTP)?,
            cont: on(libc::SIGCONT)?,
        })
    }

    async fn next(&mut self) -> Sig {
        let exit = |n: i32| Sig::Exit(128 + n);
        tokio::select! {
            biased;
            _ = self.int.recv() => exit(libc::SIGINT),
            _ = self.term.recv() => exit(libc::SIGTERM),
            _ = self.hup.recv() => exit(libc::SIGHUP),
            _ = self.quit.recv() => exit(libc::SIGQUIT),
            _ = self.usr1.recv() => exit(libc::SIGUSR1),
            _ = self.usr2.recv() => exit(libc::SIGUSR2),
            _ = self.alrm.recv() => exit(libc::SIGALRM),
            _ = self.tstp.recv() => Sig::Stop,
            _ = self.cont.recv() => Sig::Continued,
        }
    }
}

/// Why the dashboard ended, for the session's last record.
fn exit_reason(code: i32) -> &'static str {
    match code - 128 {
        -128 => "quit",
        libc::SIGHUP => "terminal gone (SIGHUP or closed)",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        _ => "error",
    }
}

/// Who is at the keyboard: `SUDO_USER`, `USER`, `LOGNAME`, then the account of our uid.
pub fn current_user() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|s| !s.is_empty()))
        .or_else(account_name)
        .unwrap_or_else(|| "unknown".into())
}

/// The passwd name of the real uid (tmux and cron often leave USER unset).
fn account_name() -> Option<String> {
    // SAFETY: getpwuid_r writes only into the buffers we pass and sets `result`
    // to null or to `pwd`; the name is copied out before the buffers go away.
    unsafe {
        let uid = libc::getuid();
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 1024];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return Some(format!("uid{uid}"));
        }
        Some(
            std::ffi::CStr::from_ptr(pwd.pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// Run the dashboard until quit, a signal, or the terminal going away.
/// Returns the process exit code (0 on quit, 128+n for a signal).
pub async fn run_watch(opts: WatchOptions) -> Result<i32, RunError> {
    let mut signals = Signals::new()?;

    let max_fps = opts.cfg.ui.max_fps;
    let (mut session, mut inbox) = Session::start(SessionOptions {
        cfg: opts.cfg,
        t0: opts.t0,
        read_only: opts.read_only,
        user: opts.user,
        audit_log: opts.audit_log,
        redact: opts.redact,
        now: Stamp::now(),
        record: opts.record,
    })
    .await?;
    for w in opts.warnings {
        session.handle(Msg::Warning(w));
    }
    tracing::info!("audit log: {}", session.audit_path.display());

    let mut screen = Screen::enter().map_err(RunError::Terminal)?;
    let writer_ready = screen.ready();
    let mut keys_in = EventStream::new();

    // Tick on the wall clock's second boundary so the T-clock never skips a second. The
    // interval itself runs on the monotonic clock: a wall step neither bunches nor stops
    // ticks, and each tick reads both clocks so `update` can tell a step from time passing.
    let mut clock = tokio::time::interval_at(next_wall_second(Utc::now()), Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let min_frame = Duration::from_millis(1_000 / u64::from(max_fps.clamp(1, 60)));
    let mut last_draw = Instant::now() - min_frame;
    let theme = opts.theme;

    // A key or paste is drawn at once: the frame cap paces only what polls and the clock
    // redraw, so a key never waits out the rest of a poll's frame (up to 1/max_fps).
    let mut input = false;
    // A frame is due but the terminal has not taken the last one yet (a stalled link).
    let mut held = false;
    let code = loop {
        let state = &mut session.state;
        if state.dirty && !held && (input || last_draw.elapsed() >= min_frame) {
            match screen.draw(|f| crate::ui::render(f, state, &theme)) {
                Ok(true) => {
                    state.dirty = false;
                    last_draw = Instant::now();
                }
                Ok(false) => held = true,
                Err(e) => {
                    // The terminal went away (SSH drop): nothing left to draw on.
                    tracing::warn!("terminal write failed, exiting: {e}");
                    break 129;
                }
            }
        }
        input = false;
        if state.quit {
            break 0;
        }
        let frame_due = (state.dirty && !held).then(|| last_draw + min_frame);
        let text_entry = state.text_entry();
        tokio::select! {
            biased;
            sig = signals.next() => match sig {
                Sig::Exit(code) => break code,
                Sig::Stop | Sig::Continued => {
                    if let Err(e) = take_back(&mut screen, &sig) {
                        tracing::warn!("cannot take the terminal back, exiting: {e}");
                        break 129;
                    }
                    session.handle(Msg::Resize);
                }
            },
            _ = writer_ready.notified(), if held => held = false,
            ev = keys_in.next() => match ev {
                Some(Ok(CEvent::Key(k))) => match session.state.keys.action_for(k, text_entry) {
                    Some(Action::Suspend) => {
                        if let Err(e) = screen.suspend() {
                            // Resumed without a terminal: it went away while we were
                            // stopped (SSH drop; the kernel sent SIGHUP and SIGCONT).
                            tracing::warn!("cannot resume the terminal, exiting: {e}");
                            break 129;
                        }
                        session.handle(Msg::Resize);
                    }
                    Some(a) => {
                        session.handle(Msg::Action(a));
                        input = true;
                    }
                    None => {}
                },
                Some(Ok(CEvent::Paste(text))) => {
                    session.handle(Msg::Paste(text));
                    input = true;
                }
                Some(Ok(CEvent::Resize(..))) => session.handle(Msg::Resize),
                Some(Ok(_)) => {}
                // The input side closed or failed: the terminal is gone.
                Some(Err(_)) | None => break 129,
            },
            Some(m) = inbox.recv() => session.handle(m),
            _ = clock.tick() => {
                let now = Stamp::now();
                // A step by a fraction of a second (or NTP's slewing, over hours) leaves the
                // ticks off the wall's second boundary: realign so the T-clock never skips.
                if !(0..100).contains(&now.at.timestamp_subsec_millis()) {
                    clock.reset_at(next_wall_second(now.at));
                }
                session.handle(Msg::Tick(now));
            }
            _ = sleep_until_opt(frame_due) => {}
        }
    };
    drop(screen);
    session.shutdown_because(exit_reason(code));
    Ok(code)
}

/// The monotonic instant of the wall clock's next second boundary.
fn next_wall_second(now: Ts) -> Instant {
    let to_next = 1_000 - u64::from(now.timestamp_subsec_millis().min(999));
    Instant::now() + Duration::from_millis(to_next)
}

/// A stop asked from outside (restore, then stop) or a continue: either way the
/// terminal is taken back and the next frame drawn whole.
fn take_back(screen: &mut Screen, sig: &Sig) -> std::io::Result<()> {
    match sig {
        Sig::Stop => screen.suspend(),
        _ => screen.resume(),
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// `warroom replay`: the dashboard fed from a recording at `speed`, read-only.
/// Space pauses, ← → seek 10 s (Shift: 60 s), the T-clock follows the recorded time.
pub async fn run_replay(
    mut rp: crate::replay::Replayer,
    theme: Theme,
    speed: f64,
) -> Result<i32, RunError> {
    use crossterm::event::{KeyCode, KeyModifiers};
    let mut signals = Signals::new()?;
    let mut screen = Screen::enter().map_err(RunError::Terminal)?;
    let mut keys_in = EventStream::new();
    let mut frame = tokio::time::interval(Duration::from_millis(100));
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // Positions are monotonic: a wall step in the recording is replayed, not skipped over.
    let (start, end) = (rp.start().mono, rp.end());
    let end_at = end.at;
    let end = end.mono;
    let mut pos = start;
    let mut paused = false;
    let mut last = Instant::now();
    rp.seek(pos);
    let code = loop {
        let wall = last.elapsed();
        last = Instant::now();
        if !paused && pos < end {
            let adv = chrono::Duration::milliseconds((wall.as_secs_f64() * speed * 1000.0) as i64);
            pos = (pos + adv).min(end);
            rp.seek(pos);
        }
        let status = if pos >= end {
            "REPLAY ended".to_string()
        } else if paused {
            "REPLAY paused".to_string()
        } else {
            format!("REPLAY ×{speed}")
        };
        rp.state.notice = Some(crate::app::Notice {
            text: format!(
                "{status} · {} / {} · Space pause · ← → seek 10s (Shift 60s) · q quit",
                rp.state.now.format("%H:%M:%S"),
                end_at.format("%H:%M:%S")
            ),
            at: rp.state.mono,
        });
        let state = &rp.state;
        // A frame the terminal cannot take yet is skipped: the next tick draws afresh.
        if screen
            .draw(|f| crate::ui::render(f, state, &theme))
            .is_err()
        {
            break 129;
        }
        if rp.state.quit {
            break 0;
        }
        tokio::select! {
            biased;
            sig = signals.next() => match sig {
                Sig::Exit(code) => break code,
                Sig::Stop | Sig::Continued => {
                    if take_back(&mut screen, &sig).is_err() {
                        break 129;
                    }
                }
            },
            ev = keys_in.next() => match ev {
                Some(Ok(CEvent::Key(k))) if k.kind != crossterm::event::KeyEventKind::Release => {
                    let step = if k.modifiers.contains(KeyModifiers::SHIFT) { 60 } else { 10 };
                    match k.code {
                        KeyCode::Char(' ') => paused = !paused,
                        KeyCode::Left => {
                            pos = (pos - chrono::Duration::seconds(step)).max(start);
                            rp.seek(pos);
                        }
                        KeyCode::Right => {
                            pos = (pos + chrono::Duration::seconds(step)).min(end);
                            rp.seek(pos);
                        }
                        _ => match rp.state.keys.action_for(k, false) {
                            Some(Action::Suspend) if screen.suspend().is_err() => break 129,
                            Some(Action::Suspend) => {}
                            Some(a) => {
                                let _ = crate::app::update(&mut rp.state, Msg::Action(a));
                            }
                            None => {}
                        },
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break 129,
            },
            _ = frame.tick() => {}
        }
    };
    drop(screen);
    Ok(code)
}
