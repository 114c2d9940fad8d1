//! Reading a config file: TOML parse, `${VAR}` expansion, locations and hints.
//!
//! The pipeline, chosen so every problem is reported at once and at its exact place:
//! 1. parse with `toml_edit`, which keeps byte spans (a syntax error stops here);
//! 2. walk the document against `schema`: every unknown key and enum variant, and expand
//!    `${VAR}` in every string value, building a clean `toml::Table`;
//! 3. deserialize `Config` from that table (re-serialized, so serde's errors have spans
//!    that map back to a key path, then to the original file); a bad optional key is
//!    reported, dropped and the pass retried, so one type error does not hide the rest;
//! 4. semantic checks (`validate`), located by key path.

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
    };
    let mut path = Vec::new();
    let tree = ld.convert_table(doc.as_table(), &schema::ROOT, &mut path);
    let cfg = ld.typed(tree);
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
    let text = read_config(path)?;
    load_str(&text, &path.display().to_string())
}

/// Largest config read: far above any real cutover, small enough that a wrong path (a
/// log file, a dump) cannot fill the memory of a bastion host.
pub const MAX_CONFIG_BYTES: usize = 4 * 1024 * 1024;

/// A pipe that sends nothing for this long is given up on (a process substitution whose
/// command hangs): start-up must not wait for ever.
pub const PIPE_IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// The text of the config at `path`, read with bounded memory and time:
/// - a regular file over [`MAX_CONFIG_BYTES`] is refused before it is read;
/// - a pipe (`-c <(…)`, `-c /dev/stdin`, a named FIFO) is read to its end, at most
///   [`MAX_CONFIG_BYTES`], giving up when nothing arrives for [`PIPE_IDLE`]; one that
///   nothing writes to is refused at once (it is never waited on for a writer);
/// - anything else (a device such as /dev/zero, a terminal, a directory, a socket) is
///   refused without reading;
/// - text that is not UTF-8 is a problem at the line and column of its first bad byte.
pub fn read_config(path: &Path) -> Result<String, ConfigError> {
    let shown = path.display().to_string();
    let refused = |why: String| ConfigError::Refused {
        path: shown.clone(),
        why,
    };
    let io = |source| ConfigError::Io {
        path: shown.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    not_a_config(&meta).map_or(Ok(()), |why| Err(refused(why)))?;
    if meta.is_file() && meta.len() > MAX_CONFIG_BYTES as u64 {
        return Err(refused(too_large(Some(meta.len()))));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO nobody writes to would block the open itself.
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = opts.open(path).map_err(io)?;
    // Judge what was opened (the path may have changed since the look).
    let meta = file.metadata().map_err(io)?;
    not_a_config(&meta).map_or(Ok(()), |why| Err(refused(why)))?;
    let bytes = if meta.is_file() {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_CONFIG_BYTES as u64 + 1),
            &mut bytes,
        )
        .map_err(io)?;
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(refused(too_large(None)));
        }
        bytes
    } else {
        read_pipe(file, PIPE_IDLE).map_err(|e| match e {
            PipeError::Io(source) => io(source),
            PipeError::Refused(why) => refused(why),
        })?
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        // Valid up to `at`, so this is the text as an editor shows it.
        let before = String::from_utf8_lossy(&bytes[..at]);
        let line = before.matches('\n').count() + 1;
        let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
            .chars()
            .count()
            + 1;
        ConfigError::Invalid(vec![Problem {
            file: shown.clone(),
            line,
            col,
            message: format!(
                "not UTF-8 text: byte 0x{:02x} here is not valid UTF-8",
                bytes.get(at).copied().unwrap_or(0)
            ),
            hint: Some("save the config as UTF-8 (it may be Latin-1 or binary)".into()),
        }])
    })
}

/// Why this is not something to read a config from, if it is not.
fn not_a_config(meta: &std::fs::Metadata) -> Option<String> {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() || t.is_file() {
            return None;
        }
        let what = if t.is_char_device() {
            "a character device (a terminal or something like /dev/zero)"
        } else if t.is_block_device() {
            "a block device"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        Some(format!(
            "it is {what}, not a config file; give the path of a TOML file, or pipe one in (`-c <(…)`, `-c /dev/stdin`)"
        ))
    }
    #[cfg(not(unix))]
    {
        (!t.is_file()).then(|| "it is not a regular file".to_string())
    }
}

fn too_large(size: Option<u64>) -> String {
    let limit = MAX_CONFIG_BYTES / (1024 * 1024);
    match size {
        Some(n) => format!(
            "it is {:.1} MiB, over the {limit} MiB limit for a config (is this the right file?)",
            n as f64 / (1024.0 * 1024.0)
        ),
        None => format!("more than {limit} MiB arrived, over the limit for a config"),
    }
}

enum PipeError {
    Io(std::io::Error),
    Refused(String),
}

/// A pipe opened non-blocking, read to its end: at most the cap, waiting at most `idle`
/// for each next piece.
fn read_pipe(mut file: std::fs::File, idle: std::time::Duration) -> Result<Vec<u8>, PipeError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                if bytes.len() > MAX_CONFIG_BYTES {
                    return Err(PipeError::Refused(too_large(None)));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if !wait_readable(&file, idle).map_err(PipeError::Io)? {
                    return Err(PipeError::Refused(format!(
                        "it is a pipe and nothing more arrived for {} s (is the command writing it stuck?)",
                        idle.as_secs()
                    )));
                }
            }
            Err(e) => return Err(PipeError::Io(e)),
        }
    }
    if bytes.is_empty() {
        return Err(PipeError::Refused(
            "it is a pipe and nothing came through it: no program is writing to it, or the one that did printed nothing".into(),
        ));
    }
    Ok(bytes)
}

/// Wait until `file` has something to read (or its writer closed); false after `idle`.
#[cfg(unix)]
fn wait_readable(file: &std::fs::File, idle: std::time::Duration) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    let deadline = std::time::Instant::now() + idle;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let rc = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if rc > 0 {
            return Ok(true);
        }
        if rc == 0 {
            return Ok(false);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(not(unix))]
fn wait_readable(_file: &std::fs::File, _idle: std::time::Duration) -> std::io::Result<bool> {
    Ok(true)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, off: usize) -> (usize, usize) {
    if off >= text.len() && !text.is_empty() {
        // At end of file, show the end of the last line (as toml does), not a line
        // after the final newline that editors may not show.
        let (l, c) = line_col(text, text.len() - 1);
        return (l, c + 1);
    }
    let mut off = off.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..off].chars().count() + 1;
    (line, col)
}

struct Loader<'a> {
    file: &'a str,
    text: &'a str,
    doc: &'a ImDocument<&'a str>,
    env: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<Problem>,
    /// Places whose value was replaced to go on checking (already reported): later
    /// problems there would only repeat the first.
    poisoned: HashSet<Vec<Seg>>,
    /// Strings changed by expansion: (value after, value as written). Messages that
    /// quote a value get the written form back, so no variable's value is ever shown.
    expanded: HashMap<Vec<Seg>, (String, String)>,
    /// Values from the environment that must never be shown (see `note_secrets`).
    secrets: Vec<String>,
}

/// Where in a config a value is used, as far as secrets are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place<'a> {
    Header(&'a str),
    TokenFile,
    Url,
    Body,
    Argv,
    CommandEnv,
    Other,
}

impl Place<'_> {
    /// By the keys that end the path, so that any table with a `url`, `body`, `headers`,
    /// `argv` or `env` is covered.
    fn of(path: &[Seg]) -> Place<'_> {
        fn key(s: Option<&Seg>) -> Option<&str> {
            match s {
                Some(Seg::Key(k)) => Some(k.as_str()),
                _ => None,
            }
        }
        let n = path.len();
        let last = key(path.last());
        let parent = n.checked_sub(2).and_then(|i| key(path.get(i)));
        match (parent, last, path.last()) {
            (Some("headers"), Some(name), _) => Place::Header(name),
            (Some("env"), Some(_), _) => Place::CommandEnv,
            (Some("argv"), None, Some(Seg::Index(_))) => Place::Argv,
            (_, Some("token_file"), _) => Place::TokenFile,
            (_, Some("url"), _) => Place::Url,
            (_, Some("body"), _) => Place::Body,
            _ => Place::Other,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Place::Url => "a URL",
            Place::Body => "a request body",
            Place::Argv => "a command argument",
            _ => "this value",
        }
    }
}

/// One `${VAR}` replaced by the environment's value: where it landed in the result.
struct Subst {
    name: String,
    value: String,
    range: std::ops::Range<usize>,
}

impl Loader<'_> {
    fn push_at(&mut self, off: usize, message: String, hint: Option<String>) {
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
        match self.expanded.get(path) {
            Some((value, written)) if !value.is_empty() => text.replace(value.as_str(), written),
            _ => text,
        }
    }

    fn line_of(&self, path: &[Seg]) -> usize {
        line_col(self.text, self.offset_of(path)).0
    }

    /// Where `path` is written: the value when it exists, else the nearest key or
    /// table header that does (a defaulted key points at its table).
    /// Where the key at the end of `path` is written (for a wrong name, not value).
    fn key_offset_of(&self, path: &[Seg]) -> usize {
        let Some((Seg::Key(k), parent)) = path.split_last() else {
            return self.offset_of(path);
        };
        let mut item: &Item = self.doc.as_item();
        for seg in parent {
            let next = match seg {
                Seg::Key(k) => item.get(k.as_str()),
                Seg::Index(i) => item.get(*i),
            };
            match next {
                Some(n) => item = n,
                None => return self.offset_of(path),
            }
        }
        item.as_table_like()
            .and_then(|t| t.key(k))
            .and_then(|key| key.span())
            .map_or_else(|| self.offset_of(path), |s| s.start)
    }

    fn offset_of(&self, path: &[Seg]) -> usize {
        let mut item: &Item = self.doc.as_item();
        let mut best = 0;
        let mut resolved = true;
        for seg in path {
            let next = match seg {
                Seg::Key(k) => item
                    .as_table_like()
                    .and_then(|t| t.get_key_value(k))
                    .map(|(key, child)| (key.span(), child)),
                Seg::Index(i) => item.get(*i).map(|child| (child.span(), child)),
            };
            match next {
                Some((span, child)) => {
                    // A `[table]` is best shown by its header, a key by its name.
                    let header = child.is_table().then(|| child.span()).flatten();
                    if let Some(s) = header.or(span).or_else(|| child.span()) {
                        best = s.start;
                    }
                    item = child;
                }
                None => {
                    resolved = false;
                    break;
                }
            }
        }
        if resolved {
            if let Some(s) = item.as_value().and_then(|v| v.span()) {
                best = s.start;
            }
        }
        best
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
        if written.contains(['|', '&', ';', '<', '>', '`', '*']) || written.contains("$(") {
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

    /// `${VAR}`, `${VAR:-default}` (default also when VAR is empty, as in the shell),
    /// `$$` for a dollar; any other `$` is literal. Problems point at the `${`.
    fn expand(&mut self, s: &str, value_off: usize, path: &[Seg]) -> String {
        if !s.contains('$') {
            return s.to_string();
        }
        let raw = self
            .text
            .get(value_off..)
            .and_then(|r| r.lines().next())
            .unwrap_or("");
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        let mut failed = false;
        let place = Place::of(path);
        let mut substs: Vec<Subst> = Vec::new();
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("$$") {
                out.push('$');
                rest = after;
            } else if let Some(body) = tail.strip_prefix("${") {
                let Some(close) = body.find('}') else {
                    let off = value_off + raw.find("${").unwrap_or(0);
                    self.push_at(
                        off,
                        "`${` is not closed with `}`".into(),
                        Some(
                            "write `${NAME}`, `${NAME:-default}`, or `$$` for a literal `$`".into(),
                        ),
                    );
                    failed = true;
                    break;
                };
                let inner = &body[..close];
                let (name, default) = match inner.split_once(":-") {
                    Some((n, d)) => (n, Some(d)),
                    None => (inner, None),
                };
                let reference = format!("${{{name}");
                let off = value_off + raw.find(&reference).unwrap_or(0);
                let valid = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    self.push_at(
                        off,
                        format!("`${{{inner}}}` is not a variable reference"),
                        Some("names are letters, digits and `_`: `${NAME}` or `${NAME:-default}`; `$$` is a literal `$`".into()),
                    );
                    failed = true;
                } else {
                    match ((self.env)(name), default) {
                        (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
                        (Some(v), _) => {
                            if matches!(place, Place::Url | Place::Body | Place::Argv)
                                && v.chars().any(char::is_control)
                            {
                                let what = if v.contains(['\n', '\r']) {
                                    "a newline"
                                } else {
                                    "a control character"
                                };
                                self.push_at(
                                    off,
                                    format!(
                                        "environment variable `{name}` has {what} in its value, which {} must not carry (the value is not shown)",
                                        place.what()
                                    ),
                                    Some(format!("check how `{name}` is set: a value pasted or read from a file may keep a newline or a carriage return (`{name}=$(cat file)` drops a final newline, not a `\\r`)")),
                                );
                                failed = true;
                            }
                            let at = out.len();
                            out.push_str(&v);
                            substs.push(Subst {
                                name: name.to_string(),
                                range: at..out.len(),
                                value: v,
                            });
                        }
                        (None, Some(d)) => out.push_str(d),
                        (None, None) => {
                            self.push_at(
                                off,
                                format!(
                                    "environment variable `{name}` is not set (write `${{{name}:-default}}` to give a default)"
                                ),
                                None,
                            );
                            failed = true;
                        }
                    }
                }
                rest = &body[close + 1..];
            } else {
                out.push('$');
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        if failed {
            // Reported; later checks of this value would only repeat it.
            self.poisoned.insert(path.to_vec());
        }
        if out != s {
            self.expanded
                .insert(path.to_vec(), (out.clone(), s.to_string()));
        }
        self.note_secrets(place, &out, &substs);
        out
    }

    /// The values a `${VAR}` put into `out` that must never be shown:
    /// - always: a secret-named variable's (`ADMIN_TOKEN`, `DB_PASSWORD`…), and any value
    ///   in a credential header or a URL's userinfo;
    /// - in any other header, a `token_file`, a URL's query or fragment, a request body,
    ///   a command argument or environment: the value too, unless the config itself shows
    ///   it (it is written literally elsewhere in the file) or it says who and where
    ///   (`${USER}`, `${HOSTNAME}`). A value that is itself a URL counts only for its
    ///   userinfo and query (a base URL in an argument is no secret).
    fn note_secrets(&mut self, place: Place, out: &str, substs: &[Subst]) {
        use crate::secrets::{is_secret_env_name, is_secret_header_name, url_parts};
        for sub in substs {
            let shown_anyway = |v: &str| {
                crate::secrets::IDENTITY_VARS.contains(&sub.name.as_str()) || self.text.contains(v)
            };
            let mut found: Vec<String> = Vec::new();
            let url_pieces = |url: &str, r: std::ops::Range<usize>, found: &mut Vec<String>| {
                for (part, always, _) in url_parts(url) {
                    let (a, b) = (part.start.max(r.start), part.end.min(r.end));
                    if a < b && url.is_char_boundary(a) && url.is_char_boundary(b) {
                        let piece = &url[a..b];
                        if always || !shown_anyway(piece) {
                            found.push(piece.to_string());
                            found.push(crate::secrets::percent_decode(piece));
                        }
                    }
                }
            };
            if is_secret_env_name(&sub.name) {
                found.push(sub.value.clone());
            } else {
                match place {
                    Place::Header(h) if is_secret_header_name(h) => found.push(sub.value.clone()),
                    Place::Url => url_pieces(out, sub.range.clone(), &mut found),
                    Place::Header(_)
                    | Place::TokenFile
                    | Place::Body
                    | Place::Argv
                    | Place::CommandEnv => {
                        let v = sub.value.as_str();
                        let is_url = reqwest::Url::parse(v).is_ok_and(|u| u.has_host());
                        if is_url {
                            url_pieces(v, 0..v.len(), &mut found);
                        } else if !shown_anyway(v) {
                            found.push(sub.value.clone());
                        }
                    }
                    Place::Other => {}
                }
            }
            for f in found {
                if f.trim().chars().count() >= crate::secrets::MIN_REDACT_LEN
                    && !self.secrets.contains(&f)
                {
                    self.secrets.push(f);
                }
            }
        }
    }

    /// Typed deserialization. A bad optional key is reported, dropped and the pass run
    /// again, so that the semantic checks still see the rest of the file.
    fn typed(&mut self, mut tree: toml::Table) -> Option<Config> {
        for _ in 0..64 {
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
            // Drop the key the error is in, if it has a default; else stop here.
            let k = path.iter().rposition(|s| matches!(s, Seg::Key(_)))?;
            let Seg::Key(key) = &path[k] else { return None };
            let table = schema::table_at(&path[..k])?;
            let droppable = matches!(
                table.get(key),
                Some(Shape::Any | Shape::Enum(_) | Shape::Map)
            ) && !table.required.contains(&key.as_str());
            if !droppable || !remove(&mut tree, &path[..=k]) {
                return None;
            }
            self.poisoned.insert(path[..=k].to_vec());
        }
        None
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

/// The key path of the deepest key or value at byte `off` of `text`.
fn path_at(text: &str, off: usize) -> Option<Vec<Seg>> {
    let doc = ImDocument::parse(text).ok()?;
    let mut path = Vec::new();
    find_in_table(doc.as_table(), off, &mut path);
    Some(path)
}

fn contains(span: Option<std::ops::Range<usize>>, off: usize) -> bool {
    span.is_some_and(|s| s.contains(&off) || (s.is_empty() && s.start == off))
}

/// Descends into whatever contains `off`; leaves `path` at the deepest match.
fn find_in_table(t: &dyn TableLike, off: usize, path: &mut Vec<Seg>) -> bool {
    for (k, item) in t.iter() {
        path.push(Seg::Key(k.to_string()));
        if contains(t.key(k).and_then(|k| k.span()), off) || find_in_item(item, off, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn find_in_item(item: &Item, off: usize, path: &mut Vec<Seg>) -> bool {
    if let Some(aot) = item.as_array_of_tables() {
        for (i, t) in aot.iter().enumerate() {
            path.push(Seg::Index(i));
            if find_in_table(t, off, path) || contains(t.span(), off) {
                return true;
            }
            path.pop();
        }
        return false;
    }
    if let Some(a) = item.as_array() {
        for (i, v) in a.iter().enumerate() {
            path.push(Seg::Index(i));
            let inner = v
                .as_inline_table()
                .is_some_and(|t| find_in_table(t, off, path));
            if inner || contains(v.span(), off) {
                return true;
            }
            path.pop();
        }
        return contains(item.span(), off);
    }
    if let Some(t) = item.as_table_like() {
        return find_in_table(t, off, path) || contains(item.span(), off);
    }
    contains(item.span(), off)
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

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é=1", 2), (1, 2));
        assert_eq!(line_col("", 10), (1, 1));
        assert_eq!(line_col("a\n", 2), (1, 3));
    }
}

#[cfg(test)]
mod input_tests {
    use super::*;
    use std::io::Write;

    const MINIMAL: &str = "[cutover]\nname = \"x\"\n\n[[source]]\nid = \"api\"\nkind = \"http\"\nurl = \"http://h/x\"\n";

    fn refused(r: Result<String, ConfigError>) -> String {
        match r {
            Err(e @ ConfigError::Refused { .. }) => e.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_device_is_refused_without_reading() {
        // /dev/zero never ends: reading it would grow without bound.
        let msg = refused(read_config(Path::new("/dev/zero")));
        assert!(
            msg.contains("/dev/zero") && msg.contains("character device"),
            "{msg}"
        );
        let dir = tempfile::tempdir().expect("tmp");
        let msg = refused(read_config(dir.path()));
        assert!(msg.contains("a directory"), "{msg}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_before_reading() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("big.toml");
        let f = std::fs::File::create(&p).expect("create");
        // Sparse: 5 MiB of nothing, instantly.
        f.set_len(5 * 1024 * 1024).expect("grow");
        let msg = refused(read_config(&p));
        assert!(
            msg.contains("5.0 MiB") && msg.contains("4 MiB limit"),
            "{msg}"
        );
    }

    fn fifo(dir: &tempfile::TempDir) -> std::path::PathBuf {
        let p = dir.path().join("cfg.fifo");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        p
    }

    #[test]
    fn a_fifo_nobody_writes_to_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = fifo(&dir);
        // Not a wait for a writer: that would end on the idle deadline, with other words.
        let msg = refused(read_config(&p));
        assert!(msg.contains("nothing came through"), "{msg}");
    }

    #[test]
    fn a_fifo_with_a_writer_is_read_to_its_end() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = fifo(&dir);
        // The writer is there before the reader (as `cat cfg > fifo &` blocked in its
        // open would be; read-write so that this open does not block) and writes in two
        // pieces, as a slow command would.
        let mut w = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&p)
            .expect("open for writing");
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            w.write_all(&MINIMAL.as_bytes()[..10]).expect("write");
            std::thread::sleep(std::time::Duration::from_millis(200));
            w.write_all(&MINIMAL.as_bytes()[10..]).expect("write");
        });
        let text = read_config(&p).expect("read");
        writer.join().expect("writer");
        assert_eq!(text, MINIMAL);
    }

    #[test]
    fn a_pipe_over_the_cap_is_refused_with_bounded_memory() {
        let (r, w) = pipe();
        let writer = std::thread::spawn(move || {
            let mut w = w;
            let chunk = vec![b'#'; 64 * 1024];
            // Stops when the reader gives up (EPIPE).
            while w.write_all(&chunk).is_ok() {}
        });
        let e = read_pipe(r, PIPE_IDLE);
        assert!(matches!(&e, Err(PipeError::Refused(why)) if why.contains("4 MiB")));
        drop(e);
        writer.join().expect("writer");
    }

    #[test]
    fn a_pipe_that_goes_quiet_is_given_up_on() {
        let (r, w) = pipe();
        let e = read_pipe(r, std::time::Duration::from_millis(300));
        assert!(matches!(&e, Err(PipeError::Refused(why)) if why.contains("nothing more arrived")));
        drop(w);
    }

    /// A non-blocking read end and a write end.
    fn pipe() -> (std::fs::File, std::fs::File) {
        use std::os::unix::io::FromRawFd;
        let mut fds = [0; 2];
        // SAFETY: two fds written by pipe2, each owned by one File from here on.
        unsafe {
            assert_eq!(
                libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC),
                0
            );
            let w = std::fs::File::from_raw_fd(fds[1]);
            // Blocking writes: the writer waits for the reader like a real command.
            let flags = libc::fcntl(fds[1], libc::F_GETFL);
            libc::fcntl(fds[1], libc::F_SETFL, flags & !libc::O_NONBLOCK);
            (std::fs::File::from_raw_fd(fds[0]), w)
        }
    }

    #[test]
    fn invalid_utf8_is_located() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("latin1.toml");
        // Line 3, after `name = "caf` (11 characters, one of them `é` as UTF-8).
        let mut bytes = b"[cutover]\n# r\xc3\xa9sum\xc3\xa9\nname = \"caf".to_vec();
        bytes.push(0xe9);
        bytes.extend_from_slice(b"\"\n");
        std::fs::write(&p, bytes).expect("write");
        match read_config(&p) {
            Err(ConfigError::Invalid(ps)) => {
                assert_eq!(ps.len(), 1);
                let shown = ps[0].to_string();
                assert!(
                    shown.starts_with(&format!("{}:3:12: not UTF-8 text: byte 0xe9", p.display())),
                    "{shown}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    fn env(k: &str) -> Option<String> {
        match k {
            "NL_TOKEN" => Some("abc123\n".into()),
            "CR_VALUE" => Some("x\ry".into()),
            "BELL" => Some("a\u{7}b".into()),
            _ => None,
        }
    }

    #[test]
    fn control_characters_from_a_variable_are_refused_by_name() {
        for (place, var) in [
            ("[[source]]\nid = \"a\"\nkind = \"http\"\nurl = \"http://h/x?token=${NL_TOKEN}\"\n", "NL_TOKEN"),
            ("[[source]]\nid = \"a\"\nkind = \"http\"\nurl = \"http://h/x\"\n[[action]]\nid = \"r\"\nkey = \"R\"\nlabel = \"r\"\ndanger = true\nrequest = { url = \"http://h/r\", body = '{\"t\": \"${CR_VALUE}\"}' }\n", "CR_VALUE"),
            ("[[source]]\nid = \"a\"\nkind = \"http\"\nurl = \"http://h/x\"\n[[action]]\nid = \"r\"\nkey = \"R\"\nlabel = \"r\"\ndanger = true\ncommand = { argv = [\"run\", \"--x=${BELL}\"] }\n", "BELL"),
        ] {
            let text = format!("[cutover]\nname = \"x\"\n{place}");
            let ps = match load_str_with_env(&text, "c.toml", &env) {
                Err(ConfigError::Invalid(ps)) => ps,
                other => panic!("{var}: {other:?}"),
            };
            let shown: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
            assert_eq!(shown.len(), 1, "{shown:?}");
            assert!(shown[0].contains(&format!("`{var}`")), "{shown:?}");
            assert!(
                shown[0].contains("newline") || shown[0].contains("control character"),
                "{shown:?}"
            );
            for v in ["abc123", "x\ry", "a\u{7}b"] {
                assert!(!shown[0].contains(v), "{shown:?}");
            }
        }
    }

    #[test]
    fn a_control_character_written_into_a_url_is_refused() {
        let text = "[cutover]\nname = \"x\"\n[[source]]\nid = \"a\"\nkind = \"http\"\nurl = \"http://h/x\\n?a=1\"\n";
        let shown = match load_str_with_env(text, "c.toml", &env) {
            Err(ConfigError::Invalid(ps)) => ps[0].to_string(),
            other => panic!("{other:?}"),
        };
        assert!(
            shown.starts_with("c.toml:6:7: `url` has a newline"),
            "{shown}"
        );
    }
}
