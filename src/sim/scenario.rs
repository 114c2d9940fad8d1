//! Scenarios (what the simulated system is doing) and scripts (scenarios in sequence).

use crate::timefmt::{format_duration, parse_duration};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// What the simulated system does. Data scenarios shape the metrics; transport scenarios
/// (`down`, `slow`, `malformed`, `unauthorized`) break the HTTP exchange itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    Healthy,
    ErrorBurst,
    LatencySpike,
    Flapping,
    DegradeThenRecover,
    Down,
    Slow,
    Malformed,
    Unauthorized,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::Healthy,
        Scenario::ErrorBurst,
        Scenario::LatencySpike,
        Scenario::Flapping,
        Scenario::DegradeThenRecover,
        Scenario::Down,
        Scenario::Slow,
        Scenario::Malformed,
        Scenario::Unauthorized,
    ];

    /// The kebab-case name used on the command line and in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Healthy => "healthy",
            Scenario::ErrorBurst => "error-burst",
            Scenario::LatencySpike => "latency-spike",
            Scenario::Flapping => "flapping",
            Scenario::DegradeThenRecover => "degrade-then-recover",
            Scenario::Down => "down",
            Scenario::Slow => "slow",
            Scenario::Malformed => "malformed",
            Scenario::Unauthorized => "unauthorized",
        }
    }

    /// One line for `warroom sim` and `/__sim/state`.
    pub fn describe(self) -> &'static str {
        match self {
            Scenario::Healthy => "all endpoints within thresholds",
            Scenario::ErrorBurst => "critical endpoints at 5-12 % errors",
            Scenario::LatencySpike => "critical endpoints at p95 1800-3000 ms",
            Scenario::Flapping => "one critical endpoint alternating just around the thresholds",
            Scenario::DegradeThenRecover => {
                "ramps to well over critical in 60 s, holds 30 s, recovers in 60 s"
            }
            Scenario::Down => "data listener closed: connection refused",
            Scenario::Slow => "answers only after the slow delay (default 30 s)",
            Scenario::Malformed => "200 with truncated JSON",
            Scenario::Unauthorized => "401 with WWW-Authenticate: Bearer on every endpoint",
        }
    }

    /// Transport faults break the exchange whatever the flags say (a rollback does not fix them).
    pub fn is_transport_fault(self) -> bool {
        matches!(
            self,
            Scenario::Down | Scenario::Slow | Scenario::Malformed | Scenario::Unauthorized
        )
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario `{input}`{hint}; expected one of: {}", known_names())]
pub struct UnknownScenario {
    pub input: String,
    hint: String,
}

fn known_names() -> String {
    Scenario::ALL
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Scenario {
    type Err = UnknownScenario;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        // Accept `error_burst` and `ErrorBurst`-ish spellings: people type what they remember.
        let norm = t.to_ascii_lowercase().replace('_', "-");
        if let Some(found) = Scenario::ALL.iter().find(|x| x.name() == norm) {
            return Ok(*found);
        }
        let best = Scenario::ALL
            .iter()
            .map(|x| (strsim::jaro_winkler(x.name(), &norm), x.name()))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let hint = match best {
            Some((score, name)) if score > 0.8 => format!(" (did you mean `{name}`?)"),
            _ => String::new(),
        };
        Err(UnknownScenario {
            input: t.to_string(),
            hint,
        })
    }
}

/// One step of a script. The last step's duration is ignored: it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptStep {
    pub scenario: Scenario,
    pub duration: Duration,
}

/// Scenarios run in order, e.g. `healthy:30s,error-burst:60s`; the last one holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    steps: Vec<ScriptStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("empty script; write e.g. `healthy:30s,error-burst:60s`")]
    Empty,
    #[error("script step {step} is empty (two commas in a row?) in `{script}`")]
    EmptyStep { step: usize, script: String },
    #[error("script step {step} `{text}`: {source}")]
    Scenario {
        step: usize,
        text: String,
        source: UnknownScenario,
    },
    #[error("script step {step} `{text}` has no duration; write `{text}:30s` (only the last step may omit it)")]
    MissingDuration { step: usize, text: String },
    #[error("script step {step} `{text}`: `{duration}` is not a duration; write e.g. `500ms`, `30s`, `2m`")]
    Duration {
        step: usize,
        text: String,
        duration: String,
    },
    #[error("script step {step} `{text}` lasts zero time; give it a duration such as `30s`")]
    ZeroDuration { step: usize, text: String },
}

/// Where a script is at a given time since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptPosition {
    pub index: usize,
    pub scenario: Scenario,
    /// Time since the script started at which the next step begins; `None` on the last step.
    pub next_change: Option<Duration>,
}

impl Script {
    pub fn new(steps: Vec<ScriptStep>) -> Result<Self, ScriptError> {
        if steps.is_empty() {
            return Err(ScriptError::Empty);
        }
        Ok(Script { steps })
    }

    pub fn steps(&self) -> &[ScriptStep] {
        &self.steps
    }

    /// Start offsets of every step (the first is zero).
    pub fn starts(&self) -> Vec<Duration> {
        let mut at = Duration::ZERO;
        self.steps
            .iter()
            .map(|s| {
                let start = at;
                at = at.saturating_add(s.duration);
                start
            })
            .collect()
    }

    /// The schedule as a pure function of elapsed time, so sequencing is testable without a clock.
    pub fn at(&self, elapsed: Duration) -> ScriptPosition {
        let starts = self.starts();
        let last = self.steps.len() - 1;
        let index = starts
            .iter()
            .rposition(|s| *s <= elapsed)
            .unwrap_or(0)
            .min(last);
        ScriptPosition {
            index,
            scenario: self.steps[index].scenario,
            next_change: starts.get(index + 1).copied(),
        }
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if i + 1 == self.steps.len() {
                write!(f, "{}", s.scenario)?;
            } else {
                write!(f, "{}:{}", s.scenario, format_duration(s.duration))?;
            }
        }
        Ok(())
    }
}

impl FromStr for Script {
    type Err = ScriptError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err(ScriptError::Empty);
        }
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let last = parts.len() - 1;
        let mut steps = Vec::with_capacity(parts.len());
        for (i, text) in parts.iter().enumerate() {
            let step = i + 1;
            if text.is_empty() {
                // A trailing comma is harmless; an empty step in the middle is a typo.
                if i == last && i > 0 {
                    continue;
                }
                return Err(ScriptError::EmptyStep {
                    step,
                    script: s.to_string(),
                });
            }
            let (name, dur) = match text.split_once(':') {
                Some((n, d)) => (n.trim(), Some(d.trim())),
                None => (*text, None),
            };
            let scenario: Scenario = name.parse().map_err(|e| ScriptError::Scenario {
                step,
                text: text.to_string(),
                source: e,
            })?;
            let is_last = i == last || (i + 1 == last && parts[last].is_empty());
            let duration = match dur {
                Some(d) => parse_duration(d).map_err(|_| ScriptError::Duration {
                    step,
                    text: text.to_string(),
                    duration: d.to_string(),
                })?,
                None if is_last => Duration::ZERO,
                None => {
                    return Err(ScriptError::MissingDuration {
                        step,
                        text: text.to_string(),
                    })
                }
            };
            if duration.is_zero() && !is_last {
                return Err(ScriptError::ZeroDuration {
                    step,
                    text: text.to_string(),
                });
            }
            steps.push(ScriptStep { scenario, duration });
        }
        Script::new(steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(s.to_string().parse::<Scenario>().unwrap(), s);
        }
        assert_eq!(
            "error_burst".parse::<Scenario>().unwrap(),
            Scenario::ErrorBurst
        );
    }

    #[test]
    fn unknown_scenario_lists_and_hints() {
        let e = "eror-burst".parse::<Scenario>().unwrap_err().to_string();
        assert!(e.contains("did you mean `error-burst`"), "{e}");
        assert!(e.contains("degrade-then-recover"), "{e}");
    }

    #[test]
    fn parses_scripts() {
        let s: Script = "healthy:30s, error-burst:2m ,down:500ms".parse().unwrap();
        assert_eq!(s.steps().len(), 3);
        assert_eq!(s.steps()[1].scenario, Scenario::ErrorBurst);
        assert_eq!(s.steps()[1].duration, Duration::from_secs(120));
        assert_eq!(s.steps()[2].duration, Duration::from_millis(500));
        // The last step may omit its duration: it holds anyway.
        let s: Script = "healthy:30s,error-burst".parse().unwrap();
        assert_eq!(s.to_string(), "healthy:30s,error-burst");
    }

    #[test]
    fn rejects_bad_scripts_clearly() {
        let cases = [
            ("", "empty script"),
            ("healthy:30s,,down:1s", "step 2 is empty"),
            (
                "healthy:30s,nope:1s",
                "step 2 `nope:1s`: unknown scenario `nope`",
            ),
            ("healthy,down:1s", "step 1 `healthy` has no duration"),
            ("healthy:30x,down", "`30x` is not a duration"),
            ("healthy:0,down", "lasts zero time"),
        ];
        for (input, want) in cases {
            let e = input.parse::<Script>().unwrap_err().to_string();
            assert!(e.contains(want), "{input:?} gave {e:?}, wanted {want:?}");
        }
    }

    #[test]
    fn schedule_runs_in_order_and_last_holds() {
        let s: Script = "healthy:30s,error-burst:60s,healthy:10s".parse().unwrap();
        let at = |secs: u64| s.at(Duration::from_secs(secs));
        assert_eq!(at(0).scenario, Scenario::Healthy);
        assert_eq!(at(0).next_change, Some(Duration::from_secs(30)));
        assert_eq!(at(29).scenario, Scenario::Healthy);
        assert_eq!(at(30).scenario, Scenario::ErrorBurst);
        assert_eq!(at(30).index, 1);
        assert_eq!(at(89).next_change, Some(Duration::from_secs(90)));
        assert_eq!(at(90).scenario, Scenario::Healthy);
        assert_eq!(at(90).index, 2);
        assert_eq!(at(90).next_change, None);
        assert_eq!(at(100_000).index, 2);
    }
}
