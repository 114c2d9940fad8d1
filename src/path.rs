//! jq-style paths into JSON: `.a.b`, `.a[0]`, `.a[]`, `select(.x == true)`, pipes.
//! (Owned by the config work; this is the interface the rest relies on.)

use serde_json::Value as Json;

#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad path `{path}` at column {col}: {message}")]
pub struct PathError {
    pub path: String,
    pub col: usize,
    pub message: String,
}

impl JsonPath {
    pub fn parse(s: &str) -> Result<Self, PathError> {
        Ok(JsonPath {
            source: s.to_string(),
        })
    }

    /// Every value the path yields, in order (jq's stream semantics).
    pub fn eval<'a>(&self, _root: &'a Json) -> Vec<&'a Json> {
        Vec::new()
    }
}
