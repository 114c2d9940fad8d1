//! The `warroom sim` command: its options become `SimOptions`; then it starts the simulator,
//! prints the URLs, endpoints and scenario, prints a line on each change, and runs until
//! Ctrl-C or SIGTERM.

use super::auth::VendorKeys;
use super::handle::{start, SimOptions};
use super::profile::Profile;
use super::scenario::{Scenario, Script};
use super::state::{ChangedBy, SimEvent};
use crate::cli::SimArgs;
use crate::exit::CliError;
use crate::timefmt::parse_duration;
use chrono::Utc;
use std::fmt;
use std::io::Write as _;
use tokio::sync::broadcast;

/// `warroom sim`: a usage error (bad option) is `Err`, else the exit code.
pub async fn run(a: SimArgs) -> Result<i32, CliError> {
    let _log = crate::logging::init(a.log_file.as_deref())?;
    let standins = a.standins.clone();
    let opts = options(a)?;
    let linked = match &standins {
        Some(dir) => {
            let exe = std::env::current_exe().map_err(|e| {
                CliError::Io(format!("--standins: cannot find the warroom binary: {e}"))
            })?;
            Some(
                super::standin::install(dir, &exe)
                    .map_err(|e| CliError::Io(format!("--standins {}: {e}", dir.display())))?,
            )
        }
        None => None,
    };
    let code = run_cli_with(opts, standins.as_deref()).await;
    // The links go with the simulator they answer for.
    for l in linked.into_iter().flatten() {
        let _ = std::fs::remove_file(l);
    }
    Ok(code)
}

/// The command's options as `SimOptions`; the message names the option at fault.
pub fn options(a: SimArgs) -> Result<SimOptions, String> {
    let profile = a.profile.parse::<Profile>().map_err(|e| e.to_string())?;
    let mut opts = SimOptions::new(profile);
    opts.scenario = a.scenario.parse::<Scenario>().map_err(|e| e.to_string())?;
    opts.listen = a
        .listen
        .parse()
        .map_err(|e| format!("--listen `{}`: {e} (write e.g. 127.0.0.1:5000)", a.listen))?;
    opts.control_listen = a
        .control
        .as_deref()
        .map(|c| c.parse().map_err(|e| format!("--control `{c}`: {e}")))
        .transpose()?;
    opts.script = a
        .script
        .as_deref()
        .map(|s| s.parse::<Script>().map_err(|e| format!("--script: {e}")))
        .transpose()?;
    opts.token = a.token.filter(|t| !t.is_empty());
    opts.slow_delay = parse_duration(&a.slow_delay).map_err(|e| format!("--slow-delay: {e}"))?;
    let key = |k: Option<String>| k.filter(|k| !k.trim().is_empty());
    opts.keys = VendorKeys {
        datadog_api: key(a.dd_api_key),
        datadog_app: key(a.dd_app_key),
        new_relic: key(a.new_relic_api_key),
    };
    opts.state_dir = a.state_dir;
    Ok(opts)
}

fn out(line: impl fmt::Display) {
    // A closed stdout (e.g. `| head`) must not panic the simulator.
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

/// Start, print the URLs, endpoints and scenario, run the script, print a line on each
/// change, run until Ctrl-C/SIGTERM. Returns the exit code.
pub async fn run_cli(opts: SimOptions) -> i32 {
    run_cli_with(opts, None).await
}

async fn run_cli_with(opts: SimOptions, standins: Option<&std::path::Path>) -> i32 {
    let profile = opts.profile;
    let has_token = opts.token.is_some();
    let handle = match start(opts.clone()).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("warroom sim: {e}");
            return crate::exit::IO;
        }
    };
    let mut events = handle.events();
    let base = handle.base_url();
    out(format_args!(
        "warroom sim: profile {profile}, scenario {} ({})",
        handle.scenario(),
        handle.scenario().describe()
    ));
    out(format_args!("  listening on  {base}"));
    out(format_args!(
        "  control       {}  (POST /__sim/scenario/{{name}}, GET /__sim/state, GET /__sim/requests)",
        handle.control_url()
    ));
    out(format_args!(
        "  admin token   {}",
        if has_token {
            "required: Authorization: Bearer <token>"
        } else {
            "not required (no token configured)"
        }
    ));
    out("  endpoints:");
    for (method, path, what) in profile.spec().banner() {
        out(format_args!("    {method:<5} {base}{path}  {what}"));
    }
    out(format_args!(
        "    GET   {base}/metrics  Prometheus exposition"
    ));
    out(format_args!(
        "  stand-ins     {}={}  (aws, docker, mongosh, supervisorctl, sudo; see README)",
        super::standin::CONTROL_ENV,
        handle.control_url()
    ));
    if let Some(dir) = standins {
        let region = super::standin::default_region()
            .map(|(k, v)| format!(" {k}={v}"))
            .unwrap_or_default();
        out(format_args!(
            "                export PATH={}:\"$PATH\" {}={}{region}",
            dir.display(),
            super::standin::CONTROL_ENV,
            handle.control_url()
        ));
    }
    for p in profile.spec().parameters {
        out(format_args!(
            "  ssm           {} = {}",
            p.name,
            handle.parameter(p.name).unwrap_or_default()
        ));
    }
    if let Some(f) = handle.env_file() {
        out(format_args!(
            "  .env          {}  (read at `supervisorctl restart backend`)",
            f.display()
        ));
    }
    if let Some(script) = &opts.script {
        out(format_args!(
            "  script        {script} (the last step holds)"
        ));
    }
    out(format_args!(
        "  scenarios     {}",
        Scenario::ALL.map(|s| s.name()).join(", ")
    ));
    out("Ctrl-C to stop.");

    let term = terminate_signal();
    tokio::pin!(term);
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => out(format_args!("{} {}", Utc::now().format("%H:%M:%S"), describe_event(&ev))),
                Err(broadcast::error::RecvError::Lagged(n)) => out(format_args!("({n} events not shown)")),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = &mut term => break,
        }
    }
    out("warroom sim: stopping");
    handle.shutdown().await;
    0
}

fn describe_event(ev: &SimEvent) -> String {
    match ev {
        SimEvent::ScenarioChanged { from, to, by } => {
            let by = match by {
                ChangedBy::Script => "script",
                ChangedBy::Control => "control API",
                ChangedBy::Handle => "handle",
            };
            format!("scenario {from} -> {to} (by {by}): {}", to.describe())
        }
        SimEvent::FlagChanged { name, from, to } => format!("flag {name}: {from} -> {to}"),
        SimEvent::ValueChanged { name, from, to } => format!("{name}: {from} -> {to}"),
        SimEvent::Restarted { program, detail } => format!("{program} restarted ({detail})"),
        SimEvent::ListenerClosed => "data listener closed (connections refused)".into(),
        SimEvent::ListenerReopened => "data listener open again".into(),
        SimEvent::ListenerError(m) => format!("error: {m}"),
    }
}

#[cfg(unix)]
async fn terminate_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn terminate_signal() {
    std::future::pending::<()>().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SimArgs {
        SimArgs {
            profile: "hse".into(),
            scenario: "error_burst".into(),
            listen: "127.0.0.1:0".into(),
            control: None,
            script: None,
            token: Some(String::new()),
            slow_delay: "2s".into(),
            log_file: None,
            state_dir: None,
            standins: None,
            dd_api_key: Some(" ".into()),
            dd_app_key: Some("app".into()),
            new_relic_api_key: None,
        }
    }

    #[test]
    fn options_come_from_the_command_line() {
        let o = options(args()).unwrap();
        assert_eq!(
            (o.profile, o.scenario),
            (Profile::Hse, Scenario::ErrorBurst)
        );
        assert_eq!(o.token, None, "an empty --token means none");
        assert_eq!(o.keys.datadog_api, None, "a blank key means any");
        assert_eq!(o.keys.datadog_app.as_deref(), Some("app"));
        assert_eq!(o.slow_delay, std::time::Duration::from_secs(2));
        let bad = |f: fn(&mut SimArgs)| {
            let mut a = args();
            f(&mut a);
            options(a).unwrap_err()
        };
        assert!(bad(|a| a.listen = "nope".into()).starts_with("--listen `nope`: "));
        assert!(bad(|a| a.control = Some("x".into())).starts_with("--control `x`: "));
        assert!(bad(|a| a.script = Some("nope".into())).starts_with("--script: "));
        assert!(bad(|a| a.slow_delay = "soon".into()).starts_with("--slow-delay: "));
        assert!(bad(|a| a.profile = "nope".into()).starts_with("unknown profile `nope`"));
    }

    #[test]
    fn every_event_has_a_line() {
        let line = describe_event(&SimEvent::ScenarioChanged {
            from: Scenario::Healthy,
            to: Scenario::Down,
            by: ChangedBy::Control,
        });
        assert_eq!(
            line,
            "scenario healthy -> down (by control API): data listener closed: connection refused"
        );
    }
}
