//! What every seed system shares, one table over every simulator profile and its preset:
//! `check` passes when healthy and names the breach of each bad scenario; a latency
//! spike turns the system's latency row crit, leaves the rest ok and advises the
//! rollback. Each system's own checks (its flags, its rollback, its runbook) stay in
//! its `system_<name>.rs`.

use crate::common;

use crate::common::{audit_path, drive_until, render_text, row, session};
use std::sync::Arc;
use std::time::Duration;
use warroom::config::{Config, Dur};
use warroom::engine::{Band, Status};
use warroom::sim::standin::Standins;
use warroom::sim::{Profile, Scenario, SimHandle};

/// One seed system: its profile, and what `check` must say for each bad scenario.
struct System {
    profile: Profile,
    /// Each bad scenario, and words the breach's lines must hold.
    breaches: &'static [(Scenario, &'static [&'static str])],
    /// Under `latency-spike`: the row that goes crit, and rows that stay ok. `None`
    /// where the dashboard side of the spike is checked in the system's own file.
    spike: Option<(&'static str, &'static [&'static str])>,
}

const SYSTEMS: &[System] = &[
    System {
        profile: Profile::Brokers,
        breaches: &[
            (
                Scenario::ErrorBurst,
                &["critical breach", "/api/v1/auth/login"],
            ),
            (
                Scenario::LatencySpike,
                &["critical breach", "/api/v1/auth/login"],
            ),
        ],
        spike: None,
    },
    System {
        profile: Profile::Cohortlens,
        breaches: &[
            (Scenario::ErrorBurst, &["v2 error rate"]),
            (Scenario::LatencySpike, &["v2 p95"]),
        ],
        spike: Some(("v2_p95", &["v1_p95", "v2_err"])),
    },
    System {
        profile: Profile::Edn360,
        breaches: &[(Scenario::ErrorBurst, &["critical breach"])],
        spike: None,
    },
    System {
        profile: Profile::Hse,
        breaches: &[
            (Scenario::ErrorBurst, &["new error rate"]),
            (Scenario::LatencySpike, &["new p99"]),
        ],
        spike: Some(("new_p99", &["old_p99", "new_err"])),
    },
];

/// The preset as `warroom init` prints it, at test speed: polls every 400 ms, the
/// rollback advised after 1 s of crit.
fn brisk(sim: &SimHandle, name: &str, standins: &Standins) -> Arc<Config> {
    let mut cfg = preset(sim, name, standins);
    for s in &mut cfg.sources {
        s.interval = Dur(Duration::from_millis(400));
    }
    if let Some(rw) = cfg.cutover.rollback_when.as_mut() {
        rw.critical_for = Dur(Duration::from_secs(1));
    }
    Arc::new(cfg)
}

/// The preset with the simulator's variables, its commands (`aws`, `docker`, `mongosh`…)
/// answered by the stand-ins.
fn preset(sim: &SimHandle, name: &str, standins: &Standins) -> Config {
    let mut cfg = common::load_preset(name, sim);
    common::with_standins(&mut cfg, standins);
    cfg
}

#[test]
fn every_profile_has_a_row() {
    for p in Profile::ALL {
        assert!(
            SYSTEMS.iter().any(|s| s.profile == p),
            "no row for the {} profile",
            p.name()
        );
    }
}

#[tokio::test]
async fn check_exits_0_when_healthy_and_1_naming_each_breach() {
    let mut wrong = Vec::new();
    for sys in SYSTEMS {
        let name = sys.profile.name();
        let sim = common::start_profile(sys.profile, Scenario::Healthy).await;
        let standins = common::standins(&sim);
        // The vendors' APIs (Datadog, CloudWatch) have points only for seconds the
        // simulator has lived: let one pass.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // The preset as shipped: one poll, so its intervals do not matter.
        let cfg = Arc::new(preset(&sim, name, &standins));
        let (code, out) = common::check_text(Arc::clone(&cfg)).await;
        if code != 0 {
            wrong.push(format!("{name} healthy: exit {code}\n{out}"));
        }
        for (scenario, words) in sys.breaches {
            sim.set_scenario(*scenario);
            // The vendors' numbers are per-minute rollups: the minute in progress mixes the
            // healthy seconds before the switch with the bad ones after it, so the breach
            // shows within seconds, not at once.
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            let (code, out) = loop {
                let (code, out) = common::check_text(Arc::clone(&cfg)).await;
                if code == 1 || std::time::Instant::now() > deadline {
                    break (code, out);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            };
            if code != 1 {
                wrong.push(format!("{name} {scenario:?}: exit {code}\n{out}"));
            }
            for w in *words {
                if !out.contains(w) {
                    wrong.push(format!("{name} {scenario:?}: no `{w}` in\n{out}"));
                }
            }
        }
        sim.shutdown().await;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_latency_spike_turns_the_latency_row_crit_and_advises_the_rollback() {
    for sys in SYSTEMS {
        let Some((crit, ok)) = sys.spike else {
            continue;
        };
        let name = sys.profile.name();
        let sim = common::start_profile(sys.profile, Scenario::LatencySpike).await;
        let standins = common::standins(&sim);
        let dir = tempfile::tempdir().expect("tmp");
        let (mut s, mut rx) = session(brisk(&sim, name, &standins), &audit_path(&dir), false).await;
        let advised = drive_until(&mut s, &mut rx, Duration::from_secs(8), |st| {
            st.engine().advised.is_some()
        })
        .await;
        assert!(advised, "{name}: no rollback advice");
        assert_eq!(
            row(&s.state, crit).status,
            Status::Band(Band::Crit),
            "{name}: {crit}"
        );
        for k in ok {
            assert_eq!(
                row(&s.state, k).status,
                Status::Band(Band::Ok),
                "{name}: {k}"
            );
        }
        assert!(
            render_text(&s.state, 140, 50).contains("ROLLBACK ADVISED"),
            "{name}"
        );
        s.shutdown();
        sim.shutdown().await;
    }
}
