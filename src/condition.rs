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
        } else if let Ok(n) = rest.trim_end_matches('%').trim().parse::<f64>() {
            if !n.is_finite() {
                return Err(ConditionError::Syntax(s.to_string()));
            }
            Value::Num(n)
        } else {
            // A bare word compares as text: `!= v1`.
            Value::Str(rest.to_string())
        };
        if !matches!(op, Op::Eq | Op::Ne) && !matches!(rhs, Value::Num(_)) {
            return Err(ConditionError::OrderOnNonNumber(s.to_string()));
        }
        Ok(Condition { op, rhs })
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

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Thresholds print as written (1.5, 2, 1200), not with a display precision.
        match &self.rhs {
            Value::Str(s) => write!(f, "{} \"{}\"", self.op.symbol(), s),
            Value::Num(n) => write!(f, "{} {}", self.op.symbol(), n),
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
    fn rejects_nonsense() {
        assert!(Condition::parse("2.0").is_err());
        assert!(Condition::parse(">").is_err());
        assert!(matches!(
            Condition::parse("> true"),
            Err(ConditionError::OrderOnNonNumber(_))
        ));
    }
}
