//! The key vocabulary: every key the dashboard answers to, for the key map and the help overlay.

/// (keys, what they do), in the order the help overlay lists them.
pub const HELP: &[(&str, &str)] = &[
    ("?", "show / hide this help"),
    ("q  Ctrl-C", "quit"),
    ("Tab  Shift-Tab", "move focus between panels"),
    (
        "j k  ↓ ↑",
        "select the next / previous row or checklist item",
    ),
    ("Space  x", "tick / untick the selected checklist item"),
    ("n", "jump the timeline selection to the current step"),
    ("f", "freeze / unfreeze the screen (polling goes on)"),
    ("Esc", "close this help or a dialog"),
];
