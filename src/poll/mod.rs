//! Polling: one task per source, each with its own interval and time-outs, sharing
//! one HTTP client. A source that hangs or dies never delays another source, the
//! clock or the keyboard: every poll is bounded by its time-out and runs in its
//! own task, and results travel over a channel.
//!
//! - time tokens (`crate::tokens`) are rendered per poll in URLs, bodies, headers, argv;
//! - `command`: `command` sources (argv or a shell-less pipeline, process groups).

pub mod command;

use crate::config::{Config, Method, Source, SourceKind};
use crate::sample::{Mono, PollOutcome, PollResult, Stamp, Ts};
use crate::tokens;
use chrono::Utc;
use futures::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum PollSetupError {
    #[error("source {source_id}: cannot read CA file {path}: {err}")]
    CaFile {
        source_id: String,
        path: String,
        err: String,
    },
    #[error("source {source_id}: cannot build the HTTP client: {err}")]
    Client { source_id: String, err: String },
}

/// TLS and connect settings that need a client of their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    ca_file: Option<String>,
    insecure: bool,
    connect_timeout: Duration,
    /// The source sends a credential (a secret header or a token file): a redirect to
    /// another host is not followed.
    credentials: bool,
}

/// A redirect a source with credentials is not followed on: to another host or port,
/// where its headers (an `X-Api-Key` that no client strips) would go with it.
#[derive(Debug)]
struct CrossHostRedirect {
    to: String,
}

impl std::fmt::Display for CrossHostRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "redirected to another host ({}); not followed, so this source's credentials stay with its own host: write the final URL in the config",
            self.to
        )
    }
}

impl std::error::Error for CrossHostRedirect {}

/// Up to 3 redirects; with credentials, only within the same host and port.
fn redirect_policy(credentials: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > 3 {
            return attempt.error("too many redirects (more than 3)");
        }
        let cross = attempt.previous().last().is_some_and(|prev| {
            let next = attempt.url();
            prev.host_str() != next.host_str()
                || prev.port_or_known_default() != next.port_or_known_default()
        });
        if credentials && cross {
            // Host and port only: the path and query may hold a token.
            let next = attempt.url();
            let to = match (next.host_str(), next.port_or_known_default()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_string(),
                _ => "an unknown host".into(),
            };
            return attempt.error(CrossHostRedirect { to });
        }
        attempt.follow()
    })
}

/// The HTTP clients, shared: one per distinct TLS/connect setting (usually one).
#[derive(Clone, Default)]
pub struct Clients {
    by_key: HashMap<ClientKey, reqwest::Client>,
}

impl Clients {
    pub fn for_config(cfg: &Config) -> Result<Self, PollSetupError> {
        let mut c = Clients::default();
        for s in cfg.sources.iter().filter(|s| s.kind != SourceKind::Command) {
            c.client_for(s)?;
        }
        Ok(c)
    }

    fn key(s: &Source) -> ClientKey {
        ClientKey {
            ca_file: s.ca_file.clone(),
            insecure: s.insecure_tls,
            connect_timeout: s.connect_timeout(),
            credentials: s.token_file.is_some()
                || s.headers
                    .keys()
                    .any(|k| crate::secrets::is_secret_header_name(k))
                || !crate::secrets::url_credentials(&s.url).is_empty(),
        }
    }

    fn client_for(&mut self, s: &Source) -> Result<reqwest::Client, PollSetupError> {
        let key = Self::key(s);
        if let Some(c) = self.by_key.get(&key) {
            return Ok(c.clone());
        }
        let mut b = reqwest::Client::builder()
            .connect_timeout(key.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(4)
            .redirect(redirect_policy(key.credentials))
            // A Referer would hand the polled URL (its query may hold a token) to the next host.
            .referer(false)
            .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")));
        b = tls_settings(b, key.ca_file.as_deref(), key.insecure).map_err(|err| {
            PollSetupError::CaFile {
                source_id: s.id.clone(),
                path: key.ca_file.clone().unwrap_or_default(),
                err,
            }
        })?;
        let client = b.build().map_err(|e| PollSetupError::Client {
            source_id: s.id.clone(),
            err: e.to_string(),
        })?;
        self.by_key.insert(key, client.clone());
        Ok(client)
    }

    pub fn get(&self, s: &Source) -> Option<&reqwest::Client> {
        self.by_key.get(&Self::key(s))
    }
}

/// Apply a source's TLS options to a client builder: an extra root CA from `ca_file`
/// and, only when written explicitly, `insecure_tls`. Shared by the pollers and the
/// actions (`request.tls_from`) so both trust exactly the same servers.
/// The error text says what is wrong with the CA file (not its contents).
pub(crate) fn tls_settings(
    mut b: reqwest::ClientBuilder,
    ca_file: Option<&str>,
    insecure: bool,
) -> Result<reqwest::ClientBuilder, String> {
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| e.to_string())?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| format!("not a PEM certificate ({e})"))?;
        b = b.add_root_certificate(cert);
    }
    if insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    Ok(b)
}

/// Poll one source once, bounded by its total time-out and body cap; time tokens are
/// rendered for the wall clock now.
pub async fn poll_once(client: &reqwest::Client, src: &Source) -> PollResult {
    poll_once_at(client, src, Utc::now()).await
}

/// [`poll_once`] with the poll's wall time given: what its time tokens are rendered from.
pub async fn poll_once_at(client: &reqwest::Client, src: &Source, now: Ts) -> PollResult {
    let started = Instant::now();
    let total = src.timeout.0;
    let outcome = match tokio::time::timeout(total, fetch(client, src, now)).await {
        Ok(o) => o,
        Err(_) => PollOutcome::Failed {
            status: None,
            reason: format!("time-out after {}", crate::timefmt::format_duration(total)),
        },
    };
    finish(src, started, outcome)
}

/// Run a `command` source once, its tokens rendered for `now` (it bounds itself: its
/// time-out kills the commands, which a dropped future would not).
pub async fn run_command_at(src: &Source, now: Ts) -> PollResult {
    let started = Instant::now();
    let outcome = command::run(src, now).await;
    finish(src, started, outcome)
}

/// One poll of any source: a command, or a request with the source's client.
pub async fn poll_source_at(client: Option<&reqwest::Client>, src: &Source, now: Ts) -> PollResult {
    match (src.kind, client) {
        (SourceKind::Command, _) => run_command_at(src, now).await,
        (_, Some(c)) => poll_once_at(c, src, now).await,
        (_, None) => finish(
            src,
            Instant::now(),
            PollOutcome::Failed {
                status: None,
                reason: "no HTTP client for this source".into(),
            },
        ),
    }
}

/// The result of a poll that started at `started`: redacted, logged, stamped.
fn finish(src: &Source, started: Instant, outcome: PollOutcome) -> PollResult {
    let outcome = match outcome {
        PollOutcome::Failed { status, reason } => PollOutcome::Failed {
            status,
            reason: redact(&reason, src),
        },
        ok => ok,
    };
    match &outcome {
        PollOutcome::Failed { reason, .. } => {
            tracing::debug!(source = %src.id, "poll failed: {reason}")
        }
        PollOutcome::Json { status, .. } => tracing::trace!(source = %src.id, status, "poll ok"),
    }
    let done = Stamp::now();
    PollResult {
        source: src.id.clone(),
        at: done.at,
        mono: done.mono,
        latency_ms: started.elapsed().as_millis() as u64,
        outcome,
    }
}

async fn fetch(client: &reqwest::Client, src: &Source, now: Ts) -> PollOutcome {
    let fail = |status: Option<u16>, reason: String| PollOutcome::Failed { status, reason };
    let prometheus = src.kind == SourceKind::Prometheus;
    let render = |t: &str| tokens::render(t, now);
    let url = match render(&src.url) {
        Ok(u) => u,
        Err(e) => return fail(None, e.to_string()),
    };
    let req = match (&src.kind, &src.query) {
        (SourceKind::Http, _) => match src.method {
            Method::Get => client.get(&url),
            Method::Post => client.post(&url),
            Method::Put => client.put(&url),
        },
        (SourceKind::Prometheus, Some(q)) => match crate::prom::query_url(&url, q) {
            Ok(u) => client.get(u),
            Err(e) => return fail(None, format!("url {e}")),
        },
        (SourceKind::Prometheus, None) => return fail(None, "no `query` to send".into()),
        (SourceKind::Command, _) => return fail(None, "a command source is not fetched".into()),
    };
    let mut req = req.header("Accept", "application/json");
    for (k, v) in &src.headers {
        match render(v) {
            Ok(v) => req = req.header(k, v),
            Err(e) => return fail(None, e.to_string()),
        }
    }
    if let (Method::Post | Method::Put, Some(body)) = (src.method, &src.body) {
        let body = match render(body) {
            Ok(b) => b,
            Err(e) => return fail(None, e.to_string()),
        };
        // A body that reads as JSON says so; any other is sent as plain text.
        let kind = if serde_json::from_str::<serde::de::IgnoredAny>(&body).is_ok() {
            "application/json"
        } else {
            "text/plain; charset=utf-8"
        };
        if !src
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header("Content-Type", kind);
        }
        req = req.body(body);
    }
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return fail(None, describe_error(&e)),
    };
    let status = resp.status();
    let code = status.as_u16();
    if !status.is_success() {
        let reason = match code {
            401 | 403 => {
                let header = if src
                    .headers
                    .keys()
                    .any(|k| k.eq_ignore_ascii_case("authorization"))
                {
                    "check the token in the Authorization header"
                } else {
                    "no Authorization header is configured for this source"
                };
                format!("unauthorized (HTTP {code}): {header}")
            }
            404 => "not found (HTTP 404): check the URL path".to_string(),
            429 => "rate limited (HTTP 429): backing off".to_string(),
            // Prometheus answers 400 (bad query), 422 (cannot execute), 503 (not ready /
            // overloaded) with a JSON body saying why: show its words.
            _ if prometheus => match read_capped(&mut resp, src.max_body_bytes.min(64 * 1024))
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| crate::prom::error_reason(Some(code), &v))
            {
                Some(r) => r,
                None => format!(
                    "HTTP {code} {}",
                    status.canonical_reason().unwrap_or("error")
                ),
            },
            _ => format!(
                "HTTP {code} {}",
                status.canonical_reason().unwrap_or("error")
            ),
        };
        return fail(Some(code), reason);
    }
    if code == 204 {
        return fail(Some(code), "HTTP 204: no body to read".into());
    }
    let body = match read_capped(&mut resp, src.max_body_bytes).await {
        Ok(b) => b,
        Err(reason) => return fail(Some(code), reason),
    };
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return fail(Some(code), "empty body (expected JSON)".into());
    }
    match serde_json::from_slice::<serde_json::Value>(&body) {
        // A 2xx that says `"status": "error"` (some proxies do) is a failed query too.
        Ok(v) => match prometheus
            .then(|| crate::prom::error_reason(None, &v))
            .flatten()
        {
            Some(reason) => fail(Some(code), reason),
            None => PollOutcome::Json {
                status: code,
                body: v,
            },
        },
        Err(e) => {
            let looks_html = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
            let what = if looks_html {
                "body is HTML, not JSON".to_string()
            } else {
                format!("body is not JSON ({e})")
            };
            fail(Some(code), what)
        }
    }
}

/// The body, at most `cap` bytes: past the cap (or cut off) the reason why.
async fn read_capped(resp: &mut reqwest::Response, cap: u64) -> Result<Vec<u8>, String> {
    let mut body: Vec<u8> = Vec::with_capacity((cap as usize).min(64 * 1024));
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > cap as usize {
                    return Err(format!("body larger than the {cap} byte cap"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(format!("body cut off: {}", describe_error(&e))),
        }
    }
}

/// A reason a person can act on: DNS, refused, time-out, TLS — never the URL (it may hold a token).
pub(crate) fn describe_error(e: &reqwest::Error) -> String {
    let mut chain = String::new();
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        chain.push_str(&err.to_string().to_lowercase());
        chain.push_str(" | ");
        cur = err.source();
    }
    // The error chain of a refused proxy reads like the source's own ("tcp connect error"),
    // so when the environment sends this URL through a proxy, say which one (host:port only,
    // never its credentials). Unsure (a CIDR in NO_PROXY, no URL): say nothing about proxies.
    let via_proxy = || -> Option<String> {
        let url = e.url()?;
        let host = url.host_str()?.trim_matches(|c| c == '[' || c == ']');
        let var = |names: [&str; 2]| {
            names.into_iter().find_map(|n| {
                std::env::var(n)
                    .ok()
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (n.to_ascii_uppercase(), v))
            })
        };
        let scheme = if url.scheme() == "https" {
            ["https_proxy", "HTTPS_PROXY"]
        } else {
            ["http_proxy", "HTTP_PROXY"]
        };
        let (name, proxy) = var(scheme).or_else(|| var(["all_proxy", "ALL_PROXY"]))?;
        let no_proxy = var(["no_proxy", "NO_PROXY"])
            .map(|(_, v)| v)
            .unwrap_or_default();
        for entry in no_proxy.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            if entry.contains('/') {
                return None;
            }
            let entry = entry.trim_start_matches("*.").trim_start_matches('.');
            let entry = entry.trim_matches(|c| c == '[' || c == ']');
            if entry == "*"
                || host.eq_ignore_ascii_case(entry)
                || host
                    .to_ascii_lowercase()
                    .ends_with(&format!(".{}", entry.to_ascii_lowercase()))
            {
                return None;
            }
        }
        let rest = proxy.split_once("://").map_or(proxy.as_str(), |(_, r)| r);
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let addr = rest.split('/').next().unwrap_or(rest);
        Some(format!("proxy unreachable ({addr} from {name})"))
    };
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cause {
        if let Some(r) = err.downcast_ref::<CrossHostRedirect>() {
            return r.to_string();
        }
        cause = err.source();
    }
    if e.is_redirect() {
        return "too many redirects (more than 3)".into();
    }
    let tls = chain.contains("certificate") || chain.contains("tls");
    let proxy = (e.is_connect() && !tls).then(via_proxy).flatten();
    if e.is_timeout() {
        "time-out".into()
    } else if let Some(p) = proxy {
        if chain.contains("connection refused") {
            format!("{p}: connection refused")
        } else {
            format!("{p}: cannot connect")
        }
    } else if chain.contains("dns error")
        || chain.contains("failed to lookup")
        || chain.contains("name or service not known")
    {
        "DNS: no such host".into()
    } else if chain.contains("connection refused") {
        "connection refused".into()
    } else if chain.contains("certificate") || chain.contains("tls") || chain.contains("handshake")
    {
        let detail = if chain.contains("expired") {
            "certificate expired"
        } else if chain.contains("notvalidforname") || chain.contains("not valid for name") {
            "certificate is for another host"
        } else if chain.contains("unknownissuer") || chain.contains("unknown issuer") {
            "certificate signed by an unknown CA (self-signed? set ca_file)"
        } else {
            "handshake failed"
        };
        format!("TLS: {detail}")
    } else if chain.contains("connection reset") {
        "connection reset".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else if e.is_body() || e.is_decode() {
        "body cut off".into()
    } else {
        "request failed".into()
    }
}

/// Replace any configured header or command environment value (tokens) that slipped into
/// a reason.
fn redact(reason: &str, src: &Source) -> String {
    let mut out = reason.to_string();
    for v in src.headers.values().chain(src.env.values()) {
        for part in v.split_whitespace().filter(|p| p.len() >= 6) {
            out = out.replace(part, "***");
        }
    }
    out
}

/// Start one polling task per source. Results arrive on `tx`; the tasks end when
/// `tx` closes. A panic inside a poll becomes an error result for that source.
/// The running pollers: their tasks, and a trigger per source to poll it now.
pub struct Pollers {
    pub handles: Vec<JoinHandle<()>>,
    pub triggers: HashMap<String, Arc<Notify>>,
}

impl Pollers {
    /// Poll `source` now instead of at its next interval (verification polls at 1 s).
    pub fn poll_now(&self, source: &str) {
        if let Some(n) = self.triggers.get(source) {
            n.notify_one();
        }
    }

    pub fn abort(&self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

pub fn spawn_pollers(cfg: &Config, clients: &Clients, tx: mpsc::Sender<PollResult>) -> Pollers {
    spawn_pollers_with(&cfg.sources, http_poller(cfg, clients), tx)
}

/// Polling every kind of source (HTTP with the shared clients, commands): what
/// `spawn_pollers` and `check` run. Each poll's time tokens are rendered from the wall
/// clock when it starts.
pub fn http_poller(cfg: &Config, clients: &Clients) -> PollFn {
    let clients: HashMap<String, reqwest::Client> = cfg
        .sources
        .iter()
        .filter_map(|s| Some((s.id.clone(), clients.get(s)?.clone())))
        .collect();
    Arc::new(move |src: &Source| {
        let client = clients.get(&src.id).cloned();
        let src = src.clone();
        async move { poll_source_at(client.as_ref(), &src, Utc::now()).await }.boxed()
    })
}

/// One poll of one source, as the schedulers call it.
pub type PollFn =
    Arc<dyn Fn(&Source) -> futures::future::BoxFuture<'static, PollResult> + Send + Sync>;

/// The schedule itself: one task per source, each on its own `interval` (backing off on
/// 429), whatever `poll` does. `check --window` and the dashboard share it.
pub fn spawn_pollers_with(
    sources: &[Source],
    poll: PollFn,
    tx: mpsc::Sender<PollResult>,
) -> Pollers {
    let mut triggers = HashMap::new();
    let handles = sources
        .iter()
        .map(|src| {
            let src = src.clone();
            let poll = Arc::clone(&poll);
            let tx = tx.clone();
            let trigger = Arc::new(Notify::new());
            triggers.insert(src.id.clone(), Arc::clone(&trigger));
            tokio::spawn(async move {
                let mut backoff = 1u32;
                loop {
                    let started = tokio::time::Instant::now();
                    let res = AssertUnwindSafe(poll(&src))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|panic| PollResult {
                            source: src.id.clone(),
                            at: Utc::now(),
                            mono: Mono::now(),
                            latency_ms: 0,
                            outcome: PollOutcome::Failed {
                                status: None,
                                reason: format!(
                                    "internal error in the poller: {}",
                                    panic_text(&panic)
                                ),
                            },
                        });
                    // 429: back off (double the interval, up to 8×) instead of hammering.
                    // The schedule runs on tokio's monotonic clock: a wall step moves no poll.
                    backoff = match &res.outcome {
                        PollOutcome::Failed {
                            status: Some(429), ..
                        } => (backoff * 2).min(8),
                        _ => 1,
                    };
                    if tx.send(res).await.is_err() {
                        return;
                    }
                    // At most one poll in flight: a tick that passed while this one ran
                    // is skipped, not made up — the rows age instead (stale, never a
                    // breach), and the schedule keeps its grid.
                    let period = src.interval.0 * backoff;
                    let next = next_start(started, period, tokio::time::Instant::now());
                    tokio::select! {
                        _ = tokio::time::sleep_until(next) => {}
                        _ = trigger.notified() => {}
                        _ = tx.closed() => return,
                    }
                }
            })
        })
        .collect();
    Pollers { handles, triggers }
}

/// The first tick of the grid `started + k·period` (k ≥ 1) that has not passed at `now`.
fn next_start(
    started: tokio::time::Instant,
    period: Duration,
    now: tokio::time::Instant,
) -> tokio::time::Instant {
    let next = started + period;
    if next > now || period.is_zero() {
        return next;
    }
    let behind = now.duration_since(started).as_nanos();
    let k = behind / period.as_nanos() + 1;
    let k = u32::try_from(k).unwrap_or(u32::MAX);
    started + period.saturating_mul(k)
}

pub fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn source(interval: &str) -> Source {
        let text = format!(
            "[cutover]\nname = \"t\"\n[[source]]\nid = \"slow\"\nkind = \"command\"\nargv = [\"x\"]\ninterval = \"{interval}\"\n"
        );
        let cfg: Config = toml::from_str(&text).unwrap();
        cfg.sources[0].clone()
    }

    /// A run that takes 2.5 intervals: the ticks that pass meanwhile are skipped (no
    /// second run in flight, none made up in a burst), and the next run starts on the grid.
    #[tokio::test(start_paused = true)]
    async fn a_tick_that_passes_while_a_run_is_in_flight_is_skipped() {
        let origin = tokio::time::Instant::now();
        let log: Arc<Mutex<Vec<(u128, u128)>>> = Arc::default();
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (l, f) = (Arc::clone(&log), Arc::clone(&in_flight));
        let poll: PollFn = Arc::new(move |src: &Source| {
            let (l, f, id) = (Arc::clone(&l), Arc::clone(&f), src.id.clone());
            async move {
                let start = origin.elapsed().as_millis();
                let before = f.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                assert_eq!(before, 0, "two runs of one source in flight");
                tokio::time::sleep(Duration::from_millis(2_500)).await;
                f.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                l.lock()
                    .unwrap()
                    .push((start, origin.elapsed().as_millis()));
                PollResult {
                    source: id,
                    at: Utc::now(),
                    mono: Mono(0),
                    latency_ms: 2_500,
                    outcome: PollOutcome::Failed {
                        status: None,
                        reason: "slow".into(),
                    },
                }
            }
            .boxed()
        });
        let (tx, mut rx) = mpsc::channel(16);
        let pollers = spawn_pollers_with(&[source("1s")], poll, tx);
        for _ in 0..3 {
            rx.recv().await.unwrap();
        }
        pollers.abort();
        let starts: Vec<u128> = log.lock().unwrap().iter().map(|(s, _)| *s).collect();
        // 0 → done at 2.5 s; the ticks at 1 s and 2 s are skipped; next at 3 s, then 6 s.
        assert_eq!(starts, vec![0, 3_000, 6_000]);
    }

    #[test]
    fn next_start_stays_on_the_grid() {
        let t0 = tokio::time::Instant::now();
        let s = Duration::from_secs(1);
        assert_eq!(next_start(t0, s, t0 + Duration::from_millis(300)), t0 + s);
        assert_eq!(
            next_start(t0, s, t0 + Duration::from_millis(1_000)),
            t0 + 2 * s
        );
        assert_eq!(
            next_start(t0, s, t0 + Duration::from_millis(4_200)),
            t0 + 5 * s
        );
    }
}
