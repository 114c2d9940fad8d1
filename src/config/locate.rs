//! From a key path to the place it is written, and back: every problem is shown at the
//! line and column a user's editor shows (in characters, not bytes).

use super::schema::Seg;
use toml_edit::{ImDocument, Item, TableLike};

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(text: &str, off: usize) -> (usize, usize) {
    if off >= text.len() && !text.is_empty() {
        // At end of file, show the end of the last line (as toml does), not a line
        // after the final newline that editors may not show.
        let (l, c) = line_col(text, text.len() - 1);
        return (l, c + 1);
    }
    let mut off = off.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..off].chars().count() + 1;
    (line, col)
}

/// Where `path` is written: the value when it exists, else the nearest key or table
/// header that does (a defaulted key points at its table).
pub(super) fn offset_of(root: &Item, path: &[Seg]) -> usize {
    let mut item: &Item = root;
    let mut best = 0;
    let mut resolved = true;
    for seg in path {
        let next = match seg {
            Seg::Key(k) => item
                .as_table_like()
                .and_then(|t| t.get_key_value(k))
                .map(|(key, child)| (key.span(), child)),
            Seg::Index(i) => item.get(*i).map(|child| (child.span(), child)),
        };
        match next {
            Some((span, child)) => {
                // A `[table]` is best shown by its header, a key by its name.
                let header = child.is_table().then(|| child.span()).flatten();
                if let Some(s) = header.or(span).or_else(|| child.span()) {
                    best = s.start;
                }
                item = child;
            }
            None => {
                resolved = false;
                break;
            }
        }
    }
    if resolved {
        if let Some(s) = item.as_value().and_then(|v| v.span()) {
            best = s.start;
        }
    }
    best
}

/// Where the key at the end of `path` is written (for a wrong name, not value).
pub(super) fn key_offset_of(root: &Item, path: &[Seg]) -> usize {
    let Some((Seg::Key(k), parent)) = path.split_last() else {
        return offset_of(root, path);
    };
    let mut item: &Item = root;
    for seg in parent {
        let next = match seg {
            Seg::Key(k) => item.get(k.as_str()),
            Seg::Index(i) => item.get(*i),
        };
        match next {
            Some(n) => item = n,
            None => return offset_of(root, path),
        }
    }
    item.as_table_like()
        .and_then(|t| t.key(k))
        .and_then(|key| key.span())
        .map_or_else(|| offset_of(root, path), |s| s.start)
}

/// The key path of the deepest key or value at byte `off` of `text`.
pub(super) fn path_at(text: &str, off: usize) -> Option<Vec<Seg>> {
    let doc = ImDocument::parse(text).ok()?;
    let mut path = Vec::new();
    find_in_table(doc.as_table(), off, &mut path);
    Some(path)
}

fn contains(span: Option<std::ops::Range<usize>>, off: usize) -> bool {
    span.is_some_and(|s| s.contains(&off) || (s.is_empty() && s.start == off))
}

/// Descends into whatever contains `off`; leaves `path` at the deepest match.
fn find_in_table(t: &dyn TableLike, off: usize, path: &mut Vec<Seg>) -> bool {
    for (k, item) in t.iter() {
        path.push(Seg::Key(k.to_string()));
        if contains(t.key(k).and_then(|k| k.span()), off) || find_in_item(item, off, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn find_in_item(item: &Item, off: usize, path: &mut Vec<Seg>) -> bool {
    if let Some(aot) = item.as_array_of_tables() {
        for (i, t) in aot.iter().enumerate() {
            path.push(Seg::Index(i));
            if find_in_table(t, off, path) || contains(t.span(), off) {
                return true;
            }
            path.pop();
        }
        return false;
    }
    if let Some(a) = item.as_array() {
        for (i, v) in a.iter().enumerate() {
            path.push(Seg::Index(i));
            let inner = v
                .as_inline_table()
                .is_some_and(|t| find_in_table(t, off, path));
            if inner || contains(v.span(), off) {
                return true;
            }
            path.pop();
        }
        return contains(item.span(), off);
    }
    if let Some(t) = item.as_table_like() {
        return find_in_table(t, off, path) || contains(item.span(), off);
    }
    contains(item.span(), off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é=1", 2), (1, 2));
        assert_eq!(line_col("", 10), (1, 1));
        assert_eq!(line_col("a\n", 2), (1, 3));
    }
}
