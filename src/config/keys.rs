//! `[keys]`: the built-in keys rebound by name (`tick = ["Space", "x"]`), and the check of
//! every key the dashboard answers to — these, `[cutover] rollback_key` and each action's
//! `key` — made by building the dashboard's own key map (`app::keys`), so `validate` and
//! the screen can never disagree about a key.

use super::schema::{did_you_mean, kp, Seg};
use super::validate::Out;
use super::Config;
use crate::app::keys::{Chord, KeyMap, KeyProblem, Origin, BUILTINS, KEY_NAMES};
use serde::{Deserialize, Serialize};

/// One key or a list of keys, as written in `[keys]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn keys(&self) -> &[String] {
        match self {
            KeyList::One(k) => std::slice::from_ref(k),
            KeyList::Many(ks) => ks,
        }
    }
}

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = KeyList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key (\"x\", \"Space\", \"F9\") or a list of keys")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<KeyList, E> {
                Ok(KeyList::One(s.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<KeyList, A::Error> {
                let mut ks = Vec::new();
                while let Some(k) = a.next_element::<String>()? {
                    ks.push(k);
                }
                Ok(KeyList::Many(ks))
            }
        }
        d.deserialize_any(V)
    }
}

/// A key as messages name it: a character quoted (`` `R` ``), a named key bare (Space).
fn key_name(c: Chord) -> String {
    match c.as_char() {
        Some(ch) if ch != ' ' => format!("`{ch}`"),
        _ => c.name(),
    }
}

/// The keys, checked by building the dashboard's own key map: a key that cannot be read
/// or is bound twice is reported where it was written.
pub(super) fn check(cfg: &Config, out: &mut Out) {
    let (map, problems) = KeyMap::build(cfg);
    let first_danger = cfg.actions.iter().position(|a| a.danger);
    let action_id = |i: usize| cfg.actions.get(i).map_or("?", |a| a.id.as_str());
    let rollback = map
        .rollback()
        .map(|c| format!(", and {} for the rollback", key_name(c)))
        .unwrap_or_default();
    let builtins = format!(
        "built-in keys: {}{rollback}",
        map.builtin_keys()
            .into_iter()
            .map(key_name)
            .collect::<Vec<_>>()
            .join(" ")
    );
    const RESERVED: &str =
        "Ctrl-C, Ctrl-Z, Esc and Enter are reserved (quit, suspend, cancel, confirm)";
    for p in problems {
        match p {
            KeyProblem::Unreadable {
                origin: Origin::Action(i),
                why,
                ..
            } => {
                let at = kp!["action", i, "key"];
                if why.contains("control") {
                    out.push(
                        at,
                        "`key` is a control character",
                        Some("use a letter or digit, e.g. `key = \"D\"`".into()),
                    );
                } else {
                    out.push(
                        at,
                        format!(
                            "`key` \"{}\" must be exactly one character",
                            cfg.actions[i].key.escape_debug()
                        ),
                        Some("e.g. `key = \"D\"`".into()),
                    );
                }
            }
            KeyProblem::Unreadable {
                origin: Origin::Rollback,
                why,
                ..
            } => out.push(
                kp!["cutover", "rollback_key"],
                format!(
                    "`rollback_key` \"{}\" is not a key: {why}",
                    cfg.cutover.rollback_key.escape_debug()
                ),
                Some(format!(
                    "write one character (`rollback_key = \"R\"`) or a key name ({KEY_NAMES}), optionally after Ctrl- or Alt-"
                )),
            ),
            KeyProblem::Unreadable {
                origin: Origin::Builtin { name, .. },
                index,
                why,
            } => {
                let mut at = kp!["keys", name];
                let text = cfg.keys.get(name).map(|l| l.keys()).unwrap_or_default();
                let text = text.get(index.unwrap_or(0)).map_or("", |t| t.as_str());
                if let Some(i) = index {
                    at.push(Seg::Index(i));
                }
                out.push(
                    at,
                    format!("`{name}` \"{}\" is not a key: {why}", text.escape_debug()),
                    Some(format!(
                        "write one character or a key name ({KEY_NAMES}), optionally after Ctrl- or Alt-; several as a list: `{name} = [\"F5\", \"5\"]`"
                    )),
                );
            }
            KeyProblem::Unreadable {
                origin: Origin::Fixed,
                ..
            } => {}
            KeyProblem::UnknownName(name) => {
                let hint = if name == "rollback" || name == "rollback_key" {
                    "the rollback key is `rollback_key` in [cutover]".to_string()
                } else {
                    let names = BUILTINS.iter().map(|b| b.name);
                    match did_you_mean(&name, names) {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => format!(
                            "[keys] rebinds: {}",
                            BUILTINS.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
                        ),
                    }
                };
                out.push_key(
                    kp!["keys", name.as_str()],
                    format!("`{name}` is not a built-in key to rebind"),
                    Some(hint),
                );
            }
            KeyProblem::Twice {
                chord,
                earlier,
                later,
            } => {
                let k = key_name(chord);
                match (earlier, later) {
                    (Origin::Action(j), Origin::Action(i)) => {
                        let line = out.line(kp!["action", j, "key"]);
                        out.push(
                            kp!["action", i, "key"],
                            format!(
                                "key {k} is bound twice: action `{}` and action `{}` (line {line})",
                                action_id(i),
                                action_id(j)
                            ),
                            Some("give each action its own key".into()),
                        );
                    }
                    (Origin::Builtin { name, .. }, Origin::Action(i)) => out.push(
                        kp!["action", i, "key"],
                        format!("key {k} is bound twice: it is a built-in key ({name})"),
                        Some(format!(
                            "{builtins}; choose another, or rebind `{name}` in [keys]"
                        )),
                    ),
                    (Origin::Action(j), Origin::Rollback) => {
                        let hint = match first_danger {
                            Some(d) => format!(
                                "{k} opens the first `danger` action (`{}`, line {}); give this one another key",
                                action_id(d),
                                out.line(kp!["action", d, "key"])
                            ),
                            None => "the rollback key is only for the first `danger = true` action; mark this action `danger = true` if it is the rollback, else give it another key".into(),
                        };
                        out.push(
                            kp!["action", j, "key"],
                            format!("key {k} is bound twice: it is the rollback key"),
                            Some(hint),
                        );
                    }
                    (Origin::Builtin { name, .. }, Origin::Rollback) => out.push(
                        kp!["cutover", "rollback_key"],
                        format!("`rollback_key` {k} is bound twice: it is a built-in key ({name})"),
                        Some(format!("choose another, or rebind `{name}` in [keys]")),
                    ),
                    (Origin::Fixed, Origin::Rollback) => out.push(
                        kp!["cutover", "rollback_key"],
                        format!("`rollback_key` {k} cannot be used: {RESERVED}"),
                        Some("e.g. `rollback_key = \"R\"`".into()),
                    ),
                    (Origin::Fixed, Origin::Builtin { name, .. }) => out.push(
                        kp!["keys", name],
                        format!("key {k} cannot be rebound: {RESERVED}"),
                        None,
                    ),
                    (Origin::Fixed, Origin::Action(i)) => out.push(
                        kp!["action", i, "key"],
                        format!("key {k} cannot be an action's key: {RESERVED}"),
                        None,
                    ),
                    (Origin::Builtin { name: first, rebound }, Origin::Builtin { name, .. }) => {
                        // Report it in [keys], where the clash was written.
                        let (at, other) = if rebound { (first, name) } else { (name, first) };
                        out.push(
                            kp!["keys", at],
                            format!("key {k} is bound twice: `{first}` and `{name}`"),
                            Some(format!(
                                "choose another key, or rebind `{other}` in [keys] too"
                            )),
                        );
                    }
                    // Action keys are bound after built-ins, the rollback key last.
                    (_, Origin::Builtin { .. } | Origin::Fixed) | (Origin::Rollback, _) => {}
                }
            }
        }
    }
}
