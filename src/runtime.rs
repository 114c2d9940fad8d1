//! The dashboard: its start-up (config secured, T0, theme) and its one event loop — one
//! `select!` over signals, keys, the inbox and the clock; `update` on each message; at
//! most one frame per `1/max_fps`, and only when something changed or the clock's
//! second ticked — and only when the terminal has taken the last one, so a stalled
//! terminal never holds the loop.
//!
//! Live, the inbox is a session's (polls read into readings, audit answers, action
//! results) and the clock is the system's. A replay has no session and no live clock:
//! its task feeds the same loop the recorded inputs and the replay's clock, and its
//! keys (pause, seek) go to that task.

use crate::app::{update, Action, Msg, State};
use crate::cli::UiArgs;
use crate::config::Config;
use crate::exit::CliError;
use crate::replay::{Control, Tape};
use crate::sample::{Stamp, Ts};
use crate::secrets::Redact;
use crate::session::{Inbox, Input, Session, SessionOptions};
use crate::terminal::{Drawn, Screen};
use crate::theme::{ColorDepth, Theme, ThemeOptions};
use chrono::{DateTime, Utc};
use crossterm::event::{Event as CEvent, EventStream};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
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

impl From<RunError> for CliError {
    fn from(e: RunError) -> Self {
        use crate::session::SessionError;
        let msg = e.to_string();
        match e {
            RunError::Terminal(_) => CliError::Terminal(msg),
            // A source's TLS settings: the config's to fix.
            RunError::Session(SessionError::Poll(_)) => CliError::Usage(msg),
            RunError::Session(SessionError::Audit(_) | SessionError::Record(_))
            | RunError::Signals(_) => CliError::Io(msg),
        }
    }
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

/// The dashboard on a loaded config (`watch` and `demo`): its secrets known to the
/// redactor, T0 and the theme resolved, then run until quit.
pub async fn dashboard(cfg: Config, ui: &UiArgs) -> Result<i32, CliError> {
    let t0 = resolve_t0(ui.t0.as_deref(), &cfg, Utc::now())?;
    let theme = load_theme(ui, &cfg)?;
    let mut cfg = cfg;
    let (redactor, warnings) = crate::secure::secure(&mut cfg)?;
    let record = crate::record::resolve_record_path(
        ui.record.as_ref().map(|r| r.as_deref()),
        &cfg,
        Utc::now(),
    )?;
    run_watch(WatchOptions {
        cfg: Arc::new(cfg),
        t0,
        theme,
        read_only: ui.read_only,
        user: crate::audit::current_user(),
        audit_log: ui.audit_log.clone(),
        redact: redactor.into_fn(),
        warnings,
        record,
    })
    .await
    .map_err(CliError::from)
}

/// `--t0` beats the config; `now` is now.
pub fn resolve_t0(flag: Option<&str>, cfg: &Config, now: Ts) -> Result<Option<Ts>, String> {
    let parse = |s: &str, from: &str| -> Result<Ts, String> {
        if s.trim() == "now" {
            return Ok(now);
        }
        DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("{from}: `{s}` is not an RFC 3339 time ({e}); write e.g. 2026-11-25T21:00:00Z or `now`"))
    };
    match (flag, cfg.cutover.t0.as_deref()) {
        (Some(f), _) => parse(f, "--t0").map(Some),
        (None, Some(c)) => parse(c, "[cutover] t0").map(Some),
        (None, None) => Ok(None),
    }
}

/// The theme the flags and the config ask for, with `NO_COLOR` and the terminal's depth.
pub fn load_theme(ui: &UiArgs, cfg: &Config) -> Result<Theme, String> {
    let env = |k: &str| std::env::var(k).ok();
    crate::theme::refuse_dumb(&env)?;
    let no_color = ui.no_color || env("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ascii = ui.ascii || cfg.ui.ascii || crate::theme::wants_ascii(&env);
    let name = ui.theme.as_deref().or(cfg.ui.theme.as_deref());
    Theme::load(
        name,
        ThemeOptions {
            no_color,
            ascii,
            depth: ColorDepth::detect(&env),
        },
    )
    .map_err(|e| e.to_string())
}

/// Run the dashboard until quit, a signal, or the terminal going away.
/// Returns the process exit code (0 on quit, 128+n for a signal).
pub async fn run_watch(opts: WatchOptions) -> Result<i32, RunError> {
    let signals = Signals::new()?;
    let max_fps = opts.cfg.ui.max_fps;
    let (mut session, inbox) = Session::start(SessionOptions {
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
    let session = Box::new(session);
    run_loop(Feed::Live { session, inbox }, signals, &opts.theme, max_fps).await
}

/// `warroom replay`: the dashboard fed from a recording at `speed`, read-only. Space
/// pauses, ← → seek 10 s (Shift: 60 s), the T-clock follows the recorded time.
pub async fn run_replay(tape: Tape, theme: Theme, speed: f64) -> Result<i32, RunError> {
    let signals = Signals::new()?;
    let max_fps = tape.config().ui.max_fps;
    let state = crate::replay::dashboard_state(&tape, speed);
    let (tx, inbox) = mpsc::channel(1024);
    let (control, asked) = mpsc::channel(16);
    let task = tokio::spawn(crate::replay::play(tape, speed, tx, asked));
    let feed = Feed::Replay {
        state: Box::new(state),
        inbox,
        control,
        task,
    };
    run_loop(feed, signals, &theme, max_fps).await
}

/// Where the loop's state and inputs come from.
enum Feed {
    /// A session: pollers, the audit log, actions; the system clock ticks.
    Live { session: Box<Session>, inbox: Inbox },
    /// A recording's replay task: its inputs and clock; its keys go back to it.
    Replay {
        state: Box<State>,
        inbox: mpsc::Receiver<Msg>,
        control: mpsc::Sender<Control>,
        task: JoinHandle<()>,
    },
}

impl Feed {
    fn state(&mut self) -> &mut State {
        match self {
            Feed::Live { session, .. } => &mut session.state,
            Feed::Replay { state, .. } => state,
        }
    }

    fn is_live(&self) -> bool {
        matches!(self, Feed::Live { .. })
    }

    async fn recv(&mut self) -> Option<Input> {
        match self {
            Feed::Live { inbox, .. } => inbox.recv().await,
            Feed::Replay { inbox, .. } => inbox.recv().await.map(Input::Msg),
        }
    }

    fn receive(&mut self, input: Input) {
        match (self, input) {
            (Feed::Live { session, .. }, input) => session.receive(input),
            // A replay is read-only: effects (audit writes, polls) are not carried out.
            (Feed::Replay { state, .. }, Input::Msg(m)) => {
                let _ = update(state, m);
            }
            (Feed::Replay { .. }, Input::Poll(_)) => {}
        }
    }

    fn handle(&mut self, msg: Msg) {
        self.receive(Input::Msg(msg));
    }

    /// A key's action: a replay's pause and seek go to its task, the rest to `update`.
    fn act(&mut self, a: Action) {
        let asked = match a {
            Action::TogglePause => Control::TogglePause,
            Action::Seek(secs) => Control::Seek(secs),
            a => return self.handle(Msg::Action(a)),
        };
        if let Feed::Replay { control, .. } = self {
            // A full queue is a held key: dropping a press loses nothing that matters.
            let _ = control.try_send(asked);
        }
    }

    fn finish(self, code: i32) {
        match self {
            Feed::Live { session, .. } => session.shutdown_because(exit_reason(code)),
            Feed::Replay { task, .. } => task.abort(),
        }
    }
}

/// The one loop, live or replayed.
async fn run_loop(
    mut feed: Feed,
    mut signals: Signals,
    theme: &Theme,
    max_fps: u32,
) -> Result<i32, RunError> {
    let mut screen = Screen::enter().map_err(RunError::Terminal)?;
    let writer_ready = screen.ready();
    let mut keys_in = EventStream::new();
    let live = feed.is_live();

    // Tick on the wall clock's second boundary so the T-clock never skips a second. The
    // interval itself runs on the monotonic clock: a wall step neither bunches nor stops
    // ticks, and each tick reads both clocks so `update` can tell a step from time passing.
    let mut clock = tokio::time::interval_at(next_wall_second(Utc::now()), Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let min_frame = Duration::from_millis(1_000 / u64::from(max_fps.clamp(1, 60)));
    let mut last_draw = Instant::now() - min_frame;

    // A key or paste is drawn at once: the frame cap paces only what polls and the clock
    // redraw, so a key never waits out the rest of a poll's frame (up to 1/max_fps).
    let mut input = false;
    // A frame is due but the terminal has not taken the last one yet (a stalled link).
    let mut held = false;
    let code = loop {
        let state = feed.state();
        if state.dirty && !held && (input || last_draw.elapsed() >= min_frame) {
            match screen.draw(|f| crate::ui::render(f, state, theme)) {
                Ok(Drawn::Sent) => {
                    state.dirty = false;
                    last_draw = Instant::now();
                }
                // Nothing visible changed: nothing went out, so nothing paces the next.
                Ok(Drawn::Unchanged) => state.dirty = false,
                Ok(Drawn::Held) => held = true,
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
                    feed.handle(Msg::Resize);
                }
            },
            _ = writer_ready.notified(), if held => held = false,
            ev = keys_in.next() => match ev {
                Some(Ok(CEvent::Key(k))) => match feed.state().keys.action_for(k, text_entry) {
                    Some(Action::Suspend) => {
                        if let Err(e) = screen.suspend() {
                            // Resumed without a terminal: it went away while we were
                            // stopped (SSH drop; the kernel sent SIGHUP and SIGCONT).
                            tracing::warn!("cannot resume the terminal, exiting: {e}");
                            break 129;
                        }
                        feed.handle(Msg::Resize);
                    }
                    Some(a) => {
                        feed.act(a);
                        input = true;
                    }
                    None => {}
                },
                Some(Ok(CEvent::Paste(text))) => {
                    feed.handle(Msg::Paste(text));
                    input = true;
                }
                Some(Ok(CEvent::Resize(..))) => feed.handle(Msg::Resize),
                Some(Ok(_)) => {}
                // The input side closed or failed: the terminal is gone.
                Some(Err(_)) | None => break 129,
            },
            Some(m) = feed.recv() => feed.receive(m),
            _ = clock.tick(), if live => {
                let now = Stamp::now();
                // A step by a fraction of a second (or NTP's slewing, over hours) leaves the
                // ticks off the wall's second boundary: realign so the T-clock never skips.
                if !(0..100).contains(&now.at.timestamp_subsec_millis()) {
                    clock.reset_at(next_wall_second(now.at));
                }
                feed.handle(Msg::Tick(now));
            }
            _ = sleep_until_opt(frame_due) => {}
        }
    };
    drop(screen);
    feed.finish(code);
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
