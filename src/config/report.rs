//! `warroom validate`: every problem with its location, or a one-line summary.

use super::{load_file, ConfigError};
use std::io::Write;
use std::path::Path;

/// Checks the config at `path`, writes the outcome to `out` and returns the exit code:
/// 0 when it loads, 2 when it does not (or cannot be read).
pub fn run_validate(path: &Path, out: &mut dyn Write) -> i32 {
    let file = path.display().to_string();
    // A failed write (closed pipe) changes nothing about the verdict.
    match load_file(path) {
        Ok(cfg) => {
            let _ = writeln!(
                out,
                "ok: {file}: {}, {}, {}",
                count(cfg.sources.len(), "source"),
                count(cfg.signals.len(), "signal"),
                count(cfg.steps.len(), "step")
            );
            0
        }
        Err(ConfigError::Io { source, .. }) => {
            let _ = writeln!(out, "error: cannot read config {file}: {source}");
            2
        }
        Err(ConfigError::Invalid(problems)) => {
            for p in &problems {
                let _ = writeln!(out, "{p}");
            }
            let _ = writeln!(out, "{}", count(problems.len(), "problem"));
            2
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
