//! What each command does, from parsed arguments to an exit code.

use crate::check::{run_check, CheckOptions};
use crate::cli::{CheckArgs, Cli, Command, UiArgs, ValidateArgs, WatchArgs};
use crate::config::{self, duration::parse_duration, Config};
use crate::runtime::{current_user, run_watch, WatchOptions};
use crate::sample::Ts;
use crate::theme::{ColorDepth, Theme, ThemeOptions};
use chrono::{DateTime, Utc};
use std::io::IsTerminal;
use std::sync::Arc;

pub const EXIT_USAGE: i32 = 2;

pub async fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        None => watch(cli.watch).await,
        Some(Command::Watch(a)) => watch(a).await,
        Some(Command::Check(a)) => check(a).await,
        Some(Command::Validate(a)) => validate(a),
        Some(Command::Demo(a)) => crate::demo::run(a).await,
        Some(Command::Sim(a)) => crate::demo::run_sim(a).await,
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("warroom: {msg}");
            EXIT_USAGE
        }
    }
}

/// `--t0` beats the config; `now` is now.
pub fn resolve_t0(flag: Option<&str>, cfg: &Config, now: Ts) -> Result<Option<Ts>, String> {
    let parse = |s: &str, from: &str| -> Result<Ts, String> {
        if s.trim() == "now" {
            return Ok(now);
        }
        DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("{from}: `{s}` is not an RFC 3339 time ({e}); write e.g. 2026-11-25T21:00:00Z or `now`"))
    };
    match (flag, cfg.cutover.t0.as_deref()) {
        (Some(f), _) => parse(f, "--t0").map(Some),
        (None, Some(c)) => parse(c, "[cutover] t0").map(Some),
        (None, None) => Ok(None),
    }
}

pub fn load_theme(ui: &UiArgs, cfg: &Config) -> Result<Theme, String> {
    let env = |k: &str| std::env::var(k).ok();
    let no_color = ui.no_color || env("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ascii = ui.ascii || cfg.ui.ascii;
    let name = ui.theme.as_deref().or(cfg.ui.theme.as_deref());
    Theme::load(
        name,
        ThemeOptions {
            no_color,
            ascii,
            depth: ColorDepth::detect(&env),
        },
    )
    .map_err(|e| e.to_string())
}

pub fn load_config(path: &std::path::Path) -> Result<Config, String> {
    config::load_file(path).map_err(|e| match e {
        config::ConfigError::Invalid(problems) => format!(
            "{} has {} problem(s):\n{}\n(run `warroom validate -c {}` for the full list)",
            path.display(),
            problems.len(),
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
            path.display()
        ),
        other => other.to_string(),
    })
}

async fn watch(a: WatchArgs) -> Result<i32, String> {
    crate::logging::init(a.ui.log_file.as_deref())?;
    let Some(path) = a.config.as_deref() else {
        return Err(
            "no config given: `warroom -c cutover.toml`, or try `warroom demo` (see --help)".into(),
        );
    };
    let cfg = load_config(path)?;
    if !std::io::stdout().is_terminal() {
        return Err("stdout is not a terminal: the dashboard needs one. For scripts and pipes use `warroom check -c FILE` (one poll, or --window).".into());
    }
    dashboard(cfg, &a.ui).await
}

/// The dashboard on a loaded config (watch and demo).
pub async fn dashboard(cfg: Config, ui: &UiArgs) -> Result<i32, String> {
    let t0 = resolve_t0(ui.t0.as_deref(), &cfg, Utc::now())?;
    let theme = load_theme(ui, &cfg)?;
    let cfg_arc = Arc::new(cfg);
    let code = run_watch(WatchOptions {
        cfg: Arc::clone(&cfg_arc),
        t0,
        theme,
        read_only: ui.read_only,
        user: current_user(),
        audit_log: ui.audit_log.clone(),
        redact: redactor(&cfg_arc),
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(code)
}

/// Hides every secret the config carries from anything shown or written.
pub fn redactor(cfg: &Config) -> crate::session::Redact {
    let mut secrets: Vec<String> = Vec::new();
    let mut add = |v: &str| {
        let v = v.trim();
        if v.len() >= 4 {
            secrets.push(v.to_string());
            if let Some((_, cred)) = v.split_once(' ') {
                if cred.trim().len() >= 4 {
                    secrets.push(cred.trim().to_string());
                }
            }
        }
    };
    let secretish = |name: &str| {
        let n = name.to_ascii_lowercase();
        ["auth", "cookie", "token", "secret", "key", "password"]
            .iter()
            .any(|w| n.contains(w))
    };
    for s in &cfg.sources {
        s.headers.iter().filter(|(k, _)| secretish(k)).for_each(|(_, v)| add(v));
    }
    for a in &cfg.actions {
        if let Some(r) = &a.request {
            r.headers.iter().filter(|(k, _)| secretish(k)).for_each(|(_, v)| add(v));
        }
        if let Some(c) = &a.command {
            c.env.iter().filter(|(k, _)| secretish(k)).for_each(|(_, v)| add(v));
        }
    }
    // Longest first, so a credential inside a longer value is not half-replaced.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    Arc::new(move |text: &str| {
        let mut out = text.to_string();
        for s in &secrets {
            out = out.replace(s.as_str(), "***");
        }
        out
    })
}

async fn check(a: CheckArgs) -> Result<i32, String> {
    crate::logging::init(a.log_file.as_deref())?;
    let cfg = load_config(&a.config)?;
    let window = a
        .window
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| format!("--window: {e}"))?;
    let interval = parse_duration(&a.interval).map_err(|e| format!("--interval: {e}"))?;
    if interval.is_zero() {
        return Err("--interval must be more than 0".into());
    }
    let mut out = std::io::stdout().lock();
    run_check(
        CheckOptions {
            cfg: Arc::new(cfg),
            window,
            interval,
            format: a.format,
        },
        &mut out,
    )
    .await
    .map_err(|e| e.to_string())
}

fn validate(a: ValidateArgs) -> Result<i32, String> {
    let mut out = std::io::stdout().lock();
    Ok(config::run_validate(&a.config, &mut out))
}
