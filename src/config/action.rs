//! `[[action]]` with its `[action.request]` or `[action.command]` and `[action.verify]`:
//! an operator action, fired only after the confirmation phrase is typed, once, audited
//! and verified. A step's `run` is a command too, and `verify.all`, a step's `expect` and
//! a phase rule's `when` are the same conditions on signals.

use super::schema::{did_you_mean, kp, Shape, TableSchema};
use super::validate::Out;
use super::{http, Config, Dur};
use crate::condition::Condition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionCfg {
    pub id: String,
    /// One character; the first `danger` action is also opened by the rollback key.
    pub key: String,
    pub label: String,
    /// A rollback or anything else that changes production: drawn in danger style.
    #[serde(default)]
    pub danger: bool,
    #[serde(default)]
    pub request: Option<RequestCfg>,
    #[serde(default)]
    pub command: Option<CommandCfg>,
    /// The phrase to type before Enter fires it; default: the action id.
    #[serde(default)]
    pub confirm: Option<String>,
    #[serde(default)]
    pub verify: Option<VerifyCfg>,
    /// After an attempt succeeded, how long past its verdict a second attempt still needs
    /// the deliberate `… again` phrase; default: the verify window, or 60 s without one.
    #[serde(default)]
    pub cooldown: Option<Dur>,
    /// A forward action waits for this gate's GO (a `danger` action never waits).
    #[serde(default)]
    pub requires: Option<Requires>,
}

/// What an action waits for before it may be confirmed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// The `id` of a `[[step]]` with `gate = true`.
    pub gate: String,
}

/// The cooldown of an action without `verify` and without its own `cooldown`.
const DEFAULT_COOLDOWN_MS: i64 = 60_000;

impl ActionCfg {
    pub fn confirm_phrase(&self) -> &str {
        self.confirm.as_deref().unwrap_or(&self.id)
    }

    /// The phrase of a deliberate second attempt after a success: the usual phrase and
    /// `again`, so the usual phrase typed from habit fires nothing.
    pub fn again_phrase(&self) -> String {
        format!("{} again", self.confirm_phrase())
    }

    /// See `cooldown`.
    pub fn cooldown_ms(&self) -> i64 {
        match (&self.cooldown, &self.verify) {
            (Some(c), _) => c.as_ms(),
            (None, Some(v)) => v.within.as_ms(),
            (None, None) => DEFAULT_COOLDOWN_MS,
        }
    }

    /// How long the request or command may take (0 when it has neither).
    pub fn timeout_ms(&self) -> i64 {
        match (&self.request, &self.command) {
            (Some(r), _) => r.timeout.as_ms(),
            (_, Some(c)) => c.timeout.as_ms(),
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestCfg {
    #[serde(default = "default_method")]
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Sent as is (JSON usually); `Content-Type` defaults to application/json.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default = "default_action_timeout")]
    pub timeout: Dur,
    /// Read `Authorization: Bearer <token>` from this file (refused if others can read it).
    #[serde(default)]
    pub token_file: Option<String>,
    /// Use this source's TLS settings (ca_file, insecure_tls).
    #[serde(default)]
    pub tls_from: Option<String>,
}

fn default_method() -> String {
    "POST".into()
}
fn default_action_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(10))
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommandCfg {
    /// The program and its arguments, never a shell string.
    pub argv: Vec<String>,
    #[serde(default = "default_command_timeout")]
    pub timeout: Dur,
    /// Extra environment for the command (the rest is inherited).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub cwd: Option<String>,
    /// Values parsed from the output by regex, judged against their `expect`: a script's
    /// own numbers ("Mean delta: 2.3%") become evidence.
    #[serde(default)]
    pub capture: Vec<Capture>,
}

/// One value a command's output must show: the first group of `regex`, judged by `expect`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    /// How the value is named on the step and in the report (`mean_delta_pct`).
    pub name: String,
    /// Its first group is the value: `'Mean delta: ([0-9.]+)%'`.
    pub regex: String,
    /// What the value must satisfy (`< 5`); without it the value is only recorded.
    #[serde(default)]
    pub expect: Option<Condition>,
    /// Shown after the value (`%`, `ms`); `expect` may be written in a unit that converts.
    #[serde(default)]
    pub unit: Option<String>,
}

fn default_command_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(60))
}

/// After success: poll these conditions at 1 s until all hold or `within` passes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyCfg {
    pub within: Dur,
    #[serde(rename = "all")]
    pub conditions: Vec<VerifyCond>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyCond {
    /// A signal id (every row of an `each` signal must hold).
    pub signal: String,
    /// e.g. `== false`, `< 2`.
    pub is: Condition,
}

pub static ACTION: TableSchema = TableSchema {
    name: "[[action]]",
    keys: &[
        ("id", Shape::Any),
        ("key", Shape::Any),
        ("label", Shape::Any),
        ("danger", Shape::Any),
        ("request", Shape::Table(&REQUEST)),
        ("command", Shape::Table(&COMMAND)),
        ("confirm", Shape::Any),
        ("verify", Shape::Table(&VERIFY)),
        ("cooldown", Shape::Any),
        ("requires", Shape::Table(&REQUIRES)),
    ],
    required: &["id", "key", "label"],
};

pub static REQUIRES: TableSchema = TableSchema {
    name: "[action.requires]",
    keys: &[("gate", Shape::Any)],
    required: &["gate"],
};

pub static REQUEST: TableSchema = TableSchema {
    name: "[action.request]",
    keys: &[
        ("method", Shape::Any),
        ("url", Shape::Any),
        ("headers", Shape::Map),
        ("body", Shape::Any),
        ("timeout", Shape::Any),
        ("token_file", Shape::Any),
        ("tls_from", Shape::Any),
    ],
    required: &["url"],
};

pub static COMMAND: TableSchema = TableSchema {
    name: "[action.command]",
    keys: &[
        ("argv", Shape::Argv),
        ("timeout", Shape::Any),
        ("env", Shape::Map),
        ("cwd", Shape::Any),
        ("capture", Shape::Tables(&CAPTURE)),
    ],
    required: &["argv"],
};

pub static CAPTURE: TableSchema = TableSchema {
    name: "[[…capture]]",
    keys: &[
        ("name", Shape::Any),
        ("regex", Shape::Any),
        ("expect", Shape::Any),
        ("unit", Shape::Any),
    ],
    required: &["name", "regex"],
};

pub static VERIFY: TableSchema = TableSchema {
    name: "[action.verify]",
    keys: &[("within", Shape::Any), ("all", Shape::Tables(&VERIFY_COND))],
    required: &["within", "all"],
};

pub static VERIFY_COND: TableSchema = TableSchema {
    name: "[[action.verify.all]]",
    keys: &[("signal", Shape::Any), ("is", Shape::Any)],
    required: &["signal", "is"],
};

pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Longest `verify.within`: a verification is watched live, not for hours.
pub const MAX_VERIFY_WITHIN: std::time::Duration = std::time::Duration::from_secs(3600);

/// Longest `cooldown`: past a day a second attempt is a new decision anyway.
pub const MAX_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Each action on its own. Its key is checked with every other key (`keys`); ids written
/// twice, `tls_from` and the signals `verify` names, across tables (`validate`).
pub(super) fn check(cfg: &Config, out: &mut Out) {
    for (i, a) in cfg.actions.iter().enumerate() {
        let at = |k: &str| kp!["action", i, k];
        if a.id.trim().is_empty() {
            out.push(at("id"), "action `id` is empty", None);
        }
        if a.label.trim().is_empty() {
            out.push(
                at("label"),
                "action `label` is empty",
                Some("say what it does, e.g. `label = \"Disable the v2 flag\"`".into()),
            );
        }

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
            request(r, i, out);
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
        }
    }
}

fn request(r: &RequestCfg, i: usize, out: &mut Out) {
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
    http::url(
        &r.url,
        at("url"),
        "${WARROOM_URL:-http://localhost:5000}/api/v2/admin/flags",
        out,
    );
    if r.timeout.0.is_zero() {
        out.push(
            at("timeout"),
            "`timeout` must be more than 0",
            Some("e.g. `timeout = \"10s\"`".into()),
        );
    }
    http::headers(&r.headers, kp!["action", i, "request"], out);
    http::token_file(
        r.token_file.as_deref(),
        &r.headers,
        kp!["action", i, "request"],
        out,
    );
}

fn command(c: &CommandCfg, i: usize, out: &mut Out) {
    let at = |k: &str| kp!["action", i, "command", k];
    captures(&c.capture, kp!["action", i, "command"], out);
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

/// A command's `capture` list (`at` is the command's own path): names given once, each
/// regex compiling with a group to take the value from, each `expect` in the unit shown.
/// A bad `expect` is reported where it is read (it does not parse as a condition).
pub(super) fn captures(caps: &[Capture], at: Vec<super::schema::Seg>, out: &mut Out) {
    use super::schema::Seg;
    let place = |j: usize, k: &str| {
        let mut p = at.clone();
        p.extend([
            Seg::Key("capture".into()),
            Seg::Index(j),
            Seg::Key(k.to_string()),
        ]);
        p
    };
    let mut seen: Vec<&str> = Vec::new();
    for (j, c) in caps.iter().enumerate() {
        let name = c.name.trim();
        if name.is_empty() {
            out.push(place(j, "name"), "capture `name` is empty", None);
        } else if seen.contains(&name) {
            out.push(
                place(j, "name"),
                format!("capture \"{name}\" is written twice in this command"),
                Some("give each capture its own name".into()),
            );
        } else {
            seen.push(name);
        }
        match regex::Regex::new(&c.regex) {
            Err(e) => out.push(
                place(j, "regex"),
                format!(
                    "capture `regex` does not compile: {}",
                    e.to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .trim_start_matches("error: ")
                ),
                None,
            ),
            Ok(re) if re.captures_len() < 2 => out.push(
                place(j, "regex"),
                "capture `regex` has no group: the value is its first group",
                Some("e.g. `regex = 'Mean delta: ([0-9.]+)%'`".into()),
            ),
            Ok(_) => {}
        }
        if let Some(e) = &c.expect {
            if let Err(why) = e.in_unit_of(c.unit.as_deref()) {
                out.push(
                    place(j, "expect"),
                    format!(
                        "capture `expect = \"{e}\"`: {}",
                        why.replace("the signal", "the capture")
                    ),
                    Some("write the capture's `unit`, or the threshold in it".into()),
                );
            }
        }
    }
}
