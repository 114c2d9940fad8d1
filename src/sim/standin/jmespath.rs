//! The part of JMESPath the `aws` stand-in's `--query` understands: fields (`Parameter.Value`,
//! `"quoted"`), indexes (`[0]`, `[-1]`), list projections (`[*]`, `[]`), filters
//! (`[?Id=='err_new']`, with `== != < <= > >=`, `&&`, `||`, `!`, `'raw'` and `` `json` ``
//! literals), object projections (`*`), pipes (`|`) and multi-select lists (`[a, b]`).
//! Projections apply what follows to each element and drop nulls, as JMESPath does.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Identity,
    Field(String),
    Literal(Value),
    Sub(Box<Node>, Box<Node>),
    Index(Box<Node>, i64),
    /// `left[*]rhs`, `left[]rhs` (flatten first), `left[?cond]rhs`, `left.*rhs`.
    Project {
        left: Box<Node>,
        kind: Proj,
        rhs: Box<Node>,
    },
    Pipe(Box<Node>, Box<Node>),
    MultiList(Vec<Node>),
    Cmp(Box<Node>, &'static str, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
}

#[derive(Debug, Clone, PartialEq)]
enum Proj {
    List,
    Flatten,
    Filter(Box<Node>),
    Values,
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn starts(&mut self, t: &str) -> bool {
        self.ws();
        self.s[self.i..].starts_with(t.as_bytes())
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at position {}", self.i))
    }

    fn pipe(&mut self) -> Result<Node, String> {
        let mut l = self.or()?;
        while self.peek() == Some(b'|') && !self.starts("||") {
            self.i += 1;
            l = Node::Pipe(Box::new(l), Box::new(self.or()?));
        }
        Ok(l)
    }

    fn or(&mut self) -> Result<Node, String> {
        let mut l = self.and()?;
        while self.starts("||") {
            self.i += 2;
            l = Node::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Node, String> {
        let mut l = self.cmp()?;
        while self.starts("&&") {
            self.i += 2;
            l = Node::And(Box::new(l), Box::new(self.cmp()?));
        }
        Ok(l)
    }

    fn cmp(&mut self) -> Result<Node, String> {
        let l = self.unary()?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.starts(op) {
                self.i += op.len();
                let r = self.unary()?;
                return Ok(Node::Cmp(Box::new(l), op, Box::new(r)));
            }
        }
        Ok(l)
    }

    fn unary(&mut self) -> Result<Node, String> {
        if self.peek() == Some(b'!') && !self.starts("!=") {
            self.i += 1;
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        let head = self.atom()?;
        self.postfix(head, false)
    }

    fn atom(&mut self) -> Result<Node, String> {
        match self.peek() {
            Some(b'@') => {
                self.i += 1;
                Ok(Node::Identity)
            }
            Some(b'(') => {
                self.i += 1;
                let n = self.pipe()?;
                if self.peek() != Some(b')') {
                    return self.err("expected )");
                }
                self.i += 1;
                Ok(n)
            }
            Some(b'\'') => {
                self.i += 1;
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| *c != b'\'') {
                    self.i += 1;
                }
                if self.s.get(self.i).is_none() {
                    return self.err("unterminated raw string");
                }
                let v = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                Ok(Node::Literal(Value::String(v)))
            }
            Some(b'`') => {
                self.i += 1;
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| *c != b'`') {
                    self.i += 1;
                }
                if self.s.get(self.i).is_none() {
                    return self.err("unterminated literal");
                }
                let raw = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                let v = serde_json::from_str(raw.trim())
                    .unwrap_or_else(|_| Value::String(raw.trim().to_string()));
                Ok(Node::Literal(v))
            }
            Some(b'"') => {
                self.i += 1;
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| *c != b'"') {
                    self.i += 1;
                }
                if self.s.get(self.i).is_none() {
                    return self.err("unterminated quoted identifier");
                }
                let v = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                Ok(Node::Field(v))
            }
            Some(b'[') => {
                // A projection or a multi-select list at the start of an expression.
                self.bracket(Node::Identity)
            }
            Some(b'*') => {
                self.i += 1;
                let rhs = self.projection_rhs()?;
                Ok(Node::Project {
                    left: Box::new(Node::Identity),
                    kind: Proj::Values,
                    rhs: Box::new(rhs),
                })
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    self.i += 1;
                }
                Ok(Node::Field(
                    String::from_utf8_lossy(&self.s[start..self.i]).into_owned(),
                ))
            }
            _ => self.err("unexpected token"),
        }
    }

    /// What follows a projection: `.field…`, `[n]…`, more projections. It stops at operators
    /// and at a flatten `[]`, which (as in JMESPath) applies to the whole projection.
    fn projection_rhs(&mut self) -> Result<Node, String> {
        self.postfix(Node::Identity, true)
    }

    fn postfix(&mut self, mut node: Node, in_projection: bool) -> Result<Node, String> {
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    if self.peek() == Some(b'*') {
                        self.i += 1;
                        let rhs = self.projection_rhs()?;
                        node = Node::Project {
                            left: Box::new(node),
                            kind: Proj::Values,
                            rhs: Box::new(rhs),
                        };
                        continue;
                    }
                    let f = self.atom()?;
                    node = Node::Sub(Box::new(node), Box::new(f));
                }
                Some(b'[') => {
                    if in_projection && self.is_flatten() {
                        return Ok(node);
                    }
                    node = self.bracket(node)?;
                }
                _ => return Ok(node),
            }
        }
    }

    /// Whether the `[` at the cursor opens a flatten `[]`.
    fn is_flatten(&mut self) -> bool {
        let save = self.i;
        self.i += 1;
        let flat = self.peek() == Some(b']');
        self.i = save;
        flat
    }

    fn bracket(&mut self, left: Node) -> Result<Node, String> {
        self.i += 1;
        match self.peek() {
            Some(b'*') if self.s.get(self.i + 1) == Some(&b']') => {
                self.i += 2;
                let rhs = self.projection_rhs()?;
                Ok(Node::Project {
                    left: Box::new(left),
                    kind: Proj::List,
                    rhs: Box::new(rhs),
                })
            }
            Some(b']') => {
                self.i += 1;
                let rhs = self.projection_rhs()?;
                Ok(Node::Project {
                    left: Box::new(left),
                    kind: Proj::Flatten,
                    rhs: Box::new(rhs),
                })
            }
            Some(b'?') => {
                self.i += 1;
                let cond = self.pipe()?;
                if self.peek() != Some(b']') {
                    return self.err("expected ]");
                }
                self.i += 1;
                let rhs = self.projection_rhs()?;
                Ok(Node::Project {
                    left: Box::new(left),
                    kind: Proj::Filter(Box::new(cond)),
                    rhs: Box::new(rhs),
                })
            }
            Some(c) if c.is_ascii_digit() || c == b'-' => {
                let start = self.i;
                self.i += 1;
                while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                    self.i += 1;
                }
                let n: i64 = String::from_utf8_lossy(&self.s[start..self.i])
                    .parse()
                    .map_err(|_| format!("bad index at position {start}"))?;
                if self.peek() != Some(b']') {
                    return self.err("expected ]");
                }
                self.i += 1;
                Ok(Node::Index(Box::new(left), n))
            }
            _ if left == Node::Identity => {
                let mut items = vec![self.pipe()?];
                while self.peek() == Some(b',') {
                    self.i += 1;
                    items.push(self.pipe()?);
                }
                if self.peek() != Some(b']') {
                    return self.err("expected ]");
                }
                self.i += 1;
                Ok(Node::MultiList(items))
            }
            _ => self.err("unexpected token in brackets"),
        }
    }
}

/// A compiled `--query`.
#[derive(Debug, Clone)]
pub(crate) struct Query(Node);

pub(crate) fn compile(q: &str) -> Result<Query, String> {
    let mut p = P {
        s: q.as_bytes(),
        i: 0,
    };
    let n = p.pipe()?;
    if p.peek().is_some() {
        return p.err("unexpected token");
    }
    Ok(Query(n))
}

impl Query {
    pub fn search(&self, v: &Value) -> Value {
        eval(&self.0, v)
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(_) => true,
    }
}

fn eval(n: &Node, v: &Value) -> Value {
    match n {
        Node::Identity => v.clone(),
        Node::Field(f) => v.get(f).cloned().unwrap_or(Value::Null),
        Node::Literal(l) => l.clone(),
        Node::Sub(a, b) => {
            let x = eval(a, v);
            if x.is_null() {
                Value::Null
            } else {
                eval(b, &x)
            }
        }
        Node::Index(a, i) => {
            let x = eval(a, v);
            let Some(arr) = x.as_array() else {
                return Value::Null;
            };
            let idx = if *i < 0 { arr.len() as i64 + i } else { *i };
            usize::try_from(idx)
                .ok()
                .and_then(|k| arr.get(k))
                .cloned()
                .unwrap_or(Value::Null)
        }
        Node::Project { left, kind, rhs } => {
            let x = eval(left, v);
            let items: Vec<Value> = match kind {
                Proj::Values => match x {
                    Value::Object(o) => o.into_iter().map(|(_, v)| v).collect(),
                    _ => return Value::Null,
                },
                Proj::List => match x {
                    Value::Array(a) => a,
                    _ => return Value::Null,
                },
                Proj::Flatten => match x {
                    Value::Array(a) => a
                        .into_iter()
                        .flat_map(|e| match e {
                            Value::Array(inner) => inner,
                            other => vec![other],
                        })
                        .collect(),
                    _ => return Value::Null,
                },
                Proj::Filter(c) => match x {
                    Value::Array(a) => a.into_iter().filter(|e| truthy(&eval(c, e))).collect(),
                    _ => return Value::Null,
                },
            };
            Value::Array(
                items
                    .iter()
                    .map(|e| eval(rhs, e))
                    .filter(|r| !r.is_null())
                    .collect(),
            )
        }
        Node::Pipe(a, b) => eval(b, &eval(a, v)),
        Node::MultiList(items) => {
            if v.is_null() {
                return Value::Null;
            }
            Value::Array(items.iter().map(|i| eval(i, v)).collect())
        }
        Node::Cmp(a, op, b) => {
            let (x, y) = (eval(a, v), eval(b, v));
            let ord = match (x.as_f64(), y.as_f64()) {
                (Some(p), Some(q)) => p.partial_cmp(&q),
                _ => None,
            };
            Value::Bool(match *op {
                "==" => x == y,
                "!=" => x != y,
                "<" => ord.is_some_and(|o| o.is_lt()),
                "<=" => ord.is_some_and(|o| o.is_le()),
                ">" => ord.is_some_and(|o| o.is_gt()),
                _ => ord.is_some_and(|o| o.is_ge()),
            })
        }
        Node::And(a, b) => {
            let x = eval(a, v);
            if truthy(&x) {
                eval(b, v)
            } else {
                x
            }
        }
        Node::Or(a, b) => {
            let x = eval(a, v);
            if truthy(&x) {
                x
            } else {
                eval(b, v)
            }
        }
        Node::Not(a) => Value::Bool(!truthy(&eval(a, v))),
    }
}
