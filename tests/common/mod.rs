//! Shared pieces of the integration tests: the simulator in-process on an ephemeral
//! loopback port, the demo config pointed at it, and a fixed clock.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use std::sync::Arc;
use std::time::Duration;
use warroom::config::Config;
use warroom::poll::{poll_once, Clients};
use warroom::sample::{PollResult, Ts};
use warroom::sim::{self, Profile, Scenario, SimHandle, SimOptions};

pub const TOKEN: &str = "s3cr3t-test-token-4f1d";

/// 2026-11-25 21:00:00 UTC: the fixed T0 of the screen tests.
pub fn t0() -> Ts {
    Utc.with_ymd_and_hms(2026, 11, 25, 21, 0, 0)
        .single()
        .expect("valid date")
}

pub fn at(offset_secs: i64) -> Ts {
    t0() + chrono::Duration::seconds(offset_secs)
}

pub async fn start_sim(scenario: Scenario) -> SimHandle {
    let mut opts = SimOptions::new(Profile::Brokers);
    opts.scenario = scenario;
    opts.token = Some(TOKEN.into());
    // Longer than the demo config's 1.5 s poll time-out, short enough to end fast.
    opts.slow_delay = Duration::from_secs(4);
    sim::start(opts)
        .await
        .expect("simulator starts on loopback")
}

/// The demo's bundled config (the brokers runbook) against this simulator.
pub fn demo_config(sim: &SimHandle) -> Arc<Config> {
    Arc::new(warroom::demo::demo_config(&sim.base_url(), TOKEN).expect("demo config loads"))
}

/// Poll every source once, stamping the results with a fixed time.
pub async fn poll_all_at(cfg: &Config, when: Ts) -> Vec<PollResult> {
    let clients = Clients::for_config(cfg).expect("clients");
    let mut out = Vec::new();
    for s in &cfg.sources {
        let client = clients.get(s).expect("client for source");
        let mut r = poll_once(client, s).await;
        r.at = when;
        out.push(r);
    }
    out
}
