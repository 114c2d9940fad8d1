//! The simulated system's state and its transitions.
//!
//! `SystemState` is the system itself: scenario (and since when), flags, the rollback ramp, the
//! traffic counted so far and the script. Its transitions take `now` and do no I/O, so the
//! numbers of any instant follow from them alone.
//!
//! `Sim` is what every endpoint and the handle share: that state behind one lock, the request
//! log, the data listener (opened and closed to match the scenario) and the event stream.

use super::auth::{self, VendorKeys};
use super::backend::{Backend, Proc};
use super::dotenv;
use super::history::History;
use super::listener::DataListener;
use super::metrics::{self, Counters, Reading};
use super::profile::{Lever, Profile, ProfileSpec};
use super::requests::{RequestLog, Seen};
use super::scenario::{Scenario, Script};
use super::vendor::ssm;
use axum::body::Bytes;
use axum::http::{request::Parts, HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How long metrics take to recover (or degrade again) after the rollback lever moves.
pub const ROLLBACK_RAMP: Duration = Duration::from_secs(3);

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the simulator down with it: the data stays usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Who changed the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangedBy {
    Script,
    /// `POST /__sim/scenario/{name}`.
    Control,
    /// `SimHandle::set_scenario`.
    Handle,
}

/// What `warroom sim` prints and tests may watch.
#[derive(Debug, Clone, PartialEq)]
pub enum SimEvent {
    ScenarioChanged {
        from: Scenario,
        to: Scenario,
        by: ChangedBy,
    },
    FlagChanged {
        name: String,
        from: bool,
        to: bool,
    },
    /// A non-boolean setting changed (the `hse` traffic split).
    ValueChanged {
        name: String,
        from: String,
        to: String,
    },
    /// A supervised program restarted (`supervisorctl restart`), reading its `.env`.
    Restarted {
        program: String,
        detail: String,
    },
    ListenerClosed,
    ListenerReopened,
    ListenerError(String),
}

/// Everything the numbers of one instant depend on.
pub(crate) struct ReadCtx<'a> {
    pub scenario: Scenario,
    pub elapsed: Duration,
    /// Rollback weight: 1 = new path fully on, 0 = rolled back (ramps in between).
    pub weight: f64,
    /// Noise bucket (wall time / `NOISE_BUCKET_MS`).
    pub bucket: u64,
    pub flags: &'a BTreeMap<String, bool>,
}

impl ReadCtx<'_> {
    /// A flag's value; false for a flag the profile does not have.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.get(name).copied().unwrap_or(false)
    }
}

/// Rollback weight: 1 = the new path takes the traffic, 0 = the old one; ramps linearly.
#[derive(Debug, Clone, Copy)]
struct Ramp {
    from: f64,
    to: f64,
    since: Instant,
}

impl Ramp {
    fn at(level: f64, since: Instant) -> Self {
        Ramp {
            from: level,
            to: level,
            since,
        }
    }

    fn weight(&self, at: Instant) -> f64 {
        let f =
            at.saturating_duration_since(self.since).as_secs_f64() / ROLLBACK_RAMP.as_secs_f64();
        self.from + (self.to - self.from) * f.min(1.0)
    }
}

/// Maps `Instant`s to wall time (for the noise buckets and the timestamps shown).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: Instant,
    origin_unix_ms: u64,
}

impl Clock {
    pub(crate) fn new(origin: Instant, wall: DateTime<Utc>) -> Self {
        Clock {
            origin,
            origin_unix_ms: wall.timestamp_millis().max(0) as u64,
        }
    }

    pub(crate) fn unix_ms(&self, at: Instant) -> u64 {
        self.origin_unix_ms + at.saturating_duration_since(self.origin).as_millis() as u64
    }

    pub(crate) fn wall(&self, at: Instant) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.unix_ms(at) as i64).unwrap_or_else(Utc::now)
    }
}

pub(crate) struct SystemState {
    spec: &'static ProfileSpec,
    clock: Clock,
    scenario: Scenario,
    scenario_since: Instant,
    scenario_since_wall: DateTime<Utc>,
    flags: BTreeMap<String, bool>,
    ramp: Ramp,
    counters: Counters,
    counted_until: Instant,
    script: Option<Script>,
    script_active: bool,
    history: History,
}

impl SystemState {
    /// The system at `clock`'s origin: the spec's flags, `initial` (a script's first step),
    /// and legacy numbers from the start if the rollback flag starts rolled back.
    pub(crate) fn new(
        spec: &'static ProfileSpec,
        clock: Clock,
        initial: Scenario,
        script: Option<Script>,
    ) -> Self {
        let now = clock.origin;
        let flags: BTreeMap<String, bool> = spec
            .flags
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        let rolled_back = match spec.rollback.lever {
            Lever::Flag { name, rolled_back } => flags.get(name) == Some(&rolled_back),
            Lever::Weight => false,
        };
        let level = if rolled_back {
            0.0
        } else {
            spec.initial_weight
        };
        SystemState {
            spec,
            clock,
            scenario: initial,
            scenario_since: now,
            scenario_since_wall: clock.wall(now),
            flags,
            ramp: Ramp::at(level, now),
            counters: Counters::new(spec.endpoints.len()),
            counted_until: now,
            script_active: script.is_some(),
            script,
            history: History::new(spec.endpoints.len(), clock.unix_ms(now)),
        }
    }

    /// Flags the system starts with other than the spec's (the `.env` found at start); a
    /// rollback flag starting rolled back starts the numbers rolled back, with no ramp.
    pub(crate) fn start_with(&mut self, overrides: &BTreeMap<String, bool>) {
        for (k, v) in overrides {
            if let Some(f) = self.flags.get_mut(k) {
                *f = *v;
            }
        }
        if let Lever::Flag { name, rolled_back } = self.spec.rollback.lever {
            if self.flags.get(name) == Some(&rolled_back) {
                self.ramp = Ramp::at(0.0, self.ramp.since);
            }
        }
    }

    pub(crate) fn ctx_at(&self, at: Instant) -> ReadCtx<'_> {
        ReadCtx {
            scenario: self.scenario,
            elapsed: at.saturating_duration_since(self.scenario_since),
            weight: self.ramp.weight(at),
            bucket: self.clock.unix_ms(at) / metrics::NOISE_BUCKET_MS,
            flags: &self.flags,
        }
    }

    pub(crate) fn readings_at(&self, at: Instant) -> Vec<Reading> {
        (self.spec.readings)(&self.ctx_at(at))
    }

    /// Integrates traffic into the counters up to `now`, in steps of at most 1 s. Called before
    /// every state change, so each past interval is counted with the state it really had.
    pub(crate) fn advance(&mut self, now: Instant) {
        let gap = now.saturating_duration_since(self.counted_until);
        if gap.is_zero() {
            return;
        }
        if gap > Duration::from_secs(3600) {
            // Only the last hour is kept second by second; older traffic is counted coarsely.
            let steps = 3600;
            let dt = gap / steps;
            for k in 0..steps {
                self.count_piece(self.counted_until + dt * k, dt);
            }
        } else {
            // Pieces end on the wall clock's whole seconds, so every second the gap spans is
            // in the history (equal steps could put two of them in one second and skip one).
            let mut from = self.counted_until;
            while from < now {
                let into_second = self.clock.unix_ms(from) % 1000;
                let to = (from + Duration::from_millis(1000 - into_second)).min(now);
                self.count_piece(from, to - from);
                from = to;
            }
        }
        self.counted_until = now;
    }

    fn count_piece(&mut self, from: Instant, dt: Duration) {
        let mid = from + dt / 2;
        let readings = self.readings_at(mid);
        self.counters.add(&readings, dt);
        self.history.add(self.clock.unix_ms(mid), dt, &readings);
    }

    /// The last hour, second by second, up to the last `advance`.
    pub(crate) fn history(&self) -> &History {
        &self.history
    }

    pub(crate) fn scenario(&self) -> Scenario {
        self.scenario
    }

    pub(crate) fn scenario_since_wall(&self) -> DateTime<Utc> {
        self.scenario_since_wall
    }

    pub(crate) fn scenario_elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.scenario_since)
    }

    pub(crate) fn weight(&self, now: Instant) -> f64 {
        self.ramp.weight(now)
    }

    pub(crate) fn flags(&self) -> &BTreeMap<String, bool> {
        &self.flags
    }

    /// The script and whether it still drives the scenario.
    pub(crate) fn script(&self) -> Option<(&Script, bool)> {
        self.script.as_ref().map(|s| (s, self.script_active))
    }

    /// Returns the scenario before, or `None` when a script step lost the race against a
    /// manual change.
    pub(crate) fn set_scenario(
        &mut self,
        s: Scenario,
        by: ChangedBy,
        now: Instant,
    ) -> Option<Scenario> {
        if by == ChangedBy::Script && !self.script_active {
            return None;
        }
        self.advance(now);
        let from = self.scenario;
        self.scenario = s;
        self.scenario_since = now;
        self.scenario_since_wall = self.clock.wall(now);
        if by != ChangedBy::Script {
            // A person took over: the script stops rather than overriding them later.
            self.script_active = false;
        }
        Some(from)
    }

    /// Sets a flag; `None` if the profile has no such flag, else the previous value. Moving
    /// the rollback flag starts the ramp.
    pub(crate) fn set_flag(&mut self, name: &str, value: bool, now: Instant) -> Option<bool> {
        let prev = *self.flags.get(name)?;
        if prev == value {
            return Some(prev);
        }
        self.advance(now);
        self.flags.insert(name.to_string(), value);
        if let Lever::Flag {
            name: lever,
            rolled_back,
        } = self.spec.rollback.lever
        {
            if name == lever {
                let to = if value == rolled_back {
                    0.0
                } else {
                    self.spec.initial_weight
                };
                self.ramp_to(to, now);
            }
        }
        Some(prev)
    }

    /// The weight the rollback ramp is heading to.
    pub(crate) fn weight_target(&self) -> f64 {
        self.ramp.to
    }

    /// Ramps the rollback weight from where it is now to `to` (clamped to 0-1); returns the
    /// previous target.
    pub(crate) fn set_weight_target(&mut self, to: f64, now: Instant) -> f64 {
        let to = to.clamp(0.0, 1.0);
        let prev = self.ramp.to;
        if (prev - to).abs() > f64::EPSILON {
            self.advance(now);
            self.ramp_to(to, now);
        }
        prev
    }

    fn ramp_to(&mut self, to: f64, now: Instant) {
        self.ramp = Ramp {
            from: self.ramp.weight(now),
            to,
            since: now,
        };
    }

    /// The `/metrics` text of now: the counters, the flags, then the profile's gauges.
    pub(crate) fn exposition(&mut self, now: Instant) -> String {
        self.advance(now);
        let mut extra = String::new();
        metrics::gauge(
            &mut extra,
            "warroom_sim_flag",
            "Feature flags of the simulated system (1 = enabled).",
            self.flags
                .iter()
                .map(|(name, v)| (metrics::label("name", name), u8::from(*v))),
        );
        let ctx = self.ctx_at(now);
        let readings = (self.spec.readings)(&ctx);
        (self.spec.gauges)(&ctx, &readings, &mut extra);
        self.counters.render(self.spec.endpoints, &extra)
    }
}

/// The running simulator, shared by its endpoints, its handle and its script.
pub(crate) struct Sim {
    pub(crate) profile: Profile,
    pub(crate) spec: &'static ProfileSpec,
    clock: Clock,
    token: Option<String>,
    pub(crate) slow_delay: Duration,
    pub(crate) control_addr: std::net::SocketAddr,
    pub(crate) listener: DataListener,
    state: Mutex<SystemState>,
    requests: Mutex<RequestLog>,
    events: broadcast::Sender<SimEvent>,
    /// Requests served by the profile's paths so far (decides which of them fail).
    served: AtomicU64,
    keys: VendorKeys,
    ssm: ssm::Store,
    backend: Option<Backend>,
}

/// What `Sim::new` needs besides the state.
pub(crate) struct SimParts {
    pub profile: Profile,
    pub token: Option<String>,
    pub slow_delay: Duration,
    pub control_addr: std::net::SocketAddr,
    pub listener: DataListener,
    pub keys: VendorKeys,
    pub backend: Option<Backend>,
}

impl Sim {
    pub(crate) fn new(parts: SimParts, clock: Clock, state: SystemState) -> Self {
        let (events, _) = broadcast::channel(256);
        Sim {
            profile: parts.profile,
            spec: parts.profile.spec(),
            clock,
            token: parts.token,
            slow_delay: parts.slow_delay,
            control_addr: parts.control_addr,
            listener: parts.listener,
            state: Mutex::new(state),
            requests: Mutex::new(RequestLog::default()),
            events,
            served: AtomicU64::new(0),
            ssm: ssm::Store::new(parts.profile.spec(), clock.wall(clock.origin)),
            keys: parts.keys,
            backend: parts.backend,
        }
    }

    /// The keys the vendor APIs (Datadog, NerdGraph) accept.
    pub(crate) fn keys(&self) -> &VendorKeys {
        &self.keys
    }

    /// The SSM parameters.
    pub(crate) fn ssm(&self) -> &ssm::Store {
        &self.ssm
    }

    /// The backend configured by a `.env` file, for profiles that have one.
    pub(crate) fn backend(&self) -> Option<&Backend> {
        self.backend.as_ref()
    }

    /// `supervisorctl restart <program>`: the backend reads its `.env` again and its switches
    /// take the file's values. `Err` names the problem (no such program, unreadable file).
    pub(crate) fn restart(&self, program: &str) -> Result<Proc, String> {
        let b = self
            .backend()
            .filter(|b| b.spec.program == program)
            .ok_or_else(|| format!("{program}: ERROR (no such process)"))?;
        let values = dotenv::read(&b.env_file).map_err(|e| {
            format!(
                "{program}: ERROR (spawn error: cannot read {}: {e})",
                b.env_file.display()
            )
        })?;
        let mut read = Vec::new();
        for flag in b.spec.flags {
            let on = dotenv::switch(&values, flag);
            self.set_flag(flag, on);
            read.push(format!("{flag}={on}"));
        }
        let p = b.restarted(self.now_wall());
        self.emit(SimEvent::Restarted {
            program: program.to_string(),
            detail: format!(
                "pid {}, read {}: {}",
                p.pid,
                b.env_file.display(),
                read.join(" ")
            ),
        });
        Ok(p)
    }

    /// Runs `f` on the state of now (counters advanced first, under the lock).
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut SystemState, Instant) -> R) -> R {
        let now = Instant::now();
        let mut st = lock(&self.state);
        st.advance(now);
        f(&mut st, now)
    }

    /// Runs `f` on the numbers of now. `f` must not call back into anything that locks the
    /// state.
    pub(crate) fn with_now<R>(
        &self,
        f: impl FnOnce(&ReadCtx, &[Reading], DateTime<Utc>) -> R,
    ) -> R {
        self.with_state(|st, now| {
            let ctx = st.ctx_at(now);
            let readings = (self.spec.readings)(&ctx);
            f(&ctx, &readings, self.clock.wall(now))
        })
    }

    /// Runs `f` on the last hour up to now (counted first) and now's wall time in ms.
    pub(crate) fn with_history<R>(&self, f: impl FnOnce(&History, u64) -> R) -> R {
        self.with_state(|st, now| f(st.history(), self.clock.unix_ms(now)))
    }

    /// Wall time of now, in ms since the epoch, on the simulator's clock.
    pub(crate) fn now_unix_ms(&self) -> u64 {
        self.clock.unix_ms(Instant::now())
    }

    /// Wall time of now on the simulator's clock.
    pub(crate) fn now_wall(&self) -> DateTime<Utc> {
        self.clock.wall(Instant::now())
    }

    /// Current per-endpoint readings.
    pub(crate) fn readings(&self) -> Vec<Reading> {
        self.with_state(|st, now| st.readings_at(now))
    }

    pub(crate) fn exposition(&self) -> String {
        lock(&self.state).exposition(Instant::now())
    }

    pub(crate) fn events(&self) -> broadcast::Receiver<SimEvent> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, ev: SimEvent) {
        // No receiver is fine: nobody is watching.
        let _ = self.events.send(ev);
    }

    pub(crate) fn scenario(&self) -> Scenario {
        lock(&self.state).scenario()
    }

    /// Returns false when a script step lost the race against a manual change.
    pub(crate) fn set_scenario(self: &Arc<Self>, s: Scenario, by: ChangedBy) -> bool {
        let now = Instant::now();
        let Some(from) = lock(&self.state).set_scenario(s, by, now) else {
            return false;
        };
        self.sync_listener();
        self.emit(SimEvent::ScenarioChanged { from, to: s, by });
        true
    }

    /// Opens or closes the data socket to match the scenario. Synchronous, so `down` is
    /// refused as soon as `set_scenario` returns. A failed re-bind (someone took the address
    /// while we were down) is retried every second until it works or `down` is chosen again.
    fn sync_listener(self: &Arc<Self>) {
        if self.reconcile_listener() && self.listener.claim_retry() {
            let sim = self.clone();
            self.listener.spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if sim.listener.is_stopped() || !sim.reconcile_listener() {
                        break;
                    }
                }
                sim.listener.release_retry();
            });
        }
    }

    /// True when the socket should be open but could not be.
    fn reconcile_listener(&self) -> bool {
        self.listener
            .reconcile(|| self.scenario() != Scenario::Down, |ev| self.emit(ev))
    }

    pub(crate) fn flags(&self) -> BTreeMap<String, bool> {
        lock(&self.state).flags().clone()
    }

    /// A flag's value; `None` for a flag the profile does not have.
    pub(crate) fn flag_value(&self, name: &str) -> Option<bool> {
        lock(&self.state).flags().get(name).copied()
    }

    /// A flag's value; false for a flag the profile does not have.
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.flag_value(name).unwrap_or(false)
    }

    /// Sets a flag; `None` if the profile has no such flag, else the previous value.
    pub(crate) fn set_flag(&self, name: &str, value: bool) -> Option<bool> {
        let prev = lock(&self.state).set_flag(name, value, Instant::now())?;
        if prev != value {
            self.emit(SimEvent::FlagChanged {
                name: name.to_string(),
                from: prev,
                to: value,
            });
        }
        Some(prev)
    }

    /// The weight the rollback ramp is heading to (`hse`: the traffic split / 100).
    pub(crate) fn weight_target(&self) -> f64 {
        lock(&self.state).weight_target()
    }

    /// Ramps the rollback weight to `to` over `ROLLBACK_RAMP`; returns the previous target.
    /// For profiles whose rollback is a level rather than a flag.
    pub(crate) fn set_weight_target(&self, to: f64) -> f64 {
        lock(&self.state).set_weight_target(to, Instant::now())
    }

    /// How many requests the profile's paths have served so far.
    pub(crate) fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Whether a request to `idx` fails, decided by a hash of a request counter so the
    /// served error ratio follows the reported error rate.
    pub(crate) fn serve_fails(&self, idx: usize) -> bool {
        let n = self.served.fetch_add(1, Ordering::Relaxed);
        self.readings()
            .get(idx)
            .is_some_and(|r| metrics::noise(n, idx as u64, 99) * 100.0 < r.error_rate_pct)
    }

    pub(crate) fn token_required(&self) -> bool {
        self.token.is_some()
    }

    /// The 401 for an admin request without the token; `None` lets it through.
    pub(crate) fn admin_denied(&self, headers: &HeaderMap) -> Option<Response> {
        auth::admin_denied(self.token.as_deref(), headers)
    }

    /// Logs a request as it arrives; returns its id for `set_status`.
    pub(crate) fn record(&self, parts: &Parts, body: &Bytes) -> u64 {
        let at = self.clock.wall(Instant::now());
        let scenario = self.scenario();
        let seen = Seen {
            at,
            authorization_valid: auth::authorization_valid(self.token.as_deref(), &parts.headers),
            scenario,
        };
        lock(&self.requests).record(parts, body, seen)
    }

    pub(crate) fn set_status(&self, id: u64, status: StatusCode) {
        lock(&self.requests).set_status(id, status);
    }

    pub(crate) fn requests(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.requests)
    }

    /// Runs `f` on the state as it is (no counting), for the control API's snapshot.
    pub(crate) fn inspect<R>(&self, f: impl FnOnce(&SystemState, Instant) -> R) -> R {
        let now = Instant::now();
        f(&lock(&self.state), now)
    }
}
