//! One config, several environments: `[env.NAME]` laid over the rest with `--env NAME`,
//! any key, the environment named by the flag, mistakes located where they are written,
//! and `validate --env NAME --print` showing what will run, redacted.

use std::process::Command;
use warroom::config::{load_str_in, Config, ConfigError};

const BASE: &str = r#"
[cutover]
name = "x"
environment = "production"
t0 = "2026-03-02T09:00:00Z"

[[source]]
id = "api"
kind = "http"
url = "${WARROOM_URL:-https://prod.example}/health"
headers = { Authorization = "Bearer ${ADMIN_TOKEN}" }

[[signal]]
id = "err"
source = "api"
kind = "metric"
path = ".err"
crit = "> 2"

[[step]]
at = "0"
title = "switch"
checklist = ["flag on", "smoke"]

[[action]]
id = "rollback"
key = "D"
label = "Roll back"
danger = true
request = { url = "${WARROOM_URL:-https://prod.example}/rollback", headers = { Authorization = "Bearer ${ADMIN_TOKEN}" } }
"#;

const OVERLAYS: &str = r#"
[env.staging.cutover]
t0 = "2026-02-23T09:00:00Z"
window_end = "+2h"

[[env.staging.source]]
id = "api"
url = "https://staging.example/health"
interval = "10s"

[[env.staging.signal]]
id = "err"
crit = "> 5"

[[env.staging.signal]]
id = "p95"
source = "api"
kind = "metric"
path = ".p95"

[[env.staging.step]]
at = "+1h"
title = "staging only"

[[env.staging.action]]
id = "rollback"
request = { url = "https://staging.example/rollback", timeout = "5s" }

[env.staging.ui]
read_only = true

[env.production.ui]
theme = "high-contrast"
"#;

fn vars(k: &str) -> Option<String> {
    (k == "ADMIN_TOKEN").then(|| "s3cr3t-env-token-77".to_string())
}

fn load(text: &str, env: Option<&str>) -> Result<Config, Vec<String>> {
    load_str_in(text, "c.toml", &vars, env).map_err(|e| match e {
        ConfigError::Invalid(ps) => ps.iter().map(|p| p.to_string()).collect(),
        other => vec![other.to_string()],
    })
}

fn ok(text: &str, env: Option<&str>) -> Config {
    load(text, env).unwrap_or_else(|e| panic!("{env:?}: {e:#?}"))
}

#[test]
fn an_overlay_changes_any_key_of_its_environment_only() {
    let text = format!("{BASE}{OVERLAYS}");
    let s = ok(&text, Some("staging"));
    assert_eq!(s.cutover.environment.as_deref(), Some("staging"));
    assert_eq!(s.cutover.t0.as_deref(), Some("2026-02-23T09:00:00Z"));
    assert_eq!(s.cutover.window_end.0, 2 * 3_600_000);
    // Entries merge by id, keeping what the overlay does not name.
    assert_eq!(s.sources.len(), 1);
    assert_eq!(s.sources[0].url, "https://staging.example/health");
    assert_eq!(s.sources[0].interval.0.as_secs(), 10);
    assert!(s.sources[0].headers.contains_key("Authorization"));
    let err = &s.signals[0];
    assert_eq!(
        (err.id.as_str(), err.path.as_deref()),
        ("err", Some(".err"))
    );
    assert_eq!(
        err.crit.as_ref().map(|c| c.to_string()).as_deref(),
        Some("> 5")
    );
    // A new id is added.
    assert_eq!(s.signals.len(), 2);
    assert_eq!(s.steps.len(), 2);
    let rb = s.actions[0].request.as_ref().unwrap();
    assert_eq!(rb.url, "https://staging.example/rollback");
    assert_eq!(rb.timeout.0.as_secs(), 5);
    assert!(rb.headers.contains_key("Authorization"));
    assert!(s.ui.read_only);

    // Production gets its own overlay, and none of staging's.
    let p = ok(&text, Some("production"));
    assert_eq!(p.cutover.environment.as_deref(), Some("production"));
    assert_eq!(p.sources[0].url, "https://prod.example/health");
    assert_eq!(p.ui.theme.as_deref(), Some("high-contrast"));
    assert!(!p.ui.read_only);
    assert_eq!(p.signals.len(), 1);
    // Without --env the file runs as written above the overlays.
    let base = ok(&text, None);
    assert_eq!(base.sources[0].url, "https://prod.example/health");
    assert_eq!(base.ui.theme, None);
}

#[test]
fn the_environment_is_named_by_the_flag_and_never_mixed() {
    // An overlay that does not name its environment is the one chosen.
    let text = format!("{BASE}{OVERLAYS}");
    assert_eq!(
        ok(&text, Some("staging")).cutover.environment_name(),
        "staging"
    );
    // A config without overlays nor environment: the flag names it.
    let plain = BASE.replace("environment = \"production\"\n", "");
    assert_eq!(
        ok(&plain, Some("dr-site")).cutover.environment_name(),
        "dr-site"
    );
    assert_eq!(ok(&plain, None).cutover.environment_name(), "default");
    // A config that says production is never run as staging without saying how.
    let e = load(BASE, Some("staging")).unwrap_err();
    assert!(
        e[0].contains("--env staging, but this config's environment is \"production\""),
        "{e:?}"
    );
    assert!(load(BASE, Some("production")).is_ok());
    // A mistyped environment is refused with the ones there are.
    let e = load(&text, Some("stagin")).unwrap_err();
    assert!(
        e[0].contains("--env stagin: this config has no [env.stagin]")
            && e[0].contains("did you mean `staging`?"),
        "{e:?}"
    );
}

#[test]
fn mistakes_in_an_overlay_are_located_where_they_are_written() {
    let text = format!("{BASE}{OVERLAYS}");
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    // An unknown key in production's overlay is found while loading staging too.
    let bad = text.replace(
        "theme = \"high-contrast\"",
        "theme = \"high-contrast\"\nthem = 1",
    );
    let e = load(&bad, Some("staging")).unwrap_err();
    let at = bad.lines().position(|l| l == "them = 1").unwrap() + 1;
    assert!(
        e.iter()
            .any(|m| m.starts_with(&format!("c.toml:{at}:")) && m.contains("unknown key `them`")),
        "{e:?}"
    );
    // A bad value the overlay puts in is reported at the overlay's line.
    let bad = text.replace("crit = \"> 5\"", "crit = \"> five\"");
    let e = load(&bad, Some("staging")).unwrap_err();
    let at = line_of("crit = \"> 5\"");
    assert!(
        e.iter().any(|m| m.starts_with(&format!("c.toml:{at}:"))),
        "{e:?}"
    );
    // A variable only production's overlay uses is not missing in staging.
    let prod_only = format!(
        "{text}\n[[env.production.source]]\nid = \"api\"\nurl = \"${{PROD_URL}}/health\"\n"
    );
    assert!(
        load(&prod_only, Some("staging")).is_ok(),
        "{:?}",
        load(&prod_only, Some("staging")).err()
    );
    let e = load(&prod_only, Some("production")).unwrap_err();
    assert!(e.iter().any(|m| m.contains("PROD_URL")), "{e:?}");
}

#[test]
fn validate_print_shows_the_effective_config_redacted() {
    let text = format!("{BASE}{OVERLAYS}");
    let mut out = Vec::new();
    let (code, cfg) = warroom::config::report::validate_text_in(
        &text,
        "c.toml",
        &vars,
        Some("staging"),
        &mut out,
    );
    out.extend(warroom::secure::effective_toml(&cfg.expect("it loads")).into_bytes());
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("ok: c.toml:") && out.contains("(environment \"staging\")"),
        "{out}"
    );
    assert!(
        out.contains("url = \"https://staging.example/health\""),
        "{out}"
    );
    assert!(out.contains("environment = \"staging\""), "{out}");
    assert!(out.contains("crit = \"> 5\""), "{out}");
    assert!(
        !out.contains("s3cr3t-env-token-77"),
        "the token is shown:\n{out}"
    );
    assert!(out.contains("Bearer "), "{out}");
    // What is printed reads back as the same config.
    let printed: String = out.lines().skip(1).collect::<Vec<_>>().join("\n");
    let back: Config =
        toml::from_str(&printed.replace("***", "x")).expect("printed config reads back");
    assert_eq!(back.sources[0].url, "https://staging.example/health");
}

#[test]
fn every_preset_ships_staging_and_production() {
    // The credentials without a default: the bearer token and cohortlens's Datadog keys.
    let env = |k: &str| {
        ["ADMIN_TOKEN", "DD_API_KEY", "DD_APP_KEY"]
            .contains(&k)
            .then(|| "preset-token-123".to_string())
    };
    for name in ["hse", "cohortlens", "brokers", "edn360"] {
        let text = warroom::presets::get(name).unwrap();
        for e in ["staging", "production"] {
            let cfg = load_str_in(text, name, &env, Some(e))
                .unwrap_or_else(|err| panic!("{name} --env {e}: {err}"));
            assert_eq!(cfg.cutover.environment_name(), e, "{name}");
        }
        // The commented examples work as written once uncommented.
        let at = text.find("[env.staging.cutover]").unwrap();
        let examples: String = text[at..]
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(t) if t.starts_with("[[env.") || t.contains(" = ") && !t.starts_with("t0") => {
                    t.to_string()
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let open = format!("{}{examples}", &text[..at]);
        let cfg = load_str_in(&open, name, &env, Some("staging"))
            .unwrap_or_else(|err| panic!("{name}'s staging examples: {err}"));
        assert!(
            cfg.sources
                .iter()
                .any(|s| s.url.starts_with("https://staging.")),
            "{name}: the staging URL example did nothing"
        );
    }
}

fn warroom(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(args)
        .env("ADMIN_TOKEN", "s3cr3t-env-token-77")
        .env_remove("WARROOM_URL")
        .output()
        .expect("warroom runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_flag_works_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, format!("{BASE}{OVERLAYS}")).unwrap();
    let p = path.to_str().unwrap();
    let (code, out, err) = warroom(&["validate", "-c", p, "--env", "staging", "--print"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("https://staging.example/health") && !out.contains("s3cr3t"),
        "{out}"
    );
    let (code, out, _) = warroom(&["validate", "--env", "production", "-c", p]);
    assert_eq!(code, 0);
    assert!(out.contains("(environment \"production\")"), "{out}");
    // The dashboard (the default command) reads it too: the config is loaded in it
    // before the terminal is looked at.
    let (code, _, err) = warroom(&["-c", p, "--env", "qa"]);
    assert_eq!(code, 2);
    assert!(err.contains("no [env.qa]"), "{err}");
    let (code, _, err) = warroom(&["validate", "-c", p, "--env", "qa"]);
    assert_eq!(code, 2);
    let (code, out, err2) = warroom(&["check", "-c", p, "--env", "qa"]);
    assert_eq!(code, 2, "{out}{err2}");
    assert!(
        err2.contains("no [env.qa]") && err2.contains("--env qa"),
        "{err}{err2}"
    );
    let (code, _, err) = warroom(&["init", "--preset", "hse", "--env", "staging"]);
    assert_eq!(code, 2);
    assert!(err.contains("--env does not apply to `init`"), "{err}");
}
