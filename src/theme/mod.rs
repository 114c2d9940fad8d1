//! Themes: styles named by meaning (`Role`), loaded from `themes/*.toml`, and glyph sets.
//!
//! The serde types (`ThemeFile`, colour strings) are kept apart from the ratatui
//! styles (`Theme`) so a theme file never decides *how* a state is told apart
//! without colour: every state style carries a modifier (bold / reversed /
//! underlined) whatever the colours, and every state is drawn with its word.

mod color;
mod glyphs;

#[cfg(test)]
mod tests;

pub use color::{ColorDepth, ThemeColor};
pub use glyphs::{ascii_char, Glyph, Glyphs, ASCII_GLYPHS, UNICODE_GLYPHS};

use crate::engine::{Band, Severity, Status};
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::path::Path;

/// The themes bundled in the binary, in the order error messages list them.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThemeOptions {
    /// `--no-color` or `NO_COLOR`: no colour whatever the theme says.
    pub no_color: bool,
    /// `--ascii`: no box-drawing or symbol glyphs.
    pub ascii: bool,
    pub depth: ColorDepth,
}

impl ThemeOptions {
    /// From the environment and the command line: `NO_COLOR` (any non-empty
    /// value, per no-color.org) or `--no-color`; `--ascii`; depth from `TERM`/`COLORTERM`.
    pub fn detect(env: &dyn Fn(&str) -> Option<String>, no_color: bool, ascii: bool) -> Self {
        ThemeOptions {
            no_color: no_color || env("NO_COLOR").is_some_and(|v| !v.is_empty()),
            ascii: ascii || wants_ascii(env),
            depth: ColorDepth::detect(env),
        }
    }
}

/// Terminals that have no box drawing or symbols: ASCII glyphs for them without `--ascii`.
const ASCII_TERMS: &[&str] = &["dumb", "vt100", "vt102", "vt52", "vt220", "ansi"];

/// Whether the terminal needs ASCII glyphs: its locale is not UTF-8 (the first set of
/// `LC_ALL`, `LC_CTYPE`, `LANG`, as C reads them; none set is the C locale), or `TERM`
/// names a terminal without those glyphs.
pub fn wants_ascii(env: &dyn Fn(&str) -> Option<String>) -> bool {
    let term = env("TERM").unwrap_or_default();
    if ASCII_TERMS.contains(&term.trim()) {
        return true;
    }
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| env(k).filter(|v| !v.trim().is_empty()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    !(locale.contains("utf-8") || locale.contains("utf8"))
}

/// The dashboard redraws by moving the cursor; `TERM=dumb` cannot. Refused with what
/// works there instead.
pub fn refuse_dumb(env: &dyn Fn(&str) -> Option<String>) -> Result<(), String> {
    if env("TERM").is_some_and(|t| t.trim() == "dumb") {
        return Err(
            "TERM=dumb: this terminal cannot move the cursor, which the dashboard \
                    needs. Use `warroom check -c FILE` (one poll), or `warroom check -c FILE \
                    --window 30m` for one line per poll; or set TERM to your terminal's name"
                .into(),
        );
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("unknown theme `{name}`; valid names: {}, or a path to a .toml theme file", valid.join(", "))]
    Unknown { name: String, valid: Vec<String> },
    #[error("cannot read theme file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("theme {origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("theme {origin}: `{role}` = \"{value}\" is not a colour; write a name such as \"red\", \"lightred\", \"darkgray\", \"reset\", or \"#rrggbb\"")]
    Color {
        origin: String,
        role: String,
        value: String,
    },
}

// ---------------------------------------------------------------- serde side

/// A theme file as written. Every role is optional; fallbacks fill the gaps.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeFile {
    #[serde(default)]
    pub name: Option<String>,
    /// `false` turns all colour off (the `mono` theme).
    #[serde(default)]
    pub color: Option<bool>,
    pub ok: Option<String>,
    pub warn: Option<String>,
    pub crit: Option<String>,
    pub no_data: Option<String>,
    pub danger: Option<String>,
    pub accent: Option<String>,
    pub muted: Option<String>,
    pub text: Option<String>,
    pub border: Option<String>,
    /// Background of the selected row.
    pub selected: Option<String>,
    #[serde(default)]
    pub banner: BannerFile,
    /// The same role keys, used instead at 16 colours, where the nearest ANSI
    /// colour to an RGB value may be the wrong hue (an amber becomes red).
    #[serde(default)]
    pub ansi16: Option<Box<ThemeFile>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BannerFile {
    pub fg: Option<String>,
    pub bg: Option<String>,
}

// ---------------------------------------------------------------- roles

/// A style by meaning: what the screen asks a theme for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Ok,
    Warn,
    Crit,
    NoData,
    /// Production and danger actions: reversed and bold in every theme.
    Danger,
    /// Titles, the T-clock, what to look at next.
    Accent,
    Muted,
    Text,
    Border,
    /// The selected row: a background, or reversed without colour.
    Selected,
    /// The breach banner, edge to edge.
    Banner,
}

impl Role {
    pub const ALL: [Role; 11] = [
        Role::Ok,
        Role::Warn,
        Role::Crit,
        Role::NoData,
        Role::Danger,
        Role::Accent,
        Role::Muted,
        Role::Text,
        Role::Border,
        Role::Selected,
        Role::Banner,
    ];

    pub fn of_band(b: Band) -> Role {
        match b {
            Band::Ok => Role::Ok,
            Band::Warn => Role::Warn,
            Band::Crit => Role::Crit,
        }
    }

    pub fn of_status(s: Status) -> Role {
        match s {
            Status::Band(b) => Role::of_band(b),
            Status::NoData(_) => Role::NoData,
        }
    }

    pub fn of_severity(s: Severity) -> Role {
        match s {
            Severity::Info => Role::Muted,
            Severity::Warn => Role::Warn,
            Severity::Crit => Role::Crit,
        }
    }

    /// The role's style from its resolved colours. Modifiers are the same in every
    /// theme: they alone must tell states apart when there is no colour (mono,
    /// NO_COLOR, TERM=dumb).
    fn style(self, color: &dyn Fn(Key) -> Color, has_color: bool) -> Style {
        let fg = |k: Key| Style::new().fg(color(k));
        let bold = Modifier::BOLD;
        match self {
            Role::Ok => fg(Key::Ok),
            Role::Warn => fg(Key::Warn).add_modifier(bold),
            Role::Crit => fg(Key::Crit).add_modifier(bold | Modifier::REVERSED),
            Role::NoData => fg(Key::NoData).add_modifier(Modifier::UNDERLINED),
            // Reversed and bold so no theme can turn production's warning off.
            Role::Danger => fg(Key::Danger).add_modifier(bold | Modifier::REVERSED),
            Role::Accent => fg(Key::Accent).add_modifier(bold),
            Role::Muted => fg(Key::Muted),
            Role::Text => fg(Key::Text),
            Role::Border => fg(Key::Border),
            Role::Selected if has_color => Style::new().bg(color(Key::Selected)),
            Role::Selected => Style::new().add_modifier(Modifier::REVERSED),
            Role::Banner if has_color => Style::new()
                .fg(color(Key::BannerFg))
                .bg(color(Key::BannerBg))
                .add_modifier(bold),
            Role::Banner => Style::new().add_modifier(bold | Modifier::REVERSED),
        }
    }
}

/// A colour a theme file sets: a role's key, or the banner table's `fg` and `bg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Ok,
    Warn,
    Crit,
    NoData,
    Danger,
    Accent,
    Muted,
    Text,
    Border,
    Selected,
    BannerFg,
    BannerBg,
}

/// What a key a theme leaves out becomes.
enum Fallback {
    Color(ThemeColor),
    /// The colour of a nearest relative, so a theme that only restyles `crit` gets
    /// a matching danger and banner.
    Like(Key),
}

impl Key {
    /// In file order: the first bad colour is the one reported.
    const ALL: [Key; 12] = [
        Key::Ok,
        Key::Warn,
        Key::Crit,
        Key::NoData,
        Key::Danger,
        Key::Accent,
        Key::Muted,
        Key::Text,
        Key::Border,
        Key::Selected,
        Key::BannerFg,
        Key::BannerBg,
    ];

    /// As written in a theme file (and in its error messages).
    fn name(self) -> &'static str {
        match self {
            Key::Ok => "ok",
            Key::Warn => "warn",
            Key::Crit => "crit",
            Key::NoData => "no_data",
            Key::Danger => "danger",
            Key::Accent => "accent",
            Key::Muted => "muted",
            Key::Text => "text",
            Key::Border => "border",
            Key::Selected => "selected",
            Key::BannerFg => "banner.fg",
            Key::BannerBg => "banner.bg",
        }
    }

    fn get(self, f: &ThemeFile) -> Option<&String> {
        match self {
            Key::Ok => &f.ok,
            Key::Warn => &f.warn,
            Key::Crit => &f.crit,
            Key::NoData => &f.no_data,
            Key::Danger => &f.danger,
            Key::Accent => &f.accent,
            Key::Muted => &f.muted,
            Key::Text => &f.text,
            Key::Border => &f.border,
            Key::Selected => &f.selected,
            Key::BannerFg => &f.banner.fg,
            Key::BannerBg => &f.banner.bg,
        }
        .as_ref()
    }

    /// Used for every key a theme leaves out (and for every key of an empty file).
    fn fallback(self) -> Fallback {
        use Fallback::{Color, Like};
        match self {
            Key::Ok => Color(ThemeColor::Ansi(2)),
            Key::Warn => Color(ThemeColor::Ansi(3)),
            Key::Crit => Color(ThemeColor::Ansi(1)),
            Key::NoData => Color(ThemeColor::Ansi(5)),
            Key::Danger => Like(Key::Crit),
            Key::Accent => Color(ThemeColor::Ansi(6)),
            Key::Muted => Color(ThemeColor::Ansi(8)),
            Key::Text => Color(ThemeColor::Reset),
            Key::Border => Like(Key::Muted),
            Key::Selected => Color(ThemeColor::Ansi(4)),
            Key::BannerFg => Color(ThemeColor::Ansi(15)),
            Key::BannerBg => Like(Key::Crit),
        }
    }
}

// ---------------------------------------------------------------- ratatui side

/// Resolved styles by meaning, ready to draw with.
#[derive(Debug, Clone)]
pub struct Theme {
    name: String,
    color: bool,
    /// By `Role as usize`.
    styles: [Style; Role::ALL.len()],
    glyphs: Glyphs,
}

impl Theme {
    /// A bundled theme by name, or a theme file by path (`None` = `default`).
    pub fn load(name_or_path: Option<&str>, opts: ThemeOptions) -> Result<Theme, ThemeError> {
        let name = name_or_path.unwrap_or("default");
        if let Some((n, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
            return Theme::from_toml(text, n, opts);
        }
        // Only something that looks like a path is read, so a typo in a name
        // gets the list of names rather than "file not found".
        let looks_like_path = name.contains('/') || name.contains('\\') || name.ends_with(".toml");
        if !looks_like_path {
            return Err(ThemeError::Unknown {
                name: name.to_string(),
                valid: BUILTIN.iter().map(|(n, _)| n.to_string()).collect(),
            });
        }
        let text = std::fs::read_to_string(Path::new(name)).map_err(|source| ThemeError::Read {
            path: name.to_string(),
            source,
        })?;
        Theme::from_toml(&text, name, opts)
    }

    /// Parses theme TOML; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str, opts: ThemeOptions) -> Result<Theme, ThemeError> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| ThemeError::Parse {
            origin: origin.to_string(),
            message: e.message().to_string(),
        })?;
        Theme::from_file(&file, origin, opts)
    }

    pub fn from_file(
        file: &ThemeFile,
        origin: &str,
        opts: ThemeOptions,
    ) -> Result<Theme, ThemeError> {
        // A key in `[ansi16]` wins at 16 colours.
        let over = match (&file.ansi16, opts.depth) {
            (Some(o), ColorDepth::Ansi16) => Some(o.as_ref()),
            _ => None,
        };
        let mut set = [None; Key::ALL.len()];
        for key in Key::ALL {
            let Some(s) = over.and_then(|o| key.get(o)).or(key.get(file)) else {
                continue;
            };
            let c = ThemeColor::parse(s).ok_or_else(|| ThemeError::Color {
                origin: origin.to_string(),
                role: key.name().to_string(),
                value: s.clone(),
            })?;
            set[key as usize] = Some(c);
        }
        fn resolve(set: &[Option<ThemeColor>], key: Key) -> ThemeColor {
            match (set[key as usize], key.fallback()) {
                (Some(c), _) | (None, Fallback::Color(c)) => c,
                (None, Fallback::Like(k)) => resolve(set, k),
            }
        }
        let color = file.color.unwrap_or(true) && !opts.no_color && opts.depth != ColorDepth::None;
        let terminal = |k: Key| {
            if color {
                resolve(&set, k).to_color(opts.depth)
            } else {
                Color::Reset
            }
        };
        Ok(Theme {
            name: file.name.clone().unwrap_or_else(|| origin.to_string()),
            color,
            styles: Role::ALL.map(|r| r.style(&terminal, color)),
            glyphs: if opts.ascii {
                ASCII_GLYPHS
            } else {
                UNICODE_GLYPHS
            },
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// False for mono, NO_COLOR and TERM=dumb.
    pub fn has_color(&self) -> bool {
        self.color
    }

    /// The style of a role.
    pub fn style(&self, role: Role) -> Style {
        self.styles[role as usize]
    }

    pub fn band(&self, b: Band) -> Style {
        self.style(Role::of_band(b))
    }

    pub fn status(&self, s: Status) -> Style {
        self.style(Role::of_status(s))
    }

    pub fn severity(&self, s: Severity) -> Style {
        self.style(Role::of_severity(s))
    }

    pub fn glyphs(&self) -> &Glyphs {
        &self.glyphs
    }
}

impl Default for Theme {
    /// The bundled default theme at 16 colours.
    fn default() -> Self {
        Theme::from_file(&ThemeFile::default(), "default", ThemeOptions::default())
            .unwrap_or_else(|_| unreachable!("an empty theme file has no colour to reject"))
    }
}
