//! One dashboard session without the terminal: the state, the pollers, the audit log
//! (written and followed), and the effects `update` asks for. The runtime adds the
//! terminal; tests drive a `Session` directly and render its state on a TestBackend.

use crate::action::{self, Attempt};
use crate::app::{update, Effect, Msg, Remote, Report, State};
use crate::audit::{spawn_tail_from, AuditContext, AuditRecord, AuditTail, AuditWriter, TailFrom};
use crate::config::Config;
use crate::poll::{spawn_pollers, Clients, PollSetupError, Pollers};
use crate::record::{Line, Recorder};
use crate::sample::{Stamp, Ts};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How often other instances' audit records are read: well within the 2 s promise.
const TAIL_EVERY: Duration = Duration::from_millis(500);

pub type Redact = Arc<dyn Fn(&str) -> String + Send + Sync>;

pub struct SessionOptions {
    pub cfg: Arc<Config>,
    pub t0: Option<Ts>,
    pub read_only: bool,
    pub user: String,
    /// None: the default under the XDG state directory for this cutover.
    pub audit_log: Option<PathBuf>,
    pub redact: Redact,
    pub now: Stamp,
    /// `--record FILE`: every sample, event and act as JSON lines.
    pub record: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Poll(#[from] PollSetupError),
    #[error("{0} — choose another file with --audit-log, or use --read-only")]
    Audit(#[from] crate::audit::AuditError),
    #[error(transparent)]
    Record(#[from] crate::record::RecordError),
}

pub struct Session {
    pub state: State,
    ctx: AuditContext,
    redact: Redact,
    tx: mpsc::Sender<Msg>,
    pollers: Pollers,
    audit_tx: Option<std::sync::mpsc::Sender<AuditRecord>>,
    audit_thread: Option<std::thread::JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
    pub audit_path: PathBuf,
    recorder: Option<Recorder>,
    /// `state.event_seq` already recorded.
    recorded_events: u64,
    /// The recorder's first write failure has been told to the screen.
    record_failure_told: bool,
}

impl Session {
    /// Start polling and auditing. Every message for `handle` arrives on the receiver.
    pub async fn start(
        opts: SessionOptions,
    ) -> Result<(Session, mpsc::Receiver<Msg>), SessionError> {
        let clients = Clients::for_config(&opts.cfg)?;
        let ctx = AuditContext::current();
        let (tx, rx) = mpsc::channel::<Msg>(1024);
        let mut tasks = Vec::new();

        // Polls arrive on their own channel and are forwarded, so pollers know nothing of the app.
        let (ptx, mut prx) = mpsc::channel(256);
        let pollers = spawn_pollers(&opts.cfg, &clients, ptx);
        let fwd = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(p) = prx.recv().await {
                if fwd.send(Msg::Poll(p)).await.is_err() {
                    return;
                }
            }
        }));

        let audit_path = opts
            .audit_log
            .clone()
            .unwrap_or_else(|| crate::audit::default_path(&opts.cfg.cutover.name));
        // The wall screen only reads; an operator console must be able to write, or it
        // refuses to start rather than act without a record.
        let (audit_tx, audit_thread) = if opts.read_only {
            (None, None)
        } else {
            let writer = AuditWriter::open(&audit_path)?.with_redaction(Arc::clone(&opts.redact));
            let (atx, thread) = spawn_writer(writer, tx.clone());
            (Some(atx), Some(thread))
        };
        // Replay what was recorded before (ticks, T0, sign-offs survive a restart) and follow.
        let (rtx, mut rrx) = mpsc::channel::<AuditRecord>(256);
        tasks.push(spawn_tail_from(
            AuditTail::new(&audit_path, &ctx.session, TailFrom::Start),
            rtx,
            TAIL_EVERY,
        ));
        let fwd = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(r) = rrx.recv().await {
                let remote = Remote {
                    at: r.at,
                    user: r.user,
                    host: r.host,
                    kind: r.kind,
                    details: r.details,
                };
                if fwd.send(Msg::Remote(remote)).await.is_err() {
                    return;
                }
            }
        }));

        let recorder = match &opts.record {
            Some(path) => {
                let r = Recorder::append(path, Arc::clone(&opts.redact))?;
                r.write(header_line(&opts.cfg, opts.t0, &ctx, opts.now));
                Some(r)
            }
            None => None,
        };
        let mut state = State::new(Arc::clone(&opts.cfg), opts.now, opts.t0, opts.user);
        state.read_only |= opts.read_only;
        state.session = ctx.session.clone();
        let redact = Arc::clone(&opts.redact);
        state.action_plans = opts
            .cfg
            .actions
            .iter()
            .map(|a| action::describe(a, &|s| redact(s)))
            .collect();
        state.step_plans = opts
            .cfg
            .steps
            .iter()
            .map(|s| {
                s.run
                    .as_ref()
                    .map(crate::app::step_plan)
                    .unwrap_or_default()
                    .iter()
                    .map(|l| redact(l))
                    .collect()
            })
            .collect();
        Ok((
            Session {
                state,
                ctx,
                redact: opts.redact,
                tx,
                pollers,
                audit_tx,
                audit_thread,
                tasks,
                audit_path,
                recorder,
                recorded_events: 0,
                record_failure_told: false,
            },
            rx,
        ))
    }

    /// Apply one message and carry out what it asks for.
    pub fn handle(&mut self, msg: Msg) {
        let msg = redact_msg(msg, &*self.redact);
        if let Some(r) = &self.recorder {
            record_input(r, &self.state, &msg);
        }
        for fx in update(&mut self.state, msg) {
            self.run(fx);
        }
        self.record_events();
        self.check_recorder();
    }

    /// A recording that lost lines is incomplete for good: the screen must say so at once
    /// (a lasting header badge and an event), not leave the room trusting the evidence.
    fn check_recorder(&mut self) {
        if self.record_failure_told {
            return;
        }
        let Some(r) = self.recorder.as_ref().filter(|r| r.failed()) else {
            return;
        };
        let Some(why) = r.health().failure_text() else {
            return;
        };
        self.record_failure_told = true;
        let text = format!("{}: {why}", r.path.display());
        self.handle(Msg::RecordFailed(text));
    }

    fn record_events(&mut self) {
        let Some(r) = &self.recorder else { return };
        let new = self.state.event_seq - self.recorded_events;
        let n = self.state.events.len();
        for e in self
            .state
            .events
            .iter()
            .skip(n.saturating_sub(new as usize))
        {
            r.write(Line::event(e));
        }
        self.recorded_events = self.state.event_seq;
    }

    fn run(&mut self, fx: Effect) {
        match fx {
            Effect::Audit { kind, details } => {
                let rec = self.ctx.record(kind, details);
                if let Some(r) = &self.recorder {
                    r.write(Line::Audit {
                        at: self.state.now,
                        mono: Some(self.state.mono),
                        user: rec.user.clone(),
                        host: rec.host.clone(),
                        kind: rec.kind.clone(),
                        details: rec.details.clone(),
                    });
                }
                let sent = self.audit_tx.as_ref().is_some_and(|t| t.send(rec).is_ok());
                if !sent && !self.state.read_only {
                    self.handle(Msg::AuditFailed("the audit writer has stopped".into()));
                }
            }
            Effect::PollNow { sources } => {
                for s in sources {
                    self.pollers.poll_now(&s);
                }
            }
            Effect::RunStep { step } => {
                let Some(run) = self.state.cfg.steps.get(step).and_then(|s| s.run.clone()) else {
                    return;
                };
                // A step's script runs through the same executor as a command action.
                let cfg = crate::config::ActionCfg {
                    id: format!("step-{step}"),
                    key: String::new(),
                    label: self.state.cfg.steps[step].title.clone(),
                    danger: false,
                    request: None,
                    command: Some(run),
                    confirm: None,
                    verify: None,
                };
                let redact = Arc::clone(&self.redact);
                let tx = self.tx.clone();
                let by = self.ctx.user.clone();
                let att = Attempt {
                    action_id: cfg.id.clone(),
                    idempotency_key: String::new(),
                    attempt: self.state.step_runs[step].runs,
                };
                tokio::spawn(async move {
                    let out = action::execute(&cfg, &[], &att, &*redact).await;
                    let report = report_of(&out, by);
                    let _ = tx.send(Msg::StepDone { step, report }).await;
                });
            }
            Effect::Run {
                action,
                idempotency_key,
                attempt,
            } => {
                let Some(cfg) = self.state.cfg.actions.get(action).cloned() else {
                    return;
                };
                let sources = self.state.cfg.sources.clone();
                let redact = Arc::clone(&self.redact);
                let tx = self.tx.clone();
                let by = self.ctx.user.clone();
                let att = Attempt {
                    action_id: cfg.id.clone(),
                    idempotency_key,
                    attempt,
                };
                tokio::spawn(async move {
                    let out = action::execute(&cfg, &sources, &att, &*redact).await;
                    let report = report_of(&out, by);
                    let _ = tx.send(Msg::ActionDone { action, report }).await;
                });
            }
        }
    }

    /// Stop the tasks and let the audit writer finish what is queued.
    pub fn shutdown(self) {
        self.shutdown_because("quit");
    }

    /// As `shutdown`, saying why in the recording's end line.
    pub fn shutdown_because(mut self, reason: &str) {
        if let Some(r) = self.recorder.take() {
            r.finish(self.state.stamp(), reason);
        }
        self.pollers.abort();
        for t in &self.tasks {
            t.abort();
        }
        drop(self.audit_tx.take());
        if let Some(t) = self.audit_thread.take() {
            let _ = t.join();
        }
    }
}

/// Everything that enters the state from outside — a server's body or error, another
/// process's audit record, an action's result and output, a warning — passes the redactor
/// here, whole, before anything clips it: no row, reason, banner, event or modal can show
/// a secret, and neither can the recording or the audit lines made from them.
fn redact_msg(msg: Msg, redact: &dyn Fn(&str) -> String) -> Msg {
    use crate::sample::PollOutcome;
    let report = |mut r: Report| {
        r.summary = redact(&r.summary);
        r.excerpt = redact(&r.excerpt);
        r
    };
    match msg {
        Msg::Poll(mut p) => {
            match &mut p.outcome {
                PollOutcome::Failed { reason, .. } => *reason = redact(reason),
                PollOutcome::Json { body, .. } => crate::secrets::redact_json_with(body, redact),
            }
            Msg::Poll(p)
        }
        Msg::ActionDone { action, report: r } => Msg::ActionDone {
            action,
            report: report(r),
        },
        Msg::StepDone { step, report: r } => Msg::StepDone {
            step,
            report: report(r),
        },
        Msg::Remote(mut r) => {
            r.user = redact(&r.user);
            r.host = redact(&r.host);
            crate::secrets::redact_json_with(&mut r.details, redact);
            Msg::Remote(r)
        }
        Msg::AuditFailed(t) => Msg::AuditFailed(redact(&t)),
        Msg::Warning(t) => Msg::Warning(redact(&t)),
        other => other,
    }
}

fn report_of(out: &action::ActionOutcome, by: String) -> Report {
    Report {
        ok: out.is_success(),
        unknown: out.outcome_unknown(),
        summary: out.summary(),
        excerpt: out.excerpt.clone(),
        at: out.started_at,
        duration_ms: out.duration_ms,
        by,
    }
}

/// A session's first line in the recording: who, where, which session, and the config as
/// it ran (redacted on write).
pub fn header_line(cfg: &Config, t0: Option<Ts>, ctx: &AuditContext, now: Stamp) -> Line {
    Line::Header {
        at: now.at,
        mono: Some(now.mono),
        warroom: env!("CARGO_PKG_VERSION").into(),
        host: ctx.host.clone(),
        user: ctx.user.clone(),
        cutover: cfg.cutover.name.clone(),
        environment: cfg.cutover.environment.clone(),
        t0,
        session: Some(ctx.session.clone()),
        rev: crate::record::FORMAT_REVISION,
        config: serde_json::to_value(cfg).unwrap_or_default(),
    }
}

/// Inputs are recorded before they are applied, so a replay feeds the same sequence.
fn record_input(r: &Recorder, state: &State, msg: &Msg) {
    match msg {
        Msg::Poll(p) => {
            let readings = state.engine.readings(p);
            r.write(Line::poll(&readings, state.engine.summary(p), &state.cfg));
        }
        Msg::Tick(now) => r.write(Line::Clock {
            at: now.at,
            mono: Some(now.mono),
        }),
        // Another screen's act, at its wall time; measured from when this one read it.
        Msg::Remote(rm) => r.write(Line::Audit {
            at: rm.at,
            mono: Some(state.mono),
            user: rm.user.clone(),
            host: rm.host.clone(),
            kind: rm.kind.clone(),
            details: rm.details.clone(),
        }),
        _ => {}
    }
}

/// Audit records are written (and fsynced) on a thread of their own so the keyboard
/// never waits on the disk. A failed write comes back as a message for the screen.
fn spawn_writer(
    mut writer: AuditWriter,
    back: mpsc::Sender<Msg>,
) -> (
    std::sync::mpsc::Sender<AuditRecord>,
    std::thread::JoinHandle<()>,
) {
    let (atx, arx) = std::sync::mpsc::channel::<AuditRecord>();
    let thread = std::thread::spawn(move || {
        while let Ok(rec) = arx.recv() {
            if let Err(e) = writer.append(&rec) {
                let _ = back.blocking_send(Msg::AuditFailed(e.to_string()));
            }
        }
    });
    (atx, thread)
}
