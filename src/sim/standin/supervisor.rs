//! The `supervisorctl` and `sudo` stand-ins, for the backend restart of a `.env` rollback
//! (`sudo -n supervisorctl restart backend`).
//!
//! `supervisorctl restart NAME` → `NAME: stopped` / `NAME: started` (the simulated backend
//! reads its `.env` again); `status [NAME]` → `NAME   RUNNING   pid N, uptime H:MM:SS`;
//! an unknown name → `NAME: ERROR (no such process)`, exit 1; no simulator →
//! `unix:///var/run/supervisor.sock no such file`, exit 2.
//!
//! `sudo [-n] [-u USER] [-E] [--] PROGRAM ARGS…` runs PROGRAM when it is one of the
//! stand-ins (with no more privilege than before: there is none to give); anything else is
//! refused as `sudo -n` refuses without a password (`sudo: a password is required`, exit 1),
//! so a drill never runs a real privileged command.

use super::{run, Control, Env, Output, Tool, Unreachable};

fn no_socket(u: Unreachable) -> Output {
    Output::fail(
        2,
        format!("unix:///var/run/supervisor.sock no such file\n{}", u.hint()),
    )
}

fn uptime(s: i64) -> String {
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

pub(crate) async fn supervisorctl(args: &[String], env: Env<'_>) -> Output {
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') {
        if matches!(
            args[i].as_str(),
            "-c" | "--configuration" | "-s" | "--serverurl" | "-u" | "-p"
        ) {
            i += 1;
        }
        i += 1;
    }
    let action = args.get(i).map(String::as_str);
    let names: Vec<&String> = args.iter().skip(i + 1).collect();
    let control = match Control::from_env(env) {
        Ok(c) => c,
        Err(u) => return no_socket(u),
    };
    match action {
        Some("restart") if !names.is_empty() => {
            let mut out = Output::default();
            for name in names {
                let r = match control
                    .post(
                        &format!("/__sim/supervisor/{name}/restart"),
                        &[],
                        &serde_json::Value::Null,
                    )
                    .await
                {
                    Ok(r) => r,
                    Err(u) => return no_socket(u),
                };
                if r.status == 200 {
                    out.stdout
                        .extend_from_slice(format!("{name}: stopped\n{name}: started\n").as_bytes());
                } else {
                    let e = r.body["error"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("{name}: ERROR (no such process)"));
                    out.stdout.extend_from_slice(format!("{e}\n").as_bytes());
                    out.code = 1;
                }
            }
            out
        }
        Some("status") => {
            let list: Vec<String> = if names.is_empty() {
                match control.get("/__sim/state", &[]).await {
                    Ok(r) => r.body["stand_ins"]["programs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect(),
                    Err(u) => return no_socket(u),
                }
            } else {
                names.iter().map(|n| n.to_string()).collect()
            };
            let mut out = Output::default();
            for name in list {
                let r = match control.get(&format!("/__sim/supervisor/{name}"), &[]).await {
                    Ok(r) => r,
                    Err(u) => return no_socket(u),
                };
                let line = if r.status == 200 {
                    format!(
                        "{name:<33}{:<10}pid {}, uptime {}\n",
                        r.body["state"].as_str().unwrap_or("RUNNING"),
                        r.body["pid"],
                        uptime(r.body["uptime_s"].as_i64().unwrap_or(0))
                    )
                } else {
                    out.code = 4;
                    format!("{name}: ERROR (no such process)\n")
                };
                out.stdout.extend_from_slice(line.as_bytes());
            }
            out
        }
        Some("start") if !names.is_empty() => Output {
            stdout: names
                .iter()
                .map(|n| format!("{n}: ERROR (already started)\n"))
                .collect::<String>()
                .into_bytes(),
            stderr: Vec::new(),
            code: 1,
        },
        _ => Output::fail(
            2,
            "the warroom stand-in supervisorctl serves: restart NAME…, status [NAME…], start NAME…\n",
        ),
    }
}

pub(crate) async fn sudo(args: &[String], env: Env<'_>) -> Output {
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') {
        match args[i].as_str() {
            "--" => {
                i += 1;
                break;
            }
            "-u" | "-g" | "--user" | "--group" => i += 2,
            _ => i += 1,
        }
    }
    let Some(program) = args.get(i) else {
        return Output::fail(1, "usage: sudo [-n] [-u user] command [args]\n");
    };
    match Tool::from_program(std::ffi::OsStr::new(program)) {
        Some(t) if t != Tool::Sudo => run(t, &args[i + 1..], env).await,
        _ => Output::fail(1, "sudo: a password is required\n"),
    }
}
