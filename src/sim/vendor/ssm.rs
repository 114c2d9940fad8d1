//! AWS Systems Manager Parameter Store for the simulated system: the profile's parameters
//! (`hse`: `/hse/traffic-split-percent`), read and written as `GetParameter` and
//! `PutParameter` do. A parameter the system reads moves the system when it is written (the
//! split follows `put-parameter … --value 0 --overwrite` for real), and the system's own
//! changes (the split set over its admin API) show in the parameter, with a new version.

use super::aws::{AwsError, ACCOUNT};
use crate::sim::state::{lock, Sim};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stored {
    pub value: String,
    pub kind: String,
    pub version: u64,
    pub modified: DateTime<Utc>,
}

/// The parameters and their history of versions (the latest only).
#[derive(Debug, Default)]
pub(crate) struct Store {
    params: Mutex<BTreeMap<String, Stored>>,
}

impl Store {
    pub fn new(spec: &crate::sim::ProfileSpec, at: DateTime<Utc>) -> Self {
        let params = spec
            .parameters
            .iter()
            .map(|p| {
                (
                    p.name.to_string(),
                    Stored {
                        value: p.initial.to_string(),
                        kind: p.kind.to_string(),
                        version: 1,
                        modified: at,
                    },
                )
            })
            .collect();
        Store {
            params: Mutex::new(params),
        }
    }

    pub fn get(&self, name: &str) -> Option<Stored> {
        lock(&self.params).get(name).cloned()
    }

    pub fn names(&self) -> Vec<(String, String)> {
        lock(&self.params)
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect()
    }

    /// Writes a value (a new version when it changes or `force`); returns the version.
    fn write(&self, name: &str, value: &str, kind: Option<&str>, at: DateTime<Utc>) -> u64 {
        let mut p = lock(&self.params);
        match p.get_mut(name) {
            Some(s) => {
                s.value = value.to_string();
                if let Some(k) = kind {
                    s.kind = k.to_string();
                }
                s.version += 1;
                s.modified = at;
                s.version
            }
            None => {
                p.insert(
                    name.to_string(),
                    Stored {
                        value: value.to_string(),
                        kind: kind.unwrap_or("String").to_string(),
                        version: 1,
                        modified: at,
                    },
                );
                1
            }
        }
    }
}

/// The system itself changed what a parameter says (the split set over HTTP): the parameter
/// gets the new value as a new version, without acting on it again.
pub(crate) fn record(sim: &Sim, name: &str, value: &str) {
    if sim.ssm().get(name).is_some_and(|s| s.value != value) {
        sim.ssm().write(name, value, None, sim.now_wall());
    }
}

fn valid_name(name: &str) -> Result<(), AwsError> {
    let ok = !name.is_empty()
        && name.len() <= 2048
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
        && !name.contains("//");
    if ok {
        Ok(())
    } else {
        Err(AwsError::new(
            "ValidationException",
            format!("Parameter name {name:?}: a name may only contain a-zA-Z0-9_.-/"),
        ))
    }
}

fn name_of(request: &Value) -> Result<&str, AwsError> {
    let name = request
        .get("Name")
        .and_then(Value::as_str)
        .ok_or_else(|| AwsError::new("ValidationException", "Name is required"))?;
    valid_name(name)?;
    Ok(name)
}

/// `GetParameter`: `{"Parameter": {"Name","Type","Value","Version","LastModifiedDate","ARN","DataType"}}`,
/// `LastModifiedDate` in epoch seconds as the API sends it.
pub(crate) fn get_parameter(sim: &Sim, region: &str, request: &Value) -> Result<Value, AwsError> {
    let name = name_of(request)?;
    // The API answers ParameterNotFound with an empty message.
    let p = sim
        .ssm()
        .get(name)
        .ok_or_else(|| AwsError::new("ParameterNotFound", ""))?;
    let arn_name = if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    };
    Ok(json!({"Parameter": {
        "Name": name,
        "Type": p.kind,
        "Value": p.value,
        "Version": p.version,
        "LastModifiedDate": p.modified.timestamp_millis() as f64 / 1000.0,
        "ARN": format!("arn:aws:ssm:{region}:{ACCOUNT}:parameter{arn_name}"),
        "DataType": "text",
    }}))
}

/// `PutParameter`: `{"Version": n, "Tier": "Standard"}`. Overwriting needs `Overwrite`, a new
/// parameter needs a `Type`; the system acts on a parameter it reads.
pub(crate) fn put_parameter(sim: &Sim, request: &Value) -> Result<Value, AwsError> {
    let name = name_of(request)?;
    let value = request
        .get("Value")
        .and_then(Value::as_str)
        .ok_or_else(|| AwsError::new("ValidationException", "Value is required"))?;
    if value.is_empty() {
        return Err(AwsError::new(
            "ValidationException",
            "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let kind = request.get("Type").and_then(Value::as_str);
    if let Some(k) = kind {
        if !["String", "StringList", "SecureString"].contains(&k) {
            return Err(AwsError::new(
                "ValidationException",
                format!("1 validation error detected: Value '{k}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]"),
            ));
        }
    }
    let overwrite = request
        .get("Overwrite")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let exists = sim.ssm().get(name).is_some();
    if exists && !overwrite {
        return Err(AwsError::new(
            "ParameterAlreadyExists",
            "The parameter already exists. To overwrite this request value, set the overwrite option in the request to true.",
        ));
    }
    if !exists && kind.is_none() {
        return Err(AwsError::new(
            "ValidationException",
            "A parameter type is required when you create a parameter.",
        ));
    }
    let version = sim.ssm().write(name, value, kind, sim.now_wall());
    if let Some(apply) = sim
        .spec
        .parameters
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.apply)
    {
        apply(sim, value);
    }
    Ok(json!({"Version": version, "Tier": "Standard"}))
}
