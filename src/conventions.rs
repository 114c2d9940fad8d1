//! The conventions people reach for: shell completions, a man page, and a JSON Schema of
//! the config for TOML editors. Each is made from what the program already knows — the
//! command line's definition and the config's key schema — so none can drift from it.

use crate::cli::{Cli, CompletionShell};
use crate::config::schema::{Shape, TableSchema, ROOT};
use crate::exit::CliError;
use clap::CommandFactory;
use serde_json::{json, Map, Value};
use std::io::Write;

/// `warroom completions bash|zsh|fish`.
pub fn completions(shell: CompletionShell, out: &mut dyn Write) -> Result<i32, CliError> {
    use clap_complete::Shell;
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "warroom", &mut buf);
    emit(out, &buf, "the completions")
}

/// `warroom man`: the man page of the command and its subcommands, in roff.
pub fn man(out: &mut dyn Write) -> Result<i32, CliError> {
    let cmd = Cli::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .map_err(|e| format!("cannot make the man page: {e}"))?;
    // Each subcommand as its own section, so `man warroom` tells them all.
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("warroom {}", sub.get_name());
        buf.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        let page = clap_mangen::Man::new(sub.clone());
        let mut section = Vec::new();
        page.render_description_section(&mut section)
            .and_then(|()| page.render_synopsis_section(&mut section))
            .and_then(|()| page.render_options_section(&mut section))
            .map_err(|e| format!("cannot make the man page: {e}"))?;
        // Its sections become subsections of the one page.
        let section = String::from_utf8_lossy(&section).replace(".SH ", ".SS ");
        buf.extend_from_slice(section.as_bytes());
    }
    emit(out, &buf, "the man page")
}

/// `warroom schema`: a JSON Schema (draft 07) of the config, every key of every table.
pub fn schema(out: &mut dyn Write) -> Result<i32, CliError> {
    let text = serde_json::to_string_pretty(&config_schema())
        .map_err(|e| format!("cannot make the schema: {e}"))?;
    emit(out, format!("{text}\n").as_bytes(), "the schema")
}

/// Writes `bytes` to stdout. A reader that went away (`warroom man | head`) is not an
/// error: it had what it wanted.
fn emit(out: &mut dyn Write, bytes: &[u8], what: &str) -> Result<i32, CliError> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(CliError::Io(format!("cannot write {what}: {e}"))),
    }
}

/// The config's JSON Schema, built from the key schema the loader checks with.
pub fn config_schema() -> Value {
    let mut root = table(&ROOT);
    // `[env.NAME]` overlays lay any key of the config over it, partially: an entry
    // merges by its `id`, so nothing in an overlay is required.
    let mut overlay = table(&ROOT);
    drop_required(&mut overlay);
    if let Some(Value::Object(props)) = root.get_mut("properties") {
        props.insert(
            "env".into(),
            json!({
                "type": "object",
                "description": "environments (`--env NAME`): each laid over the config",
                "additionalProperties": overlay,
            }),
        );
    }
    if let Value::Object(m) = &mut root {
        m.insert(
            "$schema".into(),
            json!("http://json-schema.org/draft-07/schema#"),
        );
        m.insert(
            "title".into(),
            json!(concat!(
                "warroom cutover config (warroom ",
                env!("CARGO_PKG_VERSION"),
                ")"
            )),
        );
    }
    root
}

fn drop_required(v: &mut Value) {
    match v {
        Value::Object(m) => {
            // The list of required keys, not a key named `required` (a source's).
            if m.get("required").is_some_and(Value::is_array) {
                m.remove("required");
            }
            m.values_mut().for_each(drop_required);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_required),
        _ => {}
    }
}

fn table(t: &TableSchema) -> Value {
    let mut props = Map::new();
    for (k, shape) in t.keys {
        props.insert((*k).to_string(), shape_schema(*shape));
    }
    let mut m = Map::new();
    m.insert("type".into(), json!("object"));
    m.insert("description".into(), json!(t.name));
    m.insert("properties".into(), Value::Object(props));
    m.insert("additionalProperties".into(), json!(false));
    if !t.required.is_empty() {
        m.insert("required".into(), json!(t.required));
    }
    Value::Object(m)
}

fn shape_schema(shape: Shape) -> Value {
    match shape {
        // serde checks the type; the editor offers the key.
        Shape::Any => json!({}),
        Shape::Enum(variants) => json!({ "type": "string", "enum": variants }),
        Shape::Table(t) => table(t),
        Shape::Tables(t) => json!({ "type": "array", "items": table(t) }),
        Shape::Map => json!({ "type": "object" }),
        Shape::Argv => json!({ "type": "array", "items": { "type": "string" } }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> Result<i32, CliError>) -> String {
        let mut out = Vec::new();
        assert_eq!(f(&mut out).ok(), Some(0));
        String::from_utf8(out).expect("utf-8")
    }

    /// A writer that fails every write with `kind`.
    struct Failing(std::io::ErrorKind);
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_not_an_error_but_a_full_disk_is() {
        let mut gone = Failing(std::io::ErrorKind::BrokenPipe);
        assert_eq!(man(&mut gone).ok(), Some(0));
        let mut full = Failing(std::io::ErrorKind::StorageFull);
        let e = schema(&mut full).expect_err("a failed write is an error");
        assert_eq!(e.code(), crate::exit::IO);
        assert!(e.to_string().contains("cannot write the schema"), "{e}");
    }

    #[test]
    fn completions_name_every_subcommand_in_each_shell() {
        for shell in [
            CompletionShell::Bash,
            CompletionShell::Zsh,
            CompletionShell::Fish,
        ] {
            let s = text(|o| completions(shell, o));
            for sub in [
                "watch",
                "demo",
                "check",
                "validate",
                "report",
                "replay",
                "init",
                "schema",
                "man",
                "completions",
            ] {
                assert!(s.contains(sub), "{shell:?} lacks {sub}");
            }
            // Fish writes a long option as `-l read-only`.
            assert!(s.contains("read-only"), "{shell:?}");
        }
    }

    #[test]
    fn the_man_page_is_roff_naming_the_subcommands() {
        let s = text(|o| man(o));
        assert!(
            s.starts_with(".ie") || s.contains(".TH"),
            "{}",
            &s[..200.min(s.len())]
        );
        assert!(s.contains(".TH warroom"), "{}", &s[..200.min(s.len())]);
        for sub in ["WARROOM CHECK", "WARROOM VALIDATE", "WARROOM DEMO"] {
            assert!(s.contains(sub), "{sub}");
        }
        assert!(s.contains("read\\-only"));
    }

    /// Every key of `v` is one the schema names, recursively; `path` for messages.
    fn keys_in_schema(v: &toml::Value, s: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                let props = s.get("properties").and_then(Value::as_object);
                let closed = s.get("additionalProperties") == Some(&json!(false));
                for (k, child) in t {
                    match props.and_then(|p| p.get(k)) {
                        Some(cs) => keys_in_schema(child, cs, &format!("{path}.{k}"), out),
                        None if closed => out.push(format!("{path}.{k}")),
                        None => {}
                    }
                }
                if let Some(req) = s.get("required").and_then(Value::as_array) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !t.contains_key(r) {
                            out.push(format!("{path}: missing required {r}"));
                        }
                    }
                }
            }
            toml::Value::Array(a) => {
                if let Some(items) = s.get("items") {
                    for (i, el) in a.iter().enumerate() {
                        keys_in_schema(el, items, &format!("{path}[{i}]"), out);
                    }
                }
            }
            toml::Value::String(x) => {
                if let Some(e) = s.get("enum").and_then(Value::as_array) {
                    if !e.iter().any(|v| v.as_str() == Some(x.as_str())) {
                        out.push(format!("{path}: {x} not in the enum"));
                    }
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_schema_takes_every_shipped_preset_and_refuses_a_stray_key() {
        let schema = config_schema();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        for (name, _, text) in crate::presets::PRESETS {
            let v: toml::Value = toml::from_str(text).expect("preset parses");
            let mut bad = Vec::new();
            keys_in_schema(&v, &schema, name, &mut bad);
            assert!(bad.is_empty(), "{name}: {bad:?}");
        }
        let stray: toml::Value = toml::from_str(
            "[cutover]\nname = \"x\"\n[[signal]]\nid = \"a\"\nsource = \"s\"\n\
                 kind = \"metric\"\nthreshold = 2\n",
        )
        .expect("toml");
        let mut bad = Vec::new();
        keys_in_schema(&stray, &schema, "stray", &mut bad);
        assert_eq!(bad, vec!["stray.signal[0].threshold".to_string()]);
    }

    #[test]
    fn the_schema_names_every_key_of_every_table() {
        let s = text(|o| schema(o));
        let v: Value = serde_json::from_str(&s).expect("JSON");
        fn count(t: &TableSchema) -> usize {
            t.keys
                .iter()
                .map(|(_, sh)| match sh {
                    Shape::Table(c) | Shape::Tables(c) => 1 + count(c),
                    _ => 1,
                })
                .sum()
        }
        fn count_json(v: &Value) -> usize {
            let props = v
                .get("properties")
                .or_else(|| v.get("items").and_then(|i| i.get("properties")))
                .and_then(Value::as_object);
            props.map_or(0, |p| p.values().map(|c| 1 + count_json(c)).sum())
        }
        // Every key, plus `env` whose overlays hold every key again.
        assert_eq!(count_json(&v), count(&ROOT) + 1);
        assert_eq!(
            count_json(&v["properties"]["env"]["additionalProperties"]),
            count(&ROOT)
        );
        assert!(v["properties"]["signal"]["items"]["properties"]["warn"].is_object());
    }
}
