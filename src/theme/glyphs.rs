//! Glyph sets: how each state is drawn (a symbol and a word, from one table) and the
//! decorations around them, in Unicode and in plain ASCII.

use crate::engine::{Band, Severity, Status};
use ratatui::symbols::border;
use std::fmt;

/// A state as drawn: a symbol and its word, e.g. `✖` and `CRIT`, drawn "✖ CRIT".
/// ASCII has no symbols, so there the word stands alone, bracketed: "[CRIT]".
/// A colour never tells a state on its own: the word is always there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyph {
    /// Empty in ASCII.
    pub symbol: &'static str,
    pub word: &'static str,
    /// Symbol and word as drawn, built with them by `glyph!` so the two never disagree.
    label: &'static str,
}

impl Glyph {
    /// Symbol and word, e.g. "✖ CRIT" or "[CRIT]".
    pub fn label(&self) -> &'static str {
        self.label
    }

    /// The symbol, a space and `text`; only `text` when there is no symbol (ASCII).
    pub fn before(&self, text: &str) -> String {
        if self.symbol.is_empty() {
            text.to_string()
        } else {
            format!("{} {text}", self.symbol)
        }
    }
}

impl fmt::Display for Glyph {
    /// The label, honouring width and alignment (`{:<7}` lines states up in columns).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.label)
    }
}

/// `glyph!("✖", "CRIT")` for a symbol and its word; `glyph!("CRIT")` for a word alone.
macro_rules! glyph {
    ($symbol:literal, $word:literal) => {
        Glyph {
            symbol: $symbol,
            word: $word,
            label: concat!($symbol, " ", $word),
        }
    };
    ($word:literal) => {
        Glyph {
            symbol: "",
            word: $word,
            label: concat!("[", $word, "]"),
        }
    };
}

/// States as symbol and word, and the decorations; `ASCII_GLYPHS` has only ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    /// True for the ASCII set: arrows and the big clock are drawn in ASCII too.
    pub ascii: bool,
    pub ok: Glyph,
    pub warn: Glyph,
    pub crit: Glyph,
    /// The three kinds of no data: the source failed, the value is missing, or it is old.
    pub error: Glyph,
    pub empty: Glyph,
    pub stale: Glyph,
    pub info: Glyph,
    /// Before a critical signal's label.
    pub critical_marker: &'static str,
    /// The current step, and a focused panel's title.
    pub current: &'static str,
    /// The selected row.
    pub selected: &'static str,
    /// A check that failed (a script's captured value off its expectation).
    pub fail: &'static str,
    pub tick_done: &'static str,
    pub tick_todo: &'static str,
    /// Between items on one line.
    pub sep: &'static str,
    /// Where text was cut.
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
    ascii: false,
    ok: glyph!("✔", "OK"),
    warn: glyph!("▲", "WARN"),
    crit: glyph!("✖", "CRIT"),
    error: glyph!("?", "ERROR"),
    empty: glyph!("?", "EMPTY"),
    stale: glyph!("?", "STALE"),
    info: glyph!("·", "INFO"),
    critical_marker: "★",
    current: "▶",
    selected: "▸",
    fail: "✘",
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
    ascii: true,
    ok: glyph!("OK"),
    warn: glyph!("WARN"),
    crit: glyph!("CRIT"),
    error: glyph!("ERROR"),
    empty: glyph!("EMPTY"),
    stale: glyph!("STALE"),
    info: glyph!("INFO"),
    critical_marker: "*",
    current: ">",
    selected: ">",
    fail: "FAIL",
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
    /// The glyph of a state: a band, or the kind of no data.
    pub fn status(&self, s: Status) -> Glyph {
        use crate::sample::NoDataKind::*;
        match s {
            Status::Band(b) => self.band(b),
            Status::NoData(Error) => self.error,
            Status::NoData(Empty) => self.empty,
            Status::NoData(Stale) => self.stale,
        }
    }

    pub fn band(&self, b: Band) -> Glyph {
        match b {
            Band::Ok => self.ok,
            Band::Warn => self.warn,
            Band::Crit => self.crit,
        }
    }

    pub fn severity(&self, s: Severity) -> Glyph {
        match s {
            Severity::Info => self.info,
            Severity::Warn => self.warn,
            Severity::Crit => self.crit,
        }
    }
}

/// One cell's ASCII stand-in for a character outside ASCII: whatever wrote it (a label,
/// an engine text with `→` or `·`), an ASCII screen shows only ASCII.
pub fn ascii_char(c: char) -> char {
    match c {
        '·' | '•' | '│' | '┃' | '║' => '|',
        '→' | '▶' | '▸' | '►' | '❯' => '>',
        '←' | '◀' | '◂' => '<',
        '↑' | '▲' => '^',
        '↓' | '▼' => 'v',
        '—' | '–' | '─' | '━' | '═' | '‐' | '−' => '-',
        '…' => '.',
        '★' | '✱' | '✳' => '*',
        '✔' | '✓' => '+',
        '✖' | '✗' | '✘' | '×' => 'x',
        '⚠' => '!',
        'Δ' => 'd',
        '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' => '+',
        '▁' | '▂' | '▃' => '_',
        '▄' | '▅' | '▆' => '=',
        '▇' | '█' | '▀' => '#',
        '‘' | '’' => '\'',
        '“' | '”' => '"',
        '\u{a0}' => ' ',
        c if c.is_ascii() => c,
        _ => '?',
    }
}
