//! Running one attempt: the HTTP request or the command. Never retried here.

use super::{clip, sanitize, ActionOutcome, ActionResult, Attempt, EXCERPT_MAX};
use crate::config::{ActionCfg, CommandCfg, RequestCfg, Source};
use crate::poll::{describe_error, tls_settings};
use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes of a command's output kept from its start, per stream.
const HEAD_KEEP: usize = 64 * 1024;
/// Bytes kept from its end, per stream (the error is usually at the end).
const TAIL_KEEP: usize = 4 * 1024;
/// Bytes of a response body read for the excerpt; the rest is not read.
const BODY_KEEP: usize = 16 * 1024;
/// After the command exits (or is killed), how long its pipes may stay open (a background
/// grandchild holding them) before we stop reading.
const PIPE_GRACE: Duration = Duration::from_millis(500);

/// Run one attempt of `cfg` once. `sources` resolve `request.tls_from`; `redact` hides the
/// caller's known secrets in every text of the outcome (a `token_file` token is hidden too).
pub async fn execute(
    cfg: &ActionCfg,
    sources: &[Source],
    attempt: &Attempt,
    redact: &(dyn Fn(&str) -> String + Sync),
) -> ActionOutcome {
    let started_at = Utc::now();
    let clock = Instant::now();
    let (result, excerpt, output) = match (&cfg.request, &cfg.command) {
        (Some(r), _) => {
            let (result, excerpt) = run_request(r, sources, attempt, redact).await;
            (result, excerpt, String::new())
        }
        (None, Some(c)) => run_command(c, redact).await,
        (None, None) => (
            ActionResult::SpawnFailed(format!(
                "action {} has neither a request nor a command",
                cfg.id
            )),
            String::new(),
            String::new(),
        ),
    };
    ActionOutcome {
        started_at,
        duration_ms: clock.elapsed().as_millis() as u64,
        result,
        excerpt,
        output,
    }
}

// ---------------------------------------------------------------------------------------
// HTTP

async fn run_request(
    r: &RequestCfg,
    sources: &[Source],
    attempt: &Attempt,
    redact: &(dyn Fn(&str) -> String + Sync),
) -> (ActionResult, String) {
    let not_sent = |reason: String| {
        (
            ActionResult::NotSent {
                reason: sanitize(&redact(&reason)),
            },
            String::new(),
        )
    };
    let token = match &r.token_file {
        // Read at each attempt: a rotated token is picked up, a loosened file refused.
        Some(path) => match crate::secrets::read_token_file(std::path::Path::new(path)) {
            Ok((t, _warning)) => Some(t.expose().to_string()),
            Err(e) => return not_sent(e.to_string()),
        },
        None => None,
    };
    // The caller's redaction does not know a token read from a file: add it.
    let redact_all = |s: &str| -> String {
        let s = redact(s);
        match &token {
            Some(t) if !t.is_empty() => s.replace(t.as_str(), "***"),
            _ => s,
        }
    };
    let client = match build_client(r, sources) {
        Ok(c) => c,
        Err(e) => return not_sent(redact_all(&e)),
    };
    let headers = match build_headers(r, attempt, token.as_deref()) {
        Ok(h) => h,
        Err(e) => return not_sent(redact_all(&e)),
    };
    let method = match reqwest::Method::from_bytes(r.method.to_ascii_uppercase().as_bytes()) {
        Ok(m) => m,
        Err(_) => return not_sent(format!("invalid HTTP method {:?}", r.method)),
    };
    let mut req = client.request(method, &r.url).headers(headers);
    if let Some(body) = &r.body {
        req = req.body(body.clone());
    }
    let timeout_ms = r.timeout.0.as_millis() as u64;
    let resp = match req.send().await {
        Ok(resp) => resp,
        Err(e) => {
            return (
                classify_send_error(&e, timeout_ms, &redact_all),
                String::new(),
            )
        }
    };
    let status = resp.status();
    let code = status.as_u16();
    let result = if status.is_success() {
        ActionResult::Http { status: code }
    } else if status.is_redirection() {
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| sanitize(&redact_all(&String::from_utf8_lossy(v.as_bytes()))));
        ActionResult::Redirect {
            status: code,
            location: location.map(|l| clip(&l, 200)),
        }
    } else {
        ActionResult::HttpError { status: code }
    };
    // The status is known: the answer arrived. A body cut off later changes nothing about
    // the result; the excerpt says so.
    let excerpt = read_body_excerpt(resp, &redact_all).await;
    (result, excerpt)
}

/// A dedicated client per attempt: no redirects, no idle pool (a stale pooled connection
/// would turn "refused" into "reset after send"), the action's own time-out, and the TLS
/// settings of `tls_from` so it trusts what the pollers trust.
fn build_client(r: &RequestCfg, sources: &[Source]) -> Result<reqwest::Client, String> {
    let total = r.timeout.0;
    let src = match &r.tls_from {
        Some(id) => Some(
            sources
                .iter()
                .find(|s| &s.id == id)
                .ok_or_else(|| format!("tls_from names no source {id:?}"))?,
        ),
        None => None,
    };
    // The connect time-out must fire before the total one: a connect time-out means
    // "nothing sent", a total time-out "outcome unknown".
    let connect = src
        .map(|s| s.connect_timeout())
        .unwrap_or(Duration::from_secs(3))
        .min(total / 2);
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(total)
        .connect_timeout(connect)
        .pool_max_idle_per_host(0)
        .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")));
    if let Some(s) = src {
        b = tls_settings(b, s.ca_file.as_deref(), s.insecure_tls).map_err(|e| {
            format!(
                "CA file {} of source {}: {e}",
                s.ca_file.as_deref().unwrap_or(""),
                s.id
            )
        })?;
    }
    b.build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

fn build_headers(
    r: &RequestCfg,
    attempt: &Attempt,
    token: Option<&str>,
) -> Result<HeaderMap, String> {
    let mut h = HeaderMap::new();
    for (k, v) in &r.headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("invalid header name {k:?}"))?;
        // The value is never quoted in the error: it may be a token.
        let value =
            HeaderValue::from_str(v).map_err(|_| format!("header {k}: invalid characters"))?;
        h.insert(name, value);
    }
    if r.body.is_some() && !h.contains_key(CONTENT_TYPE) {
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    if let Some(t) = token {
        let mut v = HeaderValue::from_str(&format!("Bearer {t}"))
            .map_err(|_| "token_file: the token has invalid characters".to_string())?;
        v.set_sensitive(true);
        h.insert(AUTHORIZATION, v);
    }
    let key = HeaderValue::from_str(&attempt.idempotency_key)
        .map_err(|_| "the idempotency key has invalid characters".to_string())?;
    h.insert(HeaderName::from_static("idempotency-key"), key);
    Ok(h)
}

/// Where the request got to decides the wording: not connected = nothing sent; anything
/// later = it may have arrived.
fn classify_send_error(
    e: &reqwest::Error,
    timeout_ms: u64,
    redact: &(dyn Fn(&str) -> String + Sync),
) -> ActionResult {
    let reason = sanitize(&redact(&describe_error(e)));
    if e.is_connect() {
        if reason == "connection refused" {
            ActionResult::Refused
        } else if e.is_timeout() {
            ActionResult::NotSent {
                reason: "connect time-out".into(),
            }
        } else {
            ActionResult::NotSent { reason }
        }
    } else if e.is_timeout() {
        ActionResult::TimedOut {
            after_ms: timeout_ms,
        }
    } else {
        ActionResult::ResetAfterSend { reason }
    }
}

async fn read_body_excerpt(
    mut resp: reqwest::Response,
    redact: &(dyn Fn(&str) -> String + Sync),
) -> String {
    let mut body = Vec::new();
    let mut note = "";
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                let room = BODY_KEEP.saturating_sub(body.len());
                body.extend_from_slice(&c[..c.len().min(room)]);
                if c.len() > room {
                    // Enough for an excerpt; the rest is not worth waiting for.
                    note = " […]";
                    break;
                }
            }
            Ok(None) => break,
            Err(_) => {
                note = " [body cut off]";
                break;
            }
        }
    }
    let text = sanitize(&redact(&String::from_utf8_lossy(&body)));
    let text = text.trim();
    clip(&format!("{text}{note}"), EXCERPT_MAX)
}

// ---------------------------------------------------------------------------------------
// Command

/// The result, the excerpt, and the whole kept output for the captures (see `kept_output`).
async fn run_command(
    c: &CommandCfg,
    redact: &(dyn Fn(&str) -> String + Sync),
) -> (ActionResult, String, String) {
    let (result, excerpt, out) = run_command_inner(c, redact).await;
    let output = out
        .map(|(o, e)| kept_output(&o, &e, redact))
        .unwrap_or_default();
    (result, excerpt, output)
}

type Streams = Option<(Captured, Captured)>;

async fn run_command_inner(
    c: &CommandCfg,
    redact: &(dyn Fn(&str) -> String + Sync),
) -> (ActionResult, String, Streams) {
    let Some((program, args)) = c.argv.split_first() else {
        return (
            ActionResult::SpawnFailed("empty argv".into()),
            String::new(),
            None,
        );
    };
    if let Some(cwd) = &c.cwd {
        // Checked first: a missing cwd makes spawn fail with NotFound, which would
        // otherwise read as "binary not found".
        if !std::path::Path::new(cwd).is_dir() {
            return (
                ActionResult::SpawnFailed(redact(&format!("cwd {cwd} is not a directory"))),
                String::new(),
                None,
            );
        }
    }
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(&c.env)
        // No stdin: a command that reads it gets EOF at once and never the operator's keys.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(cwd) = &c.cwd {
        cmd.current_dir(cwd);
    }
    // SAFETY: setsid() is async-signal-safe and touches no memory of ours. A new session
    // means: no controlling terminal (a `sudo` or `ssh` prompt fails instead of writing
    // over the TUI or stealing keys), and a process group of its own (pgid = pid) that we
    // can kill as a whole at the time-out.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(ch) => ch,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (
                ActionResult::NotFound {
                    program: sanitize(&redact(program)),
                },
                String::new(),
                None,
            )
        }
        Err(e) => {
            return (
                ActionResult::SpawnFailed(sanitize(&redact(&format!("{program}: {e}")))),
                String::new(),
                None,
            )
        }
    };
    let pid = child.id();
    let out = child.stdout.take().map(|s| tokio::spawn(capture(s)));
    let err = child.stderr.take().map(|s| tokio::spawn(capture(s)));

    let result = match tokio::time::timeout(c.timeout.0, child.wait()).await {
        Ok(Ok(status)) => exit_result(status),
        Ok(Err(e)) => {
            ActionResult::SpawnFailed(sanitize(&redact(&format!("waiting for {program}: {e}"))))
        }
        Err(_) => {
            kill_group(pid);
            // Reap it (and kill it directly should the group kill have failed).
            let _ = child.kill().await;
            ActionResult::Killed {
                after_ms: c.timeout.0.as_millis() as u64,
            }
        }
    };
    let stdout = finish_capture(out).await;
    let stderr = finish_capture(err).await;
    let excerpt = output_excerpt(&stdout, &stderr, redact);
    (result, excerpt, Some((stdout, stderr)))
}

#[cfg(unix)]
fn exit_result(status: std::process::ExitStatus) -> ActionResult {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ActionResult::Exited { code },
        (None, Some(sig)) => ActionResult::Signalled { signal: sig },
        (None, None) => ActionResult::SpawnFailed("no exit status".into()),
    }
}

/// SIGKILL the command's whole process group (it leads its own session, see `setsid`), so
/// `sh -c 'sleep 30'` does not leave the `sleep` behind holding the pipes.
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) {
        if pid > 0 {
            // SAFETY: killpg only sends a signal; pid is our child's, which leads its group.
            unsafe {
                libc::killpg(pid, libc::SIGKILL);
            }
        }
    }
}

/// One stream's output: the first [`HEAD_KEEP`] and last [`TAIL_KEEP`] bytes and a count;
/// everything between is read and dropped, so 100 MB of output costs no memory.
#[derive(Debug, Default)]
struct Captured {
    head: Vec<u8>,
    tail: Vec<u8>,
    total: u64,
    read_error: bool,
}

async fn capture<R: AsyncRead + Unpin>(mut r: R) -> Captured {
    let mut c = Captured::default();
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                c.total += n as u64;
                let room = HEAD_KEEP.saturating_sub(c.head.len());
                let to_head = n.min(room);
                c.head.extend_from_slice(&buf[..to_head]);
                if to_head < n {
                    c.tail.extend_from_slice(&buf[to_head..n]);
                    if c.tail.len() > 2 * TAIL_KEEP {
                        let cut = c.tail.len() - TAIL_KEEP;
                        c.tail.drain(..cut);
                    }
                }
            }
            Err(_) => {
                c.read_error = true;
                break;
            }
        }
    }
    if c.tail.len() > TAIL_KEEP {
        let cut = c.tail.len() - TAIL_KEEP;
        c.tail.drain(..cut);
    }
    c
}

/// Wait a short grace for the reader (a grandchild may hold the pipe open), then give up.
async fn finish_capture(h: Option<tokio::task::JoinHandle<Captured>>) -> Captured {
    let Some(mut h) = h else {
        return Captured::default();
    };
    match tokio::time::timeout(PIPE_GRACE, &mut h).await {
        Ok(Ok(c)) => c,
        Ok(Err(_)) => Captured::default(),
        Err(_) => {
            h.abort();
            Captured {
                read_error: true,
                ..Captured::default()
            }
        }
    }
}

/// ≤ [`EXCERPT_MAX`] bytes: stderr first (that is where a failure says why), then stdout;
/// each as its start and end with the dropped middle counted. Redacted before cutting, so a
/// token is never half-shown.
fn output_excerpt(
    stdout: &Captured,
    stderr: &Captured,
    redact: &(dyn Fn(&str) -> String + Sync),
) -> String {
    let parts: Vec<(&str, &Captured)> = [("stderr", stderr), ("stdout", stdout)]
        .into_iter()
        .filter(|(_, c)| c.total > 0)
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    let budget = EXCERPT_MAX / parts.len() - 32;
    let mut out = String::new();
    for (name, c) in parts {
        // Escapes removed whole: a coloured line must not leave `[32m` behind.
        let plain = |b: &[u8]| {
            crate::poll::command::strip_escapes(&String::from_utf8_lossy(b)).replace("\r\n", "\n")
        };
        let head = sanitize(&redact(&plain(&c.head)));
        let tail = sanitize(&redact(&plain(&c.tail)));
        let kept = (c.head.len() + c.tail.len()) as u64;
        let text = if kept == c.total && tail.is_empty() && head.len() <= budget {
            head.trim_end().to_string()
        } else {
            let half = budget / 2;
            let h = clip(head.trim_end(), half);
            let t = if tail.is_empty() {
                tail_clip(head.trim_end(), half)
            } else {
                tail_clip(tail.trim_end(), half)
            };
            let dropped = c.total.saturating_sub((h.len() + t.len()) as u64);
            format!("{h}\n[… {dropped} bytes …]\n{t}")
        };
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("{name}: {text}"));
        if c.read_error {
            out.push_str(" [not all read]");
        }
    }
    clip(&out, EXCERPT_MAX)
}

/// Everything kept of the output (each stream's first and last bytes, stdout first), for
/// the captures: escapes removed whole, line ends made `\n`, redacted, control characters
/// dropped. Bounded by what `capture` keeps, never the whole of a huge output.
fn kept_output(
    stdout: &Captured,
    stderr: &Captured,
    redact: &(dyn Fn(&str) -> String + Sync),
) -> String {
    let mut text = String::new();
    for c in [stdout, stderr] {
        for part in [&c.head, &c.tail] {
            if part.is_empty() {
                continue;
            }
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            let plain = crate::poll::command::strip_escapes(&String::from_utf8_lossy(part))
                .replace("\r\n", "\n")
                .replace('\r', "\n");
            text.push_str(&sanitize(&redact(&plain)));
        }
    }
    text
}

/// The last `max` bytes of `s`, cut on a char boundary, with a leading `…`.
fn tail_clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max + '…'.len_utf8();
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

#[cfg(test)]
pub(super) const HEAD_KEEP_FOR_TEST: usize = HEAD_KEEP;
#[cfg(test)]
pub(super) const TAIL_KEEP_FOR_TEST: usize = TAIL_KEEP;

/// (total, head kept, tail kept) of a capture, for the memory-bound test.
#[cfg(test)]
pub(super) async fn capture_for_test<R: AsyncRead + Unpin>(r: R) -> (u64, usize, usize) {
    let c = capture(r).await;
    (c.total, c.head.len(), c.tail.len())
}
