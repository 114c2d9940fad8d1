//! `warroom demo` (simulator + dashboard, zero setup).

use crate::cli::DemoArgs;
use crate::exit::CliError;
use crate::sim::standin::Standins;
use crate::sim::{self, Profile, Scenario, Script, SimOptions};
use chrono::Utc;

/// The bundled config the demo watches.
pub const DEMO_CONFIG: &str = include_str!("brokers.toml");

/// The demo's walk: healthy through T0, then a breach that holds until someone rolls back.
pub const DEMO_SCRIPT: &str = "healthy:90s,error-burst";

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse::<Profile>().map_err(|e| e.to_string())
}

fn parse_scenario(s: &str) -> Result<Scenario, String> {
    s.parse::<Scenario>().map_err(|e| e.to_string())
}

/// Load the demo config against a simulator at `base_url` with `token`.
pub fn demo_config(base_url: &str, token: &str) -> Result<crate::config::Config, String> {
    load_against(DEMO_CONFIG, "<demo config>", base_url, token)
}

/// A config text pointed at the simulator: WARROOM_URL is its address, ADMIN_TOKEN its token.
pub fn load_against(
    text: &str,
    name: &str,
    base_url: &str,
    token: &str,
) -> Result<crate::config::Config, String> {
    let env = |k: &str| match k {
        "WARROOM_URL" => Some(base_url.to_string()),
        "ADMIN_TOKEN" => Some(token.to_string()),
        _ => None,
    };
    crate::config::load::load_str_with_env(text, name, &env)
        .map_err(|e| format!("the bundled config {name} is invalid (a bug): {e}"))
}

/// What a preset's variables are in a drill against `sim`: its address and token, Datadog
/// on the same address (with keys of the drill's own: the simulator takes any unless it was
/// given some), the simulated backend's `.env` and MongoDB. Nothing else comes from this
/// process's environment, so a drill never picks up a real account's settings.
pub fn drill_vars(sim: &sim::SimHandle, token: &str) -> Vec<(String, String)> {
    let base = sim.base_url();
    let mut vars = vec![
        ("WARROOM_URL".to_string(), base.clone()),
        ("ADMIN_TOKEN".to_string(), token.to_string()),
        ("DD_API_URL".to_string(), base),
        ("DD_API_KEY".to_string(), format!("{token}-dd-api")),
        ("DD_APP_KEY".to_string(), format!("{token}-dd-app")),
        ("NEW_RELIC_API_KEY".to_string(), format!("{token}-nr")),
        (
            "EDN360_MONGO_URI".to_string(),
            "mongodb://127.0.0.1:27017/edn360".to_string(),
        ),
    ];
    if let Some(dir) = sim.env_file().as_deref().and_then(std::path::Path::parent) {
        vars.push((
            "EDN360_BACKEND_DIR".to_string(),
            dir.to_string_lossy().into_owned(),
        ));
    }
    vars
}

/// A config text with its `${VAR}`s taken from `vars` only.
pub fn load_with(
    text: &str,
    name: &str,
    vars: &[(String, String)],
) -> Result<crate::config::Config, String> {
    let env = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    crate::config::load::load_str_with_env(text, name, &env)
        .map_err(|e| format!("the bundled config {name} is invalid (a bug): {e}"))
}

/// The config a demo of `profile` watches: the tuned demo for brokers, else the preset with
/// the drill's variables (`drill_vars`), polled briskly so the drill moves at demo pace.
pub fn profile_config(
    profile: &str,
    vars: &[(String, String)],
) -> Result<crate::config::Config, String> {
    let var = |k: &str| {
        vars.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if profile == "brokers" {
        return demo_config(&var("WARROOM_URL"), &var("ADMIN_TOKEN"));
    }
    let text =
        crate::presets::get(profile).ok_or_else(|| format!("no preset for profile `{profile}`"))?;
    let mut cfg = load_with(text, &format!("<preset {profile}>"), vars)?;
    use crate::config::Dur;
    use std::time::Duration;
    for s in &mut cfg.sources {
        s.interval = Dur(Duration::from_secs(2));
        if s.kind == crate::config::SourceKind::Command {
            // A stand-in is a process start and a loopback call: on a loaded machine that
            // can take longer than an HTTP poll, and only one run is ever in flight.
            s.timeout = Dur(s.timeout.0.min(Duration::from_secs(10)));
        } else {
            s.timeout = Dur(Duration::from_millis(1500));
            s.connect_timeout = Some(Dur(Duration::from_millis(500)));
        }
    }
    for sig in &mut cfg.signals {
        // Judged by the payload's own time (a CloudWatch minute), the preset's stale_after
        // is about that time, not about the poll interval: it stays.
        if sig.fresh_at.is_none() {
            sig.stale_after = None;
        }
    }
    cfg.cutover.t0 = None;
    // A drill must never look like production on a shared screen.
    cfg.cutover.environment = Some("demo (simulator)".into());
    Ok(cfg)
}

pub async fn run(a: DemoArgs) -> Result<i32, CliError> {
    let _log = crate::logging::init(a.ui.log_file.as_deref())?;
    let profile = parse_profile(&a.profile)?;
    let mut opts = SimOptions::new(profile);
    let token = std::env::var("ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(random_token);
    opts.token = Some(token.clone());
    match a.scenario.as_deref() {
        Some(s) => opts.scenario = parse_scenario(s)?,
        None => opts.script = Some(DEMO_SCRIPT.parse::<Script>().map_err(|e| e.to_string())?),
    }
    let sim = sim::start(opts)
        .await
        .map_err(|e| CliError::Io(e.to_string()))?;
    // The presets call the real `aws`, `docker`, `mongosh`…: in a drill, the stand-ins answer
    // for them from this simulator. Linked before the dashboard polls anything (see
    // `export_to_process`), removed when the demo ends.
    let standins = match standins_for(&sim) {
        Ok(s) => s,
        Err(e) => {
            sim.shutdown().await;
            return Err(CliError::Io(e));
        }
    };
    standins.export_to_process();
    let cfg = match profile_config(&a.profile, &drill_vars(&sim, &token)) {
        Ok(c) => c,
        Err(e) => {
            sim.shutdown().await;
            return Err(e.into());
        }
    };
    let mut ui = a.ui.clone();
    let _audit_dir = match own_audit_log(&mut ui) {
        Ok(d) => d,
        Err(e) => {
            sim.shutdown().await;
            return Err(CliError::Io(e));
        }
    };
    if ui.t0.is_none() {
        ui.t0 = Some((Utc::now() + chrono::Duration::seconds(60)).to_rfc3339());
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        sim.shutdown().await;
        return Err(CliError::Terminal(
            "stdout is not a terminal: the demo needs one".into(),
        ));
    }
    let code = crate::runtime::dashboard(cfg, &ui).await;
    sim.shutdown().await;
    drop(standins);
    code
}

/// Each demo drills its own fresh simulator, so by default it keeps its own audit log for
/// the run: an earlier drill's rollback is not this one's "previous attempt". With
/// `--audit-log FILE` the user chose to keep (or share) one. The directory goes with the
/// returned guard.
fn own_audit_log(ui: &mut crate::cli::UiArgs) -> Result<Option<tempfile::TempDir>, String> {
    if ui.audit_log.is_some() {
        return Ok(None);
    }
    let dir = tempfile::Builder::new()
        .prefix("warroom-demo-")
        .tempdir()
        .map_err(|e| format!("cannot make the demo's audit log directory: {e}"))?;
    ui.audit_log = Some(dir.path().join("audit.jsonl"));
    Ok(Some(dir))
}

/// The stand-ins linked to this binary, answering from `sim`.
fn standins_for(sim: &sim::SimHandle) -> Result<Standins, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the warroom binary for the stand-ins: {e}"))?;
    Standins::create(&exe, &sim.control_url())
        .map_err(|e| format!("cannot link the stand-ins (aws, docker, mongosh…): {e}"))
}

/// A token for the demo's own simulator when ADMIN_TOKEN is not set: unguessable
/// enough for a loopback drill, with no extra crate.
fn random_token() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::from("demo-");
    for i in 0..2u64 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(i ^ u64::from(std::process::id()));
        h.write_i64(Utc::now().timestamp_nanos_opt().unwrap_or_default());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

#[cfg(test)]
mod audit_log_tests {
    use super::own_audit_log;
    use crate::cli::UiArgs;

    #[test]
    fn each_demo_has_its_own_audit_log_unless_one_is_given() {
        let (mut a, mut b) = (UiArgs::default(), UiArgs::default());
        let da = own_audit_log(&mut a).unwrap().expect("a private directory");
        let db = own_audit_log(&mut b).unwrap().expect("a private directory");
        let (pa, pb) = (a.audit_log.clone().unwrap(), b.audit_log.clone().unwrap());
        assert_ne!(pa, pb, "two drills never share a log by default");
        assert!(pa.starts_with(da.path()) && pb.starts_with(db.path()));
        let dir = da.path().to_path_buf();
        drop(da);
        assert!(!dir.exists(), "the run's directory goes with the demo");
        let mut given = UiArgs {
            audit_log: Some("/var/tmp/drill.jsonl".into()),
            ..UiArgs::default()
        };
        assert!(own_audit_log(&mut given).unwrap().is_none());
        assert_eq!(
            given.audit_log.as_deref(),
            Some(std::path::Path::new("/var/tmp/drill.jsonl"))
        );
    }
}
