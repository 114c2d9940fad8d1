//! The config's two kinds of length of time: a duration (`500ms`, `5s`, `15m`, `48h`) and
//! a signed offset from T0 (`-15m`, `0`, `+48h`). Their text forms, read and shown, are
//! in [`crate::timefmt`].

use crate::timefmt::{format_exact, format_offset_exact, parse_duration, parse_offset};
use serde::{de, Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// A non-negative human duration as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

/// A signed offset from T0, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Offset(pub i64);

impl Dur {
    pub fn as_ms(&self) -> i64 {
        self.0.as_millis() as i64
    }
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

// Written back in the exact form, so a recording's config reads like the file.
impl serde::Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_exact(self.0))
    }
}

impl serde::Serialize for Offset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_offset_exact(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, serde::Serialize)]
    struct T {
        d: Dur,
        o: Offset,
    }

    #[test]
    fn read_and_written_back_the_same() {
        let t: T = toml::from_str("d = \"1m30s\"\no = \"-15m\"\n").unwrap();
        assert_eq!((t.d, t.o), (Dur(Duration::from_secs(90)), Offset(-900_000)));
        assert_eq!(toml::to_string(&t).unwrap(), "d = \"90s\"\no = \"-900s\"\n");
        let t: T = toml::from_str("d = 0\no = 0\n").unwrap();
        assert_eq!((t.d, t.o), (Dur(Duration::ZERO), Offset(0)));
    }

    #[test]
    fn a_number_without_a_unit_is_refused_with_the_fix() {
        let e = toml::from_str::<T>("d = 5\no = 0\n").unwrap_err();
        assert!(
            e.message()
                .contains("`5` has no unit; write \"5s\" or \"5ms\""),
            "{e}"
        );
        let e = toml::from_str::<T>("d = 0\no = 5\n").unwrap_err();
        assert!(e.message().contains("write \"+5m\" or \"+5s\""), "{e}");
    }
}
