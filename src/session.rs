//! One dashboard session without the terminal: the state, the pollers, the audit log
//! (written and followed), and the effects `update` asks for. The runtime adds the
//! terminal; tests drive a `Session` directly and render its state on a TestBackend.

use crate::action::{self, ActionResult, Attempt};
use crate::app::{update, Effect, Msg, Remote, Report, State};
use crate::audit::{
    spawn_tail_from, AuditContext, AuditEvent, AuditRecord, AuditTail, AuditWriter, ClaimRule,
    Claimed, TailFrom, TailItem,
};
use crate::config::Config;
use crate::poll::{spawn_pollers, Clients, PollSetupError, Pollers};
use crate::record::{Line, Recorder};
use crate::sample::{PollResult, Stamp, Ts};
use crate::secrets::Redact;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long shutdown waits for the audit writer to finish what is queued.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// How often other instances' audit records are read: well within the 2 s promise.
const TAIL_EVERY: Duration = Duration::from_millis(500);

pub struct SessionOptions {
    pub cfg: Arc<Config>,
    pub t0: Option<Ts>,
    pub read_only: bool,
    pub user: String,
    /// None: the default under the XDG state directory for this cutover and environment.
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
    audit_tx: Option<std::sync::mpsc::Sender<Job>>,
    audit_thread: Option<std::thread::JoinHandle<()>>,
    /// Set at shutdown: the writer still writes what is queued but answers no more (nobody
    /// reads the answers, and a full channel must not hold it).
    closing: Arc<AtomicBool>,
    /// Own records on their way to disk: written to the recording once they are on disk.
    unwritten: HashMap<u64, AuditRecord>,
    tasks: Vec<JoinHandle<()>>,
    pub audit_path: PathBuf,
    recorder: Option<Recorder>,
    /// `state.event_seq` already recorded.
    recorded_events: u64,
    /// The recorder's first write failure has been told to the screen.
    record_failure_told: bool,
    /// The `[[notify]]` sender: None on a read-only screen or without targets.
    notifier: Option<crate::notify::Notifier>,
}

impl Session {
    /// Start polling and auditing. Everything for `receive` arrives in the inbox.
    pub async fn start(opts: SessionOptions) -> Result<(Session, Inbox), SessionError> {
        let clients = Clients::for_config(&opts.cfg)?;
        let fingerprint = crate::audit::fingerprint(&opts.cfg, &*opts.redact);
        let ctx = AuditContext::current().for_config(&opts.cfg, fingerprint.clone());
        let (tx, rx) = mpsc::channel::<Msg>(1024);
        let mut tasks = Vec::new();

        // Polls arrive on their own channel: they are read (into each row's reading) here,
        // against the rows the engine has, before `update` sees them.
        let (ptx, prx) = mpsc::channel(256);
        let pollers = spawn_pollers(&opts.cfg, &clients, ptx);

        let audit_path = opts.audit_log.clone().unwrap_or_else(|| {
            crate::audit::default_path(&opts.cfg.cutover.name, opts.cfg.cutover.environment_name())
        });
        // The wall screen only reads; an operator console must be able to write, or it
        // refuses to start rather than act without a record.
        let closing = Arc::new(AtomicBool::new(false));
        let (audit_tx, audit_thread) = if opts.read_only {
            (None, None)
        } else {
            let writer = AuditWriter::open(&audit_path)?.with_redaction(Arc::clone(&opts.redact));
            let (atx, thread) = spawn_writer(writer, tx.clone(), Arc::clone(&closing));
            (Some(atx), Some(thread))
        };
        // Notifications claim and record through a writer of their own on the same log: a
        // slow target or a claim never queues behind (or ahead of) the screen's records.
        let notifier = if opts.read_only || opts.cfg.notify.is_empty() {
            None
        } else {
            let writer = AuditWriter::open(&audit_path)?.with_redaction(Arc::clone(&opts.redact));
            let back = tx.clone();
            Some(crate::notify::Notifier::start(
                crate::notify::NotifierOptions {
                    cfg: Arc::clone(&opts.cfg),
                    host: ctx.host.clone(),
                    audit: Some((writer, ctx.clone())),
                    redact: Arc::clone(&opts.redact),
                    // A failure is the room's to know; a delivery only the log's (one line per
                    // target and row would bury the events panel in a breach). Never waits
                    // on the screen: a full inbox drops the line, not the loop.
                    tell: Arc::new(move |t: crate::notify::Told| {
                        if t.ok {
                            tracing::info!("{}", t.text);
                        } else {
                            let _ = back.try_send(Msg::Notified {
                                ok: false,
                                text: t.text,
                            });
                        }
                    }),
                },
            ))
        };
        // Replay what was recorded before (ticks, T0, sign-offs survive a restart) and follow.
        let (rtx, mut rrx) = mpsc::channel::<TailItem>(256);
        tasks.push(spawn_tail_from(
            AuditTail::new(&audit_path, &ctx.session, TailFrom::Start),
            rtx,
            TAIL_EVERY,
        ));
        let fwd = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(item) = rrx.recv().await {
                let msg = match item {
                    TailItem::Record(r) => Msg::Remote(Remote::from(r)),
                    TailItem::Bad { line, why } => Msg::Warning(format!(
                        "audit log line {line} skipped: {why} — the lines after it are read"
                    )),
                    TailItem::Rotated(text) => Msg::Warning(text),
                };
                if fwd.send(msg).await.is_err() {
                    return;
                }
            }
        }));

        let recorder = match &opts.record {
            Some(path) => {
                let r = Recorder::append(path, Arc::clone(&opts.redact))?;
                r.write(crate::record::header_line(
                    &opts.cfg, opts.t0, &ctx, opts.now,
                ));
                Some(r)
            }
            None => None,
        };
        let mut state = State::new(Arc::clone(&opts.cfg), opts.now, opts.t0, opts.user)
            .in_session(ctx.session.clone(), fingerprint);
        state.read_only |= opts.read_only;
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
        // Holds are judged over every recording of this cutover: read once, off the loop,
        // while this session's own samples wait to be folded after them.
        if !state.holds.is_empty() {
            state.holds.await_past();
            let (cfg, own, also, back) = (
                Arc::clone(&opts.cfg),
                ctx.session.clone(),
                opts.record.clone(),
                tx.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let read = tokio::task::spawn_blocking(move || {
                    let files = crate::holds::files(&cfg, also.as_deref());
                    crate::holds::read_past(&cfg, &files, Some(&own))
                })
                .await;
                let msg = match read {
                    Ok(p) => Msg::PastHolds {
                        what: p.summary(),
                        problems: p.problems,
                        runs: p.runs,
                    },
                    Err(e) => Msg::PastHolds {
                        runs: Vec::new(),
                        what: "no recording: reading them failed".into(),
                        problems: vec![e.to_string()],
                    },
                };
                let _ = back.send(msg).await;
            }));
        }
        // A device or a pipe keeps no record: say so before anyone tries to act.
        let not_a_log =
            !opts.read_only && std::fs::metadata(&audit_path).is_ok_and(|m| !m.is_file());
        let mut session = Session {
            state,
            ctx,
            redact: opts.redact,
            tx,
            pollers,
            audit_tx,
            audit_thread,
            closing,
            unwritten: HashMap::new(),
            tasks,
            audit_path,
            recorder,
            recorded_events: 0,
            record_failure_told: false,
            notifier,
        };
        if opts.read_only && !session.state.cfg.notify.is_empty() {
            session.handle(Msg::Notified {
                ok: true,
                text: "read-only: this screen sends no notifications (a screen that can write to the audit log does)".into(),
            });
        }
        if not_a_log {
            session.handle(Msg::AuditFailed {
                id: None,
                reason: format!(
                    "audit log {}: not a regular file: records written there are not kept",
                    session.audit_path.display()
                ),
            });
        }
        Ok((
            session,
            Inbox {
                msgs: rx,
                polls: prx,
            },
        ))
    }

    /// Take one input from the inbox.
    pub fn receive(&mut self, input: Input) {
        match input {
            Input::Msg(m) => self.handle(m),
            Input::Poll(p) => self.poll(p),
        }
    }

    /// A poll becomes readings once, here: redacted whole (before any reading clips a
    /// secret out of recognition), read against the engine's rows, then applied — and
    /// recorded — as exactly those readings.
    pub fn poll(&mut self, p: PollResult) {
        let p = redact_poll(p, &*self.redact);
        let msg = Msg::readings(&self.state.engine, &p);
        self.apply(msg);
    }

    /// Apply one message and carry out what it asks for.
    pub fn handle(&mut self, msg: Msg) {
        let msg = redact_msg(msg, &*self.redact);
        self.apply(msg);
    }

    /// `handle` for a message already redacted.
    fn apply(&mut self, msg: Msg) {
        if let Some(r) = &self.recorder {
            record_input(r, &self.state, &msg);
        }
        match &msg {
            // Own acts go into the recording once they are on disk, as they happened.
            Msg::AuditWritten { id } => {
                if let (Some(rec), Some(r)) = (self.unwritten.remove(id), &self.recorder) {
                    r.write(Line::Audit {
                        at: self.state.now,
                        mono: Some(self.state.mono),
                        user: rec.user,
                        host: rec.host,
                        kind: rec.event.kind().to_string(),
                        details: rec.event.details(),
                    });
                }
            }
            Msg::AuditFailed { id: Some(id), .. } | Msg::ClaimLost { id, .. } => {
                self.unwritten.remove(id);
            }
            _ => {}
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
            Effect::Notify(n) => {
                let refused = match &self.notifier {
                    Some(t) => t.offer(n).err(),
                    None => None,
                };
                if let Some(why) = refused {
                    self.handle(Msg::Notified {
                        ok: false,
                        text: format!("NOTIFICATION DROPPED: {why}"),
                    });
                }
            }
            Effect::Audit { id, event, claim } => self.audit(id, event, claim),
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
                    cooldown: None,
                    requires: None,
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

    /// Hand a record to the writer thread; its answer comes back as a message. Nothing
    /// waits here: the keyboard never waits on the disk.
    fn audit(&mut self, id: u64, event: AuditEvent, claim: Option<ClaimRule>) {
        let rec = self.ctx.record(event);
        if self.recorder.is_some() {
            self.unwritten.insert(id, rec.clone());
        }
        let job = match claim {
            Some(rule) => Job::Claim { id, rec, rule },
            None => Job::Append { id, rec },
        };
        let sent = self.audit_tx.as_ref().is_some_and(|t| t.send(job).is_ok());
        if !sent {
            self.handle(Msg::AuditFailed {
                id: Some(id),
                reason: "the audit writer has stopped".into(),
            });
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
        if let Some(mut n) = self.notifier.take() {
            n.abort();
        }
        for t in &self.tasks {
            t.abort();
        }
        self.closing.store(true, Ordering::SeqCst);
        drop(self.audit_tx.take());
        if let Some(t) = self.audit_thread.take() {
            // The queue is written out; a disk that hangs (a dead NFS mount) must not keep
            // the terminal from being given back for ever.
            let deadline = std::time::Instant::now() + SHUTDOWN_WAIT;
            while !t.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                tracing::warn!("the audit writer did not finish within {SHUTDOWN_WAIT:?}");
            }
        }
    }
}

/// Everything that enters the state from outside — a server's body or error, another
/// process's audit record, an action's result and output, a warning — passes the redactor
/// here, whole, before anything clips it: no row, reason, banner, event or modal can show
/// a secret, and neither can the recording or the audit lines made from them.
fn redact_msg(msg: Msg, redact: &dyn Fn(&str) -> String) -> Msg {
    use crate::sample::{Reading, Value};
    let report = |mut r: Report| {
        r.summary = redact(&r.summary);
        r.excerpt = redact(&r.excerpt);
        r.output = redact(&r.output);
        r
    };
    match msg {
        Msg::Readings(mut summary, mut readings) => {
            let opt = |s: &mut Option<String>| {
                if let Some(s) = s {
                    *s = redact(s);
                }
            };
            opt(&mut summary.error);
            opt(&mut summary.warning);
            for r in &mut readings {
                r.key = redact(&r.key);
                opt(&mut r.name);
                match &mut r.reading {
                    Reading::NoData { reason, .. } => *reason = redact(reason),
                    Reading::Value(Value::Str(s)) => *s = redact(s),
                    Reading::Value(_) => {}
                }
            }
            Msg::Readings(summary, readings)
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
            // Redaction only rewrites strings, so the event always reads back as itself.
            let mut details = r.event.details();
            crate::secrets::redact_json_with(&mut details, redact);
            if let Ok(event) = crate::audit::AuditEvent::from_parts(r.event.kind(), details) {
                r.event = event;
            }
            Msg::Remote(r)
        }
        Msg::AuditFailed { id, reason } => Msg::AuditFailed {
            id,
            reason: redact(&reason),
        },
        Msg::Warning(t) => Msg::Warning(redact(&t)),
        Msg::PastHolds {
            runs,
            what,
            problems,
        } => Msg::PastHolds {
            runs,
            what: redact(&what),
            problems: problems.iter().map(|p| redact(p)).collect(),
        },
        Msg::Notified { ok, text } => Msg::Notified {
            ok,
            text: redact(&text),
        },
        other => other,
    }
}

/// A poll's failure reason and its whole body, redacted.
fn redact_poll(mut p: PollResult, redact: &dyn Fn(&str) -> String) -> PollResult {
    use crate::sample::PollOutcome;
    match &mut p.outcome {
        PollOutcome::Failed { reason, .. } => *reason = redact(reason),
        PollOutcome::Json { body, .. } => crate::secrets::redact_json_with(body, redact),
    }
    p
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
        http_status: match out.result {
            ActionResult::Http { status }
            | ActionResult::HttpError { status }
            | ActionResult::Redirect { status, .. } => Some(status),
            _ => None,
        },
        exit_code: match out.result {
            ActionResult::Exited { code } => Some(code),
            _ => None,
        },
        output: out.output.clone(),
        captures: Vec::new(),
    }
}

/// Inputs are recorded before they are applied, so a replay feeds the same sequence.
fn record_input(r: &Recorder, state: &State, msg: &Msg) {
    match msg {
        Msg::Readings(summary, readings) => {
            r.write(Line::poll(readings, summary.clone(), &state.cfg))
        }
        Msg::Tick(now) => r.write(Line::Clock {
            at: now.at,
            mono: Some(now.mono),
        }),
        // Another screen's act, at its wall time; measured from when this one read it. A
        // record of another cutover or environment is not applied: not evidence either.
        Msg::Remote(rm)
            if crate::audit::foreign(
                rm.cutover.as_deref(),
                rm.environment.as_deref(),
                &state.cfg.cutover.name,
                state.environment(),
            )
            .is_none() =>
        {
            r.write(Line::Audit {
                at: rm.at,
                mono: Some(state.mono),
                user: rm.user.clone(),
                host: rm.host.clone(),
                kind: rm.event.kind().to_string(),
                details: rm.event.details(),
            })
        }
        _ => {}
    }
}

/// What reaches a session from outside.
// One per message, consumed at once: boxing the message is not worth it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Input {
    Msg(Msg),
    /// A poll, still to be read into readings (`Session::poll`).
    Poll(PollResult),
}

/// A session's inbox: its messages, and its pollers' results.
pub struct Inbox {
    msgs: mpsc::Receiver<Msg>,
    polls: mpsc::Receiver<PollResult>,
}

impl Inbox {
    /// The next input; None once nothing can arrive any more.
    pub async fn recv(&mut self) -> Option<Input> {
        tokio::select! {
            Some(m) = self.msgs.recv() => Some(Input::Msg(m)),
            Some(p) = self.polls.recv() => Some(Input::Poll(p)),
            else => None,
        }
    }
}

/// What the writer thread is asked to do.
pub enum Job {
    Append {
        id: u64,
        rec: AuditRecord,
    },
    /// Claim the action's flight, then append `rec` (its confirmation) if no other attempt
    /// holds it.
    Claim {
        id: u64,
        rec: AuditRecord,
        rule: ClaimRule,
    },
}

/// Audit records are written (and fsynced) on a thread of their own so the keyboard
/// never waits on the disk. Every record is answered: written, failed, or (for a claim)
/// lost to another attempt; a rotated log is announced.
fn spawn_writer(
    mut writer: AuditWriter,
    back: mpsc::Sender<Msg>,
    closing: Arc<AtomicBool>,
) -> (std::sync::mpsc::Sender<Job>, std::thread::JoinHandle<()>) {
    let (atx, arx) = std::sync::mpsc::channel::<Job>();
    let thread = std::thread::spawn(move || {
        // Every queued record is written, even once nobody listens for the answers.
        while let Ok(job) = arx.recv() {
            let answer = run_job(&mut writer, job);
            let notice = writer.take_notice();
            if closing.load(Ordering::SeqCst) {
                continue;
            }
            if let Some(n) = notice {
                let _ = back.blocking_send(Msg::Warning(n));
            }
            let _ = back.blocking_send(answer);
        }
    });
    (atx, thread)
}

/// Carry out one job; the answer for the loop.
pub fn run_job(writer: &mut AuditWriter, job: Job) -> Msg {
    let (id, result) = match job {
        Job::Append { id, rec } => (id, writer.append(&rec).map(|()| Claimed::Won)),
        Job::Claim { id, rec, rule } => (id, writer.claim(&rec, &rule, chrono::Utc::now())),
    };
    match result {
        Ok(Claimed::Won) => Msg::AuditWritten { id },
        Ok(Claimed::Lost(competitor)) => Msg::ClaimLost { id, competitor },
        Err(e) => Msg::AuditFailed {
            id: Some(id),
            reason: e.to_string(),
        },
    }
}
