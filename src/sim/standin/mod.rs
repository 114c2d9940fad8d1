//! Stand-ins for the CLIs the presets call — `aws`, `docker`, `mongosh`, `supervisorctl` and
//! `sudo` — answering from a running simulator's state with the real programs' output shapes
//! and exit codes. They are fixtures for drills and tests, never the real thing.
//!
//! The warroom binary itself is the stand-in: run under one of those names (a symlink), it
//! answers as that program (`dispatch`, called first thing in `main`). `warroom demo` and the
//! tests make a private temporary directory of such symlinks (`Standins`) and set
//! `WARROOM_SIM_CONTROL` to the simulator's control URL: the demo on its own `PATH` (every
//! command it runs inherits it), the tests on each command's, as they drive several
//! simulators in one process. `warroom sim --standins DIR` links them (the same `install`)
//! into a directory of your choice for a drill by hand. Outside those, no stand-in is ever on `PATH`, and one run without
//! `WARROOM_SIM_CONTROL` says so and fails.
//!
//! Why a symlinked binary: nothing to install or keep in step (no script that needs curl or
//! python on the user's machine), and the output shapes live next to the simulator that
//! feeds them, tested together.

mod aws;
mod docker;
mod jmespath;
mod js;
mod mongosh;
mod mquery;
mod supervisor;
#[cfg(test)]
mod tests;

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The simulator's control URL, e.g. `http://127.0.0.1:40123`.
pub const CONTROL_ENV: &str = "WARROOM_SIM_CONTROL";

/// The programs there is a stand-in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Aws,
    Docker,
    Mongosh,
    Supervisorctl,
    Sudo,
}

impl Tool {
    pub const ALL: [Tool; 5] = [
        Tool::Aws,
        Tool::Docker,
        Tool::Mongosh,
        Tool::Supervisorctl,
        Tool::Sudo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Aws => "aws",
            Tool::Docker => "docker",
            Tool::Mongosh => "mongosh",
            Tool::Supervisorctl => "supervisorctl",
            Tool::Sudo => "sudo",
        }
    }

    /// The tool a program name (`argv[0]`, a path or not) stands for.
    pub fn from_program(argv0: &OsStr) -> Option<Tool> {
        let name = Path::new(argv0).file_name()?.to_str()?;
        Tool::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// What a stand-in run prints and exits with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: i32,
}

impl Output {
    pub(crate) fn ok(stdout: impl Into<Vec<u8>>) -> Self {
        Output {
            stdout: stdout.into(),
            stderr: Vec::new(),
            code: 0,
        }
    }

    pub(crate) fn fail(code: i32, stderr: impl Into<Vec<u8>>) -> Self {
        Output {
            stdout: Vec::new(),
            stderr: stderr.into(),
            code,
        }
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The environment a run sees (the process's, or a test's).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Runs `tool` with `args` (without the program name).
pub async fn run(tool: Tool, args: &[String], env: Env<'_>) -> Output {
    match tool {
        Tool::Aws => aws::run(args, env).await,
        Tool::Docker => docker::run(args, env).await,
        Tool::Mongosh => mongosh::run(args, env).await,
        Tool::Supervisorctl => supervisor::supervisorctl(args, env).await,
        Tool::Sudo => Box::pin(supervisor::sudo(args, env)).await,
    }
}

/// When this process was started under a stand-in's name: runs it, writes its output and
/// returns the exit code. `None`: it is warroom.
pub fn dispatch() -> Option<i32> {
    let mut argv = std::env::args_os();
    let tool = Tool::from_program(&argv.next()?)?;
    let args: Vec<String> = argv.map(|a| a.to_string_lossy().into_owned()).collect();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}: cannot start: {e}", tool.name());
            return Some(1);
        }
    };
    let env = |k: &str| std::env::var(k).ok();
    let out = rt.block_on(run(tool, &args, &env));
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(&out.stdout);
    let _ = std::io::stderr().lock().write_all(&out.stderr);
    Some(out.code)
}

// ---- the simulator's control address ----

/// Why the control address gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unreachable {
    /// `WARROOM_SIM_CONTROL` is not set.
    NotSet,
    /// Nothing answered there.
    Down(String),
}

impl Unreachable {
    /// The line a stand-in adds under the real program's own message.
    pub fn hint(&self) -> String {
        match self {
            Unreachable::NotSet => format!(
                "(warroom stand-in: {CONTROL_ENV} is not set; the stand-ins answer for a running `warroom sim`)\n"
            ),
            Unreachable::Down(why) => {
                format!("(warroom stand-in: the simulator's control address did not answer: {why})\n")
            }
        }
    }
}

/// An answer of the control address: status and JSON body.
pub(crate) struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
}

pub(crate) struct Control {
    base: String,
    client: reqwest::Client,
}

impl Control {
    pub fn from_env(env: Env<'_>) -> Result<Control, Unreachable> {
        let base = env(CONTROL_ENV)
            .map(|s| s.trim().trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .ok_or(Unreachable::NotSet)?;
        let base = if base.contains("://") {
            base
        } else {
            format!("http://{base}")
        };
        let client = reqwest::Client::builder()
            // The control address is on loopback: never through a proxy.
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Unreachable::Down(e.to_string()))?;
        Ok(Control { base, client })
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Result<Reply, Unreachable> {
        let resp = rb
            .send()
            .await
            .map_err(|e| Unreachable::Down(format!("{}: {e}", self.base)))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Unreachable::Down(e.to_string()))?;
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Ok(Reply { status, body })
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Reply, Unreachable> {
        self.send(self.client.get(format!("{}{path}", self.base)).query(query))
            .await
    }

    pub async fn post(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: &serde_json::Value,
    ) -> Result<Reply, Unreachable> {
        let mut rb = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            rb = rb.header(*k, v);
        }
        self.send(rb).await
    }
}

// ---- putting them on PATH ----

/// A private directory of stand-in symlinks (to the warroom binary) for one drill or test,
/// removed when dropped.
#[derive(Debug)]
pub struct Standins {
    dir: tempfile::TempDir,
    control_url: String,
}

impl Standins {
    /// Links every stand-in to `exe` (the warroom binary) in a fresh private directory.
    pub fn create(exe: &Path, control_url: &str) -> io::Result<Standins> {
        let dir = tempfile::Builder::new()
            .prefix("warroom-standins-")
            .tempdir()?;
        install(dir.path(), exe)?;
        Ok(Standins {
            dir,
            control_url: control_url.to_string(),
        })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `PATH` with the stand-ins first, then `path` (the current one, usually).
    pub fn path_env(&self, path: Option<&OsStr>) -> OsString {
        let mut dirs = vec![self.dir.path().to_path_buf()];
        if let Some(p) = path {
            dirs.extend(std::env::split_paths(p));
        }
        std::env::join_paths(dirs).unwrap_or_else(|_| self.dir.path().as_os_str().to_owned())
    }

    /// Puts the stand-ins first on this process's `PATH` and sets the control URL, so every
    /// command it runs from now on (they inherit the environment) meets the stand-ins.
    ///
    /// For a process that drills one simulator (`warroom demo`). Call it before the process
    /// starts anything that reads the environment from other threads (polls, DNS lookups):
    /// changing it under them is a data race. Tests in one process drive several simulators
    /// at once, so they give each command its own `env()` instead.
    pub fn export_to_process(&self) {
        for (k, v) in self.env() {
            std::env::set_var(k, v);
        }
    }

    /// What a command run in the drill needs: `PATH` with the stand-ins first, the control
    /// URL, and a region when this process's environment names none.
    pub fn env(&self) -> Vec<(String, String)> {
        let path = std::env::var_os("PATH");
        let mut env = vec![
            (
                "PATH".into(),
                self.path_env(path.as_deref())
                    .to_string_lossy()
                    .into_owned(),
            ),
            (CONTROL_ENV.into(), self.control_url.clone()),
        ];
        if let Some((k, v)) = default_region() {
            env.push((k.into(), v.into()));
        }
        env
    }
}

/// `aws` refuses to run without a region, as the real CLI does: when this process's
/// environment names none, a drill gets the simulated account's (`AWS_DEFAULT_REGION`, so an
/// `AWS_REGION` given to one command still wins).
pub fn default_region() -> Option<(&'static str, &'static str)> {
    let unset = |k: &str| std::env::var_os(k).is_none_or(|v| v.is_empty());
    (unset("AWS_REGION") && unset("AWS_DEFAULT_REGION"))
        .then_some(("AWS_DEFAULT_REGION", super::vendor::aws::DEFAULT_REGION))
}

/// Links every stand-in in `dir` to `exe`. An existing entry is replaced only when it is
/// already a link to `exe`; anything else there (a real `aws`…) is refused, never touched.
pub fn install(dir: &Path, exe: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut made = Vec::new();
    for t in Tool::ALL {
        let link = dir.join(t.name());
        match std::fs::read_link(&link) {
            Ok(target) if target == exe => {
                made.push(link);
                continue;
            }
            Ok(_) | Err(_) if link.symlink_metadata().is_ok() => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not a warroom stand-in: not replaced",
                        link.display()
                    ),
                ));
            }
            _ => {}
        }
        std::os::unix::fs::symlink(exe, &link)?;
        made.push(link);
    }
    Ok(made)
}

/// The stand-ins' common option reading: `--name value` or `--name=value`.
pub(crate) fn take_value(
    args: &[String],
    i: &mut usize,
    name: &str,
) -> Option<Result<String, String>> {
    let a = &args[*i];
    if a == name {
        *i += 1;
        return Some(
            args.get(*i)
                .cloned()
                .ok_or_else(|| format!("argument {name}: expected one argument")),
        );
    }
    a.strip_prefix(name)
        .and_then(|r| r.strip_prefix('='))
        .map(|v| Ok(v.to_string()))
}
