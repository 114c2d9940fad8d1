//! Tokens and how they are kept out of sight (SPEC §5, FAULTS 15).
//!
//! - `read_token_file`: a token file readable by others is refused, one readable by its
//!   group is warned about, a symlink or anything but a regular file is refused; one
//!   trailing newline is trimmed, an empty token or one with control characters refused.
//!   Errors name the path and the problem, never the content.
//! - `Secret`: a token whose `Debug` and `Display` show only a short fingerprint
//!   (`Secret(fp:1a2b3c4d)`); `expose` is for the one place that sends it.
//! - `Redactor`: every secret value of a config (credential headers, secret-named command
//!   environment, token files, the variables they come from), replaced by `***` in any
//!   text before it is shown, logged, audited or recorded.

use crate::config::Config;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A token file larger than this is not a token.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// Secrets shorter than this are not redacted from free text: replacing every `a` or
/// `ok` would destroy the text and tell as much about the secret.
pub const MIN_REDACT_LEN: usize = 4;

/// FNV-1a (64 bit), folded to 8 hex digits. Not cryptographic: it tells two tokens apart
/// on screen and in the audit log, it does not protect a guessable one.
pub fn fingerprint(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fp:{:08x}", (h >> 32) ^ (h & 0xffff_ffff))
}

/// A token. Never printed: `Debug` and `Display` show `Secret(fp:xxxxxxxx)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The token itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `fp:xxxxxxxx`, safe to show and to log.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.fingerprint())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.fingerprint())
    }
}

/// Why a token file was refused. Each names the path and the problem, never the content.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read token file {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("token file {} is a symlink; refused (point `token_file` at the file itself)", .path.display())]
    Symlink { path: PathBuf },
    #[error("token file {} is not a regular file; refused", .path.display())]
    NotRegular { path: PathBuf },
    #[error("token file {} is readable by others (mode {mode:04o}); refused: run `chmod 600 {}`", .path.display(), .path.display())]
    OthersReadable { path: PathBuf, mode: u32 },
    #[error("token file {} is larger than {MAX_TOKEN_FILE_BYTES} bytes; refused (it does not hold just a token)", .path.display())]
    TooLarge { path: PathBuf },
    #[error("token file {} is empty", .path.display())]
    Empty { path: PathBuf },
    #[error("token file {} is not UTF-8 text", .path.display())]
    NotText { path: PathBuf },
    #[error("token file {} has control characters (other than one final newline); refused", .path.display())]
    ControlChars { path: PathBuf },
    #[error("token file {} has spaces before or after the token; refused", .path.display())]
    Whitespace { path: PathBuf },
}

/// Reads a token from `path`: the secret and, when the file is readable by its group, a
/// warning to show. See the module documentation for what is refused.
pub fn read_token_file(path: &Path) -> Result<(Secret, Option<String>), SecretError> {
    let p = || path.to_path_buf();
    let io = |source| SecretError::Io { path: p(), source };
    // Look at the link itself, not its target; refuse a FIFO or device before opening it.
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    if meta.file_type().is_symlink() {
        return Err(SecretError::Symlink { path: p() });
    }
    if !meta.is_file() {
        return Err(SecretError::NotRegular { path: p() });
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Swapped for a link or a FIFO between the look and the open: fail, never block.
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = opts.open(path).map_err(io)?;
    // Judge the file actually opened.
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(SecretError::NotRegular { path: p() });
    }
    let mut warning = None;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o004 != 0 {
            return Err(SecretError::OthersReadable { path: p(), mode });
        }
        if mode & 0o040 != 0 {
            warning = Some(format!(
                "token file {} is readable by its group (mode {mode:04o}); consider `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
    if meta.len() > MAX_TOKEN_FILE_BYTES {
        return Err(SecretError::TooLarge { path: p() });
    }
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(SecretError::TooLarge { path: p() });
    }
    let text = String::from_utf8(bytes).map_err(|_| SecretError::NotText { path: p() })?;
    let token = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if token.is_empty() {
        return Err(SecretError::Empty { path: p() });
    }
    if token.chars().any(char::is_control) {
        return Err(SecretError::ControlChars { path: p() });
    }
    if token.trim() != token {
        return Err(SecretError::Whitespace { path: p() });
    }
    Ok((Secret::new(token), warning))
}

/// Header names whose values are credentials: Authorization, Proxy-Authorization, Cookie,
/// and any name containing token, secret, key, password or auth (case-insensitive), but
/// not `Idempotency-Key`.
pub fn is_secret_header_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    // Sent with every action request and quoted in the audit log to match a retry.
    if n == "idempotency-key" {
        return false;
    }
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || ["token", "secret", "key", "password", "auth"]
        .iter()
        .any(|w| n.contains(w))
}

/// Environment variable names whose values are secrets (for a command's `env`, and the
/// variables a config names).
pub fn is_secret_env_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "KEY",
        "PASSWORD",
        "PASSWD",
        "AUTH",
        "CREDENTIAL",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Splits `Bearer xyz` into the scheme and the credential; a value without a space is
/// all credential.
fn split_scheme(value: &str) -> (Option<&str>, &str) {
    let v = value.trim();
    match v.split_once(char::is_whitespace) {
        Some((scheme, cred))
            if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            (Some(scheme), cred.trim())
        }
        _ => (None, v),
    }
}

/// Removes known secrets from any text before it is shown, logged, audited or recorded.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so a whole `Bearer xyz` goes before its `xyz`.
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every secret value in a loaded config (after `${VAR}` expansion): credential
    /// headers of sources and action requests (whole value and the credential after
    /// `Bearer`/`Basic`…), and secret-named `env` values of command actions. Token files
    /// are read later: add them with `add_secret`.
    pub fn from_config(cfg: &Config) -> Self {
        let mut r = Redactor::new();
        let header_maps = cfg.sources.iter().map(|s| &s.headers).chain(
            cfg.actions
                .iter()
                .filter_map(|a| a.request.as_ref().map(|q| &q.headers)),
        );
        for headers in header_maps {
            for (name, value) in headers {
                if is_secret_header_name(name) {
                    r.add_header_value(value);
                }
            }
        }
        for c in cfg.actions.iter().filter_map(|a| a.command.as_ref()) {
            for (name, value) in &c.env {
                if is_secret_env_name(name) {
                    r.add(value);
                }
            }
        }
        r
    }

    /// Also the values of the secret-named variables (`${ADMIN_TOKEN}`…) that `config_text`
    /// refers to, as `env` gives them: the parts of a header built from several variables.
    pub fn add_env_refs(&mut self, config_text: &str, env: &dyn Fn(&str) -> Option<String>) {
        let mut rest = config_text;
        while let Some(i) = rest.find("${") {
            let body = &rest[i + 2..];
            let end = body
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(body.len());
            let name = &body[..end];
            if is_secret_env_name(name) {
                if let Some(v) = env(name) {
                    self.add(&v);
                    self.add(v.trim());
                }
            }
            rest = &body[end..];
        }
    }

    fn add_header_value(&mut self, value: &str) {
        self.add(value);
        self.add(value.trim());
        let (_, cred) = split_scheme(value);
        self.add(cred);
    }

    /// A secret to remove from now on (shorter than `MIN_REDACT_LEN` is ignored).
    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_REDACT_LEN || self.secrets.iter().any(|s| s == secret) {
            return;
        }
        let at = self
            .secrets
            .iter()
            .position(|s| s.len() < secret.len())
            .unwrap_or(self.secrets.len());
        self.secrets.insert(at, secret.to_string());
    }

    /// A token read from a file (sent as `Authorization: Bearer <token>`).
    pub fn add_secret(&mut self, secret: &Secret) {
        self.add(secret.expose());
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every known secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }

    /// Headers for display: a credential header shows its scheme and a fingerprint
    /// (`Authorization: Bearer *** (fp:1a2b3c4d)`), any other has known secrets removed.
    pub fn redact_headers(&self, headers: &BTreeMap<String, String>) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(name, value)| {
                let shown = if is_secret_header_name(name) {
                    match split_scheme(value) {
                        (_, "") if value.trim().is_empty() => "(empty)".to_string(),
                        (Some(scheme), cred) => {
                            format!("{scheme} *** ({})", fingerprint(cred))
                        }
                        (None, cred) => format!("*** ({})", fingerprint(cred)),
                    }
                } else {
                    self.redact(value)
                };
                (name.clone(), shown)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const TOKEN: &str = "tok-5ecret-abc123";

    fn token_file(dir: &tempfile::TempDir, name: &str, content: &[u8], mode: u32) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, content).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    fn no_content(e: &SecretError) {
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("5ecret"), "{shown}");
    }

    #[test]
    fn reads_a_private_token_and_trims_one_newline() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (content, name) in [
            (format!("{TOKEN}\n"), "lf"),
            (format!("{TOKEN}\r\n"), "crlf"),
            (TOKEN.to_string(), "none"),
        ] {
            let p = token_file(&dir, name, content.as_bytes(), 0o600);
            let (s, warning) = read_token_file(&p).expect(name);
            assert_eq!(s.expose(), TOKEN, "{name}");
            assert_eq!(warning, None);
        }
        // Only one: a second newline is a control character inside the token.
        let p = token_file(&dir, "two", format!("{TOKEN}\n\n").as_bytes(), 0o600);
        let e = read_token_file(&p).expect_err("two newlines");
        assert!(matches!(e, SecretError::ControlChars { .. }), "{e}");
        no_content(&e);
    }

    #[test]
    fn others_readable_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = token_file(&dir, "t", TOKEN.as_bytes(), 0o644);
        let e = read_token_file(&p).expect_err("0644");
        assert!(matches!(e, SecretError::OthersReadable { mode: 0o644, .. }));
        let msg = e.to_string();
        assert!(msg.contains(&p.display().to_string()), "{msg}");
        assert!(msg.contains("readable by others"), "{msg}");
        assert!(msg.contains("0644"), "{msg}");
        no_content(&e);
    }

    #[test]
    fn group_readable_is_warned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = token_file(&dir, "t", TOKEN.as_bytes(), 0o640);
        let (s, warning) = read_token_file(&p).expect("0640 is read");
        assert_eq!(s.expose(), TOKEN);
        let w = warning.expect("a warning");
        assert!(w.contains("readable by its group"), "{w}");
        assert!(w.contains(&p.display().to_string()), "{w}");
        assert!(!w.contains("5ecret"), "{w}");
    }

    #[test]
    fn symlink_and_non_regular_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = token_file(&dir, "real", TOKEN.as_bytes(), 0o600);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let e = read_token_file(&link).expect_err("symlink");
        assert!(matches!(e, SecretError::Symlink { .. }), "{e}");
        assert!(e.to_string().contains("symlink"));
        no_content(&e);
        let e = read_token_file(dir.path()).expect_err("a directory");
        assert!(matches!(e, SecretError::NotRegular { .. }), "{e}");
        let e = read_token_file(&dir.path().join("missing")).expect_err("missing");
        assert!(matches!(e, SecretError::Io { .. }), "{e}");
        assert!(e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn empty_control_chars_and_spaces_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, content) in [
            ("empty", b"".as_slice()),
            ("just_newline", b"\n".as_slice()),
            ("bell", b"tok-5ecret\x07abc\n".as_slice()),
            ("cr", b"tok-5ecret\rabc".as_slice()),
            ("inner_newline", b"tok-5ecret\nabc\n".as_slice()),
            ("nul", b"tok-5ecret\0abc".as_slice()),
            ("tab", b"tok-5ecret\tabc".as_slice()),
            ("spaces", b" tok-5ecret-abc \n".as_slice()),
            ("binary", b"tok-5ecret\xff\xfe".as_slice()),
        ] {
            let p = token_file(&dir, name, content, 0o600);
            let e = read_token_file(&p).expect_err(name);
            let expected = match name {
                "empty" | "just_newline" => matches!(e, SecretError::Empty { .. }),
                "spaces" => matches!(e, SecretError::Whitespace { .. }),
                "binary" => matches!(e, SecretError::NotText { .. }),
                _ => matches!(e, SecretError::ControlChars { .. }),
            };
            assert!(expected, "{name}: {e}");
            assert!(e.to_string().contains(&p.display().to_string()), "{e}");
            no_content(&e);
        }
    }

    #[test]
    fn debug_and_display_never_show_the_token() {
        let s = Secret::new(TOKEN);
        let fp = fingerprint(TOKEN);
        assert!(fp.starts_with("fp:") && fp.len() == 11, "{fp}");
        for shown in [format!("{s}"), format!("{s:?}"), format!("{:?}", Some(&s))] {
            assert!(
                !shown.contains(TOKEN) && !shown.contains("5ecret"),
                "{shown}"
            );
            assert!(shown.contains(&fp), "{shown}");
        }
        assert_eq!(format!("{s:?}"), format!("Secret({fp})"));
        // Distinct tokens are told apart.
        assert_ne!(fingerprint("token-a"), fingerprint("token-b"));
        let r = Redactor::new();
        assert!(!format!("{r:?}").contains(TOKEN));
    }

    fn cfg() -> Config {
        let text = r#"
[cutover]
name = "x"

[[source]]
id = "admin"
kind = "http"
url = "http://h/x"
headers = { Authorization = "Bearer ${ADMIN_TOKEN}", "X-Api-Key" = "key-zzz-999", Accept = "application/json" }

[[action]]
id = "rollback"
key = "R"
label = "Roll back"
danger = true
request = { url = "http://h/flags", headers = { Cookie = "session=c00kie-val" } }

[[action]]
id = "restart"
key = "B"
label = "Restart"
command = { argv = ["supervisorctl", "restart", "backend"], env = { DEPLOY_TOKEN = "d3ploy-tok", MODE = "fast" } }
"#;
        let env = |k: &str| (k == "ADMIN_TOKEN").then(|| TOKEN.to_string());
        crate::config::load_str_with_env(text, "c.toml", &env).expect("loads")
    }

    #[test]
    fn redact_removes_every_config_secret_from_any_text() {
        let r = Redactor::from_config(&cfg());
        let text = format!(
            "GET failed: header Bearer {TOKEN}; raw {TOKEN}, key key-zzz-999, \
             cookie session=c00kie-val, env d3ploy-tok, mode fast, accept application/json"
        );
        let out = r.redact(&text);
        for secret in [TOKEN, "key-zzz-999", "c00kie-val", "d3ploy-tok"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("***"), "{out}");
        assert!(
            out.contains("mode fast") && out.contains("application/json"),
            "{out}"
        );
    }

    #[test]
    fn added_secrets_and_env_refs_are_redacted() {
        let mut r = Redactor::new();
        r.add("abc"); // too short to redact from text
        let s = Secret::new("file-t0ken-xyz");
        r.add_secret(&s);
        r.add_env_refs(
            "url = \"${BASE_URL}\"\nx = \"${PART_SECRET}\"",
            &|k| match k {
                "PART_SECRET" => Some("p4rt-secret".into()),
                "BASE_URL" => Some("http://base".into()),
                _ => None,
            },
        );
        let out = r.redact("abc file-t0ken-xyz p4rt-secret http://base");
        assert_eq!(out, "abc *** *** http://base");
    }

    #[test]
    fn redact_headers_shows_scheme_and_fingerprint_only() {
        let cfg = cfg();
        let r = Redactor::from_config(&cfg);
        let shown = r.redact_headers(&cfg.sources[0].headers);
        let get = |n: &str| {
            shown
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            get("Authorization"),
            format!("Bearer *** ({})", fingerprint(TOKEN))
        );
        assert_eq!(
            get("X-Api-Key"),
            format!("*** ({})", fingerprint("key-zzz-999"))
        );
        assert_eq!(get("Accept"), "application/json");
        for (_, v) in &shown {
            assert!(!v.contains("5ecret") && !v.contains("zzz"), "{v}");
        }
    }

    #[test]
    fn secret_names() {
        for n in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "X-Api-Key",
            "X-Auth-Token",
            "x-client-secret",
            "X-Password",
        ] {
            assert!(is_secret_header_name(n), "{n}");
        }
        for n in ["Accept", "Content-Type", "X-Request-Id", "Idempotency-Key"] {
            assert!(!is_secret_header_name(n), "{n}");
        }
        assert!(is_secret_env_name("ADMIN_TOKEN") && is_secret_env_name("api_key"));
        assert!(!is_secret_env_name("WARROOM_URL"));
    }
}
