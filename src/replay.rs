//! Replaying a recording through the same `update` and engine as the live dashboard.
//! Feeding a prefix of the recording rebuilds the state the live screen had then.
//!
//! A `Tape` gives the recording back as the inputs it was, in order, each at its
//! monotonic time. `Replayer` applies them to a state of its own (the report, tests);
//! `play` is the task that feeds them to the dashboard's one loop at the replay's speed,
//! answering its pause and seek keys.
//!
//! Positions are monotonic (the lines' `mono_ms`): a wall step in the recording neither
//! reorders nor stretches the replay, and the shown time follows the recorded wall clock.

use crate::app::{update, Msg, Playback, Remote, Replaying, State};
use crate::config::Config;
use crate::engine::Event;
use crate::record::{Line, Recording};
use crate::sample::{Mono, Stamp, Ts};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How often a playing replay moves its clock (and the screen its T-clock).
const FRAME: Duration = Duration::from_millis(100);

/// A recording as the inputs it gives, each at its monotonic time.
pub struct Tape {
    rec: Arc<Recording>,
    cfg: Arc<Config>,
    t0: Option<Ts>,
    start: Stamp,
    /// Each line's monotonic time: recorded, or for a line without one its wall time
    /// since the last line that had one.
    monos: Vec<Mono>,
    /// Index of the next line to give.
    cursor: usize,
}

impl Tape {
    pub fn new(rec: Recording) -> Result<Self, String> {
        let cfg = Arc::new(rec.config()?);
        let (start, t0) = match rec.header() {
            Some(Line::Header { at, t0, mono, .. }) => {
                (Stamp::new(*at, mono.unwrap_or_default()), *t0)
            }
            _ => return Err("no header".into()),
        };
        let monos = resolve_monos(&rec, start);
        Ok(Tape {
            rec: Arc::new(rec),
            cfg,
            t0,
            start,
            monos,
            cursor: 1,
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

    /// Back to the first line; the message that starts the state again with it.
    pub fn rewind(&mut self) -> Msg {
        self.cursor = 1;
        Msg::Replay(Playback::Rewind {
            start: self.start,
            t0: self.t0,
        })
    }

    /// The state a replay starts from: the header's time and T0, read-only.
    pub fn fresh_state(&self) -> State {
        let mut s = State::new(Arc::clone(&self.cfg), self.start, self.t0, "replay".into());
        s.read_only = true;
        s
    }

    /// The next line, if there is one: its input (None for a line that gives none).
    pub fn read(&mut self) -> Option<Option<Msg>> {
        let line = self.rec.lines.get(self.cursor).cloned()?;
        let mono = self.mono_of(self.cursor);
        self.cursor += 1;
        Some(input(line, mono, &self.cfg))
    }

    /// As `read`, for a line at or before `t` only.
    pub fn read_until(&mut self, t: Mono) -> Option<Option<Msg>> {
        if self.finished() || self.mono_of(self.cursor) > t {
            return None;
        }
        self.read()
    }
}

/// What one recorded line feeds `update`: the same input the live screen had.
fn input(line: Line, mono: Mono, cfg: &Config) -> Option<Msg> {
    match line {
        Line::Poll { mut poll, rows } => {
            let readings = rows.iter().filter_map(|r| r.reading(cfg)).collect();
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
    }
}

/// A recording replayed into a state of its own: the state at any instant, and every
/// event the engine made on the way there.
pub struct Replayer {
    tape: Tape,
    pub state: State,
    /// Every event the engine produced so far (the panel keeps only the last few).
    pub all_events: Vec<Event>,
    seen_events: u64,
}

impl Replayer {
    pub fn new(rec: Recording) -> Result<Self, String> {
        let tape = Tape::new(rec)?;
        let state = tape.fresh_state();
        Ok(Replayer {
            tape,
            state,
            all_events: Vec::new(),
            seen_events: 0,
        })
    }

    pub fn recording(&self) -> &Recording {
        self.tape.recording()
    }

    pub fn config(&self) -> &Arc<Config> {
        self.tape.config()
    }

    /// The header's time: where a replay starts.
    pub fn start(&self) -> Stamp {
        self.tape.start()
    }

    /// The last line's time: where a replay ends.
    pub fn end(&self) -> Stamp {
        self.tape.end()
    }

    pub fn finished(&self) -> bool {
        self.tape.finished()
    }

    /// The monotonic time of line `i` (as recorded, or derived from its wall time).
    pub fn mono_of(&self, i: usize) -> Mono {
        self.tape.mono_of(i)
    }

    /// Feed lines up to the monotonic time `t` (rewinding from the start when `t` is in
    /// the past) and set the clock to `t`; the wall clock moves with it from the last line.
    pub fn seek(&mut self, t: Mono) {
        if t < self.state.mono {
            let m = self.tape.rewind();
            let _ = update(&mut self.state, m);
            self.all_events.clear();
            self.seen_events = 0;
        }
        while let Some(m) = self.tape.read_until(t) {
            self.apply_opt(m);
        }
        self.apply(Msg::Replay(Playback::At {
            mono: t,
            paused: false,
        }));
    }

    /// Feed one line; returns false at the end.
    pub fn step(&mut self) -> bool {
        match self.tape.read() {
            Some(m) => {
                self.apply_opt(m);
                true
            }
            None => false,
        }
    }

    fn apply_opt(&mut self, m: Option<Msg>) {
        match m {
            Some(m) => self.apply(m),
            None => self.collect_events(),
        }
    }

    fn apply(&mut self, m: Msg) {
        // A replay is read-only: effects (audit writes, polls) are not carried out.
        let _ = update(&mut self.state, m);
        self.collect_events();
    }

    fn collect_events(&mut self) {
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

/// What a replay's keys ask of the task that plays it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    TogglePause,
    /// Seconds either way.
    Seek(i32),
}

/// The state the dashboard replays on: read-only, the replay's keys, and the footer
/// saying where the replay stands.
pub fn dashboard_state(tape: &Tape, speed: f64) -> State {
    let mut s = tape.fresh_state();
    s.keys = crate::app::keys::KeyMap::for_replay(&tape.cfg);
    s.replaying = Some(Replaying {
        speed,
        paused: false,
        end: tape.end(),
    });
    let _ = update(
        &mut s,
        Msg::Replay(Playback::At {
            mono: tape.start.mono,
            paused: false,
        }),
    );
    s
}

/// The replay task: feeds the dashboard's loop each line's input at its time, at `speed`
/// times the recorded pace, then where the replay stands. Paused or at the end it sends
/// nothing, so nothing is redrawn; a seek back starts the state again and feeds it up to
/// the new position. Ends when the loop stops listening.
pub async fn play(
    mut tape: Tape,
    speed: f64,
    out: mpsc::Sender<Msg>,
    mut control: mpsc::Receiver<Control>,
) {
    let (start, end) = (tape.start().mono, tape.end().mono);
    let mut pos = start;
    let mut paused = false;
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = Instant::now();
    loop {
        let asked = tokio::select! {
            c = control.recv() => match c {
                Some(c) => Some(c),
                None => return,
            },
            _ = frame.tick(), if !paused && pos < end => None,
        };
        let wall = last.elapsed();
        last = Instant::now();
        if !paused && pos < end {
            let adv = chrono::Duration::milliseconds((wall.as_secs_f64() * speed * 1000.0) as i64);
            pos = (pos + adv).min(end);
        }
        match asked {
            Some(Control::TogglePause) => paused = !paused,
            Some(Control::Seek(secs)) => {
                let to = (pos + chrono::Duration::seconds(i64::from(secs))).clamp(start, end);
                if to < pos && out.send(tape.rewind()).await.is_err() {
                    return;
                }
                pos = to;
            }
            None => {}
        }
        while let Some(m) = tape.read_until(pos) {
            if let Some(m) = m {
                if out.send(m).await.is_err() {
                    return;
                }
            }
        }
        let at = Msg::Replay(Playback::At { mono: pos, paused });
        if out.send(at).await.is_err() {
            return;
        }
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

    /// Everything the task has sent so far.
    fn drain(rx: &mut mpsc::Receiver<Msg>) -> Vec<Msg> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    fn last_at(msgs: &[Msg]) -> Option<(Mono, bool)> {
        msgs.iter().rev().find_map(|m| match m {
            Msg::Replay(Playback::At { mono, paused }) => Some((*mono, *paused)),
            _ => None,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn the_replay_task_plays_pauses_silently_and_rewinds_for_a_seek_back() {
        let tape = Tape::new(recording()).expect("tape");
        let (tx, mut rx) = mpsc::channel(100_000);
        let (control, asked) = mpsc::channel(4);
        let task = tokio::spawn(play(tape, 10.0, tx, asked));
        // A second at ×10: ten recorded seconds fed, polls and clock lines alike.
        tokio::time::sleep(Duration::from_millis(1_050)).await;
        let sent = drain(&mut rx);
        let (pos, paused) = last_at(&sent).expect("the clock");
        assert!(!paused);
        assert!(
            (Mono(40_000 + 9_000)..=Mono(40_000 + 11_000)).contains(&pos),
            "{pos:?}"
        );
        assert!(sent.iter().any(|m| matches!(m, Msg::Readings(..))));

        control.send(Control::TogglePause).await.expect("send");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (at, paused) = last_at(&drain(&mut rx)).expect("the pause");
        assert!(paused && at >= pos);
        // Paused: nothing at all, however long.
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(drain(&mut rx).is_empty());

        // A seek back starts the state again and feeds it up to the new position.
        control.send(Control::Seek(-5)).await.expect("send");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let sent = drain(&mut rx);
        assert!(matches!(
            sent.first(),
            Some(Msg::Replay(Playback::Rewind { .. }))
        ));
        assert_eq!(
            last_at(&sent),
            Some((at - chrono::Duration::seconds(5), true))
        );
        let mut rp = Replayer::new(recording()).expect("replayer");
        for m in sent {
            rp.apply(m);
        }
        assert_eq!(rp.state.mono, at - chrono::Duration::seconds(5));
        drop(control);
        task.await.expect("the task ends with its control");
    }
}
