//! Semantic checks on a parsed config (owned by the config work).
//!
//! Pure: takes the typed config and returns every issue with the key path it is about;
//! `load` turns paths into file locations. Messages quote what was written so the user
//! can find it; `load` masks any value that came from the environment.

use super::schema::{did_you_mean, kp, Seg};
use super::{Config, JudgeOn, SignalKind, SourceKind};
use crate::app::keys::{Chord, KeyMap, KeyProblem, Origin, BUILTINS, KEY_NAMES};
use crate::path::JsonPath;
use std::collections::{BTreeMap, HashMap};

/// One semantic problem, located by key path (e.g. `["signal", 2, "warn"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub path: Vec<Seg>,
    pub message: String,
    pub hint: Option<String>,
    /// Point at the key rather than its value (the name itself is what is wrong).
    pub at_key: bool,
}

/// Themes built into the binary; anything else must be a theme file.
pub const BUILTIN_THEMES: &[&str] = &["default", "light", "high-contrast", "mono"];

/// Longest `m_of_n` window: the engine keeps this many samples per row.
pub const MAX_WINDOW: u32 = 120;

struct Out<'a> {
    issues: Vec<Issue>,
    line_of: &'a dyn Fn(&[Seg]) -> usize,
    /// The value as written, for a string changed by `${VAR}` expansion.
    written: &'a dyn Fn(&[Seg]) -> Option<String>,
}

impl Out<'_> {
    fn line(&self, path: Vec<Seg>) -> usize {
        (self.line_of)(&path)
    }

    fn push(&mut self, path: Vec<Seg>, message: impl Into<String>, hint: Option<String>) {
        self.issues.push(Issue {
            path,
            message: message.into(),
            hint,
            at_key: false,
        });
    }

    fn push_key(&mut self, path: Vec<Seg>, message: impl Into<String>, hint: Option<String>) {
        self.push(path, message, hint);
        if let Some(last) = self.issues.last_mut() {
            last.at_key = true;
        }
    }
}

/// Every semantic problem in `cfg`. `line_of` gives the line of a path, so a duplicate
/// can say where the first one is.
pub fn validate(cfg: &Config, line_of: &dyn Fn(&[Seg]) -> usize) -> Vec<Issue> {
    validate_with(cfg, line_of, &|_| None)
}

/// As `validate`; `written` gives the text as written of a value changed by `${VAR}`
/// expansion, so a message about a bad token can name the variable (never its value).
pub fn validate_with(
    cfg: &Config,
    line_of: &dyn Fn(&[Seg]) -> usize,
    written: &dyn Fn(&[Seg]) -> Option<String>,
) -> Vec<Issue> {
    let mut out = Out {
        issues: Vec::new(),
        line_of,
        written,
    };
    cutover(cfg, &mut out);
    sources(cfg, &mut out);
    signals(cfg, &mut out);
    steps(cfg, &mut out);
    actions(cfg, &mut out);
    keys(cfg, &mut out);
    ui(cfg, &mut out);
    out.issues
}

fn cutover(cfg: &Config, out: &mut Out) {
    let c = &cfg.cutover;
    if c.name.trim().is_empty() {
        out.push(
            kp!["cutover", "name"],
            "`name` is empty",
            Some("name the cutover, e.g. `name = \"Brokers v2 cutover\"`".into()),
        );
    }
    if let Some(t0) = &c.t0 {
        if chrono::DateTime::parse_from_rfc3339(t0).is_err() {
            out.push(
                kp!["cutover", "t0"],
                format!("`t0` \"{t0}\" is not an RFC 3339 time"),
                Some("write e.g. `t0 = \"2026-03-14T21:00:00Z\"`, or leave it out and mark T0 from the dashboard".into()),
            );
        }
    }
    if c.window_start >= c.window_end {
        out.push(
            kp!["cutover", "window_end"],
            format!(
                "`window_end` ({}) must be after `window_start` ({})",
                crate::timefmt::format_offset(c.window_end.0),
                crate::timefmt::format_offset(c.window_start.0)
            ),
            None,
        );
    }
    if let Some(rw) = &c.rollback_when {
        if rw.min_signals == 0 {
            out.push(
                kp!["cutover", "rollback_when", "min_signals"],
                "`min_signals` must be at least 1",
                None,
            );
        }
        // The rule counts critical signals in `crit`; without any it can never fire.
        if !cfg
            .signals
            .iter()
            .any(|s| s.critical || s.critical_if.is_some())
        {
            out.push(
                kp!["cutover", "rollback_when"],
                "`rollback_when` can never fire: no signal has `critical = true` or `critical_if`",
                Some(
                    "mark the signals whose `crit` should advise a rollback with `critical = true`"
                        .into(),
                ),
            );
        }
    }
}

fn sources(cfg: &Config, out: &mut Out) {
    if cfg.sources.is_empty() {
        out.push(
            vec![],
            "no `[[source]]`: there is nothing to poll",
            Some("add one: `[[source]]` with `id`, `kind = \"http\"` and `url`".into()),
        );
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, s) in cfg.sources.iter().enumerate() {
        let at = |k: &str| kp!["source", i, k];
        if s.id.trim().is_empty() {
            out.push(at("id"), "source `id` is empty", None);
        } else if let Some(&first) = seen.get(s.id.as_str()) {
            let line = out.line(kp!["source", first, "id"]);
            out.push(
                at("id"),
                format!(
                    "duplicate source id `{}` (first defined on line {line})",
                    s.id
                ),
                Some("give each source its own id".into()),
            );
        } else {
            seen.insert(&s.id, i);
        }
        if !url_control(&s.url, at("url"), out) {
            match reqwest::Url::parse(&s.url) {
                Err(e) => out.push(
                    at("url"),
                    format!("`url` \"{}\" is not a valid URL: {e}", s.url),
                    Some("write a full URL, e.g. `url = \"${WARROOM_URL:-http://localhost:5000}/api/v1/health\"`".into()),
                ),
                Ok(u) if !matches!(u.scheme(), "http" | "https") => out.push(
                    at("url"),
                    format!("`url` scheme `{}` is not supported; use http or https", u.scheme()),
                    None,
                ),
                Ok(_) => {}
            }
        }
        match (s.kind, s.query.as_deref()) {
            (SourceKind::Prometheus, None) => out.push(
                at("kind"),
                "a `prometheus` source needs `query`, the PromQL instant query to evaluate",
                Some("e.g. `query = 'sum(rate(http_requests_total{code=~\"5..\"}[1m])) / sum(rate(http_requests_total[1m])) * 100'`".into()),
            ),
            (SourceKind::Prometheus, Some(q)) if q.trim().is_empty() => {
                out.push(at("query"), "`query` is empty", None)
            }
            (SourceKind::Http, Some(_)) => out.push(
                at("query"),
                "`query` only applies to `kind = \"prometheus\"`",
                Some("an http source reads its JSON with each signal's `path`; remove `query` or set `kind = \"prometheus\"`".into()),
            ),
            _ => {}
        }
        if s.interval.0.is_zero() {
            out.push(
                at("interval"),
                "`interval` must be more than 0",
                Some("e.g. `interval = \"5s\"`".into()),
            );
        }
        if s.timeout.0.is_zero() {
            out.push(
                at("timeout"),
                "`timeout` must be more than 0",
                Some("e.g. `timeout = \"3s\"`".into()),
            );
        }
        if s.connect_timeout.is_some_and(|c| c > s.timeout) {
            out.push(
                at("connect_timeout"),
                format!(
                    "`connect_timeout` ({}) is longer than `timeout` ({}), which covers the whole poll",
                    crate::timefmt::format_duration(s.connect_timeout()),
                    crate::timefmt::format_duration(s.timeout.0)
                ),
                Some("make `connect_timeout` at most `timeout`".into()),
            );
        }
        if s.max_body_bytes == 0 {
            out.push(
                at("max_body_bytes"),
                "`max_body_bytes` must be more than 0",
                Some("the default is 1048576 (1 MiB)".into()),
            );
        }
        headers(&s.headers, kp!["source", i], out);
        token_file(s.token_file.as_deref(), &s.headers, kp!["source", i], out);
    }
}

/// A control character written into a URL (a `\n` escape): a URL parser drops tabs and
/// newlines without a word, so here they are an error, reported without quoting the URL
/// (it would break the message's line). True when there was one.
fn url_control(url: &str, at: Vec<Seg>, out: &mut Out) -> bool {
    let bad = url.chars().any(char::is_control);
    if bad {
        out.push(
            at,
            "`url` has a newline or control character, which a URL must not carry (a URL parser would drop it without a word)",
            Some("remove it; a URL is one line of printable text".into()),
        );
    }
    bad
}

/// Header names and values, for sources and action requests. `base` is the table the
/// `headers` key is in. Never quotes a value: it is often a token.
fn headers(headers: &BTreeMap<String, String>, base: Vec<Seg>, out: &mut Out) {
    for (name, value) in headers {
        let mut hp = base.clone();
        hp.extend(kp!["headers", name.as_str()]);
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            out.push_key(
                hp.clone(),
                format!("`{name}` is not a valid HTTP header name"),
                Some("header names are letters, digits and `-`, e.g. `Authorization`".into()),
            );
        }
        let from = match (out.written)(&hp) {
            Some(w) => {
                let vars = env_refs(&w);
                if vars.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (from {})",
                        vars.iter()
                            .map(|v| format!("`${{{v}}}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            }
            None => String::new(),
        };
        let secret = crate::secrets::is_secret_header_name(name);
        if value.ends_with('\n') {
            out.push(
                hp,
                format!("the value of header `{name}`{from} ends with a newline, which an HTTP header cannot carry"),
                Some("check the variable it comes from for a trailing newline (e.g. a token pasted or read from a file with its final newline)".into()),
            );
        } else if value.chars().any(|c| c.is_control() && c != '\t') {
            out.push(
                hp,
                format!("the value of header `{name}`{from} has control characters, which an HTTP header cannot carry"),
                Some("check the variable it comes from: a token is printable text".into()),
            );
        } else if secret && credential(name, value).is_empty() {
            out.push(
                hp,
                format!("the token in header `{name}`{from} is empty"),
                Some(
                    "set the variable to the token; an empty one would be sent as no credential"
                        .into(),
                ),
            );
        } else if reqwest::header::HeaderValue::from_str(value).is_err() {
            out.push(
                hp,
                format!(
                    "the value of header `{name}`{from} has characters not allowed in HTTP headers"
                ),
                Some("header values are printable ASCII".into()),
            );
        }
    }
}

/// The credential in a secret header's value: after the scheme (`Bearer`, `Basic`…) for
/// Authorization, else the whole value; trimmed.
fn credential<'a>(name: &str, value: &'a str) -> &'a str {
    let v = value.trim();
    let auth = name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case("proxy-authorization");
    if !auth {
        return v;
    }
    match v.split_once(char::is_whitespace) {
        Some((_, rest)) => rest.trim(),
        None if AUTH_SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(v)) => "",
        None => v,
    }
}

const AUTH_SCHEMES: &[&str] = &["Bearer", "Basic", "Token", "Digest", "Negotiate", "ApiKey"];

/// The variable names in `${NAME}` / `${NAME:-default}` references of a written value.
fn env_refs(written: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = written;
    while let Some(i) = rest.find("${") {
        let body = &rest[i + 2..];
        let end = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        if end > 0 && !out.iter().any(|v: &String| v == &body[..end]) {
            out.push(body[..end].to_string());
        }
        rest = &body[end..];
    }
    out
}

/// `token_file` beside an `Authorization` header: which one is sent would be a guess.
fn token_file(
    file: Option<&str>,
    headers: &BTreeMap<String, String>,
    base: Vec<Seg>,
    out: &mut Out,
) {
    let Some(file) = file else { return };
    let mut at = base;
    at.push(Seg::Key("token_file".into()));
    if file.trim().is_empty() {
        out.push(
            at,
            "`token_file` is empty",
            Some("give the path of a file holding the token (mode 600), or remove it".into()),
        );
        return;
    }
    if let Some(h) = headers
        .keys()
        .find(|h| h.eq_ignore_ascii_case("authorization"))
    {
        out.push(
            at,
            format!("`token_file` and an `{h}` header are both set: which credential to send is ambiguous"),
            Some(format!("keep one: `token_file` sends `Authorization: Bearer <file contents>`; or remove `token_file` and keep the `{h}` header")),
        );
    }
}

fn signals(cfg: &Config, out: &mut Out) {
    let source_ids: Vec<&str> = cfg.sources.iter().map(|s| s.id.as_str()).collect();
    let signal_ids: Vec<&str> = cfg.signals.iter().map(|s| s.id.as_str()).collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, s) in cfg.signals.iter().enumerate() {
        let at = |k: &str| kp!["signal", i, k];
        if s.id.trim().is_empty() {
            out.push(at("id"), "signal `id` is empty", None);
        } else if let Some(&first) = seen.get(s.id.as_str()) {
            let line = out.line(kp!["signal", first, "id"]);
            out.push(
                at("id"),
                format!(
                    "duplicate signal id `{}` (first defined on line {line})",
                    s.id
                ),
                Some("give each signal its own id".into()),
            );
        } else {
            seen.insert(&s.id, i);
        }

        let source = cfg.sources.iter().find(|x| x.id == s.source);
        if source.is_none() {
            let hint = match did_you_mean(&s.source, source_ids.iter().copied()) {
                Some(m) => Some(format!("did you mean `{m}`?")),
                None if source_ids.is_empty() => None,
                None => Some(format!("defined sources: {}", source_ids.join(", "))),
            };
            out.push(
                at("source"),
                format!(
                    "signal `{}` reads source `{}`, which is not defined",
                    s.id, s.source
                ),
                hint,
            );
        }

        match &s.baseline {
            Some(b) if *b == s.id => out.push(
                at("baseline"),
                format!("signal `{}` is its own baseline", s.id),
                Some("name another signal, e.g. the v1 twin of this one".into()),
            ),
            Some(b) if !signal_ids.contains(&b.as_str()) => {
                let others = signal_ids.iter().copied().filter(|x| *x != s.id);
                let hint = did_you_mean(b, others).map(|m| format!("did you mean `{m}`?"));
                out.push(
                    at("baseline"),
                    format!("baseline `{b}` is not a signal id"),
                    hint,
                );
            }
            _ => {}
        }
        if s.baseline.is_none() && s.on != JudgeOn::Value {
            let on = if s.on == JudgeOn::Delta {
                "delta"
            } else {
                "deltapct"
            };
            out.push(
                at("on"),
                format!("`on = \"{on}\"` needs a `baseline` to take the delta against"),
                Some("add `baseline = \"<signal id>\"` or remove `on`".into()),
            );
        }

        if source.is_some_and(|x| x.kind == SourceKind::Prometheus) {
            prometheus_signal(s, i, out);
        } else {
            json_paths(s, i, out);
        }
        if let Some([m, n]) = s.m_of_n {
            let bad = if n == 0 || m == 0 {
                Some("m and n must both be at least 1".to_string())
            } else if m > n {
                Some(format!("m ({m}) is more than n ({n})"))
            } else if n > MAX_WINDOW {
                Some(format!(
                    "n ({n}) is more than {MAX_WINDOW}, the samples kept per row"
                ))
            } else {
                None
            };
            if let Some(why) = bad {
                out.push(
                    at("m_of_n"),
                    format!("`m_of_n = [{m}, {n}]`: {why}"),
                    Some("e.g. `m_of_n = [3, 5]`: 3 of the last 5 samples".into()),
                );
            }
            if s.for_.is_some() {
                out.push(
                    at("m_of_n"),
                    "`for` and `m_of_n` are both set; use one trip rule",
                    None,
                );
            }
        }

        if let Some(scale) = s.scale {
            if !scale.is_finite() || scale == 0.0 {
                out.push(
                    at("scale"),
                    format!("`scale` {scale} must be a finite number other than 0"),
                    None,
                );
            }
        }

        if let (Some(stale), Some(src)) = (s.stale_after, source) {
            if stale < src.interval {
                out.push(
                    at("stale_after"),
                    format!(
                        "`stale_after` ({}) is shorter than source `{}`'s interval ({}): every value would be stale",
                        crate::timefmt::format_duration(stale.0),
                        src.id,
                        crate::timefmt::format_duration(src.interval.0)
                    ),
                    None,
                );
            }
        }
    }
}

/// The JSON paths of a signal on an `http` source.
fn json_paths(s: &super::Signal, i: usize, out: &mut Out) {
    let at = |k: &str| kp!["signal", i, k];
    for (key, p) in [
        ("path", &s.path),
        ("each", &s.each),
        ("name", &s.name),
        ("critical_if", &s.critical_if),
    ] {
        if let Some(p) = p {
            if let Err(e) = JsonPath::parse(p) {
                out.push(at(key), e.to_string(), Some("paths are jq-style: `.summary.p95_ms`, `.endpoints[]`, `.flags[\"v2_primary\"]`".into()));
            }
        }
    }
    if matches!(s.kind, SignalKind::Metric | SignalKind::Flag) && s.path.is_none() {
        let kind = if s.kind == SignalKind::Metric {
            "metric"
        } else {
            "flag"
        };
        out.push(
            at("kind"),
            format!("a `{kind}` signal needs `path`, the value to read"),
            Some("e.g. `path = \".summary.p95_ms\"`".into()),
        );
    }
    if s.each.is_some() && s.name.is_none() {
        out.push(
            at("each"),
            "`each` needs `name`, the field that names each row",
            Some("e.g. `name = \".path\"`".into()),
        );
    }
    if s.each.is_none() {
        for (key, v) in [("name", &s.name), ("critical_if", &s.critical_if)] {
            if v.is_some() {
                out.push(
                    at(key),
                    format!("`{key}` only applies with `each`"),
                    Some("add `each = \"<path to an array>\"` or remove it".into()),
                );
            }
        }
    }
}

/// A signal on a `prometheus` source reads the query's result: no JSON paths; `name` is a
/// label template (`{{service}}`) giving a row per series.
fn prometheus_signal(s: &super::Signal, i: usize, out: &mut Out) {
    let at = |k: &str| kp!["signal", i, k];
    for (key, v) in [
        ("path", &s.path),
        ("each", &s.each),
        ("critical_if", &s.critical_if),
    ] {
        if v.is_some() {
            out.push(
                at(key),
                format!("`{key}` is not used with a prometheus source: the value is the query's result"),
                Some("remove it; for a row per series set `name = \"{{label}}\"`, to pick series filter them in the query".into()),
            );
        }
    }
    if let Some(name) = &s.name {
        if let Err(e) = crate::prom::Template::parse(name) {
            out.push(
                at("name"),
                e,
                Some("on a prometheus source `name` is a label template, e.g. `name = \"{{service}}\"`".into()),
            );
        }
    }
}

fn steps(cfg: &Config, out: &mut Out) {
    let mut seen: HashMap<(i64, &str), usize> = HashMap::new();
    for (i, s) in cfg.steps.iter().enumerate() {
        if s.title.trim().is_empty() {
            out.push(kp!["step", i, "title"], "step `title` is empty", None);
        }
        match seen.get(&(s.at.0, s.title.as_str())) {
            Some(&first) => {
                let line = out.line(kp!["step", first]);
                out.push(
                    kp!["step", i, "title"],
                    format!(
                        "step \"{}\" at {} is written twice (first on line {line})",
                        s.title,
                        crate::timefmt::format_offset(s.at.0)
                    ),
                    Some("merge the two steps' checklists".into()),
                );
            }
            None => {
                seen.insert((s.at.0, &s.title), i);
            }
        }
        for (j, c) in s.expect.iter().enumerate() {
            unknown_signal(
                cfg,
                &c.signal,
                kp!["step", i, "expect", j, "signal"],
                "expect",
                out,
            );
        }
        if let Some(run) = &s.run {
            match run.argv.first() {
                None => out.push(
                    kp!["step", i, "run", "argv"],
                    "`run.argv` is empty: there is no program to run",
                    Some(
                        "e.g. `run = { argv = [\"python\", \"scripts/perf_smoke_api_v1.py\"] }`"
                            .into(),
                    ),
                ),
                Some(p) if p.trim().is_empty() => out.push(
                    kp!["step", i, "run", "argv"],
                    "`run.argv[0]` is empty: there is no program to run",
                    None,
                ),
                _ => {}
            }
            if run.timeout.0.is_zero() {
                out.push(kp!["step", i, "run", "timeout"], "`run.timeout` is 0", None);
            }
        }
    }
    for (i, r) in cfg.cutover.phase_rules.iter().enumerate() {
        if r.name.trim().is_empty() {
            out.push(
                kp!["cutover", "phase_rule", i, "name"],
                "phase rule `name` is empty",
                None,
            );
        }
        for (j, c) in r.conditions.iter().enumerate() {
            unknown_signal(
                cfg,
                &c.signal,
                kp!["cutover", "phase_rule", i, "when", j, "signal"],
                "phase rule",
                out,
            );
        }
    }
}

fn unknown_signal(cfg: &Config, id: &str, at: Vec<Seg>, what: &str, out: &mut Out) {
    let ids: Vec<&str> = cfg.signals.iter().map(|s| s.id.as_str()).collect();
    if ids.contains(&id) {
        return;
    }
    let hint = match did_you_mean(id, ids.iter().copied()) {
        Some(m) => Some(format!("did you mean `{m}`?")),
        None if ids.is_empty() => None,
        None => Some(format!("defined signals: {}", ids.join(", "))),
    };
    out.push(
        at,
        format!("{what} names signal `{id}`, which is not defined"),
        hint,
    );
}

pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Longest `verify.within`: a verification is watched live, not for hours.
pub const MAX_VERIFY_WITHIN: std::time::Duration = std::time::Duration::from_secs(3600);

/// Longest `cooldown`: past a day a second attempt is a new decision anyway.
pub const MAX_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A key as messages name it: a character quoted (`` `R` ``), a named key bare (Space).
fn key_name(c: Chord) -> String {
    match c.as_char() {
        Some(ch) if ch != ' ' => format!("`{ch}`"),
        _ => c.name(),
    }
}

/// The keys, checked by building the dashboard's own key map: a key that cannot be read
/// or is bound twice is reported where it was written.
fn keys(cfg: &Config, out: &mut Out) {
    let (map, problems) = KeyMap::build(cfg);
    let first_danger = cfg.actions.iter().position(|a| a.danger);
    let action_id = |i: usize| cfg.actions.get(i).map_or("?", |a| a.id.as_str());
    let rollback = map
        .rollback()
        .map(|c| format!(", and {} for the rollback", key_name(c)))
        .unwrap_or_default();
    let builtins = format!(
        "built-in keys: {}{rollback}",
        map.builtin_keys()
            .into_iter()
            .map(key_name)
            .collect::<Vec<_>>()
            .join(" ")
    );
    const RESERVED: &str =
        "Ctrl-C, Ctrl-Z, Esc and Enter are reserved (quit, suspend, cancel, confirm)";
    for p in problems {
        match p {
            KeyProblem::Unreadable {
                origin: Origin::Action(i),
                why,
                ..
            } => {
                let at = kp!["action", i, "key"];
                if why.contains("control") {
                    out.push(
                        at,
                        "`key` is a control character",
                        Some("use a letter or digit, e.g. `key = \"D\"`".into()),
                    );
                } else {
                    out.push(
                        at,
                        format!(
                            "`key` \"{}\" must be exactly one character",
                            cfg.actions[i].key.escape_debug()
                        ),
                        Some("e.g. `key = \"D\"`".into()),
                    );
                }
            }
            KeyProblem::Unreadable {
                origin: Origin::Rollback,
                why,
                ..
            } => out.push(
                kp!["cutover", "rollback_key"],
                format!(
                    "`rollback_key` \"{}\" is not a key: {why}",
                    cfg.cutover.rollback_key.escape_debug()
                ),
                Some(format!(
                    "write one character (`rollback_key = \"R\"`) or a key name ({KEY_NAMES}), optionally after Ctrl- or Alt-"
                )),
            ),
            KeyProblem::Unreadable {
                origin: Origin::Builtin { name, .. },
                index,
                why,
            } => {
                let mut at = kp!["keys", name];
                let text = cfg.keys.get(name).map(|l| l.keys()).unwrap_or_default();
                let text = text.get(index.unwrap_or(0)).map_or("", |t| t.as_str());
                if let Some(i) = index {
                    at.push(Seg::Index(i));
                }
                out.push(
                    at,
                    format!("`{name}` \"{}\" is not a key: {why}", text.escape_debug()),
                    Some(format!(
                        "write one character or a key name ({KEY_NAMES}), optionally after Ctrl- or Alt-; several as a list: `{name} = [\"F5\", \"5\"]`"
                    )),
                );
            }
            KeyProblem::Unreadable {
                origin: Origin::Fixed,
                ..
            } => {}
            KeyProblem::UnknownName(name) => {
                let hint = if name == "rollback" || name == "rollback_key" {
                    "the rollback key is `rollback_key` in [cutover]".to_string()
                } else {
                    let names = BUILTINS.iter().map(|b| b.name);
                    match did_you_mean(&name, names) {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => format!(
                            "[keys] rebinds: {}",
                            BUILTINS.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
                        ),
                    }
                };
                out.push_key(
                    kp!["keys", name.as_str()],
                    format!("`{name}` is not a built-in key to rebind"),
                    Some(hint),
                );
            }
            KeyProblem::Twice {
                chord,
                earlier,
                later,
            } => {
                let k = key_name(chord);
                match (earlier, later) {
                    (Origin::Action(j), Origin::Action(i)) => {
                        let line = out.line(kp!["action", j, "key"]);
                        out.push(
                            kp!["action", i, "key"],
                            format!(
                                "key {k} is bound twice: action `{}` and action `{}` (line {line})",
                                action_id(i),
                                action_id(j)
                            ),
                            Some("give each action its own key".into()),
                        );
                    }
                    (Origin::Builtin { name, .. }, Origin::Action(i)) => out.push(
                        kp!["action", i, "key"],
                        format!("key {k} is bound twice: it is a built-in key ({name})"),
                        Some(format!(
                            "{builtins}; choose another, or rebind `{name}` in [keys]"
                        )),
                    ),
                    (Origin::Action(j), Origin::Rollback) => {
                        let hint = match first_danger {
                            Some(d) => format!(
                                "{k} opens the first `danger` action (`{}`, line {}); give this one another key",
                                action_id(d),
                                out.line(kp!["action", d, "key"])
                            ),
                            None => "the rollback key is only for the first `danger = true` action; mark this action `danger = true` if it is the rollback, else give it another key".into(),
                        };
                        out.push(
                            kp!["action", j, "key"],
                            format!("key {k} is bound twice: it is the rollback key"),
                            Some(hint),
                        );
                    }
                    (Origin::Builtin { name, .. }, Origin::Rollback) => out.push(
                        kp!["cutover", "rollback_key"],
                        format!("`rollback_key` {k} is bound twice: it is a built-in key ({name})"),
                        Some(format!("choose another, or rebind `{name}` in [keys]")),
                    ),
                    (Origin::Fixed, Origin::Rollback) => out.push(
                        kp!["cutover", "rollback_key"],
                        format!("`rollback_key` {k} cannot be used: {RESERVED}"),
                        Some("e.g. `rollback_key = \"R\"`".into()),
                    ),
                    (Origin::Fixed, Origin::Builtin { name, .. }) => out.push(
                        kp!["keys", name],
                        format!("key {k} cannot be rebound: {RESERVED}"),
                        None,
                    ),
                    (Origin::Fixed, Origin::Action(i)) => out.push(
                        kp!["action", i, "key"],
                        format!("key {k} cannot be an action's key: {RESERVED}"),
                        None,
                    ),
                    (Origin::Builtin { name: first, rebound }, Origin::Builtin { name, .. }) => {
                        // Report it in [keys], where the clash was written.
                        let (at, other) = if rebound { (first, name) } else { (name, first) };
                        out.push(
                            kp!["keys", at],
                            format!("key {k} is bound twice: `{first}` and `{name}`"),
                            Some(format!(
                                "choose another key, or rebind `{other}` in [keys] too"
                            )),
                        );
                    }
                    // Action keys are bound after built-ins, the rollback key last.
                    (_, Origin::Builtin { .. } | Origin::Fixed) | (Origin::Rollback, _) => {}
                }
            }
        }
    }
}

fn actions(cfg: &Config, out: &mut Out) {
    let source_ids: Vec<&str> = cfg.sources.iter().map(|s| s.id.as_str()).collect();
    let signal_ids: Vec<&str> = cfg.signals.iter().map(|s| s.id.as_str()).collect();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (i, a) in cfg.actions.iter().enumerate() {
        let at = |k: &str| kp!["action", i, k];
        if a.id.trim().is_empty() {
            out.push(at("id"), "action `id` is empty", None);
        } else if let Some(&first) = ids.get(a.id.as_str()) {
            let line = out.line(kp!["action", first, "id"]);
            out.push(
                at("id"),
                format!(
                    "duplicate action id `{}` (first defined on line {line})",
                    a.id
                ),
                Some("give each action its own id".into()),
            );
        } else {
            ids.insert(&a.id, i);
        }
        if a.label.trim().is_empty() {
            out.push(
                at("label"),
                "action `label` is empty",
                Some("say what it does, e.g. `label = \"Disable the v2 flag\"`".into()),
            );
        }

        // Its key is checked with every other key, in `keys`.

        match (&a.request, &a.command) {
            (Some(_), Some(_)) => out.push(
                at("command"),
                format!("action `{}` has both `request` and `command`; give exactly one", a.id),
                Some("split it into two actions, or remove one".into()),
            ),
            (None, None) => out.push(
                kp!["action", i],
                format!("action `{}` has neither `request` nor `command`; give exactly one", a.id),
                Some("add `request = { method = \"POST\", url = \"...\" }` or `command = { argv = [\"...\"] }`".into()),
            ),
            _ => {}
        }
        if let Some(r) = &a.request {
            request(r, i, &source_ids, out);
        }
        if let Some(c) = &a.command {
            command(c, i, out);
        }

        if let Some(confirm) = &a.confirm {
            if confirm.trim().is_empty() {
                out.push(
                    at("confirm"),
                    "`confirm` is empty: the phrase to type before the action fires",
                    Some(format!(
                        "remove it to type the action id (`{}`), or write a phrase",
                        a.id
                    )),
                );
            } else if confirm.chars().any(char::is_control) {
                out.push(
                    at("confirm"),
                    "`confirm` has control characters, which cannot be typed",
                    None,
                );
            }
        }

        if let Some(c) = a.cooldown.filter(|c| c.0 > MAX_COOLDOWN) {
            out.push(
                kp!["action", i, "cooldown"],
                format!(
                    "`cooldown` ({}) is more than 24h",
                    crate::timefmt::format_duration(c.0)
                ),
                Some(
                    "e.g. `cooldown = \"5m\"`: how long after a success a second attempt needs `… again`"
                        .into(),
                ),
            );
        }

        if let Some(v) = &a.verify {
            let vp = |k: &str| kp!["action", i, "verify", k];
            if v.within.0.is_zero() || v.within.0 > MAX_VERIFY_WITHIN {
                out.push(
                    vp("within"),
                    format!(
                        "`within` ({}) must be more than 0 and at most 1h",
                        crate::timefmt::format_duration(v.within.0)
                    ),
                    Some(
                        "e.g. `within = \"2m\"`: how long to watch the signals after the action"
                            .into(),
                    ),
                );
            }
            if v.conditions.is_empty() {
                out.push(
                    vp("all"),
                    "`verify.all` is empty: there is nothing to verify",
                    Some("add a condition, e.g. `all = [{ signal = \"v2_primary\", is = \"== false\" }]`, or remove `verify`".into()),
                );
            }
            for (j, c) in v.conditions.iter().enumerate() {
                if !signal_ids.contains(&c.signal.as_str()) {
                    let hint = match did_you_mean(&c.signal, signal_ids.iter().copied()) {
                        Some(m) => Some(format!("did you mean `{m}`?")),
                        None if signal_ids.is_empty() => None,
                        None => Some(format!("defined signals: {}", signal_ids.join(", "))),
                    };
                    out.push(
                        kp!["action", i, "verify", "all", j, "signal"],
                        format!("verify names signal `{}`, which is not defined", c.signal),
                        hint,
                    );
                }
            }
        }
    }
}

fn request(r: &super::RequestCfg, i: usize, source_ids: &[&str], out: &mut Out) {
    let at = |k: &str| kp!["action", i, "request", k];
    if !METHODS.contains(&r.method.as_str()) {
        let hint = match did_you_mean(&r.method, METHODS.iter().copied()) {
            Some(m) => format!("did you mean `{m}`?"),
            None => format!("methods: {}", METHODS.join(", ")),
        };
        out.push(
            at("method"),
            format!(
                "unknown method \"{}\": expected one of {}",
                r.method,
                METHODS.join(", ")
            ),
            Some(hint),
        );
    }
    if !url_control(&r.url, at("url"), out) {
        match reqwest::Url::parse(&r.url) {
            Err(e) => out.push(
                at("url"),
                format!("`url` \"{}\" is not a valid URL: {e}", r.url),
                Some("write a full URL, e.g. `url = \"${WARROOM_URL:-http://localhost:5000}/api/v2/admin/flags\"`".into()),
            ),
            Ok(u) if !matches!(u.scheme(), "http" | "https") => out.push(
                at("url"),
                format!("`url` scheme `{}` is not supported; use http or https", u.scheme()),
                None,
            ),
            Ok(_) => {}
        }
    }
    if r.timeout.0.is_zero() {
        out.push(
            at("timeout"),
            "`timeout` must be more than 0",
            Some("e.g. `timeout = \"10s\"`".into()),
        );
    }
    headers(&r.headers, kp!["action", i, "request"], out);
    token_file(
        r.token_file.as_deref(),
        &r.headers,
        kp!["action", i, "request"],
        out,
    );
    if let Some(t) = &r.tls_from {
        if !source_ids.contains(&t.as_str()) {
            let hint = match did_you_mean(t, source_ids.iter().copied()) {
                Some(m) => Some(format!("did you mean `{m}`?")),
                None if source_ids.is_empty() => None,
                None => Some(format!("defined sources: {}", source_ids.join(", "))),
            };
            out.push(
                at("tls_from"),
                format!("`tls_from` names source `{t}`, which is not defined"),
                hint,
            );
        }
    }
}

fn command(c: &super::CommandCfg, i: usize, out: &mut Out) {
    let at = |k: &str| kp!["action", i, "command", k];
    match c.argv.first() {
        None => out.push(
            at("argv"),
            "`argv` is empty: there is no program to run",
            Some("e.g. `argv = [\"supervisorctl\", \"restart\", \"backend\"]`".into()),
        ),
        Some(p) if p.trim().is_empty() => out.push(
            kp!["action", i, "command", "argv", 0],
            "the program (`argv[0]`) is empty",
            None,
        ),
        // `argv = ["supervisorctl restart backend"]`: a shell line in a list.
        Some(p) if p.trim().contains(char::is_whitespace) && c.argv.len() == 1 => {
            let words: Vec<String> = p.split_whitespace().map(|w| format!("{w:?}")).collect();
            out.push(
                kp!["action", i, "command", "argv", 0],
                format!(
                    "a command is an argv list, never a shell string; write argv = [{}]",
                    words.join(", ")
                ),
                Some("each argument is one item of the list; no shell splits it".into()),
            );
        }
        Some(_) => {}
    }
    if c.argv.iter().any(|a| a.contains('\0')) {
        out.push(
            at("argv"),
            "`argv` has a NUL character, which no program argument can carry",
            None,
        );
    }
    if c.timeout.0.is_zero() {
        out.push(
            at("timeout"),
            "`timeout` must be more than 0",
            Some("e.g. `timeout = \"60s\"`".into()),
        );
    }
    for name in c.env.keys() {
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            out.push_key(
                kp!["action", i, "command", "env", name.as_str()],
                format!("`{name}` is not a valid environment variable name"),
                Some("names are letters, digits and `_`, not starting with a digit".into()),
            );
        }
    }
    if c.cwd.as_deref().is_some_and(|d| d.trim().is_empty()) {
        out.push(
            at("cwd"),
            "`cwd` is empty",
            Some("give a directory, or remove it".into()),
        );
    }
}

fn ui(cfg: &Config, out: &mut Out) {
    if let Some(theme) = &cfg.ui.theme {
        if !BUILTIN_THEMES.contains(&theme.as_str()) && !theme.ends_with(".toml") {
            let hint = match did_you_mean(theme, BUILTIN_THEMES.iter().copied()) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!(
                    "built-in themes: {}; or a path to a theme file ending in .toml",
                    BUILTIN_THEMES.join(", ")
                ),
            };
            out.push(
                kp!["ui", "theme"],
                format!("unknown theme \"{theme}\""),
                Some(hint),
            );
        }
    }
    if !(1..=60).contains(&cfg.ui.max_fps) {
        out.push(
            kp!["ui", "max_fps"],
            format!("`max_fps` {} is outside 1..=60", cfg.ui.max_fps),
            None,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str_with_env, ConfigError};

    const BASE: &str = "[cutover]\nname = \"x\"\n\n[[source]]\nid = \"api\"\nkind = \"http\"\nurl = \"http://h/x\"\n";

    fn problems(actions: &str) -> Vec<String> {
        let env = |k: &str| (k == "ADMIN_TOKEN").then(|| "s3cr3t-token".to_string());
        match load_str_with_env(&format!("{BASE}{actions}"), "c.toml", &env) {
            Ok(_) => vec![],
            Err(ConfigError::Invalid(ps)) => ps.iter().map(|p| p.message.clone()).collect(),
            Err(e) => vec![e.to_string()],
        }
    }

    fn action(id: &str, key: &str, danger: bool) -> String {
        format!(
            "\n[[action]]\nid = \"{id}\"\nkey = \"{key}\"\nlabel = \"l\"\ndanger = {danger}\ncommand = {{ argv = [\"true\"] }}\n"
        )
    }

    #[test]
    fn the_rollback_key_belongs_to_the_first_danger_action() {
        assert!(problems(&action("rb", "R", true)).is_empty());
        // The first danger action holds R even when its own key is another.
        let p = problems(&format!(
            "{}{}",
            action("rb", "D", true),
            action("o", "R", false)
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("key `R` is bound twice"), "{p:?}");
        // Without any danger action, R is still the rollback key.
        let p = problems(&action("o", "R", false));
        assert_eq!(p, ["key `R` is bound twice: it is the rollback key"]);
        // A second danger action is not the rollback.
        let p = problems(&format!(
            "{}{}",
            action("a", "R", true),
            action("b", "R", true)
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        // Keys are case-sensitive: `r` is free.
        assert!(problems(&action("o", "r", false)).is_empty());
        for k in ["q", "?", "j", "k", "x", "n", "t", "a", " ", "\\t"] {
            let p = problems(&action("o", k, false));
            assert_eq!(p.len(), 1, "{k:?}: {p:?}");
            assert!(p[0].contains("built-in key"), "{k:?}: {p:?}");
        }
    }

    #[test]
    fn action_ids_are_unique_and_tokens_never_shown() {
        let p = problems(&format!(
            "{}{}",
            action("a", "A", false),
            action("a", "B", false)
        ));
        assert_eq!(p, ["duplicate action id `a` (first defined on line 10)"]);
        let t = "\n[[action]]\nid = \"r\"\nkey = \"D\"\nlabel = \"l\"\n[action.request]\nurl = \"http://h/\"\ntoken_file = \"/t\"\nheaders = { Authorization = \"Bearer ${ADMIN_TOKEN}\" }\n";
        let p = problems(t);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("ambiguous") && !p[0].contains("s3cr3t"),
            "{p:?}"
        );
    }

    fn prom_problems(source: &str, signal: &str) -> Vec<String> {
        let text = format!(
            "[cutover]\nname = \"x\"\n\n[[source]]\nid = \"p\"\n{source}\n\n[[signal]]\nid = \"s\"\nsource = \"p\"\nkind = \"metric\"\n{signal}\n"
        );
        match load_str_with_env(&text, "c.toml", &|_| None) {
            Ok(_) => vec![],
            Err(ConfigError::Invalid(ps)) => ps.iter().map(|p| p.message.clone()).collect(),
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn prometheus_sources_need_a_query_and_signals_no_paths() {
        let prom = "kind = \"prometheus\"\nurl = \"http://prom:9090\"\nquery = 'sum(rate(http_requests_total{code=~\"5..\"}[1m]))'";
        assert_eq!(prom_problems(prom, ""), Vec::<String>::new());
        assert_eq!(
            prom_problems(prom, "name = \"{{service}} {{code}}\""),
            Vec::<String>::new()
        );
        let p = prom_problems("kind = \"prometheus\"\nurl = \"http://prom:9090\"", "");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("needs `query`"), "{p:?}");
        let p = prom_problems(
            "kind = \"http\"\nurl = \"http://h/x\"\nquery = \"up\"",
            "path = \".x\"",
        );
        assert_eq!(p, ["`query` only applies to `kind = \"prometheus\"`"]);
        let p = prom_problems(prom, "path = \".x\"\neach = \".y[]\"");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p.iter()
                .all(|m| m.contains("not used with a prometheus source")),
            "{p:?}"
        );
        let p = prom_problems(prom, "name = \"{{service\"");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("closing"), "{p:?}");
        // The other signal checks still apply.
        let p = prom_problems(prom, "m_of_n = [0, 5]");
        assert_eq!(p.len(), 1, "{p:?}");
        // A typo in the kind gets a hint.
        let p = prom_problems("kind = \"prometeus\"\nurl = \"http://p\"", "");
        assert!(p.iter().any(|m| m.contains("prometeus")), "{p:?}");
    }
}
