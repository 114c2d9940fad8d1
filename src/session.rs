//! One dashboard session without the terminal: the state, the pollers, the audit log
//! (written and followed), and the effects `update` asks for. The runtime adds the
//! terminal; tests drive a `Session` directly and render its state on a TestBackend.

use crate::action::{self, Attempt};
use crate::app::{update, Effect, Msg, Remote, Report, State};
use crate::audit::{spawn_tail_from, AuditContext, AuditRecord, AuditTail, AuditWriter, TailFrom};
use crate::config::Config;
use crate::poll::{spawn_pollers, Clients, PollSetupError, Pollers};
use crate::sample::Ts;
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
    pub now: Ts,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Poll(#[from] PollSetupError),
    #[error("{0} — choose another file with --audit-log, or use --read-only")]
    Audit(#[from] crate::audit::AuditError),
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
            let writer = AuditWriter::open(&audit_path)?;
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
            },
            rx,
        ))
    }

    /// Apply one message and carry out what it asks for.
    pub fn handle(&mut self, msg: Msg) {
        for fx in update(&mut self.state, msg) {
            self.run(fx);
        }
    }

    fn run(&mut self, fx: Effect) {
        match fx {
            Effect::Audit { kind, details } => {
                let rec = self.ctx.record(kind, details);
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
    pub fn shutdown(mut self) {
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
