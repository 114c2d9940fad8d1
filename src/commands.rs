//! What each command does, from parsed arguments to an exit code.

use crate::check::{run_check, CheckOptions};
use crate::cli::{CheckArgs, Cli, Command, InitArgs, UiArgs, ValidateArgs, WatchArgs};
use crate::config::{self, duration::parse_duration, Config};
use crate::runtime::{current_user, run_watch, WatchOptions};
use crate::sample::Ts;
use crate::secrets::{RedactWriter, Redactor};
use crate::theme::{ColorDepth, Theme, ThemeOptions};
use chrono::{DateTime, Utc};
use std::io::IsTerminal;
use std::sync::Arc;

pub const EXIT_USAGE: i32 = 2;

pub async fn run(cli: Cli) -> i32 {
    // Every command: a panic restores the terminal and its message is redacted.
    crate::terminal::install_panic_hook();
    let result = match cli.command {
        None => watch(cli.watch).await,
        Some(Command::Watch(a)) => watch(a).await,
        Some(Command::Check(a)) => check(a).await,
        Some(Command::Validate(a)) => validate(a),
        Some(Command::Init(a)) => init(a),
        Some(Command::Report(a)) => {
            // A recording is redacted when written; this is for one made otherwise.
            let mut out = RedactWriter::new(std::io::stdout().lock(), crate::secrets::global());
            crate::report::run(
                &a.file,
                a.format == crate::cli::ReportFormat::Json,
                a.session.as_deref(),
                &mut out,
            )
        }
        Some(Command::Replay(a)) => replay(a).await,
        Some(Command::Demo(a)) => crate::demo::run(a).await,
        Some(Command::Sim(a)) => crate::sim::cli::run(a).await,
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("warroom: {}", crate::secrets::redact(&msg));
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
    let mut cfg = cfg;
    let (redactor, warnings) = secure(&mut cfg)?;
    let redact = redactor.into_fn();
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

/// Hides every secret the config carries from anything shown or written: what the
/// loader marked while it read the text (so a config from a pipe is covered like a
/// file), credential headers and URL credentials, secret-named command env, token files
/// (read here; their token becomes the source's Authorization header), and the
/// environment's secret-named variables. The redactor becomes the process's (log file,
/// panic messages, errors) and the config's shown-only texts are redacted in place.
/// Returns the redactor and warnings to show (e.g. a group-readable token file).
pub fn secure(cfg: &mut Config) -> Result<(Arc<Redactor>, Vec<String>), String> {
    let mut r = Redactor::from_config(cfg);
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
    let r = crate::secrets::install(&r);
    redact_shown_text(cfg, &r);
    let warnings = warnings.iter().map(|w| r.redact(w)).collect();
    Ok((r, warnings))
}

/// The config's texts that are only ever shown (names, labels, units, advice, steps,
/// checklist items): redacted once here, so that no screen, report or audit line shows a
/// secret a `${VAR}` put into one. What is sent (URLs, headers, bodies, argv) stays.
fn redact_shown_text(cfg: &mut Config, r: &Redactor) {
    if r.is_empty() {
        return;
    }
    let one = |s: &mut String| {
        let shown = r.redact(s);
        if shown != *s {
            *s = shown;
        }
    };
    let opt = |s: &mut Option<String>| {
        if let Some(s) = s {
            one(s)
        }
    };
    one(&mut cfg.cutover.name);
    opt(&mut cfg.cutover.environment);
    cfg.cutover
        .phase_rules
        .iter_mut()
        .for_each(|p| one(&mut p.name));
    for s in &mut cfg.signals {
        opt(&mut s.label);
        opt(&mut s.unit);
        opt(&mut s.advice.ok);
        opt(&mut s.advice.warn);
        opt(&mut s.advice.crit);
    }
    for s in &mut cfg.steps {
        one(&mut s.title);
        opt(&mut s.phase);
        s.checklist.iter_mut().for_each(one);
    }
    cfg.actions.iter_mut().for_each(|a| one(&mut a.label));
}

/// A value with every string in it redacted (a recording read back, for its screen).
fn scrub<T: serde::Serialize + serde::de::DeserializeOwned>(t: T, r: &Redactor) -> T {
    match serde_json::to_value(&t) {
        Ok(mut v) => {
            r.redact_json(&mut v);
            serde_json::from_value(v).unwrap_or(t)
        }
        Err(_) => t,
    }
}

async fn check(a: CheckArgs) -> Result<i32, String> {
    crate::logging::init(a.log_file.as_deref())?;
    let mut cfg = load_config(&a.config)?;
    let (redactor, warnings) = secure(&mut cfg)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let redact = Arc::clone(&redactor).into_fn();
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
    // Text and JSON alike: a server's words (an error echoing the URL) pass the redactor.
    let mut out = RedactWriter::new(std::io::stdout().lock(), redactor);
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
    let mut rec = chosen
        .pop()
        .ok_or_else(|| format!("{shown}: no session in it"))?;
    if sessions > 1 && a.session.is_none() {
        eprintln!(
            "note: {shown} holds {sessions} sessions; replaying the last ({}); choose with --session",
            rec.session().unwrap_or("no id")
        );
    }
    for (n, why) in &rec.bad {
        let why = crate::secrets::redact(why);
        eprintln!("warning: {shown}: line {n}: {why}; skipped");
    }
    // Redacted when written; this is for a recording made otherwise.
    let r = crate::secrets::global();
    rec.lines = std::mem::take(&mut rec.lines)
        .into_iter()
        .map(|l| scrub(l, &r))
        .collect();
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
    let mut out = RedactWriter::new(std::io::stdout().lock(), crate::secrets::global());
    Ok(config::run_validate(&a.config, &mut out))
}
