//! Semantic checks on a parsed config (owned by the config work).
//!
//! Pure: takes the typed config and returns every issue with the key path it is about;
//! `load` turns paths into file locations. Messages quote what was written so the user
//! can find it; `load` masks any value that came from the environment.

use super::schema::{did_you_mean, kp, Seg};
use super::{Config, JudgeOn, SignalKind};
use crate::path::JsonPath;
use std::collections::HashMap;

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
    let mut out = Out {
        issues: Vec::new(),
        line_of,
    };
    cutover(cfg, &mut out);
    sources(cfg, &mut out);
    signals(cfg, &mut out);
    steps(cfg, &mut out);
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
                super::duration::format_offset(c.window_end.0),
                super::duration::format_offset(c.window_start.0)
            ),
            None,
        );
    }
    if c.rollback_key.chars().count() != 1 {
        out.push(
            kp!["cutover", "rollback_key"],
            format!(
                "`rollback_key` \"{}\" must be a single character",
                c.rollback_key
            ),
            Some("e.g. `rollback_key = \"R\"`".into()),
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
        if !cfg.signals.iter().any(|s| s.critical) {
            out.push(
                kp!["cutover", "rollback_when"],
                "`rollback_when` can never fire: no signal has `critical = true`",
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
                    super::duration::format_duration(s.connect_timeout()),
                    super::duration::format_duration(s.timeout.0)
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
        for (name, value) in &s.headers {
            let hp = kp!["source", i, "headers", name.as_str()];
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                out.push_key(
                    hp.clone(),
                    format!("`{name}` is not a valid HTTP header name"),
                    Some("header names are letters, digits and `-`, e.g. `Authorization`".into()),
                );
            }
            // Never quote a header value: it is often a token.
            if reqwest::header::HeaderValue::from_str(value).is_err() {
                out.push(hp, format!("the value of header `{name}` has characters not allowed in HTTP headers (e.g. a newline)"), Some("check the variable it comes from for a trailing newline".into()));
            }
        }
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
                        super::duration::format_duration(stale.0),
                        src.id,
                        super::duration::format_duration(src.interval.0)
                    ),
                    None,
                );
            }
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
                        super::duration::format_offset(s.at.0)
                    ),
                    Some("merge the two steps' checklists".into()),
                );
            }
            None => {
                seen.insert((s.at.0, &s.title), i);
            }
        }
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
