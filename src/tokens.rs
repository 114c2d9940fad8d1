//! Time tokens in what a poll sends: `{{now}}`, `{{now-5m}}`, `{{now+1h}}`, each with an
//! optional format after a colon — `:rfc3339` (the default), `:epoch` (seconds) or
//! `:epoch_ms`. Rendered per poll from the poll's own wall time, which the caller passes
//! in (so a test fixes it). Any other `{{…}}` is left as written.

use crate::sample::Ts;
use chrono::SecondsFormat;

/// What a config problem with a token says to do.
pub const HINT: &str = "write `{{now}}`, `{{now-5m}}` or `{{now+1h}}`, optionally with `:epoch`, `:epoch_ms` or `:rfc3339` after it, e.g. `{{now-15m:epoch}}`";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time token `{{{{{token}}}}}`: {why}")]
pub struct TokenError {
    pub token: String,
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Rfc3339,
    Epoch,
    EpochMs,
}

/// One token: an offset from the poll's time, and how to write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token {
    offset_ms: i64,
    format: Format,
}

/// `now`, `now-5m`, `now+1h:epoch`; None when `inner` is not a time token at all.
fn parse(inner: &str) -> Option<Result<Token, TokenError>> {
    let t = inner.trim();
    let rest = t.strip_prefix("now")?;
    // `{{nowhere}}` is someone else's placeholder, not a malformed token.
    if rest
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let err = |why: String| {
        Some(Err(TokenError {
            token: t.to_string(),
            why,
        }))
    };
    let (offset, format) = match rest.split_once(':') {
        Some((o, f)) => (o.trim(), Some(f.trim())),
        None => (rest.trim(), None),
    };
    let format = match format {
        None | Some("rfc3339") => Format::Rfc3339,
        Some("epoch") => Format::Epoch,
        Some("epoch_ms") => Format::EpochMs,
        Some(f) => {
            return err(format!(
                "unknown format `{f}` (use epoch, epoch_ms or rfc3339)"
            ))
        }
    };
    let offset_ms = if offset.is_empty() {
        0
    } else if !offset.starts_with(['-', '+']) {
        return err(format!("`{offset}` after `now` must start with - or +"));
    } else {
        match crate::timefmt::parse_offset(offset) {
            Ok(ms) => ms,
            Err(e) => return err(e.to_string()),
        }
    };
    Some(Ok(Token { offset_ms, format }))
}

fn write(t: Token, now: Ts) -> String {
    let at = now + chrono::Duration::milliseconds(t.offset_ms);
    match t.format {
        // `Z`, not `+00:00`: a `+` in a query string would read as a space.
        Format::Rfc3339 => at.to_rfc3339_opts(SecondsFormat::Secs, true),
        Format::Epoch => at.timestamp().to_string(),
        Format::EpochMs => at.timestamp_millis().to_string(),
    }
}

/// Walk `text`'s tokens: literal pieces and time tokens in order.
fn each(
    text: &str,
    mut f: impl FnMut(Piece<'_>) -> Result<(), TokenError>,
) -> Result<(), TokenError> {
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        let inner = &after[..close];
        match parse(inner) {
            Some(tok) => {
                f(Piece::Text(&rest[..open]))?;
                f(Piece::Token(tok?))?;
            }
            None => f(Piece::Text(&rest[..open + 2 + close + 2]))?,
        }
        rest = &after[close + 2..];
    }
    f(Piece::Text(rest))
}

enum Piece<'a> {
    Text(&'a str),
    Token(Token),
}

/// `text` with every time token written for the poll at `now`.
pub fn render(text: &str, now: Ts) -> Result<String, TokenError> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len() + 16);
    each(text, |p| {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Token(t) => out.push_str(&write(t, now)),
        }
        Ok(())
    })?;
    Ok(out)
}

/// The config check: every `{{now…}}` in `text` is well formed.
pub fn check(text: &str) -> Result<(), TokenError> {
    each(text, |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> Ts {
        chrono::Utc
            .with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn tokens_are_rendered_from_the_given_time() {
        let r = |s: &str| render(s, at()).unwrap();
        assert_eq!(r("{{now}}"), "2026-12-01T12:00:00Z");
        assert_eq!(r("{{now:rfc3339}}"), "2026-12-01T12:00:00Z");
        assert_eq!(r("{{now:epoch}}"), "1796126400");
        assert_eq!(r("{{now:epoch_ms}}"), "1796126400000");
        assert_eq!(r("{{now-5m:epoch}}"), "1796126100");
        assert_eq!(r("{{ now+1h }}"), "2026-12-01T13:00:00Z");
        assert_eq!(
            r("/q?from={{now-15m:epoch}}&to={{now:epoch}}&x=1"),
            "/q?from=1796125500&to=1796126400&x=1"
        );
        // Someone else's placeholders and stray braces stay as written.
        assert_eq!(
            r("{{service}} {{nowhere}} {{now"),
            "{{service}} {{nowhere}} {{now"
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["{{now-5}}", "{{now:iso}}", "{{now 5m}}", "{{now-}}"] {
            let e = check(bad).unwrap_err();
            assert!(e.to_string().starts_with("time token `{{now"), "{bad}: {e}");
        }
        assert!(check("{{now-90s:epoch_ms}}").is_ok());
    }
}
