//! MongoDB's query language over the simulated database's documents, for the `mongosh`
//! stand-in: filters (`{field: value}`, dotted paths through arrays, `$eq $ne $gt $gte $lt
//! $lte $in $nin $exists $size $and $or $nor $not`), projections, sorting, and aggregation
//! pipelines (`$match $unwind $group $count $project $addFields/$set $sort $limit $skip`,
//! accumulators `$sum $avg $min $max $first $last $push $addToSet $count`, expressions
//! `"$path"`, `$size $add $subtract $multiply $divide $ifNull $cond $gt $gte $lt $lte $eq
//! $ne $literal`).

use serde_json::{json, Map, Value};
use std::cmp::Ordering;

/// The values at a dotted path, arrays traversed (`a.b` on `{a: [{b: 1}, {b: 2}]}` is 1, 2).
pub(crate) fn path_values<'a>(doc: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut cur = vec![doc];
    for seg in path.split('.') {
        let mut next = Vec::new();
        for v in cur {
            match v {
                Value::Object(o) => {
                    if let Some(x) = o.get(seg) {
                        next.push(x);
                    }
                }
                Value::Array(a) => {
                    if let Ok(i) = seg.parse::<usize>() {
                        if let Some(x) = a.get(i) {
                            next.push(x);
                        }
                    } else {
                        for e in a {
                            if let Some(x) = e.get(seg) {
                                next.push(x);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        cur = next;
    }
    cur
}

/// The value at a dotted path, as an aggregation expression reads it: through an array,
/// the path maps over its elements (`"$followups.id"` is the list of ids).
fn path_value(doc: &Value, path: &str) -> Option<Value> {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    match doc {
        Value::Object(o) => {
            let v = o.get(head)?;
            match rest {
                None => Some(v.clone()),
                Some(r) => path_value(v, r),
            }
        }
        Value::Array(a) => Some(Value::Array(
            a.iter().filter_map(|e| path_value(e, path)).collect(),
        )),
        _ => None,
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Object(_) => 4,
        Value::Array(_) => 5,
        Value::Bool(_) => 8,
    }
}

/// BSON comparison order (numbers < strings < objects < arrays < booleans).
pub(crate) fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The candidates a condition is judged on: each value at the path and, for arrays, their
/// elements too.
fn candidates<'a>(doc: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for v in path_values(doc, path) {
        out.push(v);
        if let Value::Array(a) = v {
            out.extend(a.iter());
        }
    }
    out
}

fn is_operator_doc(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| !o.is_empty() && o.keys().all(|k| k.starts_with('$')))
}

fn cond_holds(doc: &Value, path: &str, cond: &Value) -> Result<bool, String> {
    if !is_operator_doc(cond) {
        let c = candidates(doc, path);
        if cond.is_null() {
            return Ok(c.is_empty() || c.iter().any(|v| v.is_null()));
        }
        return Ok(c.iter().any(|v| equal(v, cond)));
    }
    let Some(ops) = cond.as_object() else {
        return Ok(false);
    };
    for (op, arg) in ops {
        let c = candidates(doc, path);
        let ok = match op.as_str() {
            "$eq" => {
                if arg.is_null() {
                    c.is_empty() || c.iter().any(|v| v.is_null())
                } else {
                    c.iter().any(|v| equal(v, arg))
                }
            }
            "$ne" => !cond_holds(doc, path, &json!({"$eq": arg}))?,
            "$gt" | "$gte" | "$lt" | "$lte" => c.iter().any(|v| {
                type_rank(v) == type_rank(arg) && {
                    let o = compare(v, arg);
                    match op.as_str() {
                        "$gt" => o.is_gt(),
                        "$gte" => o.is_ge(),
                        "$lt" => o.is_lt(),
                        _ => o.is_le(),
                    }
                }
            }),
            "$in" => {
                let list = arg.as_array().ok_or("$in needs an array")?;
                list.iter()
                    .any(|x| cond_holds(doc, path, &json!({"$eq": x})).unwrap_or(false))
            }
            "$nin" => {
                let list = arg.as_array().ok_or("$nin needs an array")?;
                !list
                    .iter()
                    .any(|x| cond_holds(doc, path, &json!({"$eq": x})).unwrap_or(false))
            }
            "$exists" => {
                let want = match arg {
                    Value::Bool(b) => *b,
                    Value::Number(n) => n.as_f64() != Some(0.0),
                    Value::Null => false,
                    _ => true,
                };
                path_values(doc, path).is_empty() != want
            }
            "$size" => {
                let n = arg.as_u64().ok_or("$size needs a number")? as usize;
                path_values(doc, path)
                    .iter()
                    .any(|v| v.as_array().is_some_and(|a| a.len() == n))
            }
            "$not" => !cond_holds(doc, path, arg)?,
            other => return Err(format!("unknown operator: {other}")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether `doc` matches the filter.
pub(crate) fn matches(doc: &Value, filter: &Value) -> Result<bool, String> {
    let Some(f) = filter.as_object() else {
        return if filter.is_null() {
            Ok(true)
        } else {
            Err("query filter must be an object".into())
        };
    };
    for (k, v) in f {
        let ok = match k.as_str() {
            "$and" | "$or" | "$nor" => {
                let list = v
                    .as_array()
                    .filter(|l| !l.is_empty())
                    .ok_or_else(|| format!("{k} argument must be a non-empty array"))?;
                let rs = list
                    .iter()
                    .map(|x| matches(doc, x))
                    .collect::<Result<Vec<bool>, String>>()?;
                match k.as_str() {
                    "$and" => rs.iter().all(|x| *x),
                    "$or" => rs.iter().any(|x| *x),
                    _ => !rs.iter().any(|x| *x),
                }
            }
            op if op.starts_with('$') => return Err(format!("unknown top level operator: {op}")),
            path => cond_holds(doc, path, v)?,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn set_path(doc: &mut Map<String, Value>, path: &str, v: Value) {
    let mut segs = path.split('.').peekable();
    let mut cur = doc;
    while let Some(s) = segs.next() {
        if segs.peek().is_none() {
            cur.insert(s.to_string(), v);
            return;
        }
        let next = cur
            .entry(s.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(m) = next else { return };
        cur = m;
    }
}

/// A `find` projection: inclusion (`{a: 1}`, `_id` kept unless `_id: 0`) or exclusion.
pub(crate) fn project(doc: &Value, proj: &Value) -> Result<Value, String> {
    let Some(p) = proj.as_object().filter(|p| !p.is_empty()) else {
        return Ok(doc.clone());
    };
    let truthy = |v: &Value| match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        _ => true,
    };
    let inclusion = p.iter().any(|(k, v)| k != "_id" && truthy(v));
    let mut out = Map::new();
    if inclusion {
        if p.get("_id").is_none_or(truthy) {
            if let Some(id) = doc.get("_id") {
                out.insert("_id".into(), id.clone());
            }
        }
        for (k, v) in p {
            if k == "_id" || !truthy(v) {
                continue;
            }
            let val = if v.is_string() || v.is_object() {
                expr(doc, v)?
            } else {
                path_value(doc, k)
            };
            if let Some(val) = val {
                set_path(&mut out, k, val);
            }
        }
    } else if let Some(o) = doc.as_object() {
        for (k, v) in o {
            if p.get(k).is_none_or(truthy) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(Value::Object(out))
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn to_json_num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// An aggregation expression on `doc`; `None` is "missing".
pub(crate) fn expr(doc: &Value, e: &Value) -> Result<Option<Value>, String> {
    match e {
        Value::String(s) if s.starts_with("$$") => Err(format!("variables are not supported: {s}")),
        Value::String(s) if s.starts_with('$') => Ok(path_value(doc, &s[1..])),
        Value::Array(a) => {
            let mut out = Vec::new();
            for x in a {
                out.push(expr(doc, x)?.unwrap_or(Value::Null));
            }
            Ok(Some(Value::Array(out)))
        }
        Value::Object(o) if o.len() == 1 && o.keys().all(|k| k.starts_with('$')) => {
            let (op, arg) = o.iter().next().ok_or("empty expression")?;
            let args = |n: usize| -> Result<Vec<Value>, String> {
                let list = match arg {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                if n > 0 && list.len() != n {
                    return Err(format!("{op} takes {n} arguments"));
                }
                list.iter()
                    .map(|x| expr(doc, x).map(|v| v.unwrap_or(Value::Null)))
                    .collect()
            };
            let numbers = |vals: &[Value]| vals.iter().filter_map(num).collect::<Vec<f64>>();
            Ok(Some(match op.as_str() {
                "$literal" => arg.clone(),
                "$size" => {
                    let v = args(1)?;
                    match &v[0] {
                        Value::Array(a) => json!(a.len()),
                        _ => return Err("The argument to $size must be an array".into()),
                    }
                }
                "$sum" => {
                    let v = args(0)?;
                    let flat: Vec<Value> = v
                        .into_iter()
                        .flat_map(|x| match x {
                            Value::Array(a) => a,
                            o => vec![o],
                        })
                        .collect();
                    to_json_num(numbers(&flat).iter().sum())
                }
                "$add" => to_json_num(numbers(&args(0)?).iter().sum()),
                "$multiply" => to_json_num(numbers(&args(0)?).iter().product()),
                "$subtract" | "$divide" => {
                    let v = args(2)?;
                    let (Some(a), Some(b)) = (num(&v[0]), num(&v[1])) else {
                        return Ok(Some(Value::Null));
                    };
                    if op == "$divide" {
                        if b == 0.0 {
                            return Err("can't $divide by zero".into());
                        }
                        json!(a / b)
                    } else {
                        to_json_num(a - b)
                    }
                }
                "$ifNull" => {
                    let v = args(2)?;
                    if v[0].is_null() {
                        v[1].clone()
                    } else {
                        v[0].clone()
                    }
                }
                "$cond" => {
                    let v = match arg {
                        Value::Object(c) => vec![
                            expr(doc, c.get("if").unwrap_or(&Value::Null))?.unwrap_or(Value::Null),
                            expr(doc, c.get("then").unwrap_or(&Value::Null))?
                                .unwrap_or(Value::Null),
                            expr(doc, c.get("else").unwrap_or(&Value::Null))?
                                .unwrap_or(Value::Null),
                        ],
                        _ => args(3)?,
                    };
                    let t = !matches!(v[0], Value::Null | Value::Bool(false))
                        && v[0].as_f64() != Some(0.0);
                    if t {
                        v[1].clone()
                    } else {
                        v[2].clone()
                    }
                }
                "$gt" | "$gte" | "$lt" | "$lte" | "$eq" | "$ne" => {
                    let v = args(2)?;
                    let o = compare(&v[0], &v[1]);
                    let same = equal(&v[0], &v[1]);
                    json!(match op.as_str() {
                        "$gt" => o.is_gt(),
                        "$gte" => o.is_ge(),
                        "$lt" => o.is_lt(),
                        "$lte" => o.is_le(),
                        "$eq" => same,
                        _ => !same,
                    })
                }
                other => return Err(format!("Unrecognized expression '{other}'")),
            }))
        }
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                if let Some(x) = expr(doc, v)? {
                    out.insert(k.clone(), x);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        other => Ok(Some(other.clone())),
    }
}

fn sort(docs: &mut [Value], spec: &Value) -> Result<(), String> {
    let keys: Vec<(String, bool)> = spec
        .as_object()
        .ok_or("$sort needs an object")?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(1.0) >= 0.0))
        .collect();
    docs.sort_by(|a, b| {
        for (k, asc) in &keys {
            let (x, y) = (
                path_value(a, k).unwrap_or(Value::Null),
                path_value(b, k).unwrap_or(Value::Null),
            );
            let o = compare(&x, &y);
            if o != Ordering::Equal {
                return if *asc { o } else { o.reverse() };
            }
        }
        Ordering::Equal
    });
    Ok(())
}

pub(crate) fn sort_docs(docs: &mut [Value], spec: &Value) -> Result<(), String> {
    sort(docs, spec)
}

fn group(docs: Vec<Value>, spec: &Value) -> Result<Vec<Value>, String> {
    let s = spec.as_object().ok_or("$group needs an object")?;
    let id = s
        .get("_id")
        .ok_or("a group specification must include an _id")?;
    let mut groups: Vec<(Value, Vec<Value>)> = Vec::new();
    for d in docs {
        let key = expr(&d, id)?.unwrap_or(Value::Null);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(d),
            None => groups.push((key, vec![d])),
        }
    }
    let mut out = Vec::new();
    for (key, members) in groups {
        let mut row = Map::new();
        row.insert("_id".into(), key);
        for (field, acc) in s.iter().filter(|(k, _)| k.as_str() != "_id") {
            let (op, arg) = acc
                .as_object()
                .and_then(|o| o.iter().next())
                .ok_or_else(|| format!("The field '{field}' must be an accumulator object"))?;
            let vals: Vec<Value> = members
                .iter()
                .map(|m| expr(m, arg).map(|v| v.unwrap_or(Value::Null)))
                .collect::<Result<_, _>>()?;
            let nums: Vec<f64> = vals.iter().filter_map(num).collect();
            let v = match op.as_str() {
                "$sum" => to_json_num(nums.iter().sum()),
                "$count" => json!(members.len()),
                "$avg" if nums.is_empty() => Value::Null,
                "$avg" => json!(nums.iter().sum::<f64>() / nums.len() as f64),
                "$min" => vals
                    .iter()
                    .filter(|v| !v.is_null())
                    .min_by(|a, b| compare(a, b))
                    .cloned()
                    .unwrap_or(Value::Null),
                "$max" => vals
                    .iter()
                    .filter(|v| !v.is_null())
                    .max_by(|a, b| compare(a, b))
                    .cloned()
                    .unwrap_or(Value::Null),
                "$first" => vals.first().cloned().unwrap_or(Value::Null),
                "$last" => vals.last().cloned().unwrap_or(Value::Null),
                "$push" => Value::Array(vals),
                "$addToSet" => {
                    let mut set: Vec<Value> = Vec::new();
                    for v in vals {
                        if !set.contains(&v) {
                            set.push(v);
                        }
                    }
                    Value::Array(set)
                }
                other => return Err(format!("unknown group operator '{other}'")),
            };
            row.insert(field.clone(), v);
        }
        out.push(Value::Object(row));
    }
    Ok(out)
}

/// Runs a pipeline over a collection's documents.
pub(crate) fn aggregate(mut docs: Vec<Value>, pipeline: &Value) -> Result<Vec<Value>, String> {
    let stages = pipeline
        .as_array()
        .ok_or("aggregate() takes an array of stages")?;
    for st in stages {
        let (name, arg) = st
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
            .ok_or("A pipeline stage specification object must contain exactly one field.")?;
        docs = match name.as_str() {
            "$match" => {
                let mut kept = Vec::new();
                for d in docs {
                    if matches(&d, arg)? {
                        kept.push(d);
                    }
                }
                kept
            }
            "$unwind" => {
                let (path, keep) = match arg {
                    Value::String(s) => (s.clone(), false),
                    Value::Object(o) => (
                        o.get("path")
                            .and_then(Value::as_str)
                            .ok_or("$unwind needs a path")?
                            .to_string(),
                        o.get("preserveNullAndEmptyArrays")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    ),
                    _ => return Err("$unwind needs a field path".into()),
                };
                let field = path
                    .strip_prefix('$')
                    .ok_or("path option to $unwind stage should be prefixed with a '$'")?
                    .to_string();
                let mut out = Vec::new();
                for d in docs {
                    match path_value(&d, &field) {
                        Some(Value::Array(items)) if !items.is_empty() => {
                            for it in items {
                                let mut nd = d.clone();
                                if let Value::Object(m) = &mut nd {
                                    set_path(m, &field, it);
                                }
                                out.push(nd);
                            }
                        }
                        Some(Value::Array(_)) | None | Some(Value::Null) => {
                            if keep {
                                out.push(d);
                            }
                        }
                        Some(_) => out.push(d),
                    }
                }
                out
            }
            "$group" => group(docs, arg)?,
            "$count" => {
                let f = arg.as_str().ok_or("$count needs a field name")?;
                if docs.is_empty() {
                    Vec::new()
                } else {
                    vec![json!({ f: docs.len() })]
                }
            }
            "$project" => docs
                .iter()
                .map(|d| project(d, arg))
                .collect::<Result<_, _>>()?,
            "$addFields" | "$set" => {
                let fields = arg.as_object().ok_or("$addFields needs an object")?;
                let mut out = Vec::new();
                for mut d in docs {
                    let mut adds = Vec::new();
                    for (k, e) in fields {
                        adds.push((k.clone(), expr(&d, e)?.unwrap_or(Value::Null)));
                    }
                    if let Value::Object(m) = &mut d {
                        for (k, v) in adds {
                            set_path(m, &k, v);
                        }
                    }
                    out.push(d);
                }
                out
            }
            "$sort" => {
                sort(&mut docs, arg)?;
                docs
            }
            "$limit" => {
                let n = arg.as_u64().ok_or("$limit needs a positive number")? as usize;
                docs.truncate(n);
                docs
            }
            "$skip" => {
                let n = arg.as_u64().ok_or("$skip needs a positive number")? as usize;
                docs.into_iter().skip(n).collect()
            }
            other => return Err(format!("Unrecognized pipeline stage name: '{other}'")),
        };
    }
    Ok(docs)
}
