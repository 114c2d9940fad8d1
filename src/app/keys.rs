//! The key map: every key the dashboard answers to, built once from the config — the
//! built-in keys (rebound by name in `[keys]`), `[cutover] rollback_key` and each
//! action's `key`. Input, the help overlay, the footer, the banner and `validate` all
//! read this one table, so a key on screen is always the key that works.

use super::Action;
use crate::config::Config;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// One key as the map knows it: a code and the modifiers that matter. Shift is part of
/// a character (`G` is not `Shift-g`), and Ctrl letters are lower case because a terminal
/// sends Ctrl-R and Ctrl-r alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Chord {
    pub const fn char(c: char) -> Chord {
        Chord {
            code: KeyCode::Char(c),
            mods: KeyModifiers::NONE,
        }
    }

    const fn key(code: KeyCode) -> Chord {
        Chord {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    const fn shift(code: KeyCode) -> Chord {
        Chord {
            code,
            mods: KeyModifiers::SHIFT,
        }
    }

    const fn ctrl(c: char) -> Chord {
        Chord {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    /// The chord of a key press, normalised the way `parse` normalises names.
    pub fn of(key: &KeyEvent) -> Chord {
        let mut mods = key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match key.code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            KeyCode::Char('\t') => KeyCode::Tab,
            KeyCode::Char(_) | KeyCode::BackTab => key.code,
            code => {
                mods |= key.modifiers & KeyModifiers::SHIFT;
                if code == KeyCode::Tab && mods.contains(KeyModifiers::SHIFT) {
                    mods.remove(KeyModifiers::SHIFT);
                    KeyCode::BackTab
                } else {
                    code
                }
            }
        };
        Chord { code, mods }
    }

    /// A key press of this chord, as a terminal delivers it (for tests and replays).
    pub fn event(&self) -> KeyEvent {
        KeyEvent::new(self.code, self.mods)
    }

    /// The plain character of this key, if it is one (an action's `key`).
    pub fn as_char(&self) -> Option<char> {
        match self.code {
            KeyCode::Char(c) if self.mods.is_empty() => Some(c),
            _ => None,
        }
    }

    /// Read a key as a config writes it: one character (`R`, `!`, ` `), a name (`Space`,
    /// `Tab`, `Shift-Tab`, `Enter`, `Esc`, `Backspace`, `Up`, `Down`, `Left`, `Right`,
    /// `PgUp`, `PgDn`, `Home`, `End`, `Insert`, `Delete`, `F1`…`F12`), optionally after
    /// `Ctrl-` or `Alt-`. The error says what is wrong, never quoting the text.
    pub fn parse(text: &str) -> Result<Chord, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        // A trailing `-` is the key itself (`-`, `Ctrl--`), not a separator.
        while let Some((head, tail)) = rest.split_once(['-', '+']).filter(|(_, t)| !t.is_empty()) {
            match head.to_ascii_lowercase().as_str() {
                "ctrl" | "control" | "c" => mods |= KeyModifiers::CONTROL,
                "alt" | "meta" | "m" => mods |= KeyModifiers::ALT,
                "shift" | "s" => mods |= KeyModifiers::SHIFT,
                _ => break,
            }
            rest = tail;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (None, _) => return Err("it is empty".into()),
            (Some(c), None) => {
                if c == '\t' {
                    KeyCode::Tab
                } else if c.is_control() {
                    return Err("it is a control character".into());
                } else if mods.contains(KeyModifiers::SHIFT) {
                    return Err(
                        "Shift goes with a named key; write the character itself (`R`, not `Shift-r`)"
                            .into(),
                    );
                } else if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            _ => named(rest)
                .ok_or_else(|| "it is neither one character nor a key name".to_string())?,
        };
        if code == KeyCode::Tab && mods.contains(KeyModifiers::SHIFT) {
            mods.remove(KeyModifiers::SHIFT);
            return Ok(Chord {
                code: KeyCode::BackTab,
                mods,
            });
        }
        Ok(Chord { code, mods })
    }

    /// How the screen names this key: the form `parse` reads back.
    pub fn name(&self) -> String {
        let mut out = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            out.push_str("Ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            out.push_str("Alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            out.push_str("Shift-");
        }
        let ctrl = self.mods.contains(KeyModifiers::CONTROL);
        match self.code {
            KeyCode::Char(' ') => out.push_str("Space"),
            KeyCode::Char(c) if ctrl => out.push(c.to_ascii_uppercase()),
            KeyCode::Char(c) => out.push(c),
            KeyCode::F(n) => out.push_str(&format!("F{n}")),
            code => out.push_str(match code {
                KeyCode::Tab => "Tab",
                KeyCode::BackTab => "Shift-Tab",
                KeyCode::Enter => "Enter",
                KeyCode::Esc => "Esc",
                KeyCode::Backspace => "Backspace",
                KeyCode::Up => "Up",
                KeyCode::Down => "Down",
                KeyCode::Left => "Left",
                KeyCode::Right => "Right",
                KeyCode::PageUp => "PgUp",
                KeyCode::PageDown => "PgDn",
                KeyCode::Home => "Home",
                KeyCode::End => "End",
                KeyCode::Insert => "Insert",
                KeyCode::Delete => "Delete",
                _ => "?",
            }),
        }
        out
    }
}

/// The key names `Chord::parse` reads, for messages.
pub const KEY_NAMES: &str = "Space, Tab, Shift-Tab, Enter, Esc, Backspace, Up, Down, Left, \
     Right, PgUp, PgDn, Home, End, Insert, Delete, F1…F12";

fn named(name: &str) -> Option<KeyCode> {
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "space" => KeyCode::Char(' '),
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "backspace" => KeyCode::Backspace,
        "up" | "↑" => KeyCode::Up,
        "down" | "↓" => KeyCode::Down,
        "left" | "←" => KeyCode::Left,
        "right" | "→" => KeyCode::Right,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pgdown" | "pagedown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "insert" | "ins" => KeyCode::Insert,
        "delete" | "del" => KeyCode::Delete,
        _ => {
            let n: u8 = lower.strip_prefix('f')?.parse().ok()?;
            if !(1..=12).contains(&n) {
                return None;
            }
            KeyCode::F(n)
        }
    })
}

/// A built-in key: its name in `[keys]`, what it does, its default keys.
pub struct Builtin {
    pub name: &'static str,
    pub action: Action,
    pub default: &'static [Chord],
}

/// Every built-in that `[keys]` can rebind, in the order they take their keys.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "help",
        action: Action::ToggleHelp,
        default: &[Chord::char('?')],
    },
    Builtin {
        name: "quit",
        action: Action::Quit,
        default: &[Chord::char('q')],
    },
    Builtin {
        name: "focus_next",
        action: Action::FocusNext,
        default: &[Chord::key(KeyCode::Tab)],
    },
    Builtin {
        name: "focus_prev",
        action: Action::FocusPrev,
        default: &[Chord::key(KeyCode::BackTab)],
    },
    Builtin {
        name: "down",
        action: Action::Move(1),
        default: &[Chord::char('j'), Chord::key(KeyCode::Down)],
    },
    Builtin {
        name: "up",
        action: Action::Move(-1),
        default: &[Chord::char('k'), Chord::key(KeyCode::Up)],
    },
    Builtin {
        name: "page_down",
        action: Action::Move(10),
        default: &[Chord::key(KeyCode::PageDown)],
    },
    Builtin {
        name: "page_up",
        action: Action::Move(-10),
        default: &[Chord::key(KeyCode::PageUp)],
    },
    Builtin {
        name: "tick",
        action: Action::ToggleTick,
        default: &[Chord::char(' '), Chord::char('x')],
    },
    Builtin {
        name: "now",
        action: Action::JumpToNow,
        default: &[Chord::char('n')],
    },
    Builtin {
        name: "next_step",
        action: Action::StepJump(1),
        default: &[Chord::char(']')],
    },
    Builtin {
        name: "prev_step",
        action: Action::StepJump(-1),
        default: &[Chord::char('[')],
    },
    Builtin {
        name: "menu",
        action: Action::Menu,
        default: &[Chord::char('a')],
    },
    Builtin {
        name: "mark_t0",
        action: Action::MarkT0,
        default: &[Chord::char('t')],
    },
    Builtin {
        name: "go",
        action: Action::SignOff { go: true },
        default: &[Chord::char('g')],
    },
    Builtin {
        name: "no_go",
        action: Action::SignOff { go: false },
        default: &[Chord::char('G')],
    },
    Builtin {
        name: "run_step",
        action: Action::RunStep,
        default: &[Chord::char('!')],
    },
    Builtin {
        name: "dismiss",
        action: Action::Dismiss,
        default: &[Chord::char('d')],
    },
    Builtin {
        name: "filter_events",
        action: Action::FilterEvents,
        default: &[Chord::char('f')],
    },
    Builtin {
        name: "note",
        action: Action::Note,
        default: &[Chord::char('#')],
    },
];

/// Keys no config can rebind: the way out, and the keys of a confirmation.
const FIXED: &[(Chord, Action)] = &[
    (Chord::ctrl('c'), Action::Quit),
    (Chord::ctrl('z'), Action::Suspend),
    (Chord::key(KeyCode::Esc), Action::Escape),
    (Chord::key(KeyCode::Enter), Action::Submit),
];

/// A replay's own keys, ahead of every other: Space plays and pauses, ← → seek 10 s
/// (Shift: 60 s). A replay ticks nothing, so Space is free for it.
const REPLAY: &[(Chord, Action)] = &[
    (Chord::char(' '), Action::TogglePause),
    (Chord::key(KeyCode::Left), Action::Seek(-10)),
    (Chord::key(KeyCode::Right), Action::Seek(10)),
    (Chord::shift(KeyCode::Left), Action::Seek(-60)),
    (Chord::shift(KeyCode::Right), Action::Seek(60)),
];

/// Where a binding comes from, so a clash can be reported where it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Ctrl-C, Ctrl-Z, Esc, Enter.
    Fixed,
    /// A built-in by its `[keys]` name; `rebound` when `[keys]` names it.
    Builtin { name: &'static str, rebound: bool },
    /// `[cutover] rollback_key`.
    Rollback,
    /// `[[action]] key` of `cfg.actions[i]`.
    Action(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub chord: Chord,
    pub action: Action,
    pub origin: Origin,
}

/// What is wrong with the keys of a config; `validate` words and places each one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProblem {
    /// A key that cannot be read: `index` is its place in a `[keys]` list.
    Unreadable {
        origin: Origin,
        index: Option<usize>,
        why: String,
    },
    /// `[keys]` names something that is not a built-in.
    UnknownName(String),
    /// One key, two meanings: `later` did not get `chord` because `earlier` holds it.
    Twice {
        chord: Chord,
        earlier: Origin,
        later: Origin,
    },
}

/// Every key of one config and what it does. Built once per config; the first binding
/// of a key wins (a config with a clash does not pass `validate`).
#[derive(Debug, Clone, Default)]
pub struct KeyMap {
    bindings: Vec<Binding>,
    /// `rollback_key` as read, also when it is the first `danger` action's own key
    /// (then that action's binding serves it).
    rollback: Option<Chord>,
}

impl KeyMap {
    pub fn new(cfg: &Config) -> KeyMap {
        Self::build(cfg).0
    }

    /// The map of a replay: the config's, with the replay's own keys (`REPLAY`) first.
    pub fn for_replay(cfg: &Config) -> KeyMap {
        let mut map = KeyMap::new(cfg);
        map.bindings
            .retain(|b| !REPLAY.iter().any(|(chord, _)| *chord == b.chord));
        let replay = REPLAY.iter().map(|&(chord, action)| Binding {
            chord,
            action,
            origin: Origin::Fixed,
        });
        map.bindings.splice(0..0, replay);
        map
    }

    /// The map and every problem met on the way, in the order the keys are taken:
    /// fixed keys, built-ins, action keys, then the rollback key (which may be the
    /// first `danger` action's own key: both open it).
    pub fn build(cfg: &Config) -> (KeyMap, Vec<KeyProblem>) {
        let mut map = KeyMap::default();
        let mut problems = Vec::new();
        for &(chord, action) in FIXED {
            map.bind(chord, action, Origin::Fixed, &mut problems);
        }
        for name in cfg.keys.keys() {
            if !BUILTINS.iter().any(|b| b.name == name) {
                problems.push(KeyProblem::UnknownName(name.clone()));
            }
        }
        for b in BUILTINS {
            match cfg.keys.get(b.name) {
                None => {
                    let origin = Origin::Builtin {
                        name: b.name,
                        rebound: false,
                    };
                    for &chord in b.default {
                        map.bind(chord, b.action, origin, &mut problems);
                    }
                }
                Some(list) => {
                    let origin = Origin::Builtin {
                        name: b.name,
                        rebound: true,
                    };
                    for (i, text) in list.keys().iter().enumerate() {
                        match Chord::parse(text) {
                            Ok(chord) => map.bind(chord, b.action, origin, &mut problems),
                            Err(why) => problems.push(KeyProblem::Unreadable {
                                origin,
                                index: matches!(list, crate::config::KeyList::Many(_)).then_some(i),
                                why,
                            }),
                        }
                    }
                }
            }
        }
        for (i, a) in cfg.actions.iter().enumerate() {
            let mut chars = a.key.chars();
            let origin = Origin::Action(i);
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_control() || c == '\t' => {
                    let chord = if c == '\t' {
                        Chord::key(KeyCode::Tab)
                    } else {
                        Chord::char(c)
                    };
                    map.bind(chord, Action::Key(c), origin, &mut problems);
                }
                (Some(_), None) => problems.push(KeyProblem::Unreadable {
                    origin,
                    index: None,
                    why: "it is a control character".into(),
                }),
                _ => problems.push(KeyProblem::Unreadable {
                    origin,
                    index: None,
                    why: "it must be exactly one character".into(),
                }),
            }
        }
        match Chord::parse(&cfg.cutover.rollback_key) {
            Ok(chord) => {
                map.rollback = Some(chord);
                let first_danger = cfg.actions.iter().position(|a| a.danger);
                let own = map.bindings.iter().find(|b| b.chord == chord);
                // The rollback's own key and the rollback key may be the same key.
                let same = matches!(own, Some(Binding { origin: Origin::Action(i), .. }) if Some(*i) == first_danger);
                if !same {
                    map.bind(chord, Action::Rollback, Origin::Rollback, &mut problems);
                }
            }
            Err(why) => problems.push(KeyProblem::Unreadable {
                origin: Origin::Rollback,
                index: None,
                why,
            }),
        }
        (map, problems)
    }

    fn bind(&mut self, chord: Chord, action: Action, origin: Origin, out: &mut Vec<KeyProblem>) {
        match self.bindings.iter().find(|b| b.chord == chord) {
            // Listed twice for the same thing (`tick = ["x", "x"]`): harmless.
            Some(b) if b.action == action && b.origin == origin => {}
            Some(b) => out.push(KeyProblem::Twice {
                chord,
                earlier: b.origin,
                later: origin,
            }),
            None => self.bindings.push(Binding {
                chord,
                action,
                origin,
            }),
        }
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// What a key press means. Key releases, and repeats of anything but navigation,
    /// are ignored so that a held key never acts twice.
    pub fn action_for(&self, key: KeyEvent, text_entry: bool) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if text_entry {
            // In a confirmation every printable key is text; Enter never repeats.
            return match key.code {
                KeyCode::Char('c') if ctrl => Some(Action::Quit),
                KeyCode::Char(c) if !ctrl => Some(Action::Type(c)),
                KeyCode::Backspace => Some(Action::Backspace),
                KeyCode::Esc => Some(Action::Escape),
                KeyCode::Enter if key.kind != KeyEventKind::Repeat => Some(Action::Submit),
                _ => None,
            };
        }
        let chord = Chord::of(&key);
        let a = self.bindings.iter().find(|b| b.chord == chord)?.action;
        if key.kind == KeyEventKind::Repeat && !matches!(a, Action::Move(_) | Action::Seek(_)) {
            return None;
        }
        Some(a)
    }

    /// The keys bound to `action`, the configurable ones first (`q` before Ctrl-C).
    pub fn keys_for(&self, action: Action) -> impl Iterator<Item = Chord> + '_ {
        let of = move |fixed: bool| {
            self.bindings
                .iter()
                .filter(move |b| b.action == action && (b.origin == Origin::Fixed) == fixed)
                .map(|b| b.chord)
        };
        of(false).chain(of(true))
    }

    /// The name of the first key bound to `action`, if any.
    pub fn name_for(&self, action: Action) -> Option<String> {
        self.keys_for(action).next().map(|c| c.name())
    }

    /// The key that opens the rollback: `rollback_key` (it may also be the first
    /// `danger` action's own key).
    pub fn rollback(&self) -> Option<Chord> {
        self.rollback
    }

    /// The footer's hint: the keys that matter most, as bound.
    pub fn footer_hint(&self) -> String {
        [
            (Action::ToggleHelp, "help"),
            (Action::Quit, "quit"),
            (Action::FocusNext, "focus"),
            (Action::ToggleTick, "tick"),
        ]
        .iter()
        .filter_map(|(a, what)| Some(format!("{} {what}", self.name_for(*a)?)))
        .collect::<Vec<_>>()
        .join("  ")
    }

    /// The built-in keys (fixed ones aside), as `validate` lists them.
    pub fn builtin_keys(&self) -> Vec<Chord> {
        self.bindings
            .iter()
            .filter(|b| matches!(b.origin, Origin::Builtin { .. }))
            .map(|b| b.chord)
            .collect()
    }

    /// (keys, what they do) for the help overlay, in its order.
    pub fn help(&self, cfg: &Config) -> Vec<(String, String)> {
        let names = |actions: &[Action]| {
            actions
                .iter()
                .map(|a| {
                    self.keys_for(*a)
                        .map(|c| c.name())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("  ")
        };
        let row = |actions: &[Action], what: &str| (names(actions), what.to_string());
        let mut rows = vec![
            row(&[Action::ToggleHelp], "show / hide this help"),
            row(&[Action::Quit], "quit"),
            row(&[Action::TogglePause], "replay: play / pause"),
            row(
                &[Action::Seek(-10), Action::Seek(10)],
                "replay: seek 10 s back / ahead",
            ),
            row(
                &[Action::Seek(-60), Action::Seek(60)],
                "replay: seek 60 s back / ahead",
            ),
            row(
                &[Action::FocusNext, Action::FocusPrev],
                "move focus between panels",
            ),
            row(
                &[Action::Move(1), Action::Move(-1)],
                "select the next / previous row or checklist item",
            ),
            row(
                &[Action::Move(10), Action::Move(-10)],
                "move the selection by ten",
            ),
            row(
                &[Action::ToggleTick],
                "tick / untick the selected checklist item",
            ),
            row(
                &[Action::JumpToNow],
                "jump the timeline selection to the current step",
            ),
            row(
                &[Action::StepJump(1), Action::StepJump(-1)],
                "select the next / previous step of the timeline",
            ),
        ];
        let rollback = self.rollback().map(|c| c.name()).unwrap_or_default();
        rows.push(match cfg.actions.iter().find(|a| a.danger) {
            Some(a) => (rollback, format!("roll back: open \"{}\"", a.label)),
            None => (rollback, "roll back: no danger action in the config".into()),
        });
        rows.push(row(
            &[Action::Menu],
            "action menu: every action of the config",
        ));
        let action_keys: Vec<String> = self
            .bindings
            .iter()
            .filter(|b| matches!(b.origin, Origin::Action(_)))
            .map(|b| b.chord.name())
            .collect();
        if !action_keys.is_empty() {
            rows.push((
                action_keys.join(" "),
                "open that action's confirmation (see the menu)".into(),
            ));
        }
        rows.extend([
            row(
                &[Action::MarkT0],
                "mark T0 now (when the config has none; confirmed)",
            ),
            row(
                &[Action::SignOff { go: true }, Action::SignOff { go: false }],
                "sign off the selected gate step: GO / NO-GO (typed name)",
            ),
            row(
                &[Action::RunStep],
                "run the selected step's script (confirmed)",
            ),
            row(
                &[Action::Dismiss],
                "dismiss the action result lines on the banner",
            ),
            row(
                &[Action::FilterEvents],
                "events: only actions and breaches / everything",
            ),
            row(
                &[Action::Note],
                "write a note for the room (shared, audited)",
            ),
            row(
                &[Action::Submit],
                "open the selected signal's detail; fire a typed confirmation",
            ),
            row(&[Action::Suspend], "suspend (fg to come back)"),
            row(
                &[Action::Escape],
                "close help or a detail, cancel a confirmation (nothing sent)",
            ),
        ]);
        // A built-in rebound to nothing (`[keys] tick = []`) has no row.
        rows.retain(|(k, _)| !k.is_empty());
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> Config {
        toml::from_str(&format!("[cutover]\nname = \"x\"\n{extra}")).expect("config")
    }

    fn press(map: &KeyMap, code: KeyCode, mods: KeyModifiers) -> Option<Action> {
        map.action_for(KeyEvent::new(code, mods), false)
    }

    const NONE: KeyModifiers = KeyModifiers::NONE;

    #[test]
    fn the_default_map_answers_every_built_in_key() {
        let m = KeyMap::new(&cfg(""));
        let c = |ch| KeyCode::Char(ch);
        let expect = [
            (c('q'), NONE, Action::Quit),
            (c('c'), KeyModifiers::CONTROL, Action::Quit),
            (c('z'), KeyModifiers::CONTROL, Action::Suspend),
            (c('?'), NONE, Action::ToggleHelp),
            (KeyCode::Esc, NONE, Action::Escape),
            (KeyCode::Tab, NONE, Action::FocusNext),
            (KeyCode::BackTab, KeyModifiers::SHIFT, Action::FocusPrev),
            (KeyCode::Down, NONE, Action::Move(1)),
            (c('j'), NONE, Action::Move(1)),
            (KeyCode::Up, NONE, Action::Move(-1)),
            (c('k'), NONE, Action::Move(-1)),
            (KeyCode::PageDown, NONE, Action::Move(10)),
            (KeyCode::PageUp, NONE, Action::Move(-10)),
            (c(' '), NONE, Action::ToggleTick),
            (c('x'), NONE, Action::ToggleTick),
            (c('n'), NONE, Action::JumpToNow),
            // Terminals report an upper-case letter with Shift held.
            (c('R'), KeyModifiers::SHIFT, Action::Rollback),
            (c('a'), NONE, Action::Menu),
            (c('t'), NONE, Action::MarkT0),
            (c('g'), NONE, Action::SignOff { go: true }),
            (c('G'), KeyModifiers::SHIFT, Action::SignOff { go: false }),
            (c('!'), NONE, Action::RunStep),
            (KeyCode::Enter, NONE, Action::Submit),
        ];
        for (code, mods, a) in expect {
            assert_eq!(press(&m, code, mods), Some(a), "{code:?} {mods:?}");
        }
        // A key nothing is bound to means nothing.
        assert_eq!(press(&m, c('Z'), NONE), None);
        assert_eq!(m.footer_hint(), "? help  q quit  Tab focus  Space tick");
    }

    #[test]
    fn releases_and_repeats_never_act_twice() {
        let m = KeyMap::new(&cfg(""));
        let k = KeyEvent::new(KeyCode::Char('q'), NONE);
        let mut r = k;
        r.kind = KeyEventKind::Release;
        assert_eq!(m.action_for(r, false), None);
        let mut rep = KeyEvent::new(KeyCode::Char(' '), NONE);
        rep.kind = KeyEventKind::Repeat;
        assert_eq!(m.action_for(rep, false), None, "a held Space ticks once");
        let mut down = KeyEvent::new(KeyCode::Down, NONE);
        down.kind = KeyEventKind::Repeat;
        assert_eq!(m.action_for(down, false), Some(Action::Move(1)));
        // In a confirmation keys are text, whatever they are bound to.
        assert_eq!(m.action_for(k, true), Some(Action::Type('q')));
        let mut enter = KeyEvent::new(KeyCode::Enter, NONE);
        enter.kind = KeyEventKind::Repeat;
        assert_eq!(
            m.action_for(enter, true),
            None,
            "a held Enter fires nothing"
        );
    }

    #[test]
    fn key_names_read_back_as_written() {
        for name in [
            "R",
            "!",
            "Space",
            "Tab",
            "Shift-Tab",
            "Enter",
            "Esc",
            "Up",
            "Down",
            "PgUp",
            "PgDn",
            "Home",
            "End",
            "F1",
            "F9",
            "F12",
            "Ctrl-R",
            "Alt-x",
            "Ctrl-Alt-D",
            "-",
            "Delete",
        ] {
            let c = Chord::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(c.name(), name, "{name}");
            assert_eq!(Chord::of(&c.event()), c, "{name}: a press of it is it");
        }
        assert_eq!(Chord::parse(" ").unwrap(), Chord::char(' '));
        assert_eq!(Chord::parse("ctrl+r").unwrap(), Chord::ctrl('r'));
        assert_eq!(Chord::parse("pagedown").unwrap().name(), "PgDn");
        for bad in ["", "RB", "F13", "Ctrl-", "Shift-r", "Hyper-x", "\u{1}"] {
            assert!(Chord::parse(bad).is_err(), "{bad:?} must not parse");
        }
    }

    #[test]
    fn keys_table_rebinds_built_ins_and_frees_their_defaults() {
        let m = KeyMap::new(&cfg(
            "[keys]\ntick = \"T\"\nhelp = [\"h\", \"F1\"]\nnow = []\n",
        ));
        assert_eq!(
            press(&m, KeyCode::Char('T'), KeyModifiers::SHIFT),
            Some(Action::ToggleTick)
        );
        assert_eq!(press(&m, KeyCode::Char(' '), NONE), None);
        assert_eq!(press(&m, KeyCode::Char('x'), NONE), None);
        assert_eq!(press(&m, KeyCode::F(1), NONE), Some(Action::ToggleHelp));
        assert_eq!(press(&m, KeyCode::Char('?'), NONE), None);
        assert_eq!(press(&m, KeyCode::Char('n'), NONE), None);
        assert_eq!(m.footer_hint(), "h help  q quit  Tab focus  T tick");
        let help = m.help(&cfg(""));
        assert!(help.contains(&("h F1".into(), "show / hide this help".into())));
        assert!(
            !help.iter().any(|(_, d)| d.contains("jump the timeline")),
            "an unbound built-in has no help row: {help:?}"
        );
    }

    const ACTIONS: &str = "[[action]]\nid = \"other\"\nkey = \"R\"\nlabel = \"Other\"\ncommand = { argv = [\"true\"] }\n\n[[action]]\nid = \"rb\"\nkey = \"D\"\nlabel = \"Roll back\"\ndanger = true\ncommand = { argv = [\"true\"] }\n";

    #[test]
    fn the_rollback_key_comes_from_the_config_and_frees_r() {
        // Right after `[cutover] name`: still in [cutover].
        let c = cfg(&format!("rollback_key = \"X\"\n{ACTIONS}"));
        let (m, problems) = KeyMap::build(&c);
        assert_eq!(problems, []);
        let shift = KeyModifiers::SHIFT;
        assert_eq!(press(&m, KeyCode::Char('X'), shift), Some(Action::Rollback));
        assert_eq!(press(&m, KeyCode::Char('R'), shift), Some(Action::Key('R')));
        assert_eq!(press(&m, KeyCode::Char('D'), shift), Some(Action::Key('D')));
        assert_eq!(m.rollback().map(|c| c.name()).as_deref(), Some("X"));
        let help = m.help(&c);
        assert!(help.contains(&("X".into(), "roll back: open \"Roll back\"".into())));
        assert!(help.contains(&(
            "R D".into(),
            "open that action's confirmation (see the menu)".into()
        )));
    }

    #[test]
    fn clashes_are_reported_with_both_sides() {
        let (_, p) = KeyMap::build(&cfg(ACTIONS));
        assert_eq!(
            p,
            [KeyProblem::Twice {
                chord: Chord::char('R'),
                earlier: Origin::Action(0),
                later: Origin::Rollback,
            }]
        );
        let (_, p) = KeyMap::build(&cfg(
            "[keys]\nhelp = \"q\"\ntck = \"T\"\nquit = \"Enter\"\n",
        ));
        assert!(p.contains(&KeyProblem::UnknownName("tck".into())), "{p:?}");
        assert!(
            p.contains(&KeyProblem::Twice {
                chord: Chord::key(KeyCode::Enter),
                earlier: Origin::Fixed,
                later: Origin::Builtin {
                    name: "quit",
                    rebound: true
                },
            }),
            "{p:?}"
        );
        // The first danger action's own key may be the rollback key: both open it.
        let one = "[[action]]\nid = \"rb\"\nkey = \"R\"\nlabel = \"l\"\ndanger = true\ncommand = { argv = [\"true\"] }\n";
        let (m, p) = KeyMap::build(&cfg(one));
        assert_eq!(p, []);
        assert_eq!(m.rollback(), Some(Chord::char('R')));
    }
}
