//! Human durations (`500ms`, `5s`, `15m`, `48h`) and signed timeline offsets (`-15m`, `0`, `+48h`).

use serde::{de, Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// A non-negative human duration as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

/// A signed offset from T0, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Offset(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a duration; write a number and a unit, e.g. `500ms`, `5s`, `15m`, `48h`")]
pub struct DurationError {
    pub input: String,
}

/// Parses `500ms`, `5s`, `1m30s`, `15m`, `48h`, `2d`. A bare `0` is allowed.
///
/// ```
/// use std::time::Duration;
/// use warroom::config::duration::parse_duration;
/// assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
/// assert!(parse_duration("5 parsecs").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let err = || DurationError {
        input: s.to_string(),
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(err());
    }
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total_ms: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if num_end == 0 {
            return Err(err());
        }
        let num: f64 = rest[..num_end].parse().map_err(|_| err())?;
        let after = &rest[num_end..];
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let unit = &after[..unit_end];
        let mult: f64 = match unit {
            "ms" => 1.0,
            "s" | "sec" | "secs" => 1_000.0,
            "m" | "min" | "mins" => 60_000.0,
            "h" | "hr" | "hrs" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return Err(err()),
        };
        let ms = num * mult;
        if !ms.is_finite() || !(0.0..=1e15).contains(&ms) {
            return Err(err());
        }
        total_ms += ms.round() as u128;
        rest = &after[unit_end..];
    }
    Ok(Duration::from_millis(total_ms as u64))
}

/// Parses a signed offset: `-15m`, `+30m`, `0`, `48h` (unsigned means after T0).
pub fn parse_offset(s: &str) -> Result<i64, DurationError> {
    let t = s.trim();
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1i64, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let d = parse_duration(body).map_err(|_| DurationError {
        input: s.to_string(),
    })?;
    Ok(sign * d.as_millis() as i64)
}

/// `5s`, `1m30s`, `2h`, `450ms`: the short form used on screen and in messages.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    match s {
        0..=59 if !ms.is_multiple_of(1000) => format!("{:.1}s", ms as f64 / 1000.0),
        0..=59 => format!("{s}s"),
        60..=3599 if s.is_multiple_of(60) => format!("{}m", s / 60),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A span of wall time in whole seconds (`1m12s`), for "in band for …" texts.
pub fn format_span(d: chrono::Duration) -> String {
    match d.num_seconds().max(0) {
        0 => "0s".into(),
        s => format_duration(Duration::from_secs(s as u64)),
    }
}

/// `-15m`, `+1h30m`, `T0` style offsets for the timeline.
pub fn format_offset(ms: i64) -> String {
    if ms == 0 {
        return "0".into();
    }
    let sign = if ms < 0 { "-" } else { "+" };
    format!(
        "{sign}{}",
        format_duration(Duration::from_millis(ms.unsigned_abs()))
    )
}

struct DurVisitor;
impl de::Visitor<'_> for DurVisitor {
    type Value = Duration;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a duration such as \"500ms\", \"5s\", \"15m\" or \"48h\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse_duration(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        if v == 0 {
            Ok(Duration::ZERO)
        } else {
            Err(E::custom(format!(
                "`{v}` has no unit; write \"{v}s\" or \"{v}ms\""
            )))
        }
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurVisitor).map(Dur)
    }
}

struct OffsetVisitor;
impl de::Visitor<'_> for OffsetVisitor {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an offset from T0 such as \"-15m\", \"0\", \"+30m\" or \"+48h\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        parse_offset(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        if v == 0 {
            Ok(0)
        } else {
            Err(E::custom(format!(
                "`{v}` has no unit; write \"{v:+}m\" or \"{v:+}s\""
            )))
        }
    }
}

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OffsetVisitor).map(Offset)
    }
}

// Written back as the human form, so a recording's config reads like the file.
impl serde::Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ms = self.0.as_millis();
        s.serialize_str(&if ms.is_multiple_of(1000) {
            format!("{}s", ms / 1000)
        } else {
            format!("{ms}ms")
        })
    }
}

impl serde::Serialize for Offset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sign = if self.0 < 0 { "-" } else { "+" };
        let ms = self.0.unsigned_abs();
        s.serialize_str(&if ms.is_multiple_of(1000) {
            format!("{sign}{}s", ms / 1000)
        } else {
            format!("{sign}{ms}ms")
        })
    }
}

impl Dur {
    pub fn as_ms(&self) -> i64 {
        self.0.as_millis() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_human_durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(
            parse_duration("48h").unwrap(),
            Duration::from_secs(48 * 3600)
        );
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
    }

    #[test]
    fn rejects_bad_durations() {
        for bad in ["", "5", "s", "5 parsecs", "-5s", "5x", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn parses_offsets() {
        assert_eq!(parse_offset("-15m").unwrap(), -900_000);
        assert_eq!(parse_offset("+30m").unwrap(), 1_800_000);
        assert_eq!(parse_offset("0").unwrap(), 0);
        assert_eq!(parse_offset("48h").unwrap(), 48 * 3_600_000);
    }

    #[test]
    fn formats_short_forms() {
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_offset(-900_000), "-15m");
        assert_eq!(format_offset(0), "0");
    }
}
