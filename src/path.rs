//! jq-style paths into JSON: `.a.b`, `.a[0]`, `.a[-1]`, `.a[]`, `.["k"]`, `."k"`, `..`,
//! pipes `a | b`, and `select(...)` with `== != > >= < <=`, `and`, `or`.
//! (Owned by the config work; this is the interface the rest relies on.)
//!
//! Semantics (a subset of jq's, chosen so a missing value is never mistaken for one):
//! - `eval` returns the stream of outputs, in order.
//! - A missing key, an index out of range, or indexing a value of the wrong type yields
//!   *nothing* (jq would yield `null` or fail); a key that exists with `null` yields `null`.
//!   So "absent" and "null" stay distinguishable for the `empty` no-data state.
//! - `.[]` iterates an array's elements or an object's values; on anything else, nothing.
//! - `?` is accepted after any step and ignored (errors already yield nothing).
//! - `select(c)` passes its input on once when `c` holds. A comparison holds when *any*
//!   output of its left (or right) path satisfies it; a path with no output compares as
//!   `null`, as in jq for a missing key. Order comparisons (`> >= < <=`) hold only between
//!   two numbers or two strings. `select(p)` holds when some output of `p` is truthy
//!   (anything but `null` and `false`).

use serde_json::Value as Json;

/// Nesting limit for `select(...)`, so no input can exhaust the stack.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    pub source: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad path `{path}` at column {col}: {message}")]
pub struct PathError {
    pub path: String,
    /// 1-based, in characters.
    pub col: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    Iterate,
    Recurse,
    Select(Box<Cond>),
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Or(Box<Cond>, Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Truthy(Operand),
    Cmp(Operand, CmpOp, Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Path(Vec<Step>),
    Lit(Json),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl JsonPath {
    pub fn parse(s: &str) -> Result<Self, PathError> {
        let mut p = Parser {
            src: s,
            chars: s.chars().collect(),
            pos: 0,
            depth: 0,
        };
        p.skip_ws();
        if p.at_end() {
            return Err(
                p.err("empty path; write `.` for the whole document or e.g. `.summary.p95_ms`")
            );
        }
        let steps = p.pipe()?;
        p.skip_ws();
        if !p.at_end() {
            return Err(p.err(&format!("unexpected `{}`", p.chars[p.pos])));
        }
        Ok(JsonPath {
            source: s.to_string(),
            steps,
        })
    }

    /// Every value the path yields, in order (jq's stream semantics; see the module doc).
    pub fn eval<'a>(&self, root: &'a Json) -> Vec<&'a Json> {
        run(&self.steps, root)
    }

    /// The first output, if any: what a single-valued signal reads.
    pub fn first<'a>(&self, root: &'a Json) -> Option<&'a Json> {
        self.eval(root).into_iter().next()
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

fn run<'a>(steps: &[Step], root: &'a Json) -> Vec<&'a Json> {
    let mut cur = vec![root];
    for step in steps {
        let mut next = Vec::new();
        for v in cur {
            apply(step, v, &mut next);
        }
        cur = next;
    }
    cur
}

fn apply<'a>(step: &Step, v: &'a Json, out: &mut Vec<&'a Json>) {
    match step {
        Step::Field(k) => {
            if let Some(x) = v.as_object().and_then(|o| o.get(k)) {
                out.push(x);
            }
        }
        Step::Index(i) => {
            if let Some(a) = v.as_array() {
                let len = a.len() as i64;
                let idx = if *i < 0 { len + i } else { *i };
                if (0..len).contains(&idx) {
                    out.push(&a[idx as usize]);
                }
            }
        }
        Step::Iterate => match v {
            Json::Array(a) => out.extend(a.iter()),
            Json::Object(o) => out.extend(o.values()),
            _ => {}
        },
        Step::Recurse => recurse(v, out),
        Step::Select(c) => {
            if holds(c, v) {
                out.push(v);
            }
        }
    }
}

fn recurse<'a>(v: &'a Json, out: &mut Vec<&'a Json>) {
    out.push(v);
    match v {
        Json::Array(a) => a.iter().for_each(|x| recurse(x, out)),
        Json::Object(o) => o.values().for_each(|x| recurse(x, out)),
        _ => {}
    }
}

fn operand_values<'a>(o: &'a Operand, input: &'a Json) -> Vec<&'a Json> {
    static NULL: Json = Json::Null;
    match o {
        Operand::Lit(j) => vec![j],
        Operand::Path(steps) => {
            let vs = run(steps, input);
            if vs.is_empty() {
                // Absent compares as null, as jq's `.missing == null` does.
                vec![&NULL]
            } else {
                vs
            }
        }
    }
}

fn holds(c: &Cond, input: &Json) -> bool {
    match c {
        Cond::Or(a, b) => holds(a, input) || holds(b, input),
        Cond::And(a, b) => holds(a, input) && holds(b, input),
        Cond::Truthy(o) => operand_values(o, input)
            .iter()
            .any(|v| !matches!(v, Json::Null | Json::Bool(false))),
        Cond::Cmp(l, op, r) => {
            let ls = operand_values(l, input);
            let rs = operand_values(r, input);
            ls.iter().any(|a| rs.iter().any(|b| compare(a, *op, b)))
        }
    }
}

fn compare(a: &Json, op: CmpOp, b: &Json) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => None,
        },
        (Json::String(x), Json::String(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match op {
        CmpOp::Eq => ord.map_or_else(|| a == b, |o| o == Ordering::Equal),
        CmpOp::Ne => ord.map_or_else(|| a != b, |o| o != Ordering::Equal),
        CmpOp::Gt => ord == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::Lt => ord == Some(Ordering::Less),
        CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
    }
}

struct Parser<'s> {
    src: &'s str,
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> PathError {
        PathError {
            path: self.src.to_string(),
            col: self.pos + 1,
            message: message.to_string(),
        }
    }

    fn err_at(&self, pos: usize, message: &str) -> PathError {
        PathError {
            path: self.src.to_string(),
            col: pos + 1,
            message: message.to_string(),
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A bare word at the cursor (`select`, `and`, `true`…), without consuming it.
    fn word(&self) -> String {
        self.chars[self.pos..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
            .collect()
    }

    /// `term ('|' term)*`: a pipe of unary steps is just their concatenation.
    fn pipe(&mut self) -> Result<Vec<Step>, PathError> {
        let mut steps = self.term()?;
        loop {
            self.skip_ws();
            if self.eat('|') {
                self.skip_ws();
                steps.extend(self.term()?);
            } else {
                return Ok(steps);
            }
        }
    }

    fn term(&mut self) -> Result<Vec<Step>, PathError> {
        self.skip_ws();
        match self.peek() {
            Some('.') => self.dotted(),
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                let w = self.word();
                if w == "select" {
                    self.pos += w.len();
                    self.skip_ws();
                    if !self.eat('(') {
                        return Err(self.err("expected `(` after `select`"));
                    }
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return Err(self.err_at(start, "`select` nested too deeply"));
                    }
                    let c = self.or_cond()?;
                    self.depth -= 1;
                    self.skip_ws();
                    if !self.eat(')') {
                        return Err(self.err("expected `)` to close `select(`"));
                    }
                    let mut steps = vec![Step::Select(Box::new(c))];
                    self.suffixes(&mut steps)?;
                    Ok(steps)
                } else {
                    Err(self.err(&format!(
                        "unknown word `{w}`; a path starts with `.` (e.g. `.{w}`) or is `select(...)`"
                    )))
                }
            }
            Some(c) => Err(self.err(&format!(
                "unexpected `{c}`; a path starts with `.`, e.g. `.summary.p95_ms`"
            ))),
            None => Err(self.err("path ends too early; expected `.` or `select(...)`")),
        }
    }

    /// `.`, `..`, `.a`, `."k"`, `.[...]`, then any suffixes.
    fn dotted(&mut self) -> Result<Vec<Step>, PathError> {
        let mut steps = Vec::new();
        // Caller saw the '.'.
        self.pos += 1;
        if self.eat('.') {
            steps.push(Step::Recurse);
        } else if let Some(s) = self.field_name()? {
            steps.push(Step::Field(s));
        }
        self.suffixes(&mut steps)?;
        Ok(steps)
    }

    /// After a `.`: an identifier or a quoted key, if there is one.
    fn field_name(&mut self) -> Result<Option<String>, PathError> {
        match self.peek() {
            Some(c) if c.is_alphabetic() || c == '_' => {
                let name: String = self.chars[self.pos..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_')
                    .collect();
                self.pos += name.chars().count();
                Ok(Some(name))
            }
            Some('"') => Ok(Some(self.string()?)),
            _ => Ok(None),
        }
    }

    fn suffixes(&mut self, steps: &mut Vec<Step>) -> Result<(), PathError> {
        loop {
            match self.peek() {
                Some('?') => self.pos += 1,
                Some('[') => steps.push(self.bracket()?),
                Some('.') if self.peek_at(1) == Some('[') => {
                    self.pos += 1;
                    steps.push(self.bracket()?);
                }
                Some('.') => {
                    let dot = self.pos;
                    self.pos += 1;
                    match self.field_name()? {
                        Some(s) => steps.push(Step::Field(s)),
                        None => {
                            return Err(self.err_at(
                                dot + 1,
                                "expected a key name, a quoted key or `[` after `.`",
                            ))
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// `[]`, `[3]`, `[-1]`, `["key"]`.
    fn bracket(&mut self) -> Result<Step, PathError> {
        let open = self.pos;
        self.pos += 1;
        self.skip_ws();
        let step = match self.peek() {
            Some(']') => Step::Iterate,
            Some('"') => Step::Field(self.string()?),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                match text.parse::<i64>() {
                    Ok(i) => Step::Index(i),
                    Err(_) if text == "-" => {
                        return Err(self.err_at(start, "expected a number after `-`"))
                    }
                    Err(_) => return Err(self.err_at(start, &format!("index `{text}` is too large"))),
                }
            }
            None => return Err(self.err_at(open, "`[` is not closed")),
            Some(c) => {
                return Err(self.err(&format!(
                    "unexpected `{c}` in `[...]`; write `[]`, an index such as `[0]` or `[-1]`, or a quoted key"
                )))
            }
        };
        self.skip_ws();
        if !self.eat(']') {
            return Err(match self.peek() {
                None => self.err_at(open, "`[` is not closed"),
                Some(c) => self.err(&format!("expected `]`, found `{c}`")),
            });
        }
        Ok(step)
    }

    /// A JSON string literal at the cursor.
    fn string(&mut self) -> Result<String, PathError> {
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        loop {
            match self.peek() {
                None => return Err(self.err_at(start, "string is not closed; add `\"`")),
                Some('\\') if !escaped => escaped = true,
                Some('"') if !escaped => break,
                Some(_) => escaped = false,
            }
            self.pos += 1;
        }
        self.pos += 1;
        let lit: String = self.chars[start..self.pos].iter().collect();
        serde_json::from_str::<String>(&lit)
            .map_err(|e| self.err_at(start, &format!("bad string literal: {e}")))
    }

    fn or_cond(&mut self) -> Result<Cond, PathError> {
        let mut c = self.and_cond()?;
        while self.keyword("or") {
            let r = self.and_cond()?;
            c = Cond::Or(Box::new(c), Box::new(r));
        }
        Ok(c)
    }

    fn and_cond(&mut self) -> Result<Cond, PathError> {
        let mut c = self.cmp()?;
        while self.keyword("and") {
            let r = self.cmp()?;
            c = Cond::And(Box::new(c), Box::new(r));
        }
        Ok(c)
    }

    /// Consumes `kw` when it is the next whole word.
    fn keyword(&mut self, kw: &str) -> bool {
        self.skip_ws();
        if self.word() == kw {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    fn cmp(&mut self) -> Result<Cond, PathError> {
        let l = self.operand()?;
        self.skip_ws();
        let op = match (self.peek(), self.peek_at(1)) {
            (Some('='), Some('=')) => Some((CmpOp::Eq, 2)),
            (Some('!'), Some('=')) => Some((CmpOp::Ne, 2)),
            (Some('>'), Some('=')) => Some((CmpOp::Ge, 2)),
            (Some('<'), Some('=')) => Some((CmpOp::Le, 2)),
            (Some('>'), _) => Some((CmpOp::Gt, 1)),
            (Some('<'), _) => Some((CmpOp::Lt, 1)),
            (Some('='), _) => return Err(self.err("`=` is assignment in jq; compare with `==`")),
            _ => None,
        };
        match op {
            None => Ok(Cond::Truthy(l)),
            Some((op, n)) => {
                self.pos += n;
                let r = self.operand()?;
                Ok(Cond::Cmp(l, op, r))
            }
        }
    }

    fn operand(&mut self) -> Result<Operand, PathError> {
        self.skip_ws();
        match self.peek() {
            Some('.') => Ok(Operand::Path(self.dotted()?)),
            Some('"') => Ok(Operand::Lit(Json::String(self.string()?))),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(|n| Operand::Lit(Json::Number(n)))
                    .ok_or_else(|| self.err_at(start, &format!("`{text}` is not a number")))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let w = self.word();
                let lit = match w.as_str() {
                    "true" => Json::Bool(true),
                    "false" => Json::Bool(false),
                    "null" => Json::Null,
                    "select" => return Ok(Operand::Path(self.term()?)),
                    _ => {
                        return Err(self.err(&format!(
                            "unknown word `{w}`; expected a path such as `.{w}`, a number, a \"string\", true, false or null"
                        )))
                    }
                };
                self.pos += w.len();
                Ok(Operand::Lit(lit))
            }
            Some(c) => Err(self.err(&format!("unexpected `{c}`; expected a path or a value"))),
            None => Err(self.err("condition ends too early; expected a path or a value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(p: &str, v: &Json) -> Vec<Json> {
        JsonPath::parse(p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .eval(v)
            .into_iter()
            .cloned()
            .collect()
    }

    fn doc() -> Json {
        json!({
            "summary": {"p95_ms": 840, "error_rate_pct": 0.4, "none": null},
            "flags": {"v2_primary": true, "mode": "shadow"},
            "key with space": 7,
            "endpoints": [
                {"path": "/a", "critical": true, "p95_ms": 900},
                {"path": "/b", "critical": false, "p95_ms": 1500},
                {"path": "/c", "p95_ms": 1300}
            ]
        })
    }

    #[test]
    fn basic_paths() {
        let d = doc();
        assert_eq!(ev(".", &d), vec![d.clone()]);
        assert_eq!(ev(".summary.p95_ms", &d), vec![json!(840)]);
        assert_eq!(ev(".[\"key with space\"]", &d), vec![json!(7)]);
        assert_eq!(ev(".\"key with space\"", &d), vec![json!(7)]);
        assert_eq!(ev(".endpoints[0].path", &d), vec![json!("/a")]);
        assert_eq!(ev(".endpoints[-1].path", &d), vec![json!("/c")]);
        assert_eq!(ev(".endpoints.[1].path", &d), vec![json!("/b")]);
        assert_eq!(
            ev(".endpoints[].path", &d),
            vec![json!("/a"), json!("/b"), json!("/c")]
        );
        assert_eq!(ev(".endpoints[]?.path?", &d).len(), 3);
        assert_eq!(ev(".summary | .p95_ms", &d), vec![json!(840)]);
    }

    #[test]
    fn missing_yields_nothing_but_null_yields_null() {
        let d = doc();
        assert!(ev(".summary.nope", &d).is_empty());
        assert!(ev(".summary.p95_ms.deeper", &d).is_empty());
        assert!(ev(".endpoints[9]", &d).is_empty());
        assert!(ev(".flags[0]", &d).is_empty());
        assert_eq!(ev(".summary.none", &d), vec![Json::Null]);
    }

    #[test]
    fn select_filters() {
        let d = doc();
        let paths = |p: &str| -> Vec<Json> { ev(&format!(".endpoints[] | {p} | .path"), &d) };
        assert_eq!(paths("select(.critical)"), vec![json!("/a")]);
        assert_eq!(paths("select(.critical == true)"), vec![json!("/a")]);
        assert_eq!(
            paths("select(.critical != true)"),
            vec![json!("/b"), json!("/c")]
        );
        assert_eq!(paths("select(.critical == null)"), vec![json!("/c")]);
        assert_eq!(
            paths("select(.p95_ms > 1200)"),
            vec![json!("/b"), json!("/c")]
        );
        assert_eq!(
            paths("select(.p95_ms >= 1300)"),
            vec![json!("/b"), json!("/c")]
        );
        assert_eq!(paths("select(.p95_ms < 1000)"), vec![json!("/a")]);
        assert_eq!(paths("select(.p95_ms <= 900)"), vec![json!("/a")]);
        assert_eq!(paths("select(.path == \"/b\")"), vec![json!("/b")]);
        assert_eq!(
            paths("select(.p95_ms > 1000 and .critical == false)"),
            vec![json!("/b")]
        );
        assert_eq!(
            paths("select(.critical or .p95_ms > 1400)"),
            vec![json!("/a"), json!("/b")]
        );
        // Order on mixed types never holds.
        assert!(paths("select(.path > 3)").is_empty());
    }

    #[test]
    fn recurse() {
        let d = json!({"a": {"b": 1}});
        assert_eq!(ev("..", &d).len(), 3);
    }

    #[test]
    fn errors_carry_columns() {
        let e = JsonPath::parse(".a[").unwrap_err();
        assert_eq!(e.col, 3);
        let e = JsonPath::parse(".a.").unwrap_err();
        assert_eq!(e.col, 4);
        let e = JsonPath::parse("summary").unwrap_err();
        assert_eq!(e.col, 1);
        let e = JsonPath::parse(".a | select(.b = 1)").unwrap_err();
        assert_eq!(e.col, 16);
        let e = JsonPath::parse(".a[99999999999999999999]").unwrap_err();
        assert_eq!(e.col, 4);
        assert!(e.to_string().contains("too large"), "{e}");
    }

    #[test]
    fn odd_inputs_never_panic() {
        let d = doc();
        let mut odd: Vec<String> = [
            "",
            ".",
            "..",
            "...",
            ".[",
            ".]",
            "[",
            "]",
            "select(",
            "select",
            "select()",
            "select(.a ==",
            "select(.a == )",
            ".a[99999999999999999999]",
            ".a[-99999999999999999999]",
            ".a[-]",
            ".\"",
            ".\"\\",
            ".\"\\u12\"",
            "|",
            ". |",
            "| .",
            ".a | | .b",
            "?",
            ".?",
            ".[?]",
            ".a[\"x\"",
            "select(.a and)",
            "select(or)",
            "select(1e999 > .a)",
            "select(.a > -)",
            "é",
            ".é",
            ".[\"é\"]",
            "\u{0}",
            ". \t\n",
            ".a[0][0][0]",
            "select(select(select(.)))",
            ".a..b",
            "..[]",
            ".[]?[]?",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        odd.push("select(".repeat(100));
        odd.push(".a".repeat(1000));
        odd.push("[".repeat(1000));
        for s in &odd {
            if let Ok(p) = JsonPath::parse(s) {
                let _ = p.eval(&d);
            }
        }
        // Every prefix of a realistic path parses or errors cleanly.
        let full = ".endpoints[] | select(.critical == true and .p95_ms >= 1.5e3) | .[\"path\"]";
        for (i, _) in full.char_indices() {
            if let Ok(p) = JsonPath::parse(&full[..i]) {
                let _ = p.eval(&d);
            }
        }
    }
}
