//! `${VAR}` in string values: `${VAR}`, `${VAR:-default}`, `$$`; and the values it brings
//! in from the environment that must never be shown (noted for the redactor).

use super::load::Loader;
use super::schema::Seg;

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
        // A pipeline's commands are argv lists too: `pipeline[c][j]`.
        let in_pipeline = n >= 3
            && key(path.get(n - 3)) == Some("pipeline")
            && matches!(path[n - 2..], [Seg::Index(_), Seg::Index(_)]);
        if in_pipeline {
            return Place::Argv;
        }
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
    /// `${VAR}`, `${VAR:-default}` (default also when VAR is empty, as in the shell),
    /// `$$` for a dollar; any other `$` is literal. Problems point at the `${`.
    pub(super) fn expand(&mut self, s: &str, value_off: usize, path: &[Seg]) -> String {
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
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str_with_env, ConfigError};

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
