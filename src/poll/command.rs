//! `command` sources: run an argv, or a pipeline warroom wires itself (never a shell),
//! and read its output as JSON, a number, a text or lines.
//!
//! Each command gets no stdin (EOF at once: it can never wait for the operator's keys)
//! and a session of its own, so it has no controlling terminal (a password prompt fails
//! rather than write over the dashboard) and leads a process group that is killed whole
//! at the time-out — `sh -c 'sleep 60 & …'` leaves nothing behind. Output is capped.

use crate::config::{Parse, Source};
use crate::sample::{PollOutcome, Ts};
use crate::tokens;
use serde_json::Value as Json;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

/// How much of a command's stderr the error state shows.
const EXCERPT_CHARS: usize = 160;
/// How much of stderr is kept to cut the excerpt from (the rest is read and dropped).
const STDERR_KEEP: usize = 4 * 1024;
/// After the commands are gone, how long their stderr may take to drain.
const STDERR_GRACE: Duration = Duration::from_millis(200);

/// A failed run, as the source's error state says it.
fn fail(reason: String) -> PollOutcome {
    PollOutcome::Failed {
        status: None,
        reason,
    }
}

/// Run the source's command(s) once, with tokens rendered for `now`, bounded by its
/// `timeout` and `max_output_bytes`.
pub async fn run(src: &Source, now: Ts) -> PollOutcome {
    let mut stages: Vec<Vec<String>> = Vec::new();
    for argv in src.commands() {
        let mut rendered = Vec::with_capacity(argv.len());
        for a in argv {
            match tokens::render(a, now) {
                Ok(r) => rendered.push(r),
                Err(e) => return fail(e.to_string()),
            }
        }
        stages.push(rendered);
    }
    if stages.is_empty() || stages.iter().any(Vec::is_empty) {
        return fail("no command to run (empty argv)".into());
    }
    if let Some(cwd) = &src.cwd {
        // Checked first: a missing cwd makes spawn fail with NotFound, which would
        // otherwise read as "program not found".
        if !std::path::Path::new(cwd).is_dir() {
            return fail(format!("cwd {cwd} is not a directory"));
        }
    }
    let mut running = Running::default();
    let mut prev_stdout: Option<Stdio> = None;
    let last = stages.len() - 1;
    for (i, argv) in stages.iter().enumerate() {
        let (program, args) = (&argv[0], &argv[1..]);
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(&src.env)
            .stdin(prev_stdout.take().unwrap_or_else(Stdio::null))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // `2>&1`: both streams into one pipe, read in the order they were written.
        let mut merged = None;
        if i == 0 && src.merge_stderr {
            match merged_pipe() {
                Ok((reader, out, err)) => {
                    cmd.stdout(out).stderr(err);
                    merged = Some(reader);
                }
                Err(e) => {
                    running.kill().await;
                    return fail(format!("cannot join {program}'s stderr to its output: {e}"));
                }
            }
        }
        if let Some(cwd) = &src.cwd {
            cmd.current_dir(cwd);
        }
        // SAFETY: setsid() is async-signal-safe and touches no memory of ours. A new
        // session: no controlling terminal, and a process group (pgid = pid) of its own to
        // kill as a whole.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let spawned = cmd.spawn();
        // The parent's copies of the write ends must go, or the reader never sees EOF.
        drop(cmd);
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                running.kill().await;
                return fail(if e.kind() == std::io::ErrorKind::NotFound {
                    format!("program not found: {program} (is it installed and on PATH?)")
                } else {
                    format!("cannot run {program}: {e}")
                });
            }
        };
        if let Some(err) = child.stderr.take() {
            running.stderr.push(tokio::spawn(capture(err, STDERR_KEEP)));
        }
        if let Some(reader) = merged {
            if i < last {
                prev_stdout = Some(Stdio::from(std::os::fd::OwnedFd::from(reader)));
            } else {
                match tokio::net::unix::pipe::Receiver::from_owned_fd(std::os::fd::OwnedFd::from(
                    reader,
                )) {
                    Ok(r) => running.stdout = Some(Box::new(r)),
                    Err(e) => {
                        running.children.push((program.clone(), child));
                        running.kill().await;
                        return fail(format!("cannot read {program}'s output: {e}"));
                    }
                }
            }
        } else if i < last {
            match child.stdout.take().map(TryInto::<Stdio>::try_into) {
                Some(Ok(s)) => prev_stdout = Some(s),
                _ => {
                    running.children.push((program.clone(), child));
                    running.kill().await;
                    return fail(format!(
                        "cannot connect {program}'s output to the next command"
                    ));
                }
            }
        } else {
            running.stdout = child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn AsyncRead + Send + Unpin>);
        }
        running.children.push((program.clone(), child));
    }

    let cap = src.max_output_bytes;
    let stdout = running.stdout.take();
    let work = async {
        let out = match stdout {
            Some(s) => read_capped(s, cap).await,
            None => Ok(Vec::new()),
        };
        let mut statuses = Vec::with_capacity(running.children.len());
        if out.is_ok() {
            for (name, child) in running.children.iter_mut() {
                statuses.push((name.clone(), child.wait().await));
            }
        }
        (out, statuses)
    };
    let (out, statuses) = match tokio::time::timeout(src.timeout.0, work).await {
        Ok(r) => r,
        Err(_) => {
            running.kill().await;
            let why = running.stderr_excerpt().await;
            return fail(format!(
                "time-out after {}: killed{}",
                crate::timefmt::format_duration(src.timeout.0),
                why.map(|w| format!(" (stderr: {w})")).unwrap_or_default()
            ));
        }
    };
    let out = match out {
        Ok(o) => o,
        Err(reason) => {
            running.kill().await;
            return fail(reason);
        }
    };
    let excerpt = running.stderr_excerpt().await;
    let with_stderr = |what: String| match &excerpt {
        Some(e) => format!("{what}: {e}"),
        None => what,
    };
    for (i, (name, status)) in statuses.iter().enumerate() {
        let status = match status {
            Ok(s) => *s,
            Err(e) => return fail(format!("waiting for {name}: {e}")),
        };
        if let Some(what) = exit_problem(status, src.ok_exit_codes(), i < last) {
            // The program's own name: a long path would push the reason off the row.
            let short = std::path::Path::new(name)
                .file_name()
                .map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned());
            return fail(with_stderr(format!("{short} {what}")));
        }
    }
    match parse(&out, src) {
        Ok(body) => PollOutcome::Json { status: 0, body },
        Err(why) => fail(with_stderr(why)),
    }
}

/// One pipe for a command's stdout and stderr: the read end, and a write end for each.
fn merged_pipe() -> std::io::Result<(std::io::PipeReader, Stdio, Stdio)> {
    let (reader, writer) = std::io::pipe()?;
    let err = writer.try_clone()?;
    Ok((reader, Stdio::from(writer), Stdio::from(err)))
}

/// Why an exit is a failure, or None. A command that feeds a pipeline and dies of SIGPIPE
/// (the next one stopped reading, as `head` does) has done its part.
fn exit_problem(status: std::process::ExitStatus, ok: &[i32], feeds: bool) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) if ok.contains(&code) => None,
        (Some(code), _) => Some(format!("exited with status {code}")),
        (None, Some(libc::SIGPIPE)) if feeds => None,
        (None, Some(sig)) => Some(format!("was killed by signal {sig}")),
        (None, None) => Some("ended without an exit status".into()),
    }
}

/// The commands of one run, until they are reaped.
#[derive(Default)]
struct Running {
    children: Vec<(String, Child)>,
    stdout: Option<Box<dyn AsyncRead + Send + Unpin>>,
    stderr: Vec<tokio::task::JoinHandle<Vec<u8>>>,
}

impl Running {
    /// SIGKILL every command's process group (each leads its own), then reap them.
    async fn kill(&mut self) {
        for (_, child) in &self.children {
            if let Some(pid) = child.id().and_then(|p| libc::pid_t::try_from(p).ok()) {
                if pid > 0 {
                    // SAFETY: killpg only sends a signal; pid is our child's, which leads
                    // its own group (setsid above).
                    unsafe {
                        libc::killpg(pid, libc::SIGKILL);
                    }
                }
            }
        }
        for (_, child) in self.children.iter_mut() {
            // Reaps it (and kills it directly should the group kill have failed).
            let _ = child.kill().await;
        }
    }

    /// Every command's stderr, joined: sanitised, redacted, short. None when silent.
    async fn stderr_excerpt(&mut self) -> Option<String> {
        let mut all = Vec::new();
        for h in self.stderr.iter_mut() {
            if let Ok(Ok(bytes)) = tokio::time::timeout(STDERR_GRACE, &mut *h).await {
                all.extend_from_slice(&bytes);
                all.push(b'\n');
            } else {
                h.abort();
            }
        }
        let text = excerpt(&String::from_utf8_lossy(&all));
        (!text.is_empty()).then_some(text)
    }
}

/// One line, without control characters (a command's escape sequences must not drive the
/// operator's terminal), redacted before it is cut so a secret is never half-shown.
pub(crate) fn excerpt(text: &str) -> String {
    let redacted = crate::secrets::redact(&strip_escapes(text));
    let flat: String = redacted
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if flat.chars().count() <= EXCERPT_CHARS {
        flat
    } else {
        format!("{}…", flat.chars().take(EXCERPT_CHARS).collect::<String>())
    }
}

/// Terminal escape sequences removed whole (colours, cursor moves, titles), so not even
/// their printable tail (`[31m`) is left: CSI `ESC [ … final`, OSC `ESC ] … BEL/ESC \`,
/// and two-character escapes.
pub(crate) fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                // Parameters and intermediates, then one final byte in @..~.
                for n in chars.by_ref() {
                    if ('@'..='~').contains(&n) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(n) = chars.next() {
                    if n == '\u{7}' {
                        break;
                    }
                    if n == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The first `keep` bytes of a stream; the rest is read and dropped (a chatty command
/// must not block on a full pipe nor cost memory).
async fn capture<R: AsyncRead + Unpin>(mut r: R, keep: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = keep.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// The whole output, or why not: past `cap` bytes the run is an error.
async fn read_capped<R: AsyncRead + Unpin>(mut r: R, cap: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) => return Ok(out),
            Ok(n) => {
                if out.len() as u64 + n as u64 > cap {
                    return Err(format!(
                        "output larger than the {cap} byte cap (max_output_bytes); the command was killed"
                    ));
                }
                out.extend_from_slice(&buf[..n]);
            }
            Err(e) => return Err(format!("cannot read the output: {e}")),
        }
    }
}

/// The output as the document signals read: `parse` after the optional `regex`.
fn parse(out: &[u8], src: &Source) -> Result<Json, String> {
    let Ok(text) = std::str::from_utf8(out) else {
        return Err("the output is not UTF-8 text".into());
    };
    let re = match src.regex.as_deref().map(regex::Regex::new) {
        None => None,
        Some(Ok(re)) => Some(re),
        Some(Err(_)) => return Err("`regex` does not compile".into()),
    };
    let group = |s: &str| -> Option<String> {
        match &re {
            None => Some(s.to_string()),
            Some(re) => re
                .captures(s)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string()),
        }
    };
    let mode = src.parse.unwrap_or_default();
    if mode == Parse::Lines {
        let lines = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .filter_map(group)
            .map(Json::String)
            .collect();
        return Ok(Json::Array(lines));
    }
    let Some(value) = group(text) else {
        return Err(format!(
            "the output does not match `regex` (output: {})",
            shown(text)
        ));
    };
    let value = value.trim();
    match mode {
        Parse::Json => {
            if value.is_empty() {
                return Err("no output (expected JSON)".into());
            }
            serde_json::from_str(value)
                .map_err(|e| format!("the output is not JSON ({e}): {}", shown(value)))
        }
        Parse::Number => match value.parse::<f64>() {
            Ok(n) if n.is_finite() => serde_json::Number::from_f64(n)
                .map(Json::Number)
                .ok_or_else(|| "the output is not a finite number".into()),
            _ if value.is_empty() => Err("no output (expected a number)".into()),
            _ => Err(format!("the output is not a number: {}", shown(value))),
        },
        Parse::Text => Ok(Json::String(value.to_string())),
        Parse::Lines => Ok(Json::Null),
    }
}

/// A piece of output for an error message: quoted, one line, short, redacted.
fn shown(s: &str) -> String {
    let e = excerpt(s);
    let e = if e.chars().count() > 40 {
        format!("{}…", e.chars().take(40).collect::<String>())
    } else {
        e
    };
    format!("{e:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_has_no_escape_sequence_left_not_even_its_tail() {
        let e = excerpt(
            "\u{1b}[31mError:\u{1b}[0m denied\r\n\u{1b}]0;title\u{7}next\u{1b}]8;;x\u{1b}\\ok\u{7}",
        );
        assert_eq!(e, "Error: denied nextok");
    }
}
