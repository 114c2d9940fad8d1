//! Themes load, fall back and meet every colour depth; glyph sets stay apart.

use super::*;

fn opts(depth: ColorDepth) -> ThemeOptions {
    ThemeOptions {
        no_color: false,
        ascii: false,
        depth,
    }
}

#[test]
fn every_builtin_loads_at_every_depth() {
    for (name, _) in BUILTIN {
        for depth in [
            ColorDepth::None,
            ColorDepth::Ansi16,
            ColorDepth::Ansi256,
            ColorDepth::TrueColor,
        ] {
            let t = Theme::load(Some(name), opts(depth)).expect(name);
            assert_eq!(t.name(), *name);
        }
    }
}

#[test]
fn fallback_fills_missing_roles() {
    let t = Theme::from_toml("crit = \"#ff0000\"", "t", opts(ColorDepth::TrueColor)).unwrap();
    assert_eq!(t.style(Role::Ok).fg, Some(Color::Green));
    assert_eq!(t.style(Role::Warn).fg, Some(Color::Yellow));
    assert_eq!(t.style(Role::NoData).fg, Some(Color::Magenta));
    assert_eq!(t.style(Role::Accent).fg, Some(Color::Cyan));
    // Related roles follow the theme's own crit.
    assert_eq!(t.style(Role::Danger).fg, Some(Color::Rgb(255, 0, 0)));
    assert_eq!(t.style(Role::Banner).bg, Some(Color::Rgb(255, 0, 0)));
    let empty = Theme::from_toml("", "t", opts(ColorDepth::Ansi16)).unwrap();
    assert_eq!(empty.style(Role::Crit).fg, Some(Color::Red));
}

#[test]
fn depth_downgrades_rgb() {
    let c = ThemeColor::parse("#c00000").unwrap();
    assert_eq!(c.to_color(ColorDepth::TrueColor), Color::Rgb(0xc0, 0, 0));
    assert_eq!(c.to_color(ColorDepth::Ansi256), Color::Indexed(124));
    assert_eq!(c.to_color(ColorDepth::Ansi16), Color::Red);
    assert_eq!(c.to_color(ColorDepth::None), Color::Reset);
    let grey = ThemeColor::parse("#6c6c6c").unwrap();
    assert_eq!(grey.to_color(ColorDepth::Ansi256), Color::Indexed(242));
    assert_eq!(grey.to_color(ColorDepth::Ansi16), Color::DarkGray);
    assert_eq!(
        ThemeColor::Indexed(196).to_color(ColorDepth::Ansi16),
        Color::LightRed
    );
    let light = Theme::load(Some("light"), opts(ColorDepth::Ansi16)).unwrap();
    for s in [
        light.style(Role::Ok),
        light.style(Role::Warn),
        light.style(Role::Crit),
        light.style(Role::Muted),
        light.style(Role::Selected),
    ] {
        for c in [s.fg, s.bg].into_iter().flatten() {
            assert!(
                !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                "{c:?} left at 16 colours"
            );
        }
    }
}

#[test]
fn ansi16_table_overrides_at_16_colours_only() {
    let toml = "warn = \"#8a5a00\"\n[ansi16]\nwarn = \"magenta\"\n";
    let t16 = Theme::from_toml(toml, "t", opts(ColorDepth::Ansi16)).unwrap();
    assert_eq!(t16.style(Role::Warn).fg, Some(Color::Magenta));
    let t24 = Theme::from_toml(toml, "t", opts(ColorDepth::TrueColor)).unwrap();
    assert_eq!(t24.style(Role::Warn).fg, Some(Color::Rgb(0x8a, 0x5a, 0)));
    // Light at 16 colours keeps warn and crit apart.
    let light = Theme::load(Some("light"), opts(ColorDepth::Ansi16)).unwrap();
    assert_ne!(light.style(Role::Warn).fg, light.style(Role::Crit).fg);
    let dflt = Theme::load(Some("default"), opts(ColorDepth::Ansi16)).unwrap();
    assert_ne!(dflt.style(Role::Selected).bg, Some(Color::Black));
}

#[test]
fn colour_names_parse() {
    assert_eq!(ThemeColor::parse("lightred"), Some(ThemeColor::Ansi(9)));
    assert_eq!(ThemeColor::parse("Light-Red"), Some(ThemeColor::Ansi(9)));
    assert_eq!(ThemeColor::parse("dark_gray"), Some(ThemeColor::Ansi(8)));
    assert_eq!(ThemeColor::parse("reset"), Some(ThemeColor::Reset));
    assert_eq!(ThemeColor::parse("42"), Some(ThemeColor::Indexed(42)));
    assert_eq!(ThemeColor::parse("#12345"), None);
    assert_eq!(ThemeColor::parse("reddish"), None);
}

#[test]
fn bad_colour_names_the_role() {
    let e = Theme::from_toml("warn = \"amber\"", "x.toml", opts(ColorDepth::Ansi16))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("warn") && e.contains("amber") && e.contains("#rrggbb"),
        "{e}"
    );
    let e = Theme::from_toml("wran = \"red\"", "x.toml", opts(ColorDepth::Ansi16))
        .unwrap_err()
        .to_string();
    assert!(e.contains("wran"), "{e}");
}

#[test]
fn unknown_name_lists_valid_names() {
    let e = Theme::load(Some("solarized"), opts(ColorDepth::Ansi16)).unwrap_err();
    assert!(matches!(e, ThemeError::Unknown { .. }));
    let msg = e.to_string();
    for (n, _) in BUILTIN {
        assert!(msg.contains(n), "{msg}");
    }
    assert!(msg.contains("solarized"));
}

#[test]
fn missing_theme_path_is_an_error_not_a_panic() {
    let e = Theme::load(Some("/nonexistent/dir/t.toml"), opts(ColorDepth::Ansi16)).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/dir/t.toml"));
}

#[test]
fn theme_file_from_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mine.toml");
    std::fs::write(&p, "name = \"mine\"\nok = \"#00ff00\"\n").unwrap();
    let t = Theme::load(p.to_str(), opts(ColorDepth::TrueColor)).unwrap();
    assert_eq!(t.name(), "mine");
    assert_eq!(t.style(Role::Ok).fg, Some(Color::Rgb(0, 255, 0)));
}

#[test]
fn no_color_and_mono_have_no_colour_but_keep_modifiers() {
    let nc = Theme::load(
        Some("default"),
        ThemeOptions {
            no_color: true,
            ..opts(ColorDepth::TrueColor)
        },
    )
    .unwrap();
    let mono = Theme::load(Some("mono"), opts(ColorDepth::TrueColor)).unwrap();
    let dumb = Theme::load(Some("default"), opts(ColorDepth::None)).unwrap();
    for t in [&nc, &mono, &dumb] {
        assert!(!t.has_color());
        for s in [
            t.style(Role::Ok),
            t.style(Role::Warn),
            t.style(Role::Crit),
            t.style(Role::NoData),
            t.style(Role::Danger),
            t.style(Role::Banner),
            t.style(Role::Selected),
        ] {
            assert!(s.fg.is_none_or(|c| c == Color::Reset));
            assert!(s.bg.is_none_or(|c| c == Color::Reset));
        }
        // States stay distinct by modifier alone.
        let mods = [
            t.style(Role::Ok),
            t.style(Role::Warn),
            t.style(Role::Crit),
            t.style(Role::NoData),
        ]
        .map(|s| s.add_modifier);
        for i in 0..4 {
            for j in i + 1..4 {
                assert_ne!(mods[i], mods[j]);
            }
        }
        assert!(t
            .style(Role::Danger)
            .add_modifier
            .contains(Modifier::REVERSED | Modifier::BOLD));
    }
}

#[test]
fn depth_detection() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(
        ColorDepth::detect(&env(&[("COLORTERM", "truecolor"), ("TERM", "xterm")])),
        ColorDepth::TrueColor
    );
    assert_eq!(
        ColorDepth::detect(&env(&[("COLORTERM", "24bit")])),
        ColorDepth::TrueColor
    );
    assert_eq!(
        ColorDepth::detect(&env(&[("TERM", "xterm-256color")])),
        ColorDepth::Ansi256
    );
    assert_eq!(
        ColorDepth::detect(&env(&[("TERM", "dumb")])),
        ColorDepth::None
    );
    assert_eq!(
        ColorDepth::detect(&env(&[("TERM", "linux")])),
        ColorDepth::Ansi16
    );
    assert_eq!(ColorDepth::detect(&env(&[])), ColorDepth::Ansi16);
}

#[test]
fn options_from_env() {
    let env = |k: &str| match k {
        "NO_COLOR" => Some("1".to_string()),
        "TERM" => Some("xterm-256color".to_string()),
        _ => None,
    };
    let o = ThemeOptions::detect(&env, false, true);
    assert!(o.no_color && o.ascii);
    assert_eq!(o.depth, ColorDepth::Ansi256);
    let empty = |k: &str| (k == "NO_COLOR").then(String::new);
    assert!(!ThemeOptions::detect(&empty, false, false).no_color);
    assert!(ThemeOptions::detect(&empty, true, false).no_color);
}

#[test]
fn ascii_glyphs_are_ascii() {
    let g = ASCII_GLYPHS;
    let b = g.border;
    let states = [g.ok, g.warn, g.crit, g.error, g.empty, g.stale, g.info].map(|s| s.label());
    let all = [
        g.critical_marker,
        g.current,
        g.selected,
        g.tick_done,
        g.tick_todo,
        g.sep,
        g.ellipsis,
        g.warning,
        g.dash,
        g.delta,
        b.top_left,
        b.top_right,
        b.bottom_left,
        b.bottom_right,
        b.vertical_left,
        b.vertical_right,
        b.horizontal_top,
        b.horizontal_bottom,
    ];
    for s in states.iter().chain(&all).chain(g.spark) {
        assert!(s.is_ascii(), "{s:?}");
    }
    assert_eq!(g.spark.concat(), ".:-=+*#");
}

#[test]
fn a_state_is_drawn_as_its_symbol_and_word_in_both_sets() {
    let states = |g: Glyphs| [g.ok, g.warn, g.crit, g.error, g.empty, g.stale, g.info];
    let (u, a) = (states(UNICODE_GLYPHS), states(ASCII_GLYPHS));
    for (u, a) in u.iter().zip(&a) {
        assert_eq!(u.word, a.word, "one word per state whatever the glyph set");
        assert!(!u.symbol.is_empty() && a.symbol.is_empty());
        assert_eq!(u.label(), format!("{} {}", u.symbol, u.word));
        assert_eq!(a.label(), format!("[{}]", a.word));
        assert_eq!(format!("{u:<8}|"), format!("{:<8}|", u.label()));
    }
    assert_eq!(UNICODE_GLYPHS.crit.label(), "✖ CRIT");
    assert_eq!(UNICODE_GLYPHS.crit.before("BREACH"), "✖ BREACH");
    assert_eq!(ASCII_GLYPHS.crit.before("BREACH"), "BREACH");
}

#[test]
fn every_key_of_a_theme_file_reaches_its_role() {
    for key in Key::ALL {
        let toml = match key.name().split_once('.') {
            Some((table, k)) => format!("[{table}]\n{k} = \"#010203\"\n"),
            None => format!("{} = \"#010203\"\n", key.name()),
        };
        let t = Theme::from_toml(&toml, "t", opts(ColorDepth::TrueColor)).expect(&toml);
        let (role, bg) = match key {
            Key::Ok => (Role::Ok, false),
            Key::Warn => (Role::Warn, false),
            Key::Crit => (Role::Crit, false),
            Key::NoData => (Role::NoData, false),
            Key::Danger => (Role::Danger, false),
            Key::Accent => (Role::Accent, false),
            Key::Muted => (Role::Muted, false),
            Key::Text => (Role::Text, false),
            Key::Border => (Role::Border, false),
            Key::Selected => (Role::Selected, true),
            Key::BannerFg => (Role::Banner, false),
            Key::BannerBg => (Role::Banner, true),
        };
        let s = t.style(role);
        let got = if bg { s.bg } else { s.fg };
        assert_eq!(got, Some(Color::Rgb(1, 2, 3)), "{toml}");
        // And a bad value names the key as the file spells it.
        let bad = toml.replace("#010203", "amber");
        let e = Theme::from_toml(&bad, "t", opts(ColorDepth::TrueColor))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("`{}`", key.name())), "{e}");
    }
}

#[test]
fn every_role_has_a_style_from_an_empty_file() {
    let t = Theme::from_toml("", "t", opts(ColorDepth::Ansi16)).unwrap();
    for role in Role::ALL {
        let s = t.style(role);
        assert!(
            s.fg.is_some() || s.bg.is_some() || !s.add_modifier.is_empty(),
            "{role:?}"
        );
    }
    assert_eq!(t.style(Role::Banner).fg, Some(Color::White));
    assert_eq!(t.style(Role::Border).fg, Some(Color::DarkGray));
    assert_eq!(t.style(Role::Selected).bg, Some(Color::Blue));
}

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn ascii_when_the_locale_is_not_utf8_or_the_terminal_has_no_glyphs() {
    use crate::theme::wants_ascii;
    assert!(!wants_ascii(&env_of(&[
        ("LANG", "en_US.UTF-8"),
        ("TERM", "xterm-256color")
    ])));
    assert!(!wants_ascii(&env_of(&[("LC_ALL", "C.utf8")])));
    assert!(wants_ascii(&env_of(&[("LANG", "C"), ("TERM", "xterm")])));
    assert!(wants_ascii(&env_of(&[("LANG", "POSIX")])));
    // LC_ALL wins over LANG, as in C.
    assert!(wants_ascii(&env_of(&[
        ("LC_ALL", "C"),
        ("LANG", "en_US.UTF-8")
    ])));
    assert!(!wants_ascii(&env_of(&[
        ("LC_CTYPE", "de_DE.UTF-8"),
        ("LANG", "C")
    ])));
    // No locale at all is the C locale.
    assert!(wants_ascii(&env_of(&[("TERM", "xterm")])));
    for term in ["vt100", "dumb", "vt220"] {
        let pairs: &'static [(&'static str, &'static str)] = match term {
            "vt100" => &[("LANG", "en_US.UTF-8"), ("TERM", "vt100")],
            "dumb" => &[("LANG", "en_US.UTF-8"), ("TERM", "dumb")],
            _ => &[("LANG", "en_US.UTF-8"), ("TERM", "vt220")],
        };
        assert!(wants_ascii(&env_of(pairs)), "{term}");
        assert!(
            ThemeOptions::detect(&env_of(pairs), false, false).ascii,
            "{term}"
        );
    }
}

#[test]
fn term_dumb_refuses_the_dashboard_and_points_to_check() {
    use crate::theme::refuse_dumb;
    let e = refuse_dumb(&env_of(&[("TERM", "dumb")])).unwrap_err();
    assert!(e.contains("warroom check"), "{e}");
    assert!(refuse_dumb(&env_of(&[("TERM", "vt100")])).is_ok());
    assert!(refuse_dumb(&env_of(&[])).is_ok());
}
