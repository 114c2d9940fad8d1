//! The stand-ins as the presets' commands meet them: programs named `aws`, `docker` and
//! `mongosh` found on `PATH` (links to the built binary), answering from a running simulator
//! with the real CLIs' output, and the rollbacks they perform changing that simulator.

use crate::common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};
use warroom::sim::{hse, Profile, Scenario};

/// Runs `program` by name, as a command source would, with `env` on top of this process's.
fn run(env: &[(String, String)], program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"))
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_on_path_reads_and_writes_the_simulated_split() {
    let sim = common::start_profile(Profile::Hse, Scenario::Healthy).await;
    let s = common::standins(&sim);
    let env = s.env();
    let get = [
        "ssm",
        "get-parameter",
        "--name",
        hse::PARAMETER,
        "--query",
        "Parameter.Value",
        "--output",
        "text",
    ];
    let e = env.clone();
    let o = tokio::task::spawn_blocking(move || run(&e, "aws", &get))
        .await
        .unwrap();
    assert_eq!(stdout(&o), "10\n");
    // The rollback as the runbook writes it moves the simulator's split.
    let e = env.clone();
    let put = [
        "ssm",
        "put-parameter",
        "--name",
        hse::PARAMETER,
        "--value",
        "0",
        "--type",
        "String",
        "--overwrite",
    ];
    let o = tokio::task::spawn_blocking(move || run(&e, "aws", &put))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["Version"], 2, "{v}");
    assert_eq!(sim.parameter(hse::PARAMETER).as_deref(), Some("0"));
    let e = env.clone();
    let o = tokio::task::spawn_blocking(move || run(&e, "aws", &get))
        .await
        .unwrap();
    assert_eq!(stdout(&o), "0\n");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_and_mongosh_on_path_answer_from_their_simulators() {
    let cl = common::start_profile(Profile::Cohortlens, Scenario::ErrorBurst).await;
    let edn = common::start_profile(Profile::Edn360, Scenario::ErrorBurst).await;
    // Two drills at once: each command meets its own simulator.
    let (s1, s2) = (common::standins(&cl), common::standins(&edn));
    assert_ne!(s1.dir(), s2.dir());
    let (e1, e2) = (s1.env(), s2.env());
    let deadline = Instant::now() + Duration::from_secs(20);
    let errors = loop {
        let e = e1.clone();
        let o = tokio::task::spawn_blocking(move || {
            run(
                &e,
                "docker",
                &["logs", "--since", "5m", "cohortlens-api-ts"],
            )
        })
        .await
        .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // The runbook's `docker logs … 2>&1 | grep -i error | wc -l`.
        let n = String::from_utf8_lossy(&o.stderr)
            .lines()
            .chain(String::from_utf8_lossy(&o.stdout).lines())
            .filter(|l| l.to_lowercase().contains("error"))
            .count();
        if n > 0 || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(errors > 0, "an error burst logs errors");
    let js = "print(JSON.stringify({plans: db.training_plans.countDocuments({snapshot_id: {$exists: false}})}))";
    let o = tokio::task::spawn_blocking(move || {
        run(
            &e2,
            "mongosh",
            &["mongodb://127.0.0.1:27017/edn360", "--quiet", "--eval", js],
        )
    })
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("mongosh prints JSON");
    assert!(v["plans"].as_u64().expect("a count") > 0, "{v}");
    cl.shutdown().await;
    edn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stand_in_without_its_simulator_fails_and_says_why() {
    let sim = common::start_profile(Profile::Hse, Scenario::Healthy).await;
    let s = common::standins(&sim);
    let dir = s.dir().to_path_buf();
    let path: Vec<(String, String)> = s.env().into_iter().filter(|(k, _)| k == "PATH").collect();
    let o = tokio::task::spawn_blocking(move || {
        let mut c = Command::new("aws");
        c.args(["ssm", "get-parameter", "--name", hse::PARAMETER])
            .envs(path.iter().map(|(k, v)| (k, v)))
            .env("AWS_REGION", "eu-west-1")
            .env_remove(warroom::sim::standin::CONTROL_ENV);
        c.output().expect("aws runs")
    })
    .await
    .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("WARROOM_SIM_CONTROL is not set"), "{err}");
    // The links leave with the drill.
    drop(s);
    assert!(!dir.exists());
    sim.shutdown().await;
}

/// The hse preset's own SSM rollback (`aws ssm put-parameter … --value 0`) fired from a session
/// whose commands get the stand-ins: the simulator's parameter moves, the app follows, and
/// the action is verified from the split the dashboard reads — no step done by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hse_presets_ssm_rollback_is_drilled_through_the_stand_in() {
    use std::sync::Arc;
    use warroom::app::Verdict;
    let sim = common::start_profile(Profile::Hse, Scenario::ErrorBurst).await;
    let s = common::standins(&sim);
    let mut cfg = common::load_preset("hse", &sim);
    for src in &mut cfg.sources {
        src.interval = warroom::config::Dur(Duration::from_millis(400));
    }
    common::with_standins(&mut cfg, &s);
    let i = cfg
        .actions
        .iter()
        .position(|a| a.id == "rollback-split-0")
        .expect("the preset's SSM rollback");
    assert_eq!(
        cfg.actions[i].command.as_ref().map(|c| c.argv[0].as_str()),
        Some("aws"),
        "the preset calls the real program"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let (mut session, mut rx) =
        common::session(Arc::new(cfg), &common::audit_path(&dir), false).await;
    common::drive_until(
        &mut session,
        &mut rx,
        Duration::from_secs(10),
        common::all_polled,
    )
    .await;
    common::keys(&mut session, "R");
    common::keys(&mut session, "rollback\n");
    let verified = common::drive_until(&mut session, &mut rx, Duration::from_secs(20), |st| {
        matches!(
            st.action_runs()[i]
                .verify
                .as_ref()
                .and_then(|v| v.verdict.clone()),
            Some(Verdict::Verified { .. })
        )
    })
    .await;
    assert!(verified, "{:?}", session.state.action_runs()[i]);
    assert_eq!(sim.parameter(hse::PARAMETER).as_deref(), Some("0"));
    assert!(
        sim.requests().iter().all(|r| r.method == "GET"),
        "the rollback went through SSM, not the admin endpoint"
    );
    session.shutdown();
    sim.shutdown().await;
}

/// `warroom sim --standins DIR`, as a person drills by hand: the links appear in DIR, the
/// printed line is all another shell needs, a file of DIR's own is left alone, and the links
/// leave with the simulator (SIGTERM).
#[test]
fn sim_standins_links_into_a_directory_for_the_simulators_lifetime() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().expect("tmp");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin dir");
    std::fs::write(bin.join("notes.txt"), "mine").expect("a file of the user's");
    /// The simulator never outlives the test, however it ends.
    struct Reaped(std::process::Child);
    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut sim = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args([
            "sim",
            "--profile",
            "hse",
            "--listen",
            "127.0.0.1:0",
            "--standins",
        ])
        .arg(&bin)
        .env_remove("ADMIN_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(Reaped)
        .expect("warroom sim starts");
    let mut lines = std::io::BufReader::new(sim.0.stdout.take().expect("stdout")).lines();
    let mut export = None;
    for line in lines.by_ref() {
        let line = line.expect("a line");
        if let Some(l) = line.trim().strip_prefix("export ") {
            export = Some(l.to_string());
        }
        if line.starts_with("Ctrl-C to stop") {
            break;
        }
    }
    let export = export.expect("the line to paste");
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_warroom"));
    for t in ["aws", "docker", "mongosh", "supervisorctl", "sudo"] {
        assert_eq!(
            std::fs::read_link(bin.join(t)).ok().as_ref(),
            Some(&exe),
            "{t}"
        );
    }
    // The printed assignments, as a shell would apply them.
    let vars: Vec<(String, String)> = export
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let v = v.replace("\"$PATH\"", &std::env::var("PATH").unwrap_or_default());
            (k.to_string(), v)
        })
        .collect();
    assert!(
        vars.iter().any(|(k, _)| k == "WARROOM_SIM_CONTROL"),
        "{export}"
    );
    let o = run(
        &vars,
        "aws",
        &[
            "ssm",
            "get-parameter",
            "--name",
            hse::PARAMETER,
            "--query",
            "Parameter.Value",
            "--output",
            "text",
        ],
    );
    assert_eq!(stdout(&o), "10\n");
    // SAFETY: kill(2) on the simulator we started.
    unsafe {
        libc::kill(sim.0.id() as i32, libc::SIGTERM);
    }
    let status = sim.0.wait().expect("the simulator exits");
    assert!(status.success(), "{status:?}");
    for t in ["aws", "docker", "mongosh", "supervisorctl", "sudo"] {
        assert!(bin.join(t).symlink_metadata().is_err(), "{t} left behind");
    }
    assert_eq!(
        std::fs::read_to_string(bin.join("notes.txt"))
            .ok()
            .as_deref(),
        Some("mine")
    );
}

/// Command sources as the README writes them read the simulator through the stand-ins: the
/// split from `aws ssm get-parameter`, and a put-parameter moves what they read next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_sources_read_the_simulator_through_the_stand_ins() {
    use std::sync::Arc;
    let sim = common::start_profile(Profile::Hse, Scenario::Healthy).await;
    let s = common::standins(&sim);
    let mut cfg = warroom::config::load_str(
        r#"
[cutover]
name = "drill"

[[source]]
id = "split"
kind = "command"
argv = ["aws", "ssm", "get-parameter", "--name", "/hse/traffic-split-percent",
        "--query", "Parameter.Value", "--output", "text"]
parse = "number"
interval = "1s"
timeout = "5s"

[[signal]]
id = "split"
source = "split"
kind = "metric"
path = "."
"#,
        "drill.toml",
    )
    .expect("config valid");
    common::with_standins(&mut cfg, &s);
    let dir = tempfile::tempdir().expect("tmp");
    let (mut session, mut rx) =
        common::session(Arc::new(cfg), &common::audit_path(&dir), false).await;
    let read = |want: f64| {
        move |st: &warroom::app::State| {
            common::value(st, "split").and_then(|v| v.as_f64()) == Some(want)
        }
    };
    let got = common::drive_until(&mut session, &mut rx, Duration::from_secs(15), read(10.0)).await;
    assert!(got, "{:?}", common::row(&session.state, "split"));
    let e = s.env();
    let o = tokio::task::spawn_blocking(move || {
        run(
            &e,
            "aws",
            &[
                "ssm",
                "put-parameter",
                "--name",
                hse::PARAMETER,
                "--value",
                "50",
                "--overwrite",
            ],
        )
    })
    .await
    .unwrap();
    stdout(&o);
    let got = common::drive_until(&mut session, &mut rx, Duration::from_secs(15), read(50.0)).await;
    assert!(got, "{:?}", common::row(&session.state, "split"));
    session.shutdown();
    sim.shutdown().await;
}
