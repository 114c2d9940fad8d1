//! `[[signal]]` and `[signal.advice]`: one value read from a source (or a row per element
//! or series), judged against its thresholds with its trip and clear rules.

use super::schema::{kp, Shape, TableSchema};
use super::validate::Out;
use super::{Config, Dur, SourceKind};
use crate::condition::Condition;
use crate::path::JsonPath;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalKind {
    /// A state (bool, string or number) whose changes are events.
    Flag,
    /// A number with a unit, judged against thresholds.
    Metric,
    /// The source's reachability / HTTP status (value: the status code).
    Health,
}

/// Which band a no-data state counts as once it has lasted `stale_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NoDataPolicy {
    Ok,
    #[default]
    Warn,
    Crit,
}

/// What the thresholds look at: the value itself or its delta to the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum JudgeOn {
    #[default]
    Value,
    /// `value - baseline`, in the signal's unit.
    Delta,
    /// `(value - baseline) / baseline * 100`, in percent.
    DeltaPct,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Advice {
    #[serde(default)]
    pub ok: Option<String>,
    #[serde(default)]
    pub warn: Option<String>,
    #[serde(default)]
    pub crit: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    pub id: String,
    /// The `id` of a `[[source]]`.
    pub source: String,
    #[serde(default)]
    pub label: Option<String>,
    pub kind: SignalKind,
    /// jq-style path to the value (relative to each element when `each` is set).
    #[serde(default)]
    pub path: Option<String>,
    /// jq-style path to an array whose elements become one row each.
    #[serde(default)]
    pub each: Option<String>,
    /// Path inside each element that names its row (e.g. `.path`). On a `prometheus`
    /// source: a label template (`{{service}}`, `{{path}} {{code}}`) naming one row per series.
    #[serde(default)]
    pub name: Option<String>,
    /// Path inside each element: truthy marks the row critical.
    #[serde(default)]
    pub critical_if: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    /// Multiply the raw number by this before showing and judging (100 shows a fraction as %).
    #[serde(default)]
    pub scale: Option<f64>,
    /// Another signal's id shown beside this one with the delta.
    #[serde(default)]
    pub baseline: Option<String>,
    #[serde(default)]
    pub on: JudgeOn,
    #[serde(default)]
    pub warn: Option<Condition>,
    #[serde(default)]
    pub crit: Option<Condition>,
    /// The condition must hold this long before the band rises.
    #[serde(default, rename = "for")]
    pub for_: Option<Dur>,
    /// `[m, n]`: m of the last n samples must hold before the band rises.
    #[serde(default)]
    pub m_of_n: Option<[u32; 2]>,
    /// The condition must be clear this long before the band falls.
    #[serde(default)]
    pub clear_for: Option<Dur>,
    /// Its `crit` raises the banner and counts for `check`'s exit 1.
    #[serde(default)]
    pub critical: bool,
    /// Which band no data counts as. Unset, no data on a critical signal is never a pass
    /// (`check` exits 3, the report says NO DATA); set, it is judged as that band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_data: Option<NoDataPolicy>,
    /// Default: three intervals of its source.
    #[serde(default)]
    pub stale_after: Option<Dur>,
    /// A path (from the document's root) to the payload's own timestamp, overriding the
    /// source's `fresh_at`: the value's age is judged from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh_at: Option<String>,
    #[serde(default)]
    pub advice: Advice,
}

impl Signal {
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.id)
    }
}

pub const SIGNAL_KINDS: &[&str] = &["flag", "metric", "health"];
pub const NO_DATA: &[&str] = &["ok", "warn", "crit"];
pub const JUDGE_ON: &[&str] = &["value", "delta", "deltapct"];

pub static SIGNAL: TableSchema = TableSchema {
    name: "[[signal]]",
    keys: &[
        ("id", Shape::Any),
        ("source", Shape::Any),
        ("label", Shape::Any),
        ("kind", Shape::Enum(SIGNAL_KINDS)),
        ("path", Shape::Any),
        ("each", Shape::Any),
        ("name", Shape::Any),
        ("critical_if", Shape::Any),
        ("unit", Shape::Any),
        ("scale", Shape::Any),
        ("baseline", Shape::Any),
        ("on", Shape::Enum(JUDGE_ON)),
        ("warn", Shape::Any),
        ("crit", Shape::Any),
        ("for", Shape::Any),
        ("m_of_n", Shape::Any),
        ("clear_for", Shape::Any),
        ("critical", Shape::Any),
        ("no_data", Shape::Enum(NO_DATA)),
        ("stale_after", Shape::Any),
        ("fresh_at", Shape::Any),
        ("advice", Shape::Table(&ADVICE)),
    ],
    required: &["id", "source", "kind"],
};

pub static ADVICE: TableSchema = TableSchema {
    name: "[signal.advice]",
    keys: &[
        ("ok", Shape::Any),
        ("warn", Shape::Any),
        ("crit", Shape::Any),
    ],
    required: &[],
};

/// Longest `m_of_n` window: the engine keeps this many samples per row.
pub const MAX_WINDOW: u32 = 120;

/// Each signal on its own, read as its source's kind wants; its source, its baseline
/// and `stale_after` against the source's interval are checked across tables
/// (`validate`).
pub(super) fn check(cfg: &Config, out: &mut Out) {
    for (i, s) in cfg.signals.iter().enumerate() {
        let at = |k: &str| kp!["signal", i, k];
        if s.id.trim().is_empty() {
            out.push(at("id"), "signal `id` is empty", None);
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

        let source = cfg.sources.iter().find(|x| x.id == s.source);
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
    }
}

/// The JSON paths of a signal on an `http` source.
fn json_paths(s: &Signal, i: usize, out: &mut Out) {
    let at = |k: &str| kp!["signal", i, k];
    for (key, p) in [
        ("path", &s.path),
        ("each", &s.each),
        ("name", &s.name),
        ("critical_if", &s.critical_if),
        ("fresh_at", &s.fresh_at),
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
fn prometheus_signal(s: &Signal, i: usize, out: &mut Out) {
    let at = |k: &str| kp!["signal", i, k];
    for (key, v) in [
        ("path", &s.path),
        ("each", &s.each),
        ("critical_if", &s.critical_if),
        ("fresh_at", &s.fresh_at),
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

/// Thresholds written with a unit (`> 500ms`, `> 0.5s`, `> 2%`) converted into the unit
/// of their signal, so every judge compares like with like; a unit that does not fit is
/// an issue (and the condition is left out of the judging config). Run by the loader
/// before the semantic checks.
pub(super) fn convert_units(cfg: &mut Config) -> Vec<super::validate::Issue> {
    let mut issues = Vec::new();
    let mut fix = |cond: &mut Condition, unit: Option<&str>, path: Vec<super::schema::Seg>| {
        let written = cond.to_string();
        match cond.in_unit_of(unit) {
            Ok(c) => *cond = c,
            Err(why) => issues.push(super::validate::Issue {
                path,
                message: format!("threshold `{written}`: {why}"),
                hint: Some(match unit {
                    Some(u) => format!(
                        "write the number in `{u}` (e.g. `{} <n>`), or a unit that converts to `{u}`",
                        cond.op.symbol()
                    ),
                    None => "add the signal's `unit` (e.g. `unit = \"ms\"`), or write the number alone".into(),
                }),
                at_key: false,
            }),
        }
    };
    let units: Vec<(String, Option<String>)> = cfg
        .signals
        .iter()
        .map(|s| (s.id.clone(), s.unit.clone()))
        .collect();
    let unit_of = |id: &str| {
        units
            .iter()
            .find(|(i, _)| i == id)
            .and_then(|(_, u)| u.clone())
    };
    for (i, s) in cfg.signals.iter_mut().enumerate() {
        // A percent delta is in percent whatever the signal measures.
        let unit = match s.on {
            JudgeOn::DeltaPct => Some("%".to_string()),
            _ => s.unit.clone(),
        };
        if let Some(c) = &mut s.warn {
            fix(c, unit.as_deref(), kp!["signal", i, "warn"]);
        }
        if let Some(c) = &mut s.crit {
            fix(c, unit.as_deref(), kp!["signal", i, "crit"]);
        }
    }
    for (i, a) in cfg.actions.iter_mut().enumerate() {
        if let Some(v) = &mut a.verify {
            for (j, c) in v.conditions.iter_mut().enumerate() {
                let u = unit_of(&c.signal);
                fix(
                    &mut c.is,
                    u.as_deref(),
                    kp!["action", i, "verify", "all", j, "is"],
                );
            }
        }
    }
    for (i, s) in cfg.steps.iter_mut().enumerate() {
        for (j, c) in s.expect.iter_mut().enumerate() {
            let u = unit_of(&c.signal);
            fix(&mut c.is, u.as_deref(), kp!["step", i, "expect", j, "is"]);
        }
        for (j, h) in s.hold.iter_mut().enumerate() {
            let u = unit_of(&h.signal);
            fix(&mut h.is, u.as_deref(), kp!["step", i, "hold", j, "is"]);
        }
    }
    for (i, r) in cfg.cutover.phase_rules.iter_mut().enumerate() {
        for (j, c) in r.conditions.iter_mut().enumerate() {
            let u = unit_of(&c.signal);
            fix(
                &mut c.is,
                u.as_deref(),
                kp!["cutover", "phase_rule", i, "when", j, "is"],
            );
        }
    }
    issues
}
