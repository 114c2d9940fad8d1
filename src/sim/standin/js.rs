//! The JavaScript `mongosh --eval` runs, enough for the checks a runbook writes: `const`/`let`
//! declarations, expressions (arithmetic, comparison, `&& || ?? !`, `?:`, member access,
//! `?.`, indexing, calls, array and object literals, arrow functions), `print`,
//! `console.log`, `printjson`, `JSON.stringify/parse`, `EJSON.stringify`, `Math.*`,
//! `Object.keys/values/entries`, array and string methods, and the shell's `db`:
//! `db.<coll>.countDocuments/count/estimatedDocumentCount/find/findOne/aggregate/distinct`,
//! cursors (`toArray itcount count size limit skip sort next hasNext map`),
//! `db.getSiblingDB(name)`. Writes are refused as a read-only user is (`MongoServerError: not
//! authorized …`). The value of the last statement is printed, as mongosh does.

use super::mquery;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsError {
    pub name: &'static str,
    pub message: String,
}

fn err<T>(name: &'static str, message: impl Into<String>) -> Result<T, JsError> {
    Err(JsError {
        name,
        message: message.into(),
    })
}

/// What the script can reach outside itself.
pub(crate) trait Host {
    /// A collection's documents; an unknown collection is empty.
    fn documents(&mut self, db: &str, coll: &str) -> Result<Vec<Value>, JsError>;
    fn collection_names(&mut self, db: &str) -> Result<Vec<String>, JsError>;
    fn print(&mut self, line: &str);
    fn warn(&mut self, line: &str);
}

// ---- tokens ----

#[derive(Debug, Clone, PartialEq)]
enum T {
    Num(f64),
    Str(String),
    Id(String),
    P(&'static str),
}

const PUNCT: [&str; 33] = [
    "===", "!==", "...", "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "{", "}", "(", ")",
    "[", "]", ";", ",", ".", "?", ":", "<", ">", "!", "+", "-", "*", "/", "%", "=", "`",
];

fn lex(src: &str) -> Result<Vec<(T, usize)>, JsError> {
    let cs: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        let at = i;
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && cs.get(i + 1) == Some(&'/') {
            while i < cs.len() && cs[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && cs.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < cs.len() && !(cs[i] == '*' && cs[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' || c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match cs.get(i) {
                    None | Some('\n') => {
                        return err(
                            "SyntaxError",
                            format!("Unterminated string constant. ({at})"),
                        )
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        let e = cs.get(i + 1).copied().unwrap_or('\\');
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            other => other,
                        });
                        i += 2;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            out.push((T::Str(s), at));
        } else if c.is_ascii_digit()
            || (c == '.' && cs.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.' || cs[i] == 'e') {
                i += 1;
            }
            let t: String = cs[start..i].iter().collect();
            let n = t
                .parse::<f64>()
                .or_else(|_| err("SyntaxError", format!("Invalid number {t}")))?;
            out.push((T::Num(n), at));
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_' || cs[i] == '$') {
                i += 1;
            }
            out.push((T::Id(cs[start..i].iter().collect()), at));
        } else {
            let rest: String = cs[i..cs.len().min(i + 3)].iter().collect();
            let Some(p) = PUNCT.iter().find(|p| rest.starts_with(**p)) else {
                return err("SyntaxError", format!("Unexpected character '{c}' ({at})"));
            };
            if *p == "`" {
                return err(
                    "SyntaxError",
                    "template literals are not supported by the stand-in",
                );
            }
            i += p.chars().count();
            out.push((T::P(p), at));
        }
    }
    Ok(out)
}

// ---- syntax ----

#[derive(Debug, Clone)]
enum E {
    Lit(V),
    Id(String),
    Arr(Vec<E>),
    Obj(Vec<(String, E)>),
    Member(Box<E>, String, bool),
    Index(Box<E>, Box<E>, bool),
    Call(Box<E>, Vec<E>),
    Unary(&'static str, Box<E>),
    Bin(&'static str, Box<E>, Box<E>),
    Cond(Box<E>, Box<E>, Box<E>),
    Arrow(Rc<Func>),
}

#[derive(Debug, Clone)]
enum S {
    Decl(String, E),
    Expr(E),
    Return(E),
}

#[derive(Debug, Clone)]
pub(crate) struct Func {
    params: Vec<String>,
    body: Vec<S>,
}

struct P {
    t: Vec<(T, usize)>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&T> {
        self.t.get(self.i).map(|x| &x.0)
    }

    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Some(T::P(x)) if *x == p)
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.is(p) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(T::Id(x)) if x == k)
    }

    fn unexpected<X>(&self) -> Result<X, JsError> {
        match self.t.get(self.i) {
            Some((t, at)) => err(
                "SyntaxError",
                format!(
                    "Unexpected token {} ({at})",
                    match t {
                        T::Num(n) => n.to_string(),
                        T::Str(s) => format!("'{s}'"),
                        T::Id(s) => s.clone(),
                        T::P(p) => p.to_string(),
                    }
                ),
            ),
            None => err("SyntaxError", "Unexpected end of input"),
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), JsError> {
        if self.eat(p) {
            Ok(())
        } else {
            self.unexpected()
        }
    }

    fn program(&mut self) -> Result<Vec<S>, JsError> {
        let mut out = Vec::new();
        while self.peek().is_some() {
            if self.eat(";") {
                continue;
            }
            out.push(self.statement()?);
        }
        Ok(out)
    }

    fn statement(&mut self) -> Result<S, JsError> {
        if self.kw("const") || self.kw("let") || self.kw("var") {
            self.i += 1;
            let Some(T::Id(name)) = self.peek().cloned() else {
                return self.unexpected();
            };
            self.i += 1;
            self.expect("=")?;
            let e = self.expr()?;
            self.eat(";");
            return Ok(S::Decl(name, e));
        }
        if self.kw("return") {
            self.i += 1;
            let e = self.expr()?;
            self.eat(";");
            return Ok(S::Return(e));
        }
        let e = self.expr()?;
        self.eat(";");
        Ok(S::Expr(e))
    }

    fn expr(&mut self) -> Result<E, JsError> {
        let c = self.binary(0)?;
        if self.eat("?") {
            let a = self.expr()?;
            self.expect(":")?;
            let b = self.expr()?;
            return Ok(E::Cond(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }

    fn binary(&mut self, level: usize) -> Result<E, JsError> {
        const LEVELS: [&[&str]; 7] = [
            &["??"],
            &["||"],
            &["&&"],
            &["===", "!==", "==", "!="],
            &["<=", ">=", "<", ">"],
            &["+", "-"],
            &["*", "/", "%"],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut l = self.binary(level + 1)?;
        loop {
            let Some(op) = LEVELS[level].iter().find(|o| self.is(o)).copied() else {
                return Ok(l);
            };
            self.i += 1;
            let r = self.binary(level + 1)?;
            l = E::Bin(op, Box::new(l), Box::new(r));
        }
    }

    fn unary(&mut self) -> Result<E, JsError> {
        for op in ["!", "-", "+"] {
            if self.eat(op) {
                return Ok(E::Unary(op, Box::new(self.unary()?)));
            }
        }
        if self.kw("typeof") {
            self.i += 1;
            return Ok(E::Unary("typeof", Box::new(self.unary()?)));
        }
        let p = self.primary()?;
        self.postfix(p)
    }

    fn postfix(&mut self, mut e: E) -> Result<E, JsError> {
        loop {
            if self.eat(".") || self.is("?.") {
                let opt = self.eat("?.");
                if opt && self.is("(") {
                    // `f?.()`: treated as a plain call.
                    continue;
                }
                if opt && self.eat("[") {
                    let i = self.expr()?;
                    self.expect("]")?;
                    e = E::Index(Box::new(e), Box::new(i), true);
                    continue;
                }
                let Some(T::Id(name)) = self.peek().cloned() else {
                    return self.unexpected();
                };
                self.i += 1;
                e = E::Member(Box::new(e), name, opt);
            } else if self.eat("[") {
                let i = self.expr()?;
                self.expect("]")?;
                e = E::Index(Box::new(e), Box::new(i), false);
            } else if self.eat("(") {
                let mut args = Vec::new();
                while !self.eat(")") {
                    args.push(self.expr()?);
                    if !self.is(")") {
                        self.expect(",")?;
                    }
                }
                e = E::Call(Box::new(e), args);
            } else {
                return Ok(e);
            }
        }
    }

    /// Whether the `(` at `self.i` opens an arrow function's parameters.
    fn arrow_ahead(&self) -> bool {
        let mut depth = 0;
        for (k, (t, _)) in self.t.iter().enumerate().skip(self.i) {
            match t {
                T::P("(") => depth += 1,
                T::P(")") => {
                    depth -= 1;
                    if depth == 0 {
                        return matches!(self.t.get(k + 1), Some((T::P("=>"), _)));
                    }
                }
                _ => {}
            }
        }
        false
    }

    fn arrow_body(&mut self, params: Vec<String>) -> Result<E, JsError> {
        let body = if self.eat("{") {
            let mut stmts = Vec::new();
            while !self.eat("}") {
                if self.eat(";") {
                    continue;
                }
                stmts.push(self.statement()?);
            }
            stmts
        } else {
            vec![S::Return(self.expr()?)]
        };
        Ok(E::Arrow(Rc::new(Func { params, body })))
    }

    fn primary(&mut self) -> Result<E, JsError> {
        let Some(tok) = self.peek().cloned() else {
            return self.unexpected();
        };
        match tok {
            T::Num(n) => {
                self.i += 1;
                Ok(E::Lit(V::Num(n)))
            }
            T::Str(s) => {
                self.i += 1;
                Ok(E::Lit(V::Str(s)))
            }
            T::Id(id) => {
                self.i += 1;
                if self.eat("=>") {
                    return self.arrow_body(vec![id]);
                }
                Ok(match id.as_str() {
                    "true" => E::Lit(V::Bool(true)),
                    "false" => E::Lit(V::Bool(false)),
                    "null" => E::Lit(V::Null),
                    "undefined" => E::Lit(V::Undef),
                    "NaN" => E::Lit(V::Num(f64::NAN)),
                    "Infinity" => E::Lit(V::Num(f64::INFINITY)),
                    _ => E::Id(id),
                })
            }
            T::P("(") => {
                if self.arrow_ahead() {
                    self.i += 1;
                    let mut params = Vec::new();
                    while !self.eat(")") {
                        let Some(T::Id(p)) = self.peek().cloned() else {
                            return self.unexpected();
                        };
                        self.i += 1;
                        params.push(p);
                        if !self.is(")") {
                            self.expect(",")?;
                        }
                    }
                    self.expect("=>")?;
                    return self.arrow_body(params);
                }
                self.i += 1;
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            T::P("[") => {
                self.i += 1;
                let mut items = Vec::new();
                while !self.eat("]") {
                    items.push(self.expr()?);
                    if !self.is("]") {
                        self.expect(",")?;
                    }
                }
                Ok(E::Arr(items))
            }
            T::P("{") => {
                self.i += 1;
                let mut fields = Vec::new();
                while !self.eat("}") {
                    let key = match self.peek().cloned() {
                        Some(T::Id(k)) | Some(T::Str(k)) => k,
                        Some(T::Num(n)) => js_num(n),
                        _ => return self.unexpected(),
                    };
                    self.i += 1;
                    let value = if self.eat(":") {
                        self.expr()?
                    } else {
                        E::Id(key.clone())
                    };
                    fields.push((key, value));
                    if !self.is("}") {
                        self.expect(",")?;
                    }
                }
                Ok(E::Obj(fields))
            }
            _ => self.unexpected(),
        }
    }
}

fn parse(src: &str) -> Result<Vec<S>, JsError> {
    let t = lex(src)?;
    P { t, i: 0 }.program()
}

// ---- values ----

#[derive(Debug, Clone)]
pub(crate) enum V {
    Undef,
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<V>),
    Obj(Vec<(String, V)>),
    Db(String),
    Coll(String, String),
    Cursor(Vec<V>),
    Func(Rc<Func>, Rc<Scope>),
    Native(&'static str),
    Method(Box<V>, String),
}

/// A number as JavaScript prints it.
pub(crate) fn js_num(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{}", n as i128)
    } else {
        format!("{n}")
    }
}

impl V {
    pub fn from_json(v: &Value) -> V {
        match v {
            Value::Null => V::Null,
            Value::Bool(b) => V::Bool(*b),
            Value::Number(n) => V::Num(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => V::Str(s.clone()),
            Value::Array(a) => V::Arr(a.iter().map(V::from_json).collect()),
            Value::Object(o) => V::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), V::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// As JSON (`undefined` members left out; NaN and infinities null).
    pub fn to_json(&self) -> Option<Value> {
        Some(match self {
            V::Undef | V::Func(..) | V::Native(_) | V::Method(..) => return None,
            V::Null => Value::Null,
            V::Bool(b) => json!(b),
            V::Num(n) if !n.is_finite() => Value::Null,
            V::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => json!(*n as i64),
            V::Num(n) => json!(n),
            V::Str(s) => json!(s),
            V::Arr(a) | V::Cursor(a) => Value::Array(
                a.iter()
                    .map(|x| x.to_json().unwrap_or(Value::Null))
                    .collect(),
            ),
            V::Obj(o) => {
                let mut m = Map::new();
                for (k, v) in o {
                    if let Some(j) = v.to_json() {
                        m.insert(k.clone(), j);
                    }
                }
                Value::Object(m)
            }
            V::Db(name) => json!(name),
            V::Coll(db, c) => json!(format!("{db}.{c}")),
        })
    }

    fn truthy(&self) -> bool {
        match self {
            V::Undef | V::Null => false,
            V::Bool(b) => *b,
            V::Num(n) => *n != 0.0 && !n.is_nan(),
            V::Str(s) => !s.is_empty(),
            _ => true,
        }
    }

    fn number(&self) -> f64 {
        match self {
            V::Undef => f64::NAN,
            V::Null => 0.0,
            V::Bool(b) => f64::from(u8::from(*b)),
            V::Num(n) => *n,
            V::Str(s) if s.trim().is_empty() => 0.0,
            V::Str(s) => s.trim().parse().unwrap_or(f64::NAN),
            V::Arr(a) if a.is_empty() => 0.0,
            V::Arr(a) if a.len() == 1 => a[0].number(),
            _ => f64::NAN,
        }
    }

    /// `String(v)`.
    fn string(&self) -> String {
        match self {
            V::Undef => "undefined".into(),
            V::Null => "null".into(),
            V::Bool(b) => b.to_string(),
            V::Num(n) => js_num(*n),
            V::Str(s) => s.clone(),
            V::Arr(a) => a
                .iter()
                .map(|x| match x {
                    V::Undef | V::Null => String::new(),
                    other => other.string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            V::Obj(_) => "[object Object]".into(),
            other => inspect(other),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            V::Undef => "undefined",
            V::Bool(_) => "boolean",
            V::Num(_) => "number",
            V::Str(_) => "string",
            V::Func(..) | V::Native(_) | V::Method(..) => "function",
            _ => "object",
        }
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn key_text(k: &str) -> String {
    let plain = k
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && k.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    if plain {
        k.to_string()
    } else {
        quote(k)
    }
}

/// How mongosh shows a value (`{ duplicates: 0, ok: 'yes' }`, broken over lines when long).
pub(crate) fn inspect(v: &V) -> String {
    inspect_at(v, 0)
}

fn inspect_at(v: &V, indent: usize) -> String {
    let parts: Vec<String> = match v {
        V::Str(s) => return quote(s),
        V::Arr(a) | V::Cursor(a) => {
            if a.is_empty() {
                return "[]".into();
            }
            a.iter().map(|x| inspect_at(x, indent + 2)).collect()
        }
        V::Obj(o) => {
            if o.is_empty() {
                return "{}".into();
            }
            o.iter()
                .map(|(k, x)| format!("{}: {}", key_text(k), inspect_at(x, indent + 2)))
                .collect()
        }
        V::Db(name) => return name.clone(),
        V::Coll(db, c) => return format!("{db}.{c}"),
        V::Func(..) | V::Native(_) | V::Method(..) => return "[Function (anonymous)]".into(),
        other => return other.string(),
    };
    let (open, close) = if matches!(v, V::Obj(_)) {
        ("{", "}")
    } else {
        ("[", "]")
    };
    let one = format!("{open} {} {close}", parts.join(", "));
    if one.len() + indent <= 72 && !one.contains('\n') {
        return one;
    }
    let pad = " ".repeat(indent + 2);
    format!(
        "{open}\n{}\n{}{close}",
        parts
            .iter()
            .map(|p| format!("{pad}{p}"))
            .collect::<Vec<_>>()
            .join(",\n"),
        " ".repeat(indent)
    )
}

// ---- evaluation ----

#[derive(Debug, Default)]
pub(crate) struct Scope {
    vars: std::cell::RefCell<HashMap<String, V>>,
    parent: Option<Rc<Scope>>,
}

impl Scope {
    fn get(&self, k: &str) -> Option<V> {
        if let Some(v) = self.vars.borrow().get(k) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.get(k))
    }

    fn set(&self, k: &str, v: V) {
        self.vars.borrow_mut().insert(k.to_string(), v);
    }
}

pub(crate) struct Interp<'h> {
    pub host: &'h mut dyn Host,
    /// The database `db` is.
    pub db: Option<String>,
    steps: usize,
}

const MAX_STEPS: usize = 5_000_000;

const WRITES: [&str; 14] = [
    "insertOne",
    "insertMany",
    "insert",
    "updateOne",
    "updateMany",
    "update",
    "replaceOne",
    "deleteOne",
    "deleteMany",
    "remove",
    "drop",
    "findOneAndUpdate",
    "findOneAndDelete",
    "bulkWrite",
];

impl<'h> Interp<'h> {
    pub fn new(host: &'h mut dyn Host, db: Option<String>) -> Self {
        Interp { host, db, steps: 0 }
    }

    /// Runs a script; the value of its last statement.
    pub fn run(&mut self, src: &str) -> Result<V, JsError> {
        let prog = parse(src)?;
        let scope = Rc::new(Scope::default());
        let mut last = V::Undef;
        for s in &prog {
            last = match s {
                S::Decl(n, e) => {
                    let v = self.eval(e, &scope)?;
                    scope.set(n, v);
                    V::Undef
                }
                S::Expr(e) => self.eval(e, &scope)?,
                S::Return(_) => return err("SyntaxError", "Illegal return statement"),
            };
        }
        Ok(last)
    }

    fn tick(&mut self) -> Result<(), JsError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return err(
                "MongoshInternalError",
                "the script ran too long for the stand-in",
            );
        }
        Ok(())
    }

    fn eval(&mut self, e: &E, sc: &Rc<Scope>) -> Result<V, JsError> {
        self.tick()?;
        match e {
            E::Lit(v) => Ok(v.clone()),
            E::Id(name) => self.lookup(name, sc),
            E::Arr(items) => Ok(V::Arr(
                items
                    .iter()
                    .map(|x| self.eval(x, sc))
                    .collect::<Result<_, _>>()?,
            )),
            E::Obj(fields) => {
                let mut out: Vec<(String, V)> = Vec::new();
                for (k, x) in fields {
                    let v = self.eval(x, sc)?;
                    match out.iter_mut().find(|(n, _)| n == k) {
                        Some(slot) => slot.1 = v,
                        None => out.push((k.clone(), v)),
                    }
                }
                Ok(V::Obj(out))
            }
            E::Member(obj, name, opt) => {
                let o = self.eval(obj, sc)?;
                if *opt && matches!(o, V::Undef | V::Null) {
                    return Ok(V::Undef);
                }
                self.member(o, name)
            }
            E::Index(obj, idx, opt) => {
                let o = self.eval(obj, sc)?;
                if *opt && matches!(o, V::Undef | V::Null) {
                    return Ok(V::Undef);
                }
                let i = self.eval(idx, sc)?;
                let key = match &i {
                    V::Num(n) => js_num(*n),
                    other => other.string(),
                };
                self.member(o, &key)
            }
            E::Call(callee, args) => {
                let f = self.eval(callee, sc)?;
                let a: Vec<V> = args
                    .iter()
                    .map(|x| self.eval(x, sc))
                    .collect::<Result<_, _>>()?;
                self.call(f, a)
            }
            E::Unary(op, x) => {
                let v = self.eval(x, sc)?;
                Ok(match *op {
                    "!" => V::Bool(!v.truthy()),
                    "-" => V::Num(-v.number()),
                    "+" => V::Num(v.number()),
                    _ => V::Str(v.type_name().into()),
                })
            }
            E::Bin(op, a, b) => {
                let l = self.eval(a, sc)?;
                match *op {
                    "&&" if !l.truthy() => return Ok(l),
                    "||" if l.truthy() => return Ok(l),
                    "??" if !matches!(l, V::Undef | V::Null) => return Ok(l),
                    "&&" | "||" | "??" => return self.eval(b, sc),
                    _ => {}
                }
                let r = self.eval(b, sc)?;
                Ok(binop(op, &l, &r))
            }
            E::Cond(c, a, b) => {
                if self.eval(c, sc)?.truthy() {
                    self.eval(a, sc)
                } else {
                    self.eval(b, sc)
                }
            }
            E::Arrow(f) => Ok(V::Func(f.clone(), sc.clone())),
        }
    }

    fn lookup(&mut self, name: &str, sc: &Rc<Scope>) -> Result<V, JsError> {
        if let Some(v) = sc.get(name) {
            return Ok(v);
        }
        Ok(match name {
            "db" => match &self.db {
                Some(d) => V::Db(d.clone()),
                None => return err("ReferenceError", "db is not defined"),
            },
            "JSON" => V::Native("JSON"),
            "EJSON" => V::Native("EJSON"),
            "Math" => V::Native("Math"),
            "Object" => V::Native("Object"),
            "console" => V::Native("console"),
            "print" => V::Native("print"),
            "printjson" => V::Native("printjson"),
            "Number" => V::Native("Number"),
            "String" => V::Native("String"),
            "parseInt" => V::Native("parseInt"),
            "parseFloat" => V::Native("parseFloat"),
            _ => return err("ReferenceError", format!("{name} is not defined")),
        })
    }

    fn member(&mut self, o: V, name: &str) -> Result<V, JsError> {
        Ok(match o {
            V::Undef | V::Null => {
                return err(
                    "TypeError",
                    format!(
                        "Cannot read properties of {} (reading '{name}')",
                        o.string()
                    ),
                )
            }
            V::Obj(fields) => fields
                .into_iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
                .unwrap_or(V::Undef),
            V::Arr(a) => match name {
                "length" => V::Num(a.len() as f64),
                n => match n.parse::<usize>() {
                    Ok(i) => a.get(i).cloned().unwrap_or(V::Undef),
                    Err(_) => V::Method(Box::new(V::Arr(a)), n.to_string()),
                },
            },
            V::Str(s) => match name {
                "length" => V::Num(s.chars().count() as f64),
                n => match n.parse::<usize>() {
                    Ok(i) => s
                        .chars()
                        .nth(i)
                        .map(|c| V::Str(c.to_string()))
                        .unwrap_or(V::Undef),
                    Err(_) => V::Method(Box::new(V::Str(s)), n.to_string()),
                },
            },
            V::Num(_) | V::Bool(_) => V::Method(Box::new(o), name.to_string()),
            V::Db(db) => match name {
                "getSiblingDB" | "getName" | "getCollection" | "getCollectionNames"
                | "runCommand" | "adminCommand" => V::Method(Box::new(V::Db(db)), name.into()),
                coll => V::Coll(db, coll.to_string()),
            },
            V::Coll(db, c) => match name {
                "countDocuments"
                | "count"
                | "estimatedDocumentCount"
                | "find"
                | "findOne"
                | "aggregate"
                | "distinct"
                | "getName" => V::Method(Box::new(V::Coll(db, c)), name.into()),
                w if WRITES.contains(&w) => V::Method(Box::new(V::Coll(db, c)), name.into()),
                sub => V::Coll(db, format!("{c}.{sub}")),
            },
            V::Cursor(docs) => V::Method(Box::new(V::Cursor(docs)), name.to_string()),
            V::Native(ns) => match (ns, name) {
                ("JSON", "stringify") => V::Native("JSON.stringify"),
                ("JSON", "parse") => V::Native("JSON.parse"),
                ("EJSON", "stringify") => V::Native("EJSON.stringify"),
                ("console", "log") | ("console", "info") => V::Native("console.log"),
                ("console", "error") | ("console", "warn") => V::Native("console.error"),
                ("Object", "keys") => V::Native("Object.keys"),
                ("Object", "values") => V::Native("Object.values"),
                ("Object", "entries") => V::Native("Object.entries"),
                ("Math", f) => match f {
                    "round" => V::Native("Math.round"),
                    "floor" => V::Native("Math.floor"),
                    "ceil" => V::Native("Math.ceil"),
                    "abs" => V::Native("Math.abs"),
                    "max" => V::Native("Math.max"),
                    "min" => V::Native("Math.min"),
                    "sqrt" => V::Native("Math.sqrt"),
                    "pow" => V::Native("Math.pow"),
                    _ => V::Undef,
                },
                _ => V::Undef,
            },
            V::Func(..) | V::Method(..) => V::Undef,
        })
    }

    fn call_func(&mut self, f: &Func, env: &Rc<Scope>, args: Vec<V>) -> Result<V, JsError> {
        let sc = Rc::new(Scope {
            vars: Default::default(),
            parent: Some(env.clone()),
        });
        for (k, p) in f.params.iter().enumerate() {
            sc.set(p, args.get(k).cloned().unwrap_or(V::Undef));
        }
        for s in &f.body {
            match s {
                S::Decl(n, e) => {
                    let v = self.eval(e, &sc)?;
                    sc.set(n, v);
                }
                S::Expr(e) => {
                    self.eval(e, &sc)?;
                }
                S::Return(e) => return self.eval(e, &sc),
            }
        }
        Ok(V::Undef)
    }

    fn callable(&mut self, f: &V, args: Vec<V>) -> Result<V, JsError> {
        match f {
            V::Func(func, env) => self.call_func(func, env, args),
            other => self.call(other.clone(), args),
        }
    }

    fn call(&mut self, f: V, a: Vec<V>) -> Result<V, JsError> {
        let arg = |i: usize| a.get(i).cloned().unwrap_or(V::Undef);
        match f {
            V::Func(func, env) => self.call_func(&func, &env, a),
            V::Native(n) => self.native(n, a),
            V::Method(recv, name) => self.method(*recv, &name, a),
            other => {
                let _ = arg(0);
                err(
                    "TypeError",
                    format!("{} is not a function", inspect(&other)),
                )
            }
        }
    }

    fn native(&mut self, n: &str, a: Vec<V>) -> Result<V, JsError> {
        let arg = |i: usize| a.get(i).cloned().unwrap_or(V::Undef);
        let nums = || a.iter().map(V::number).collect::<Vec<f64>>();
        Ok(match n {
            "print" | "console.log" => {
                let line = a
                    .iter()
                    .map(|v| match v {
                        V::Str(s) => s.clone(),
                        other => inspect(other),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                self.host.print(&line);
                V::Undef
            }
            "console.error" => {
                let line = a.iter().map(inspect).collect::<Vec<_>>().join(" ");
                self.host.warn(&line);
                V::Undef
            }
            "printjson" => {
                self.host.print(&inspect(&arg(0)));
                V::Undef
            }
            "JSON.stringify" | "EJSON.stringify" => match arg(0).to_json() {
                None => V::Undef,
                Some(j) => {
                    let indent = match arg(2) {
                        V::Num(k) if k >= 1.0 => Some(" ".repeat(k.min(10.0) as usize)),
                        V::Str(s) if !s.is_empty() => Some(s),
                        _ => None,
                    };
                    V::Str(match indent {
                        Some(ind) => pretty(&j, ind.as_bytes()),
                        None => j.to_string(),
                    })
                }
            },
            "JSON.parse" => {
                let s = arg(0).string();
                match serde_json::from_str::<Value>(&s) {
                    Ok(v) => V::from_json(&v),
                    Err(e) => return err("SyntaxError", format!("JSON.parse: {e}")),
                }
            }
            "Object.keys" | "Object.values" | "Object.entries" => {
                let V::Obj(fields) = arg(0) else {
                    return Ok(V::Arr(Vec::new()));
                };
                V::Arr(
                    fields
                        .into_iter()
                        .map(|(k, v)| match n {
                            "Object.keys" => V::Str(k),
                            "Object.values" => v,
                            _ => V::Arr(vec![V::Str(k), v]),
                        })
                        .collect(),
                )
            }
            "Math.round" => V::Num((arg(0).number() + 0.5).floor()),
            "Math.floor" => V::Num(arg(0).number().floor()),
            "Math.ceil" => V::Num(arg(0).number().ceil()),
            "Math.abs" => V::Num(arg(0).number().abs()),
            "Math.sqrt" => V::Num(arg(0).number().sqrt()),
            "Math.pow" => V::Num(arg(0).number().powf(arg(1).number())),
            "Math.max" => V::Num(nums().into_iter().fold(f64::NEG_INFINITY, f64::max)),
            "Math.min" => V::Num(nums().into_iter().fold(f64::INFINITY, f64::min)),
            "Number" => V::Num(arg(0).number()),
            "String" => V::Str(arg(0).string()),
            "parseFloat" | "parseInt" => {
                let s = arg(0).string();
                let t = s.trim();
                let end = t
                    .char_indices()
                    .take_while(|(i, c)| {
                        c.is_ascii_digit()
                            || (*i == 0 && (*c == '-' || *c == '+'))
                            || (n == "parseFloat" && (*c == '.' || *c == 'e'))
                    })
                    .count();
                let v = t[..end].parse::<f64>().unwrap_or(f64::NAN);
                V::Num(if n == "parseInt" { v.trunc() } else { v })
            }
            other => return err("TypeError", format!("{other} is not a function")),
        })
    }

    fn docs(&mut self, db: &str, c: &str) -> Result<Vec<Value>, JsError> {
        self.host.documents(db, c)
    }

    fn filter_of(&self, v: &V) -> Result<Value, JsError> {
        match v {
            V::Undef | V::Null => Ok(json!({})),
            V::Obj(_) => Ok(v.to_json().unwrap_or(json!({}))),
            _ => err(
                "MongoInvalidArgumentError",
                "Query filter must be a plain object or ObjectId",
            ),
        }
    }

    fn matching(&mut self, db: &str, c: &str, filter: &V) -> Result<Vec<Value>, JsError> {
        let f = self.filter_of(filter)?;
        let mut out = Vec::new();
        for d in self.docs(db, c)? {
            if mquery::matches(&d, &f).map_err(server)? {
                out.push(d);
            }
        }
        Ok(out)
    }

    fn method(&mut self, recv: V, name: &str, a: Vec<V>) -> Result<V, JsError> {
        let arg = |i: usize| a.get(i).cloned().unwrap_or(V::Undef);
        match recv {
            V::Db(db) => match name {
                "getSiblingDB" => Ok(V::Db(arg(0).string())),
                "getName" => Ok(V::Str(db)),
                "getCollection" => Ok(V::Coll(db, arg(0).string())),
                "getCollectionNames" => Ok(V::Arr(
                    self.host
                        .collection_names(&db)?
                        .into_iter()
                        .map(V::Str)
                        .collect(),
                )),
                _ => err(
                    "MongoServerError",
                    format!("not authorized on {db} to execute command {name} (the stand-in reads collections only)"),
                ),
            },
            V::Coll(db, c) => match name {
                "getName" => Ok(V::Str(c)),
                "countDocuments" => Ok(V::Num(self.matching(&db, &c, &arg(0))?.len() as f64)),
                "count" => {
                    self.host.warn("DeprecationWarning: Collection.count() is deprecated. Use countDocuments or estimatedDocumentCount.");
                    Ok(V::Num(self.matching(&db, &c, &arg(0))?.len() as f64))
                }
                "estimatedDocumentCount" => Ok(V::Num(self.docs(&db, &c)?.len() as f64)),
                "find" => {
                    let proj = arg(1).to_json().unwrap_or(json!({}));
                    let docs = self.matching(&db, &c, &arg(0))?;
                    let docs = docs
                        .iter()
                        .map(|d| mquery::project(d, &proj).map(|x| V::from_json(&x)))
                        .collect::<Result<Vec<V>, String>>()
                        .map_err(server)?;
                    Ok(V::Cursor(docs))
                }
                "findOne" => {
                    let proj = arg(1).to_json().unwrap_or(json!({}));
                    match self.matching(&db, &c, &arg(0))?.first() {
                        Some(d) => Ok(V::from_json(&mquery::project(d, &proj).map_err(server)?)),
                        None => Ok(V::Null),
                    }
                }
                "aggregate" => {
                    let pipeline = arg(0).to_json().unwrap_or(json!([]));
                    let docs = self.docs(&db, &c)?;
                    let out = mquery::aggregate(docs, &pipeline).map_err(server)?;
                    Ok(V::Cursor(out.iter().map(V::from_json).collect()))
                }
                "distinct" => {
                    let field = arg(0).string();
                    let mut seen: Vec<Value> = Vec::new();
                    for d in self.matching(&db, &c, &arg(1))? {
                        for v in mquery::path_values(&d, &field) {
                            let items: Vec<&Value> = match v {
                                Value::Array(a) => a.iter().collect(),
                                other => vec![other],
                            };
                            for it in items {
                                if !seen.contains(it) {
                                    seen.push(it.clone());
                                }
                            }
                        }
                    }
                    Ok(V::Arr(seen.iter().map(V::from_json).collect()))
                }
                w => err(
                    "MongoServerError",
                    format!(
                        "not authorized on {db} to execute command {{ {}: \"{c}\" }}",
                        match w {
                            "insertOne" | "insertMany" | "insert" => "insert",
                            "deleteOne" | "deleteMany" | "remove" | "findOneAndDelete" => "delete",
                            "drop" => "drop",
                            _ => "update",
                        }
                    ),
                ),
            },
            V::Cursor(docs) => match name {
                "toArray" | "pretty" => Ok(if name == "pretty" {
                    V::Cursor(docs)
                } else {
                    V::Arr(docs)
                }),
                "itcount" | "size" => Ok(V::Num(docs.len() as f64)),
                "count" => {
                    self.host.warn("DeprecationWarning: Cursor.count() is deprecated. Use Collection.countDocuments() instead.");
                    Ok(V::Num(docs.len() as f64))
                }
                "limit" => {
                    let n = arg(0).number();
                    let mut d = docs;
                    if n.is_finite() && n > 0.0 {
                        d.truncate(n as usize);
                    }
                    Ok(V::Cursor(d))
                }
                "skip" => Ok(V::Cursor(
                    docs.into_iter()
                        .skip(arg(0).number().max(0.0) as usize)
                        .collect(),
                )),
                "sort" => {
                    let spec = arg(0).to_json().unwrap_or(json!({}));
                    let mut j: Vec<Value> = docs.iter().filter_map(V::to_json).collect();
                    mquery::sort_docs(&mut j, &spec).map_err(server)?;
                    Ok(V::Cursor(j.iter().map(V::from_json).collect()))
                }
                "next" => Ok(docs.into_iter().next().unwrap_or(V::Null)),
                "hasNext" => Ok(V::Bool(!docs.is_empty())),
                "map" => {
                    let f = arg(0);
                    let mut out = Vec::new();
                    for d in docs {
                        out.push(self.callable(&f, vec![d])?);
                    }
                    Ok(V::Cursor(out))
                }
                "forEach" => {
                    let f = arg(0);
                    for d in docs {
                        self.callable(&f, vec![d])?;
                    }
                    Ok(V::Undef)
                }
                other => err("TypeError", format!("cursor.{other} is not a function")),
            },
            V::Arr(items) => self.array_method(items, name, a),
            V::Str(s) => Ok(match name {
                "toUpperCase" => V::Str(s.to_uppercase()),
                "toLowerCase" => V::Str(s.to_lowercase()),
                "trim" => V::Str(s.trim().to_string()),
                "includes" => V::Bool(s.contains(&arg(0).string())),
                "startsWith" => V::Bool(s.starts_with(&arg(0).string())),
                "endsWith" => V::Bool(s.ends_with(&arg(0).string())),
                "split" => V::Arr(
                    s.split(arg(0).string().as_str())
                        .map(|p| V::Str(p.to_string()))
                        .collect(),
                ),
                "toString" => V::Str(s),
                other => return err("TypeError", format!("'{s}'.{other} is not a function")),
            }),
            V::Num(n) => match name {
                "toFixed" => {
                    let d = arg(0).number().clamp(0.0, 20.0) as usize;
                    Ok(V::Str(format!("{n:.d$}")))
                }
                "toString" => Ok(V::Str(js_num(n))),
                other => err("TypeError", format!("{}.{other} is not a function", js_num(n))),
            },
            other => err(
                "TypeError",
                format!("{}.{name} is not a function", inspect(&other)),
            ),
        }
    }

    fn array_method(&mut self, items: Vec<V>, name: &str, a: Vec<V>) -> Result<V, JsError> {
        let arg = |i: usize| a.get(i).cloned().unwrap_or(V::Undef);
        Ok(match name {
            "map" | "filter" | "some" | "every" | "find" | "forEach" => {
                let f = arg(0);
                let mut out = Vec::new();
                for (i, x) in items.into_iter().enumerate() {
                    let r = self.callable(&f, vec![x.clone(), V::Num(i as f64)])?;
                    match name {
                        "map" => out.push(r),
                        "filter" if r.truthy() => out.push(x),
                        "some" if r.truthy() => return Ok(V::Bool(true)),
                        "every" if !r.truthy() => return Ok(V::Bool(false)),
                        "find" if r.truthy() => return Ok(x),
                        _ => {}
                    }
                }
                match name {
                    "map" | "filter" => V::Arr(out),
                    "some" => V::Bool(false),
                    "every" => V::Bool(true),
                    _ => V::Undef,
                }
            }
            "reduce" => {
                let f = arg(0);
                let mut it = items.into_iter();
                let mut acc = match a.get(1) {
                    Some(init) => init.clone(),
                    None => match it.next() {
                        Some(first) => first,
                        None => {
                            return err("TypeError", "Reduce of empty array with no initial value")
                        }
                    },
                };
                for x in it {
                    acc = self.callable(&f, vec![acc, x])?;
                }
                acc
            }
            "join" => {
                let sep = match arg(0) {
                    V::Undef => ",".to_string(),
                    s => s.string(),
                };
                V::Str(
                    items
                        .iter()
                        .map(|x| match x {
                            V::Undef | V::Null => String::new(),
                            o => o.string(),
                        })
                        .collect::<Vec<_>>()
                        .join(&sep),
                )
            }
            "includes" => {
                let t = arg(0);
                V::Bool(items.iter().any(|x| strict_eq(x, &t)))
            }
            "indexOf" => {
                let t = arg(0);
                V::Num(
                    items
                        .iter()
                        .position(|x| strict_eq(x, &t))
                        .map_or(-1.0, |p| p as f64),
                )
            }
            "slice" => {
                let len = items.len() as f64;
                let norm = |v: V, dflt: f64| {
                    let n = match v {
                        V::Undef => dflt,
                        o => o.number(),
                    };
                    (if n < 0.0 { len + n } else { n }).clamp(0.0, len) as usize
                };
                let (s, e) = (norm(arg(0), 0.0), norm(arg(1), len));
                V::Arr(
                    items
                        .get(s..e.max(s))
                        .map(<[V]>::to_vec)
                        .unwrap_or_default(),
                )
            }
            "concat" => {
                let mut out = items;
                for x in a {
                    match x {
                        V::Arr(more) => out.extend(more),
                        o => out.push(o),
                    }
                }
                V::Arr(out)
            }
            other => return err("TypeError", format!("array.{other} is not a function")),
        })
    }
}

fn server(m: String) -> JsError {
    JsError {
        name: "MongoServerError",
        message: m,
    }
}

fn pretty(v: &Value, indent: &[u8]) -> String {
    use serde::Serialize as _;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = v.serialize(&mut ser);
    String::from_utf8_lossy(&buf).into_owned()
}

fn strict_eq(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Undef, V::Undef) | (V::Null, V::Null) => true,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Num(x), V::Num(y)) => x == y,
        (V::Str(x), V::Str(y)) => x == y,
        _ => false,
    }
}

fn loose_eq(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Undef | V::Null, V::Undef | V::Null) => true,
        (V::Undef | V::Null, _) | (_, V::Undef | V::Null) => false,
        (V::Num(_), V::Str(_)) | (V::Str(_), V::Num(_)) | (V::Bool(_), _) | (_, V::Bool(_)) => {
            a.number() == b.number()
        }
        _ => strict_eq(a, b),
    }
}

fn binop(op: &str, l: &V, r: &V) -> V {
    match op {
        "+" => match (l, r) {
            (V::Str(_), _)
            | (_, V::Str(_))
            | (V::Arr(_) | V::Obj(_), _)
            | (_, V::Arr(_) | V::Obj(_)) => V::Str(format!("{}{}", l.string(), r.string())),
            _ => V::Num(l.number() + r.number()),
        },
        "-" => V::Num(l.number() - r.number()),
        "*" => V::Num(l.number() * r.number()),
        "/" => V::Num(l.number() / r.number()),
        "%" => V::Num(l.number() % r.number()),
        "===" => V::Bool(strict_eq(l, r)),
        "!==" => V::Bool(!strict_eq(l, r)),
        "==" => V::Bool(loose_eq(l, r)),
        "!=" => V::Bool(!loose_eq(l, r)),
        _ => {
            let ord = match (l, r) {
                (V::Str(a), V::Str(b)) => Some(a.cmp(b)),
                _ => l.number().partial_cmp(&r.number()),
            };
            V::Bool(ord.is_some_and(|o| match op {
                "<" => o.is_lt(),
                "<=" => o.is_le(),
                ">" => o.is_gt(),
                _ => o.is_ge(),
            }))
        }
    }
}
