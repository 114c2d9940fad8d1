//! Themes: colours named by meaning, loaded from `themes/*.toml`, and glyph sets.
//!
//! The serde types (`ThemeFile`, colour strings) are kept apart from the ratatui
//! styles (`Theme`) so a theme file never decides *how* a state is told apart
//! without colour: every state style carries a modifier (bold / reversed /
//! underlined) whatever the colours, and every state is drawn with its word.

use crate::engine::{Band, Severity, Status};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use serde::Deserialize;
use std::path::Path;

/// The themes bundled in the binary, in the order error messages list them.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../themes/mono.toml")),
];

/// How many colours the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum ColorDepth {
    /// No colour at all (`TERM=dumb`).
    None,
    /// The 16 ANSI colours: the safe default, SSH rarely forwards `COLORTERM`.
    #[default]
    Ansi16,
    Ansi256,
    TrueColor,
}

impl ColorDepth {
    /// Reads `COLORTERM` and `TERM` through `env` (a closure, so tests need no process env).
    pub fn detect(env: &dyn Fn(&str) -> Option<String>) -> ColorDepth {
        if let Some(ct) = env("COLORTERM") {
            let ct = ct.to_ascii_lowercase();
            if ct.contains("truecolor") || ct.contains("24bit") {
                return ColorDepth::TrueColor;
            }
        }
        match env("TERM") {
            Some(t) if t == "dumb" => ColorDepth::None,
            Some(t) if t.contains("256color") => ColorDepth::Ansi256,
            _ => ColorDepth::Ansi16,
        }
    }
}

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
            ascii,
            depth: ColorDepth::detect(env),
        }
    }
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

impl ThemeFile {
    /// The value of a role by its key (`banner.fg` for the banner's), if set.
    fn role(&self, role: &str) -> Option<&Option<String>> {
        let v = match role {
            "ok" => &self.ok,
            "warn" => &self.warn,
            "crit" => &self.crit,
            "no_data" => &self.no_data,
            "danger" => &self.danger,
            "accent" => &self.accent,
            "muted" => &self.muted,
            "text" => &self.text,
            "border" => &self.border,
            "selected" => &self.selected,
            "banner.fg" => &self.banner.fg,
            "banner.bg" => &self.banner.bg,
            _ => return None,
        };
        v.is_some().then_some(v)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BannerFile {
    pub fg: Option<String>,
    pub bg: Option<String>,
}

/// A colour as a theme file names it, before it meets the terminal's depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeColor {
    /// The terminal's own default.
    Reset,
    /// One of the 16 ANSI colours (0..=15).
    Ansi(u8),
    /// An xterm-256 index.
    Indexed(u8),
    Rgb(u8, u8, u8),
}

const NAMES: &[(&str, u8)] = &[
    ("black", 0),
    ("red", 1),
    ("green", 2),
    ("yellow", 3),
    ("blue", 4),
    ("magenta", 5),
    ("cyan", 6),
    ("gray", 7),
    ("grey", 7),
    ("darkgray", 8),
    ("darkgrey", 8),
    ("lightred", 9),
    ("lightgreen", 10),
    ("lightyellow", 11),
    ("lightblue", 12),
    ("lightmagenta", 13),
    ("lightcyan", 14),
    ("white", 15),
];

impl ThemeColor {
    /// `"red"`, `"light-red"`, `"dark_gray"`, `"#rrggbb"`, `"reset"`, or an index `"0"`..`"255"`.
    pub fn parse(s: &str) -> Option<ThemeColor> {
        let t = s.trim();
        if let Some(hex) = t.strip_prefix('#') {
            if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            let n = u32::from_str_radix(hex, 16).ok()?;
            return Some(ThemeColor::Rgb((n >> 16) as u8, (n >> 8) as u8, n as u8));
        }
        if let Ok(i) = t.parse::<u8>() {
            return Some(ThemeColor::Indexed(i));
        }
        let norm: String = t
            .chars()
            .filter(|c| *c != '-' && *c != '_' && *c != ' ')
            .collect::<String>()
            .to_ascii_lowercase();
        if matches!(norm.as_str(), "reset" | "default" | "none") {
            return Some(ThemeColor::Reset);
        }
        NAMES
            .iter()
            .find(|(n, _)| *n == norm)
            .map(|(_, i)| ThemeColor::Ansi(*i))
    }

    /// The ratatui colour for a terminal of `depth`: RGB and 256 indices are
    /// brought down to the nearest colour the terminal has.
    pub fn to_color(self, depth: ColorDepth) -> Color {
        match (self, depth) {
            (_, ColorDepth::None) | (ThemeColor::Reset, _) => Color::Reset,
            (ThemeColor::Ansi(i), _) => ansi16(i),
            (ThemeColor::Indexed(i), ColorDepth::Ansi16) if i >= 16 => {
                let (r, g, b) = xterm_rgb(i);
                ansi16(nearest16(r, g, b))
            }
            (ThemeColor::Indexed(i), _) if i < 16 => ansi16(i),
            (ThemeColor::Indexed(i), _) => Color::Indexed(i),
            (ThemeColor::Rgb(r, g, b), ColorDepth::TrueColor) => Color::Rgb(r, g, b),
            (ThemeColor::Rgb(r, g, b), ColorDepth::Ansi256) => Color::Indexed(nearest256(r, g, b)),
            (ThemeColor::Rgb(r, g, b), ColorDepth::Ansi16) => ansi16(nearest16(r, g, b)),
        }
    }
}

fn ansi16(i: u8) -> Color {
    match i {
        0 => Color::Black,
        1 => Color::Red,
        2 => Color::Green,
        3 => Color::Yellow,
        4 => Color::Blue,
        5 => Color::Magenta,
        6 => Color::Cyan,
        7 => Color::Gray,
        8 => Color::DarkGray,
        9 => Color::LightRed,
        10 => Color::LightGreen,
        11 => Color::LightYellow,
        12 => Color::LightBlue,
        13 => Color::LightMagenta,
        14 => Color::LightCyan,
        _ => Color::White,
    }
}

/// xterm's default values for the 16 ANSI colours (what most terminals show).
const ANSI16_RGB: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

fn xterm_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16_RGB[i as usize],
        16..=231 => {
            let n = i - 16;
            (
                CUBE[(n / 36) as usize],
                CUBE[((n / 6) % 6) as usize],
                CUBE[(n % 6) as usize],
            )
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

fn dist(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (x as i32 - y as i32).pow(2) as u32;
    d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)
}

fn nearest16(r: u8, g: u8, b: u8) -> u8 {
    (0u8..16)
        .min_by_key(|i| dist((r, g, b), ANSI16_RGB[*i as usize]))
        .unwrap_or(7)
}

/// Nearest in the 6×6×6 cube or the grey ramp (16..=255); the 16 ANSI slots are
/// skipped because terminals redefine them.
fn nearest256(r: u8, g: u8, b: u8) -> u8 {
    (16u8..=255)
        .min_by_key(|i| dist((r, g, b), xterm_rgb(*i)))
        .unwrap_or(16)
}

// ---------------------------------------------------------------- glyphs

/// Symbols and words for states and decorations; `ascii` has only ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    pub ok: &'static str,
    pub warn: &'static str,
    pub crit: &'static str,
    pub error: &'static str,
    pub empty: &'static str,
    pub stale: &'static str,
    pub info: &'static str,
    pub critical_marker: &'static str,
    pub current: &'static str,
    pub selected: &'static str,
    pub tick_done: &'static str,
    pub tick_todo: &'static str,
    pub sep: &'static str,
    pub ellipsis: &'static str,
    pub warning: &'static str,
    pub dash: &'static str,
    pub delta: &'static str,
    /// Sparkline levels, lowest first.
    pub spark: &'static [&'static str],
    pub border: border::Set<'static>,
}

const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

pub const UNICODE_GLYPHS: Glyphs = Glyphs {
    ok: "✔ OK",
    warn: "▲ WARN",
    crit: "✖ CRIT",
    error: "? ERROR",
    empty: "? EMPTY",
    stale: "? STALE",
    info: "· INFO",
    critical_marker: "★",
    current: "▶",
    selected: "▸",
    tick_done: "[x]",
    tick_todo: "[ ]",
    sep: " · ",
    ellipsis: "…",
    warning: "⚠",
    dash: "—",
    delta: "Δ",
    spark: &["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
    border: border::PLAIN,
};

pub const ASCII_GLYPHS: Glyphs = Glyphs {
    ok: "[OK]",
    warn: "[WARN]",
    crit: "[CRIT]",
    error: "[ERROR]",
    empty: "[EMPTY]",
    stale: "[STALE]",
    info: "[INFO]",
    critical_marker: "*",
    current: ">",
    selected: ">",
    tick_done: "[x]",
    tick_todo: "[ ]",
    sep: " | ",
    ellipsis: "...",
    warning: "!",
    dash: "-",
    delta: "d",
    spark: &[".", ":", "-", "=", "+", "*", "#"],
    border: ASCII_BORDER,
};

impl Glyphs {
    /// Symbol and word of a state, e.g. "✖ CRIT" or "[STALE]".
    pub fn status(&self, s: Status) -> &'static str {
        use crate::sample::NoDataKind::*;
        match s {
            Status::Band(b) => self.band(b),
            Status::NoData(Error) => self.error,
            Status::NoData(Empty) => self.empty,
            Status::NoData(Stale) => self.stale,
        }
    }
    pub fn band(&self, b: Band) -> &'static str {
        match b {
            Band::Ok => self.ok,
            Band::Warn => self.warn,
            Band::Crit => self.crit,
        }
    }
    pub fn severity(&self, s: Severity) -> &'static str {
        match s {
            Severity::Info => self.info,
            Severity::Warn => self.warn,
            Severity::Crit => self.crit,
        }
    }
}

// ---------------------------------------------------------------- ratatui side

/// Resolved styles by meaning, ready to draw with.
#[derive(Debug, Clone)]
pub struct Theme {
    name: String,
    color: bool,
    ok: Style,
    warn: Style,
    crit: Style,
    no_data: Style,
    danger: Style,
    accent: Style,
    muted: Style,
    text: Style,
    border: Style,
    selected: Style,
    banner: Style,
    glyphs: Glyphs,
}

/// Used for any role a theme leaves out (and for every role if a file is empty).
const FALLBACK: [(&str, ThemeColor); 10] = [
    ("ok", ThemeColor::Ansi(2)),
    ("warn", ThemeColor::Ansi(3)),
    ("crit", ThemeColor::Ansi(1)),
    ("no_data", ThemeColor::Ansi(5)),
    ("danger", ThemeColor::Ansi(1)),
    ("accent", ThemeColor::Ansi(6)),
    ("muted", ThemeColor::Ansi(8)),
    ("text", ThemeColor::Reset),
    ("border", ThemeColor::Ansi(8)),
    ("selected", ThemeColor::Ansi(4)),
];

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
        let over = match (&file.ansi16, opts.depth) {
            (Some(o), ColorDepth::Ansi16) => Some(o.as_ref()),
            _ => None,
        };
        let parse = |role: &str, v: &Option<String>| -> Result<Option<ThemeColor>, ThemeError> {
            // A role in `[ansi16]` wins at 16 colours; the field is found by its role name.
            let v = over.and_then(|o| o.role(role)).unwrap_or(v);
            match v {
                None => Ok(None),
                Some(s) => ThemeColor::parse(s)
                    .map(Some)
                    .ok_or_else(|| ThemeError::Color {
                        origin: origin.to_string(),
                        role: role.to_string(),
                        value: s.clone(),
                    }),
            }
        };
        let fb = |role: &str| {
            FALLBACK
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, c)| *c)
                .unwrap_or(ThemeColor::Reset)
        };
        let ok = parse("ok", &file.ok)?.unwrap_or(fb("ok"));
        let warn = parse("warn", &file.warn)?.unwrap_or(fb("warn"));
        let crit = parse("crit", &file.crit)?.unwrap_or(fb("crit"));
        let no_data = parse("no_data", &file.no_data)?.unwrap_or(fb("no_data"));
        // Within a theme, roles fall back to their nearest relative first, so a
        // theme that only restyles `crit` gets a matching danger and banner.
        let danger = parse("danger", &file.danger)?.unwrap_or(crit);
        let accent = parse("accent", &file.accent)?.unwrap_or(fb("accent"));
        let muted = parse("muted", &file.muted)?.unwrap_or(fb("muted"));
        let text = parse("text", &file.text)?.unwrap_or(fb("text"));
        let border_c = parse("border", &file.border)?.unwrap_or(muted);
        let selected = parse("selected", &file.selected)?.unwrap_or(fb("selected"));
        let banner_fg = parse("banner.fg", &file.banner.fg)?.unwrap_or(ThemeColor::Ansi(15));
        let banner_bg = parse("banner.bg", &file.banner.bg)?.unwrap_or(crit);

        let color = file.color.unwrap_or(true) && !opts.no_color && opts.depth != ColorDepth::None;
        let c = |tc: ThemeColor| {
            if color {
                tc.to_color(opts.depth)
            } else {
                Color::Reset
            }
        };
        let fg = |tc: ThemeColor| Style::new().fg(c(tc));

        // Modifiers are the same in every theme: they alone must tell states
        // apart when there is no colour (mono, NO_COLOR, TERM=dumb).
        let b = Modifier::BOLD;
        let selected_style = if color {
            Style::new().bg(c(selected))
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        };
        let banner = if color {
            Style::new()
                .fg(c(banner_fg))
                .bg(c(banner_bg))
                .add_modifier(b)
        } else {
            Style::new().add_modifier(b | Modifier::REVERSED)
        };
        Ok(Theme {
            name: file.name.clone().unwrap_or_else(|| origin.to_string()),
            color,
            ok: fg(ok),
            warn: fg(warn).add_modifier(b),
            crit: fg(crit).add_modifier(b | Modifier::REVERSED),
            no_data: fg(no_data).add_modifier(Modifier::UNDERLINED),
            // Production is drawn in danger style; reversed+bold so no theme can turn it off.
            danger: fg(danger).add_modifier(b | Modifier::REVERSED),
            accent: fg(accent).add_modifier(b),
            muted: fg(muted),
            text: fg(text),
            border: fg(border_c),
            selected: selected_style,
            banner,
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
    pub fn ok(&self) -> Style {
        self.ok
    }
    pub fn warn(&self) -> Style {
        self.warn
    }
    pub fn crit(&self) -> Style {
        self.crit
    }
    pub fn no_data(&self) -> Style {
        self.no_data
    }
    pub fn danger(&self) -> Style {
        self.danger
    }
    pub fn accent(&self) -> Style {
        self.accent
    }
    pub fn muted(&self) -> Style {
        self.muted
    }
    pub fn text(&self) -> Style {
        self.text
    }
    pub fn border(&self) -> Style {
        self.border
    }
    /// The selected row (a background, or reversed without colour).
    pub fn selected(&self) -> Style {
        self.selected
    }
    pub fn banner(&self) -> Style {
        self.banner
    }
    pub fn band(&self, b: Band) -> Style {
        match b {
            Band::Ok => self.ok,
            Band::Warn => self.warn,
            Band::Crit => self.crit,
        }
    }
    pub fn status(&self, s: Status) -> Style {
        match s {
            Status::Band(b) => self.band(b),
            Status::NoData(_) => self.no_data,
        }
    }
    pub fn severity(&self, s: Severity) -> Style {
        match s {
            Severity::Info => self.muted,
            Severity::Warn => self.warn,
            Severity::Crit => self.crit,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(depth: ColorDepth) -> ThemeOptions {
        ThemeOptions {
            no_color: false,
            ascii: false,
            depth,
        }
    }

    #[test]
    fn every_builtin_loads_at_every_depth() {
        for (name, _) in BUILTIN {
            for depth in [
                ColorDepth::None,
                ColorDepth::Ansi16,
                ColorDepth::Ansi256,
                ColorDepth::TrueColor,
            ] {
                let t = Theme::load(Some(name), opts(depth)).expect(name);
                assert_eq!(t.name(), *name);
            }
        }
    }

    #[test]
    fn fallback_fills_missing_roles() {
        let t = Theme::from_toml("crit = \"#ff0000\"", "t", opts(ColorDepth::TrueColor)).unwrap();
        assert_eq!(t.ok().fg, Some(Color::Green));
        assert_eq!(t.warn().fg, Some(Color::Yellow));
        assert_eq!(t.no_data().fg, Some(Color::Magenta));
        assert_eq!(t.accent().fg, Some(Color::Cyan));
        // Related roles follow the theme's own crit.
        assert_eq!(t.danger().fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(t.banner().bg, Some(Color::Rgb(255, 0, 0)));
        let empty = Theme::from_toml("", "t", opts(ColorDepth::Ansi16)).unwrap();
        assert_eq!(empty.crit().fg, Some(Color::Red));
    }

    #[test]
    fn depth_downgrades_rgb() {
        let c = ThemeColor::parse("#c00000").unwrap();
        assert_eq!(c.to_color(ColorDepth::TrueColor), Color::Rgb(0xc0, 0, 0));
        assert_eq!(c.to_color(ColorDepth::Ansi256), Color::Indexed(124));
        assert_eq!(c.to_color(ColorDepth::Ansi16), Color::Red);
        assert_eq!(c.to_color(ColorDepth::None), Color::Reset);
        let grey = ThemeColor::parse("#6c6c6c").unwrap();
        assert_eq!(grey.to_color(ColorDepth::Ansi256), Color::Indexed(242));
        assert_eq!(grey.to_color(ColorDepth::Ansi16), Color::DarkGray);
        assert_eq!(
            ThemeColor::Indexed(196).to_color(ColorDepth::Ansi16),
            Color::LightRed
        );
        let light = Theme::load(Some("light"), opts(ColorDepth::Ansi16)).unwrap();
        for s in [
            light.ok(),
            light.warn(),
            light.crit(),
            light.muted(),
            light.selected(),
        ] {
            for c in [s.fg, s.bg].into_iter().flatten() {
                assert!(
                    !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                    "{c:?} left at 16 colours"
                );
            }
        }
    }

    #[test]
    fn ansi16_table_overrides_at_16_colours_only() {
        let toml = "warn = \"#8a5a00\"\n[ansi16]\nwarn = \"magenta\"\n";
        let t16 = Theme::from_toml(toml, "t", opts(ColorDepth::Ansi16)).unwrap();
        assert_eq!(t16.warn().fg, Some(Color::Magenta));
        let t24 = Theme::from_toml(toml, "t", opts(ColorDepth::TrueColor)).unwrap();
        assert_eq!(t24.warn().fg, Some(Color::Rgb(0x8a, 0x5a, 0)));
        // Light at 16 colours keeps warn and crit apart.
        let light = Theme::load(Some("light"), opts(ColorDepth::Ansi16)).unwrap();
        assert_ne!(light.warn().fg, light.crit().fg);
        let dflt = Theme::load(Some("default"), opts(ColorDepth::Ansi16)).unwrap();
        assert_ne!(dflt.selected().bg, Some(Color::Black));
    }

    #[test]
    fn colour_names_parse() {
        assert_eq!(ThemeColor::parse("lightred"), Some(ThemeColor::Ansi(9)));
        assert_eq!(ThemeColor::parse("Light-Red"), Some(ThemeColor::Ansi(9)));
        assert_eq!(ThemeColor::parse("dark_gray"), Some(ThemeColor::Ansi(8)));
        assert_eq!(ThemeColor::parse("reset"), Some(ThemeColor::Reset));
        assert_eq!(ThemeColor::parse("42"), Some(ThemeColor::Indexed(42)));
        assert_eq!(ThemeColor::parse("#12345"), None);
        assert_eq!(ThemeColor::parse("reddish"), None);
    }

    #[test]
    fn bad_colour_names_the_role() {
        let e = Theme::from_toml("warn = \"amber\"", "x.toml", opts(ColorDepth::Ansi16))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("warn") && e.contains("amber") && e.contains("#rrggbb"),
            "{e}"
        );
        let e = Theme::from_toml("wran = \"red\"", "x.toml", opts(ColorDepth::Ansi16))
            .unwrap_err()
            .to_string();
        assert!(e.contains("wran"), "{e}");
    }

    #[test]
    fn unknown_name_lists_valid_names() {
        let e = Theme::load(Some("solarized"), opts(ColorDepth::Ansi16)).unwrap_err();
        assert!(matches!(e, ThemeError::Unknown { .. }));
        let msg = e.to_string();
        for (n, _) in BUILTIN {
            assert!(msg.contains(n), "{msg}");
        }
        assert!(msg.contains("solarized"));
    }

    #[test]
    fn missing_theme_path_is_an_error_not_a_panic() {
        let e = Theme::load(Some("/nonexistent/dir/t.toml"), opts(ColorDepth::Ansi16)).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/dir/t.toml"));
    }

    #[test]
    fn theme_file_from_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mine.toml");
        std::fs::write(&p, "name = \"mine\"\nok = \"#00ff00\"\n").unwrap();
        let t = Theme::load(p.to_str(), opts(ColorDepth::TrueColor)).unwrap();
        assert_eq!(t.name(), "mine");
        assert_eq!(t.ok().fg, Some(Color::Rgb(0, 255, 0)));
    }

    #[test]
    fn no_color_and_mono_have_no_colour_but_keep_modifiers() {
        let nc = Theme::load(
            Some("default"),
            ThemeOptions {
                no_color: true,
                ..opts(ColorDepth::TrueColor)
            },
        )
        .unwrap();
        let mono = Theme::load(Some("mono"), opts(ColorDepth::TrueColor)).unwrap();
        let dumb = Theme::load(Some("default"), opts(ColorDepth::None)).unwrap();
        for t in [&nc, &mono, &dumb] {
            assert!(!t.has_color());
            for s in [
                t.ok(),
                t.warn(),
                t.crit(),
                t.no_data(),
                t.danger(),
                t.banner(),
                t.selected(),
            ] {
                assert!(s.fg.is_none_or(|c| c == Color::Reset));
                assert!(s.bg.is_none_or(|c| c == Color::Reset));
            }
            // States stay distinct by modifier alone.
            let mods = [t.ok(), t.warn(), t.crit(), t.no_data()].map(|s| s.add_modifier);
            for i in 0..4 {
                for j in i + 1..4 {
                    assert_ne!(mods[i], mods[j]);
                }
            }
            assert!(t
                .danger()
                .add_modifier
                .contains(Modifier::REVERSED | Modifier::BOLD));
        }
    }

    #[test]
    fn depth_detection() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            ColorDepth::detect(&env(&[("COLORTERM", "truecolor"), ("TERM", "xterm")])),
            ColorDepth::TrueColor
        );
        assert_eq!(
            ColorDepth::detect(&env(&[("COLORTERM", "24bit")])),
            ColorDepth::TrueColor
        );
        assert_eq!(
            ColorDepth::detect(&env(&[("TERM", "xterm-256color")])),
            ColorDepth::Ansi256
        );
        assert_eq!(
            ColorDepth::detect(&env(&[("TERM", "dumb")])),
            ColorDepth::None
        );
        assert_eq!(
            ColorDepth::detect(&env(&[("TERM", "linux")])),
            ColorDepth::Ansi16
        );
        assert_eq!(ColorDepth::detect(&env(&[])), ColorDepth::Ansi16);
    }

    #[test]
    fn options_from_env() {
        let env = |k: &str| match k {
            "NO_COLOR" => Some("1".to_string()),
            "TERM" => Some("xterm-256color".to_string()),
            _ => None,
        };
        let o = ThemeOptions::detect(&env, false, true);
        assert!(o.no_color && o.ascii);
        assert_eq!(o.depth, ColorDepth::Ansi256);
        let empty = |k: &str| (k == "NO_COLOR").then(String::new);
        assert!(!ThemeOptions::detect(&empty, false, false).no_color);
        assert!(ThemeOptions::detect(&empty, true, false).no_color);
    }

    #[test]
    fn ascii_glyphs_are_ascii() {
        let g = ASCII_GLYPHS;
        let b = g.border;
        let all = [
            g.ok,
            g.warn,
            g.crit,
            g.error,
            g.empty,
            g.stale,
            g.info,
            g.critical_marker,
            g.current,
            g.selected,
            g.tick_done,
            g.tick_todo,
            g.sep,
            g.ellipsis,
            g.warning,
            b.top_left,
            b.top_right,
            b.bottom_left,
            b.bottom_right,
            b.vertical_left,
            b.vertical_right,
            b.horizontal_top,
            b.horizontal_bottom,
        ];
        for s in all.iter().chain(g.spark.iter()) {
            assert!(s.is_ascii(), "{s:?}");
        }
        assert_eq!(g.spark.concat(), ".:-=+*#");
    }
}
