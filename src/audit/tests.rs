use super::writer::fake::{self, Disk, Fault};
use super::*;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

fn ctx(session: &str) -> AuditContext {
    AuditContext {
        host: "bastion-1".into(),
        user: "ana".into(),
        ssh_client: Some("10.0.0.7".into()),
        pid: 4242,
        session: session.into(),
        cutover: Some("Brokers v1".into()),
        environment: Some("production".into()),
        config: Some("0badc0de".into()),
    }
}

fn tick(item: usize, text: &str) -> AuditEvent {
    AuditEvent::Tick(TickItem {
        step: 0,
        item,
        step_title: "T0".into(),
        item_text: text.into(),
    })
}

fn confirmed(attempt: u32, again: bool) -> AuditEvent {
    AuditEvent::ActionConfirmed(Confirmed {
        action: "rollback".into(),
        label: "Roll back".into(),
        attempt,
        idempotency_key: "k".into(),
        target: vec![],
        snapshot: vec![],
        again,
        break_glass: None,
    })
}

fn result(ok: bool) -> AuditEvent {
    AuditEvent::ActionResult(ActionResult {
        action: "rollback".into(),
        attempt: 1,
        ok,
        outcome_unknown: false,
        outcome: Some(Outcome::of(ok, false)),
        http_status: Some(if ok { 200 } else { 500 }),
        exit_code: None,
        duration_ms: 4,
        idempotency_key: "k".into(),
        summary: "HTTP 200 in 4 ms".into(),
        excerpt: String::new(),
        captures: Vec::new(),
    })
}

fn records(items: Vec<TailItem>) -> Vec<AuditRecord> {
    items
        .into_iter()
        .filter_map(|i| match i {
            TailItem::Record(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn bad_lines(items: &[TailItem]) -> Vec<u64> {
    items
        .iter()
        .filter_map(|i| match i {
            TailItem::Bad { line, .. } => Some(*line),
            _ => None,
        })
        .collect()
}

#[test]
fn audit_default_path_carries_cutover_and_environment() {
    let env = |k: &str| match k {
        "XDG_STATE_HOME" => Some("/var/state".to_string()),
        "HOME" => Some("/home/ana".to_string()),
        _ => None,
    };
    assert_eq!(
        default_path_with("Brokers v1 → legacy!", "Production", &env),
        PathBuf::from("/var/state/warroom/brokers-v1-legacy/production/audit.jsonl")
    );
    assert_ne!(
        default_path_with("EDN360", "staging", &env),
        default_path_with("EDN360", "production", &env),
        "staging and production never share a log by default"
    );
    let no_xdg = |k: &str| (k == "HOME").then(|| "/home/ana".to_string());
    assert_eq!(
        default_path_with("EDN360", "default", &no_xdg),
        PathBuf::from("/home/ana/.local/state/warroom/edn360/default/audit.jsonl")
    );
    // A relative XDG_STATE_HOME is invalid per the spec: ignored.
    let rel = |k: &str| match k {
        "XDG_STATE_HOME" => Some("state".to_string()),
        "HOME" => Some("/home/ana".to_string()),
        _ => None,
    };
    assert!(default_path_with("x", "default", &rel).starts_with("/home/ana/.local/state"));
    assert_eq!(slug("///"), "cutover");
}

#[test]
fn audit_ssh_client_first_field() {
    let env = |k: &str| (k == "SSH_CONNECTION").then(|| "192.0.2.4 5122 10.0.0.1 22".into());
    assert_eq!(ssh_client(&env).as_deref(), Some("192.0.2.4"));
    let env = |k: &str| (k == "SSH_CLIENT").then(|| "198.51.100.9 40000 22".into());
    assert_eq!(ssh_client(&env).as_deref(), Some("198.51.100.9"));
    assert_eq!(ssh_client(&|_| None), None);
    assert_ne!(new_session_id(), new_session_id());
}

#[test]
fn audit_lines_of_the_earlier_format_still_parse() {
    // Exactly as the previous version wrote them: no cutover, environment or fingerprint,
    // an action result of prose only.
    let lines = [
        r#"{"at":"2026-11-25T21:03:04.123456789Z","host":"bastion-1","user":"ana","ssh_client":"10.0.0.7","pid":4242,"session":"5f0c1e2d3b4a6978","kind":"action_confirmed","details":{"action":"rollback","label":"Disable Brokers v1 modules (rollback)","attempt":1,"idempotency_key":"5f0c1e2d3b4a6978-rollback-1","target":["POST http://127.0.0.1:5000/api/v1/admin/flags/brokers_v1_modules"],"snapshot":["CRIT err /api/v1/auth/login 6.1 % (crit > 2) for 1m"]}}"#,
        r#"{"at":"2026-11-25T21:03:04.2Z","host":"bastion-1","user":"ana","ssh_client":null,"pid":4242,"session":"5f0c1e2d3b4a6978","kind":"action_result","details":{"action":"rollback","attempt":1,"ok":true,"outcome_unknown":false,"summary":"HTTP 200 in 1 ms","duration_ms":1,"excerpt":"{}"}}"#,
        r#"{"at":"2026-11-25T21:03:09Z","host":"bastion-1","user":"ana","pid":4242,"session":"5f0c1e2d3b4a6978","kind":"verify_result","details":{"action":"rollback","verified":true,"after":"5s"}}"#,
        r#"{"at":"2026-11-25T21:04:00Z","host":"bastion-2","user":"bob","ssh_client":null,"pid":7,"session":"aa","kind":"tick","details":{"step":2,"item":1,"step_title":"T0 switch","item_text":"flag flipped"}}"#,
        r#"{"at":"2026-11-25T21:05:00Z","host":"bastion-2","user":"bob","ssh_client":null,"pid":7,"session":"aa","kind":"signoff","details":{"step":3,"title":"GO/NO-GO","decision":"NO-GO","name":"Bob (DBA)","snapshot":[]}}"#,
        r#"{"at":"2026-11-25T21:00:00Z","host":"bastion-2","user":"bob","ssh_client":null,"pid":7,"session":"aa","kind":"t0_mark","details":{"t0":"2026-11-25T21:00:00Z"}}"#,
        r#"{"at":"2026-11-25T21:06:00Z","host":"bastion-2","user":"bob","ssh_client":null,"pid":7,"session":"aa","kind":"step_run_result","details":{"step":1,"title":"smoke","ok":false,"summary":"exit 2 in 1.0s","duration_ms":1000,"excerpt":"boom"}}"#,
    ];
    let recs: Vec<AuditRecord> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(matches!(&recs[0].event, AuditEvent::ActionConfirmed(c) if c.attempt == 1 && !c.again));
    match &recs[1].event {
        AuditEvent::ActionResult(r) => {
            assert!(r.ok);
            assert_eq!(r.outcome(), Outcome::Ok);
            assert_eq!(r.summary, "HTTP 200 in 1 ms");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&recs[2].event, AuditEvent::VerifyResult(v) if v.verified));
    assert!(matches!(&recs[3].event, AuditEvent::Tick(t) if t.step == 2 && t.item == 1));
    assert!(matches!(&recs[4].event, AuditEvent::Signoff(s) if s.decision == Decision::NoGo));
    assert!(matches!(&recs[5].event, AuditEvent::T0Mark(t) if t.t0.is_some()));
    assert!(matches!(&recs[6].event, AuditEvent::StepRunResult(s) if !s.ok));
    // No environment named: taken as this screen's (never refused for being old).
    assert_eq!(recs[3].foreign_to("Brokers v1", "production"), None);
}

#[test]
fn audit_writer_creates_0600_and_round_trips_with_environment_and_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/audit.jsonl");
    let mut w = AuditWriter::open(&path).unwrap();
    let rec = ctx("s1").record(result(true));
    w.append(&rec).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(v["kind"], "action_result");
    assert_eq!(v["environment"], "production");
    assert_eq!(v["config"], "0badc0de");
    // A script can query the result without reading prose.
    assert_eq!(v["details"]["http_status"], 200);
    assert_eq!(v["details"]["outcome"], "ok");
    assert_eq!(v["details"]["duration_ms"], 4);
    let back: AuditRecord = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(back, rec);
}

#[test]
fn audit_open_error_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let err = AuditWriter::open(blocker.join("sub/audit.jsonl")).unwrap_err();
    assert!(
        err.to_string().contains(&blocker.display().to_string()),
        "{err}"
    );
}

#[test]
fn audit_concurrent_writers_write_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let big = "x".repeat(6000);
    let handles: Vec<_> = ["one", "two"]
        .into_iter()
        .map(|s| {
            let path = path.clone();
            let big = big.clone();
            std::thread::spawn(move || {
                let mut w = AuditWriter::open(&path).unwrap();
                let c = ctx(s);
                for i in 0..200 {
                    w.append(&c.record(tick(i, &big))).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let recs: Vec<AuditRecord> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is a whole record"))
        .collect();
    assert_eq!(recs.len(), 400);
    for s in ["one", "two"] {
        let is: Vec<usize> = recs
            .iter()
            .filter(|r| r.session == s)
            .filter_map(|r| match &r.event {
                AuditEvent::Tick(t) => Some(t.item),
                _ => None,
            })
            .collect();
        assert_eq!(is, (0..200).collect::<Vec<_>>(), "session {s} in order");
    }
}

#[test]
fn audit_failed_writes_never_glue_the_next_record_onto_a_broken_line() {
    let disk = Arc::new(Mutex::new(Disk::default()));
    let mut w = fake::writer(&disk);
    let c = ctx("s1");
    w.append(&c.record(tick(0, "first"))).unwrap();
    disk.lock().unwrap().faults.extend([
        Fault::Short(17),
        Fault::Errno(libc::EIO),
        Fault::Errno(libc::ENOSPC),
    ]);
    let short = w.append(&c.record(tick(1, "short"))).unwrap_err();
    assert!(
        matches!(short, AuditError::Short { written: 17, .. }),
        "{short}"
    );
    let eio = w.append(&c.record(tick(2, "eio"))).unwrap_err();
    assert!(eio.to_string().contains("Input/output error"), "{eio}");
    let enospc = w.append(&c.record(tick(3, "enospc"))).unwrap_err();
    assert!(enospc.to_string().contains("No space left"), "{enospc}");
    w.append(&c.record(tick(4, "after"))).unwrap();

    let bytes = disk.lock().unwrap().bytes.clone();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "first, the broken piece, after:\n{text}");
    assert_eq!(lines[1].len(), 17, "the short write's piece stands alone");
    let ok: Vec<AuditRecord> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(ok.len(), 2, "both whole records parse:\n{text}");

    // A reader skips the broken line, names it, and keeps the rest.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, &bytes).unwrap();
    let items = AuditTail::new(&path, "me", TailFrom::Start).poll();
    assert_eq!(bad_lines(&items), vec![2]);
    assert_eq!(records(items).len(), 2);

    // A failed sync is a failure too: the act must not go ahead on an unsynced record.
    disk.lock().unwrap().sync_fails = true;
    let sync = w.append(&c.record(tick(5, "unsynced"))).unwrap_err();
    assert!(matches!(sync, AuditError::Sync { .. }), "{sync}");
}

#[test]
fn audit_a_partial_line_left_by_another_process_is_ended_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, "{\"at\":\"2026-11-25T21:0").unwrap();
    let mut w = AuditWriter::open(&path).unwrap();
    w.append(&ctx("s1").record(tick(0, "x"))).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let last = text.lines().last().unwrap();
    assert!(serde_json::from_str::<AuditRecord>(last).is_ok(), "{text}");
}

#[test]
fn audit_devices_are_not_audit_logs() {
    // /dev/null would take every record and keep none; /dev/full refuses them all.
    for dev in ["/dev/null", "/dev/full"] {
        let mut w = AuditWriter::open(dev).unwrap();
        let err = w.append(&ctx("s1").record(tick(0, "x"))).unwrap_err();
        assert!(
            err.to_string().contains("not a regular file"),
            "{dev}: {err}"
        );
    }
}

#[test]
fn audit_writer_follows_a_rotated_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut w = AuditWriter::open(&path).unwrap();
    let c = ctx("s1");
    w.append(&c.record(tick(0, "before"))).unwrap();
    assert!(w.take_notice().is_none());

    // Renamed away (logrotate): the next record goes to a new file at the path.
    let old = dir.path().join("audit.jsonl.1");
    std::fs::rename(&path, &old).unwrap();
    w.append(&c.record(tick(1, "after rename"))).unwrap();
    let notice = w.take_notice().expect("the screen is told");
    assert!(notice.contains("renamed, replaced or deleted"), "{notice}");
    assert_eq!(std::fs::read_to_string(&old).unwrap().lines().count(), 1);
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("after rename"));

    // Replaced by another file: appended to that one.
    let tmp = dir.path().join("new");
    std::fs::write(&tmp, "").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    w.append(&c.record(tick(2, "after replace"))).unwrap();
    assert!(w.take_notice().is_some());
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);

    // Deleted: recreated (0600).
    std::fs::remove_file(&path).unwrap();
    w.append(&c.record(tick(3, "after delete"))).unwrap();
    assert!(w.take_notice().is_some());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

fn rule(session: &str, again: bool) -> ClaimRule {
    ClaimRule {
        action: "rollback".into(),
        session: session.into(),
        cutover: "Brokers v1".into(),
        environment: "production".into(),
        in_flight_ms: 20_000,
        verify_ms: Some(60_000),
        cooldown_ms: 60_000,
        again,
    }
}

#[test]
fn audit_a_claim_loses_to_an_attempt_in_flight_or_recently_succeeded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut a = AuditWriter::open(&path).unwrap();
    let mut b = AuditWriter::open(&path).unwrap();
    let (ca, cb) = (ctx("A"), ctx("B"));
    let now = chrono::Utc::now();

    assert_eq!(
        a.claim(&ca.record(confirmed(1, false)), &rule("A", false), now)
            .unwrap(),
        Claimed::Won
    );
    let lost = b
        .claim(&cb.record(confirmed(1, false)), &rule("B", false), now)
        .unwrap();
    assert!(
        matches!(&lost, Claimed::Lost(Competitor::InFlight { by, .. }) if by == "ana@bastion-1"),
        "{lost:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().lines().count(),
        1,
        "the loser wrote nothing"
    );

    // A's attempt succeeded: B needs the deliberate phrase until the cooldown is over.
    a.append(&ca.record(result(true))).unwrap();
    let lost = b
        .claim(&cb.record(confirmed(1, false)), &rule("B", false), now)
        .unwrap();
    assert!(
        matches!(
            &lost,
            Claimed::Lost(Competitor::Succeeded { verdict: None, .. })
        ),
        "{lost:?}"
    );
    let later = now + chrono::Duration::seconds(121);
    assert_eq!(
        b.claim(&cb.record(confirmed(1, false)), &rule("B", false), later)
            .unwrap(),
        Claimed::Won,
        "verify window and cooldown over"
    );
}

#[test]
fn audit_a_deliberate_second_attempt_and_stale_or_foreign_claims_go_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut a = AuditWriter::open(&path).unwrap();
    let mut b = AuditWriter::open(&path).unwrap();
    let (ca, cb) = (ctx("A"), ctx("B"));
    let now = chrono::Utc::now();
    a.append(&ca.record(confirmed(1, false))).unwrap();
    a.append(&ca.record(result(true))).unwrap();
    assert_eq!(
        b.claim(&cb.record(confirmed(1, true)), &rule("B", true), now)
            .unwrap(),
        Claimed::Won,
        "`again` was typed"
    );
    // B's deliberate attempt is now in flight: `again` does not override that.
    assert!(matches!(
        a.claim(&ca.record(confirmed(2, true)), &rule("A", true), now)
            .unwrap(),
        Claimed::Lost(Competitor::InFlight { .. })
    ));
    // Past the time-out margin a confirmation that never reported no longer holds the flight.
    let late = now + chrono::Duration::seconds(21);
    assert_eq!(
        a.claim(&ca.record(confirmed(2, true)), &rule("A", true), late)
            .unwrap(),
        Claimed::Won
    );

    // A staging screen's confirmation in a shared file never holds production's flight.
    let path2 = dir.path().join("shared.jsonl");
    let mut staging = AuditWriter::open(&path2).unwrap();
    let mut cs = ctx("S");
    cs.environment = Some("staging".into());
    staging.append(&cs.record(confirmed(1, false))).unwrap();
    let mut prod = AuditWriter::open(&path2).unwrap();
    assert_eq!(
        prod.claim(&cb.record(confirmed(1, false)), &rule("B", false), now)
            .unwrap(),
        Claimed::Won
    );
}

#[test]
fn audit_of_many_simultaneous_claims_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let start = Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let mut w = AuditWriter::open(&path).unwrap();
                let s = format!("s{i}");
                let rec = ctx(&s).record(confirmed(1, false));
                start.wait();
                w.claim(&rec, &rule(&s, false), chrono::Utc::now()).unwrap()
            })
        })
        .collect();
    let won = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|c| *c == Claimed::Won)
        .count();
    assert_eq!(won, 1);
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
}

#[test]
fn audit_fingerprint_is_short_stable_and_blind_to_secrets() {
    let text = |token: &str, url: &str| {
        format!(
            "[cutover]\nname = \"x\"\n[[source]]\nid = \"s\"\nkind = \"http\"\nurl = \"{url}\"\nheaders = {{ Authorization = \"Bearer {token}\" }}\n"
        )
    };
    let cfg = |token: &str, url: &str| -> Config { toml::from_str(&text(token, url)).unwrap() };
    let hide = |t: &'static str| move |s: &str| s.replace(t, "***");
    let a = fingerprint(&cfg("tok-one", "http://a"), &hide("tok-one"));
    assert_eq!(a.len(), 8);
    assert_eq!(
        a,
        fingerprint(&cfg("tok-one", "http://a"), &hide("tok-one"))
    );
    assert_eq!(
        a,
        fingerprint(&cfg("tok-two", "http://a"), &hide("tok-two")),
        "the token does not enter the fingerprint"
    );
    assert_ne!(
        a,
        fingerprint(&cfg("tok-one", "http://b"), &hide("tok-one"))
    );
}

#[test]
fn audit_tail_sees_others_not_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut mine = AuditWriter::open(&path).unwrap();
    let mut theirs = AuditWriter::open(&path).unwrap();
    let me = ctx("me");
    let other = ctx("other");
    mine.append(&me.record(tick(0, "before"))).unwrap();
    theirs.append(&other.record(tick(0, "before"))).unwrap();

    let mut from_end = AuditTail::new(&path, "me", TailFrom::End);
    let mut from_start = AuditTail::new(&path, "me", TailFrom::Start);
    assert!(from_end.poll().is_empty(), "history is skipped");
    let replay = records(from_start.poll());
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0].session, "other");

    mine.append(&me.record(AuditEvent::T0Mark(T0Mark { t0: None })))
        .unwrap();
    theirs.append(&other.record(result(true))).unwrap();
    // A broken line after history: numbered from the file's start.
    OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"garbage\n")
        .unwrap();
    let items = from_end.poll();
    assert_eq!(bad_lines(&items), vec![5]);
    let got = records(items);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event.kind(), "action_result");
    assert!(from_end.poll().is_empty(), "nothing twice");
}

#[test]
fn audit_tail_skips_broken_lines_by_number_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let line = |item: usize, text: &str| {
        serde_json::to_string(&ctx("other").record(tick(item, text))).unwrap()
    };
    let mut bytes = Vec::new();
    bytes.extend_from_slice(format!("{}\n", line(0, "one")).as_bytes());
    // Invalid UTF-8 inside a string.
    let mut bad = line(1, "b\u{e9}").into_bytes();
    let at = bad.windows(2).position(|w| w == "é".as_bytes()).unwrap();
    bad[at] = 0xff;
    bytes.extend_from_slice(&bad);
    bytes.push(b'\n');
    // A multi-byte character cut in half (a write that stopped mid-character).
    let cut = line(2, "caf\u{e9} au lait");
    let end = cut.find('é').unwrap() + 1;
    bytes.extend_from_slice(&cut.as_bytes()[..end]);
    bytes.push(b'\n');
    bytes.extend_from_slice(b"{\"not\": \"a record\"}\n");
    bytes.extend_from_slice(format!("{}\n", line(3, "four")).as_bytes());
    std::fs::write(&path, &bytes).unwrap();

    let mut tail = AuditTail::new(&path, "me", TailFrom::Start);
    let items = tail.poll();
    assert_eq!(bad_lines(&items), vec![2, 3, 4]);
    let why: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            TailItem::Bad { why, .. } => Some(why.as_str()),
            _ => None,
        })
        .collect();
    assert!(why[0].contains("UTF-8"), "{why:?}");
    assert!(why[1].contains("UTF-8"), "{why:?}");
    let items: Vec<usize> = records(items)
        .iter()
        .filter_map(|r| match &r.event {
            AuditEvent::Tick(t) => Some(t.item),
            _ => None,
        })
        .collect();
    assert_eq!(
        items,
        vec![0, 3],
        "the lines after the broken ones are read"
    );
    assert_eq!(tail.bad_lines(), 3);
}

#[test]
fn audit_tail_partial_lines_truncation_and_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let line = serde_json::to_string(&ctx("other").record(AuditEvent::T0Mark(T0Mark { t0: None })))
        .unwrap();
    let (a, b) = line.split_at(line.len() / 2);
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    let mut tail = AuditTail::new(&path, "me", TailFrom::Start);

    f.write_all(a.as_bytes()).unwrap();
    assert!(tail.poll().is_empty(), "half a line is not a record yet");
    f.write_all(b.as_bytes()).unwrap();
    f.write_all(b"\n").unwrap();
    let got = records(tail.poll());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event.kind(), "t0_mark");

    // Truncated (a new log for a rehearsal): read again from the start, and said so.
    f.set_len(0).unwrap();
    assert!(matches!(&tail.poll()[..], [TailItem::Rotated(t)] if t.contains("truncated")));
    let other = serde_json::to_string(&ctx("other").record(tick(0, "again"))).unwrap();
    f.write_all(format!("{other}\n").as_bytes()).unwrap();
    assert_eq!(records(tail.poll()).len(), 1);

    // Rotated: a new file at the path is read from its start.
    std::fs::rename(&path, dir.path().join("audit.jsonl.1")).unwrap();
    let gone = tail.poll();
    assert!(
        matches!(&gone[..], [TailItem::Rotated(t)] if t.contains("gone")),
        "{gone:?}"
    );
    let mut w = AuditWriter::open(&path).unwrap();
    w.append(&ctx("other").record(AuditEvent::Untick(TickItem {
        step: 0,
        item: 0,
        step_title: String::new(),
        item_text: String::new(),
    })))
    .unwrap();
    let items = tail.poll();
    assert!(items
        .iter()
        .any(|i| matches!(i, TailItem::Rotated(t) if t.contains("new audit log"))));
    let got = records(items);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event.kind(), "untick");

    // Replaced by a copy of itself: nothing is applied twice.
    let copy = dir.path().join("copy");
    std::fs::copy(&path, &copy).unwrap();
    std::fs::rename(&copy, &path).unwrap();
    let items = tail.poll();
    assert!(items
        .iter()
        .any(|i| matches!(i, TailItem::Rotated(t) if t.contains("replaced"))));
    assert!(records(items).is_empty());
}

#[tokio::test]
async fn audit_spawn_tail_delivers_other_sessions_live() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (tx, mut rx) = mpsc::channel(16);
    let task = spawn_tail(path.clone(), "me".into(), tx, Duration::from_millis(50));
    // The file does not exist yet when the tail starts: created later, read in full.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut w = AuditWriter::open(&path).unwrap();
    w.append(&ctx("me").record(tick(0, "mine"))).unwrap();
    w.append(&ctx("other").record(tick(3, "theirs"))).unwrap();
    let got = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .expect("within 2 s")
        .expect("a record");
    assert!(matches!(got, TailItem::Record(r) if r.session == "other"));
    drop(rx);
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the task ends when the receiver goes")
        .unwrap();
}

#[test]
fn audit_tail_of_a_device_says_so_once_and_reads_nothing() {
    let mut tail = AuditTail::new("/dev/zero", "me", TailFrom::Start);
    let first = tail.poll();
    assert!(
        matches!(&first[..], [TailItem::Rotated(t)] if t.contains("not a regular file")),
        "{first:?}"
    );
    assert!(tail.poll().is_empty(), "said once");
    assert_eq!(tail.bad_lines(), 0, "no endless zeros read as lines");
}
