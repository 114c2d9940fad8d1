//! How a profile's traffic looks from the team's observability stack: which of its endpoints
//! each application (Datadog service, New Relic app), ALB target group and container is made
//! of. The vendor endpoints read the history through these, so one numbers model answers
//! every vendor's query the same way.

/// An application as Datadog and New Relic see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct App {
    /// New Relic `appName`.
    pub newrelic: &'static str,
    /// Datadog tags (`service`, `version`, `env`) of its traces.
    pub datadog_tags: &'static [(&'static str, &'static str)],
    /// Indexes into the profile's `endpoints`.
    pub endpoints: &'static [usize],
}

impl App {
    /// The value of Datadog tag `key`, if it has one.
    pub fn tag(&self, key: &str) -> Option<&'static str> {
        self.datadog_tags
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
}

/// An ALB target group as CloudWatch's `AWS/ApplicationELB` namespace reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetGroup {
    /// The `TargetGroup` dimension (`targetgroup/<name>/<id>`).
    pub dimension: &'static str,
    /// The `LoadBalancer` dimension (`app/<name>/<id>`).
    pub load_balancer: &'static str,
    pub endpoints: &'static [usize],
}

/// How a container writes its log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStyle {
    /// NestJS's console logger: `[Nest] 1  - 03/06/2026, 10:15:02 AM   ERROR [Ctx] msg`;
    /// errors on stderr.
    Nest,
    /// uvicorn / Python logging: `INFO:     …`, `ERROR:    Exception in ASGI application`;
    /// everything on stderr, as uvicorn's default logging config does.
    Uvicorn,
}

/// A container whose `docker logs` the stand-in answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Container {
    pub name: &'static str,
    pub image: &'static str,
    pub endpoints: &'static [usize],
    pub style: LogStyle,
}

/// Everything a profile shows to the observability vendors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Telemetry {
    pub apps: &'static [App],
    pub target_groups: &'static [TargetGroup],
    pub containers: &'static [Container],
}

impl Telemetry {
    pub const NONE: Telemetry = Telemetry {
        apps: &[],
        target_groups: &[],
        containers: &[],
    };
}
