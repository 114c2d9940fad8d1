//! Colours as theme files name them, and how each meets the terminal's colour depth.

use ratatui::style::Color;

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
