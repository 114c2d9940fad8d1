//! Replaying a recording through the same `update` and engine as the live dashboard.
//! Feeding a prefix of the recording rebuilds the state the live screen had then.
//!
//! Positions are monotonic (the lines' `mono_ms`): a wall step in the recording neither
//! reorders nor stretches the replay, and the shown time follows the recorded wall clock.

use crate::app::{update, Msg, Remote, State};
use crate::config::Config;
use crate::engine::Event;
use crate::record::{Line, Recording};
use crate::sample::{Mono, Stamp, Ts};
use std::sync::Arc;

pub struct Replayer {
    rec: Arc<Recording>,
    cfg: Arc<Config>,
    t0: Option<Ts>,
    start: Stamp,
    /// Each line's monotonic time: recorded, or for a line without one its wall time
    /// since the last line that had one.
    monos: Vec<Mono>,
    pub state: State,
    /// Index of the next line to feed.
    cursor: usize,
    /// Every event the engine produced so far (the panel keeps only the last few).
    pub all_events: Vec<Event>,
    seen_events: u64,
}

impl Replayer {
    pub fn new(rec: Recording) -> Result<Self, String> {
        let cfg = Arc::new(rec.config()?);
        let (start, t0) = match rec.header() {
            Some(Line::Header { at, t0, mono, .. }) => {
                (Stamp::new(*at, mono.unwrap_or_default()), *t0)
            }
            _ => return Err("no header".into()),
        };
        let monos = resolve_monos(&rec, start);
        let state = fresh(&cfg, start, t0);
        Ok(Replayer {
            rec: Arc::new(rec),
            cfg,
            t0,
            start,
            monos,
            state,
            cursor: 1,
            all_events: Vec::new(),
            seen_events: 0,
        })
    }

    pub fn recording(&self) -> &Recording {
        &self.rec
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.cfg
    }

    /// The header's time: where a replay starts.
    pub fn start(&self) -> Stamp {
        self.start
    }

    /// The last line's time: where a replay ends.
    pub fn end(&self) -> Stamp {
        let last = self.rec.lines.len().saturating_sub(1);
        let at = self
            .rec
            .lines
            .iter()
            .rev()
            .find_map(Line::at)
            .unwrap_or(self.start.at);
        Stamp::new(at, self.monos.get(last).copied().unwrap_or(self.start.mono))
    }

    pub fn finished(&self) -> bool {
        self.cursor >= self.rec.lines.len()
    }

    /// The monotonic time of line `i` (as recorded, or derived from its wall time).
    pub fn mono_of(&self, i: usize) -> Mono {
        self.monos.get(i).copied().unwrap_or(self.start.mono)
    }

    /// Feed lines up to the monotonic time `t` (rewinding from the start when `t` is in
    /// the past) and set the clock to `t`; the wall clock moves with it from the last line.
    pub fn seek(&mut self, t: Mono) {
        if t < self.state.mono {
            self.state = fresh(&self.cfg, self.start, self.t0);
            self.cursor = 1;
            self.all_events.clear();
            self.seen_events = 0;
        }
        while self.cursor < self.rec.lines.len() && self.mono_of(self.cursor) <= t {
            self.step();
        }
        if t > self.state.mono {
            self.state.now += t - self.state.mono;
            self.state.mono = t;
        }
        self.state.dirty = true;
    }

    /// Feed one line; returns false at the end.
    pub fn step(&mut self) -> bool {
        let Some(line) = self.rec.lines.get(self.cursor).cloned() else {
            return false;
        };
        let mono = self.mono_of(self.cursor);
        self.cursor += 1;
        self.feed(line, mono);
        true
    }

    fn feed(&mut self, line: Line, mono: Mono) {
        let msg = match line {
            Line::Poll { mut poll, rows } => {
                let readings = rows.iter().filter_map(|r| r.reading(&self.cfg)).collect();
                poll.mono = Some(mono);
                Some(Msg::Readings(poll, readings))
            }
            Line::Clock { at, .. } => Some(Msg::Tick(Stamp::new(at, mono))),
            // A line this version cannot read as an audit event is skipped, as `report` does.
            Line::Audit {
                at,
                user,
                host,
                kind,
                details,
                ..
            } => crate::audit::AuditEvent::from_parts(&kind, details)
                .ok()
                .map(|event| {
                    Msg::Remote(Remote {
                        at,
                        user,
                        host,
                        cutover: None,
                        environment: None,
                        config: None,
                        session: String::new(),
                        event,
                    })
                }),
            // Where the recording lost lines, the replay says so as the live screen did.
            Line::Gap {
                at, error, lost, ..
            } => Some(Msg::RecordFailed(format!(
                "the recording lost {lost} line{} from {}: {error}",
                if lost == 1 { "" } else { "s" },
                at.format("%H:%M:%S")
            ))),
            // The engine recomputes events; the header was used at the start.
            Line::Event { .. } | Line::Header { .. } | Line::End { .. } => None,
        };
        if let Some(m) = msg {
            // A replay is read-only: effects (audit writes, polls) are not carried out.
            let _ = update(&mut self.state, m);
        }
        let new = (self.state.event_seq - self.seen_events) as usize;
        let n = self.state.events.len();
        self.all_events.extend(
            self.state
                .events
                .iter()
                .skip(n.saturating_sub(new))
                .cloned(),
        );
        self.seen_events = self.state.event_seq;
    }
}

/// Every line's monotonic time. A line recorded without one (a recording from before
/// they were kept) is placed by its wall time after the last line that had one.
fn resolve_monos(rec: &Recording, start: Stamp) -> Vec<Mono> {
    let mut last = start;
    rec.lines
        .iter()
        .map(|l| {
            let mono = match (l.mono(), l.at()) {
                (Some(m), _) => m,
                (None, Some(at)) => last.mono + (at - last.at).max(chrono::Duration::zero()),
                (None, None) => last.mono,
            };
            let mono = mono.max(last.mono);
            last = Stamp::new(l.at().unwrap_or(last.at), mono);
            mono
        })
        .collect()
}

fn fresh(cfg: &Arc<Config>, start: Stamp, t0: Option<Ts>) -> State {
    let mut s = State::new(Arc::clone(cfg), start, t0, "replay".into());
    s.read_only = true;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Band;
    use chrono::{Duration as CDur, TimeZone, Utc};
    use serde_json::json;

    const CFG: &str = r#"
[cutover]
name = "t"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
interval = "1s"
[[signal]]
id = "v"
source = "m"
kind = "metric"
path = ".v"
critical = true
crit = "> 2"
"#;

    fn base() -> Ts {
        Utc.timestamp_opt(1_800_000_000, 0)
            .single()
            .unwrap_or_default()
    }

    /// Polls and ticks each second to 200 s, crit from 40 s to 160 s, the wall clock
    /// stepped an hour ahead at 100 s.
    fn recording() -> Recording {
        let cfg: Config = toml::from_str(CFG).expect("config");
        let wall = |s: i64| base() + CDur::seconds(s + if s >= 100 { 3_600 } else { 0 });
        let mono = |s: i64| 40_000 + s * 1000;
        let mut text = json!({
            "v": 1, "type": "header", "at": wall(0), "mono_ms": mono(0), "warroom": "t",
            "host": "h", "user": "u", "cutover": "t", "config": serde_json::to_value(&cfg).unwrap(),
        })
        .to_string()
            + "\n";
        for s in 1..=200 {
            let v = if (40..160).contains(&s) { 3.0 } else { 0.5 };
            for line in [
                json!({"v": 1, "type": "poll", "source": "m", "at": wall(s), "mono_ms": mono(s),
                    "latency_ms": 1, "status": 200,
                    "rows": [{"key": "v", "signal": "v", "critical": true, "value": v}]}),
                json!({"v": 1, "type": "clock", "at": wall(s) + CDur::milliseconds(500),
                    "mono_ms": mono(s) + 500}),
            ] {
                text += &format!("{line}\n");
            }
        }
        crate::record::parse(&text).expect("recording")
    }

    #[test]
    fn seeking_across_a_wall_clock_step_keeps_positions_and_durations() {
        let mut rp = Replayer::new(recording()).expect("replayer");
        assert_eq!(rp.start().mono, Mono(40_000));
        assert_eq!(rp.end().at, base() + CDur::milliseconds(3_800_500));
        // 120 s in, on the monotonic clock: after the step, inside the breach.
        rp.seek(Mono(40_000 + 120_500));
        let row = &rp.state.engine.rows[0];
        assert_eq!(row.band, Band::Crit);
        assert_eq!(
            rp.state.now,
            base() + CDur::seconds(3_720) + CDur::milliseconds(500)
        );
        let text = crate::engine::breach_text(row, rp.state.engine.signal(row), rp.state.mono);
        assert!(text.ends_with("for 1m20s"), "{text}");
        assert!(rp
            .all_events
            .iter()
            .any(|e| e.text.starts_with("wall clock stepped +1h00m")));
        // Back to 50 s: rewound, before the step.
        rp.seek(Mono(40_000 + 50_500));
        assert_eq!(
            rp.state.now,
            base() + CDur::seconds(50) + CDur::milliseconds(500)
        );
        assert!(!rp.all_events.iter().any(|e| e.text.contains("wall clock")));
        let row = &rp.state.engine.rows[0];
        let text = crate::engine::breach_text(row, rp.state.engine.signal(row), rp.state.mono);
        assert!(text.ends_with("for 10s"), "{text}");
    }
}
