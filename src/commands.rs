//! What each command does, from parsed arguments to an exit code.

use crate::check::{run_check, CheckOptions};
use crate::cli::{CheckArgs, Cli, Command, InitArgs, ValidateArgs, WatchArgs};
use crate::config::{self, Config};
use crate::exit::CliError;
use crate::secrets::{RedactWriter, Redactor};
use crate::timefmt::parse_duration;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

pub async fn run(cli: Cli) -> i32 {
    // Every command: a panic restores the terminal and its message is redacted.
    crate::terminal::install_panic_hook();
    let env = cli.env.as_deref().map(str::trim);
    if env.is_some_and(str::is_empty) {
        eprintln!("warroom: --env needs a name, e.g. --env staging");
        return crate::exit::USAGE;
    }
    let result = match cli.command {
        None => watch(cli.watch, env).await,
        Some(Command::Watch(a)) => watch(a, env).await,
        Some(Command::Check(a)) => check(a, env).await,
        Some(Command::Validate(a)) => validate(a, env),
        Some(Command::Init(_)) if env.is_some() => Err(
            "--env does not apply to `init`: a preset holds every environment; choose one when you run it (`warroom -c FILE --env NAME`)".into(),
        ),
        Some(Command::NotifyTest(a)) => notify_test(a, env).await,
        Some(Command::Init(a)) => init(a),
        Some(Command::Report(a)) if a.into.is_some() => report_into(&a, env),
        Some(Command::Report(a)) => {
            // A recording is redacted when written; this is for one made otherwise.
            let mut out = RedactWriter::new(std::io::stdout().lock(), crate::secrets::global());
            crate::report::run_many(
                &a.files,
                a.format == crate::cli::ReportFormat::Json,
                a.session.as_deref(),
                env,
                &mut out,
            )
            .map_err(CliError::from)
        }
        Some(Command::Replay(a)) => replay(a, env).await,
        Some(Command::Demo(_) | Command::Sim(_)) if env.is_some() => Err(
            "--env does not apply to `demo` and `sim`: a drill on the simulator is always its own environment".into(),
        ),
        Some(Command::Demo(a)) => crate::demo::run(a).await,
        Some(Command::Sim(a)) => crate::sim::cli::run(a).await,
        Some(Command::Completions(a)) => {
            crate::conventions::completions(a.shell, &mut std::io::stdout())
        }
        Some(Command::Man) => crate::conventions::man(&mut std::io::stdout()),
        Some(Command::Schema) => crate::conventions::schema(&mut std::io::stdout()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("warroom: {}", crate::secrets::redact(&e.to_string()));
            e.code()
        }
    }
}

pub fn load_config(path: &std::path::Path) -> Result<Config, String> {
    load_config_in(path, None)
}

/// As `load_config`, in the environment `env` (`--env`).
pub fn load_config_in(path: &std::path::Path, env: Option<&str>) -> Result<Config, String> {
    let shown_env = env.map(|e| format!(" --env {e}")).unwrap_or_default();
    config::load_file_in(path, env).map_err(|e| match e {
        config::ConfigError::Invalid(problems) => format!(
            "{} has {} problem(s):\n{}\n(run `warroom validate -c {}{shown_env}` for the full list)",
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

async fn watch(a: WatchArgs, env: Option<&str>) -> Result<i32, CliError> {
    let _log = crate::logging::init(a.ui.log_file.as_deref())?;
    let Some(path) = a.config.as_deref() else {
        return Err(
            "no config given: `warroom -c cutover.toml`, or try `warroom demo` (see --help)".into(),
        );
    };
    let cfg = load_config_in(path, env)?;
    if !std::io::stdout().is_terminal() {
        return Err(CliError::Terminal("stdout is not a terminal: the dashboard needs one. For scripts and pipes use `warroom check -c FILE` (one poll, or --window).".into()));
    }
    crate::runtime::dashboard(cfg, &a.ui).await
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

async fn check(a: CheckArgs, env: Option<&str>) -> Result<i32, CliError> {
    let _log = crate::logging::init(a.log_file.as_deref())?;
    let mut cfg = load_config_in(&a.config, env)?;
    let (redactor, warnings) = crate::secure::secure(&mut cfg)?;
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
    let record = crate::record::resolve_record_path(
        a.record.as_ref().map(|r| r.as_deref()),
        &cfg,
        chrono::Utc::now(),
    )?;
    // Text and JSON alike: a server's words (an error echoing the URL) pass the redactor.
    let mut out = RedactWriter::new(std::io::stdout().lock(), redactor);
    if a.notify && window.is_none() {
        return Err("--notify needs --window: one sample can see an episode open but never end, so its alert would never resolve (e.g. `--window 30m --notify`)".into());
    }
    if a.notify && cfg.notify.is_empty() {
        return Err(format!(
            "--notify: {} has no `[[notify]]` target",
            a.config.display()
        )
        .into());
    }
    run_check(
        CheckOptions {
            window,
            interval,
            format: a.format,
            record,
            notify: a.notify.then(|| {
                a.audit_log.clone().unwrap_or_else(|| {
                    crate::audit::default_path(&cfg.cutover.name, cfg.cutover.environment_name())
                })
            }),
            redact,
            cfg: Arc::new(cfg),
        },
        &mut out,
    )
    .await
    // The client a source's TLS settings ask for: the config's to fix.
    .map_err(|e| CliError::Usage(e.to_string()))
}

/// `warroom notify-test`: one test message per target, each result on its own line; exit
/// 1 when any failed.
async fn notify_test(a: crate::cli::NotifyTestArgs, env: Option<&str>) -> Result<i32, CliError> {
    let mut cfg = load_config_in(&a.config, env)?;
    let (redactor, warnings) = crate::secure::secure(&mut cfg)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    if cfg.notify.is_empty() {
        return Err(format!("{} has no `[[notify]]` target", a.config.display()).into());
    }
    let results = crate::notify::notify_test(
        &cfg,
        &crate::audit::hostname(),
        Arc::clone(&redactor).into_fn(),
    )
    .await;
    let mut out = RedactWriter::new(std::io::stdout().lock(), redactor);
    let mut failed = 0;
    for (target, r) in &results {
        let line = match r {
            Ok(how) => format!("ok      {target}: {how}"),
            Err(e) => {
                failed += 1;
                format!("FAILED  {target}: {e}")
            }
        };
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "{} of {} target(s) answered",
        results.len() - failed,
        results.len()
    );
    Ok(if failed > 0 { 1 } else { 0 })
}

async fn replay(a: crate::cli::ReplayArgs, env: Option<&str>) -> Result<i32, CliError> {
    let _log = crate::logging::init(a.ui.log_file.as_deref())?;
    if !(a.speed > 0.0 && a.speed.is_finite()) {
        return Err("--speed must be a positive number".into());
    }
    let shown = a.file.display().to_string();
    let all = crate::report::of_environment(
        crate::record::read_all(&a.file).map_err(|e| e.to_string())?,
        env,
        &shown,
    )?;
    let sessions = all.len();
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
    let tape = crate::replay::Tape::new(rec)?;
    if !std::io::stdout().is_terminal() {
        return Err(CliError::Terminal("stdout is not a terminal: replay needs one; for the evidence use `warroom report FILE`".into()));
    }
    let theme = crate::runtime::load_theme(&a.ui, tape.config())?;
    Ok(crate::runtime::run_replay(tape, theme, a.speed).await?)
}

/// `report --into FILE`: the Markdown report, redacted, between the file's markers.
fn report_into(a: &crate::cli::ReportArgs, env: Option<&str>) -> Result<i32, CliError> {
    let Some(into) = a.into.as_deref() else {
        return Ok(crate::exit::USAGE);
    };
    let mut text = Vec::new();
    let code = crate::report::run_many(&a.files, false, a.session.as_deref(), env, &mut text)?;
    let text = crate::secrets::redact(&String::from_utf8_lossy(&text));
    let changed = crate::report::write_into(into, &text)?;
    eprintln!(
        "{}: {}",
        into.display(),
        if changed {
            "the warroom block is written"
        } else {
            "already up to date, nothing changed"
        }
    );
    Ok(code)
}

fn init(a: InitArgs) -> Result<i32, CliError> {
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
            Err(CliError::Usage(format!(
                "no preset `{name}`{hint} (presets: {})",
                names.join(", ")
            )))
        }
    }
}

fn validate(a: ValidateArgs, env: Option<&str>) -> Result<i32, CliError> {
    let mut out = RedactWriter::new(std::io::stdout().lock(), crate::secrets::global());
    let (code, cfg) = config::report::run_validate_in(&a.config, env, &mut out);
    if let Some(cfg) = cfg.filter(|_| a.print) {
        let _ = std::io::Write::write_all(&mut out, crate::secure::effective_toml(&cfg).as_bytes());
    }
    Ok(code)
}
