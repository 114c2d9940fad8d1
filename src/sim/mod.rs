//! The embedded simulator (SPEC §8): serves a seed system's API on loopback with scenarios
//! (healthy, error bursts, outages, broken JSON…) and a real rollback, for `warroom demo`,
//! `warroom sim` drills and the tests.
//!
//! Two listeners: the *data* listener serves the profile's API (and is really closed while the
//! scenario is `down`); the *control* listener serves `/__sim/*` and is always up.
//!
//! Profiles are sibling modules (`brokers`, `cohortlens`, `edn360`, `hse`): each gives its
//! endpoints, flags, rollback flag, routes and the numbers of its paths (`readings`);
//! everything else here is shared.
//!
//! Shared endpoints (profile endpoints are documented in the profile module):
//! - data `GET /metrics`: Prometheus text 0.0.4, `http_requests_total{path,code}`,
//!   `http_request_duration_seconds_{bucket,sum,count}{path[,le]}`, `warroom_sim_flag{name}`.
//! - data and control `POST /__sim/scenario/{name}` → `{"scenario": "…", "previous": "…"}`
//!   (404 `{"error","detail","scenarios"}` for an unknown name); stops a running script.
//! - data and control `GET /__sim/state` → profile, scenario, flags, listener, script…
//! - data and control `GET /__sim/requests` → `{"count": n, "requests": [RecordedRequest…]}`;
//!   `DELETE` clears them. `/__sim/*` is exempt from every scenario.
//!
//! Transport scenarios wrap every non-`/__sim` data request: `unauthorized` answers 401 before
//! any handler; `malformed` halves the body of any 2xx; `slow` runs the handler at once (a
//! rollback posted then does take effect) and delays only the answer.

pub mod brokers;
pub mod cohortlens;
pub mod edn360;
pub mod hse;
mod listener;
pub mod metrics;
pub mod scenario;
#[cfg(test)]
mod tests;

pub use metrics::{EndpointSpec, Reading};
pub use scenario::{Scenario, Script, ScriptError, ScriptPosition, ScriptStep, UnknownScenario};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use listener::{lock, Slot, SlotListener};
use metrics::Counters;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

/// Which seed system the simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    Brokers,
    Cohortlens,
    Edn360,
    Hse,
}

impl Profile {
    pub const ALL: [Profile; 4] = [
        Profile::Brokers,
        Profile::Cohortlens,
        Profile::Edn360,
        Profile::Hse,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Brokers => "brokers",
            Profile::Cohortlens => "cohortlens",
            Profile::Edn360 => "edn360",
            Profile::Hse => "hse",
        }
    }

    /// Endpoints, flags and rollback rule of the profile.
    pub fn spec(self) -> &'static ProfileSpec {
        match self {
            Profile::Brokers => &brokers::SPEC,
            Profile::Cohortlens => &cohortlens::SPEC,
            Profile::Edn360 => &edn360::SPEC,
            Profile::Hse => &hse::SPEC,
        }
    }

    fn routes(self) -> Router<Arc<Shared>> {
        match self {
            Profile::Brokers => brokers::routes(),
            Profile::Cohortlens => cohortlens::routes(),
            Profile::Edn360 => edn360::routes(),
            Profile::Hse => hse::routes(),
        }
    }

    /// One reading per endpoint of the spec, in order.
    fn readings(self, ctx: &ReadCtx) -> Vec<Reading> {
        match self {
            Profile::Brokers => (0..brokers::ENDPOINTS.len())
                .map(|i| {
                    metrics::reading(
                        ctx.scenario,
                        ctx.elapsed,
                        ctx.weight,
                        &brokers::ENDPOINTS,
                        i,
                        ctx.bucket,
                    )
                })
                .collect(),
            Profile::Cohortlens => cohortlens::readings(ctx),
            Profile::Edn360 => edn360::readings(ctx),
            Profile::Hse => hse::readings(ctx),
        }
    }

    /// Profile gauges appended to `/metrics` (after the flags).
    fn prometheus_extra(self, ctx: &ReadCtx, readings: &[Reading]) -> String {
        match self {
            Profile::Brokers => String::new(),
            Profile::Cohortlens => cohortlens::prometheus_extra(ctx, readings),
            Profile::Edn360 => edn360::prometheus_extra(ctx, readings),
            Profile::Hse => hse::prometheus_extra(ctx, readings),
        }
    }
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

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile `{input}`; expected one of: {known}")]
pub struct UnknownProfile {
    pub input: String,
    known: String,
}

impl FromStr for Profile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == t)
            .ok_or_else(|| UnknownProfile {
                input: s.trim().to_string(),
                known: Profile::ALL.map(|p| p.name()).join(", "),
            })
    }
}

/// What a profile declares; the shared machinery does the rest.
#[derive(Debug)]
pub struct ProfileSpec {
    pub name: &'static str,
    pub version: &'static str,
    /// Endpoints reported in the metrics (and served as plain routes).
    pub endpoints: &'static [EndpointSpec],
    /// Flags and their initial values.
    pub flags: &'static [(&'static str, bool)],
    /// The flag whose change is the rollback…
    pub rollback_flag: &'static str,
    /// …and the value that means "rolled back" (traffic on the old path).
    pub rolled_back_value: bool,
    /// Rollback weight at start when the rollback flag is not in its rolled-back position
    /// (1 for most; `hse` starts with 10 % of the traffic on the new system).
    pub initial_weight: f64,
    /// `(method, path, what)` for the `warroom sim` banner.
    pub routes: &'static [(&'static str, &'static str, &'static str)],
}

/// How long metrics take to recover (or degrade again) after the rollback flag flips.
pub const ROLLBACK_RAMP: Duration = Duration::from_secs(3);
/// Bodies are recorded up to this size.
pub const RECORDED_BODY_MAX: usize = 4 * 1024;
/// Older recorded requests are dropped past this count, so a long drill has bounded memory.
pub const RECORDED_MAX: usize = 10_000;
/// Request bodies larger than this are refused with 413.
const BODY_LIMIT: usize = 1024 * 1024;

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
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "address in use".into(),
        std::io::ErrorKind::AddrNotAvailable => "address not available on this host".into(),
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".into()
        }
        _ => e.to_string(),
    }
}

/// One request seen by the data listener. The token itself is never stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecordedRequest {
    pub id: u64,
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// An `Authorization` header was sent.
    pub authorization_present: bool,
    /// It was exactly `Bearer <token>`; `None` when the simulator has no token configured.
    pub authorization_valid: Option<bool>,
    pub idempotency_key: Option<String>,
    /// The first 4 KiB of the body, lossy UTF-8.
    pub body: String,
    pub body_truncated: bool,
    /// Status of the answer; `None` while it is being handled.
    pub status: Option<u16>,
    #[serde(serialize_with = "ser_display")]
    pub scenario: Scenario,
}

fn ser_display<S: serde::Serializer, T: fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
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
    ListenerClosed,
    ListenerReopened,
    ListenerError(String),
}

/// Rollback weight: 1 = v1 modules take the traffic, 0 = legacy; ramps linearly.
#[derive(Debug, Clone, Copy)]
struct Ramp {
    from: f64,
    to: f64,
    since: Instant,
}

impl Ramp {
    fn weight(&self, at: Instant) -> f64 {
        let f =
            at.saturating_duration_since(self.since).as_secs_f64() / ROLLBACK_RAMP.as_secs_f64();
        self.from + (self.to - self.from) * f.min(1.0)
    }
}

struct Inner {
    scenario: Scenario,
    scenario_since: Instant,
    scenario_since_wall: DateTime<Utc>,
    flags: BTreeMap<String, bool>,
    ramp: Ramp,
    counters: Counters,
    counted_until: Instant,
    requests: VecDeque<RecordedRequest>,
    next_request_id: u64,
    script: Option<Script>,
    script_active: bool,
}

pub(crate) struct Shared {
    profile: Profile,
    spec: &'static ProfileSpec,
    token: Option<String>,
    slow_delay: Duration,
    addr: SocketAddr,
    control_addr: SocketAddr,
    slot: Arc<Slot>,
    /// Last re-bind failure; the mutex also serializes listener open/close.
    listener_error: Mutex<Option<String>>,
    inner: Mutex<Inner>,
    events: broadcast::Sender<SimEvent>,
    rt: tokio::runtime::Handle,
    /// Maps `Instant`s to wall time for the noise buckets.
    origin: Instant,
    origin_unix_ms: u64,
    served: AtomicU64,
    /// Set by shutdown: nothing re-binds after it.
    stopped: AtomicBool,
    /// A re-bind retry task is running.
    retrying: AtomicBool,
}

impl Shared {
    fn now_wall(&self, at: Instant) -> DateTime<Utc> {
        let ms = self.origin_unix_ms + at.saturating_duration_since(self.origin).as_millis() as u64;
        DateTime::from_timestamp_millis(ms as i64).unwrap_or_else(Utc::now)
    }

    fn ctx_at<'a>(&self, inner: &'a Inner, at: Instant) -> ReadCtx<'a> {
        let unix_ms =
            self.origin_unix_ms + at.saturating_duration_since(self.origin).as_millis() as u64;
        ReadCtx {
            scenario: inner.scenario,
            elapsed: at.saturating_duration_since(inner.scenario_since),
            weight: inner.ramp.weight(at),
            bucket: unix_ms / metrics::NOISE_BUCKET_MS,
            flags: &inner.flags,
        }
    }

    fn readings_at(&self, inner: &Inner, at: Instant) -> Vec<Reading> {
        self.profile.readings(&self.ctx_at(inner, at))
    }

    /// Runs `f` on the state of now (counters advanced first). `f` must not call back into
    /// anything that locks the state.
    pub(crate) fn with_now<R>(
        &self,
        f: impl FnOnce(&ReadCtx, &[Reading], DateTime<Utc>) -> R,
    ) -> R {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        self.advance(&mut inner, now);
        let ctx = self.ctx_at(&inner, now);
        let readings = self.profile.readings(&ctx);
        f(&ctx, &readings, self.now_wall(now))
    }

    /// The weight the rollback ramp is heading to (`hse`: the traffic split / 100).
    pub(crate) fn weight_target(&self) -> f64 {
        lock(&self.inner).ramp.to
    }

    /// Ramps the rollback weight from where it is now to `to` over `ROLLBACK_RAMP`; returns
    /// the previous target. For profiles whose rollback is a level rather than a flag.
    pub(crate) fn set_weight_target(&self, to: f64) -> f64 {
        let now = Instant::now();
        let to = to.clamp(0.0, 1.0);
        let mut inner = lock(&self.inner);
        let prev = inner.ramp.to;
        if (prev - to).abs() > f64::EPSILON {
            self.advance(&mut inner, now);
            let w = inner.ramp.weight(now);
            inner.ramp = Ramp {
                from: w,
                to,
                since: now,
            };
        }
        prev
    }

    /// Integrates traffic into the counters up to `now`, in steps of at most 1 s. Called before
    /// every state change, so each past interval is counted with the state it really had.
    fn advance(&self, inner: &mut Inner, now: Instant) {
        let gap = now.saturating_duration_since(inner.counted_until);
        if gap.is_zero() {
            return;
        }
        let steps = gap.as_secs_f64().ceil().clamp(1.0, 3600.0) as u32;
        let dt = gap / steps;
        for k in 0..steps {
            let mid = inner.counted_until + dt * k + dt / 2;
            let readings = self.readings_at(inner, mid);
            inner.counters.add(&readings, dt);
        }
        inner.counted_until = now;
    }

    fn emit(&self, ev: SimEvent) {
        // No receiver is fine: nobody is watching.
        let _ = self.events.send(ev);
    }

    pub(crate) fn scenario(&self) -> Scenario {
        lock(&self.inner).scenario
    }

    /// Returns false when a script step lost the race against a manual change.
    fn set_scenario(self: &Arc<Self>, s: Scenario, by: ChangedBy) -> bool {
        let now = Instant::now();
        let from = {
            let mut inner = lock(&self.inner);
            if by == ChangedBy::Script && !inner.script_active {
                return false;
            }
            self.advance(&mut inner, now);
            let from = inner.scenario;
            inner.scenario = s;
            inner.scenario_since = now;
            inner.scenario_since_wall = self.now_wall(now);
            if by != ChangedBy::Script {
                // A person took over: the script stops rather than overriding them later.
                inner.script_active = false;
            }
            from
        };
        self.sync_listener();
        self.emit(SimEvent::ScenarioChanged { from, to: s, by });
        true
    }

    /// Opens or closes the data socket to match the scenario. Synchronous, so `down` is
    /// refused as soon as `set_scenario` returns. A failed re-bind (someone took the address
    /// while we were down) is retried every second until it works or `down` is chosen again.
    fn sync_listener(self: &Arc<Self>) {
        if self.try_sync_listener() && !self.retrying.swap(true, Ordering::SeqCst) {
            let sh = self.clone();
            self.rt.spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if sh.stopped.load(Ordering::SeqCst) || !sh.try_sync_listener() {
                        break;
                    }
                }
                sh.retrying.store(false, Ordering::SeqCst);
            });
        }
    }

    /// Returns true when the socket should be open but could not be.
    fn try_sync_listener(&self) -> bool {
        let mut err = lock(&self.listener_error);
        if self.stopped.load(Ordering::SeqCst) {
            return false;
        }
        let want_up = self.scenario() != Scenario::Down;
        if want_up && !self.slot.is_up() {
            let _rt = self.rt.enter();
            match listener::bind(self.addr) {
                Ok(l) => {
                    self.slot.install(l);
                    *err = None;
                    self.emit(SimEvent::ListenerReopened);
                }
                Err(e) => {
                    let msg = format!("cannot listen on {} again: {}", self.addr, io_reason(&e));
                    // Say it once, not on every retry.
                    if err.as_deref() != Some(msg.as_str()) {
                        tracing::warn!("sim: {msg}");
                        self.emit(SimEvent::ListenerError(msg.clone()));
                        *err = Some(msg);
                    }
                    return true;
                }
            }
        } else if !want_up {
            *err = None;
            if self.slot.is_up() {
                self.slot.close();
                self.emit(SimEvent::ListenerClosed);
            }
        }
        false
    }

    pub(crate) fn flags(&self) -> BTreeMap<String, bool> {
        lock(&self.inner).flags.clone()
    }

    /// Sets a flag; `None` if the profile has no such flag, else the previous value.
    pub(crate) fn set_flag(&self, name: &str, value: bool) -> Option<bool> {
        let now = Instant::now();
        let prev = {
            let mut inner = lock(&self.inner);
            let prev = *inner.flags.get(name)?;
            if prev == value {
                return Some(prev);
            }
            self.advance(&mut inner, now);
            inner.flags.insert(name.to_string(), value);
            if name == self.spec.rollback_flag {
                let w = inner.ramp.weight(now);
                let to = if value == self.spec.rolled_back_value {
                    0.0
                } else {
                    self.spec.initial_weight
                };
                inner.ramp = Ramp {
                    from: w,
                    to,
                    since: now,
                };
            }
            prev
        };
        self.emit(SimEvent::FlagChanged {
            name: name.to_string(),
            from: prev,
            to: value,
        });
        Some(prev)
    }

    /// Current per-endpoint readings and the time they are for.
    pub(crate) fn current(&self) -> (Vec<Reading>, DateTime<Utc>) {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        self.advance(&mut inner, now);
        (self.readings_at(&inner, now), self.now_wall(now))
    }

    fn prometheus(&self) -> String {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        self.advance(&mut inner, now);
        let mut extra = String::from(
            "# HELP warroom_sim_flag Feature flags of the simulated system (1 = enabled).\n\
             # TYPE warroom_sim_flag gauge\n",
        );
        for (name, v) in &inner.flags {
            extra.push_str(&format!(
                "warroom_sim_flag{{name=\"{name}\"}} {}\n",
                u8::from(*v)
            ));
        }
        let ctx = self.ctx_at(&inner, now);
        let readings = self.profile.readings(&ctx);
        extra.push_str(&self.profile.prometheus_extra(&ctx, &readings));
        inner.counters.render(self.spec.endpoints, &extra)
    }

    /// Whether a request to `idx` fails, decided by a hash of a request counter so the
    /// served error ratio follows the reported error rate.
    pub(crate) fn serve_fails(&self, idx: usize) -> bool {
        let n = self.served.fetch_add(1, Ordering::Relaxed);
        let (readings, _) = self.current();
        readings
            .get(idx)
            .is_some_and(|r| metrics::noise(n, idx as u64, 99) * 100.0 < r.error_rate_pct)
    }

    fn authorization_valid(&self, headers: &HeaderMap) -> Option<bool> {
        let token = self.token.as_ref()?;
        let Some(v) = headers.get(header::AUTHORIZATION) else {
            return Some(false);
        };
        Some(bearer_matches(v.as_bytes(), token.as_bytes()))
    }

    /// Admin endpoints need `Authorization: Bearer <token>` when a token is configured: the
    /// 401 to send when they lack it. The error names the problem, never the token.
    pub(crate) fn admin_denied(&self, headers: &HeaderMap) -> Option<Response> {
        let token = self.token.as_ref()?;
        let v = match headers.get(header::AUTHORIZATION) {
            None => {
                return Some(unauthorized(
                    "missing `Authorization: Bearer <token>` header",
                    None,
                ))
            }
            Some(v) => v.as_bytes(),
        };
        if v.len() < 7 || !v[..7].eq_ignore_ascii_case(b"bearer ") {
            Some(unauthorized(
                "the Authorization header is not of the form `Bearer <token>`",
                Some("invalid_request"),
            ))
        } else if bearer_matches(v, token.as_bytes()) {
            None
        } else {
            Some(unauthorized(
                "the bearer token does not match",
                Some("invalid_token"),
            ))
        }
    }

    fn record(&self, parts: &axum::http::request::Parts, body: &Bytes) -> u64 {
        let idem = parts.headers.get("idempotency-key").map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(200)
                .collect()
        });
        let cut = body.len().min(RECORDED_BODY_MAX);
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        let id = inner.next_request_id;
        inner.next_request_id += 1;
        let rec = RecordedRequest {
            id,
            at: self.now_wall(now),
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            authorization_present: parts.headers.contains_key(header::AUTHORIZATION),
            authorization_valid: self.authorization_valid(&parts.headers),
            idempotency_key: idem,
            body: String::from_utf8_lossy(&body[..cut]).into_owned(),
            body_truncated: body.len() > RECORDED_BODY_MAX,
            status: None,
            scenario: inner.scenario,
        };
        if inner.requests.len() >= RECORDED_MAX {
            inner.requests.pop_front();
        }
        inner.requests.push_back(rec);
        id
    }

    fn set_status(&self, id: u64, status: StatusCode) {
        let mut inner = lock(&self.inner);
        // Recent requests are at the back.
        if let Some(r) = inner.requests.iter_mut().rev().find(|r| r.id == id) {
            r.status = Some(status.as_u16());
        }
    }

    fn state_json(&self) -> Value {
        let now = Instant::now();
        let listener_error = lock(&self.listener_error).clone();
        let inner = lock(&self.inner);
        let script = inner.script.as_ref().map(|s| {
            json!({
                "script": s.to_string(),
                "active": inner.script_active,
                "steps": s.steps().iter().map(|st| json!({
                    "scenario": st.scenario.name(),
                    "duration_ms": st.duration.as_millis() as u64,
                })).collect::<Vec<_>>(),
            })
        });
        json!({
            "profile": self.profile.name(),
            "scenario": inner.scenario.name(),
            "scenario_description": inner.scenario.describe(),
            "scenario_since": inner.scenario_since_wall.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "scenario_elapsed_ms": now.saturating_duration_since(inner.scenario_since).as_millis() as u64,
            "rollback_weight": inner.ramp.weight(now),
            "flags": inner.flags,
            "data_listener": {
                "addr": self.addr.to_string(),
                "up": self.slot.is_up(),
                "error": listener_error,
            },
            "control_addr": self.control_addr.to_string(),
            "token_required": self.token.is_some(),
            "slow_delay_ms": self.slow_delay.as_millis() as u64,
            "script": script,
            "requests_recorded": inner.requests.len(),
            "scenarios": Scenario::ALL.map(|s| s.name()),
        })
    }
}

/// `Bearer <token>` (scheme case-insensitive), compared in constant time.
fn bearer_matches(header: &[u8], token: &[u8]) -> bool {
    if header.len() < 7 || !header[..7].eq_ignore_ascii_case(b"bearer ") {
        return false;
    }
    let got = &header[7..];
    if got.len() != token.len() {
        return false;
    }
    got.iter().zip(token).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

pub(crate) fn json_response(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

/// The admin check and the `{"enabled": bool}` body every profile's flag endpoint takes:
/// the value, or the response that refuses the request.
pub(crate) fn enabled_body(
    sh: &Shared,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<bool, Box<Response>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SetFlag {
        enabled: bool,
    }
    if let Some(resp) = sh.admin_denied(headers) {
        return Err(Box::new(resp));
    }
    serde_json::from_slice::<SetFlag>(body)
        .map(|r| r.enabled)
        .map_err(|e| {
            Box::new(json_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("expected a JSON body {{\"enabled\": true|false}}: {e}"),
            ))
        })
}

pub(crate) fn json_error(status: StatusCode, error: &str, detail: impl Into<String>) -> Response {
    json_response(status, json!({"error": error, "detail": detail.into()}))
}

pub(crate) fn unauthorized(detail: &str, error_code: Option<&str>) -> Response {
    let mut resp = json_error(StatusCode::UNAUTHORIZED, "unauthorized", detail);
    let challenge = match error_code {
        Some(code) => format!("Bearer realm=\"warroom-sim\", error=\"{code}\""),
        None => "Bearer realm=\"warroom-sim\"".to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// Records every request, then applies the transport-fault scenarios around the handlers.
async fn data_middleware(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body over 1 MiB or unreadable",
            )
        }
    };
    let id = sh.record(&parts, &bytes);
    let is_control = parts.uri.path().starts_with("/__sim/");
    let req = Request::from_parts(parts, Body::from(bytes));
    if is_control {
        let resp = next.run(req).await;
        sh.set_status(id, resp.status());
        return resp;
    }
    let scenario = sh.scenario();
    let mut resp = match scenario {
        // Only a connection accepted just before `down` can get here: close it.
        Scenario::Down => {
            let mut r = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "down",
                "scenario `down`: the system is down",
            );
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
        Scenario::Unauthorized => unauthorized(
            "scenario `unauthorized`: every request is refused, token or not",
            None,
        ),
        _ => next.run(req).await,
    };
    if scenario == Scenario::Malformed && resp.status().is_success() {
        resp = truncate_body(resp).await;
    }
    sh.set_status(id, resp.status());
    if scenario == Scenario::Slow {
        // The handler already ran (a rollback posted now does take effect: "outcome unknown"
        // for the client); only the answer is late. Sleeping here blocks nothing else.
        tokio::time::sleep(sh.slow_delay).await;
    }
    resp
}

/// Cuts the body in half: any proper prefix of a JSON object is invalid JSON.
async fn truncate_body(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_default();
    let cut = if bytes.len() >= 2 { bytes.len() / 2 } else { 0 };
    let broken = if cut == 0 {
        Bytes::from_static(b"{")
    } else {
        bytes.slice(..cut)
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(broken))
}

async fn metrics_handler(State(sh): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        sh.prometheus(),
    )
        .into_response()
}

async fn not_found(req: Request) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {}", req.method(), req.uri().path()),
    )
}

fn control_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__sim/scenario/{name}", post(control_set_scenario))
        .route("/__sim/state", get(control_state))
        .route(
            "/__sim/requests",
            get(control_requests).delete(control_clear_requests),
        )
}

async fn control_set_scenario(State(sh): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    match name.parse::<Scenario>() {
        Ok(s) => {
            let previous = sh.scenario();
            sh.set_scenario(s, ChangedBy::Control);
            json_response(
                StatusCode::OK,
                json!({"scenario": s.name(), "previous": previous.name()}),
            )
        }
        Err(e) => json_response(
            StatusCode::NOT_FOUND,
            json!({
                "error": "unknown_scenario",
                "detail": e.to_string(),
                "scenarios": Scenario::ALL.map(|s| s.name()),
            }),
        ),
    }
}

async fn control_state(State(sh): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, sh.state_json())
}

async fn control_requests(State(sh): State<Arc<Shared>>) -> Response {
    let reqs: Vec<RecordedRequest> = lock(&sh.inner).requests.iter().cloned().collect();
    json_response(
        StatusCode::OK,
        json!({"count": reqs.len(), "requests": reqs}),
    )
}

async fn control_clear_requests(State(sh): State<Arc<Shared>>) -> Response {
    let n = {
        let mut inner = lock(&sh.inner);
        let n = inner.requests.len();
        inner.requests.clear();
        n
    };
    json_response(StatusCode::OK, json!({"cleared": n}))
}

/// A running simulator. Dropping it stops it too; `shutdown` waits for the servers.
pub struct SimHandle {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    script_task: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// The data listener's address (also while `down`: it is re-bound there).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    pub fn control_addr(&self) -> SocketAddr {
        self.shared.control_addr
    }

    pub fn control_url(&self) -> String {
        format!("http://{}", self.shared.control_addr)
    }

    /// Takes effect at once: `down` has closed the socket when this returns. Stops a script.
    pub fn set_scenario(&self, s: Scenario) {
        self.shared.set_scenario(s, ChangedBy::Handle);
    }

    pub fn scenario(&self) -> Scenario {
        self.shared.scenario()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.inner).requests.iter().cloned().collect()
    }

    pub fn flag(&self, name: &str) -> Option<bool> {
        lock(&self.shared.inner).flags.get(name).copied()
    }

    /// Sets a flag as the admin endpoint would (no token needed); `None` for an unknown flag.
    pub fn set_flag(&self, name: &str, value: bool) -> Option<bool> {
        self.shared.set_flag(name, value)
    }

    /// Current readings per endpoint of the profile (same order as `Profile::spec().endpoints`).
    pub fn readings(&self) -> Vec<Reading> {
        self.shared.current().0
    }

    /// Scenario changes, flag changes and listener events from now on.
    pub fn events(&self) -> broadcast::Receiver<SimEvent> {
        self.shared.events.subscribe()
    }

    pub fn profile(&self) -> Profile {
        self.shared.profile
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
        self.shared.stopped.store(true, Ordering::SeqCst);
        let _ = self.stop.send(true);
        if let Some(t) = self.script_task.take() {
            t.abort();
        }
        self.shared.slot.close();
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
            .field("profile", &self.shared.profile)
            .field("addr", &self.shared.addr)
            .field("control_addr", &self.shared.control_addr)
            .finish_non_exhaustive()
    }
}

/// Binds both listeners, spawns the servers (and the script), and returns at once.
pub async fn start(opts: SimOptions) -> Result<SimHandle, SimError> {
    if opts.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(SimError::EmptyToken);
    }
    let data = listener::bind(opts.listen).map_err(|e| SimError::Listen {
        addr: opts.listen,
        reason: io_reason(&e),
    })?;
    let addr = data.local_addr().map_err(|e| SimError::Listen {
        addr: opts.listen,
        reason: io_reason(&e),
    })?;
    let control_req = opts
        .control_listen
        .unwrap_or_else(|| SocketAddr::new(addr.ip(), 0));
    let control = listener::bind(control_req).map_err(|e| SimError::ControlListen {
        addr: control_req,
        reason: io_reason(&e),
    })?;
    let control_addr = control.local_addr().map_err(|e| SimError::ControlListen {
        addr: control_req,
        reason: io_reason(&e),
    })?;

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

    let spec = opts.profile.spec();
    let now = Instant::now();
    let wall = Utc::now();
    let (events, _) = broadcast::channel(256);
    let shared = Arc::new(Shared {
        profile: opts.profile,
        spec,
        token: opts.token.clone(),
        slow_delay: opts.slow_delay,
        addr,
        control_addr,
        slot: slot.clone(),
        listener_error: Mutex::new(None),
        inner: Mutex::new(Inner {
            scenario: initial,
            scenario_since: now,
            scenario_since_wall: wall,
            flags: spec
                .flags
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            ramp: Ramp {
                from: spec.initial_weight,
                to: spec.initial_weight,
                since: now,
            },
            counters: Counters::new(spec.endpoints.len()),
            counted_until: now,
            requests: VecDeque::new(),
            next_request_id: 1,
            script: opts.script.clone(),
            script_active: opts.script.is_some(),
        }),
        events,
        rt: tokio::runtime::Handle::current(),
        origin: now,
        origin_unix_ms: wall.timestamp_millis().max(0) as u64,
        served: AtomicU64::new(0),
        stopped: AtomicBool::new(false),
        retrying: AtomicBool::new(false),
    });
    // If the rollback flag starts in its rolled-back position, start on legacy values.
    if shared.flags().get(spec.rollback_flag).copied() == Some(spec.rolled_back_value) {
        lock(&shared.inner).ramp = Ramp {
            from: 0.0,
            to: 0.0,
            since: now,
        };
    }

    let (stop, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };

    let data_router = opts
        .profile
        .routes()
        .route("/metrics", get(metrics_handler))
        .merge(control_routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            data_middleware,
        ))
        .with_state(shared.clone());
    let control_router = control_routes()
        .fallback(not_found)
        .with_state(shared.clone());

    let data_server = axum::serve(SlotListener { slot, addr }, data_router)
        .with_graceful_shutdown(stopped(stop_rx.clone()));
    let control_server =
        axum::serve(control, control_router).with_graceful_shutdown(stopped(stop_rx));
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
        let sh = shared.clone();
        tokio::spawn(run_script(sh, script, tokio::time::Instant::now()))
    });

    Ok(SimHandle {
        shared,
        stop,
        servers,
        script_task,
    })
}

/// Applies each step at its start offset (from `Script::starts`); the last one holds.
async fn run_script(sh: Arc<Shared>, script: Script, started: tokio::time::Instant) {
    for (i, offset) in script.starts().into_iter().enumerate().skip(1) {
        tokio::time::sleep_until(started + offset).await;
        if !sh.set_scenario(script.steps()[i].scenario, ChangedBy::Script) {
            return;
        }
    }
}

fn out(line: impl fmt::Display) {
    // A closed stdout (e.g. `| head`) must not panic the simulator.
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

/// For the `warroom sim` command: start, print the URLs, endpoints and scenario, run the
/// script, print a line on each change, run until Ctrl-C/SIGTERM. Returns the exit code.
pub async fn run_cli(opts: SimOptions) -> i32 {
    let profile = opts.profile;
    let has_token = opts.token.is_some();
    let handle = match start(opts.clone()).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("warroom sim: {e}");
            return 1;
        }
    };
    let mut events = handle.events();
    let base = handle.base_url();
    out(format_args!(
        "warroom sim: profile {profile}, scenario {} ({})",
        handle.scenario(),
        handle.scenario().describe()
    ));
    out(format_args!("  listening on  {base}"));
    out(format_args!(
        "  control       {}  (POST /__sim/scenario/{{name}}, GET /__sim/state, GET /__sim/requests)",
        handle.control_url()
    ));
    out(format_args!(
        "  admin token   {}",
        if has_token {
            "required: Authorization: Bearer <token>"
        } else {
            "not required (no token configured)"
        }
    ));
    out("  endpoints:");
    for (method, path, what) in profile.spec().routes {
        out(format_args!("    {method:<5} {base}{path}  {what}"));
    }
    out(format_args!(
        "    GET   {base}/metrics  Prometheus exposition"
    ));
    if let Some(script) = &opts.script {
        out(format_args!(
            "  script        {script} (the last step holds)"
        ));
    }
    out(format_args!(
        "  scenarios     {}",
        Scenario::ALL.map(|s| s.name()).join(", ")
    ));
    out("Ctrl-C to stop.");

    let term = terminate_signal();
    tokio::pin!(term);
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => out(format_args!("{} {}", Utc::now().format("%H:%M:%S"), describe_event(&ev))),
                Err(broadcast::error::RecvError::Lagged(n)) => out(format_args!("({n} events not shown)")),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = &mut term => break,
        }
    }
    out("warroom sim: stopping");
    handle.shutdown().await;
    0
}

fn describe_event(ev: &SimEvent) -> String {
    match ev {
        SimEvent::ScenarioChanged { from, to, by } => {
            let by = match by {
                ChangedBy::Script => "script",
                ChangedBy::Control => "control API",
                ChangedBy::Handle => "handle",
            };
            format!("scenario {from} -> {to} (by {by}): {}", to.describe())
        }
        SimEvent::FlagChanged { name, from, to } => format!("flag {name}: {from} -> {to}"),
        SimEvent::ValueChanged { name, from, to } => format!("{name}: {from} -> {to}"),
        SimEvent::ListenerClosed => "data listener closed (connections refused)".into(),
        SimEvent::ListenerReopened => "data listener open again".into(),
        SimEvent::ListenerError(m) => format!("error: {m}"),
    }
}

#[cfg(unix)]
async fn terminate_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn terminate_signal() {
    std::future::pending::<()>().await
}
