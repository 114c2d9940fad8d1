//! Loading a config text: TOML parse, `${VAR}` expansion (in `expand`), locations (in
//! `locate`) and hints. The text itself is read, bounded, by `read`.
//!
//! The pipeline, chosen so every problem is reported at once and at its exact place:
//! 1. parse with `toml_edit`, which keeps byte spans (a syntax error stops here);
//! 2. walk the document against `schema`: every unknown key and enum variant, and expand
//!    `${VAR}` in every string value, building a clean `toml::Table`;
//! 3. deserialize `Config` from that table (re-serialized, so serde's errors have spans
//!    that map back to a key path, then to the original file); a bad optional key is
//!    reported, dropped and the pass retried, so one type error does not hide the rest;
//! 4. semantic checks (`validate`), located by key path.
//!
//! Between 2 and 3 the chosen environment's `[env.NAME]` table (read and expanded like the
//! rest) is laid over the tree (`env`); a value it put there is located in it.

use super::locate::{self, line_col, path_at};
use super::schema::{self, Seg, Shape, TableSchema};
use super::validate::{self, Issue};
use super::Config;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use toml_edit::{ImDocument, Item, TableLike};

/// One thing wrong with a config, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// What to write instead, when we can tell.
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Not read at all: a device, a directory, too large, a pipe nothing came through.
    #[error("cannot read config {path}: {why}")]
    Refused { path: String, why: String },
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// Parse, expand and validate a config text; `file` names it in messages.
pub fn load_str(text: &str, file: &str) -> Result<Config, ConfigError> {
    load_str_with_env(text, file, &|k| std::env::var(k).ok())
}

/// As `load_str`, with the environment given (tests use a map).
pub fn load_str_with_env(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    load_str_in(text, file, env, None)
}

/// As `load_str_with_env`, in the environment `name` (`--env`): its `[env.NAME]` table
/// laid over the rest, and `[cutover] environment` NAME unless that table says otherwise.
pub fn load_str_in(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
    name: Option<&str>,
) -> Result<Config, ConfigError> {
    let doc = match ImDocument::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let off = e.span().map_or(0, |s| s.start);
            let (line, col) = line_col(text, off);
            // toml's message may span lines ("invalid key\nexpected ..."); keep one line.
            let message = e
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(ConfigError::Invalid(vec![Problem {
                file: file.to_string(),
                line,
                col,
                message: format!("TOML syntax error: {message}"),
                hint: None,
            }]));
        }
    };
    let mut ld = Loader {
        file,
        text,
        doc: &doc,
        env,
        problems: Vec::new(),
        poisoned: HashSet::new(),
        expanded: HashMap::new(),
        secrets: Vec::new(),
        envs: Vec::new(),
        origins: HashMap::new(),
    };
    let mut path = Vec::new();
    let mut tree = ld.convert_table(doc.as_table(), &schema::ROOT, &mut path);
    if let Some(name) = name {
        ld.choose_env(&mut tree, name);
    }
    let mut cfg = ld.typed(tree);
    if let Some(cfg) = &mut cfg {
        for issue in super::signal::convert_units(cfg) {
            ld.push_issue(issue);
        }
    }
    if let Some(cfg) = &cfg {
        let issues = validate::validate_with(cfg, &|p: &[Seg]| ld.line_of(p), &|p: &[Seg]| {
            ld.expanded.get(p).map(|(_, written)| written.clone())
        });
        for issue in issues {
            ld.push_issue(issue);
        }
    }
    let secrets = std::mem::take(&mut ld.secrets);
    let mut problems = ld.problems;
    // Messages already quote what was written, not values; this is for anything else.
    let mut redactor = crate::secrets::Redactor::new();
    for s in &secrets {
        redactor.add(s);
    }
    for p in &mut problems {
        p.message = redactor.redact(&p.message);
        p.hint = p.hint.as_deref().map(|h| redactor.redact(h));
    }
    if cfg.is_none() && problems.is_empty() {
        // Unreachable in practice: every failed pass reports why. Never return "invalid"
        // with nothing to show.
        problems.push(Problem {
            file: file.to_string(),
            line: 1,
            col: 1,
            message: "this config could not be read".into(),
            hint: None,
        });
    }
    // Reading order; one report per place and message.
    problems.sort_by_key(|p| (p.line, p.col));
    problems.dedup();
    match cfg {
        Some(mut cfg) if problems.is_empty() => {
            cfg.secrets = secrets
                .into_iter()
                .map(crate::secrets::Secret::new)
                .collect();
            Ok(cfg)
        }
        _ => Err(ConfigError::Invalid(problems)),
    }
}

/// Read, once, and load the config at `path` (a file, or a pipe: `-c <(…)`, `-c /dev/stdin`).
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    load_file_in(path, None)
}

/// As `load_file`, in the environment `name` (`--env`; see `load_str_in`).
pub fn load_file_in(path: &Path, name: Option<&str>) -> Result<Config, ConfigError> {
    let text = super::read::read_config(path)?;
    load_str_in(
        &text,
        &path.display().to_string(),
        &|k| std::env::var(k).ok(),
        name,
    )
}

pub(super) struct Loader<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
    pub(super) doc: &'a ImDocument<&'a str>,
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) problems: Vec<Problem>,
    /// Places whose value was replaced to go on checking (already reported): later
    /// problems there would only repeat the first.
    pub(super) poisoned: HashSet<Vec<Seg>>,
    /// Strings changed by expansion: (value after, value as written). Messages that
    /// quote a value get the written form back, so no variable's value is ever shown.
    pub(super) expanded: HashMap<Vec<Seg>, (String, String)>,
    /// Values from the environment that must never be shown (see `note_secrets`).
    pub(super) secrets: Vec<String>,
    /// The names of the `[env.NAME]` tables, in the file's order.
    envs: Vec<String>,
    /// Where the chosen overlay's values sit in the file (see `env`).
    origins: super::env::Origins,
}

impl Loader<'_> {
    pub(super) fn push_at(&mut self, off: usize, message: String, hint: Option<String>) {
        let (line, col) = line_col(self.text, off);
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            col,
            message,
            hint,
        });
    }

    fn push_issue(&mut self, issue: Issue) {
        if self.poisoned.contains(&issue.path) {
            return;
        }
        let message = self.mask(&issue.path, issue.message);
        let hint = issue.hint.map(|h| self.mask(&issue.path, h));
        let off = if issue.at_key {
            self.key_offset_of(&issue.path)
        } else {
            self.offset_of(&issue.path)
        };
        self.push_at(off, message, hint);
    }

    /// Puts the written `${VAR}` form back wherever an expanded value is quoted.
    fn mask(&self, path: &[Seg], text: String) -> String {
        match self
            .expanded
            .get(&super::env::source_path(&self.origins, path))
        {
            Some((value, written)) if !value.is_empty() => text.replace(value.as_str(), written),
            _ => text,
        }
    }

    fn line_of(&self, path: &[Seg]) -> usize {
        line_col(self.text, self.offset_of(path)).0
    }

    fn key_offset_of(&self, path: &[Seg]) -> usize {
        let path = super::env::source_path(&self.origins, path);
        locate::key_offset_of(self.doc.as_item(), &path)
    }

    fn offset_of(&self, path: &[Seg]) -> usize {
        let path = super::env::source_path(&self.origins, path);
        locate::offset_of(self.doc.as_item(), &path)
    }

    /// `[env]`: one table per environment, each checked against the top level's keys (so a
    /// mistake in `[env.production]` is found while validating staging too). Only the
    /// chosen one is expanded for real (`choose_env`): a variable only production sets
    /// is not missing in staging.
    fn read_envs(&mut self, item: &Item, path: &mut Vec<Seg>) {
        let Some(t) = item.as_table_like() else {
            let off = self.offset_of(path);
            self.push_at(
                off,
                "`env` holds one table per environment".into(),
                Some("e.g. `[env.staging]` then the keys that differ in staging".into()),
            );
            return;
        };
        for (name, sub) in t.iter() {
            path.push(Seg::Key(name.to_string()));
            match sub.as_table_like() {
                Some(st) if !name.trim().is_empty() => {
                    fn blank(_: &str) -> Option<String> {
                        Some(String::new())
                    }
                    let real = self.env;
                    self.env = &blank;
                    let _ = self.convert_table(st, &schema::ROOT, path);
                    self.env = real;
                    self.envs.push(name.to_string());
                }
                _ => {
                    let off = self.offset_of(path);
                    self.push_at(
                        off,
                        format!("`env.{name}` must be a table of the keys that differ there"),
                        Some(format!("e.g. `[env.{name}.cutover]` then `t0 = \"…\"`")),
                    );
                }
            }
            path.pop();
        }
    }

    /// Lay the environment `name`'s table over `tree`, and name the environment.
    fn choose_env(&mut self, tree: &mut toml::Table, name: &str) {
        let name = name.trim();
        let names = self.envs.clone();
        let written = tree
            .get("cutover")
            .and_then(|c| c.get("environment"))
            .and_then(|e| e.as_str())
            .map(str::to_string);
        let doc = self.doc;
        let over = names
            .iter()
            .any(|n| n == name)
            .then(|| doc.as_table().get("env").and_then(|e| e.get(name)))
            .flatten()
            .and_then(Item::as_table_like)
            .map(|t| {
                let mut path = vec![Seg::Key("env".into()), Seg::Key(name.to_string())];
                self.convert_table(t, &schema::ROOT, &mut path)
            });
        let named_by_overlay = over
            .as_ref()
            .and_then(|o| o.get("cutover"))
            .is_some_and(|c| c.get("environment").is_some());
        match over {
            Some(over) => super::env::overlay(tree, over, name, &mut self.origins),
            None if !names.is_empty() => {
                let hint = match schema::did_you_mean(name, names.iter().map(String::as_str)) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("environments in this config: {}", names.join(", ")),
                };
                self.push_at(
                    0,
                    format!("--env {name}: this config has no [env.{name}]"),
                    Some(hint),
                );
                return;
            }
            // No overlays at all: --env only names the environment, and must not
            // contradict the one the file names.
            None => {
                if let Some(w) = written.filter(|w| w.trim() != name) {
                    let off = self
                        .offset_of(&[Seg::Key("cutover".into()), Seg::Key("environment".into())]);
                    self.push_at(
                        off,
                        format!("--env {name}, but this config's environment is \"{w}\" and it has no [env.{name}]"),
                        Some(format!("add `[env.{name}]` with what differs there, or run with --env {w}")),
                    );
                    return;
                }
            }
        }
        if !named_by_overlay {
            if let Some(toml::Value::Table(c)) = tree.get_mut("cutover") {
                c.insert("environment".into(), toml::Value::String(name.to_string()));
            }
        }
    }

    fn convert_table(
        &mut self,
        t: &dyn TableLike,
        schema: &'static TableSchema,
        path: &mut Vec<Seg>,
    ) -> toml::Table {
        let mut out = toml::Table::new();
        for (k, item) in t.iter() {
            path.push(Seg::Key(k.to_string()));
            // Only the top level holds environments (an overlay holds none of its own).
            if k == "env" && std::ptr::eq(schema, &schema::ROOT) && path.len() == 1 {
                self.read_envs(item, path);
                path.pop();
                continue;
            }
            match schema.get(k) {
                Some(shape) => {
                    if let Some(v) = self.convert(item, shape, path) {
                        out.insert(k.to_string(), v);
                    }
                }
                None => {
                    let off = t.key(k).and_then(|key| key.span()).map_or(0, |s| s.start);
                    let message = if std::ptr::eq(schema, &schema::ROOT) {
                        format!("unknown key `{k}` at the top level")
                    } else {
                        format!("unknown key `{k}` in {}", schema.name)
                    };
                    let elsewhere = schema::ALL
                        .iter()
                        .find(|t| !std::ptr::eq(**t, schema) && t.get(k).is_some());
                    let hint = match (schema::did_you_mean(k, schema.key_names()), elsewhere) {
                        (Some(s), _) => format!("did you mean `{s}`?"),
                        (None, Some(t)) => format!("`{k}` belongs in {}", t.name),
                        (None, None) => format!(
                            "valid keys in {}: {}",
                            schema.name,
                            schema.key_names().collect::<Vec<_>>().join(", ")
                        ),
                    };
                    self.push_at(off, message, Some(hint));
                }
            }
            path.pop();
        }
        out
    }

    fn convert(&mut self, item: &Item, shape: Shape, path: &mut Vec<Seg>) -> Option<toml::Value> {
        match shape {
            Shape::Table(s) => match item.as_table_like() {
                Some(t) => Some(toml::Value::Table(self.convert_table(t, s, path))),
                // `command = "supervisorctl restart backend"`: a shell line, not a table.
                None if std::ptr::eq(s, &schema::COMMAND) && item.as_str().is_some() => {
                    self.shell_string(item, path, true)
                }
                None => self.plain(item, path),
            },
            Shape::Argv => match item.as_str() {
                Some(_) => self.shell_string(item, path, false),
                None => self.plain(item, path),
            },
            Shape::Tables(s) => {
                let elems: Vec<&Item> = if let Some(aot) = item.as_array_of_tables() {
                    (0..aot.len()).filter_map(|i| item.get(i)).collect()
                } else if let Some(a) = item.as_array() {
                    (0..a.len()).filter_map(|i| item.get(i)).collect()
                } else {
                    return self.plain(item, path);
                };
                let mut out = Vec::new();
                for (i, el) in elems.into_iter().enumerate() {
                    path.push(Seg::Index(i));
                    let v = match el.as_table_like() {
                        Some(t) => Some(toml::Value::Table(self.convert_table(t, s, path))),
                        None => self.plain(el, path),
                    };
                    out.extend(v);
                    path.pop();
                }
                Some(toml::Value::Array(out))
            }
            Shape::Enum(variants) => {
                let v = self.plain(item, path)?;
                if let toml::Value::String(s) = &v {
                    if !variants.contains(&s.as_str()) {
                        let off = self.offset_of(path);
                        let name = match path.last() {
                            Some(Seg::Key(k)) => k.clone(),
                            _ => "value".into(),
                        };
                        let shown = self.mask(path, format!("\"{s}\""));
                        let list = variants
                            .iter()
                            .map(|v| format!("`{v}`"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        let message = format!("unknown {name} {shown}: expected one of {list}");
                        let hint = schema::did_you_mean(s, variants.iter().copied())
                            .map(|m| format!("did you mean `{m}`?"));
                        self.push_at(off, message, hint);
                        // Go on with a valid variant; this place is already reported.
                        self.poisoned.insert(path.clone());
                        return Some(toml::Value::String(variants[0].to_string()));
                    }
                }
                Some(v)
            }
            Shape::Any | Shape::Map => self.plain(item, path),
        }
    }

    /// A command written as one string (`command = "..."` or `argv = "..."`): reported
    /// with the argv list to write instead, and replaced by that list (as written, not
    /// expanded) so that the rest of the file is still checked.
    fn shell_string(
        &mut self,
        item: &Item,
        path: &mut Vec<Seg>,
        whole_command: bool,
    ) -> Option<toml::Value> {
        let written = item.as_str().unwrap_or_default();
        let words = shell_words(written);
        let list = format!(
            "[{}]",
            words
                .iter()
                .map(|w| format!("{w:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let message =
            format!("a command is an argv list, never a shell string; write argv = {list}");
        let mut hint = if whole_command {
            format!("`command` is a table: write `command = {{ argv = {list} }}`, or an `[action.command]` table with `argv = {list}`")
        } else {
            "each argument is one item of the list; no shell splits, quotes or expands it".into()
        };
        let on_source = path.first() == Some(&Seg::Key("source".into()));
        let message = if on_source && words.iter().any(|w| w == "|") {
            // A command source wires a pipeline itself: show the one to write.
            let stages: Vec<String> = words
                .split(|w| w == "|")
                .map(|ws| {
                    let quoted: Vec<String> = ws.iter().map(|w| format!("{w:?}")).collect();
                    format!("[{}]", quoted.join(", "))
                })
                .collect();
            format!(
                "a command is an argv list, never a shell string; for a pipe write pipeline = [{}]",
                stages.join(", ")
            )
        } else {
            message
        };
        if on_source {
            hint.push_str("; a source's `pipeline` wires commands stdout to stdin without a shell");
        } else if written.contains(['|', '&', ';', '<', '>', '`', '*']) || written.contains("$(") {
            hint.push_str("; pipes, redirections, `&&` and globs need a shell: put them in a script and run the script");
        }
        let off = self.offset_of(path);
        self.push_at(off, message, Some(hint));
        let argv = toml::Value::Array(words.into_iter().map(toml::Value::String).collect());
        self.poisoned.insert(path.clone());
        if whole_command {
            path.push(Seg::Key("argv".into()));
            self.poisoned.insert(path.clone());
            path.pop();
            let mut t = toml::Table::new();
            t.insert("argv".into(), argv);
            Some(toml::Value::Table(t))
        } else {
            Some(argv)
        }
    }

    /// A value as it is, with `${VAR}` expanded in its strings and TOML dates as strings
    /// (the config reads times as RFC 3339 text).
    fn plain(&mut self, item: &Item, path: &mut Vec<Seg>) -> Option<toml::Value> {
        if let Some(t) = item.as_table_like() {
            let mut out = toml::Table::new();
            for (k, child) in t.iter() {
                path.push(Seg::Key(k.to_string()));
                if let Some(v) = self.plain(child, path) {
                    out.insert(k.to_string(), v);
                }
                path.pop();
            }
            return Some(toml::Value::Table(out));
        }
        if let Some(aot) = item.as_array_of_tables() {
            let mut out = Vec::new();
            for i in 0..aot.len() {
                path.push(Seg::Index(i));
                if let Some(v) = item.get(i).and_then(|el| self.plain(el, path)) {
                    out.push(v);
                }
                path.pop();
            }
            return Some(toml::Value::Array(out));
        }
        let v = item.as_value()?;
        Some(match v {
            toml_edit::Value::String(s) => {
                let off = s.span().map_or(0, |r| r.start);
                toml::Value::String(self.expand(s.value(), off, path))
            }
            toml_edit::Value::Integer(i) => toml::Value::Integer(*i.value()),
            toml_edit::Value::Float(f) => toml::Value::Float(*f.value()),
            toml_edit::Value::Boolean(b) => toml::Value::Boolean(*b.value()),
            toml_edit::Value::Datetime(d) => toml::Value::String(d.value().to_string()),
            toml_edit::Value::Array(_) | toml_edit::Value::InlineTable(_) => {
                let n = v.as_array().map_or(0, |a| a.len());
                let mut out = Vec::new();
                for i in 0..n {
                    path.push(Seg::Index(i));
                    if let Some(x) = item.get(i).and_then(|el| self.plain(el, path)) {
                        out.push(x);
                    }
                    path.pop();
                }
                toml::Value::Array(out)
            }
        })
    }

    /// Typed deserialization. A bad optional key is reported, dropped and the pass run
    /// again, so that the semantic checks still see the rest of the file.
    fn typed(&mut self, mut tree: toml::Table) -> Option<Config> {
        let mut tries: HashMap<Vec<Seg>, usize> = HashMap::new();
        for _ in 0..256 {
            let text = match toml::to_string(&tree) {
                Ok(t) => t,
                Err(e) => {
                    self.push_at(0, format!("cannot read this config: {e}"), None);
                    return None;
                }
            };
            let err = match toml::from_str::<Config>(&text) {
                Ok(c) => return Some(c),
                Err(e) => e,
            };
            // A missing top-level key spans the whole text, which would land on its
            // first key; the top level is the only table that has `cutover`.
            let top_level_missing = schema::ROOT
                .required
                .iter()
                .any(|k| err.message() == format!("missing field `{k}`"));
            let path = match err.span() {
                Some(s) if !top_level_missing => path_at(&text, s.start).unwrap_or_default(),
                _ => Vec::new(),
            };
            let (message, hint) = explain(err.message(), &path);
            if !self.poisoned.contains(&path) {
                let message = self.mask(&path, message);
                let off = self.offset_of(&path);
                self.push_at(off, message, hint);
            }
            // A required key missing: stand a placeholder in for it (its place is
            // reported and poisoned), so the rest of the file is still checked.
            if let Some(missing) = err
                .message()
                .strip_prefix("missing field `")
                .and_then(|r| r.strip_suffix('`'))
            {
                let mut at = path.clone();
                at.push(Seg::Key(missing.to_string()));
                if !self.stand_in(&mut tree, &at, &mut tries) {
                    return None;
                }
                continue;
            }
            // Drop the key the error is in, if it has a default; else stand a placeholder
            // in for it; else stop here.
            let k = path.iter().rposition(|s| matches!(s, Seg::Key(_)))?;
            let Seg::Key(key) = &path[k] else { return None };
            let table = schema::table_at(&path[..k])?;
            let droppable = matches!(
                table.get(key),
                Some(Shape::Any | Shape::Enum(_) | Shape::Map)
            ) && !table.required.contains(&key.as_str());
            self.poisoned.insert(path[..=k].to_vec());
            if droppable && remove(&mut tree, &path[..=k]) {
                continue;
            }
            if !self.stand_in(&mut tree, &path[..=k], &mut tries) {
                return None;
            }
        }
        None
    }

    /// Put a placeholder at `path` (already reported): each kind of value in turn until
    /// serde takes one, so a missing or mistyped required key hides no other problem.
    /// False when every kind was tried (or the place cannot be reached).
    fn stand_in(
        &mut self,
        tree: &mut toml::Table,
        path: &[Seg],
        tries: &mut HashMap<Vec<Seg>, usize>,
    ) -> bool {
        let n = tries.entry(path.to_vec()).or_insert(0);
        let value = match *n {
            0 => toml::Value::String(String::new()),
            1 => toml::Value::Integer(0),
            2 => toml::Value::Boolean(false),
            3 => toml::Value::Array(Vec::new()),
            4 => toml::Value::Table(toml::Table::new()),
            _ => return false,
        };
        *n += 1;
        // Everything under a stand-in was made up here: nothing there to report.
        self.poisoned.insert(path.to_vec());
        set(tree, path, value)
    }
}

/// A command line split as a POSIX shell would split plain words and quotes (enough
/// to suggest the argv list; nothing is ever run through a shell).
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                cur.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => cur.extend(chars.next()),
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// serde's message in the config's words (no Rust type names), with a hint for the
/// common cases.
fn explain(msg: &str, path: &[Seg]) -> (String, Option<String>) {
    let mut msg = msg.trim().to_string();
    if let Some(i) = msg.find("expected struct ") {
        msg.replace_range(i.., "expected a table");
    }
    for (rust, words) in [
        ("expected a map", "expected a table"),
        ("expected a sequence", "expected a list"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected f64", "expected a number"),
    ] {
        if msg.ends_with(rust) {
            msg.truncate(msg.len() - rust.len());
            msg.push_str(words);
        }
    }
    let table = schema::table_at(path).map(|t| t.name);
    let hint = if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        match (path.is_empty(), table) {
            (true, _) => Some(format!("add a `[{field}]` table")),
            (false, Some(t)) => Some(format!("add `{field} = ...` to this {t}")),
            (false, None) => None,
        }
    } else if msg.ends_with("expected a list") {
        match path.last() {
            Some(Seg::Key(k)) => Some(format!("write `[[{k}]]` (double brackets) for each entry")),
            _ => None,
        }
    } else {
        None
    };
    (msg, hint)
}

fn remove(tree: &mut toml::Table, path: &[Seg]) -> bool {
    let Some((Seg::Key(last), parent)) = path.split_last() else {
        return false;
    };
    let mut cur: &mut toml::Value = match parent.first() {
        None => return tree.remove(last).is_some(),
        Some(Seg::Key(k)) => match tree.get_mut(k) {
            Some(v) => v,
            None => return false,
        },
        Some(Seg::Index(_)) => return false,
    };
    for seg in &parent[1..] {
        let next = match (seg, cur) {
            (Seg::Key(k), toml::Value::Table(t)) => t.get_mut(k),
            (Seg::Index(i), toml::Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match cur {
        toml::Value::Table(t) => t.remove(last).is_some(),
        _ => false,
    }
}

/// Set the value at `path` (its parent must exist), replacing what is there.
fn set(tree: &mut toml::Table, path: &[Seg], value: toml::Value) -> bool {
    let Some((Seg::Key(last), parent)) = path.split_last() else {
        return false;
    };
    let mut cur: &mut toml::Value = match parent.first() {
        None => {
            tree.insert(last.clone(), value);
            return true;
        }
        Some(Seg::Key(k)) => match tree.get_mut(k) {
            Some(v) => v,
            None => return false,
        },
        Some(Seg::Index(_)) => return false,
    };
    for seg in &parent[1..] {
        let next = match (seg, cur) {
            (Seg::Key(k), toml::Value::Table(t)) => t.get_mut(k),
            (Seg::Index(i), toml::Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match cur {
        toml::Value::Table(t) => {
            t.insert(last.clone(), value);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "WARROOM_URL" => Some("http://sim:5000".into()),
            "ADMIN_TOKEN" => Some("s3cr3t-token".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn problems(text: &str) -> Vec<String> {
        match load_str_with_env(text, "c.toml", &env) {
            Ok(_) => vec![],
            Err(ConfigError::Invalid(ps)) => ps.iter().map(|p| p.to_string()).collect(),
            Err(e) => vec![e.to_string()],
        }
    }

    const BASE: &str = "[cutover]\nname = \"x\"\n\n[[source]]\nid = \"api\"\nkind = \"http\"\nurl = \"http://h/x\"\n";

    #[test]
    fn minimal_loads() {
        assert_eq!(problems(BASE), Vec::<String>::new());
    }

    #[test]
    fn syntax_error_is_located() {
        let p = problems("[cutover]\nname = \"x\nfoo = 1\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("c.toml:2:"), "{p:?}");
        assert!(!p[0].contains('|'), "no snippet: {p:?}");
    }

    /// Our line:col agrees with toml's own report for the same syntax error (ASCII
    /// lines only: toml counts bytes when the error is at a multi-byte character,
    /// we count characters).
    #[test]
    fn syntax_positions_match_toml() {
        for bad in [
            "a = 1\nb = \n",
            "[cutover\nname = 1\n",
            "a = [1, 2\n",
            "[[source]]\nid = 'x' = 2\n",
            "a = 1\na = 2\n",
        ] {
            let e = match ImDocument::parse(bad) {
                Err(e) => e,
                Ok(_) => panic!("{bad:?} parsed"),
            };
            let shown = e.to_string();
            let want = shown.lines().next().unwrap_or_default().to_string();
            let (l, c) = line_col(bad, e.span().map_or(0, |s| s.start));
            assert_eq!(
                want,
                format!("TOML parse error at line {l}, column {c}"),
                "{bad:?}"
            );
            let p = problems(bad);
            assert!(
                p[0].starts_with(&format!("c.toml:{l}:{c}: TOML syntax error: ")),
                "{p:?}"
            );
        }
    }

    #[test]
    fn every_unknown_key_is_reported() {
        let t = format!("{BASE}intervall = \"5s\"\ntimout = \"1s\"\n");
        let p = problems(&t);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("c.toml:8:1: unknown key `intervall` in [[source]]"));
        assert!(p[0].ends_with("hint: did you mean `interval`?"));
        assert!(p[1].contains("did you mean `timeout`?"));
    }

    #[test]
    fn env_expansion() {
        let t = format!(
            "{BASE}headers = {{ Authorization = \"Bearer ${{ADMIN_TOKEN}}\" }}\n[ui]\ntheme = \"${{THEME:-mono}}\"\n"
        );
        let cfg = load_str_with_env(&t, "c.toml", &env).unwrap();
        assert_eq!(
            cfg.sources[0].headers["Authorization"],
            "Bearer s3cr3t-token"
        );
        assert_eq!(cfg.ui.theme.as_deref(), Some("mono"));
        let t = BASE.replace("http://h/x", "${WARROOM_URL}/a$$b");
        let cfg = load_str_with_env(&t, "c.toml", &env).unwrap();
        assert_eq!(cfg.sources[0].url, "http://sim:5000/a$b");
        let t = BASE.replace("http://h/x", "${EMPTY:-http://d/}");
        let cfg = load_str_with_env(&t, "c.toml", &env).unwrap();
        assert_eq!(cfg.sources[0].url, "http://d/");
    }

    #[test]
    fn missing_env_is_named_and_values_never_shown() {
        let t = BASE.replace("http://h/x", "${NOPE}");
        let p = problems(&t);
        assert_eq!(
            p,
            vec!["c.toml:7:8: environment variable `NOPE` is not set (write `${NOPE:-default}` to give a default)"]
        );
        // A type error on an expanded value shows what was written, not the value.
        let t = format!("{BASE}max_body_bytes = \"${{ADMIN_TOKEN}}\"\n");
        let p = problems(&t);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(!p[0].contains("s3cr3t"), "{p:?}");
        let t = format!("{BASE}headers = {{ \"Bad Name\" = \"${{ADMIN_TOKEN}}\\n\" }}\n");
        let p = problems(&t);
        assert!(
            !p.is_empty() && p.iter().all(|m| !m.contains("s3cr3t")),
            "{p:?}"
        );
    }

    #[test]
    fn type_errors_are_located_and_do_not_hide_others() {
        let t = format!("{BASE}interval = \"5 parsecs\"\ntimeout = 5\nconnect_timeout = \"1s\"\n");
        let p = problems(&t);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("c.toml:8:12: "), "{p:?}");
        assert!(p[1].starts_with("c.toml:9:11: "), "{p:?}");
    }

    #[test]
    fn missing_fields_point_at_their_table() {
        let t = "[[source]]\nid = \"api\"\nkind = \"http\"\nurl = \"http://h/x\"\n\n[cutover]\nenvironment = \"prod\"\n";
        assert_eq!(
            problems(t),
            vec!["c.toml:6:1: missing field `name`\n  hint: add `name = ...` to this [cutover]"]
        );
        let t = format!("{BASE}\n[[signal]]\nid = \"a\"\nsource = \"api\"\nkind = \"health\"\n\n[[signal]]\nid = \"b\"\nkind = \"health\"\n");
        assert_eq!(
            problems(&t),
            vec!["c.toml:14:1: missing field `source`\n  hint: add `source = ...` to this [[signal]]"]
        );
    }

    #[test]
    fn datetimes_read_as_strings() {
        let t = BASE.replace("name = \"x\"", "name = \"x\"\nt0 = 2026-03-14T21:00:00Z");
        let cfg = load_str_with_env(&t, "c.toml", &env).unwrap();
        assert_eq!(cfg.cutover.t0.as_deref(), Some("2026-03-14T21:00:00Z"));
    }

    #[test]
    fn shell_words_split_like_a_shell() {
        assert_eq!(
            shell_words("supervisorctl restart backend"),
            ["supervisorctl", "restart", "backend"]
        );
        assert_eq!(
            shell_words(" a 'b c' \"d \\\" e\" f\\ g '' "),
            ["a", "b c", "d \" e", "f g", ""]
        );
        assert!(shell_words("   ").is_empty());
    }
}
