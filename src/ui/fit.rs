//! Texts cut to a number of columns, by display width as ratatui measures it (a CJK
//! character takes two columns and is never cut in half), with the screen's ellipsis.

/// A character's columns, measured as ratatui measures a span (unicode-width).
fn char_w(c: char) -> usize {
    super::width(c.encode_utf8(&mut [0u8; 4]))
}

/// The longest start of `s` at most `max` columns wide.
pub(crate) fn head(s: &str, max: usize) -> &str {
    let mut w = 0;
    for (i, c) in s.char_indices() {
        w += char_w(c);
        if w > max {
            return &s[..i];
        }
    }
    s
}

/// The longest end of `s` at most `max` columns wide.
pub(crate) fn tail(s: &str, max: usize) -> &str {
    let mut w = 0;
    for (i, c) in s.char_indices().rev() {
        w += char_w(c);
        if w > max {
            return &s[i + c.len_utf8()..];
        }
    }
    s
}

/// `s` whole when it fits in `max` columns, else its start and the ellipsis.
pub(crate) fn end(s: &str, max: usize, ellipsis: &str) -> String {
    if super::width(s) <= max {
        return s.to_string();
    }
    let ew = super::width(ellipsis);
    if max <= ew {
        return head(s, max).to_string();
    }
    format!("{}{ellipsis}", head(s, max - ew))
}

/// `s` whole when it fits, else cut in the middle: row names such as endpoint paths
/// differ at the end (`err …/portfolio/summary`), so the tail survives; a short leading
/// word (the signal's label) is kept, else both ends ("Brokers…modules").
pub(crate) fn middle(s: &str, max: usize, ellipsis: &str) -> String {
    let ew = super::width(ellipsis);
    if super::width(s) <= max || max <= ew + 2 {
        return end(s, max, ellipsis);
    }
    let budget = max - ew;
    let head = match s.find(' ') {
        Some(i) if super::width(&s[..=i]) <= max / 3 => &s[..=i],
        _ => head(s, budget / 2),
    };
    let rest = budget.saturating_sub(super::width(head));
    format!("{head}{ellipsis}{}", tail(s, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_are_never_cut_in_half() {
        // Each of these takes two columns.
        let s = "東京大阪名古屋";
        assert_eq!(end(s, 7, "…"), "東京大…");
        assert_eq!(super::super::width(&end(s, 8, "…")), 7);
        let m = middle("p95 東京大阪名古屋札幌", 12, "…");
        assert!(super::super::width(&m) <= 12, "{m}");
        assert!(m.starts_with("p95 ") && m.ends_with("札幌"), "{m}");
        let m = middle("東京大阪名古屋札幌福岡", 9, "...");
        assert!(super::super::width(&m) <= 9, "{m}");
        assert!(m.contains("..."), "{m}");
    }

    #[test]
    fn ascii_and_fitting_texts() {
        assert_eq!(end("error rate", 10, "~"), "error rate");
        assert_eq!(end("error rate", 6, "~"), "error~");
        assert_eq!(
            middle("err /api/portfolio/summary", 16, "..."),
            "err ...o/summary"
        );
        assert_eq!(tail("abc", 0), "");
        assert_eq!(head("abc", 5), "abc");
    }
}
