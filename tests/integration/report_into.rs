//! `report --into FILE`: the evidence written into the team's own checklist file, only
//! between its markers; the team's text kept byte for byte; twice is the same as once.

use std::process::Command;
use warroom::report::{splice_into, INTO_END};

#[test]
fn only_the_block_between_the_markers_is_replaced() {
    let team = "# Cutover checklist\n\n- [x] snapshot (Ana)\n";
    let once = splice_into(team, "## Report\nGO\n").unwrap();
    assert!(once.starts_with(team), "{once}");
    assert!(once.contains("<!-- warroom:begin") && once.ends_with(&format!("{INTO_END}\n")));
    // The same report again changes nothing; a new one replaces only the block.
    assert_eq!(splice_into(&once, "## Report\nGO\n").unwrap(), once);
    let edited = once.replace("- [x] snapshot (Ana)", "- [x] snapshot (Ana, 08:55)")
        + "\nSigned: the change manager\n";
    let again = splice_into(&edited, "## Report\nROLLED BACK\n").unwrap();
    assert!(
        again.contains("- [x] snapshot (Ana, 08:55)")
            && again.ends_with("Signed: the change manager\n")
    );
    assert!(
        again.contains("ROLLED BACK") && !again.contains("\nGO\n"),
        "{again}"
    );
    // Markers the tool cannot trust: nothing is written.
    assert!(splice_into(&format!("{INTO_END}\n<!-- warroom:begin x -->\n"), "r").is_err());
    assert!(splice_into(&format!("{once}{once}"), "r").is_err());
    assert!(splice_into("<!-- warroom:begin -->\nno end\n", "r").is_err());
}

#[test]
fn the_command_writes_into_the_file_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cutover-checklist-final.md");
    let team = "# Checklist final (Brokers v1)\n\nEvidencia registrada por el equipo.\n";
    std::fs::write(&file, team).unwrap();
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
            .args(["report", "tests/fixtures/recordings/drill.jsonl", "--into"])
            .arg(&file)
            .output()
            .expect("warroom runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run();
    assert_eq!(code, Some(0), "{err}");
    let first = std::fs::read_to_string(&file).unwrap();
    assert!(first.starts_with(team), "{first}");
    assert!(
        first.contains("## Timeline") && first.trim_end().ends_with(INTO_END),
        "{first}"
    );
    let (code, err) = run();
    assert_eq!(code, Some(0));
    assert!(err.contains("nothing changed"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), first);
}
