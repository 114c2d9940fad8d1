//! What each simulated system is, as data: one static `ProfileSpec` per profile says what it
//! serves (its routes, the paths its metrics count), its flags and its rollback. The HTTP layer
//! builds the router from the spec, the state layer ramps the numbers on the rollback lever, and
//! the `warroom sim` banner lists the routes; a profile module only adds its handlers and its
//! numbers.
//!
//! Adding an endpoint to a profile is one `Route` in its `SPEC.routes` plus one handler
//! `fn(&Sim, &Call) -> Answer`.

use super::endpoint::{Answer, Call};
use super::metrics::{EndpointSpec, Reading};
use super::profiles::{brokers, cohortlens, edn360, hse};
use super::state::{ReadCtx, Sim};
use super::telemetry::Telemetry;
use axum::response::Response;
use std::fmt;
use std::str::FromStr;

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
        self.spec().name
    }

    /// Routes, endpoints, flags and rollback of the profile.
    pub fn spec(self) -> &'static ProfileSpec {
        match self {
            Profile::Brokers => &brokers::SPEC,
            Profile::Cohortlens => &cohortlens::SPEC,
            Profile::Edn360 => &edn360::SPEC,
            Profile::Hse => &hse::SPEC,
        }
    }
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
pub struct ProfileSpec {
    pub name: &'static str,
    pub version: &'static str,
    /// The paths (or systems) whose traffic the metrics report, in order: one `Reading` each.
    pub endpoints: &'static [EndpointSpec],
    /// Flags and their initial values.
    pub flags: &'static [(&'static str, bool)],
    /// What rolls the simulated system back, and the request a drill sends for it.
    pub rollback: Rollback,
    /// Rollback weight at start when the lever is not in its rolled-back position (1 for
    /// most; `hse` starts with 10 % of the traffic on the new system).
    pub initial_weight: f64,
    /// The profile's API, in the order the `warroom sim` banner lists it. Two routes may share
    /// a path with different methods.
    pub(crate) routes: &'static [Route],
    /// Every route is served under each of these prefixes too (`edn360`: `/api`).
    pub(crate) mirrors: &'static [&'static str],
    /// How `endpoints` are served as paths, when they are paths.
    pub(crate) serve: Option<Serve>,
    /// One reading per endpoint at one instant.
    pub(crate) readings: fn(&ReadCtx) -> Vec<Reading>,
    /// Profile gauges appended to `/metrics` after the flags.
    pub(crate) gauges: fn(&ReadCtx, &[Reading], &mut String),
    /// Which endpoints the vendors' applications, target groups and containers are made of.
    pub telemetry: Telemetry,
    /// SSM parameters the system reads (`hse`: the traffic split).
    pub parameters: &'static [Parameter],
    /// The backend's `.env` and the program that reads it at start (`edn360`).
    pub dotenv: Option<DotEnv>,
    /// The MongoDB database the system keeps (`edn360`).
    pub mongo: Option<Mongo>,
}

/// An SSM parameter of the simulated system, as `aws ssm get-parameter` reads it.
#[derive(Clone, Copy)]
pub struct Parameter {
    pub name: &'static str,
    /// `String`, `StringList` or `SecureString`.
    pub kind: &'static str,
    /// Its value when the simulator starts.
    pub initial: &'static str,
    /// What the system does when the value changes (`hse`: moves the traffic split).
    pub(crate) apply: Option<fn(&Sim, &str)>,
}

impl fmt::Debug for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) = {:?}", self.name, self.kind, self.initial)
    }
}

/// A backend configured by a `.env` file it reads when it (re)starts, under a supervisor
/// program name (`supervisorctl restart <program>`).
#[derive(Debug, Clone, Copy)]
pub struct DotEnv {
    pub program: &'static str,
    /// Flags of the profile mirrored as `NAME=true|false` lines; read back at each restart.
    pub flags: &'static [&'static str],
    /// Other lines the file starts with (comments, connection settings).
    pub preamble: &'static str,
}

/// A MongoDB database of the simulated system, as `mongosh` reads it.
#[derive(Clone, Copy)]
pub struct Mongo {
    pub db: &'static str,
    /// Its collections on the numbers of one instant: `{"name": [documents…]}`.
    pub(crate) collections: fn(&ReadCtx) -> serde_json::Value,
}

impl fmt::Debug for Mongo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mongo db {}", self.db)
    }
}

impl fmt::Debug for ProfileSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileSpec")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("endpoints", &self.endpoints)
            .field("flags", &self.flags)
            .field("rollback", &self.rollback)
            .field("initial_weight", &self.initial_weight)
            .field("routes", &self.routes)
            .field("telemetry", &self.telemetry)
            .field("parameters", &self.parameters)
            .field("dotenv", &self.dotenv)
            .field("mongo", &self.mongo)
            .finish_non_exhaustive()
    }
}

impl ProfileSpec {
    /// `(method, path, what)` for the `warroom sim` banner: the shown routes, then the served
    /// endpoints' line.
    pub fn banner(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        let routes = self.routes.iter().filter_map(|r| {
            let what = r.shown?;
            Some((r.methods.first().map_or("", |m| m.as_str()), r.path, what))
        });
        let served = self
            .serve
            .as_ref()
            .and_then(|s| s.shown)
            .map(|(path, what)| (Method::Get.as_str(), path, what));
        routes.chain(served).collect()
    }

    /// The flags' names, for the error that lists them.
    pub(crate) fn flag_names(&self) -> String {
        self.flags
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What rolls the simulated system back: its numbers then ramp to healthy over
/// `ROLLBACK_RAMP`, whatever the data scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rollback {
    pub lever: Lever,
    /// The request that pulls the lever, as a drill's action sends it (with the admin token).
    pub method: Method,
    pub path: &'static str,
    /// The JSON body; `""` for none.
    pub body: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lever {
    /// Setting this flag to `rolled_back` is the rollback; setting it back undoes it.
    Flag {
        name: &'static str,
        rolled_back: bool,
    },
    /// The profile's handler sets the rollback weight itself (`hse`: the traffic split; 0 is
    /// the rollback).
    Weight,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Open,
    /// `Authorization: Bearer <token>` when the simulator has a token, GET included; checked
    /// before the handler runs (and before its body is read).
    Admin,
}

/// A profile endpoint: the request (path parameter and body) in, the answer out. It runs on
/// the state of now and never waits: transport faults (`slow`…) are applied around it.
pub(crate) type Handler = fn(&Sim, &Call) -> Answer;

/// One route of a profile's API.
pub(crate) struct Route {
    pub methods: &'static [Method],
    /// axum syntax; at most one `{param}`, handed to the handler as `Call::param`.
    pub path: &'static str,
    pub access: Access,
    pub handler: Handler,
    /// What the `warroom sim` banner says it is; `None` keeps it off the banner.
    pub shown: Option<&'static str>,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {} ({:?})", self.methods, self.path, self.access)
    }
}

impl Route {
    pub(crate) const fn new(methods: &'static [Method], path: &'static str, h: Handler) -> Self {
        Route {
            methods,
            path,
            access: Access::Open,
            handler: h,
            shown: None,
        }
    }

    pub(crate) const fn get(path: &'static str, h: Handler) -> Self {
        Route::new(&[Method::Get], path, h)
    }

    pub(crate) const fn post(path: &'static str, h: Handler) -> Self {
        Route::new(&[Method::Post], path, h)
    }

    pub(crate) const fn admin(self) -> Self {
        Route {
            access: Access::Admin,
            ..self
        }
    }

    pub(crate) const fn shown(self, what: &'static str) -> Self {
        Route {
            shown: Some(what),
            ..self
        }
    }
}

/// The metric endpoints served at their own paths (GET and POST, open): the traffic a smoke
/// test sends, failing at the reported error rate.
pub(crate) struct Serve {
    /// Given the endpoint's index in `ProfileSpec::endpoints`.
    pub handler: fn(&Sim, usize) -> Response,
    /// `(path, what)` for one banner line standing for all of them.
    pub shown: Option<(&'static str, &'static str)>,
}
