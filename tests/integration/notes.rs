//! Operator notes: one key opens a one-line note; it is audited before it shows, every
//! screen sharing the log shows it, a read-only screen writes none, and the report keeps
//! it in its timeline under the step it was written in.

use crate::common::render_text;
use chrono::{TimeZone, Utc};
use std::sync::Arc;
use warroom::app::keys::Chord;
use warroom::app::{update, Action, Effect, Modal, Msg, Remote, State};
use warroom::audit::{AuditEvent, Note};
use warroom::sample::{Mono, Stamp};

const CFG: &str = r#"
[cutover]
name = "n"
[[source]]
id = "api"
kind = "http"
url = "http://127.0.0.1:9/x"
[[signal]]
id = "up"
source = "api"
kind = "flag"
path = ".up"
[[step]]
at = "0"
title = "T0"
checklist = ["flag on"]
"#;

fn screen(read_only: bool) -> State {
    let text = if read_only {
        format!("{CFG}[ui]\nread_only = true\n")
    } else {
        CFG.to_string()
    };
    let cfg = warroom::config::load_str_with_env(&text, "n.toml", &|_| None).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 5, 0).unwrap();
    State::new(
        Arc::new(cfg),
        Stamp::new(now, Mono(1_000_000)),
        Some(now),
        "alice".into(),
    )
}

fn press(st: &mut State, key: &str) -> Vec<Effect> {
    let chord = Chord::parse(key).unwrap();
    match st.keys().action_for(chord.event(), st.text_entry()) {
        Some(a) => update(st, Msg::Action(a)),
        None => panic!("{key} is bound to nothing"),
    }
}

fn type_str(st: &mut State, s: &str) {
    for c in s.chars() {
        update(st, Msg::Action(Action::Type(c)));
    }
}

fn notes(fx: &[Effect]) -> Vec<(u64, String)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Audit {
                id,
                event: AuditEvent::Note(n),
                ..
            } => Some((*id, n.text.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_note_is_recorded_before_the_room_sees_it() {
    let mut st = screen(false);
    press(&mut st, "#");
    assert!(matches!(st.modal(), Some(Modal::Confirm(_))));
    assert!(render_text(&st, 100, 30).contains("Type the note"));
    type_str(&mut st, "DBA confirms the snapshot finished at 08:55");
    let fx = update(&mut st, Msg::Action(Action::Submit));
    let n = notes(&fx);
    assert_eq!(
        n.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(),
        ["DBA confirms the snapshot finished at 08:55"]
    );
    let shown = |st: &State| {
        st.events()
            .iter()
            .any(|e| e.text == "alice noted: DBA confirms the snapshot finished at 08:55")
    };
    assert!(!shown(&st), "shown before it was recorded");
    update(&mut st, Msg::AuditWritten { id: n[0].0 });
    assert!(shown(&st));
    assert!(st.modal().is_none());

    // Enter on an empty note writes nothing; a note too long for one line is refused.
    press(&mut st, "#");
    let fx = update(&mut st, Msg::Action(Action::Submit));
    assert!(notes(&fx).is_empty() && st.modal().is_none());
    press(&mut st, "#");
    type_str(&mut st, &"x".repeat(400));
    let fx = update(&mut st, Msg::Action(Action::Submit));
    assert!(notes(&fx).is_empty());
    assert!(render_text(&st, 120, 40).contains("at most 300"));
}

#[test]
fn a_read_only_screen_writes_none_and_shows_everyone_elses() {
    let mut st = screen(true);
    let fx = press(&mut st, "#");
    assert!(fx.is_empty() && st.modal().is_none());
    assert!(st.notice().is_some_and(|n| n.text.contains("read-only")));
    let now = st.now();
    update(
        &mut st,
        Msg::Remote(Remote {
            at: now,
            user: "bob".into(),
            host: "b2".into(),
            cutover: None,
            environment: None,
            config: None,
            session: "s2".into(),
            event: AuditEvent::Note(Note {
                text: "support queue is quiet".into(),
            }),
        }),
    );
    assert!(st
        .events()
        .iter()
        .any(|e| e.text == "bob@b2 noted: support queue is quiet"));
}

#[test]
fn the_report_keeps_a_note_under_the_step_it_was_written_in() {
    // A recorded drill, with a note written at T+30s (during "T0 activar…").
    let text = std::fs::read_to_string("tests/fixtures/recordings/drill.jsonl").unwrap();
    let note = r#"{"at":"2026-11-25T21:00:30.000Z","details":{"text":"DBA confirms the snapshot"},"host":"bastion-1","kind":"note","type":"audit","user":"ana","v":1}"#;
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("\"at\":\"2026-11-25T21:00:3"))
        .unwrap_or(lines.len() - 1);
    lines.insert(at, note);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drill.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let mut out = Vec::new();
    warroom::report::run(&path, false, None, &mut out).unwrap();
    let md = String::from_utf8(out).unwrap();
    let step = md.find("### 0 T0 activar").expect("the T0 step");
    let next = md[step + 1..]
        .find("### ")
        .map_or(md.len(), |n| step + 1 + n);
    assert!(
        md[step..next].contains("- note: 21:00:30 by ana@bastion-1: DBA confirms the snapshot"),
        "{md}"
    );
}
