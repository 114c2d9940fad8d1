//! Checks of the HTTP parts that `[[source]]` and `[action.request]` share: the URL, the
//! headers and `token_file`. A header value is never quoted: it is often a token.

use super::schema::{kp, Seg};
use super::validate::Out;
use std::collections::BTreeMap;

/// A URL that can be requested: no control character (see `url_control`), parsed, http or
/// https. `example` is the hint's sample URL.
pub(super) fn url(url: &str, at: Vec<Seg>, example: &str, out: &mut Out) {
    if url_control(url, at.clone(), out) {
        return;
    }
    match reqwest::Url::parse(url) {
        Err(e) => out.push(
            at,
            format!("`url` \"{url}\" is not a valid URL: {e}"),
            Some(format!("write a full URL, e.g. `url = \"{example}\"`")),
        ),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => out.push(
            at,
            format!(
                "`url` scheme `{}` is not supported; use http or https",
                u.scheme()
            ),
            None,
        ),
        Ok(_) => {}
    }
}

/// A control character written into a URL (a `\n` escape): a URL parser drops tabs and
/// newlines without a word, so here they are an error, reported without quoting the URL
/// (it would break the message's line). True when there was one.
fn url_control(url: &str, at: Vec<Seg>, out: &mut Out) -> bool {
    let bad = url.chars().any(char::is_control);
    if bad {
        out.push(
            at,
            "`url` has a newline or control character, which a URL must not carry (a URL parser would drop it without a word)",
            Some("remove it; a URL is one line of printable text".into()),
        );
    }
    bad
}

/// Header names and values. `base` is the table the `headers` key is in.
pub(super) fn headers(headers: &BTreeMap<String, String>, base: Vec<Seg>, out: &mut Out) {
    for (name, value) in headers {
        let mut hp = base.clone();
        hp.extend(kp!["headers", name.as_str()]);
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            out.push_key(
                hp.clone(),
                format!("`{name}` is not a valid HTTP header name"),
                Some("header names are letters, digits and `-`, e.g. `Authorization`".into()),
            );
        }
        let from = match out.written(&hp) {
            Some(w) => {
                let vars = env_refs(&w);
                if vars.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (from {})",
                        vars.iter()
                            .map(|v| format!("`${{{v}}}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            }
            None => String::new(),
        };
        let secret = crate::secrets::is_secret_header_name(name);
        if value.ends_with('\n') {
            out.push(
                hp,
                format!("the value of header `{name}`{from} ends with a newline, which an HTTP header cannot carry"),
                Some("check the variable it comes from for a trailing newline (e.g. a token pasted or read from a file with its final newline)".into()),
            );
        } else if value.chars().any(|c| c.is_control() && c != '\t') {
            out.push(
                hp,
                format!("the value of header `{name}`{from} has control characters, which an HTTP header cannot carry"),
                Some("check the variable it comes from: a token is printable text".into()),
            );
        } else if secret && credential(name, value).is_empty() {
            out.push(
                hp,
                format!("the token in header `{name}`{from} is empty"),
                Some(
                    "set the variable to the token; an empty one would be sent as no credential"
                        .into(),
                ),
            );
        } else if reqwest::header::HeaderValue::from_str(value).is_err() {
            out.push(
                hp,
                format!(
                    "the value of header `{name}`{from} has characters not allowed in HTTP headers"
                ),
                Some("header values are printable ASCII".into()),
            );
        }
    }
}

/// The credential in a secret header's value: after the scheme (`Bearer`, `Basic`…) for
/// Authorization, else the whole value; trimmed.
fn credential<'a>(name: &str, value: &'a str) -> &'a str {
    let v = value.trim();
    let auth = name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case("proxy-authorization");
    if !auth {
        return v;
    }
    match v.split_once(char::is_whitespace) {
        Some((_, rest)) => rest.trim(),
        None if AUTH_SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(v)) => "",
        None => v,
    }
}

const AUTH_SCHEMES: &[&str] = &["Bearer", "Basic", "Token", "Digest", "Negotiate", "ApiKey"];

/// The variable names in `${NAME}` / `${NAME:-default}` references of a written value.
fn env_refs(written: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = written;
    while let Some(i) = rest.find("${") {
        let body = &rest[i + 2..];
        let end = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        if end > 0 && !out.iter().any(|v: &String| v == &body[..end]) {
            out.push(body[..end].to_string());
        }
        rest = &body[end..];
    }
    out
}

/// `token_file` beside an `Authorization` header: which one is sent would be a guess.
pub(super) fn token_file(
    file: Option<&str>,
    headers: &BTreeMap<String, String>,
    base: Vec<Seg>,
    out: &mut Out,
) {
    let Some(file) = file else { return };
    let mut at = base;
    at.push(Seg::Key("token_file".into()));
    if file.trim().is_empty() {
        out.push(
            at,
            "`token_file` is empty",
            Some("give the path of a file holding the token (mode 600), or remove it".into()),
        );
        return;
    }
    if let Some(h) = headers
        .keys()
        .find(|h| h.eq_ignore_ascii_case("authorization"))
    {
        out.push(
            at,
            format!("`token_file` and an `{h}` header are both set: which credential to send is ambiguous"),
            Some(format!("keep one: `token_file` sends `Authorization: Bearer <file contents>`; or remove `token_file` and keep the `{h}` header")),
        );
    }
}
