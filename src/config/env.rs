//! `[env.NAME]`: one config, several environments. Each `[env.NAME]` table holds any of the
//! config's own keys and is laid over the rest when that environment is chosen (`--env
//! NAME`): a staging rehearsal and the production run share the file, never a screen.
//!
//! The overlay works on TOML values, after each table was read and expanded and before
//! the config is typed, so every key works the same in it: tables merge key by key, a
//! `[[source]]`, `[[signal]]`, `[[step]]` or `[[action]]` entry with the `id` of one above
//! merges into it (another is added), any other value (a list included) replaces the one
//! above. The environment's name is NAME unless the overlay names another.

use super::schema::Seg;
use std::collections::HashMap;

/// The arrays whose entries are matched by `id`.
const KEYED: &[&str] = &["source", "signal", "step", "action"];

/// Where each value of the merged tree came from, when the overlay put it there: its
/// path in the merged tree → its path in the file (`["env", NAME, …]`).
pub(super) type Origins = HashMap<Vec<Seg>, Vec<Seg>>;

/// Lay `over` (the table of `[env.name]`) over `base`, noting where each overlaid value
/// came from.
pub(super) fn overlay(
    base: &mut toml::Table,
    over: toml::Table,
    name: &str,
    origins: &mut Origins,
) {
    let from = vec![Seg::Key("env".into()), Seg::Key(name.to_string())];
    merge_table(base, over, &mut Vec::new(), &from, origins);
}

fn merge_table(
    base: &mut toml::Table,
    over: toml::Table,
    at: &mut Vec<Seg>,
    from: &[Seg],
    origins: &mut Origins,
) {
    for (k, v) in over {
        at.push(Seg::Key(k.clone()));
        let src: Vec<Seg> = from.iter().cloned().chain([Seg::Key(k.clone())]).collect();
        match (base.get_mut(&k), v) {
            // Merged key by key: what it keeps from above is still located above.
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => {
                merge_table(b, o, at, &src, origins);
            }
            (Some(toml::Value::Array(b)), toml::Value::Array(o))
                if at.len() == 1 && KEYED.contains(&k.as_str()) =>
            {
                merge_keyed(b, o, at, &src, origins);
            }
            (_, v) => {
                note_all(&v, at, &src, origins);
                base.insert(k.clone(), v);
            }
        }
        at.pop();
    }
}

/// Entries with the `id` of an entry above merge into it; the others are added.
fn merge_keyed(
    base: &mut Vec<toml::Value>,
    over: Vec<toml::Value>,
    at: &mut Vec<Seg>,
    from: &[Seg],
    origins: &mut Origins,
) {
    for (j, v) in over.into_iter().enumerate() {
        let src: Vec<Seg> = from.iter().cloned().chain([Seg::Index(j)]).collect();
        let id = v.get("id").and_then(|i| i.as_str()).map(str::to_string);
        let found = id.as_deref().and_then(|id| {
            base.iter()
                .position(|b| b.get("id").and_then(|i| i.as_str()) == Some(id))
        });
        match (found, v) {
            (Some(i), toml::Value::Table(o)) => {
                at.push(Seg::Index(i));
                if let Some(toml::Value::Table(b)) = base.get_mut(i) {
                    merge_table(b, o, at, &src, origins);
                }
                at.pop();
            }
            (_, v) => {
                at.push(Seg::Index(base.len()));
                note_all(&v, at, &src, origins);
                base.push(v);
                at.pop();
            }
        }
    }
}

/// `v`, placed at `at` from `src`, and everything inside it.
fn note_all(v: &toml::Value, at: &mut Vec<Seg>, src: &[Seg], origins: &mut Origins) {
    origins.insert(at.clone(), src.to_vec());
    let children: Vec<(Seg, &toml::Value)> = match v {
        toml::Value::Table(t) => t.iter().map(|(k, v)| (Seg::Key(k.clone()), v)).collect(),
        toml::Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (Seg::Index(i), v))
            .collect(),
        _ => return,
    };
    for (seg, child) in children {
        at.push(seg.clone());
        let s: Vec<Seg> = src.iter().cloned().chain([seg]).collect();
        note_all(child, at, &s, origins);
        at.pop();
    }
}

/// The path in the file of what sits at `path` in the merged tree: the overlay's for a
/// value it put there (or inside one), else `path` itself.
pub(super) fn source_path(origins: &Origins, path: &[Seg]) -> Vec<Seg> {
    for n in (1..=path.len()).rev() {
        if let Some(src) = origins.get(&path[..n]) {
            return src
                .iter()
                .cloned()
                .chain(path[n..].iter().cloned())
                .collect();
        }
    }
    path.to_vec()
}
