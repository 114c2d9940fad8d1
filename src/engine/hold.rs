//! Holds over days: has a condition held, without a break and while watched, for a whole
//! window counting back from now ("7 days of shadow mode under 0.1 % error")?
//!
//! Pure: a function of (the hold, the observations of every recording of the cutover and
//! of the live polls, now). Each observation carries its own time (the caller puts the
//! samples of one session on that session's monotonic clock); nothing here reads a clock.
//!
//! What counts, as a change manager signing a GO would read it:
//! - a sample that violates the condition breaks the hold; it starts again at the next
//!   sample that holds;
//! - a stretch without a good sample longer than `max_gap` (the dashboard closed for a
//!   night, a source down, a payload frozen at its old timestamp) does not count as held:
//!   the hold starts again after it;
//! - a poll without data is no observation (neither held nor broken); an `each` signal
//!   holds in a poll only when every row of it has a value and every value holds;
//! - the time held runs from the first good sample after the latest break to the latest
//!   good sample, and only while that sample is at most `max_gap` old.
//!
//! Memory is bounded: samples become runs (a stretch of good samples, a stretch of
//! violations), and a [`Track`] keeps only the current streak, its widest gap and the
//! latest break of each kind, however many days it has seen.

use crate::condition::{Condition, Op};
use crate::config::{Config, Hold};
use crate::sample::{Ts, Value};
use crate::timefmt::format_days_ms;
use serde::Serialize;

/// A hold as judged: its condition in the signal's unit, its window and gap in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldSpec {
    pub signal: String,
    pub cond: Condition,
    pub for_ms: i64,
    pub max_gap_ms: i64,
    /// The signal's unit, for the values shown.
    pub unit: Option<String>,
}

impl HoldSpec {
    /// `h` as `cfg` defines its signal: without `max_gap`, the signal's `stale_after`
    /// (three intervals of its source by default).
    pub fn of(cfg: &Config, h: &Hold) -> HoldSpec {
        let sig = cfg.signals.iter().find(|s| s.id == h.signal);
        let interval = sig
            .and_then(|s| cfg.sources.iter().find(|x| x.id == s.source))
            .map_or(60_000, |x| x.interval.as_ms());
        let stale = sig
            .and_then(|s| s.stale_after)
            .map_or(3 * interval, |d| d.as_ms());
        HoldSpec {
            signal: h.signal.clone(),
            cond: h.is.clone(),
            for_ms: h.for_.as_ms(),
            max_gap_ms: h.max_gap.map_or(stale, |d| d.as_ms()).max(1),
            unit: sig.and_then(|s| s.unit.clone()),
        }
    }

    /// `v2_err < 0.1 for 7d`.
    pub fn title(&self) -> String {
        format!(
            "{} {} for {}",
            self.signal,
            self.cond,
            format_days_ms(self.for_ms)
        )
    }
}

/// Every hold of every step, in step order: (step, hold index, spec).
pub fn specs(cfg: &Config) -> Vec<(usize, usize, HoldSpec)> {
    cfg.steps
        .iter()
        .enumerate()
        .flat_map(|(i, st)| {
            st.hold
                .iter()
                .enumerate()
                .map(move |(j, h)| (i, j, HoldSpec::of(cfg, h)))
        })
        .collect()
}

/// What one poll says about a hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    /// Every row had a value and every value held.
    Held,
    /// A row's value violated the condition (the worst one, and its row).
    Broken { value: Value, row: String },
    /// No observation: a row without data, or no row at all.
    Unseen,
}

/// The poll's rows of the hold's signal, each as (row label, its value scaled as the
/// screen shows it, or None without data), into one point.
pub fn point<'a>(
    cond: &Condition,
    rows: impl IntoIterator<Item = (&'a str, Option<&'a Value>)>,
) -> Point {
    let mut any = false;
    let mut missing = false;
    let mut worst: Option<(Value, String)> = None;
    for (row, v) in rows {
        any = true;
        match v {
            None => missing = true,
            Some(v) if cond.holds(v) => {}
            Some(v) => {
                if worst.as_ref().is_none_or(|(w, _)| worse(cond, v, w)) {
                    worst = Some((v.clone(), row.to_string()));
                }
            }
        }
    }
    match worst {
        Some((value, row)) => Point::Broken { value, row },
        None if any && !missing => Point::Held,
        None => Point::Unseen,
    }
}

/// Is `a` further on the wrong side of the condition than `b`?
fn worse(cond: &Condition, a: &Value, b: &Value) -> bool {
    match (cond.op, a.as_f64(), b.as_f64()) {
        (Op::Lt | Op::Le, Some(x), Some(y)) => x > y,
        (Op::Gt | Op::Ge, Some(x), Some(y)) => x < y,
        _ => false,
    }
}

/// A stretch without a sample: from when, how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub from: Ts,
    pub ms: i64,
}

impl Gap {
    fn wider(a: Option<Gap>, b: Option<Gap>) -> Option<Gap> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if b.ms > a.ms { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

/// A stretch of samples that violated the condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Broken {
    /// The first violating sample of the stretch: when the hold broke.
    pub at: Ts,
    /// The last one: the hold starts again after it.
    pub until: Ts,
    /// The worst value of the stretch, and its row.
    pub value: Value,
    pub row: String,
}

/// Samples in a row, as a track needs them.
#[derive(Debug, Clone, PartialEq)]
pub enum Run {
    /// Good samples from `from` to `to`, no two further apart than `max_gap`; `widest`
    /// the widest space between two of them.
    Held {
        from: Ts,
        to: Ts,
        widest: Option<Gap>,
    },
    Broken(Broken),
}

impl Run {
    pub fn from(&self) -> Ts {
        match self {
            Run::Held { from, .. } => *from,
            Run::Broken(b) => b.at,
        }
    }
}

/// Points into runs, merged as they come: what a recording keeps for a hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Runs {
    pub runs: Vec<Run>,
}

impl Runs {
    pub fn push(&mut self, spec: &HoldSpec, at: Ts, p: Point) {
        let last = self.runs.last_mut();
        match (p, last) {
            (Point::Unseen, _) => {}
            (Point::Held, Some(Run::Held { to, widest, .. }))
                if at >= *to && (at - *to).num_milliseconds() <= spec.max_gap_ms =>
            {
                let gap = Gap {
                    from: *to,
                    ms: (at - *to).num_milliseconds(),
                };
                *widest = Gap::wider(widest.take(), (gap.ms > 0).then_some(gap));
                *to = at;
            }
            (Point::Held, _) => self.runs.push(Run::Held {
                from: at,
                to: at,
                widest: None,
            }),
            (Point::Broken { value, row }, Some(Run::Broken(b))) if at >= b.until => {
                b.until = at;
                if worse(&spec.cond, &value, &b.value) {
                    b.value = value;
                    b.row = row;
                }
            }
            (Point::Broken { value, row }, _) => self.runs.push(Run::Broken(Broken {
                at,
                until: at,
                value,
                row,
            })),
        }
    }
}

/// A hold's standing, folded from runs in time order: O(1) whatever it has seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Track {
    /// The latest observation, good or bad.
    last: Option<Ts>,
    /// The first good sample of the unbroken streak (None: the latest observation broke
    /// it, or there was none).
    since: Option<Ts>,
    /// The latest good sample of the streak.
    good: Option<Ts>,
    /// The widest space between two samples of the streak.
    widest: Option<Gap>,
    /// The latest stretch of violations.
    broken: Option<Broken>,
    /// The latest stretch unwatched for longer than `max_gap`.
    unwatched: Option<Gap>,
    /// The latest good sample ever seen (sessions may overlap).
    latest_good: Option<Ts>,
}

impl Track {
    /// Runs of several recordings, in any order, folded in time order.
    pub fn of_runs(spec: &HoldSpec, mut runs: Vec<Run>) -> Track {
        runs.sort_by_key(Run::from);
        let mut t = Track::default();
        for r in &runs {
            t.feed(spec, r);
        }
        t
    }

    /// One poll's point at `at`.
    pub fn observe(&mut self, spec: &HoldSpec, at: Ts, p: Point) {
        match p {
            Point::Unseen => {}
            Point::Held => self.feed(
                spec,
                &Run::Held {
                    from: at,
                    to: at,
                    widest: None,
                },
            ),
            Point::Broken { value, row } => self.feed(
                spec,
                &Run::Broken(Broken {
                    at,
                    until: at,
                    value,
                    row,
                }),
            ),
        }
    }

    /// The next run. Runs of sessions that overlapped may come out of order: a run that
    /// starts before what was seen adds no gap, and a break seen by one session while
    /// another saw good samples after it restarts the streak from the break.
    pub fn feed(&mut self, spec: &HoldSpec, run: &Run) {
        match run {
            Run::Held { from, to, widest } => {
                self.last = self.last.max(Some(*to));
                self.latest_good = self.latest_good.max(Some(*to));
                match (self.since, self.good) {
                    (Some(_), Some(good)) => {
                        let gap = (*from - good).num_milliseconds();
                        if gap > spec.max_gap_ms {
                            self.unwatched = Some(Gap {
                                from: good,
                                ms: gap,
                            });
                            self.since = Some(*from);
                            self.widest = widest.clone();
                        } else {
                            let g = (gap > 0).then_some(Gap {
                                from: good,
                                ms: gap,
                            });
                            self.widest =
                                Gap::wider(Gap::wider(self.widest.take(), g), widest.clone());
                        }
                        self.good = Some(good.max(*to));
                    }
                    _ => {
                        // A first streak, or one after a break: never from before it.
                        let start = match &self.broken {
                            Some(b) if b.until > *from => b.until,
                            _ => *from,
                        };
                        self.since = Some(start);
                        self.widest = if start == *from { widest.clone() } else { None };
                        self.good = Some((*to).max(start));
                    }
                }
            }
            Run::Broken(b) => {
                let merged = match self.broken.take() {
                    // Two sessions' stretches of the same episode: one break.
                    Some(mut m) if m.until >= b.at && m.at <= b.until => {
                        m.at = m.at.min(b.at);
                        m.until = m.until.max(b.until);
                        if worse(&spec.cond, &b.value, &m.value) {
                            m.value = b.value.clone();
                            m.row = b.row.clone();
                        }
                        m
                    }
                    _ => b.clone(),
                };
                let until = merged.until;
                self.broken = Some(merged);
                self.last = self.last.max(Some(until));
                self.widest = None;
                match self.latest_good {
                    Some(g) if g > until => {
                        self.since = Some(until);
                        self.good = Some(g);
                    }
                    _ => {
                        self.since = None;
                        self.good = None;
                    }
                }
            }
        }
    }

    /// The verdict at `now` (on the same clock as the samples).
    pub fn verdict(&self, spec: &HoldSpec, now: Ts) -> HoldVerdict {
        let window_from = now - chrono::Duration::milliseconds(spec.for_ms);
        let open = self
            .good
            .filter(|g| (now - *g).num_milliseconds() > spec.max_gap_ms)
            .map(|g| Gap {
                from: g,
                ms: (now - g).num_milliseconds(),
            });
        let alive = self.since.is_some() && open.is_none();
        let held_ms = match (alive, self.since, self.good) {
            (true, Some(s), Some(g)) => (g - s).num_milliseconds().max(0),
            _ => 0,
        };
        let unwatched = open.clone().or_else(|| {
            self.unwatched
                .clone()
                .filter(|u| u.from + chrono::Duration::milliseconds(u.ms) >= window_from)
        });
        HoldVerdict {
            title: spec.title(),
            for_ms: spec.for_ms,
            max_gap_ms: spec.max_gap_ms,
            held_ms,
            since: self.since.filter(|_| alive),
            widest: self.widest.clone().filter(|_| alive),
            unwatched,
            open_gap: open.is_some(),
            broken: self
                .broken
                .clone()
                .filter(|b| b.until >= window_from || !alive),
            seen: self.last.is_some(),
            unit: spec.unit.clone(),
        }
    }
}

/// Where a hold stands at one moment: what the screen, the gate, `check` and the report
/// all show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldVerdict {
    /// `v2_err < 0.1 for 7d`.
    pub title: String,
    pub for_ms: i64,
    pub max_gap_ms: i64,
    /// How long it has held, unbroken and watched, up to its latest good sample.
    pub held_ms: i64,
    /// Since when (None while it does not hold now).
    pub since: Option<Ts>,
    /// The widest space between two samples of the streak (at most `max_gap`).
    pub widest: Option<Gap>,
    /// A stretch unwatched for longer than `max_gap` inside the window, or running now.
    pub unwatched: Option<Gap>,
    /// `unwatched` runs up to now: the latest good sample is older than `max_gap`.
    pub open_gap: bool,
    /// The latest violation inside the window (or the one that broke it, if it is
    /// still broken).
    pub broken: Option<Broken>,
    /// Any observation at all.
    pub seen: bool,
    #[serde(skip)]
    unit: Option<String>,
}

impl HoldVerdict {
    /// Held for its whole window.
    pub fn held(&self) -> bool {
        self.held_ms >= self.for_ms
    }

    /// `HELD`, `HOLDING`, `BROKEN`, `NOT WATCHED`, `NO DATA`.
    pub fn word(&self) -> &'static str {
        if self.held() {
            "HELD"
        } else if !self.seen {
            "NO DATA"
        } else if self.open_gap {
            "NOT WATCHED"
        } else if self.since.is_none() {
            "BROKEN"
        } else {
            "HOLDING"
        }
    }

    fn value(&self, v: &Value) -> String {
        v.with_unit(self.unit.as_deref())
    }

    /// The verdict in words: `held 3d04h of 7d · gap 1h12m at 03-02 02:13 · broken at
    /// 03-01 09:12 by 0.14%`. `wide` adds since when, the rows and the gap limit; the
    /// short form fits beside a step at 80 columns.
    pub fn text(&self, wide: bool) -> String {
        let when = |t: Ts| t.format("%m-%d %H:%M").to_string();
        let mut parts = Vec::new();
        if !self.seen {
            parts.push(format!("no data yet: 0 of {}", format_days_ms(self.for_ms)));
        } else if wide {
            let mut lead = format!(
                "held {} of {}",
                format_days_ms(self.held_ms),
                format_days_ms(self.for_ms)
            );
            if let Some(s) = self.since {
                lead.push_str(&format!(" (since {})", when(s)));
            }
            parts.push(lead);
        } else {
            parts.push(format!(
                "{}/{}",
                format_days_ms(self.held_ms),
                format_days_ms(self.for_ms)
            ));
        }
        match (&self.unwatched, self.open_gap) {
            (Some(g), true) if wide => parts.push(format!(
                "not watched since {} ({}, over the {} allowed)",
                when(g.from),
                format_days_ms(g.ms),
                format_days_ms(self.max_gap_ms)
            )),
            (Some(g), true) => parts.push(format!("unwatched {}", format_days_ms(g.ms))),
            (Some(g), false) if wide => parts.push(format!(
                "gap {} at {} (over the {} allowed)",
                format_days_ms(g.ms),
                when(g.from),
                format_days_ms(self.max_gap_ms)
            )),
            (Some(g), false) => parts.push(format!("gap {}", format_days_ms(g.ms))),
            (None, _) => {
                if let Some(g) = self.widest.as_ref().filter(|_| wide) {
                    parts.push(format!(
                        "widest gap {} at {}",
                        format_days_ms(g.ms),
                        when(g.from)
                    ));
                }
            }
        }
        if let Some(b) = &self.broken {
            if wide {
                let row = if b.row.is_empty() || b.row == self.title_signal() {
                    String::new()
                } else {
                    format!(" ({})", b.row)
                };
                parts.push(format!(
                    "broken at {} by {}{row}",
                    when(b.at),
                    self.value(&b.value)
                ));
            } else {
                parts.push(format!("broke {}", self.value(&b.value)));
            }
        }
        parts.join(" · ")
    }

    fn title_signal(&self) -> &str {
        self.title.split(' ').next().unwrap_or("")
    }

    /// Why a gate waiting for this hold cannot be GO yet, or None when it has held.
    pub fn short_of(&self) -> Option<String> {
        (!self.held()).then(|| format!("hold {}: {}", self.title, self.text(true)))
    }
}

/// The point of one poll for `spec`, from the engine's readings (raw values, scaled here
/// as the screen shows them), and how old its payload was (the oldest row's age): None
/// when the poll has no row of the hold's signal.
pub fn point_of_readings(
    cfg: &Config,
    spec: &HoldSpec,
    readings: &[super::RowReading],
) -> Option<(Point, i64)> {
    let si = cfg.signals.iter().position(|s| s.id == spec.signal)?;
    let scale = cfg.signals[si].scale;
    let mine: Vec<(&str, Option<Value>, i64)> = readings
        .iter()
        .filter(|r| r.signal == si)
        .map(|r| {
            let v = match &r.reading {
                crate::sample::Reading::Value(v) => Some(scaled(v, scale)),
                crate::sample::Reading::NoData { .. } => None,
            };
            (
                r.name.as_deref().unwrap_or(r.key.as_str()),
                v,
                r.age_ms.unwrap_or(0),
            )
        })
        .collect();
    if mine.is_empty() {
        return None;
    }
    let age = mine.iter().map(|(_, _, a)| *a).max().unwrap_or(0).max(0);
    let p = point(&spec.cond, mine.iter().map(|(n, v, _)| (*n, v.as_ref())));
    Some((p, age))
}

/// A raw number times the signal's `scale`, as the engine judges it.
pub fn scaled(v: &Value, scale: Option<f64>) -> Value {
    match (v, scale) {
        (Value::Num(n), Some(k)) => Value::Num(n * k),
        (v, _) => v.clone(),
    }
}

/// Every hold of a session: the past (what the cutover's recordings saw, read once at
/// start) folded with what this session polls. Times are the session's own: the wall
/// time at its start plus the monotonic time since, so a wall step inside the session
/// moves no sample.
#[derive(Debug, Clone)]
pub struct Book {
    specs: Vec<(usize, usize, HoldSpec)>,
    tracks: Vec<Track>,
    /// While the past is being read: this session's runs, folded after it.
    waiting: Option<Vec<Runs>>,
    anchor: crate::sample::Stamp,
    /// What the past was read from, once it was ("4 sessions in …").
    past: Option<String>,
}

impl Book {
    pub fn new(cfg: &Config, anchor: crate::sample::Stamp) -> Book {
        let specs = specs(cfg);
        Book {
            tracks: vec![Track::default(); specs.len()],
            specs,
            waiting: None,
            anchor,
            past: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// Every hold: (step, index in the step, spec), in step order.
    pub fn specs(&self) -> &[(usize, usize, HoldSpec)] {
        &self.specs
    }

    /// The past is being read: nothing is judged as held until it is folded in.
    pub fn await_past(&mut self) {
        if !self.specs.is_empty() {
            self.waiting = Some(vec![Runs::default(); self.specs.len()]);
        }
    }

    /// Is the past still being read?
    pub fn waiting(&self) -> bool {
        self.waiting.is_some()
    }

    /// What the past was read from, once it was.
    pub fn past(&self) -> Option<&str> {
        self.past.as_deref()
    }

    /// The past arrived: `runs[k]` for `specs()[k]`, from every recording; this session's
    /// own runs, kept while it was read, follow it. Only a book awaiting its past takes
    /// one (what it folded directly has no runs left to put after it).
    pub fn load_past(&mut self, runs: Vec<Vec<Run>>, what: String) {
        let Some(mine) = self.waiting.take() else {
            return;
        };
        for (k, (_, _, spec)) in self.specs.iter().enumerate() {
            let mut all = runs.get(k).cloned().unwrap_or_default();
            if let Some(m) = mine.get(k) {
                all.extend(m.runs.iter().cloned());
            }
            if let Some(t) = self.tracks.get_mut(k) {
                *t = Track::of_runs(spec, all);
            }
        }
        self.past = Some(what);
    }

    /// The session's time of a monotonic instant.
    pub fn at(&self, mono: crate::sample::Mono) -> Ts {
        self.anchor.at + (mono - self.anchor.mono)
    }

    /// One poll of this session, read into readings.
    pub fn observe(
        &mut self,
        cfg: &Config,
        poll: &super::PollSummary,
        readings: &[super::RowReading],
    ) {
        let Some(mono) = poll.mono else {
            return;
        };
        let base = self.at(mono);
        for (k, (_, _, spec)) in self.specs.iter().enumerate() {
            let Some((p, age)) = point_of_readings(cfg, spec, readings) else {
                continue;
            };
            let at = base - chrono::Duration::milliseconds(age);
            match self.waiting.as_mut().and_then(|w| w.get_mut(k)) {
                Some(runs) => runs.push(spec, at, p),
                None => {
                    if let Some(t) = self.tracks.get_mut(k) {
                        t.observe(spec, at, p);
                    }
                }
            }
        }
    }

    /// The verdict of `specs()[k]` at the monotonic instant `now`.
    pub fn verdict(&self, k: usize, now: crate::sample::Mono) -> Option<HoldVerdict> {
        let (_, _, spec) = self.specs.get(k)?;
        let now = self.at(now);
        match self.waiting.as_ref().and_then(|w| w.get(k)) {
            Some(runs) => Some(Track::of_runs(spec, runs.runs.clone()).verdict(spec, now)),
            None => Some(self.tracks.get(k)?.verdict(spec, now)),
        }
    }

    /// The verdicts of `step`'s holds, in the step's order.
    pub fn of_step(&self, step: usize, now: crate::sample::Mono) -> Vec<HoldVerdict> {
        (0..self.specs.len())
            .filter(|k| self.specs[*k].0 == step)
            .filter_map(|k| self.verdict(k, now))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    //! A seven-day hold judged in milliseconds: synthetic samples on a fake clock.
    use super::*;
    use chrono::TimeZone;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;

    fn t(ms: i64) -> Ts {
        chrono::Utc
            .timestamp_millis_opt(1_800_000_000_000 + ms)
            .single()
            .unwrap_or_default()
    }

    fn spec() -> HoldSpec {
        HoldSpec {
            signal: "v2_err".into(),
            cond: Condition::parse("< 0.1").unwrap(),
            for_ms: 7 * DAY,
            max_gap_ms: 15 * MIN,
            unit: Some("%".into()),
        }
    }

    fn num(x: f64) -> Value {
        Value::Num(x)
    }

    fn one(v: f64) -> Point {
        point(&spec().cond, [("v2_err", Some(&num(v)))])
    }

    /// A sample every minute from `from` to `to` (inclusive), valued by `f`.
    fn minutes(runs: &mut Runs, from: i64, to: i64, f: impl Fn(i64) -> f64) {
        let s = spec();
        let mut m = from;
        while m <= to {
            runs.push(&s, t(m), one(f(m)));
            m += MIN;
        }
    }

    fn judge(runs: Vec<Run>, now: i64) -> HoldVerdict {
        let s = spec();
        Track::of_runs(&s, runs).verdict(&s, t(now))
    }

    #[test]
    fn seven_days_of_good_samples_hold_in_full() {
        let mut r = Runs::default();
        minutes(&mut r, 0, 7 * DAY, |_| 0.05);
        assert_eq!(r.runs.len(), 1, "a week of good minutes is one run");
        let v = judge(r.runs, 7 * DAY + 30_000);
        assert!(v.held(), "{v:?}");
        assert_eq!(v.word(), "HELD");
        assert_eq!(v.held_ms, 7 * DAY);
        assert_eq!(v.since, Some(t(0)));
        assert!(
            v.text(true).starts_with("held 7d of 7d"),
            "{}",
            v.text(true)
        );
        assert!(v.text(true).contains("widest gap 1m"), "{}", v.text(true));
    }

    #[test]
    fn one_bad_sample_breaks_it_and_it_starts_again_after() {
        let mut r = Runs::default();
        let bad = 3 * DAY;
        minutes(&mut r, 0, 7 * DAY, |m| if m == bad { 0.14 } else { 0.05 });
        let v = judge(r.runs, 7 * DAY);
        assert!(!v.held());
        assert_eq!(v.word(), "HOLDING");
        assert_eq!(v.since, Some(t(bad + MIN)));
        assert_eq!(v.held_ms, 4 * DAY - MIN);
        let b = v.broken.clone().expect("the break is told");
        assert_eq!((b.at, b.value.clone()), (t(bad), num(0.14)));
        let text = v.text(true);
        assert!(text.starts_with("held 3d23h of 7d"), "{text}");
        assert!(text.contains("broken at"), "{text}");
        assert!(text.contains("by 0.14%"), "{text}");
        assert!(v.text(false).contains("broke 0.14%"), "{}", v.text(false));
    }

    #[test]
    fn a_gap_longer_than_max_gap_is_not_held() {
        let mut r = Runs::default();
        // Watched for six days, then nobody watched for 1h12m, then one more day.
        minutes(&mut r, 0, 6 * DAY, |_| 0.05);
        minutes(&mut r, 6 * DAY + 72 * MIN, 7 * DAY + 72 * MIN, |_| 0.05);
        let v = judge(r.runs, 7 * DAY + 72 * MIN);
        assert!(!v.held(), "{v:?}");
        assert_eq!(v.since, Some(t(6 * DAY + 72 * MIN)));
        assert_eq!(v.held_ms, DAY);
        let g = v.unwatched.clone().expect("the gap is told");
        assert_eq!((g.from, g.ms), (t(6 * DAY), 72 * MIN));
        let text = v.text(true);
        assert!(text.contains("gap 1h12m at"), "{text}");
        assert!(text.contains("over the 15m allowed"), "{text}");
    }

    #[test]
    fn a_gap_within_max_gap_still_holds() {
        let mut r = Runs::default();
        minutes(&mut r, 0, 3 * DAY, |_| 0.05);
        minutes(&mut r, 3 * DAY + 14 * MIN, 7 * DAY + 14 * MIN, |_| 0.05);
        let v = judge(r.runs, 7 * DAY + 14 * MIN);
        assert!(v.held(), "{v:?}");
        let w = v.widest.expect("the widest gap is told");
        assert_eq!((w.from, w.ms), (t(3 * DAY), 14 * MIN));
    }

    #[test]
    fn samples_stopping_leave_it_unwatched_not_held() {
        let mut r = Runs::default();
        minutes(&mut r, 0, 7 * DAY, |_| 0.05);
        // Nothing for an hour after the last sample: not held now, whatever came before.
        let v = judge(r.runs, 7 * DAY + HOUR);
        assert!(!v.held());
        assert_eq!(v.word(), "NOT WATCHED");
        assert!(v.open_gap);
        assert!(
            v.text(true).contains("not watched since"),
            "{}",
            v.text(true)
        );
    }

    #[test]
    fn recordings_and_live_samples_fold_together_in_time_order() {
        let s = spec();
        // Three sessions on days 0–3, 3–5 (10 minutes after), and live from day 5, given
        // out of order: the judge sorts them.
        let mut a = Runs::default();
        minutes(&mut a, 0, 3 * DAY, |_| 0.05);
        let mut b = Runs::default();
        minutes(&mut b, 3 * DAY + 10 * MIN, 5 * DAY, |_| 0.05);
        let mut runs = b.runs;
        runs.extend(a.runs);
        let mut track = Track::of_runs(&s, runs);
        assert!(!track.verdict(&s, t(5 * DAY)).held());
        let mut m = 5 * DAY + 5 * MIN;
        while m <= 7 * DAY + 10 * MIN {
            track.observe(&s, t(m), one(0.05));
            m += MIN;
        }
        let v = track.verdict(&s, t(7 * DAY + 10 * MIN));
        assert!(v.held(), "{v:?}");
        assert_eq!(v.since, Some(t(0)));
        assert_eq!(v.widest.map(|g| g.ms), Some(10 * MIN));
    }

    #[test]
    fn overlapping_sessions_never_hide_a_break() {
        let s = spec();
        let mut a = Runs::default();
        minutes(&mut a, 0, 7 * DAY, |_| 0.05);
        // A second screen recorded the same week and saw one bad minute on day 6.
        let mut b = Runs::default();
        minutes(&mut b, 6 * DAY, 6 * DAY + 2 * MIN, |m| {
            if m == 6 * DAY + MIN {
                0.3
            } else {
                0.05
            }
        });
        let mut runs = a.runs;
        runs.extend(b.runs);
        let v = Track::of_runs(&s, runs).verdict(&s, t(7 * DAY));
        assert!(!v.held(), "{v:?}");
        assert!(v.broken.is_some());
        assert!(v.held_ms <= DAY, "{v:?}");
    }

    #[test]
    fn an_each_signal_holds_only_when_every_row_does() {
        let c = spec().cond;
        let (a, b) = (num(0.05), num(0.2));
        assert_eq!(point(&c, [("/a", Some(&a)), ("/b", Some(&a))]), Point::Held);
        assert_eq!(
            point(&c, [("/a", Some(&a)), ("/b", Some(&b))]),
            Point::Broken {
                value: b.clone(),
                row: "/b".into()
            }
        );
        // A row without data: not an observation, and not a break.
        assert_eq!(point(&c, [("/a", Some(&a)), ("/b", None)]), Point::Unseen);
        // The worst row is the one told.
        let worst = num(0.9);
        assert_eq!(
            point(&c, [("/a", Some(&b)), ("/b", Some(&worst))]),
            Point::Broken {
                value: worst,
                row: "/b".into()
            }
        );
        assert_eq!(point(&c, []), Point::Unseen);
    }

    #[test]
    fn no_data_at_all_is_never_held() {
        let v = judge(Vec::new(), 7 * DAY);
        assert!(!v.held());
        assert_eq!(v.word(), "NO DATA");
        assert_eq!(v.text(true), "no data yet: 0 of 7d");
        // Polls that never had a value are no data too.
        let mut r = Runs::default();
        for m in 0..100 {
            r.push(&spec(), t(m * MIN), point(&spec().cond, [("v2_err", None)]));
        }
        assert!(r.runs.is_empty());
    }

    #[test]
    fn only_the_samples_own_times_count_never_the_order_they_arrive_in() {
        let s = spec();
        // The same week of samples, fed in reverse: a sample older than the latest is no
        // gap, and the verdict is the same as in order.
        let mut fwd = Track::default();
        let mut rev = Track::default();
        let n = 7 * 24 * 60;
        for i in 0..=n {
            fwd.observe(&s, t(i * MIN), one(0.05));
        }
        for i in (0..=n).rev() {
            rev.observe(&s, t(i * MIN), one(0.05));
        }
        let now = t(7 * DAY);
        assert!(fwd.verdict(&s, now).held());
        // Reversed, each sample precedes the one before it: no span is learnt, and
        // nothing claims more than was seen.
        assert!(rev.verdict(&s, now).held_ms <= 7 * DAY);
        // A verdict asked for at a `now` before the samples (a clock stepped back) claims
        // nothing it has not seen.
        let early = fwd.verdict(&s, t(DAY));
        assert!(early.held_ms <= 7 * DAY);
    }

    #[test]
    fn a_break_in_the_past_beyond_the_window_is_not_told() {
        let mut r = Runs::default();
        minutes(&mut r, 0, 10 * DAY, |m| if m == DAY { 0.5 } else { 0.05 });
        let v = judge(r.runs, 10 * DAY);
        assert!(v.held());
        assert!(v.broken.is_none(), "{v:?}");
    }
}
