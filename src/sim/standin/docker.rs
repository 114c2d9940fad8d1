//! The `docker` stand-in: `docker logs [--since D] [--until D] [--tail N|-n N]
//! [-t|--timestamps] NAME` and `docker ps`. Logs come out as Docker prints them: the
//! container's stdout lines on stdout and its stderr lines on stderr (so
//! `docker logs NAME | grep -i error` sees only stdout, as with the real CLI — add `2>&1`).
//! Errors as the CLI words them, exit 1: `Error response from daemon: No such container: …`,
//! `Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon
//! running?` when the simulator is not there.

use super::{take_value, Control, Env, Output, Unreachable};
use chrono::{DateTime, Utc};
use serde_json::Value;

fn daemon_down(u: Unreachable) -> Output {
    Output::fail(
        1,
        format!(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n{}",
            u.hint()
        ),
    )
}

/// `--since`/`--until`: a Go duration before now (`5m`, `1h30m`, `90s`, `1.5h`), an
/// RFC 3339 time, a date, or epoch seconds.
pub(crate) fn parse_time(v: &str, now_s: f64) -> Option<f64> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(n) = v.parse::<f64>() {
        return Some(n);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp_millis() as f64 / 1000.0);
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S") {
        return Some(t.and_utc().timestamp() as f64);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp() as f64);
    }
    go_duration(v).map(|d| now_s - d)
}

/// Seconds in a Go duration string (`1h30m`, `300ms`, `2.5s`).
fn go_duration(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let (mut i, mut total, mut any) = (0, 0.0, false);
    while i < b.len() {
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let n: f64 = s[start..i].parse().ok()?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = match &s[ustart..i] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * unit;
        any = true;
    }
    any.then_some(total)
}

fn logs_usage() -> Output {
    Output::fail(
        1,
        "\"docker logs\" requires exactly 1 argument.\nSee 'docker logs --help'.\n\nUsage:  docker logs [OPTIONS] CONTAINER\n\nFetch the logs of a container\n",
    )
}

pub(crate) async fn run(args: &[String], env: Env<'_>) -> Output {
    // Global options before the command (`--host`, `--context`…) are read and ignored.
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') {
        if matches!(
            args[i].as_str(),
            "-H" | "--host" | "-c" | "--context" | "--config" | "-l" | "--log-level"
        ) {
            i += 1;
        }
        i += 1;
    }
    match args.get(i).map(String::as_str) {
        Some("logs") => logs(&args[i + 1..], env).await,
        Some("ps") => ps(env).await,
        Some("--version") | Some("version") => {
            Output::ok("Docker version 26.1.4, build 5650f9b (warroom stand-in)\n")
        }
        Some(other) => Output::fail(
            1,
            format!(
                "docker: '{other}' is not a docker command served by the warroom stand-in (it serves logs and ps).\nSee 'docker --help'\n"
            ),
        ),
        None => Output::fail(1, "Usage:  docker [OPTIONS] COMMAND\n"),
    }
}

async fn logs(args: &[String], env: Env<'_>) -> Output {
    let (mut since, mut until, mut tail, mut stamps) = (None, None, None, false);
    let mut names = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let opt = |name: &str, i: &mut usize| take_value(args, i, name);
        if let Some(v) = opt("--since", &mut i) {
            since = Some(match v {
                Ok(v) => v,
                Err(e) => return Output::fail(1, format!("{e}\n")),
            });
        } else if let Some(v) = opt("--until", &mut i) {
            until = Some(match v {
                Ok(v) => v,
                Err(e) => return Output::fail(1, format!("{e}\n")),
            });
        } else if let Some(v) = opt("--tail", &mut i).or_else(|| opt("-n", &mut i)) {
            tail = Some(match v {
                Ok(v) => v,
                Err(e) => return Output::fail(1, format!("{e}\n")),
            });
        } else if a == "-t" || a == "--timestamps" {
            stamps = true;
        } else if a == "--details" {
        } else if a == "-f" || a == "--follow" {
            return Output::fail(
                1,
                "the warroom stand-in does not follow logs (-f): give --since instead\n",
            );
        } else if a.starts_with('-') && a.len() > 1 {
            return Output::fail(1, format!("unknown flag: {a}\nSee 'docker logs --help'.\n"));
        } else {
            names.push(a.clone());
        }
        i += 1;
    }
    let [name] = names.as_slice() else {
        return logs_usage();
    };
    let now_s = Utc::now().timestamp_millis() as f64 / 1000.0;
    let mut query = Vec::new();
    for (key, v) in [("since", &since), ("until", &until)] {
        if let Some(v) = v {
            match parse_time(v, now_s) {
                Some(t) => query.push((key, format!("{t:.3}"))),
                None => {
                    return Output::fail(
                        1,
                        format!(
                            "invalid value for \"{key}\": failed to parse value as time or duration: \"{v}\"\n"
                        ),
                    )
                }
            }
        }
    }
    if let Some(t) = &tail {
        if t != "all" && t.parse::<i64>().is_err() {
            return Output::fail(
                1,
                format!("Error response from daemon: invalid value for \"tail\": \"{t}\"\n"),
            );
        }
        query.push(("tail", t.clone()));
    }
    let control = match Control::from_env(env) {
        Ok(c) => c,
        Err(u) => return daemon_down(u),
    };
    let reply = match control
        .get(&format!("/__sim/docker/containers/{name}/logs"), &query)
        .await
    {
        Ok(r) => r,
        Err(u) => return daemon_down(u),
    };
    if reply.status != 200 {
        let msg = reply.body["message"]
            .as_str()
            .unwrap_or("unexpected answer");
        return Output::fail(1, format!("Error response from daemon: {msg}\n"));
    }
    let mut out = Output::default();
    for line in reply.body["lines"].as_array().into_iter().flatten() {
        let text = line["log"].as_str().unwrap_or("");
        let buf = if line["stream"] == "stderr" {
            &mut out.stderr
        } else {
            &mut out.stdout
        };
        if stamps {
            buf.extend_from_slice(line["time"].as_str().unwrap_or("").as_bytes());
            buf.push(b' ');
        }
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'\n');
    }
    out
}

async fn ps(env: Env<'_>) -> Output {
    let control = match Control::from_env(env) {
        Ok(c) => c,
        Err(u) => return daemon_down(u),
    };
    let reply = match control.get("/__sim/docker/containers", &[]).await {
        Ok(r) => r,
        Err(u) => return daemon_down(u),
    };
    let mut out = format!(
        "{:<14}{:<26}{:<26}{:<20}{}\n",
        "CONTAINER ID", "IMAGE", "COMMAND", "STATUS", "NAMES"
    );
    for (k, c) in reply.body.as_array().into_iter().flatten().enumerate() {
        let s = |key: &str| c.get(key).and_then(Value::as_str).unwrap_or("").to_string();
        out.push_str(&format!(
            "{:<14}{:<26}{:<26}{:<20}{}\n",
            format!("{:012x}", 0x5a1d_0000_0000u64 + k as u64),
            s("Image"),
            "\"docker-entrypoint.s…\"",
            s("Status"),
            s("Names"),
        ));
    }
    Output::ok(out)
}
