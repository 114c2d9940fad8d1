//! Logs go to a file, never to the screen (the dashboard owns the terminal).

use std::path::Path;

/// Log to `file` with the `WARROOM_LOG` filter (default `warroom=info`). Without a
/// file nothing is logged.
pub fn init(file: Option<&Path>) -> Result<(), String> {
    let Some(path) = file else {
        return Ok(());
    };
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warroom=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(f))
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))
}
