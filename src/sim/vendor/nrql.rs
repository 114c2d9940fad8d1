//! NRQL over the simulated system's `Transaction` events, as New Relic would answer it for the
//! profile's applications (`telemetry.apps`, by `appName`), from the simulator's history.
//!
//! A `Transaction` has `appName`, `name` (`WebTransaction/Uri/<path>`), `request.uri`,
//! `transactionType` (`Web`), `error` (true for a failed request), `httpResponseCode`
//! (`500` / `200`) and `duration` (**seconds**). An attribute it does not have is null, so
//! `WHERE appname = 'x'` (wrong case) matches nothing — as in New Relic.
//!
//! `SELECT` items: `count(*)`, `percentage(count(*), WHERE …)`, `filter(<agg>, WHERE …)`,
//! `percentile(duration, 95[, 99…])`, `average(duration)`, `max(duration)`, `min(duration)`,
//! `sum(duration)`, `rate(count(*), 1 minute)`, arithmetic between them, each with an
//! optional `AS 'name'`. Clauses: `FROM Transaction` (another event type has no data),
//! `WHERE` (`=`, `!=`, `<`, `<=`, `>`, `>=`, `IS [NOT] NULL|TRUE|FALSE`, `[NOT] IN (…)`,
//! `[NOT] LIKE '%…'`, `AND`, `OR`, `NOT`, parentheses), `FACET attr[, attr]`, `SINCE` /
//! `UNTIL` (`n minutes ago`, `now`, epoch ms or s), `LIMIT n|MAX`, `TIMESERIES [n unit|AUTO]`.
//!
//! Result keys as New Relic names them: `count`, `percentage`, `percentile.duration`
//! (`{"95": s, "99": s}`), `average.duration`, `max.duration`, `min.duration`,
//! `sum.duration`, `rate`, `filter.<agg>`; an alias replaces the key. With no matching
//! events, counts are 0 and everything else null.

use crate::sim::history::{History, Mix, Traffic};
use crate::sim::profile::ProfileSpec;
use crate::sim::telemetry::App;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A syntax error, as New Relic words it (`Error at line 1 position N, …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NrqlError(pub String);

// ---- tokens ----

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    Sym(&'static str),
}

fn lex(q: &str) -> Result<Vec<(Tok, usize)>, NrqlError> {
    let b = q.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let at = i + 1;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'\'' || c == b'`' {
            let quote = c;
            let mut s = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(syntax(at, "unterminated string")),
                    Some(&ch) if ch == quote => {
                        // '' inside '…' is a quote.
                        if quote == b'\'' && b.get(i + 1) == Some(&b'\'') {
                            s.push('\'');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    Some(_) => {
                        let ch = q[i..].chars().next().unwrap_or('\u{fffd}');
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push((
                if quote == b'`' {
                    Tok::Word(s)
                } else {
                    Tok::Str(s)
                },
                at,
            ));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            let n = q[start..i]
                .parse::<f64>()
                .map_err(|_| syntax(at, &format!("unexpected '{}'", &q[start..i])))?;
            out.push((Tok::Num(n), at));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            out.push((Tok::Word(q[start..i].to_string()), at));
        } else {
            let two = b.get(i..i + 2);
            let sym = match (c, two) {
                (_, Some(b"!=")) => "!=",
                (_, Some(b"<=")) => "<=",
                (_, Some(b">=")) => ">=",
                (b'=', _) => "=",
                (b'<', _) => "<",
                (b'>', _) => ">",
                (b'(', _) => "(",
                (b')', _) => ")",
                (b',', _) => ",",
                (b'*', _) => "*",
                (b'/', _) => "/",
                (b'+', _) => "+",
                (b'-', _) => "-",
                _ => {
                    let ch = q[i..].chars().next().unwrap_or('?');
                    return Err(syntax(at, &format!("unexpected '{ch}'")));
                }
            };
            i += sym.len();
            out.push((Tok::Sym(sym), at));
        }
    }
    Ok(out)
}

fn syntax(pos: usize, what: &str) -> NrqlError {
    NrqlError(format!("Error at line 1 position {pos}, {what}"))
}

// ---- the query ----

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Cmp(String, &'static str, Lit),
    Is(String, Lit, bool),
    In(String, Vec<Lit>, bool),
    Like(String, String, bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Agg {
    Count,
    Percentage(Box<Cond>),
    Filter(Box<Agg>, Box<Cond>),
    Percentile(Vec<f64>),
    Average,
    Max,
    Min,
    Sum,
    Rate(f64),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(f64),
    Agg(Agg),
    Bin(Box<Expr>, char, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
struct Item {
    expr: Expr,
    key: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    items: Vec<Item>,
    from: String,
    filter: Option<Cond>,
    facets: Vec<String>,
    /// Seconds before now (positive), or an absolute epoch second (negative: `-t`).
    since: Time,
    until: Time,
    limit: usize,
    timeseries: Option<Option<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Time {
    Ago(f64),
    At(f64),
}

impl Time {
    fn at(self, now_s: f64) -> f64 {
        match self {
            Time::Ago(s) => now_s - s,
            Time::At(t) => t,
        }
    }
}

struct P {
    toks: Vec<(Tok, usize)>,
    i: usize,
    len: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(t, _)| t)
    }

    fn pos(&self) -> usize {
        self.toks
            .get(self.i)
            .map(|(_, p)| *p)
            .unwrap_or(self.len + 1)
    }

    fn unexpected<T>(&self) -> Result<T, NrqlError> {
        Err(match self.toks.get(self.i) {
            Some((t, p)) => syntax(*p, &format!("unexpected '{}'", tok_text(t))),
            None => syntax(self.len + 1, "unexpected end of input"),
        })
    }

    fn kw(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if *x == s) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), NrqlError> {
        if self.sym(s) {
            Ok(())
        } else {
            self.unexpected()
        }
    }

    fn word(&mut self) -> Result<String, NrqlError> {
        match self.peek() {
            Some(Tok::Word(w)) => {
                let w = w.clone();
                self.i += 1;
                Ok(w)
            }
            _ => self.unexpected(),
        }
    }

    fn number(&mut self) -> Result<f64, NrqlError> {
        match self.peek() {
            Some(Tok::Num(n)) => {
                let n = *n;
                self.i += 1;
                Ok(n)
            }
            _ => self.unexpected(),
        }
    }

    fn query(&mut self) -> Result<Query, NrqlError> {
        if !self.kw("SELECT") {
            return self.unexpected();
        }
        let mut items = vec![self.item()?];
        while self.sym(",") {
            items.push(self.item()?);
        }
        if !self.kw("FROM") {
            return self.unexpected();
        }
        let from = self.word()?;
        let mut q = Query {
            items,
            from,
            filter: None,
            facets: Vec::new(),
            since: Time::Ago(3600.0),
            until: Time::Ago(0.0),
            limit: 10,
            timeseries: None,
        };
        while self.peek().is_some() {
            if self.kw("WHERE") {
                let c = self.cond()?;
                q.filter = Some(match q.filter.take() {
                    Some(prev) => Cond::And(Box::new(prev), Box::new(c)),
                    None => c,
                });
            } else if self.kw("FACET") {
                q.facets.push(self.word()?);
                while self.sym(",") {
                    q.facets.push(self.word()?);
                }
            } else if self.kw("SINCE") {
                q.since = self.time()?;
            } else if self.kw("UNTIL") {
                q.until = self.time()?;
            } else if self.kw("LIMIT") {
                q.limit = if self.kw("MAX") {
                    5000
                } else {
                    self.number()?.max(1.0) as usize
                };
            } else if self.kw("TIMESERIES") {
                q.timeseries = Some(if self.kw("AUTO") {
                    None
                } else if matches!(self.peek(), Some(Tok::Num(_))) {
                    let n = self.number()?;
                    Some(n * self.unit()?)
                } else {
                    None
                });
            } else {
                return self.unexpected();
            }
        }
        Ok(q)
    }

    fn unit(&mut self) -> Result<f64, NrqlError> {
        let w = self.word()?.to_ascii_lowercase();
        Ok(match w.trim_end_matches('s') {
            "second" => 1.0,
            "minute" => 60.0,
            "hour" => 3600.0,
            "day" => 86400.0,
            "week" => 604800.0,
            _ => {
                self.i -= 1;
                return self.unexpected();
            }
        })
    }

    fn time(&mut self) -> Result<Time, NrqlError> {
        if self.kw("now") {
            return Ok(Time::Ago(0.0));
        }
        let n = self.number()?;
        if matches!(self.peek(), Some(Tok::Word(_))) {
            let unit = self.unit()?;
            if !self.kw("ago") {
                return self.unexpected();
            }
            return Ok(Time::Ago(n * unit));
        }
        // An epoch: milliseconds (13 digits) or seconds.
        Ok(Time::At(if n > 100_000_000_000.0 { n / 1000.0 } else { n }))
    }

    fn item(&mut self) -> Result<Item, NrqlError> {
        let start = self.i;
        let expr = self.expr()?;
        let key = if self.kw("AS") {
            match self.peek() {
                Some(Tok::Str(s)) | Some(Tok::Word(s)) => {
                    let s = s.clone();
                    self.i += 1;
                    s
                }
                _ => return self.unexpected(),
            }
        } else {
            default_key(&expr, &self.toks[start..self.i])
        };
        Ok(Item { expr, key })
    }

    fn expr(&mut self) -> Result<Expr, NrqlError> {
        let mut left = self.term()?;
        loop {
            let op = if self.sym("+") {
                '+'
            } else if self.sym("-") {
                '-'
            } else {
                return Ok(left);
            };
            left = Expr::Bin(Box::new(left), op, Box::new(self.term()?));
        }
    }

    fn term(&mut self) -> Result<Expr, NrqlError> {
        let mut left = self.factor()?;
        loop {
            let op = if self.sym("*") {
                '*'
            } else if self.sym("/") {
                '/'
            } else {
                return Ok(left);
            };
            left = Expr::Bin(Box::new(left), op, Box::new(self.factor()?));
        }
    }

    fn factor(&mut self) -> Result<Expr, NrqlError> {
        if self.sym("(") {
            let e = self.expr()?;
            self.expect_sym(")")?;
            return Ok(e);
        }
        if let Some(Tok::Num(n)) = self.peek() {
            let n = *n;
            self.i += 1;
            return Ok(Expr::Num(n));
        }
        self.agg().map(Expr::Agg)
    }

    fn duration_arg(&mut self) -> Result<(), NrqlError> {
        let at = self.pos();
        let a = self.word()?;
        if a != "duration" {
            return Err(syntax(
                at,
                &format!(
                    "the simulator's Transaction has no numeric attribute '{a}' (use duration)"
                ),
            ));
        }
        Ok(())
    }

    fn agg(&mut self) -> Result<Agg, NrqlError> {
        let at = self.pos();
        let f = self.word()?.to_ascii_lowercase();
        self.expect_sym("(")?;
        let agg = match f.as_str() {
            "count" => {
                if !self.sym("*") {
                    self.word()?;
                }
                Agg::Count
            }
            "percentage" | "filter" => {
                let inner = self.agg()?;
                self.expect_sym(",")?;
                if !self.kw("WHERE") {
                    return self.unexpected();
                }
                let c = Box::new(self.cond()?);
                if f == "filter" {
                    Agg::Filter(Box::new(inner), c)
                } else if inner == Agg::Count {
                    Agg::Percentage(c)
                } else {
                    return Err(syntax(at, "percentage() takes count(*)"));
                }
            }
            "percentile" => {
                self.duration_arg()?;
                let mut ps = Vec::new();
                while self.sym(",") {
                    ps.push(self.number()?);
                }
                if ps.is_empty() {
                    ps.push(50.0);
                }
                Agg::Percentile(ps)
            }
            "average" | "max" | "min" | "sum" => {
                self.duration_arg()?;
                match f.as_str() {
                    "average" => Agg::Average,
                    "max" => Agg::Max,
                    "min" => Agg::Min,
                    _ => Agg::Sum,
                }
            }
            "rate" => {
                if self.agg()? != Agg::Count {
                    return Err(syntax(at, "rate() takes count(*)"));
                }
                self.expect_sym(",")?;
                let n = self.number()?;
                Agg::Rate(n * self.unit()?)
            }
            _ => return Err(NrqlError(format!("Unknown function {f}"))),
        };
        self.expect_sym(")")?;
        Ok(agg)
    }

    fn cond(&mut self) -> Result<Cond, NrqlError> {
        let mut left = self.and()?;
        while self.kw("OR") {
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, NrqlError> {
        let mut left = self.not()?;
        while self.kw("AND") {
            left = Cond::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Cond, NrqlError> {
        if self.kw("NOT") {
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        if self.sym("(") {
            let c = self.cond()?;
            self.expect_sym(")")?;
            return Ok(c);
        }
        let attr = self.word()?;
        if self.kw("IS") {
            let neg = self.kw("NOT");
            let lit = if self.kw("NULL") {
                Lit::Null
            } else if self.kw("TRUE") {
                Lit::Bool(true)
            } else if self.kw("FALSE") {
                Lit::Bool(false)
            } else {
                return self.unexpected();
            };
            return Ok(Cond::Is(attr, lit, neg));
        }
        let neg = self.kw("NOT");
        if self.kw("IN") {
            self.expect_sym("(")?;
            let mut lits = vec![self.lit()?];
            while self.sym(",") {
                lits.push(self.lit()?);
            }
            self.expect_sym(")")?;
            return Ok(Cond::In(attr, lits, neg));
        }
        if self.kw("LIKE") {
            let Lit::Str(p) = self.lit()? else {
                return self.unexpected();
            };
            return Ok(Cond::Like(attr, p, neg));
        }
        if neg {
            return self.unexpected();
        }
        let op = match self.peek() {
            Some(Tok::Sym(s)) if ["=", "!=", "<", "<=", ">", ">="].contains(s) => *s,
            _ => return self.unexpected(),
        };
        self.i += 1;
        Ok(Cond::Cmp(attr, op, self.lit()?))
    }

    fn lit(&mut self) -> Result<Lit, NrqlError> {
        let l = match self.peek() {
            Some(Tok::Str(s)) => Lit::Str(s.clone()),
            Some(Tok::Num(n)) => Lit::Num(*n),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Lit::Bool(true),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Lit::Bool(false),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Lit::Null,
            _ => return self.unexpected(),
        };
        self.i += 1;
        Ok(l)
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Word(w) => w.clone(),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Num(n) => format!("{n}"),
        Tok::Sym(s) => s.to_string(),
    }
}

fn agg_key(a: &Agg) -> String {
    match a {
        Agg::Count => "count".into(),
        Agg::Percentage(_) => "percentage".into(),
        Agg::Filter(inner, _) => format!("filter.{}", agg_key(inner)),
        Agg::Percentile(_) => "percentile.duration".into(),
        Agg::Average => "average.duration".into(),
        Agg::Max => "max.duration".into(),
        Agg::Min => "min.duration".into(),
        Agg::Sum => "sum.duration".into(),
        Agg::Rate(_) => "rate".into(),
    }
}

fn default_key(e: &Expr, toks: &[(Tok, usize)]) -> String {
    match e {
        Expr::Agg(a) => agg_key(a),
        _ => toks
            .iter()
            .map(|(t, _)| tok_text(t))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Parses one NRQL query.
pub(crate) fn parse(q: &str) -> Result<Query, NrqlError> {
    let toks = lex(q)?;
    let mut p = P {
        toks,
        i: 0,
        len: q.len(),
    };
    p.query()
}

// ---- evaluation ----

/// The requests of one endpoint of one app during one second, error or not: the unit every
/// condition is judged on.
#[derive(Debug, Clone, Copy)]
struct Events<'a> {
    app: &'a App,
    path: &'static str,
    error: bool,
    unix_s: i64,
    traffic: Traffic,
}

impl Events<'_> {
    fn attr(&self, name: &str) -> Lit {
        match name {
            "appName" => Lit::Str(self.app.newrelic.into()),
            "name" => Lit::Str(format!("WebTransaction/Uri{}", self.path)),
            "request.uri" => Lit::Str(self.path.into()),
            "transactionType" => Lit::Str("Web".into()),
            "error" => Lit::Bool(self.error),
            "httpResponseCode" | "http.statusCode" | "response.status" => {
                Lit::Str(if self.error { "500" } else { "200" }.into())
            }
            _ => Lit::Null,
        }
    }
}

fn lit_eq(a: &Lit, b: &Lit) -> bool {
    match (a, b) {
        (Lit::Str(x), Lit::Num(n)) | (Lit::Num(n), Lit::Str(x)) => {
            x.parse::<f64>().is_ok_and(|v| v == *n)
        }
        (Lit::Null, _) | (_, Lit::Null) => false,
        _ => a == b,
    }
}

fn like(s: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('%').collect();
    if parts.len() == 1 {
        return s == pattern;
    }
    let mut rest = s;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(p) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            let Some(at) = rest.find(p) else { return false };
            rest = &rest[at + p.len()..];
        }
    }
    true
}

fn holds(c: &Cond, e: &Events) -> bool {
    match c {
        Cond::And(a, b) => holds(a, e) && holds(b, e),
        Cond::Or(a, b) => holds(a, e) || holds(b, e),
        Cond::Not(a) => !holds(a, e),
        Cond::Cmp(attr, op, lit) => {
            let v = e.attr(attr);
            match *op {
                "=" => lit_eq(&v, lit),
                "!=" => !matches!(v, Lit::Null) && !lit_eq(&v, lit),
                _ => {
                    let (Lit::Str(x), Lit::Num(n)) = (&v, lit) else {
                        return false;
                    };
                    let Ok(x) = x.parse::<f64>() else {
                        return false;
                    };
                    match *op {
                        "<" => x < *n,
                        "<=" => x <= *n,
                        ">" => x > *n,
                        _ => x >= *n,
                    }
                }
            }
        }
        Cond::Is(attr, lit, neg) => {
            let v = e.attr(attr);
            let is = match lit {
                Lit::Null => matches!(v, Lit::Null),
                other => v == *other,
            };
            is != *neg
        }
        Cond::In(attr, lits, neg) => {
            let v = e.attr(attr);
            lits.iter().any(|l| lit_eq(&v, l)) != *neg
        }
        Cond::Like(attr, p, neg) => match e.attr(attr) {
            Lit::Str(s) => like(&s, p) != *neg,
            _ => false,
        },
    }
}

fn facet_value(e: &Events, attr: &str) -> Value {
    match e.attr(attr) {
        Lit::Str(s) => json!(s),
        Lit::Num(n) => json!(n),
        Lit::Bool(b) => json!(b),
        Lit::Null => Value::Null,
    }
}

fn mix_of<'a>(events: impl IntoIterator<Item = &'a Events<'a>>) -> Mix {
    let mut m = Mix::default();
    for e in events {
        m.add(&e.traffic);
    }
    m
}

fn num(v: Option<f64>) -> Value {
    v.filter(|x| x.is_finite())
        .map_or(Value::Null, |x| json!(x))
}

fn agg_value(a: &Agg, events: &[&Events], span_s: f64) -> Value {
    let secs = |v: Option<f64>| num(v.map(|ms| ms / 1000.0));
    let mix = || mix_of(events.iter().copied());
    match a {
        Agg::Count => json!(mix().hits()),
        Agg::Percentage(c) => {
            let all = mix().hits();
            let yes = mix_of(events.iter().copied().filter(|e| holds(c, e))).hits();
            num((all > 0.0).then(|| yes / all * 100.0))
        }
        Agg::Filter(inner, c) => {
            let kept: Vec<&Events> = events.iter().copied().filter(|e| holds(c, e)).collect();
            agg_value(inner, &kept, span_s)
        }
        Agg::Percentile(ps) => {
            let m = mix();
            let mut o = Map::new();
            for p in ps {
                o.insert(fmt_pct(*p), secs(m.quantile_ms(p / 100.0)));
            }
            Value::Object(o)
        }
        Agg::Average => secs(mix().mean_ms()),
        Agg::Max => secs(mix().max_ms()),
        Agg::Min => secs(mix().min_ms()),
        Agg::Sum => {
            let m = mix();
            json!(m.mean_ms().map_or(0.0, |ms| ms / 1000.0 * m.hits()))
        }
        Agg::Rate(per) => num((span_s > 0.0).then(|| mix().hits() / span_s * per)),
    }
}

fn fmt_pct(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{}", p as i64)
    } else {
        format!("{p}")
    }
}

fn scalar(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Object(o) => o.values().next().and_then(Value::as_f64),
        _ => None,
    }
}

fn expr_value(e: &Expr, events: &[&Events], span_s: f64) -> Value {
    match e {
        Expr::Num(n) => json!(n),
        Expr::Agg(a) => agg_value(a, events, span_s),
        Expr::Bin(a, op, b) => {
            let (x, y) = (
                scalar(&expr_value(a, events, span_s)),
                scalar(&expr_value(b, events, span_s)),
            );
            num(x.zip(y).and_then(|(x, y)| match op {
                '+' => Some(x + y),
                '-' => Some(x - y),
                '*' => Some(x * y),
                _ => (y != 0.0).then(|| x / y),
            }))
        }
    }
}

fn row(q: &Query, events: &[&Events], span_s: f64) -> Map<String, Value> {
    let mut o = Map::new();
    for it in &q.items {
        o.insert(it.key.clone(), expr_value(&it.expr, events, span_s));
    }
    o
}

/// The query's `results`, on the history up to `now_ms`.
pub(crate) fn run(q: &Query, spec: &ProfileSpec, h: &History, now_ms: u64) -> Vec<Value> {
    let now_s = now_ms as f64 / 1000.0;
    let (since, until) = (q.since.at(now_s), q.until.at(now_s).min(now_s + 1.0));
    let mut events: Vec<Events> = Vec::new();
    if q.from == "Transaction" {
        for s in h.range(since, until.max(since)) {
            for app in spec.telemetry.apps {
                for &i in app.endpoints {
                    let (Some(t), Some(ep)) = (s.endpoints.get(i), spec.endpoints.get(i)) else {
                        continue;
                    };
                    for (error, traffic) in [
                        (true, t.with_counts(t.errors, t.errors)),
                        (false, t.with_counts(t.hits - t.errors, 0.0)),
                    ] {
                        events.push(Events {
                            app,
                            path: ep.path,
                            error,
                            unix_s: s.unix_s,
                            traffic,
                        });
                    }
                }
            }
        }
    }
    let kept: Vec<&Events> = events
        .iter()
        .filter(|e| q.filter.as_ref().is_none_or(|c| holds(c, e)))
        .collect();
    let span = (until - since).max(0.0);
    let buckets: Vec<(f64, f64)> = match q.timeseries {
        None => vec![(since, until)],
        Some(step) => {
            let step = step.unwrap_or_else(|| (span / 60.0).max(1.0).ceil());
            let mut b = Vec::new();
            let mut t = (since / step).floor() * step;
            while t < until {
                b.push((t, t + step));
                t += step;
            }
            b
        }
    };
    let in_bucket = |e: &&Events, (lo, hi): (f64, f64)| {
        let t = e.unix_s as f64;
        t >= lo.floor() && t < hi
    };
    let stamp = |o: &mut Map<String, Value>, (lo, hi): (f64, f64)| {
        if q.timeseries.is_some() {
            o.insert("beginTimeSeconds".into(), json!(lo as i64));
            o.insert("endTimeSeconds".into(), json!(hi as i64));
        }
    };
    if q.facets.is_empty() {
        return buckets
            .iter()
            .map(|&bk| {
                let evs: Vec<&Events> = kept.iter().copied().filter(|e| in_bucket(e, bk)).collect();
                let mut o = row(q, &evs, bk.1 - bk.0);
                stamp(&mut o, bk);
                Value::Object(o)
            })
            .collect();
    }
    let mut groups: BTreeMap<String, (Vec<Value>, Vec<&Events>)> = BTreeMap::new();
    for e in &kept {
        let vals: Vec<Value> = q.facets.iter().map(|f| facet_value(e, f)).collect();
        let key = Value::Array(vals.clone()).to_string();
        groups
            .entry(key)
            .or_insert_with(|| (vals, Vec::new()))
            .1
            .push(e);
    }
    let mut rows: Vec<(f64, Vec<Value>)> = groups
        .into_values()
        .map(|(vals, evs)| {
            let first = q
                .items
                .first()
                .map(|it| scalar(&expr_value(&it.expr, &evs, span)).unwrap_or(0.0))
                .unwrap_or(0.0);
            let out = buckets
                .iter()
                .map(|&bk| {
                    let in_b: Vec<&Events> =
                        evs.iter().copied().filter(|e| in_bucket(e, bk)).collect();
                    let mut o = row(q, &in_b, bk.1 - bk.0);
                    o.insert(
                        "facet".into(),
                        if vals.len() == 1 {
                            vals[0].clone()
                        } else {
                            Value::Array(vals.clone())
                        },
                    );
                    for (f, v) in q.facets.iter().zip(&vals) {
                        o.insert(f.clone(), v.clone());
                    }
                    stamp(&mut o, bk);
                    Value::Object(o)
                })
                .collect();
            (first, out)
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    rows.into_iter()
        .take(q.limit)
        .flat_map(|(_, r)| r)
        .collect()
}
