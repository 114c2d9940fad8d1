//! The modules use each other without circles: read from the source itself, every
//! `crate::x` that non-test code of one top-level module names is an edge, and the
//! edges must form no cycle. A cycle found is printed as the path that closes it.
//!
//! And ARCHITECTURE.md's module map stays true: every module it names is under `src/`,
//! and every top-level module is named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Edges that still close a circle, each with why; the check fails once one is gone,
/// so this list only shrinks.
const STILL_CIRCULAR: &[(&str, &str, &str)] = &[
    (
        "config",
        "app",
        "validate builds the app's key map to check [keys] (the key map reads the config)",
    ),
    (
        "config",
        "prom",
        "validate parses prom's series-name templates (prom reads config's signal kinds)",
    ),
];

/// The source with comments, strings and character literals blanked out, so that only
/// code is left and its braces balance.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == b'/' && next == Some(b'/') {
            while i < b.len() && b[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if c == b'/' && next == Some(b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == b'r' && matches!(next, Some(b'"') | Some(b'#')) && !ident_before(b, i) {
            // A raw string: r"…", r#"…"#, …
            let mut j = i + 1;
            while b.get(j) == Some(&b'#') {
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            let mut end = j + 1;
            while end < b.len() {
                if b[end] == b'"'
                    && b[end + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == b'#')
                        .count()
                        == hashes
                {
                    end += 1 + hashes;
                    break;
                }
                end += 1;
            }
            for &x in &b[i..end.min(b.len())] {
                blank(&mut out, x);
            }
            i = end;
        } else if c == b'"' {
            out.push(b' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                let step = if b[i] == b'\\' { 2 } else { 1 };
                for &x in &b[i..(i + step).min(b.len())] {
                    blank(&mut out, x);
                }
                i += step;
            }
            out.push(b' ');
            i += 1;
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\u{7b}'), not a lifetime ('a).
            let close = if next == Some(b'\\') {
                b.get(i + 3..)
                    .and_then(|r| r.iter().position(|&x| x == b'\''))
                    .map(|p| i + 3 + p)
            } else {
                let ch_len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch_len) == Some(&b'\'')).then_some(i + 1 + ch_len)
            };
            match close {
                Some(end) => {
                    for &x in &b[i..=end] {
                        blank(&mut out, x);
                    }
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn ident_before(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// `code` without its `#[cfg(test)]` items; the names of test-only `mod x;` files.
fn without_tests(code: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut test_mods = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let b = item.as_bytes();
        // The item ends at its first `;` outside braces, or with its first brace block.
        let mut depth = 0usize;
        let mut end = item.len();
        for (k, &c) in b.iter().enumerate() {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        let head = &item[..end];
        if head.ends_with(';') {
            if let Some(name) = head.split_whitespace().skip_while(|w| *w != "mod").nth(1) {
                test_mods.push(name.trim_end_matches(';').to_string());
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    (out, test_mods)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Each top-level module and the top-level modules its non-test code names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeSet::new();
    for e in std::fs::read_dir(src).expect("src/").flatten() {
        let p = e.path();
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if p.is_dir()
            || (p.extension().is_some_and(|x| x == "rs") && stem != "lib" && stem != "main")
        {
            modules.insert(stem.to_string());
        }
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in &modules {
        let mut files = Vec::new();
        let dir = src.join(m);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src.join(format!("{m}.rs")));
        }
        let mut code = BTreeMap::new();
        let mut test_only = BTreeSet::new();
        for f in &files {
            let text = std::fs::read_to_string(f).expect("a source file");
            let (kept, test_mods) = without_tests(&code_only(&text));
            let parent = f.parent().map(Path::to_path_buf).unwrap_or_default();
            let own_dir = match f.file_stem().and_then(|s| s.to_str()) {
                Some("mod") => parent.clone(),
                Some(stem) => parent.join(stem),
                None => parent.clone(),
            };
            for t in test_mods {
                test_only.insert(own_dir.join(format!("{t}.rs")));
                test_only.insert(own_dir.join(&t).join("mod.rs"));
                test_only.insert(parent.join(format!("{t}.rs")));
            }
            code.insert(f.clone(), kept);
        }
        let e = edges.entry(m.clone()).or_default();
        for (f, text) in &code {
            let name = f.file_name().and_then(|s| s.to_str()).unwrap_or_default();
            if test_only.contains(f) || name == "tests.rs" || name.ends_with("_tests.rs") {
                continue;
            }
            // `super::x` in a top-level module's own file is `crate::x`.
            let top =
                f.parent() == Some(src) || (name == "mod.rs" && f.parent() == Some(dir.as_path()));
            let prefixes: &[&str] = if top {
                &["crate::", "super::"]
            } else {
                &["crate::"]
            };
            for prefix in prefixes {
                for (at, _) in text.match_indices(prefix) {
                    if ident_before(text.as_bytes(), at) {
                        continue;
                    }
                    let after = &text[at + prefix.len()..];
                    let used: String = after
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if used != *m && modules.contains(&used) {
                        e.insert(used);
                    }
                }
            }
        }
    }
    edges
}

/// A cycle, as the path that closes it, if there is one.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for next in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, edges, done, path) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in edges.keys() {
        if let Some(c) = visit(n, edges, &mut done, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut edges = graph(&src);
    // The reader sees what the modules really use.
    let uses = |edges: &BTreeMap<String, BTreeSet<String>>, a: &str, b: &str| {
        edges.get(a).is_some_and(|s| s.contains(b))
    };
    assert!(uses(&edges, "runtime", "session") && uses(&edges, "session", "audit"));
    assert!(!uses(&edges, "engine", "app"), "{edges:?}");
    for (from, to, why) in STILL_CIRCULAR {
        assert!(
            uses(&edges, from, to),
            "{from} no longer uses {to}: take ({from}, {to}) out of STILL_CIRCULAR ({why})"
        );
        if let Some(s) = edges.get_mut(*from) {
            s.remove(*to);
        }
    }
    if let Some(c) = cycle(&edges) {
        panic!("modules in a circle: {}", c.join(" → "));
    }
}

#[test]
fn the_reader_sees_only_code() {
    let code = code_only(
        "use crate::a; // crate::b\n/* crate::c /* crate::d */ */ let s = \"crate::e {\\\" }\"; \
         let q = '\\''; let r = r#\"crate::f\"#; let c = '{'; fn f<'a>(x: &'a str) { crate::g::h() }",
    );
    for gone in [
        "crate::b", "crate::c", "crate::d", "crate::e", "crate::f", "'{'",
    ] {
        assert!(!code.contains(gone), "{gone}: {code}");
    }
    assert!(code.contains("crate::a") && code.contains("crate::g::h") && code.contains("'a"));
    let (kept, mods) = without_tests(
        "use crate::x;\n#[cfg(test)]\nmod tests { use crate::y; fn f() { } }\n#[cfg(test)]\nmod more;\nfn g() {}",
    );
    assert!(kept.contains("crate::x") && !kept.contains("crate::y") && kept.contains("fn g"));
    assert_eq!(mods, vec!["more".to_string()]);
}

/// The module paths ARCHITECTURE.md's module map names, one per `- `path` — …` line.
fn mapped_modules(doc: &str) -> Vec<String> {
    let Some(start) = doc.find("## Module map") else {
        return Vec::new();
    };
    let section = &doc[start + 3..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

/// `a::b` is `src/a/b.rs` or `src/a/b/mod.rs`.
fn module_file(src: &Path, path: &str) -> Option<PathBuf> {
    let rel = path.replace("::", "/");
    [src.join(format!("{rel}.rs")), src.join(&rel).join("mod.rs")]
        .into_iter()
        .find(|p| p.is_file())
}

/// The modules `lib.rs` declares (`pub mod x;`, `mod x;`).
fn top_level_modules(lib: &str) -> Vec<String> {
    lib.lines()
        .map(str::trim)
        .filter_map(|l| {
            l.strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))
        })
        .filter_map(|l| l.strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_architecture_map_names_every_top_level_module_and_only_real_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let mapped = mapped_modules(&doc);
    let mut wrong = Vec::new();
    for m in &mapped {
        if module_file(&src, m).is_none() {
            wrong.push(format!("the map names `{m}`, which is not under src/"));
        }
    }
    for m in top_level_modules(&lib) {
        if !mapped.contains(&m) {
            wrong.push(format!(
                "lib.rs declares `{m}`, which the map does not name"
            ));
        }
    }
    // Every file the text points to (`src/…`) is there too.
    for path in doc.split('`').skip(1).step_by(2) {
        if path.starts_with("src/") && !root.join(path).exists() {
            wrong.push(format!(
                "ARCHITECTURE.md points to `{path}`, which is not there"
            ));
        }
    }
    assert!(wrong.is_empty(), "ARCHITECTURE.md:\n{}", wrong.join("\n"));
}

#[test]
fn the_map_reader_sees_each_line_and_the_file_of_each_path() {
    let doc =
        "# A\n\n## Module map\n\n- `a` — x.\n- `a::b` — y.\nnot `c`\n\n## Next\n\n- `d` — z.\n";
    assert_eq!(mapped_modules(doc), ["a", "a::b"]);
    assert_eq!(
        top_level_modules("//! x\npub mod a;\n#[cfg(test)]\nmod b;\nuse c;\n"),
        ["a", "b"]
    );
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    assert!(module_file(&src, "engine::judge").is_some());
    assert!(module_file(&src, "engine").is_some());
    assert!(module_file(&src, "engine::nope").is_none());
}
