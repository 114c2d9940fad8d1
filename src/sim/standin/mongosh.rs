//! The `mongosh` stand-in: `mongosh [URI] [--quiet] [--json[=relaxed|canonical]] --eval JS`
//! against the simulated database (`edn360` for that profile; any other database is empty,
//! as on a real server). It prints what the script prints and then the value of its last
//! statement (mongosh's own format, or Extended JSON with `--json`); without `--quiet` the
//! connection banner first. A script error goes to stderr as mongosh words it
//! (`ReferenceError: x is not defined`, `MongoServerError: …`), exit 1; no server:
//! `MongoNetworkError: connect ECONNREFUSED host:port`, exit 1.

use super::js::{inspect, Host, Interp, JsError, V};
use super::{Control, Env, Output, Unreachable};
use serde_json::Value;
use std::collections::BTreeMap;

/// Where the URI points: host:port (for messages), database, and the URI with any
/// credentials hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub host: String,
    pub db: String,
    pub shown: String,
}

pub(crate) fn target(uri: Option<&str>, host: Option<&str>, port: Option<&str>) -> Target {
    let default_host = format!(
        "{}:{}",
        host.unwrap_or("127.0.0.1"),
        port.unwrap_or("27017")
    );
    let Some(u) = uri else {
        return Target {
            host: default_host.clone(),
            db: "test".into(),
            shown: format!("mongodb://{default_host}/"),
        };
    };
    let (scheme, rest) = match u.split_once("://") {
        Some((s, r)) => (s, r),
        None if u.contains('/') || u.contains(':') => ("mongodb", u),
        // A bare name is a database on the default host.
        None => {
            return Target {
                host: default_host.clone(),
                db: u.to_string(),
                shown: format!("mongodb://{default_host}/{u}"),
            }
        }
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (creds, hosts) = match authority.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, authority),
    };
    let db = path.split('?').next().unwrap_or("");
    let db = if db.is_empty() { "test" } else { db }.to_string();
    let first = hosts.split(',').next().unwrap_or("127.0.0.1");
    let host = if first.contains(':') || scheme == "mongodb+srv" {
        first.to_string()
    } else {
        format!("{first}:27017")
    };
    let shown = match creds {
        Some(_) => format!("{scheme}://<credentials>@{hosts}/{path}"),
        None => format!("{scheme}://{hosts}/{path}"),
    };
    Target { host, db, shown }
}

/// The names `getSiblingDB('…')` is called with, to fetch those databases too.
fn sibling_dbs(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(at) = rest.find("getSiblingDB(") {
        rest = &rest[at + "getSiblingDB(".len()..];
        let t = rest.trim_start();
        if let Some(q) = t.chars().next().filter(|c| *c == '\'' || *c == '"') {
            if let Some(end) = t[1..].find(q) {
                out.push(t[1..1 + end].to_string());
            }
        }
    }
    out
}

struct Db {
    collections: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
    out: Vec<u8>,
    err: Vec<u8>,
}

impl Host for Db {
    fn documents(&mut self, db: &str, coll: &str) -> Result<Vec<Value>, JsError> {
        let Some(d) = self.collections.get(db) else {
            return Err(JsError {
                name: "MongoshInvalidInputError",
                message: format!(
                    "the stand-in fetched only the databases the script names; use getSiblingDB('{db}') with a literal name"
                ),
            });
        };
        Ok(d.get(coll).cloned().unwrap_or_default())
    }

    fn collection_names(&mut self, db: &str) -> Result<Vec<String>, JsError> {
        Ok(self
            .collections
            .get(db)
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default())
    }

    fn print(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.push(b'\n');
    }

    fn warn(&mut self, line: &str) {
        self.err.extend_from_slice(line.as_bytes());
        self.err.push(b'\n');
    }
}

/// Extended JSON of a result: relaxed is plain JSON; canonical types every number.
fn ejson(v: &Value, canonical: bool) -> Value {
    match v {
        Value::Number(n) if canonical => {
            let f = n.as_f64().unwrap_or(0.0);
            if n.is_i64() && f.abs() < 2_147_483_648.0 {
                serde_json::json!({"$numberInt": n.to_string()})
            } else if n.is_i64() {
                serde_json::json!({"$numberLong": n.to_string()})
            } else {
                serde_json::json!({"$numberDouble": n.to_string()})
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| ejson(x, canonical)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), ejson(x, canonical)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn pretty2(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into())
}

pub(crate) async fn run(args: &[String], env: Env<'_>) -> Output {
    let (mut uri, mut host, mut port) = (None, None, None);
    let (mut quiet, mut json, mut nodb) = (false, None::<bool>, false);
    let mut evals: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let value = |i: &mut usize| -> Option<String> {
            *i += 1;
            args.get(*i).cloned()
        };
        match a {
            "--quiet" => quiet = true,
            "--nodb" => nodb = true,
            "--norc" | "--tls" | "--ssl" | "--retryWrites" => {}
            "--json" | "--json=relaxed" => json = Some(false),
            "--json=canonical" => json = Some(true),
            "--eval" => match value(&mut i) {
                Some(v) => evals.push(v),
                None => {
                    return Output::fail(
                        1,
                        "MongoshInvalidInputError: --eval requires an argument\n",
                    )
                }
            },
            "--host" => host = value(&mut i),
            "--port" => port = value(&mut i),
            "-u"
            | "--username"
            | "-p"
            | "--password"
            | "--authenticationDatabase"
            | "--authenticationMechanism"
            | "--tlsCAFile"
            | "--apiVersion" => {
                value(&mut i);
            }
            a if a.starts_with("--eval=") => evals.push(a["--eval=".len()..].to_string()),
            a if a.starts_with('-') => {
                return Output::fail(
                    1,
                    format!("MongoshUnimplementedError: the warroom stand-in does not take {a}\n"),
                )
            }
            a => uri = Some(a.to_string()),
        }
        i += 1;
    }
    if evals.is_empty() {
        return Output::fail(
            1,
            "the warroom stand-in mongosh runs --eval scripts only (no interactive shell)\n",
        );
    }
    let src = evals.join("\n;\n");
    let t = target(uri.as_deref(), host.as_deref(), port.as_deref());
    let refused = |u: Unreachable| {
        Output::fail(
            1,
            format!(
                "MongoNetworkError: connect ECONNREFUSED {}\n{}",
                t.host,
                u.hint()
            ),
        )
    };
    let mut collections = BTreeMap::new();
    if !nodb {
        let control = match Control::from_env(env) {
            Ok(c) => c,
            Err(u) => return refused(u),
        };
        let mut names = vec![t.db.clone()];
        names.extend(sibling_dbs(&src));
        for name in names {
            if collections.contains_key(&name) {
                continue;
            }
            let reply = match control.get(&format!("/__sim/mongo/{name}"), &[]).await {
                Ok(r) => r,
                Err(u) => return refused(u),
            };
            if reply.status != 200 {
                return Output::fail(
                    1,
                    format!(
                        "MongoServerSelectionError: connect ECONNREFUSED {} ({})\n",
                        t.host,
                        reply.body["error"].as_str().unwrap_or("no MongoDB here")
                    ),
                );
            }
            let colls: BTreeMap<String, Vec<Value>> = reply.body["collections"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_array().cloned().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            collections.insert(name, colls);
        }
    }
    let mut host_db = Db {
        collections,
        out: Vec::new(),
        err: Vec::new(),
    };
    if !quiet {
        host_db.print("Current Mongosh Log ID:\t6650f00dcafe00000000cafe");
        host_db.print(&format!(
            "Connecting to:\t\t{}?directConnection=true&serverSelectionTimeoutMS=2000&appName=mongosh+2.2.10",
            t.shown
        ));
        host_db.print("Using MongoDB:\t\t7.0.11 (warroom stand-in)");
        host_db.print("Using Mongosh:\t\t2.2.10\n");
    }
    let db = (!nodb).then(|| t.db.clone());
    let result = Interp::new(&mut host_db, db).run(&src);
    let mut out = Output {
        stdout: std::mem::take(&mut host_db.out),
        stderr: std::mem::take(&mut host_db.err),
        code: 0,
    };
    match result {
        Ok(V::Undef) => {}
        Ok(v) => {
            let text = match json {
                Some(canonical) => pretty2(&ejson(&v.to_json().unwrap_or(Value::Null), canonical)),
                None => match v {
                    V::Str(s) => s,
                    other => inspect(&other),
                },
            };
            out.stdout.extend_from_slice(text.as_bytes());
            out.stdout.push(b'\n');
        }
        Err(e) => {
            out.stderr
                .extend_from_slice(format!("{}: {}\n", e.name, e.message).as_bytes());
            out.code = 1;
        }
    }
    out
}
