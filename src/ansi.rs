//! The bytes of a frame: ratatui hands over only the cells that changed, and this backend
//! writes them with the fewest escape sequences a VT100-class terminal understands.
//!
//! What it saves over ratatui's crossterm backend, frame after frame over SSH:
//! - the style (colours and attributes) is remembered across frames, and a change is one
//!   SGR sequence with only what differs, instead of a reset of everything after each
//!   frame and a sequence per attribute;
//! - the cursor is moved relatively when that is shorter (`ESC[3C` rather than
//!   `ESC[12;40H`), and its visibility is only set when it changes;
//! - a frame in which no cell changed writes nothing ([`Ansi::wrote`] tells the screen,
//!   which then drops the frame's synchronized-update markers too).
//!
//! The 16 ANSI colours go out as the SGR codes every terminal knows (30–37, 90–97 and the
//! backgrounds 40–47, 100–107), never as 256-colour indices a 16-colour terminal shows
//! wrong. Nothing here reads from the terminal: the size comes from an ioctl, and the
//! cursor position is the one this backend left it at.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};
use std::io::{self, Write};

/// The terminal's drawing style as this backend last set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pen {
    fg: Color,
    bg: Color,
    modifier: Modifier,
}

const DEFAULT_PEN: Pen = Pen {
    fg: Color::Reset,
    bg: Color::Reset,
    modifier: Modifier::empty(),
};

/// A ratatui backend writing lean escape sequences to `W`.
pub struct Ansi<W: Write> {
    out: W,
    /// The style the terminal draws with now; `None` when unknown (at start, after the
    /// terminal was handed to someone else), so the next cell sets it whole.
    pen: Option<Pen>,
    /// Where the terminal's cursor is; `None` when unknown.
    cursor: Option<Position>,
    /// Whether the cursor is hidden; `None` when unknown.
    hidden: Option<bool>,
    /// The width the last cursor position is judged against (a cell written into the last
    /// column leaves the cursor in a state terminals disagree about).
    width: u16,
    /// Bytes written since [`Ansi::mark`].
    wrote: usize,
    /// What this backend left in each cell (symbol and style), row by row, `width` wide;
    /// `None` where unknown. A short gap between two changed cells of a row is cheaper
    /// written again from here than jumped over.
    shadow: Vec<Option<(String, Pen)>>,
    /// A fixed size instead of the terminal's (tests).
    fixed: Option<Size>,
}

impl<W: Write> Ansi<W> {
    pub fn new(out: W) -> Self {
        Ansi {
            out,
            pen: None,
            cursor: None,
            hidden: None,
            width: 0,
            wrote: 0,
            shadow: Vec::new(),
            fixed: None,
        }
    }

    /// A backend of a fixed size, for tests (the real one asks the terminal's ioctl).
    pub fn with_size(out: W, size: Size) -> Self {
        let mut a = Ansi::new(out);
        a.fixed = Some(size);
        a
    }

    pub fn writer(&self) -> &W {
        &self.out
    }

    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Forget what the terminal looks like (it was handed to a shell, or reset): the next
    /// frame sets style, position and cursor visibility from scratch.
    pub fn forget(&mut self) {
        self.pen = None;
        self.cursor = None;
        self.hidden = None;
        self.shadow.iter_mut().for_each(|c| *c = None);
    }

    /// Start counting the bytes written (before a frame).
    pub fn mark(&mut self) {
        self.wrote = 0;
    }

    /// Bytes written since [`Ansi::mark`]: zero when a frame changed nothing.
    pub fn wrote(&self) -> usize {
        self.wrote
    }

    fn emit(&mut self, s: &str) -> io::Result<()> {
        self.wrote += s.len();
        self.out.write_all(s.as_bytes())
    }

    /// The shortest VT100 way from where the cursor is to `to`: an absolute move, a
    /// relative one (backspace, carriage return, `ESC[B`…), or — for a short gap in a row
    /// whose cells are known and drawn in the style in force — the gap's cells again.
    fn move_to(&mut self, to: Position) -> io::Result<()> {
        if self.cursor == Some(to) {
            return Ok(());
        }
        let mut best = if to.x == 0 {
            format!("\x1b[{}H", to.y + 1)
        } else {
            format!("\x1b[{};{}H", to.y + 1, to.x + 1)
        };
        if let Some(at) = self.cursor {
            let rel = relative(at, to);
            if rel.len() < best.len() {
                best = rel;
            }
            if at.y == to.y && to.x > at.x {
                if let Some(fill) = self.gap(at, to).filter(|f| f.len() < best.len()) {
                    best = fill;
                }
            }
        }
        self.emit(&best)?;
        self.cursor = Some(to);
        Ok(())
    }

    /// The cells from `at` up to `to` (one row) as they are on screen, if every one is
    /// known, one column wide and in the style in force.
    fn gap(&self, at: Position, to: Position) -> Option<String> {
        let w = usize::from(self.width);
        let pen = self.pen?;
        if to.x - at.x > 8 || w == 0 {
            return None;
        }
        let mut out = String::new();
        for x in at.x..to.x {
            let (sym, p) = self
                .shadow
                .get(usize::from(at.y) * w + usize::from(x))?
                .as_ref()?;
            if *p != pen || ratatui::text::Span::raw(sym.as_str()).width() != 1 {
                return None;
            }
            out.push_str(sym);
        }
        Some(out)
    }

    /// One SGR sequence taking the terminal from its pen to `to`: only what differs, or a
    /// reset and the whole style when that is shorter (or the pen is unknown).
    fn style(&mut self, to: Pen) -> io::Result<()> {
        if self.pen == Some(to) {
            return Ok(());
        }
        let whole = {
            let mut p = vec!["0".to_string()];
            push_modifiers(&mut p, to.modifier);
            if to.fg != Color::Reset {
                p.push(color_code(to.fg, false));
            }
            if to.bg != Color::Reset {
                p.push(color_code(to.bg, true));
            }
            p
        };
        let params = match self.pen {
            None => whole,
            Some(from) => {
                let mut p = Vec::new();
                let removed = from.modifier - to.modifier;
                let mut added = to.modifier - from.modifier;
                if removed.intersects(Modifier::BOLD | Modifier::DIM) {
                    // 22 ends both bold and dim: the one that stays is set again.
                    p.push("22".to_string());
                    added |= to.modifier & (Modifier::BOLD | Modifier::DIM);
                }
                for (m, off) in [
                    (Modifier::ITALIC, "23"),
                    (Modifier::UNDERLINED, "24"),
                    (Modifier::REVERSED, "27"),
                    (Modifier::HIDDEN, "28"),
                    (Modifier::CROSSED_OUT, "29"),
                ] {
                    if removed.contains(m) {
                        p.push(off.to_string());
                    }
                }
                if removed.intersects(Modifier::SLOW_BLINK | Modifier::RAPID_BLINK) {
                    p.push("25".to_string());
                    added |= to.modifier & (Modifier::SLOW_BLINK | Modifier::RAPID_BLINK);
                }
                push_modifiers(&mut p, added);
                if from.fg != to.fg {
                    p.push(color_code(to.fg, false));
                }
                if from.bg != to.bg {
                    p.push(color_code(to.bg, true));
                }
                let len = |v: &[String]| v.iter().map(|s| s.len() + 1).sum::<usize>();
                if len(&whole) <= len(&p) {
                    whole
                } else {
                    p
                }
            }
        };
        let seq = format!("\x1b[{}m", params.join(";"));
        // `ESC[0m` is `ESC[m`.
        let seq = if seq == "\x1b[0m" {
            "\x1b[m".into()
        } else {
            seq
        };
        self.emit(&seq)?;
        self.pen = Some(to);
        Ok(())
    }

    /// Back to the terminal's default style (before clearing: the cleared cells take the
    /// background in force).
    fn plain(&mut self) -> io::Result<()> {
        if self.pen != Some(DEFAULT_PEN) {
            self.emit("\x1b[m")?;
            self.pen = Some(DEFAULT_PEN);
        }
        Ok(())
    }
}

/// The shortest relative move from `at` to `to`: up or down, then left or right (a
/// backspace or two, a carriage return, or `ESC[nC`/`ESC[nD`).
fn relative(at: Position, to: Position) -> String {
    let n = |k: u16, c: char| {
        if k == 1 {
            format!("\x1b[{c}")
        } else {
            format!("\x1b[{k}{c}")
        }
    };
    let mut s = match to.y.cmp(&at.y) {
        std::cmp::Ordering::Equal => String::new(),
        std::cmp::Ordering::Greater => n(to.y - at.y, 'B'),
        std::cmp::Ordering::Less => n(at.y - to.y, 'A'),
    };
    let h = match to.x.cmp(&at.x) {
        std::cmp::Ordering::Equal => String::new(),
        std::cmp::Ordering::Greater => n(to.x - at.x, 'C'),
        std::cmp::Ordering::Less => {
            let back = at.x - to.x;
            let left = if back <= 2 {
                "\x08".repeat(usize::from(back))
            } else {
                n(back, 'D')
            };
            let from_start = if to.x == 0 {
                "\r".to_string()
            } else {
                format!("\r{}", n(to.x, 'C'))
            };
            if from_start.len() < left.len() {
                from_start
            } else {
                left
            }
        }
    };
    s.push_str(&h);
    s
}

fn push_modifiers(p: &mut Vec<String>, m: Modifier) {
    for (bit, code) in [
        (Modifier::BOLD, "1"),
        (Modifier::DIM, "2"),
        (Modifier::ITALIC, "3"),
        (Modifier::UNDERLINED, "4"),
        (Modifier::SLOW_BLINK, "5"),
        (Modifier::RAPID_BLINK, "6"),
        (Modifier::REVERSED, "7"),
        (Modifier::HIDDEN, "8"),
        (Modifier::CROSSED_OUT, "9"),
    ] {
        if m.contains(bit) {
            p.push(code.to_string());
        }
    }
}

/// The SGR parameters of a colour, as foreground or background.
fn color_code(c: Color, bg: bool) -> String {
    let basic = |n: u8| {
        let base: u16 = if bg { 40 } else { 30 };
        let code = if n < 8 {
            base + u16::from(n)
        } else {
            base + 60 + u16::from(n - 8)
        };
        code.to_string()
    };
    let lead = if bg { "48" } else { "38" };
    match c {
        Color::Reset => if bg { "49" } else { "39" }.to_string(),
        Color::Black => basic(0),
        Color::Red => basic(1),
        Color::Green => basic(2),
        Color::Yellow => basic(3),
        Color::Blue => basic(4),
        Color::Magenta => basic(5),
        Color::Cyan => basic(6),
        Color::Gray => basic(7),
        Color::DarkGray => basic(8),
        Color::LightRed => basic(9),
        Color::LightGreen => basic(10),
        Color::LightYellow => basic(11),
        Color::LightBlue => basic(12),
        Color::LightMagenta => basic(13),
        Color::LightCyan => basic(14),
        Color::White => basic(15),
        Color::Indexed(n) if n < 16 => basic(n),
        Color::Indexed(n) => format!("{lead};5;{n}"),
        Color::Rgb(r, g, b) => format!("{lead};2;{r};{g};{b}"),
    }
}

impl<W: Write> Backend for Ansi<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let size = self.size().unwrap_or_default();
        let cells = usize::from(size.width) * usize::from(size.height);
        if size.width != self.width || self.shadow.len() != cells {
            // A new size: nothing on screen is known where it was.
            self.width = size.width;
            self.shadow = vec![None; cells];
            self.cursor = None;
        }
        // Within a frame the order of the cells does not matter (it is shown whole, as a
        // synchronized update): the cells are drawn style by style, each in screen order,
        // so a column of values and a column of sparklines cost two style changes, not
        // two per row.
        let pen_of = |c: &Cell| Pen {
            fg: c.fg,
            bg: c.bg,
            modifier: c.modifier,
        };
        let mut cells: Vec<(u16, u16, &Cell)> = content.collect();
        let mut order: Vec<Pen> = Vec::new();
        for (_, _, c) in &cells {
            let p = pen_of(c);
            if !order.contains(&p) {
                order.push(p);
            }
        }
        // The style in force goes first: its cells need no change at all.
        if let Some(i) = self.pen.and_then(|p| order.iter().position(|o| *o == p)) {
            order[..=i].rotate_right(1);
        }
        cells.sort_by_key(|(x, y, c)| {
            let p = pen_of(c);
            (order.iter().position(|o| *o == p).unwrap_or(0), *y, *x)
        });
        for (x, y, cell) in cells {
            self.move_to(Position { x, y })?;
            self.style(pen_of(cell))?;
            let sym = cell.symbol();
            let sym = if sym.is_empty() { " " } else { sym };
            self.emit(sym)?;
            let w = ratatui::text::Span::raw(sym).width().max(1) as u16;
            let at = usize::from(y) * usize::from(self.width) + usize::from(x);
            if let Some(slot) = self.shadow.get_mut(at) {
                *slot = self.pen.map(|p| (sym.to_string(), p));
            }
            // The cells a wide character covers are no longer what they were.
            for k in 1..usize::from(w) {
                if let Some(slot) = self.shadow.get_mut(at + k) {
                    *slot = None;
                }
            }
            // Past the last column the cursor waits on it ("pending wrap"), and terminals
            // disagree on what comes next: the next cell is placed absolutely.
            self.cursor = (x + w < self.width).then_some(Position { x: x + w, y });
        }
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.hidden != Some(true) {
            self.emit("\x1b[?25l")?;
            self.hidden = Some(true);
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.hidden != Some(false) {
            self.emit("\x1b[?25h")?;
            self.hidden = Some(false);
        }
        Ok(())
    }

    /// Where this backend left the cursor: never a query to the terminal, whose answer
    /// may never come.
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor.unwrap_or_default())
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let p = position.into();
        self.move_to(p)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.plain()?;
        let blank = match clear_type {
            ClearType::All => Some((" ".to_string(), DEFAULT_PEN)),
            _ => None,
        };
        self.shadow.iter_mut().for_each(|c| *c = blank.clone());
        let seq = match clear_type {
            ClearType::All => "\x1b[2J",
            ClearType::AfterCursor => "\x1b[J",
            ClearType::BeforeCursor => "\x1b[1J",
            ClearType::CurrentLine => "\x1b[2K",
            ClearType::UntilNewLine => "\x1b[K",
        };
        self.emit(seq)
    }

    fn size(&self) -> io::Result<Size> {
        if let Some(s) = self.fixed {
            return Ok(s);
        }
        let (width, height) = crossterm::terminal::size()?;
        Ok(Size { width, height })
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        if let Some(columns_rows) = self.fixed {
            return Ok(WindowSize {
                columns_rows,
                pixels: Size::default(),
            });
        }
        let w = crossterm::terminal::window_size()?;
        Ok(WindowSize {
            columns_rows: Size {
                width: w.columns,
                height: w.rows,
            },
            pixels: Size {
                width: w.width,
                height: w.height,
            },
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::buffer::Buffer;
    use ratatui::style::Style;
    use ratatui::Terminal;

    fn term(w: u16, h: u16) -> Terminal<Ansi<Vec<u8>>> {
        Terminal::new(Ansi::with_size(
            Vec::new(),
            Size {
                width: w,
                height: h,
            },
        ))
        .unwrap()
    }

    fn frame(t: &mut Terminal<Ansi<Vec<u8>>>, lines: &[(&str, Style)]) -> String {
        t.backend_mut().writer_mut().clear();
        t.backend_mut().mark();
        t.draw(|f| {
            let buf: &mut Buffer = f.buffer_mut();
            for (y, (s, st)) in lines.iter().enumerate() {
                buf.set_string(0, y as u16, s, *st);
            }
        })
        .unwrap();
        assert_eq!(t.backend().wrote(), t.backend().writer().len());
        String::from_utf8(t.backend().writer().clone()).unwrap()
    }

    #[test]
    fn an_unchanged_frame_writes_nothing_and_one_changed_cell_a_few_bytes() {
        let mut t = term(40, 5);
        let muted = Style::new().fg(Color::DarkGray);
        let red = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
        let lines = [("p95 latency   840 ms   41s", muted), ("error rate", red)];
        let first = frame(&mut t, &lines);
        assert!(first.contains("p95 latency"), "{first:?}");
        // The same screen again: not a byte (no style reset, no cursor hiding).
        assert_eq!(frame(&mut t, &lines), "");
        // An age ticks: one cell — a move, the style (a reset and the colour: shorter
        // than ending bold and changing the colour) and the digit.
        let ticked = [("p95 latency   840 ms   42s", muted), ("error rate", red)];
        let out = frame(&mut t, &ticked);
        assert_eq!(out, "\x1b[1;25H\x1b[0;90m2", "{out:?}");
        assert_eq!(frame(&mut t, &ticked), "");
    }

    #[test]
    fn styles_change_by_what_differs_and_sixteen_colours_are_basic_codes() {
        let mut t = term(20, 2);
        let out = frame(
            &mut t,
            &[
                ("ab", Style::new().fg(Color::Red).bg(Color::DarkGray)),
                ("", Style::new()),
            ],
        );
        // The first frame sets the style whole, in basic codes (not `38;5;1`).
        assert!(out.contains("\x1b[0;31;100mab"), "{out:?}");
        let out = frame(
            &mut t,
            &[
                (
                    "ab",
                    Style::new()
                        .fg(Color::Indexed(208))
                        .bg(Color::DarkGray)
                        .add_modifier(Modifier::BOLD),
                ),
                ("", Style::new()),
            ],
        );
        // Bold added and the foreground changed, the background kept: one sequence.
        assert_eq!(out, "\r\x1b[1;38;5;208mab", "{out:?}");
        let out = frame(
            &mut t,
            &[
                (
                    "ab",
                    Style::new().fg(Color::Rgb(1, 2, 3)).bg(Color::DarkGray),
                ),
                ("", Style::new()),
            ],
        );
        assert_eq!(out, "\r\x1b[22;38;2;1;2;3mab", "{out:?}");
    }

    #[test]
    fn moves_are_relative_when_shorter_and_never_trust_the_last_column() {
        let mut t = term(100, 30);
        frame(&mut t, &[("", Style::new())]);
        let mut w = |x: u16, y: u16| {
            let b = t.backend_mut();
            b.writer_mut().clear();
            b.move_to(Position { x, y }).unwrap();
            String::from_utf8(b.writer().clone()).unwrap()
        };
        assert_eq!(w(60, 20), "\x1b[21;61H");
        assert_eq!(w(64, 20), "\x1b[4C");
        assert_eq!(w(64, 21), "\x1b[B");
        assert_eq!(w(63, 22), "\x1b[B\x08");
        assert_eq!(w(0, 25), "\x1b[26H");
        assert_eq!(w(0, 25), "");
        // A cell in the last column leaves the cursor where terminals disagree.
        let cells = [(99u16, 3u16, Cell::new("x"))];
        let b = t.backend_mut();
        b.draw(cells.iter().map(|(x, y, c)| (*x, *y, c))).unwrap();
        assert_eq!(b.cursor, None);
    }

    #[test]
    fn a_short_gap_in_the_same_style_is_written_again_rather_than_jumped() {
        let mut t = term(20, 2);
        let muted = Style::new().fg(Color::DarkGray);
        frame(&mut t, &[("abcdef", muted)]);
        let out = frame(&mut t, &[("aBcdEf", muted)]);
        // Back to `B`, then `cd` as they are (2 bytes) instead of `ESC[2C` (4).
        assert_eq!(out, "\x1b[5DBcdE", "{out:?}");
    }
}
