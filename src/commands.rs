//! What each command does, from parsed arguments to an exit code.

use crate::check::{run_check, CheckOptions};
use crate::cli::{CheckArgs, Cli, Command, InitArgs, UiArgs, ValidateArgs, WatchArgs};
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
        Some(Command::Init(a)) => init(a),
        Some(Command::Report(a)) => {
            let mut out = std::io::stdout().lock();
            crate::report::run(
                &a.file,
                a.format == crate::cli::ReportFormat::Json,
                a.session.as_deref(),
                &mut out,
            )
        }
        Some(Command::Replay(a)) => replay(a).await,
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
    let text = std::fs::read_to_string(path).ok();
    dashboard(cfg, text.as_deref(), &a.ui).await
}

/// The dashboard on a loaded config (watch and demo).
pub async fn dashboard(cfg: Config, config_text: Option<&str>, ui: &UiArgs) -> Result<i32, String> {
    let t0 = resolve_t0(ui.t0.as_deref(), &cfg, Utc::now())?;
    let theme = load_theme(ui, &cfg)?;
    let mut cfg = cfg;
    let (redact, warnings) = secure(&mut cfg, config_text)?;
    let cfg_arc = Arc::new(cfg);
    let code = run_watch(WatchOptions {
        cfg: Arc::clone(&cfg_arc),
        t0,
        theme,
        read_only: ui.read_only,
        user: current_user(),
        audit_log: ui.audit_log.clone(),
        redact,
        warnings,
        record: ui.record.clone(),
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(code)
}

/// Hides every secret the config carries from anything shown or written: secret
/// headers, secret-named command env, the values of secret-named `${VARS}`, and token
/// files (read here; their token becomes the source's Authorization header).
/// Returns the redactor and warnings to show (e.g. a group-readable token file).
pub fn secure(
    cfg: &mut Config,
    config_text: Option<&str>,
) -> Result<(crate::session::Redact, Vec<String>), String> {
    let mut r = crate::secrets::Redactor::from_config(cfg);
    if let Some(text) = config_text {
        r.add_env_refs(text, &|k| std::env::var(k).ok());
    }
    let mut warnings = Vec::new();
    for s in &mut cfg.sources {
        if let Some(path) = s.token_file.clone() {
            let (token, warn) = crate::secrets::read_token_file(std::path::Path::new(&path))
                .map_err(|e| format!("source {}: {e}", s.id))?;
            warnings.extend(warn);
            r.add_secret(&token);
            s.headers
                .insert("Authorization".into(), format!("Bearer {}", token.expose()));
        }
    }
    for a in &cfg.actions {
        if let Some(path) = a.request.as_ref().and_then(|q| q.token_file.as_deref()) {
            match crate::secrets::read_token_file(std::path::Path::new(path)) {
                Ok((token, warn)) => {
                    warnings.extend(warn);
                    r.add_secret(&token);
                }
                // Not fatal here: the action refuses to send and says why when fired.
                Err(e) => warnings.push(format!("action {}: {e}", a.id)),
            }
        }
    }
    let r = Arc::new(r);
    Ok((Arc::new(move |t: &str| r.redact(t)), warnings))
}

async fn check(a: CheckArgs) -> Result<i32, String> {
    crate::logging::init(a.log_file.as_deref())?;
    let mut cfg = load_config(&a.config)?;
    let text = std::fs::read_to_string(&a.config).ok();
    let (redact, warnings) = secure(&mut cfg, text.as_deref())?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let window = a
        .window
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| format!("--window: {e}"))?;
    let interval = a
        .interval
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| format!("--interval: {e}"))?;
    if interval.is_some_and(|i| i.is_zero()) {
        return Err("--interval must be more than 0".into());
    }
    let mut out = std::io::stdout().lock();
    run_check(
        CheckOptions {
            cfg: Arc::new(cfg),
            window,
            interval,
            format: a.format,
            record: a.record.clone(),
            redact,
        },
        &mut out,
    )
    .await
    .map_err(|e| e.to_string())
}

async fn replay(a: crate::cli::ReplayArgs) -> Result<i32, String> {
    crate::logging::init(a.ui.log_file.as_deref())?;
    if !(a.speed > 0.0 && a.speed.is_finite()) {
        return Err("--speed must be a positive number".into());
    }
    let all = crate::record::read_all(&a.file).map_err(|e| e.to_string())?;
    let sessions = all.len();
    let shown = a.file.display().to_string();
    let mut chosen = crate::report::select(all, a.session.as_deref(), &shown)?;
    // Without --session, the most recent session: the one just recorded.
    let rec = chosen
        .pop()
        .ok_or_else(|| format!("{shown}: no session in it"))?;
    if sessions > 1 && a.session.is_none() {
        eprintln!(
            "note: {shown} holds {sessions} sessions; replaying the last ({}); choose with --session",
            rec.session().unwrap_or("no id")
        );
    }
    for (n, why) in &rec.bad {
        eprintln!("warning: {shown}: line {n}: {why}; skipped");
    }
    let replayer = crate::replay::Replayer::new(rec)?;
    if !std::io::stdout().is_terminal() {
        return Err("stdout is not a terminal: replay needs one; for the evidence use `warroom report FILE`".into());
    }
    let theme = load_theme(&a.ui, replayer.config())?;
    crate::runtime::run_replay(replayer, theme, a.speed)
        .await
        .map_err(|e| e.to_string())
}

fn init(a: InitArgs) -> Result<i32, String> {
    if a.list {
        print!("{}", crate::presets::list());
        return Ok(0);
    }
    let name = a.preset.unwrap_or_default();
    match crate::presets::get(&name) {
        Some(text) => {
            print!("{text}");
            Ok(0)
        }
        None => {
            let names = crate::presets::names();
            let hint = crate::config::schema::did_you_mean(&name, names.iter().copied())
                .map(|m| format!(" — did you mean `{m}`?"))
                .unwrap_or_default();
            Err(format!(
                "no preset `{name}`{hint} (presets: {})",
                names.join(", ")
            ))
        }
    }
}

fn validate(a: ValidateArgs) -> Result<i32, String> {
    let mut out = std::io::stdout().lock();
    Ok(config::run_validate(&a.config, &mut out))
}
