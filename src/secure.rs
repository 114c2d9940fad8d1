//! A loaded config's secrets: every one known to the redactor (what the loader marked,
//! credential headers and URLs, secret-named command env, token files), the redactor made
//! the process's, and the config's shown-only texts redacted. Above `config` and
//! `secrets`, which know nothing of each other's insides.

use crate::config::Config;
use crate::secrets::{
    is_secret_env_name, is_secret_header_name, percent_decode, url_credentials, Redactor,
};
use std::sync::Arc;

/// Every secret of a loaded config: what the loader marked (every value a `${VAR}`
/// put into a header, a token file, a URL's userinfo or query, a body, an argument
/// or a command's environment, and every secret-named variable's value); credential
/// headers (the credential after `Bearer`/`Basic`…); credentials written into URLs;
/// secret-named `env` values of commands. Token files are read later: add them with
/// `add_secret`.
pub fn redactor(cfg: &Config) -> Redactor {
    let mut r = Redactor::new();
    for s in &cfg.secrets {
        r.add(s.expose());
    }
    let header_maps = cfg.sources.iter().map(|s| &s.headers).chain(
        cfg.actions
            .iter()
            .filter_map(|a| a.request.as_ref().map(|q| &q.headers)),
    );
    for headers in header_maps {
        for (name, value) in headers {
            if is_secret_header_name(name) {
                r.add_header_value(value);
            }
        }
    }
    let urls = cfg.sources.iter().map(|s| s.url.as_str()).chain(
        cfg.actions
            .iter()
            .filter_map(|a| a.request.as_ref().map(|q| q.url.as_str())),
    );
    for url in urls {
        for c in url_credentials(url) {
            r.add(&c);
            r.add(&percent_decode(&c));
        }
    }
    let commands = cfg
        .actions
        .iter()
        .filter_map(|a| a.command.as_ref())
        .chain(cfg.steps.iter().filter_map(|s| s.run.as_ref()));
    let envs = commands
        .map(|c| &c.env)
        .chain(cfg.sources.iter().map(|s| &s.env));
    for env in envs {
        for (name, value) in env {
            if is_secret_env_name(name) {
                r.add(value);
            }
        }
    }
    for n in &cfg.notify {
        if let Some(url) = &n.url {
            add_notify_url(&mut r, url);
        }
        if let Some(key) = &n.routing_key {
            r.add(key);
        }
    }
    r
}

/// The config as it will run, as TOML (`validate --print`): every value from the
/// environment that is a secret, every credential header and URL credential, replaced by
/// the redactor. Token files are not read: their path is shown, never their content.
pub fn effective_toml(cfg: &Config) -> String {
    let redactor = redactor(cfg);
    let text = match toml::to_string(cfg) {
        Ok(t) => t,
        Err(e) => format!("# the effective config cannot be printed: {e}\n"),
    };
    format!(
        "# effective config, environment \"{}\" (secrets redacted)\n{}",
        cfg.cutover.environment_name(),
        redactor.redact(&text)
    )
}

/// A notification target's URL is its credential (a Slack or webhook URL lets anyone
/// post): the whole of it, as written and as a client spells it, and its path.
fn add_notify_url(r: &mut Redactor, url: &str) {
    r.add(url);
    r.add(url.trim_end_matches('/'));
    if let Ok(u) = reqwest::Url::parse(url) {
        r.add(u.as_str());
        if u.path().len() > 1 {
            r.add(u.path());
        }
    }
    for c in url_credentials(url) {
        r.add(&c);
        r.add(&percent_decode(&c));
    }
}

/// Hides every secret the config carries from anything shown or written: what the
/// loader marked while it read the text (so a config from a pipe is covered like a
/// file), credential headers and URL credentials, secret-named command env, token files
/// (read here; their token becomes the source's Authorization header), and the
/// environment's secret-named variables. The redactor becomes the process's (log file,
/// panic messages, errors) and the config's shown-only texts are redacted in place.
/// Returns the redactor and warnings to show (e.g. a group-readable token file).
pub fn secure(cfg: &mut Config) -> Result<(Arc<Redactor>, Vec<String>), String> {
    let mut r = redactor(cfg);
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
    // A target's token file holds its URL (PagerDuty: its routing key).
    for n in &mut cfg.notify {
        if let Some(path) = n.token_file.clone() {
            let (token, warn) = crate::secrets::read_token_file(std::path::Path::new(&path))
                .map_err(|e| format!("notify {}: {e}", n.label()))?;
            warnings.extend(warn);
            r.add_secret(&token);
            if n.kind == crate::config::NotifyKind::Pagerduty {
                n.routing_key = Some(token.expose().to_string());
            } else {
                add_notify_url(&mut r, token.expose());
                n.url = Some(token.expose().to_string());
            }
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
