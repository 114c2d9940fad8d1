//! The key vocabulary: every key the dashboard answers to, mapped to an `Action`,
//! and the same list for the help overlay.

use super::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// (keys, what they do), in the order the help overlay lists them.
pub const HELP: &[(&str, &str)] = &[
    ("?", "show / hide this help"),
    ("q  Ctrl-C", "quit"),
    ("Tab  Shift-Tab", "move focus between panels"),
    (
        "j k  ↓ ↑",
        "select the next / previous row or checklist item",
    ),
    ("PgDn PgUp", "move the selection by ten"),
    ("Space  x", "tick / untick the selected checklist item"),
    ("n", "jump the timeline selection to the current step"),
    (
        "R",
        "roll back: open the confirmation of the first danger action",
    ),
    ("a", "action menu: every action of the config"),
    (
        "(action keys)",
        "open that action's confirmation (see the menu)",
    ),
    ("t", "mark T0 now (when the config has none; confirmed)"),
    (
        "g  G",
        "sign off the selected gate step: GO / NO-GO (typed name)",
    ),
    ("Enter", "in a confirmation: fire once the phrase is typed"),
    ("Ctrl-Z", "suspend (fg to come back)"),
    (
        "Esc",
        "close this help, cancel a confirmation (nothing is sent)",
    ),
];

/// What a key press means. Key releases and repeats of non-navigation keys are ignored
/// so a held key never acts twice.
pub fn action_for(key: KeyEvent, text_entry: bool) -> Option<Action> {
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
    let a = match key.code {
        KeyCode::Char('c') if ctrl => Action::Quit,
        KeyCode::Char('z') if ctrl => Action::Suspend,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Esc => Action::Escape,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrev,
        KeyCode::Down | KeyCode::Char('j') => Action::Move(1),
        KeyCode::Up | KeyCode::Char('k') => Action::Move(-1),
        KeyCode::PageDown => Action::Move(10),
        KeyCode::PageUp => Action::Move(-10),
        KeyCode::Char(' ') | KeyCode::Char('x') => Action::ToggleTick,
        KeyCode::Char('n') => Action::JumpToNow,
        KeyCode::Char('R') => Action::Rollback,
        KeyCode::Char('a') => Action::Menu,
        KeyCode::Char('t') => Action::MarkT0,
        KeyCode::Char('g') => Action::SignOff { go: true },
        KeyCode::Char('G') => Action::SignOff { go: false },
        KeyCode::Char('!') => Action::RunStep,
        KeyCode::Enter => Action::Submit,
        KeyCode::Char(c) if !ctrl => Action::Key(c),
        _ => return None,
    };
    // A held key repeats navigation only.
    if key.kind == KeyEventKind::Repeat && !matches!(a, Action::Move(_)) {
        return None;
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keys_and_ignores_release() {
        let k = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(action_for(k, false), Some(Action::Quit));
        let mut r = k;
        r.kind = KeyEventKind::Release;
        assert_eq!(action_for(r, false), None);
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(c, false), Some(Action::Quit));
        let mut rep = KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE);
        rep.kind = KeyEventKind::Repeat;
        assert_eq!(
            action_for(rep, false),
            None,
            "a held Space must not toggle twice"
        );
    }
}
