//! Semantic checks on a parsed config: each table's own checks (in its module), then the
//! checks across tables, which live here — duplicate ids, and every reference by id from
//! one table to another.
//!
//! Pure: takes the typed config and returns every issue with the key path it is about;
//! `load` turns paths into file locations. Messages quote what was written so the user
//! can find it; `load` masks any value that came from the environment.

use super::schema::{did_you_mean, kp, Seg};
use super::{action, cutover, keys, notify, signal, source, step, ui, Config};
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

/// Where the checks put what they find.
pub(super) struct Out<'a> {
    issues: Vec<Issue>,
    line_of: &'a dyn Fn(&[Seg]) -> usize,
    /// The value as written, for a string changed by `${VAR}` expansion.
    written: &'a dyn Fn(&[Seg]) -> Option<String>,
}

impl Out<'_> {
    /// The line `path` is written on, for "first defined on line N".
    pub(super) fn line(&self, path: Vec<Seg>) -> usize {
        (self.line_of)(&path)
    }

    /// See `validate_with`.
    pub(super) fn written(&self, path: &[Seg]) -> Option<String> {
        (self.written)(path)
    }

    pub(super) fn push(
        &mut self,
        path: Vec<Seg>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.issues.push(Issue {
            path,
            message: message.into(),
            hint,
            at_key: false,
        });
    }

    pub(super) fn push_key(
        &mut self,
        path: Vec<Seg>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
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
    cutover::check(cfg, &mut out);
    source::check(cfg, &mut out);
    signal::check(cfg, &mut out);
    step::check(cfg, &mut out);
    action::check(cfg, &mut out);
    keys::check(cfg, &mut out);
    ui::check(cfg, &mut out);
    notify::check(cfg, &mut out);
    across_tables(cfg, &mut out);
    out.issues
}

/// What needs more than one entry to judge: ids written twice, and references by id.
fn across_tables(cfg: &Config, out: &mut Out) {
    let source_ids: Vec<&str> = cfg.sources.iter().map(|s| s.id.as_str()).collect();
    let signal_ids: Vec<&str> = cfg.signals.iter().map(|s| s.id.as_str()).collect();
    let action_ids: Vec<&str> = cfg.actions.iter().map(|a| a.id.as_str()).collect();
    duplicate_ids("source", &source_ids, out);
    duplicate_ids("signal", &signal_ids, out);
    duplicate_ids("action", &action_ids, out);
    duplicate_steps(cfg, out);
    let step_ids: Vec<&str> = cfg.steps.iter().filter_map(|s| s.id.as_deref()).collect();
    duplicate_step_ids(cfg, out);

    if cfg.cutover.rollback_when.is_some()
        && !cfg
            .signals
            .iter()
            .any(|s| s.critical || s.critical_if.is_some())
    {
        // The rule counts critical signals in `crit`; without any it can never fire.
        out.push(
            kp!["cutover", "rollback_when"],
            "`rollback_when` can never fire: no signal has `critical = true` or `critical_if`",
            Some(
                "mark the signals whose `crit` should advise a rollback with `critical = true`"
                    .into(),
            ),
        );
    }
    for (i, r) in cfg.cutover.phase_rules.iter().enumerate() {
        for (j, c) in r.conditions.iter().enumerate() {
            let at = kp!["cutover", "phase_rule", i, "when", j, "signal"];
            unknown_signal(&signal_ids, &c.signal, at, "phase rule", out);
        }
    }

    for (i, s) in cfg.signals.iter().enumerate() {
        let at = |k: &str| kp!["signal", i, k];
        let source = cfg.sources.iter().find(|x| x.id == s.source);
        if source.is_none() {
            out.push(
                at("source"),
                format!(
                    "signal `{}` reads source `{}`, which is not defined",
                    s.id, s.source
                ),
                unknown_hint(&s.source, &source_ids, "sources"),
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

    for (i, s) in cfg.steps.iter().enumerate() {
        if let Some(req) = &s.requires {
            let at = kp!["step", i, "requires", "gate"];
            if s.run.is_none() {
                out.push(
                    at.clone(),
                    "`requires` holds back a step's `run`, and this step has none",
                    Some("add `run = { argv = [...] }`, or remove `requires`".into()),
                );
            }
            if s.id.as_deref() == Some(req.gate.as_str()) {
                out.push(
                    at,
                    "a step cannot wait for its own gate",
                    Some("name the gate before it".into()),
                );
            } else {
                gate_ref(cfg, at, &req.gate, &step_ids, out);
            }
        }
        for (j, c) in s.expect.iter().enumerate() {
            let at = kp!["step", i, "expect", j, "signal"];
            unknown_signal(&signal_ids, &c.signal, at, "expect", out);
        }
        for (j, h) in s.hold.iter().enumerate() {
            let at = kp!["step", i, "hold", j, "signal"];
            unknown_signal(&signal_ids, &h.signal, at, "hold", out);
        }
    }

    for (i, a) in cfg.actions.iter().enumerate() {
        if let Some(req) = &a.requires {
            required_gate(cfg, i, a, &req.gate, &step_ids, out);
        }
        if let Some(t) = a.request.as_ref().and_then(|r| r.tls_from.as_ref()) {
            if !source_ids.contains(&t.as_str()) {
                out.push(
                    kp!["action", i, "request", "tls_from"],
                    format!("`tls_from` names source `{t}`, which is not defined"),
                    unknown_hint(t, &source_ids, "sources"),
                );
            }
        }
        for (j, c) in a
            .verify
            .iter()
            .flat_map(|v| v.conditions.iter())
            .enumerate()
        {
            let at = kp!["action", i, "verify", "all", j, "signal"];
            unknown_signal(&signal_ids, &c.signal, at, "verify", out);
        }
    }
}

/// `[[table]]` entries with the same `id` (an empty id is reported by its table).
fn duplicate_ids(table: &'static str, ids: &[&str], out: &mut Out) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        if id.trim().is_empty() {
            continue;
        }
        match seen.get(id) {
            Some(&first) => {
                let line = out.line(kp![table, first, "id"]);
                out.push(
                    kp![table, i, "id"],
                    format!("duplicate {table} id `{id}` (first defined on line {line})"),
                    Some(format!("give each {table} its own id")),
                );
            }
            None => {
                seen.insert(id, i);
            }
        }
    }
}

/// Step ids written twice (steps without an id are not compared).
fn duplicate_step_ids(cfg: &Config, out: &mut Out) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, s) in cfg.steps.iter().enumerate() {
        let Some(id) = s.id.as_deref().filter(|id| !id.trim().is_empty()) else {
            continue;
        };
        match seen.get(id) {
            Some(&first) => {
                let line = out.line(kp!["step", first, "id"]);
                out.push(
                    kp!["step", i, "id"],
                    format!("duplicate step id `{id}` (first defined on line {line})"),
                    Some("give each step its own id".into()),
                );
            }
            None => {
                seen.insert(id, i);
            }
        }
    }
}

/// `requires = { gate = "…" }` names a gate step, on an action a gate may hold back.
fn required_gate(
    cfg: &Config,
    i: usize,
    a: &super::ActionCfg,
    gate: &str,
    step_ids: &[&str],
    out: &mut Out,
) {
    let at = kp!["action", i, "requires", "gate"];
    if a.danger {
        out.push(
            at,
            format!(
                "action `{}` has `danger = true`: a rollback is never held back by a gate",
                a.id
            ),
            Some("remove `requires`, or `danger` if this is a forward step".into()),
        );
        return;
    }
    gate_ref(cfg, at, gate, step_ids, out);
}

/// A reference to a gate step by id.
fn gate_ref(cfg: &Config, at: Vec<Seg>, gate: &str, step_ids: &[&str], out: &mut Out) {
    match cfg.steps.iter().find(|s| s.id.as_deref() == Some(gate)) {
        None => out.push(
            at,
            format!("`requires.gate` names step `{gate}`, which is not defined"),
            match unknown_hint(gate, step_ids, "step ids") {
                Some(h) => Some(h),
                None => Some("give the gate step an `id`, e.g. `id = \"go-50\"`".into()),
            },
        ),
        Some(s) if !s.gate => out.push(
            at,
            format!("`requires.gate` names step `{gate}`, which is not a gate"),
            Some("add `gate = true` to that step".into()),
        ),
        Some(_) => {}
    }
}

/// The same step (time and title) written twice.
fn duplicate_steps(cfg: &Config, out: &mut Out) {
    let mut seen: HashMap<(i64, &str), usize> = HashMap::new();
    for (i, s) in cfg.steps.iter().enumerate() {
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
    }
}

/// `{what} names signal `x`, which is not defined`, unless `id` is a signal.
fn unknown_signal(ids: &[&str], id: &str, at: Vec<Seg>, what: &str, out: &mut Out) {
    if ids.contains(&id) {
        return;
    }
    out.push(
        at,
        format!("{what} names signal `{id}`, which is not defined"),
        unknown_hint(id, ids, "signals"),
    );
}

/// The closest id, else the ids there are (none when there are none).
fn unknown_hint(name: &str, ids: &[&str], plural: &str) -> Option<String> {
    match did_you_mean(name, ids.iter().copied()) {
        Some(m) => Some(format!("did you mean `{m}`?")),
        None if ids.is_empty() => None,
        None => {
            // Each id once, in the order written (an id written twice is its own problem).
            let mut seen: Vec<&str> = Vec::with_capacity(ids.len());
            for id in ids {
                if !id.is_empty() && !seen.contains(id) {
                    seen.push(id);
                }
            }
            Some(format!("defined {plural}: {}", seen.join(", ")))
        }
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
