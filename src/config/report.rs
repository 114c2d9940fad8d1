//! `warroom validate`: every problem with its location, or a one-line summary.

use super::{load_str_in, read_config, ConfigError};
use std::io::Write;
use std::path::Path;

/// Checks the config at `path`, writes the outcome to `out` and returns the exit code:
/// 0 when it loads, 2 when it does not (or cannot be read).
pub fn run_validate(path: &Path, out: &mut dyn Write) -> i32 {
    run_validate_in(path, None, out).0
}

/// As `run_validate`, in the environment `env` (`--env`); the config, when it loads (for
/// `--print`, which the caller redacts).
pub fn run_validate_in(
    path: &Path,
    env: Option<&str>,
    out: &mut dyn Write,
) -> (i32, Option<super::Config>) {
    let file = path.display().to_string();
    match read_config(path) {
        Ok(text) => validate_text_in(&text, &file, &|k| std::env::var(k).ok(), env, out),
        // A failed write (closed pipe) changes nothing about the verdict.
        Err(ConfigError::Invalid(problems)) => {
            for p in &problems {
                let _ = writeln!(out, "{p}");
            }
            let _ = writeln!(out, "{}", count(problems.len(), "problem"));
            (2, None)
        }
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            (2, None)
        }
    }
}

/// As `run_validate` on a text already read, with the environment given (the fixture
/// tests pass a fixed map).
pub fn validate_text(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
) -> i32 {
    validate_text_in(text, file, env, None, out).0
}

/// As `validate_text`, in the environment `name`; the config, when it loads.
pub fn validate_text_in(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
    name: Option<&str>,
    out: &mut dyn Write,
) -> (i32, Option<super::Config>) {
    match load_str_in(text, file, env, name) {
        Ok(cfg) => {
            let _ = write!(
                out,
                "ok: {file}: {}, {}, {}",
                count(cfg.sources.len(), "source"),
                count(cfg.signals.len(), "signal"),
                count(cfg.steps.len(), "step")
            );
            if !cfg.actions.is_empty() {
                let _ = write!(out, ", {}", count(cfg.actions.len(), "action"));
            }
            match name {
                Some(_) => {
                    let _ = writeln!(out, " (environment \"{}\")", cfg.cutover.environment_name());
                }
                None => {
                    let _ = writeln!(out);
                }
            }
            (0, Some(cfg))
        }
        Err(e @ (ConfigError::Io { .. } | ConfigError::Refused { .. })) => {
            let _ = writeln!(out, "error: {e}");
            (2, None)
        }
        Err(ConfigError::Invalid(problems)) => {
            for p in &problems {
                let _ = writeln!(out, "{p}");
            }
            let _ = writeln!(out, "{}", count(problems.len(), "problem"));
            (2, None)
        }
    }
}

/// `1 source`, `3 sources`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
