//! The embedded simulator: serves a seed system's API on loopback with scenarios (healthy,
//! error bursts, outages, broken JSON…) and a real rollback, for `warroom demo`, `warroom sim`
//! drills and the tests.
//!
//! Two listeners: the *data* listener serves the profile's API (and is really closed while the
//! scenario is `down`); the *control* listener serves `/__sim/*` and is always up.
//!
//! Module map:
//! - `profile`: `Profile` and `ProfileSpec`, one static spec per profile (routes, endpoints,
//!   flags, rollback) that everything else reads;
//! - `profiles/`: each profile's spec, handlers and numbers (`brokers`, `cohortlens`,
//!   `edn360`, `hse`);
//! - `state`: the simulated system's state and its transitions (`SystemState`), and `Sim`,
//!   what every endpoint shares;
//! - `metrics`: the numbers model (readings per scenario, Prometheus counters and gauges);
//! - `scenario`: scenarios and scripts;
//! - `http`: the data router built from the spec, the request log and transport faults
//!   around it, `/metrics`;
//! - `endpoint`: what handlers share (the call, JSON answers and errors, flag bodies);
//! - `auth`: the admin token;
//! - `control`: the `/__sim/*` endpoints;
//! - `requests`: the request log (what tests assert the simulator received);
//! - `listener`: the data socket that `down` really closes, and its re-bind;
//! - `handle`: `SimOptions`, `start`, `SimHandle` (addresses, scenario, flags, stop);
//! - `cli`: the `warroom sim` command.

mod auth;
pub mod cli;
mod control;
mod endpoint;
mod handle;
mod http;
mod listener;
pub mod metrics;
pub mod profile;
pub mod profiles;
mod requests;
pub mod scenario;
mod state;
#[cfg(test)]
mod tests;

pub use cli::run_cli;
pub use handle::{start, SimError, SimHandle, SimOptions};
pub use metrics::{EndpointSpec, Reading};
pub use profile::{Lever, Method, Profile, ProfileSpec, Rollback, UnknownProfile};
pub use profiles::{brokers, cohortlens, edn360, hse};
pub use requests::{RecordedRequest, RECORDED_BODY_MAX, RECORDED_MAX};
pub use scenario::{Scenario, Script, ScriptError, ScriptPosition, ScriptStep, UnknownScenario};
pub use state::{ChangedBy, SimEvent, ROLLBACK_RAMP};
