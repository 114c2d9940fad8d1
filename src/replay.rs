//! Replaying a recording through the same `update` and engine as the live dashboard.
//! Feeding a prefix of the recording rebuilds the state the live screen had then.

use crate::app::{update, Msg, Remote, State};
use crate::config::Config;
use crate::engine::Event;
use crate::record::{Line, Recording};
use crate::sample::Ts;
use std::sync::Arc;

pub struct Replayer {
    rec: Arc<Recording>,
    cfg: Arc<Config>,
    t0: Option<Ts>,
    start: Ts,
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
            Some(Line::Header { at, t0, .. }) => (*at, *t0),
            _ => return Err("no header".into()),
        };
        let state = fresh(&cfg, start, t0);
        Ok(Replayer {
            rec: Arc::new(rec),
            cfg,
            t0,
            start,
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

    pub fn start(&self) -> Ts {
        self.start
    }

    /// The time of the last line.
    pub fn end(&self) -> Ts {
        self.rec
            .lines
            .iter()
            .rev()
            .find_map(Line::at)
            .unwrap_or(self.start)
    }

    pub fn finished(&self) -> bool {
        self.cursor >= self.rec.lines.len()
    }

    /// The next line's time, if any.
    pub fn next_at(&self) -> Option<Ts> {
        self.rec.lines.get(self.cursor).and_then(Line::at)
    }

    /// Feed lines up to `t` (rewinding from the start when `t` is in the past) and set the
    /// clock to `t`.
    pub fn seek(&mut self, t: Ts) {
        if t < self.state.now {
            self.state = fresh(&self.cfg, self.start, self.t0);
            self.cursor = 1;
            self.all_events.clear();
            self.seen_events = 0;
        }
        while let Some(line) = self.rec.lines.get(self.cursor) {
            if line.at().is_some_and(|at| at > t) {
                break;
            }
            let line = line.clone();
            self.cursor += 1;
            self.feed(line);
        }
        if t > self.state.now {
            self.state.now = t;
        }
        self.state.dirty = true;
    }

    /// Feed one line; returns false at the end.
    pub fn step(&mut self) -> bool {
        let Some(line) = self.rec.lines.get(self.cursor).cloned() else {
            return false;
        };
        self.cursor += 1;
        self.feed(line);
        true
    }

    fn feed(&mut self, line: Line) {
        let msg = match line {
            Line::Poll { poll, rows } => {
                let readings = rows.iter().filter_map(|r| r.reading(&self.cfg)).collect();
                Some(Msg::Readings(poll, readings))
            }
            Line::Clock { at } => Some(Msg::Tick(at)),
            // A line this version cannot read as an audit event is skipped, as `report` does.
            Line::Audit {
                at,
                user,
                host,
                kind,
                details,
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

fn fresh(cfg: &Arc<Config>, start: Ts, t0: Option<Ts>) -> State {
    let mut s = State::new(Arc::clone(cfg), start, t0, "replay".into());
    s.read_only = true;
    s
}
