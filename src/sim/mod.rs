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
//! - `cli`: the `warroom sim` command;
//! - `history`: the last hour, second by second, that the vendors' APIs and logs read;
//! - `telemetry`: which endpoints each vendor-visible app, target group and container is;
//! - `vendor/`: Datadog's query API and NerdGraph (data listener), AWS SSM and CloudWatch,
//!   container logs (control listener, for the stand-ins);
//! - `dotenv`, `backend`: the backend's `.env` file and the program that reads it;
//! - `standin/`: the `aws`, `docker`, `mongosh`, `supervisorctl` and `sudo` stand-in CLIs
//!   that drills and tests put first on PATH (the warroom binary under those names).

mod auth;
mod backend;
pub mod cli;
mod control;
pub mod dotenv;
mod endpoint;
mod handle;
mod history;
mod http;
mod listener;
pub mod metrics;
pub mod profile;
pub mod profiles;
mod requests;
pub mod scenario;
pub mod standin;
mod state;
pub mod telemetry;
#[cfg(test)]
mod tests;
pub mod vendor;

pub use auth::VendorKeys;
pub use cli::run_cli;
pub use handle::{start, SimError, SimHandle, SimOptions};
pub use metrics::{EndpointSpec, Reading};
pub use profile::{
    DotEnv, Lever, Method, Mongo, Parameter, Profile, ProfileSpec, Rollback, UnknownProfile,
};
pub use profiles::{brokers, cohortlens, edn360, hse};
pub use requests::{RecordedRequest, RECORDED_BODY_MAX, RECORDED_MAX};
pub use scenario::{Scenario, Script, ScriptError, ScriptPosition, ScriptStep, UnknownScenario};
pub use state::{ChangedBy, SimEvent, ROLLBACK_RAMP};
