//! Threshold conditions as written in the config: `> 2.0`, `<= 1200`, `== false`, `!= "v1"`.

use crate::sample::Value;
use serde::{Deserialize, Deserializer};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub op: Op,
    pub rhs: Value,
    /// A unit written after the number (`> 500ms`, `> 0.5s`, `> 2%`), until the loader
    /// converts the number into its signal's unit (`in_unit_of`) and clears it.
    pub unit: Option<String>,
}

/// Units a threshold may carry, each with its kind and its size in the kind's base unit.
const UNITS: &[(&str, &str, f64)] = &[
    ("ns", "time", 1e-9),
    ("us", "time", 1e-6),
    ("µs", "time", 1e-6),
    ("ms", "time", 1e-3),
    ("s", "time", 1.0),
    ("min", "time", 60.0),
    ("h", "time", 3600.0),
    ("%", "percent", 1.0),
];

fn unit_of(name: &str) -> Option<(&'static str, f64)> {
    UNITS
        .iter()
        .find(|(n, _, _)| *n == name.trim())
        .map(|(_, kind, size)| (*kind, *size))
}

/// The factor that turns a number in unit `from` into unit `to`, when they measure the
/// same thing (`s` → `ms` is 1000); None when they do not (`%` → `ms`) or one is unknown.
pub fn unit_factor(from: &str, to: &str) -> Option<f64> {
    let (fk, fs) = unit_of(from)?;
    let (tk, ts) = unit_of(to)?;
    (fk == tk).then_some(fs / ts)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("`{0}` is not a condition; write an operator and a value, e.g. `> 2.0`, `< 95`, `== false`, `!= \"v1\"`")]
    Syntax(String),
    #[error(
        "`{0}` compares order with a non-number; only `==` and `!=` work on true/false and text"
    )]
    OrderOnNonNumber(String),
}

impl Condition {
    pub fn parse(s: &str) -> Result<Self, ConditionError> {
        let t = s.trim();
        let (op, rest) = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
        ]
        .iter()
        .find_map(|(p, op)| t.strip_prefix(p).map(|r| (*op, r.trim())))
        .ok_or_else(|| ConditionError::Syntax(s.to_string()))?;
        if rest.is_empty() {
            return Err(ConditionError::Syntax(s.to_string()));
        }
        let mut unit = None;
        let rhs = if rest == "true" {
            Value::Bool(true)
        } else if rest == "false" {
            Value::Bool(false)
        } else if let Some(q) = rest
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .or_else(|| rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
        {
            Value::Str(q.to_string())
        } else if let Some((n, u)) = number_and_unit(rest) {
            if !n.is_finite() {
                return Err(ConditionError::Syntax(s.to_string()));
            }
            unit = u;
            Value::Num(n)
        } else {
            // A bare word compares as text: `!= v1`.
            Value::Str(rest.to_string())
        };
        if !matches!(op, Op::Eq | Op::Ne) && !matches!(rhs, Value::Num(_)) {
            return Err(ConditionError::OrderOnNonNumber(s.to_string()));
        }
        Ok(Condition { op, rhs, unit })
    }

    /// This condition in the unit of its signal: `> 0.5s` on a `ms` signal is `> 500`.
    /// Without a unit written, as it is. The error says why the units do not fit.
    pub fn in_unit_of(&self, signal_unit: Option<&str>) -> Result<Condition, String> {
        let Some(u) = &self.unit else {
            return Ok(self.clone());
        };
        let Value::Num(n) = self.rhs else {
            return Ok(self.clone());
        };
        let to = signal_unit.map(str::trim).filter(|s| !s.is_empty());
        match to {
            // The same unit as the signal's, whatever it is (`req/s` never converts).
            Some(t) if t == u => {}
            Some(t) => match unit_factor(u, t) {
                Some(f) => {
                    return Ok(Condition {
                        op: self.op,
                        rhs: Value::Num(n * f),
                        unit: None,
                    })
                }
                None => return Err(format!("`{u}` does not convert to the signal's unit `{t}`")),
            },
            None => {
                return Err(format!(
                    "the threshold says `{u}` but the signal has no `unit`"
                ))
            }
        }
        Ok(Condition {
            op: self.op,
            rhs: self.rhs.clone(),
            unit: None,
        })
    }

    /// Does `v` satisfy the condition? Values of another type never match an
    /// order comparison; `==`/`!=` compare numbers numerically and the rest by
    /// equality.
    pub fn holds(&self, v: &Value) -> bool {
        match (&self.rhs, v) {
            (Value::Num(r), Value::Num(x)) => match self.op {
                Op::Gt => x > r,
                Op::Ge => x >= r,
                Op::Lt => x < r,
                Op::Le => x <= r,
                Op::Eq => (x - r).abs() < f64::EPSILON * r.abs().max(1.0),
                Op::Ne => (x - r).abs() >= f64::EPSILON * r.abs().max(1.0),
            },
            (r, x) => match self.op {
                Op::Eq => r == x,
                Op::Ne => r != x,
                _ => false,
            },
        }
    }
}

/// `500ms` → (500, "ms"), `2 %` → (2, "%"), `1.5` → (1.5, none). A suffix that is not a
/// known unit is not a number: the condition then compares text (and an order on text
/// is refused).
fn number_and_unit(rest: &str) -> Option<(f64, Option<String>)> {
    if let Ok(n) = rest.parse::<f64>() {
        return Some((n, None));
    }
    let split = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .map(|(i, _)| i)?;
    let (num, unit) = rest.split_at(split);
    let n = num.trim().parse::<f64>().ok()?;
    let unit = unit.trim();
    unit_of(unit)?;
    Some((n, Some(unit.to_string())))
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Thresholds print as written (1.5, 2, 1200), not with a display precision.
        match &self.rhs {
            Value::Str(s) => write!(f, "{} \"{}\"", self.op.symbol(), s),
            Value::Num(n) => match &self.unit {
                Some(u) if u == "%" => write!(f, "{} {}%", self.op.symbol(), n),
                Some(u) => write!(f, "{} {}{}", self.op.symbol(), n, u),
                None => write!(f, "{} {}", self.op.symbol(), n),
            },
            Value::Bool(b) => write!(f, "{} {}", self.op.symbol(), b),
        }
    }
}

impl serde::Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Condition::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_evaluates() {
        let c = Condition::parse("> 2.0").unwrap();
        assert!(c.holds(&Value::Num(2.1)));
        assert!(!c.holds(&Value::Num(2.0)));
        let c = Condition::parse("<= 1200").unwrap();
        assert!(c.holds(&Value::Num(1200.0)));
        let c = Condition::parse("== false").unwrap();
        assert!(c.holds(&Value::Bool(false)));
        assert!(!c.holds(&Value::Bool(true)));
        let c = Condition::parse("!= \"v1\"").unwrap();
        assert!(c.holds(&Value::Str("v2".into())));
        assert!(!c.holds(&Value::Str("v1".into())));
        let c = Condition::parse("< 95%").unwrap();
        assert!(c.holds(&Value::Num(94.0)));
    }

    #[test]
    fn type_mismatch_never_matches_order() {
        let c = Condition::parse("> 2").unwrap();
        assert!(!c.holds(&Value::Str("5".into())));
        assert!(!c.holds(&Value::Bool(true)));
    }

    #[test]
    fn a_threshold_may_carry_a_unit_that_converts() {
        let c = Condition::parse("> 500ms").unwrap();
        assert_eq!(c.unit.as_deref(), Some("ms"));
        assert_eq!(
            c.in_unit_of(Some("ms")).unwrap(),
            Condition::parse("> 500").unwrap()
        );
        let c = Condition::parse("> 0.5s").unwrap();
        assert_eq!(
            c.in_unit_of(Some("ms")).unwrap(),
            Condition::parse("> 500").unwrap()
        );
        let c = Condition::parse("> 2%").unwrap();
        assert_eq!(
            c.in_unit_of(Some("%")).unwrap(),
            Condition::parse("> 2").unwrap()
        );
        // A percent on a latency, a time on a percent, a unit on a signal without one.
        assert!(Condition::parse("> 0.1%")
            .unwrap()
            .in_unit_of(Some("ms"))
            .is_err());
        assert!(Condition::parse("> 5s")
            .unwrap()
            .in_unit_of(Some("%"))
            .is_err());
        assert!(Condition::parse("> 5s").unwrap().in_unit_of(None).is_err());
        // No unit written: as it is, whatever the signal's.
        let c = Condition::parse("> 5").unwrap();
        assert_eq!(c.in_unit_of(Some("ms")).unwrap(), c);
        // Not a unit: text, so an order is refused.
        assert!(Condition::parse("> 5parsecs").is_err());
    }

    #[test]
    fn rejects_nonsense() {
        assert!(Condition::parse("2.0").is_err());
        assert!(Condition::parse(">").is_err());
        assert!(matches!(
            Condition::parse("> true"),
            Err(ConditionError::OrderOnNonNumber(_))
        ));
    }
}
