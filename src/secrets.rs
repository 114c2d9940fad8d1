//! Tokens and how they are kept out of sight.
//!
//! - `read_token_file`: a token file readable by others is refused, one readable by its
//!   group is warned about, a symlink or anything but a regular file is refused; one
//!   trailing newline is trimmed, an empty token or one with control characters refused.
//!   Errors name the path and the problem, never the content.
//! - `Secret`: a token whose `Debug` and `Display` show only a short fingerprint
//!   (`Secret(fp:1a2b3c4d)`); `expose` is for the one place that sends it.
//! - `Redactor`: one set of secrets — what the config loader marked while reading the
//!   text (so a config from a pipe is covered like a file), credential headers, URL
//!   credentials, token files, the environment's secret-named variables — replaced by
//!   `***` in any text, applied last at every sink: the state's inputs (screen), the
//!   audit writer, the recorder, the log file's writer, `check`/`validate`/`report`
//!   output, the panic message. [`install`] makes it the process's.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A token file larger than this is not a token.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// Secrets shorter than this are not redacted from free text: replacing every `a` or
/// `ok` would destroy the text and tell as much about the secret.
pub const MIN_REDACT_LEN: usize = 4;

/// A redaction as the sinks take it (the audit writer, the recorder, a session): the
/// process's redactor, or a session's own.
pub type Redact = Arc<dyn Fn(&str) -> String + Send + Sync>;

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
        "PASS",
        "AUTH",
        "CREDENTIAL",
        "PRIVATE",
        "COOKIE",
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

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// A text cut by a clip (an excerpt, a reason, a capped body) may end inside a secret:
/// pieces of a secret at least this long at a cut are removed too. Shorter ones tell next
/// to nothing about a token and would hit ordinary words.
pub const PIECE_MIN: usize = 6;

/// Where a text was cut: its two ends, and the ellipses a clip leaves.
const CUT_MARKS: [&str; 2] = ["…", "..."];

/// Variables that say who and where, not a credential: their values stay visible even
/// when a config puts them into a body or an argument (the audit log's `user` is one).
pub const IDENTITY_VARS: &[&str] = &["USER", "LOGNAME", "SUDO_USER", "HOSTNAME", "HOST"];

/// Values of secret-named variables of the whole environment shorter than this are not
/// taken (`KEYTIMEOUT=1`): too short to be a credential, too likely to hit a word.
const ENV_MIN: usize = 8;

/// Query parameters whose values are credentials (`?token=…`, `?api_key=…`, `?sig=…`).
pub fn is_secret_param_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    is_secret_header_name(&n) || n.contains("sig") || n.contains("pass") || n == "code"
}

/// Removes known secrets from any text before it is shown, logged, audited or recorded.
///
/// A secret is removed in every form it takes in text (as is, JSON-escaped,
/// percent-encoded), and where a text ends or shows a clip's `…`, a piece of a secret
/// of at least [`PIECE_MIN`] characters is removed too: a clip made before redaction
/// (a capped body, a server that cuts its own echo) cannot leave a token's prefix.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Every form of every secret, longest first, so a whole form goes before a shorter
    /// secret inside it.
    forms: Vec<String>,
    /// The secrets as given, longest first: what a cut may leave a piece of.
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

fn insert_longest_first(list: &mut Vec<String>, s: String) {
    if list.contains(&s) {
        return;
    }
    let at = list
        .iter()
        .position(|x| x.len() < s.len())
        .unwrap_or(list.len());
    list.insert(at, s);
}

/// `s` with the bytes `keep` refuses written as `%XX`.
fn percent_encode(s: &str, keep: impl Fn(u8) -> bool, space_plus: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if space_plus && b == b' ' {
            out.push('+');
        } else if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` decoded (invalid escapes and non-UTF-8 results left as they are).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// The forms a secret takes in the texts warroom handles: as is; inside JSON (our own
/// lines and servers' bodies, some of which escape `/`); in a URL, as an encoder or a
/// server echoing it writes it.
fn forms_of(s: &str) -> Vec<String> {
    let mut forms = vec![s.to_string()];
    if let Ok(j) = serde_json::to_string(s) {
        let j = j[1..j.len() - 1].to_string();
        forms.push(j.replace('/', "\\/"));
        forms.push(j);
    }
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    forms.push(percent_encode(s, unreserved, false));
    forms.push(percent_encode(s, unreserved, true));
    // What a URL parser leaves of a query: only these are escaped.
    forms.push(percent_encode(
        s,
        |b| b > b' ' && b < 0x7f && !matches!(b, b'"' | b'#' | b'<' | b'>' | b'\''),
        false,
    ));
    forms.push(percent_decode(s));
    let mut out = Vec::new();
    for f in forms {
        if f.chars().count() >= MIN_REDACT_LEN && !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// The byte ranges of a URL's credential-carrying parts: user and password of its
/// userinfo (`true`: always a credential), the value of each query parameter and the
/// fragment (`false`: a credential when it came from a variable or its name says so).
/// Read from the text as written, so the ranges match what was substituted.
pub fn url_parts(url: &str) -> Vec<(std::ops::Range<usize>, bool, &str)> {
    let mut parts = Vec::new();
    let authority = url.find("://").map_or(0, |i| i + 3);
    let auth_end = url[authority..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority + i);
    if let Some(at) = url[authority..auth_end].rfind('@') {
        let ui = authority..authority + at;
        match url[ui.clone()].find(':') {
            Some(c) => {
                parts.push((ui.start..ui.start + c, true, "user"));
                parts.push((ui.start + c + 1..ui.end, true, "password"));
            }
            None => parts.push((ui, true, "user")),
        }
    }
    let path_end = url[auth_end..]
        .find(['?', '#'])
        .map_or(url.len(), |i| auth_end + i);
    let frag = url[path_end..].find('#').map(|i| path_end + i);
    if url[path_end..].starts_with('?') {
        let q_end = frag.unwrap_or(url.len());
        let mut pos = path_end + 1;
        for pair in url[path_end + 1..q_end].split('&') {
            let (name, v_start) = match pair.find('=') {
                Some(e) => (&pair[..e], pos + e + 1),
                None => ("", pos),
            };
            parts.push((v_start..pos + pair.len(), false, name));
            pos += pair.len() + 1;
        }
    }
    if let Some(f) = frag {
        parts.push((f + 1..url.len(), false, ""));
    }
    parts.retain(|(r, _, _)| !r.is_empty());
    parts
}

/// The credentials written into a URL itself: its userinfo's password (or a user alone,
/// as in `https://TOKEN@host/`), and the values of secret-named query parameters.
pub fn url_credentials(url: &str) -> Vec<String> {
    let parts = url_parts(url);
    let has_password = parts.iter().any(|(_, _, n)| *n == "password");
    parts
        .into_iter()
        .filter(|(_, userinfo, name)| {
            if *userinfo {
                *name == "password" || !has_password
            } else {
                is_secret_param_name(name)
            }
        })
        .map(|(r, _, _)| url[r].to_string())
        .collect()
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// The values of the secret-named variables of this process's environment
    /// (`ADMIN_TOKEN`, `AWS_SECRET_ACCESS_KEY`…): for what is printed before a config is
    /// read, and for the commands that read no config (`report`, `replay`).
    pub fn from_env() -> Self {
        let mut r = Redactor::new();
        for (k, v) in std::env::vars_os() {
            let (Some(k), Some(v)) = (k.to_str(), v.to_str()) else {
                continue;
            };
            if is_secret_env_name(k) && v.trim().chars().count() >= ENV_MIN {
                r.add(v);
            }
        }
        r
    }

    /// A credential header's value: the credential after its scheme (`Bearer …`).
    pub fn add_header_value(&mut self, value: &str) {
        let (_, cred) = split_scheme(value);
        self.add(cred);
    }

    /// A secret to remove from now on (shorter than `MIN_REDACT_LEN` is ignored), with
    /// and without surrounding spaces.
    pub fn add(&mut self, secret: &str) {
        for s in [secret, secret.trim()] {
            if s.chars().count() < MIN_REDACT_LEN || self.secrets.iter().any(|x| x == s) {
                continue;
            }
            insert_longest_first(&mut self.secrets, s.to_string());
            for f in forms_of(s) {
                insert_longest_first(&mut self.forms, f);
            }
        }
    }

    /// A token read from a file (sent as `Authorization: Bearer <token>`).
    pub fn add_secret(&mut self, secret: &Secret) {
        self.add(secret.expose());
    }

    /// Every secret of `other` too.
    pub fn extend(&mut self, other: &Redactor) {
        for s in &other.secrets {
            self.add(s);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// How many secrets it knows (forms not counted).
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// `text` with every known secret, and every piece of one left at a cut, replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        if self.secrets.is_empty() || text.len() < MIN_REDACT_LEN {
            return text.to_string();
        }
        let mut out = text.to_string();
        for f in &self.forms {
            if out.contains(f.as_str()) {
                out = out.replace(f.as_str(), MASK);
            }
        }
        self.remove_cut_pieces(out)
    }

    /// Every string (and key) of a JSON value redacted, each on its own: a string's ends
    /// are its cuts.
    pub fn redact_json(&self, v: &mut serde_json::Value) {
        if !self.secrets.is_empty() {
            redact_json_with(v, &|t: &str| self.redact(t));
        }
    }

    fn remove_cut_pieces(&self, text: String) -> String {
        let mut ends = vec![text.len()];
        let mut starts = vec![0];
        for mark in CUT_MARKS {
            for (i, m) in text.match_indices(mark) {
                ends.push(i);
                starts.push(i + m.len());
            }
        }
        let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
        for b in ends {
            if let Some(n) = self.piece_before(&text[..b]) {
                ranges.push(b - n..b);
            }
        }
        for a in starts {
            if let Some(n) = self.piece_after(&text[a..]) {
                ranges.push(a..a + n);
            }
        }
        if ranges.is_empty() {
            return text;
        }
        ranges.sort_by_key(|r| r.start);
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for r in ranges {
            if r.end <= at {
                continue;
            }
            out.push_str(&text[at..r.start.max(at)]);
            out.push_str(MASK);
            at = r.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Length in bytes of the longest proper start of a secret (at least `PIECE_MIN`
    /// characters) that `head` ends with.
    fn piece_before(&self, head: &str) -> Option<usize> {
        self.secrets
            .iter()
            .filter_map(|s| {
                let min = s.char_indices().nth(PIECE_MIN)?.0;
                // Only the last `s.len()` bytes of `head` can hold a start of `s`.
                let mut from = head.len().saturating_sub(s.len() - 1);
                while !head.is_char_boundary(from) {
                    from += 1;
                }
                let window = &head[from..];
                window
                    .match_indices(&s[..min])
                    .map(|(i, _)| &window[i..])
                    .find(|piece| s.starts_with(piece) && piece.len() < s.len())
                    .map(str::len)
            })
            .max()
    }

    /// Length in bytes of the longest proper end of a secret (at least `PIECE_MIN`
    /// characters) that `tail` starts with.
    fn piece_after(&self, tail: &str) -> Option<usize> {
        tail.char_indices().nth(PIECE_MIN - 1)?;
        let min = tail
            .char_indices()
            .nth(PIECE_MIN)
            .map_or(tail.len(), |(i, _)| i);
        let lead = &tail[..min];
        self.secrets
            .iter()
            .filter_map(|s| {
                s.match_indices(lead)
                    .map(|(i, _)| &s[i..])
                    .find(|end| end.len() < s.len() && tail.starts_with(end))
                    .map(str::len)
            })
            .max()
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

    /// As a `Redact` function for the sinks that take one.
    pub fn into_fn(self: Arc<Self>) -> Redact {
        Arc::new(move |t: &str| self.redact(t))
    }
}

/// Every string (and key) of a JSON value through `redact`, each on its own.
pub fn redact_json_with(v: &mut serde_json::Value, redact: &dyn Fn(&str) -> String) {
    match v {
        serde_json::Value::String(s) => {
            let r = redact(s);
            if r != *s {
                *s = r;
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| redact_json_with(x, redact)),
        serde_json::Value::Object(m) => {
            let keys_change = m.keys().any(|k| redact(k) != *k);
            if keys_change {
                let old = std::mem::take(m);
                for (k, mut val) in old {
                    redact_json_with(&mut val, redact);
                    m.insert(redact(&k), val);
                }
            } else {
                m.values_mut().for_each(|x| redact_json_with(x, redact));
            }
        }
        _ => {}
    }
}

/// The process's redactor: the environment's secrets until a config is loaded, then
/// the config's too. For the sinks no session owns — the log file, the panic message,
/// errors printed on the way out.
static INSTALLED: std::sync::RwLock<Option<Arc<Redactor>>> = std::sync::RwLock::new(None);

/// Make `r` (with the environment's secrets added) the process's redactor.
pub fn install(r: &Redactor) -> Arc<Redactor> {
    let mut all = Redactor::from_env();
    all.extend(r);
    let all = Arc::new(all);
    if let Ok(mut g) = INSTALLED.write() {
        *g = Some(Arc::clone(&all));
    }
    all
}

/// The process's redactor (see [`install`]).
pub fn global() -> Arc<Redactor> {
    static ENV: std::sync::OnceLock<Arc<Redactor>> = std::sync::OnceLock::new();
    if let Some(r) = INSTALLED.read().ok().and_then(|g| g.clone()) {
        return r;
    }
    Arc::clone(ENV.get_or_init(|| Arc::new(Redactor::from_env())))
}

/// `text` through the process's redactor.
pub fn redact(text: &str) -> String {
    global().redact(text)
}

/// A writer that redacts what passes through it, a line at a time (a secret is never
/// split by a flush): for stdout of `check`, `report` and `validate`, and the log file.
pub struct RedactWriter<W: std::io::Write> {
    inner: W,
    redactor: Arc<Redactor>,
    pending: Vec<u8>,
}

impl<W: std::io::Write> RedactWriter<W> {
    pub fn new(inner: W, redactor: Arc<Redactor>) -> Self {
        RedactWriter {
            inner,
            redactor,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, upto: usize) -> std::io::Result<()> {
        let chunk: Vec<u8> = self.pending.drain(..upto).collect();
        let text = String::from_utf8_lossy(&chunk);
        self.inner.write_all(self.redactor.redact(&text).as_bytes())
    }
}

impl<W: std::io::Write> std::io::Write for RedactWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(nl) = self.pending.iter().rposition(|b| *b == b'\n') {
            self.emit(nl + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let n = self.pending.len();
        if n > 0 {
            self.emit(n)?;
        }
        self.inner.flush()
    }
}

impl<W: std::io::Write> Drop for RedactWriter<W> {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
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
        let r = crate::secure::redactor(&cfg());
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
    fn added_secrets_are_redacted_short_ones_are_not() {
        let mut r = Redactor::new();
        r.add("abc"); // too short to redact from text
        r.add_secret(&Secret::new("file-t0ken-xyz"));
        r.add(" p4rt-secret\n");
        let out = r.redact("abc file-t0ken-xyz p4rt-secret http://base");
        assert_eq!(out, "abc *** *** http://base");
    }

    #[test]
    fn a_secret_is_removed_in_every_form_text_gives_it() {
        let mut r = Redactor::new();
        r.add("s3cr\"t/with space&more");
        for shown in [
            "raw s3cr\"t/with space&more end".to_string(),
            // JSON, as our lines and most servers write it, and with `/` escaped.
            r#"{"e":"s3cr\"t/with space&more"}"#.to_string(),
            r#"{"e":"s3cr\"t\/with space&more"}"#.to_string(),
            // Percent-encoded: fully, as a form, as a URL parser leaves a query.
            "q=s3cr%22t%2Fwith%20space%26more".to_string(),
            "q=s3cr%22t%2Fwith+space%26more".to_string(),
            "q=s3cr%22t/with%20space&more".to_string(),
        ] {
            let out = r.redact(&shown);
            assert!(out.contains("***"), "{shown} -> {out}");
            assert!(!out.contains("with"), "{shown} -> {out}");
        }
    }

    #[test]
    fn a_piece_of_a_secret_left_at_a_cut_is_removed() {
        let token = "canary-7f3a9c2e5b1d";
        let mut r = Redactor::new();
        r.add(token);
        // A clip made before redaction: the text ends inside the token, or shows `…` there.
        for (text, want) in [
            ("GET /x?t=canary-7f3a", "GET /x?t=***"),
            ("GET /x?t=canary-7f3a… (cut)", "GET /x?t=***… (cut)"),
            ("GET /x?t=canary-7f3a9c...", "GET /x?t=***..."),
            // The other end of a cut: a tail excerpt starting inside the token.
            ("9c2e5b1d and the rest", "*** and the rest"),
            ("head…c2e5b1d tail", "head…*** tail"),
            ("e5b1d", "e5b1d"),
            ("2e5b1d", "***"),
        ] {
            assert_eq!(r.redact(text), want, "{text}");
        }
        // Not at a cut, or too short to tell anything: left alone.
        for text in ["canary-7f3a is a prefix in the middle", "ends with canar"] {
            assert_eq!(r.redact(text), text, "{text}");
        }
        // No 8-character piece survives any cut of a token.
        for cut in 0..=token.len() {
            let head = format!("x={}", &token[..cut]);
            let tail = format!("{} y", &token[cut..]);
            for out in [r.redact(&head), r.redact(&tail)] {
                for piece in token.as_bytes().windows(PIECE_MIN) {
                    let piece = std::str::from_utf8(piece).unwrap_or_default();
                    assert!(!out.contains(piece), "cut {cut}: {out}");
                }
            }
        }
    }

    #[test]
    fn json_strings_and_keys_are_redacted_each_at_its_own_ends() {
        let mut r = Redactor::new();
        r.add("t0ken-abcdef-123456");
        let mut v = serde_json::json!({
            "excerpt": "echo: t0ken-abcdef",
            "t0ken-abcdef-123456": [1, "ok", {"u": "a?t0ken-abcdef-123456"}],
        });
        r.redact_json(&mut v);
        let text = v.to_string();
        assert!(!text.contains("t0ken-ab"), "{text}");
        assert_eq!(v["excerpt"], "echo: ***");
        assert_eq!(v["***"][2]["u"], "a?***");
    }

    #[test]
    fn the_writer_redacts_whole_lines_whatever_the_writes() {
        let mut r = Redactor::new();
        r.add("t0ken-abcdef-123456");
        let mut out = Vec::new();
        {
            let mut w = RedactWriter::new(&mut out, Arc::new(r));
            // A token split across writes is still one line when redacted.
            std::io::Write::write_all(&mut w, b"first t0ken-ab").expect("write");
            std::io::Write::write_all(&mut w, b"cdef-123456 end\nsecond t0ken-abcdef-123456")
                .expect("write");
        }
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "first *** end\nsecond ***"
        );
    }

    #[test]
    fn url_credentials_and_parts() {
        assert_eq!(
            url_credentials("https://bob:pa55word@h:8443/x?token=abc123&page=2&api_key=k3y#frag"),
            vec!["pa55word", "abc123", "k3y"]
        );
        // A user alone is the credential (`https://TOKEN@host/`).
        assert_eq!(
            url_credentials("https://ghp_xyz@github.com/"),
            vec!["ghp_xyz"]
        );
        assert!(url_credentials("http://localhost:5000/api/v1/health?verbose=1").is_empty());
        let url = "http://h/p?a=1&b&c=xyz#f";
        let parts: Vec<&str> = url_parts(url)
            .into_iter()
            .map(|(r, _, _)| &url[r])
            .collect();
        assert_eq!(parts, vec!["1", "b", "xyz", "f"]);
    }

    #[test]
    fn from_config_takes_what_the_loader_marked() {
        let text = r#"
[cutover]
name = "x"

[[source]]
id = "q"
kind = "http"
url = "${BASE}/v1/metrics?window=5m&sig=${PROBE}"

[[action]]
id = "rollback"
key = "R"
label = "Roll back"
danger = true
request = { url = "${BASE}/rollback", body = '{"by": "${USER}", "reason": "${REASON}", "ref": "${PROBE}"}' }

[[action]]
id = "restart"
key = "B"
label = "Restart"
command = { argv = ["restart", "--target=${PROBE}", "--from", "${BASE}"] }
"#;
        let env = |k: &str| match k {
            "BASE" => Some("http://127.0.0.1:5000".to_string()),
            "PROBE" => Some("pr0be-value-77".to_string()),
            "USER" => Some("alice".to_string()),
            "REASON" => Some("breach on v2".to_string()),
            _ => None,
        };
        let cfg = crate::config::load_str_with_env(text, "c.toml", &env).expect("loads");
        let r = crate::secure::redactor(&cfg);
        let out = r.redact("http://127.0.0.1:5000 pr0be-value-77 alice breach on v2 window=5m");
        // The base URL and who did it stay; the probe (query, body, argv) and the body's
        // free text go.
        assert_eq!(out, "http://127.0.0.1:5000 *** alice *** window=5m");
        // Kept apart from what the file's format writes out.
        assert!(!toml::to_string(&cfg).expect("toml").contains("secrets"));
    }

    #[test]
    fn redact_headers_shows_scheme_and_fingerprint_only() {
        let cfg = cfg();
        let r = crate::secure::redactor(&cfg);
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
