//! The simulated backend's `.env` file: a real file the simulator writes at start and reads
//! back each time the backend restarts (`supervisorctl restart backend`), so a rollback that
//! edits it (`echo "USE_CLIENT_DRAWER_READ=false" >> .env`, `sed -i …`) and restarts changes
//! the simulated system, and a dashboard reading the file sees what an operator would.
//!
//! Read as python-dotenv reads it: `KEY=value` lines, an optional `export `, `#` comments
//! (also after an unquoted value, following a space), single or double quotes, and the last
//! line for a key wins (so `>>` appends override). A switch is on when its value is `true`
//! in any case, as the backend's `os.getenv(NAME, "false").lower() == "true"`; missing is off.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Every key's value, the last line for a key winning.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, rest)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            continue;
        }
        out.insert(key.to_string(), value(rest));
    }
    out
}

fn value(rest: &str) -> String {
    let rest = rest.trim_start();
    for q in ['"', '\''] {
        if let Some(inner) = rest.strip_prefix(q) {
            if let Some(end) = inner.find(q) {
                return inner[..end].to_string();
            }
        }
    }
    // An unquoted value ends at ` #` (a comment).
    let cut = rest
        .char_indices()
        .find(|(i, c)| *c == '#' && rest[..*i].ends_with(char::is_whitespace))
        .map_or(rest.len(), |(i, _)| i);
    rest[..cut].trim().to_string()
}

/// The backend's reading of a switch: `true` in any case is on, anything else (or nothing)
/// is off.
pub fn switch(values: &BTreeMap<String, String>, key: &str) -> bool {
    values
        .get(key)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

pub fn read(path: &Path) -> io::Result<BTreeMap<String, String>> {
    std::fs::read_to_string(path).map(|t| parse(&t))
}

/// The file the simulator starts with: `preamble`, then one `NAME=true|false` line per flag.
pub fn initial(preamble: &str, flags: &[(&str, bool)]) -> String {
    let mut out = preamble.to_string();
    for (k, v) in flags {
        out.push_str(&format!("{k}={v}\n"));
    }
    out
}

/// Sets `key` to `value` in the file: every line for it is rewritten, or one is appended.
/// The rest of the file is kept as it is.
pub fn set(path: &Path, key: &str, value: &str) -> io::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut found = false;
    let mut out = String::with_capacity(text.len() + 32);
    for line in text.lines() {
        let body = line.trim_start();
        let body = body.strip_prefix("export ").unwrap_or(body);
        let is_key =
            !body.starts_with('#') && body.split_once('=').is_some_and(|(k, _)| k.trim() == key);
        if is_key {
            found = true;
            out.push_str(&format!("{key}={value}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !found {
        out.push_str(&format!("{key}={value}\n"));
    }
    std::fs::write(path, out)
}
