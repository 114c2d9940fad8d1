//! Sending: a bounded queue the screen hands notices to without ever waiting, a claim in
//! the shared audit log so that one screen sends each episode's opening and resolve, one
//! queue and task per target (a dead receiver holds only its own), retries with back-off,
//! a give-up after `max_attempts` that the screen is told of, and a `notify_sent` or
//! `notify_failed` record for every notice — naming the target, never its URL or key.

use super::{alertmanager, pagerduty, slack, wants, webhook, Notice, NotifyPhase, Origin};
use crate::audit::{
    AuditContext, AuditEvent, AuditRecord, AuditWriter, NotifyClaimed, NotifyFailed, NotifySent,
};
use crate::config::{Config, NotifyCfg, NotifyKind};
use crate::engine::Severity;
use crate::sample::Ts;
use crate::secrets::Redact;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Notices waiting to be claimed and handed to the targets.
pub const QUEUE: usize = 256;
/// Notices waiting for one target (while it retries, the others go on).
pub const TARGET_QUEUE: usize = 64;
/// How long an opening claimed by a screen keeps others from announcing the same episode
/// when no resolve follows (its screen died, and nobody saw it end).
pub const CLAIM_TTL: chrono::Duration = chrono::Duration::hours(12);
/// The first retry's wait; each next one doubles, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How much of a refusal's body is kept for its error.
const ERROR_BODY: usize = 300;

/// What the screen is told: a notice reached a target, or was given up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Told {
    pub ok: bool,
    pub text: String,
}

pub type Tell = Arc<dyn Fn(Told) + Send + Sync>;

pub struct NotifierOptions {
    pub cfg: Arc<Config>,
    pub host: String,
    /// The shared audit log (claims and records) and this process as it stamps them. None:
    /// every notice is sent and nothing is recorded (no log to share).
    pub audit: Option<(AuditWriter, AuditContext)>,
    pub redact: Redact,
    pub tell: Tell,
}

/// The handle the session keeps: `offer` never waits.
pub struct Notifier {
    tx: Option<mpsc::Sender<Notice>>,
    task: Option<JoinHandle<()>>,
}

/// What the sending tasks share.
struct Shared {
    origin: Origin,
    audit: Option<Arc<Mutex<(AuditWriter, AuditContext)>>>,
    redact: Redact,
    tell: Tell,
    client: reqwest::Client,
}

/// One target, its secret resolved (`secure` read its `token_file`).
struct Target {
    cfg: NotifyCfg,
    url: String,
    routing_key: String,
}

impl Target {
    fn of(cfg: &NotifyCfg) -> Target {
        let url = match (cfg.kind, &cfg.url) {
            (_, Some(u)) => u.clone(),
            (NotifyKind::Pagerduty, None) => pagerduty::EVENTS_URL.to_string(),
            (_, None) => String::new(),
        };
        Target {
            cfg: cfg.clone(),
            url,
            routing_key: cfg.routing_key.clone().unwrap_or_default(),
        }
    }

    fn label(&self) -> String {
        format!("{} \"{}\"", self.cfg.kind.word(), self.cfg.label())
    }
}

/// The one client of the notifications: no redirects (a redirect would carry the body,
/// routing key included, wherever it points), time-outs per request.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

impl Notifier {
    /// Start the sender (in a tokio runtime). With no target it sends nothing.
    pub fn start(opts: NotifierOptions) -> Notifier {
        let (tx, rx) = mpsc::channel(QUEUE);
        let shared = Arc::new(Shared {
            origin: Origin {
                cutover: opts.cfg.cutover.name.clone(),
                environment: opts.cfg.cutover.environment_name().to_string(),
                host: opts.host,
            },
            audit: opts.audit.map(|a| Arc::new(Mutex::new(a))),
            redact: opts.redact,
            tell: opts.tell,
            client: client(),
        });
        let targets: Vec<Target> = opts.cfg.notify.iter().map(Target::of).collect();
        let task = tokio::spawn(dispatch(rx, targets, shared));
        Notifier {
            tx: Some(tx),
            task: Some(task),
        }
    }

    /// Hand a notice over without waiting. A full queue refuses it (the caller says so).
    pub fn offer(&self, n: Notice) -> Result<(), String> {
        let Some(tx) = &self.tx else {
            return Err("the notifier has stopped".into());
        };
        tx.try_send(n).map_err(|e| match e {
            mpsc::error::TrySendError::Full(n) => format!(
                "notification queue full ({QUEUE} waiting): {} {} not sent",
                n.event_word(),
                n.phase.word()
            ),
            mpsc::error::TrySendError::Closed(_) => "the notifier has stopped".into(),
        })
    }

    /// Take no more, and wait up to `within` for what is queued to be sent (or given up).
    pub async fn finish(mut self, within: Duration) {
        drop(self.tx.take());
        if let Some(t) = self.task.take() {
            let abort = t.abort_handle();
            if tokio::time::timeout(within, t).await.is_err() {
                abort.abort();
            }
        }
    }

    /// Stop at once: what is queued is dropped (the screen is going away).
    pub fn abort(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Claim each episode's notice, then hand it to every target that takes it.
async fn dispatch(mut rx: mpsc::Receiver<Notice>, targets: Vec<Target>, shared: Arc<Shared>) {
    let mut queues = Vec::new();
    let mut tasks = Vec::new();
    for t in targets {
        let (tx, trx) = mpsc::channel(TARGET_QUEUE);
        let cfg = t.cfg.clone();
        tasks.push(tokio::spawn(target_loop(t, trx, Arc::clone(&shared))));
        queues.push((cfg, tx));
    }
    while let Some(n) = rx.recv().await {
        if !queues.iter().any(|(cfg, _)| wants(cfg, &n)) {
            continue;
        }
        if n.phase != NotifyPhase::Event {
            match claim(&shared, &n).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(
                        "notification {} {} of {}: another screen sends it",
                        n.event_word(),
                        n.phase.word(),
                        n.key
                    );
                    continue;
                }
                // Better twice than never: the room is told the log could not decide.
                Err(e) => (shared.tell)(Told {
                    ok: false,
                    text: (shared.redact)(&format!(
                        "notification {} of {}: cannot claim it in the audit log ({e}); sending anyway",
                        n.phase.word(),
                        n.key
                    )),
                }),
            }
        }
        for (cfg, tx) in &queues {
            if !wants(cfg, &n) {
                continue;
            }
            if let Err(mpsc::error::TrySendError::Full(n)) = tx.try_send(n.clone()) {
                let t = Target::of(cfg);
                give_up(
                    &shared,
                    &t,
                    &n,
                    0,
                    format!("its queue is full ({TARGET_QUEUE} waiting)"),
                )
                .await;
            }
        }
    }
    drop(queues);
    for t in tasks {
        let _ = t.await;
    }
}

/// Does a record in the log already hold this announcement? An opening is held by a
/// claimed opening of the same episode with no resolve after it (younger than
/// `CLAIM_TTL`); a resolve, by a claimed resolve after the last opening.
pub fn claim_held(
    records: &[AuditRecord],
    key: &str,
    phase: NotifyPhase,
    cutover: &str,
    environment: &str,
    now: Ts,
) -> bool {
    let last = records
        .iter()
        .rev()
        .filter(|r| r.foreign_to(cutover, environment).is_none())
        .find_map(|r| match &r.event {
            AuditEvent::NotifyClaimed(c) if c.key == key => Some((c.phase, r.at)),
            _ => None,
        });
    match (phase, last) {
        (NotifyPhase::Trigger, Some((NotifyPhase::Trigger, at))) => now - at < CLAIM_TTL,
        (NotifyPhase::Resolve, Some((NotifyPhase::Resolve, _))) => true,
        _ => false,
    }
}

/// Claim `n` for this screen: true when it is ours to send. Without a log, always ours.
async fn claim(shared: &Arc<Shared>, n: &Notice) -> Result<bool, String> {
    let Some(audit) = shared.audit.clone() else {
        return Ok(true);
    };
    let (key, phase) = (n.key.clone(), n.phase);
    let run = tokio::task::spawn_blocking(move || {
        let mut guard = audit
            .lock()
            .map_err(|_| "the audit writer failed".to_string())?;
        let (writer, ctx) = &mut *guard;
        let rec = ctx.record(AuditEvent::NotifyClaimed(NotifyClaimed {
            key: key.clone(),
            phase,
        }));
        let (cutover, env) = (
            ctx.cutover.clone().unwrap_or_default(),
            ctx.environment.clone().unwrap_or_default(),
        );
        let now = rec.at;
        writer
            .claim_if_free(&rec, &|records| {
                claim_held(records, &key, phase, &cutover, &env, now)
            })
            .map_err(|e| e.to_string())
    });
    run.await.map_err(|e| e.to_string())?
}

/// Append one record; a failure is told (the send itself stands).
async fn record(shared: &Arc<Shared>, event: AuditEvent) {
    let Some(audit) = shared.audit.clone() else {
        return;
    };
    let run = tokio::task::spawn_blocking(move || {
        let mut guard = audit
            .lock()
            .map_err(|_| "the audit writer failed".to_string())?;
        let (writer, ctx) = &mut *guard;
        let rec = ctx.record(event);
        writer.append(&rec).map_err(|e| e.to_string())
    });
    let failed = match run.await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(e) => Some(e.to_string()),
    };
    if let Some(e) = failed {
        (shared.tell)(Told {
            ok: false,
            text: (shared.redact)(&format!("a notification's audit record failed: {e}")),
        });
    }
}

/// One target's queue, in order (a resolve never overtakes its opening). Alertmanager's
/// open alerts are sent again every `refresh` with a later `endsAt`.
async fn target_loop(t: Target, mut rx: mpsc::Receiver<Notice>, shared: Arc<Shared>) {
    let am = t.cfg.kind == NotifyKind::Alertmanager;
    let refresh = t.cfg.refresh.0.max(Duration::from_secs(1));
    let mut open: BTreeMap<String, Notice> = BTreeMap::new();
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + refresh, refresh);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            got = rx.recv() => {
                let Some(n) = got else { break };
                if am {
                    match n.phase {
                        NotifyPhase::Trigger => { open.insert(n.key.clone(), n.clone()); }
                        NotifyPhase::Resolve => { open.remove(&n.key); }
                        NotifyPhase::Event => {}
                    }
                }
                deliver(&t, &n, &shared).await;
            }
            _ = every.tick(), if am && !open.is_empty() => {
                let alerts: Vec<_> = open
                    .values()
                    .map(|n| alertmanager::alert(n, &shared.origin, open_until(&t)))
                    .collect();
                let url = alertmanager::alerts_url(&t.url);
                if let Err(e) = post(&shared, &url, &serde_json::Value::Array(alerts), &t).await {
                    tracing::warn!("{}: refreshing {} open alert(s) failed: {e}", t.label(), open.len());
                }
            }
        }
    }
}

/// An open alert's `endsAt`: three refreshes on, so one lost refresh does not end it.
fn open_until(t: &Target) -> Ts {
    chrono::Utc::now() + chrono::Duration::from_std(t.cfg.refresh.0 * 3).unwrap_or_default()
}

/// Send `n` to `t`, retrying with back-off; record and tell how it went.
async fn deliver(t: &Target, n: &Notice, shared: &Arc<Shared>) {
    let max = t.cfg.max_attempts.max(1);
    let mut wait = FIRST_BACKOFF;
    let mut last = String::new();
    for attempt in 1..=max {
        match send_once(t, n, shared).await {
            Ok(status) => {
                record(
                    shared,
                    AuditEvent::NotifySent(NotifySent {
                        target: t.cfg.label().to_string(),
                        target_kind: t.cfg.kind.word().into(),
                        event: n.event_word().into(),
                        phase: n.phase,
                        key: n.key.clone(),
                        attempts: attempt,
                        http_status: Some(status),
                    }),
                )
                .await;
                (shared.tell)(Told {
                    ok: true,
                    text: format!(
                        "notified {} of {} ({}){}",
                        t.label(),
                        n.event_word(),
                        n.phase.word(),
                        if attempt > 1 {
                            format!(" after {attempt} tries")
                        } else {
                            String::new()
                        }
                    ),
                });
                return;
            }
            Err(e) => {
                tracing::warn!("{} try {attempt}/{max}: {e}", t.label());
                last = e;
                if attempt < max {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
    give_up(shared, t, n, max, last).await;
}

async fn give_up(shared: &Arc<Shared>, t: &Target, n: &Notice, attempts: u32, why: String) {
    let why = (shared.redact)(&why);
    record(
        shared,
        AuditEvent::NotifyFailed(NotifyFailed {
            target: t.cfg.label().to_string(),
            target_kind: t.cfg.kind.word().into(),
            event: n.event_word().into(),
            phase: n.phase,
            key: n.key.clone(),
            attempts,
            error: why.clone(),
        }),
    )
    .await;
    (shared.tell)(Told {
        ok: false,
        // What was not told comes first: the panel cuts a long line.
        text: format!(
            "NOTIFICATION FAILED: {} {} not sent to {} after {attempts} tries: {why}",
            n.key,
            n.phase.word(),
            t.label()
        ),
    });
}

/// One try: the request `t`'s kind makes of `n`. The HTTP status on success.
async fn send_once(t: &Target, n: &Notice, shared: &Arc<Shared>) -> Result<u16, String> {
    let o = &shared.origin;
    let (url, body) = match t.cfg.kind {
        NotifyKind::Alertmanager => (
            alertmanager::alerts_url(&t.url),
            serde_json::Value::Array(vec![alertmanager::alert(n, o, open_until(t))]),
        ),
        NotifyKind::Slack => (t.url.clone(), slack::body(n, o)),
        NotifyKind::Pagerduty => (t.url.clone(), pagerduty::body(n, o, &t.routing_key)),
        NotifyKind::Webhook => (t.url.clone(), webhook::body(n, o)),
    };
    post(shared, &url, &body, t).await
}

/// POST `body` as JSON. Errors never carry the URL (it is the target's secret) and pass
/// the redactor.
async fn post(
    shared: &Arc<Shared>,
    url: &str,
    body: &serde_json::Value,
    t: &Target,
) -> Result<u16, String> {
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let sent = shared
        .client
        .post(url)
        .timeout(t.cfg.timeout.0)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(bytes)
        .send()
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => return Err((shared.redact)(&describe(&e.without_url()))),
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    let mut text = Vec::new();
    while text.len() < ERROR_BODY {
        match tokio::time::timeout(t.cfg.timeout.0, resp.chunk()).await {
            Ok(Ok(Some(c))) => text.extend_from_slice(&c),
            _ => break,
        }
    }
    text.truncate(ERROR_BODY);
    let text = String::from_utf8_lossy(&text).trim().replace('\n', " ");
    Err((shared.redact)(&format!(
        "HTTP {}{}",
        status.as_u16(),
        if text.is_empty() {
            String::new()
        } else {
            format!(": {text}")
        }
    )))
}

/// An error and its causes, in one line.
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        e.to_string()
    };
    let mut out = what;
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        src = s.source();
    }
    out
}

/// `warroom notify-test`: a test message to every target, one try each; each target's
/// result (`Ok` with what answered, or the error), in config order. PagerDuty's test
/// incident is resolved at once; Alertmanager's test alert ends after five minutes.
pub async fn notify_test(
    cfg: &Config,
    host: &str,
    redact: Redact,
) -> Vec<(String, Result<String, String>)> {
    let shared = Arc::new(Shared {
        origin: Origin {
            cutover: cfg.cutover.name.clone(),
            environment: cfg.cutover.environment_name().to_string(),
            host: host.to_string(),
        },
        audit: None,
        redact,
        tell: Arc::new(|_| {}),
        client: client(),
    });
    let now = chrono::Utc::now();
    let n = Notice {
        event: None,
        phase: NotifyPhase::Trigger,
        key: "test".into(),
        severity: Severity::Info,
        summary: format!(
            "warroom notify-test from {host}: a test message for {} ({}), nothing to do",
            shared.origin.cutover, shared.origin.environment
        ),
        subject: Some("test".into()),
        value: None,
        threshold: None,
        advice: None,
        reasons: Vec::new(),
        by: Some(crate::audit::current_user()),
        started_at: now,
        at: now,
    };
    let mut out = Vec::new();
    for c in &cfg.notify {
        let t = Target::of(c);
        let mut r = match t.cfg.kind {
            NotifyKind::Alertmanager => {
                let url = alertmanager::alerts_url(&t.url);
                let until = now + chrono::Duration::minutes(5);
                let body =
                    serde_json::Value::Array(vec![alertmanager::alert(&n, &shared.origin, until)]);
                post(&shared, &url, &body, &t).await
            }
            _ => send_once(&t, &n, &shared).await,
        }
        .map(|s| format!("HTTP {s}"));
        if t.cfg.kind == NotifyKind::Pagerduty && r.is_ok() {
            let mut end = n.clone();
            end.phase = NotifyPhase::Resolve;
            r = send_once(&t, &end, &shared)
                .await
                .map(|s| format!("HTTP {s} (and resolved)"));
        }
        out.push((t.label(), r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditRecord;

    fn rec(session: &str, at: i64, key: &str, phase: NotifyPhase) -> AuditRecord {
        AuditRecord {
            at: crate::sample::fake_clock::t(at),
            host: "h".into(),
            user: "u".into(),
            ssh_client: None,
            pid: 1,
            session: session.into(),
            cutover: Some("c".into()),
            environment: Some("production".into()),
            config: None,
            event: AuditEvent::NotifyClaimed(NotifyClaimed {
                key: key.into(),
                phase,
            }),
        }
    }

    #[test]
    fn an_episode_is_claimed_once_per_opening_and_once_per_resolve() {
        use NotifyPhase::*;
        let now = crate::sample::fake_clock::t(100);
        let held =
            |recs: &[AuditRecord], key: &str, p| claim_held(recs, key, p, "c", "production", now);
        assert!(!held(&[], "k", Trigger));
        let opened = [rec("a", 0, "k", Trigger)];
        assert!(held(&opened, "k", Trigger));
        assert!(!held(&opened, "other", Trigger));
        assert!(!held(&opened, "k", Resolve));
        let resolved = [rec("a", 0, "k", Trigger), rec("b", 50, "k", Resolve)];
        assert!(held(&resolved, "k", Resolve));
        // The next episode opens again.
        assert!(!held(&resolved, "k", Trigger));
        // Another environment's claims are not this one's.
        let mut staging = rec("a", 0, "k", Trigger);
        staging.environment = Some("staging".into());
        assert!(!held(&[staging], "k", Trigger));
        // An opening nobody resolved stops holding after the TTL.
        let later = now + CLAIM_TTL + chrono::Duration::seconds(1);
        assert!(!claim_held(&opened, "k", Trigger, "c", "production", later));
    }
}
