//! Starting and stopping a simulator: the options, the two listeners, the servers, the script,
//! and the `SimHandle` that tests, the demo and `warroom sim` hold.

use super::auth::VendorKeys;
use super::backend::Backend;
use super::listener::{self, io_reason, DataListener, Slot};
use super::metrics::Reading;
use super::profile::Profile;
use super::requests::RecordedRequest;
use super::scenario::{Scenario, Script};
use super::state::{ChangedBy, Clock, Sim, SimEvent, SimParts, SystemState};
use super::{control, http};
use chrono::Utc;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

#[derive(Clone)]
pub struct SimOptions {
    pub profile: Profile,
    /// Initial scenario; ignored when a script is given (its first step is the initial one).
    pub scenario: Scenario,
    pub script: Option<Script>,
    /// Data listener; port 0 picks a free port (kept across `down`).
    pub listen: SocketAddr,
    /// Control listener; `None` means the data listener's IP with any free port.
    pub control_listen: Option<SocketAddr>,
    /// Bearer token required by the admin endpoints; `None` leaves them open.
    pub token: Option<String>,
    /// How late `slow` answers.
    pub slow_delay: Duration,
    /// Keys the simulated Datadog and NerdGraph APIs accept (`None`: any non-empty key).
    pub keys: VendorKeys,
    /// Where the simulated backend's `.env` lives (`edn360`); `None`: a private temporary
    /// directory, removed when the simulator stops.
    pub state_dir: Option<PathBuf>,
}

impl SimOptions {
    /// 127.0.0.1:0, healthy, no token, 30 s slow delay, control on 127.0.0.1 with any port.
    pub fn new(profile: Profile) -> Self {
        SimOptions {
            profile,
            scenario: Scenario::Healthy,
            script: None,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            control_listen: None,
            token: None,
            slow_delay: Duration::from_secs(30),
            keys: VendorKeys::default(),
            state_dir: None,
        }
    }
}

// The token never appears in Debug output (logs, panics).
impl fmt::Debug for SimOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimOptions")
            .field("profile", &self.profile)
            .field("scenario", &self.scenario)
            .field("script", &self.script.as_ref().map(|s| s.to_string()))
            .field("listen", &self.listen)
            .field("control_listen", &self.control_listen)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("slow_delay", &self.slow_delay)
            .field("keys", &self.keys)
            .field("state_dir", &self.state_dir)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error("cannot listen for the control API on {addr}: {reason}")]
    ControlListen { addr: SocketAddr, reason: String },
    /// An empty token would make `Authorization: Bearer ` (nothing) a valid credential.
    #[error("the admin token is empty; set a token or leave it unset to run without one")]
    EmptyToken,
    #[error("cannot set up the backend's .env in {dir}: {reason}")]
    StateDir { dir: String, reason: String },
}

/// A running simulator. Dropping it stops it too; `shutdown` waits for the servers.
pub struct SimHandle {
    pub(super) sim: Arc<Sim>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    script_task: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// The data listener's address (also while `down`: it is re-bound there).
    pub fn addr(&self) -> SocketAddr {
        self.sim.listener.addr()
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn control_addr(&self) -> SocketAddr {
        self.sim.control_addr
    }

    pub fn control_url(&self) -> String {
        format!("http://{}", self.sim.control_addr)
    }

    /// The simulated backend's `.env` file, for profiles that have one (`edn360`).
    pub fn env_file(&self) -> Option<PathBuf> {
        self.sim.backend().map(|b| b.env_file.clone())
    }

    /// An SSM parameter's value (`hse`: `/hse/traffic-split-percent`).
    pub fn parameter(&self, name: &str) -> Option<String> {
        self.sim.ssm().get(name).map(|p| p.value)
    }

    /// Where the rollback ramp is heading: 1 = the new path fully on, 0 = rolled back
    /// (`hse`: the traffic split / 100).
    pub fn rollback_target(&self) -> f64 {
        self.sim.weight_target()
    }

    /// Takes effect at once: `down` has closed the socket when this returns. Stops a script.
    pub fn set_scenario(&self, s: Scenario) {
        self.sim.set_scenario(s, ChangedBy::Handle);
    }

    pub fn scenario(&self) -> Scenario {
        self.sim.scenario()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.sim.requests().all()
    }

    pub fn flag(&self, name: &str) -> Option<bool> {
        self.sim.flag_value(name)
    }

    /// Sets a flag as the admin endpoint would (no token needed); `None` for an unknown flag.
    pub fn set_flag(&self, name: &str, value: bool) -> Option<bool> {
        self.sim.set_flag(name, value)
    }

    /// Current readings per endpoint of the profile (same order as `Profile::spec().endpoints`).
    pub fn readings(&self) -> Vec<Reading> {
        self.sim.readings()
    }

    /// Scenario changes, flag changes and listener events from now on.
    pub fn events(&self) -> broadcast::Receiver<SimEvent> {
        self.sim.events()
    }

    pub fn profile(&self) -> Profile {
        self.sim.profile
    }

    pub async fn shutdown(mut self) {
        self.stop_now();
        for task in std::mem::take(&mut self.servers) {
            // Hung connections (e.g. `slow`) must not hold shutdown hostage.
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    fn stop_now(&mut self) {
        self.sim.listener.mark_stopped();
        let _ = self.stop.send(true);
        if let Some(t) = self.script_task.take() {
            t.abort();
        }
        self.sim.listener.close();
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop_now();
        for t in &self.servers {
            t.abort();
        }
    }
}

impl fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimHandle")
            .field("profile", &self.sim.profile)
            .field("addr", &self.addr())
            .field("control_addr", &self.sim.control_addr)
            .finish_non_exhaustive()
    }
}

/// Binds both listeners, spawns the servers (and the script), and returns at once.
pub async fn start(opts: SimOptions) -> Result<SimHandle, SimError> {
    if opts.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(SimError::EmptyToken);
    }
    let listen_error = |e: std::io::Error| SimError::Listen {
        addr: opts.listen,
        reason: io_reason(&e),
    };
    let data = listener::bind(opts.listen).map_err(listen_error)?;
    let addr = data.local_addr().map_err(listen_error)?;
    let control_req = opts
        .control_listen
        .unwrap_or_else(|| SocketAddr::new(addr.ip(), 0));
    let control_error = |e: std::io::Error| SimError::ControlListen {
        addr: control_req,
        reason: io_reason(&e),
    };
    let control = listener::bind(control_req).map_err(control_error)?;
    let control_addr = control.local_addr().map_err(control_error)?;

    let initial = opts
        .script
        .as_ref()
        .map(|s| s.steps()[0].scenario)
        .unwrap_or(opts.scenario);
    let slot = Arc::new(Slot::default());
    if initial == Scenario::Down {
        // Bound only to learn the port; closed at once.
        drop(data);
    } else {
        slot.install(data);
    }

    let clock = Clock::new(Instant::now(), Utc::now());
    let spec = opts.profile.spec();
    let mut state = SystemState::new(spec, clock, initial, opts.script.clone());
    let backend = match spec.dotenv {
        Some(d) => {
            let flags: Vec<(&str, bool)> = d
                .flags
                .iter()
                .map(|f| {
                    let v = spec.flags.iter().find(|(n, _)| n == f).is_none_or(|x| x.1);
                    (*f, v)
                })
                .collect();
            let (b, existing) = Backend::create(d, &flags, opts.state_dir.as_deref(), Utc::now())
                .map_err(|e| SimError::StateDir {
                dir: opts.state_dir.as_ref().map_or_else(
                    || "a temporary directory".into(),
                    |p| p.display().to_string(),
                ),
                reason: io_reason(&e),
            })?;
            if let Some(values) = existing {
                let overrides: BTreeMap<String, bool> = d
                    .flags
                    .iter()
                    .map(|f| (f.to_string(), super::dotenv::switch(&values, f)))
                    .collect();
                state.start_with(&overrides);
            }
            Some(b)
        }
        None => None,
    };
    let sim = Arc::new(Sim::new(
        SimParts {
            profile: opts.profile,
            token: opts.token.clone(),
            slow_delay: opts.slow_delay,
            control_addr,
            listener: DataListener::new(slot, addr),
            keys: opts.keys.clone(),
            backend,
        },
        clock,
        state,
    ));

    let (stop, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let data_server = axum::serve(sim.listener.accept_from(), http::data_router(sim.clone()))
        .with_graceful_shutdown(stopped(stop_rx.clone()));
    let control_server =
        axum::serve(control, control::router(sim.clone())).with_graceful_shutdown(stopped(stop_rx));
    let servers = vec![
        tokio::spawn(async move {
            if let Err(e) = data_server.await {
                tracing::warn!("sim: data server stopped: {e}");
            }
        }),
        tokio::spawn(async move {
            if let Err(e) = control_server.await {
                tracing::warn!("sim: control server stopped: {e}");
            }
        }),
    ];

    let script_task = opts.script.clone().map(|script| {
        let sim = sim.clone();
        tokio::spawn(run_script(sim, script, tokio::time::Instant::now()))
    });

    Ok(SimHandle {
        sim,
        stop,
        servers,
        script_task,
    })
}

/// Applies each step at its start offset (from `Script::starts`); the last one holds.
async fn run_script(sim: Arc<Sim>, script: Script, started: tokio::time::Instant) {
    for (i, offset) in script.starts().into_iter().enumerate().skip(1) {
        tokio::time::sleep_until(started + offset).await;
        if !sim.set_scenario(script.steps()[i].scenario, ChangedBy::Script) {
            return;
        }
    }
}
