//! New Relic's NerdGraph as a team's account answers NRQL for the simulated system:
//! `POST /graphql` with the `API-Key` header and a JSON body
//! `{"query": "{ actor { account(id: N) { nrql(query: \"SELECT …\") { results } } } }"}`
//! (or the NRQL in `variables`: `query($q: Nrql!) { … nrql(query: $q) … }`), answered
//! `{"data":{"actor":{"account":{"nrql":{"results":[{…}]}}}}}` (the NRQL dialect: `nrql`).
//!
//! The account is `ACCOUNT_ID`; another one answers `account: null` with an error, as an
//! account the key cannot see does. A missing or wrong key is a 401
//! `{"errors":[{"extensions":{"error_code":"BAD_API_KEY"},"message":"Bad API Key or no API Key provided"}]}`.
//! NRQL that does not parse: HTTP 200, `nrql: null` and an `errors` entry
//! `NRQL Syntax Error: Error at line 1 position N, …` with its path — as NerdGraph does, so a
//! client must look at `errors`, not only the status. Selections other than `actor`,
//! `account { id name nrql }` and `nrql { results }` are refused as GraphQL validation errors.

use super::nrql;
use crate::sim::endpoint::{json_response, Answer, Call};
use crate::sim::state::Sim;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

/// The simulated New Relic account.
pub const ACCOUNT_ID: i64 = 1_234_567;

fn refuse(status: StatusCode, body: Value) -> Box<Response> {
    Box::new(json_response(status, body))
}

/// `POST /graphql`.
pub(crate) fn graphql(sim: &Sim, call: &Call) -> Answer {
    if !sim.keys().new_relic_allows(&call.parts.headers) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            json!({"errors": [{"extensions": {"error_code": "BAD_API_KEY"},
                "message": "Bad API Key or no API Key provided"}]}),
        ));
    }
    let body: Value = serde_json::from_slice(&call.body).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            json!({"errors": [{"message": format!("Could not parse the request body as JSON: {e}")}]}),
        )
    })?;
    let Some(query) = body.get("query").and_then(Value::as_str) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            json!({"errors": [{"message": "No query document supplied"}]}),
        ));
    };
    let vars = body
        .get("variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let fields = match parse(query) {
        Ok(f) => f,
        Err(e) => return Ok(ok_body(json!({"errors": [e.to_json()]}))),
    };
    let mut ex = Exec {
        sim,
        vars: &vars,
        errors: Vec::new(),
    };
    let data = ex.root(&fields);
    let mut out = Map::new();
    if let Some(d) = data {
        out.insert("data".into(), d);
    }
    if !ex.errors.is_empty() {
        out.insert("errors".into(), Value::Array(ex.errors));
    }
    Ok(ok_body(Value::Object(out)))
}

fn ok_body(v: Value) -> Response {
    json_response(StatusCode::OK, v)
}

// ---- a small GraphQL reader: one operation, fields, arguments, variables ----

#[derive(Debug, Clone, PartialEq)]
enum GVal {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Enum(String),
    Var(String),
    List(Vec<GVal>),
    Obj(Vec<(String, GVal)>),
}

#[derive(Debug, Clone, PartialEq)]
struct Field {
    alias: Option<String>,
    name: String,
    args: Vec<(String, GVal)>,
    sel: Vec<Field>,
    line: usize,
    column: usize,
}

impl Field {
    fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }

    fn arg(&self, name: &str) -> Option<&GVal> {
        self.args.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct GqlError {
    message: String,
    line: usize,
    column: usize,
}

impl GqlError {
    fn to_json(&self) -> Value {
        json!({"message": self.message,
            "locations": [{"line": self.line, "column": self.column}]})
    }
}

#[derive(Debug, Clone, PartialEq)]
enum T {
    Name(String),
    Str(String),
    Int(i64),
    Float(f64),
    P(char),
    Spread,
}

fn lex(q: &str) -> Result<Vec<(T, usize, usize)>, GqlError> {
    let chars: Vec<char> = q.chars().collect();
    let (mut i, mut line, mut col0) = (0usize, 1usize, 0usize);
    let mut out = Vec::new();
    let err = |m: String, line, column| GqlError {
        message: m,
        line,
        column,
    };
    while i < chars.len() {
        let c = chars[i];
        let col = i - col0 + 1;
        match c {
            '\n' => {
                line += 1;
                i += 1;
                col0 = i;
            }
            c if c.is_whitespace() || c == ',' || c == '\u{feff}' => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '"' => {
                let block = chars.get(i..i + 3) == Some(&['"', '"', '"']);
                let mut s = String::new();
                if block {
                    i += 3;
                    loop {
                        if i >= chars.len() {
                            return Err(err("Unterminated string".into(), line, col));
                        }
                        if chars.get(i..i + 3) == Some(&['"', '"', '"']) {
                            i += 3;
                            break;
                        }
                        if chars[i] == '\n' {
                            line += 1;
                            col0 = i + 1;
                        }
                        s.push(chars[i]);
                        i += 1;
                    }
                } else {
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None | Some('\n') => {
                                return Err(err("Unterminated string".into(), line, col))
                            }
                            Some('"') => {
                                i += 1;
                                break;
                            }
                            Some('\\') => {
                                let e = chars.get(i + 1).copied().unwrap_or(' ');
                                i += 2;
                                match e {
                                    'n' => s.push('\n'),
                                    't' => s.push('\t'),
                                    'r' => s.push('\r'),
                                    'b' => s.push('\u{8}'),
                                    'f' => s.push('\u{c}'),
                                    'u' => {
                                        let hex: String = chars
                                            .get(i..i + 4)
                                            .map(|h| h.iter().collect())
                                            .unwrap_or_default();
                                        let ch = u32::from_str_radix(&hex, 16)
                                            .ok()
                                            .and_then(char::from_u32)
                                            .ok_or_else(|| {
                                                err(
                                                    format!("Invalid unicode escape \\u{hex}"),
                                                    line,
                                                    col,
                                                )
                                            })?;
                                        s.push(ch);
                                        i += 4;
                                    }
                                    other => s.push(other),
                                }
                            }
                            Some(&ch) => {
                                s.push(ch);
                                i += 1;
                            }
                        }
                    }
                }
                out.push((T::Str(s), line, col));
            }
            '.' if chars.get(i..i + 3) == Some(&['.', '.', '.']) => {
                out.push((T::Spread, line, col));
                i += 3;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((T::Name(chars[start..i].iter().collect()), line, col));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit() || matches!(chars[i], '.' | 'e' | 'E' | '+'))
                {
                    i += 1;
                }
                let t: String = chars[start..i].iter().collect();
                if let Ok(n) = t.parse::<i64>() {
                    out.push((T::Int(n), line, col));
                } else if let Ok(f) = t.parse::<f64>() {
                    out.push((T::Float(f), line, col));
                } else {
                    return Err(err(format!("Invalid number {t}"), line, col));
                }
            }
            '{' | '}' | '(' | ')' | ':' | '$' | '!' | '=' | '[' | ']' | '@' | '|' => {
                out.push((T::P(c), line, col));
                i += 1;
            }
            other => return Err(err(format!("Unexpected character \"{other}\""), line, col)),
        }
    }
    Ok(out)
}

struct G {
    toks: Vec<(T, usize, usize)>,
    i: usize,
}

impl G {
    fn peek(&self) -> Option<&T> {
        self.toks.get(self.i).map(|t| &t.0)
    }

    fn at(&self) -> (usize, usize) {
        self.toks
            .get(self.i)
            .or(self.toks.last())
            .map(|t| (t.1, t.2))
            .unwrap_or((1, 1))
    }

    fn fail<X>(&self) -> Result<X, GqlError> {
        let (line, column) = self.at();
        let what = match self.peek() {
            Some(T::Name(n)) => n.clone(),
            Some(T::Str(s)) => format!("\"{s}\""),
            Some(T::Int(n)) => n.to_string(),
            Some(T::Float(f)) => f.to_string(),
            Some(T::P(c)) => c.to_string(),
            Some(T::Spread) => "...".into(),
            None => "end of file".into(),
        };
        Err(GqlError {
            message: format!("syntax error before: \"{what}\""),
            line,
            column,
        })
    }

    fn p(&mut self, c: char) -> bool {
        if self.peek() == Some(&T::P(c)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn name(&mut self) -> Result<String, GqlError> {
        match self.peek() {
            Some(T::Name(n)) => {
                let n = n.clone();
                self.i += 1;
                Ok(n)
            }
            _ => self.fail(),
        }
    }

    fn document(&mut self) -> Result<Vec<Field>, GqlError> {
        if let Some(T::Name(n)) = self.peek() {
            if n == "mutation" || n == "subscription" {
                let (line, column) = self.at();
                return Err(GqlError {
                    message: format!("the simulator answers queries only, not a {n}"),
                    line,
                    column,
                });
            }
            if n == "query" {
                self.i += 1;
                if matches!(self.peek(), Some(T::Name(_))) {
                    self.i += 1;
                }
                if self.p('(') {
                    self.var_defs()?;
                }
            }
        }
        let sel = self.selection()?;
        if self.peek().is_some() {
            return self.fail();
        }
        Ok(sel)
    }

    /// `$name: Type! = default, …)`: the types are not checked.
    fn var_defs(&mut self) -> Result<(), GqlError> {
        while !self.p(')') {
            if !self.p('$') {
                return self.fail();
            }
            self.name()?;
            if !self.p(':') {
                return self.fail();
            }
            self.ty()?;
            if self.p('=') {
                self.value()?;
            }
        }
        Ok(())
    }

    fn ty(&mut self) -> Result<(), GqlError> {
        if self.p('[') {
            self.ty()?;
            if !self.p(']') {
                return self.fail();
            }
        } else {
            self.name()?;
        }
        self.p('!');
        Ok(())
    }

    fn selection(&mut self) -> Result<Vec<Field>, GqlError> {
        if !self.p('{') {
            return self.fail();
        }
        let mut out = Vec::new();
        while !self.p('}') {
            if self.peek() == Some(&T::Spread) {
                let (line, column) = self.at();
                return Err(GqlError {
                    message: "fragments are not supported by the simulator's NerdGraph".into(),
                    line,
                    column,
                });
            }
            let (line, column) = self.at();
            let first = self.name()?;
            let (alias, name) = if self.p(':') {
                (Some(first), self.name()?)
            } else {
                (None, first)
            };
            let mut args = Vec::new();
            if self.p('(') {
                while !self.p(')') {
                    let n = self.name()?;
                    if !self.p(':') {
                        return self.fail();
                    }
                    args.push((n, self.value()?));
                }
            }
            if self.peek() == Some(&T::P('@')) {
                return self.fail();
            }
            let sel = if self.peek() == Some(&T::P('{')) {
                self.selection()?
            } else {
                Vec::new()
            };
            out.push(Field {
                alias,
                name,
                args,
                sel,
                line,
                column,
            });
        }
        Ok(out)
    }

    fn value(&mut self) -> Result<GVal, GqlError> {
        let v = match self.peek().cloned() {
            Some(T::Str(s)) => GVal::Str(s),
            Some(T::Int(n)) => GVal::Int(n),
            Some(T::Float(f)) => GVal::Float(f),
            Some(T::Name(n)) => match n.as_str() {
                "true" => GVal::Bool(true),
                "false" => GVal::Bool(false),
                "null" => GVal::Null,
                _ => GVal::Enum(n),
            },
            Some(T::P('$')) => {
                self.i += 1;
                return Ok(GVal::Var(self.name()?));
            }
            Some(T::P('[')) => {
                self.i += 1;
                let mut l = Vec::new();
                while !self.p(']') {
                    l.push(self.value()?);
                }
                return Ok(GVal::List(l));
            }
            Some(T::P('{')) => {
                self.i += 1;
                let mut o = Vec::new();
                while !self.p('}') {
                    let n = self.name()?;
                    if !self.p(':') {
                        return self.fail();
                    }
                    o.push((n, self.value()?));
                }
                return Ok(GVal::Obj(o));
            }
            _ => return self.fail(),
        };
        self.i += 1;
        Ok(v)
    }
}

fn parse(q: &str) -> Result<Vec<Field>, GqlError> {
    let toks = lex(q)?;
    G { toks, i: 0 }.document()
}

// ---- execution ----

struct Exec<'a> {
    sim: &'a Sim,
    vars: &'a Map<String, Value>,
    errors: Vec<Value>,
}

impl Exec<'_> {
    fn invalid(&mut self, f: &Field, on: &str) {
        self.errors.push(json!({
            "message": format!("Cannot query field \"{}\" on type \"{on}\".", f.name),
            "locations": [{"line": f.line, "column": f.column}],
        }));
    }

    /// The whole answer's `data`, or `None` when the document is invalid (nothing runs).
    fn root(&mut self, fields: &[Field]) -> Option<Value> {
        if !self.validate(fields, "RootQueryType") {
            return None;
        }
        let mut data = Map::new();
        for f in fields {
            let v = self.actor(f);
            data.insert(f.key().to_string(), v);
        }
        Some(Value::Object(data))
    }

    /// Checks every selection against the part of NerdGraph served here.
    fn validate(&mut self, fields: &[Field], on: &str) -> bool {
        let mut ok = true;
        for f in fields {
            let (allowed, next): (&[&str], &str) = match on {
                "RootQueryType" => (&["actor"], "Actor"),
                "Actor" => (&["account"], "Account"),
                "Account" => (&["id", "name", "nrql"], "NrdbResultContainer"),
                "NrdbResultContainer" => (&["results"], ""),
                _ => (&[], ""),
            };
            if !allowed.contains(&f.name.as_str()) {
                self.invalid(f, on);
                ok = false;
                continue;
            }
            let leaf = matches!(f.name.as_str(), "id" | "name" | "results");
            if leaf != f.sel.is_empty() {
                self.errors.push(json!({
                    "message": if leaf {
                        format!("Field \"{}\" must not have a selection since it has no subfields.", f.name)
                    } else {
                        format!("Field \"{}\" of type \"{next}\" must have a selection of subfields.", f.name)
                    },
                    "locations": [{"line": f.line, "column": f.column}],
                }));
                ok = false;
                continue;
            }
            if !leaf && !self.validate(&f.sel, next) {
                ok = false;
            }
        }
        ok
    }

    fn resolve(&self, v: &GVal) -> Value {
        match v {
            GVal::Str(s) | GVal::Enum(s) => json!(s),
            GVal::Int(n) => json!(n),
            GVal::Float(f) => json!(f),
            GVal::Bool(b) => json!(b),
            GVal::Null => Value::Null,
            GVal::Var(n) => self.vars.get(n).cloned().unwrap_or(Value::Null),
            GVal::List(l) => Value::Array(l.iter().map(|x| self.resolve(x)).collect()),
            GVal::Obj(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.resolve(x)))
                    .collect(),
            ),
        }
    }

    fn actor(&mut self, actor: &Field) -> Value {
        let mut out = Map::new();
        for account in &actor.sel {
            let v = self.account(actor, account);
            out.insert(account.key().to_string(), v);
        }
        Value::Object(out)
    }

    fn account(&mut self, actor: &Field, account: &Field) -> Value {
        let id = account.arg("id").map(|v| self.resolve(v));
        let id_num = id.as_ref().and_then(Value::as_i64);
        if id_num != Some(ACCOUNT_ID) {
            self.errors.push(json!({
                "message": match &id {
                    None | Some(Value::Null) => "Argument \"id\" is required".to_string(),
                    Some(v) => format!("Account {v} not found, or this API key has no access to it"),
                },
                "path": [actor.key(), account.key()],
                "locations": [{"line": account.line, "column": account.column}],
                "extensions": {"errorClass": "FORBIDDEN"},
            }));
            return Value::Null;
        }
        let mut out = Map::new();
        for f in &account.sel {
            let v = match f.name.as_str() {
                "id" => json!(ACCOUNT_ID),
                "name" => json!(format!("{} (warroom sim)", self.sim.spec.name)),
                _ => self.nrql(actor, account, f),
            };
            out.insert(f.key().to_string(), v);
        }
        Value::Object(out)
    }

    fn nrql(&mut self, actor: &Field, account: &Field, f: &Field) -> Value {
        let path = json!([actor.key(), account.key(), f.key()]);
        let loc = json!([{"line": f.line, "column": f.column}]);
        let Some(q) = f
            .arg("query")
            .map(|v| self.resolve(v))
            .and_then(|v| v.as_str().map(str::to_string))
        else {
            self.errors.push(json!({
                "message": "Argument \"query\" is required: the NRQL as a string",
                "path": path, "locations": loc,
            }));
            return Value::Null;
        };
        let parsed = match nrql::parse(&q) {
            Ok(p) => p,
            Err(e) => {
                self.errors.push(json!({
                    "message": format!("NRQL Syntax Error: {}", e.0),
                    "path": path,
                    "locations": loc,
                    "extensions": {"errorClass": "INVALID_INPUT", "nrqlErrorCode": "NRQL_SYNTAX_ERROR"},
                }));
                return Value::Null;
            }
        };
        let spec = self.sim.spec;
        let results = self
            .sim
            .with_history(|h, now_ms| nrql::run(&parsed, spec, h, now_ms));
        let mut out = Map::new();
        for sub in &f.sel {
            out.insert(sub.key().to_string(), Value::Array(results.clone()));
        }
        Value::Object(out)
    }
}
