//! `[ui]`: how the dashboard draws (theme, frame rate, read-only, ASCII glyphs).

use super::schema::{did_you_mean, kp, Shape, TableSchema};
use super::validate::Out;
use super::Config;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    #[serde(default)]
    pub theme: Option<String>,
    /// Upper bound on frames per second.
    #[serde(default = "default_fps")]
    pub max_fps: u32,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub ascii: bool,
}

impl Default for Ui {
    fn default() -> Self {
        Ui {
            theme: None,
            max_fps: default_fps(),
            read_only: false,
            ascii: false,
        }
    }
}

fn default_fps() -> u32 {
    20
}

pub static UI: TableSchema = TableSchema {
    name: "[ui]",
    keys: &[
        ("theme", Shape::Any),
        ("max_fps", Shape::Any),
        ("read_only", Shape::Any),
        ("ascii", Shape::Any),
    ],
    required: &[],
};

/// Themes built into the binary; anything else must be a theme file.
pub const BUILTIN_THEMES: &[&str] = &["default", "light", "high-contrast", "mono"];

pub(super) fn check(cfg: &Config, out: &mut Out) {
    if let Some(theme) = &cfg.ui.theme {
        if !BUILTIN_THEMES.contains(&theme.as_str()) && !theme.ends_with(".toml") {
            let hint = match did_you_mean(theme, BUILTIN_THEMES.iter().copied()) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!(
                    "built-in themes: {}; or a path to a theme file ending in .toml",
                    BUILTIN_THEMES.join(", ")
                ),
            };
            out.push(
                kp!["ui", "theme"],
                format!("unknown theme \"{theme}\""),
                Some(hint),
            );
        }
    }
    if !(1..=60).contains(&cfg.ui.max_fps) {
        out.push(
            kp!["ui", "max_fps"],
            format!("`max_fps` {} is outside 1..=60", cfg.ui.max_fps),
            None,
        );
    }
}
