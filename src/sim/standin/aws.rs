//! The `aws` stand-in (AWS CLI v2): `ssm get-parameter`, `ssm put-parameter` and
//! `cloudwatch get-metric-data`, with the global `--region`, `--profile`, `--output json|text`,
//! `--query` (JMESPath), `--no-cli-pager`. Output as the CLI prints it (JSON indented by 4,
//! timestamps in ISO 8601; text as tab-separated rows); exit codes as its documentation
//! gives them: 252 for a bad command line, 253 for a missing region, 254 when the service
//! answered an error (`An error occurred (ParameterNotFound) when calling the GetParameter
//! operation: `), 255 when it could not be reached.

use super::{jmespath, take_value, Control, Env, Output, Unreachable};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

const USAGE: &str = "\nusage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\nTo see help text, you can run:\n\n  aws help\n  aws <command> help\n  aws <command> <subcommand> help\n\n";

fn usage_error(msg: &str) -> Output {
    Output::fail(252, format!("{USAGE}aws: error: {msg}\n"))
}

#[derive(Debug, Default)]
struct Globals {
    region: Option<String>,
    profile: Option<String>,
    output: Option<String>,
    query: Option<String>,
}

/// Splits the global options (anywhere on the line) from the command and its parameters.
fn globals(args: &[String]) -> Result<(Globals, Vec<String>), String> {
    let mut g = Globals::default();
    let mut rest = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let slot = match a.split('=').next().unwrap_or("") {
            "--region" => Some(&mut g.region),
            "--profile" => Some(&mut g.profile),
            "--output" => Some(&mut g.output),
            "--query" => Some(&mut g.query),
            _ => None,
        };
        if let Some(slot) = slot {
            let name = a.split('=').next().unwrap_or("").to_string();
            let v = take_value(args, &mut i, &name)
                .unwrap_or(Err(format!("argument {name}: expected one argument")))?;
            *slot = Some(v);
        } else if matches!(
            a.as_str(),
            "--no-cli-pager"
                | "--no-paginate"
                | "--debug"
                | "--no-verify-ssl"
                | "--no-sign-request"
        ) {
        } else if a.starts_with("--endpoint-url")
            || a.starts_with("--color")
            || a.starts_with("--cli-read-timeout")
            || a.starts_with("--cli-connect-timeout")
            || a.starts_with("--cli-binary-format")
        {
            if !a.contains('=') {
                i += 1;
            }
        } else {
            rest.push(a.clone());
        }
        i += 1;
    }
    Ok((g, rest))
}

/// `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region` in the config
/// file (`AWS_CONFIG_FILE`, else `~/.aws/config`).
fn region(g: &Globals, env: Env<'_>) -> Option<String> {
    if let Some(r) = g.region.clone().filter(|r| !r.is_empty()) {
        return Some(r);
    }
    for k in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Some(r) = env(k).filter(|r| !r.is_empty()) {
            return Some(r);
        }
    }
    let file =
        env("AWS_CONFIG_FILE").or_else(|| env("HOME").map(|h| format!("{h}/.aws/config")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let profile = g
        .profile
        .clone()
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into());
    let section = if profile == "default" {
        "[default]".to_string()
    } else {
        format!("[profile {profile}]")
    };
    let mut inside = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            inside = l == section;
        } else if inside {
            if let Some((k, v)) = l.split_once('=') {
                if k.trim() == "region" && !v.trim().is_empty() {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

/// One operation's parameters: `--name value`, `--flag`, `--no-flag`.
struct Params {
    values: Map<String, Value>,
}

fn params(args: &[String], takes: &[&str], flags: &[&str]) -> Result<Params, String> {
    let mut values = Map::new();
    let mut unknown = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let name = a.split('=').next().unwrap_or("");
        if takes.contains(&name) {
            let v = take_value(args, &mut i, name).unwrap_or_else(|| Ok(String::new()))?;
            values.insert(name.to_string(), Value::String(v));
        } else if flags.contains(&a.as_str()) {
            values.insert(a.clone(), Value::Bool(true));
        } else if let Some(f) = a.strip_prefix("--no-") {
            if flags.contains(&format!("--{f}").as_str()) {
                values.insert(format!("--{f}"), Value::Bool(false));
            } else {
                unknown.push(a.clone());
            }
        } else {
            unknown.push(a.clone());
        }
        i += 1;
    }
    if !unknown.is_empty() {
        return Err(format!("Unknown options: {}", unknown.join(", ")));
    }
    Ok(Params { values })
}

impl Params {
    fn get(&self, k: &str) -> Option<&str> {
        self.values.get(k).and_then(Value::as_str)
    }

    fn flag(&self, k: &str) -> Option<bool> {
        self.values.get(k).and_then(Value::as_bool)
    }

    fn require(&self, names: &[&str]) -> Result<(), String> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.get(n).is_none())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the following arguments are required: {}",
                missing.join(", ")
            ))
        }
    }
}

/// A parameter value: `file://path` is the file's content (as the CLI reads it).
fn param_value(v: &str) -> Result<String, String> {
    match v.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path)
            .map(|s| s.strip_suffix('\n').unwrap_or(&s).to_string())
            .map_err(|e| format!("Error parsing parameter: Unable to load paramfile {v}: {e}")),
        None => Ok(v.to_string()),
    }
}

/// `--start-time`/`--end-time`: ISO 8601 (with or without zone, or a date) or epoch seconds.
fn timestamp(v: &str) -> Option<f64> {
    if let Ok(n) = v.trim().parse::<f64>() {
        return Some(n);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v.trim()) {
        return Some(t.timestamp_millis() as f64 / 1000.0);
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v.trim(), f) {
            return Some(t.and_utc().timestamp_millis() as f64 / 1000.0);
        }
    }
    chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp() as f64)
}

/// An epoch as the CLI prints a timestamp: `2026-03-06T10:15:00+00:00` (microseconds when
/// there are any).
fn iso(epoch: f64) -> Value {
    let ms = (epoch * 1000.0).round() as i64;
    let t: DateTime<Utc> = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let s = if ms % 1000 == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    };
    Value::String(s)
}

struct Op {
    service: &'static str,
    /// The API's name, as the error line says it.
    api: &'static str,
    request: Value,
}

pub(crate) async fn run(args: &[String], env: Env<'_>) -> Output {
    if args.iter().any(|a| a == "--version") {
        return Output::ok(
            "aws-cli/2.17.0 Python/3.11.9 Linux/6.1 exe/x86_64 (warroom stand-in)\n",
        );
    }
    let (g, rest) = match globals(args) {
        Ok(x) => x,
        Err(e) => return usage_error(&e),
    };
    let output = g.output.clone().unwrap_or_else(|| "json".into());
    if !["json", "text"].contains(&output.as_str()) {
        return usage_error(&format!(
            "argument --output: the stand-in prints json and text (not {output:?})"
        ));
    }
    let query = match g.query.as_deref().map(jmespath::compile).transpose() {
        Ok(q) => q,
        Err(e) => {
            return Output::fail(
                252,
                format!(
                    "\nBad value for --query {}: {e}\n",
                    g.query.as_deref().unwrap_or("")
                ),
            )
        }
    };
    let (service, operation, op_args) = match rest.as_slice() {
        [s, o, tail @ ..] => (s.as_str(), o.as_str(), tail),
        [s] => {
            return usage_error(&format!(
                "the following arguments are required: operation (after {s})"
            ))
        }
        [] => return usage_error("the following arguments are required: command"),
    };
    let op = match build(service, operation, op_args) {
        Ok(op) => op,
        Err(e) => return usage_error(&e),
    };
    let Some(region) = region(&g, env) else {
        return Output::fail(
            253,
            "\nYou must specify a region. You can also configure your region by running \"aws configure\".\n",
        );
    };
    let endpoint = format!(
        "https://{}.{region}.amazonaws.com/",
        if op.service == "cloudwatch" {
            "monitoring"
        } else {
            op.service
        }
    );
    let unreachable = |u: Unreachable| {
        Output::fail(
            255,
            format!(
                "\nCould not connect to the endpoint URL: \"{endpoint}\"\n{}",
                u.hint()
            ),
        )
    };
    let control = match Control::from_env(env) {
        Ok(c) => c,
        Err(u) => return unreachable(u),
    };
    let reply = match control
        .post(
            &format!("/__sim/aws/{}/{}", op.service, op.api),
            &[("x-amz-region", region.clone())],
            &op.request,
        )
        .await
    {
        Ok(r) => r,
        Err(u) => return unreachable(u),
    };
    if reply.status != 200 {
        let code = reply.body["__type"].as_str().unwrap_or("InternalFailure");
        let msg = reply.body["message"].as_str().unwrap_or("");
        return Output::fail(
            254,
            format!(
                "\nAn error occurred ({code}) when calling the {} operation: {msg}\n",
                op.api
            ),
        );
    }
    let shown = cli_view(&op, reply.body);
    let result = match &query {
        Some(q) => q.search(&shown),
        None => shown,
    };
    Output::ok(if output == "text" {
        text(&result)
    } else {
        json_text(&result)
    })
}

/// The operation's API request from its command line.
fn build(service: &str, operation: &str, args: &[String]) -> Result<Op, String> {
    match (service, operation) {
        ("ssm", "get-parameter") => {
            let p = params(args, &["--name"], &["--with-decryption"])?;
            p.require(&["--name"])?;
            Ok(Op {
                service: "ssm",
                api: "GetParameter",
                request: json!({
                    "Name": p.get("--name"),
                    "WithDecryption": p.flag("--with-decryption").unwrap_or(false),
                }),
            })
        }
        ("ssm", "put-parameter") => {
            let p = params(
                args,
                &[
                    "--name",
                    "--value",
                    "--type",
                    "--description",
                    "--tier",
                    "--data-type",
                ],
                &["--overwrite"],
            )?;
            p.require(&["--name", "--value"])?;
            let mut req = json!({
                "Name": p.get("--name"),
                "Value": param_value(p.get("--value").unwrap_or(""))?,
            });
            if let Some(t) = p.get("--type") {
                req["Type"] = json!(t);
            }
            if let Some(o) = p.flag("--overwrite") {
                req["Overwrite"] = json!(o);
            }
            Ok(Op {
                service: "ssm",
                api: "PutParameter",
                request: req,
            })
        }
        ("cloudwatch", "get-metric-data") => {
            let p = params(
                args,
                &[
                    "--metric-data-queries",
                    "--start-time",
                    "--end-time",
                    "--scan-by",
                    "--max-datapoints",
                    "--label-options",
                    "--next-token",
                ],
                &[],
            )?;
            p.require(&["--metric-data-queries", "--start-time", "--end-time"])?;
            let raw = param_value(p.get("--metric-data-queries").unwrap_or(""))?;
            let queries: Value = serde_json::from_str(&raw).map_err(|e| {
                format!("Error parsing parameter '--metric-data-queries': the stand-in takes JSON (or file://), not shorthand: {e}")
            })?;
            if !queries.is_array() {
                return Err(
                    "Error parsing parameter '--metric-data-queries': expected a JSON list".into(),
                );
            }
            let time = |k: &str| {
                let v = p.get(k).unwrap_or("");
                timestamp(v).ok_or_else(|| format!("argument {k}: Invalid timestamp value: {v}"))
            };
            let mut req = json!({
                "MetricDataQueries": queries,
                "StartTime": time("--start-time")?,
                "EndTime": time("--end-time")?,
            });
            if let Some(s) = p.get("--scan-by") {
                req["ScanBy"] = json!(s);
            }
            if let Some(m) = p.get("--max-datapoints") {
                let n: u64 = m.parse().map_err(|_| {
                    format!("argument --max-datapoints: invalid integer value: {m}")
                })?;
                req["MaxDatapoints"] = json!(n);
            }
            Ok(Op {
                service: "cloudwatch",
                api: "GetMetricData",
                request: req,
            })
        }
        ("ssm", other) | ("cloudwatch", other) => Err(format!(
            "argument operation: Invalid choice '{other}': the stand-in serves {}",
            if service == "ssm" {
                "get-parameter | put-parameter"
            } else {
                "get-metric-data"
            }
        )),
        (other, _) => Err(format!(
            "argument command: Invalid choice '{other}': the stand-in serves ssm | cloudwatch"
        )),
    }
}

/// The answer as the CLI shows it: timestamps as ISO 8601.
fn cli_view(op: &Op, mut body: Value) -> Value {
    match op.api {
        "GetParameter" => {
            if let Some(t) = body
                .pointer("/Parameter/LastModifiedDate")
                .and_then(Value::as_f64)
            {
                body["Parameter"]["LastModifiedDate"] = iso(t);
            }
        }
        "GetMetricData" => {
            if let Some(rs) = body
                .get_mut("MetricDataResults")
                .and_then(Value::as_array_mut)
            {
                for r in rs {
                    if let Some(ts) = r.get_mut("Timestamps").and_then(Value::as_array_mut) {
                        for t in ts.iter_mut() {
                            if let Some(x) = t.as_f64() {
                                *t = iso(x);
                            }
                        }
                    }
                }
            }
        }
        _ => {}
    }
    body
}

/// `json.dumps(…, indent=4)` and a newline.
pub(crate) fn json_text(v: &Value) -> String {
    use serde::Serialize as _;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if v.serialize(&mut ser).is_err() {
        return "null\n".into();
    }
    let mut s = String::from_utf8_lossy(&buf).into_owned();
    s.push('\n');
    s
}

/// A scalar as Python's `str()` shows it.
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// The CLI's text output: a dict's scalars on one tab-separated line (sorted keys, its
/// name upper-cased first), then its lists and dicts; a list of scalars on one line.
pub(crate) fn text(v: &Value) -> String {
    let mut out = String::new();
    format_text(v, None, None, &mut out);
    out
}

fn format_text(v: &Value, ident: Option<&str>, keys: Option<&[String]>, out: &mut String) {
    match v {
        Value::Object(o) => {
            let mut scalars = Vec::new();
            let mut nested: Vec<(&String, &Value)> = Vec::new();
            match keys {
                None => {
                    let mut ks: Vec<&String> = o.keys().collect();
                    ks.sort();
                    for k in ks {
                        let x = &o[k];
                        if is_scalar(x) {
                            scalars.push(scalar(x));
                        } else {
                            nested.push((k, x));
                        }
                    }
                }
                Some(keys) => {
                    for k in keys {
                        scalars.push(o.get(k).map(scalar).unwrap_or_default());
                    }
                    let mut rest: Vec<&String> = o.keys().filter(|k| !keys.contains(k)).collect();
                    rest.sort();
                    for k in rest {
                        nested.push((k, &o[k]));
                    }
                }
            }
            if !scalars.is_empty() {
                if let Some(id) = ident {
                    scalars.insert(0, id.to_uppercase());
                }
                out.push_str(&scalars.join("\t"));
                out.push('\n');
            }
            for (k, x) in nested {
                format_text(x, Some(k), None, out);
            }
        }
        Value::Array(a) => {
            if a.is_empty() {
                return;
            }
            if a.iter().any(Value::is_object) {
                let mut keys: Vec<String> = a
                    .iter()
                    .filter_map(Value::as_object)
                    .flat_map(|o| {
                        o.iter()
                            .filter(|(_, v)| is_scalar(v))
                            .map(|(k, _)| k.clone())
                    })
                    .collect();
                keys.sort();
                keys.dedup();
                for e in a {
                    format_text(e, ident, Some(&keys), out);
                }
            } else if a.iter().any(Value::is_array) {
                let scalars: Vec<Value> = a.iter().filter(|x| is_scalar(x)).cloned().collect();
                if !scalars.is_empty() {
                    scalar_list(&scalars, ident, out);
                }
                for e in a.iter().filter(|x| !is_scalar(x)) {
                    format_text(e, ident, None, out);
                }
            } else {
                scalar_list(a, ident, out);
            }
        }
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn scalar_list(items: &[Value], ident: Option<&str>, out: &mut String) {
    match ident {
        Some(id) => {
            for i in items {
                out.push_str(&format!("{}\t{}\n", id.to_uppercase(), scalar(i)));
            }
        }
        None => {
            out.push_str(&items.iter().map(scalar).collect::<Vec<_>>().join("\t"));
            out.push('\n');
        }
    }
}
