//! Holds over the cutover's recordings: the sessions `--record` wrote (one file each in
//! the cutover's state directory, or a file given) read into each hold's runs, streamed
//! line by line so a week of samples never sits in memory at once. The engine
//! (`engine::hold`) judges them; the screen, `check` and the report use the same runs.
//!
//! A session counts only when it is of this cutover and this environment (a staging
//! rehearsal never counts for production), and never the session reading them.

use crate::config::Config;
use crate::engine::hold::{point, scaled, HoldSpec, HoldVerdict, Run, Runs, Track};
use crate::record::{CappedLines, Line, RawLine, Rec, Recording, RowLine, MAX_LINE_BYTES};
use crate::sample::{Mono, Ts};
use std::path::{Path, PathBuf};

/// What the recordings hold for every hold: `runs[k]` for `specs[k]`.
#[derive(Debug, Clone, Default)]
pub struct Past {
    pub runs: Vec<Vec<Run>>,
    /// Sessions whose samples count.
    pub sessions: usize,
    /// Sessions left out: another cutover or environment.
    pub ignored: usize,
    /// Files that could not be read, each with why.
    pub problems: Vec<String>,
}

impl Past {
    /// `3 recorded sessions (1 of another environment left out)`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} recorded session{}",
            self.sessions,
            if self.sessions == 1 { "" } else { "s" }
        );
        if self.ignored > 0 {
            s.push_str(&format!(
                " ({} of another cutover or environment left out)",
                self.ignored
            ));
        }
        s
    }
}

/// Why a session's samples do not count.
enum Skip {
    /// Another cutover or environment.
    Other,
    /// The reading session's own file: its samples arrive live, and it is not "left out".
    Own,
}

/// One session's lines into runs, against the holds of the config judging them.
struct SessionRuns<'a> {
    specs: &'a [(usize, usize, HoldSpec)],
    /// The session's own config: how its rows' raw values scale.
    cfg: Config,
    /// The session's start: its samples are placed on its monotonic clock from here.
    anchor: (Ts, Option<Mono>),
    runs: Vec<Runs>,
}

impl<'a> SessionRuns<'a> {
    /// A session from its header, if it counts for `cfg` (`own`: the reading session).
    fn start(
        header: &Line,
        cfg: &Config,
        specs: &'a [(usize, usize, HoldSpec)],
        own: Option<&str>,
    ) -> Option<Result<Self, Skip>> {
        let Line::Header {
            at,
            mono,
            cutover,
            environment,
            session,
            ..
        } = header
        else {
            return None;
        };
        let env = environment
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .unwrap_or(crate::config::DEFAULT_ENVIRONMENT);
        if cutover != &cfg.cutover.name || env != cfg.cutover.environment_name() {
            return Some(Err(Skip::Other));
        }
        if own.is_some() && session.as_deref() == own {
            return Some(Err(Skip::Own));
        }
        let rec = Recording {
            lines: vec![header.clone()],
            ..Recording::default()
        };
        let own_cfg = rec.config().ok()?;
        Some(Ok(SessionRuns {
            specs,
            cfg: own_cfg,
            anchor: (*at, *mono),
            runs: vec![Runs::default(); specs.len()],
        }))
    }

    /// The session's time of a line: its start plus the monotonic time since (a wall
    /// step inside the session moves nothing), or its wall time when it has no
    /// monotonic time.
    fn time(&self, at: Ts, mono: Option<Mono>) -> Ts {
        match (self.anchor.1, mono) {
            (Some(a), Some(m)) => self.anchor.0 + (m - a),
            _ => at,
        }
    }

    fn line(&mut self, line: &Line) {
        let Line::Poll { poll, rows } = line else {
            return;
        };
        let base = self.time(poll.at, poll.mono);
        for (k, (_, _, spec)) in self.specs.iter().enumerate() {
            let scale = self
                .cfg
                .signals
                .iter()
                .find(|s| s.id == spec.signal)
                .and_then(|s| s.scale);
            let mine: Vec<&RowLine> = rows.iter().filter(|r| r.signal == spec.signal).collect();
            if mine.is_empty() {
                continue;
            }
            let values: Vec<(&str, Option<crate::sample::Value>)> = mine
                .iter()
                .map(|r| {
                    (
                        r.name.as_deref().unwrap_or(r.key.as_str()),
                        r.value.as_ref().map(|v| scaled(v, scale)),
                    )
                })
                .collect();
            let age = mine
                .iter()
                .filter_map(|r| r.age_ms)
                .max()
                .unwrap_or(0)
                .max(0);
            let p = point(&spec.cond, values.iter().map(|(n, v)| (*n, v.as_ref())));
            if let Some(runs) = self.runs.get_mut(k) {
                runs.push(spec, base - chrono::Duration::milliseconds(age), p);
            }
        }
    }

    fn finish(self, past: &mut Past) {
        past.sessions += 1;
        for (k, r) in self.runs.into_iter().enumerate() {
            if let Some(all) = past.runs.get_mut(k) {
                all.extend(r.runs);
            }
        }
    }
}

/// The recordings of `cfg`'s cutover that holds read: every `*.jsonl` in its sessions
/// folder of the state directory, and `also` (a `--record FILE` that may hold earlier
/// sessions), in name order.
pub fn files(cfg: &Config, also: Option<&Path>) -> Vec<PathBuf> {
    let some_time = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let dir = crate::record::session_path(cfg, some_time)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    if let Some(p) = also.filter(|p| p.is_file()) {
        if !out.iter().any(|f| f == p) {
            out.push(p.to_path_buf());
        }
    }
    out
}

/// Every counting session of `files`, streamed, into runs for `cfg`'s holds. `own`: the
/// reading session's id, left out (its samples arrive live). Unreadable lines are
/// skipped as `report` skips them; an unreadable file is named in `problems`.
pub fn read_past(cfg: &Config, files: &[PathBuf], own: Option<&str>) -> Past {
    let specs = crate::engine::hold::specs(cfg);
    let mut past = Past {
        runs: vec![Vec::new(); specs.len()],
        ..Past::default()
    };
    if specs.is_empty() {
        return past;
    }
    for f in files {
        if let Err(e) = read_file(cfg, &specs, f, own, &mut past) {
            past.problems.push(format!("{}: {e}", f.display()));
        }
    }
    past
}

fn read_file(
    cfg: &Config,
    specs: &[(usize, usize, HoldSpec)],
    path: &Path,
    own: Option<&str>,
    past: &mut Past,
) -> std::io::Result<()> {
    let file = std::fs::File::open(path)?;
    let mut lines = CappedLines::new(std::io::BufReader::new(file), MAX_LINE_BYTES);
    let mut cur: Option<SessionRuns> = None;
    while let Some((_, raw, _)) = lines.next_line()? {
        let RawLine::Text(bytes) = raw else { continue };
        let Ok(rec) = serde_json::from_slice::<Rec>(&bytes) else {
            continue;
        };
        if rec.v != crate::record::FORMAT_VERSION {
            continue;
        }
        if matches!(rec.line, Line::Header { .. }) {
            if let Some(s) = cur.take() {
                s.finish(past);
            }
            match SessionRuns::start(&rec.line, cfg, specs, own) {
                Some(Ok(s)) => cur = Some(s),
                Some(Err(Skip::Other)) => past.ignored += 1,
                Some(Err(Skip::Own)) => {}
                None => {}
            }
            continue;
        }
        if let Some(s) = cur.as_mut() {
            s.line(&rec.line);
        }
    }
    if let Some(s) = cur.take() {
        s.finish(past);
    }
    Ok(())
}

/// Each hold of `cfg`, judged over `recs` (sessions already read, e.g. by `report`) at
/// the end of the latest of them: (step, verdict), in step order.
pub fn judge_recordings(cfg: &Config, recs: &[&Recording]) -> Vec<(usize, HoldVerdict)> {
    let specs = crate::engine::hold::specs(cfg);
    if specs.is_empty() {
        return Vec::new();
    }
    let mut past = Past {
        runs: vec![Vec::new(); specs.len()],
        ..Past::default()
    };
    let mut end: Option<Ts> = None;
    for rec in recs {
        let Some(header) = rec.header() else { continue };
        let Some(Ok(mut s)) = SessionRuns::start(header, &rec_cfg_view(cfg, header), &specs, None)
        else {
            continue;
        };
        for line in rec.lines.iter().skip(1) {
            s.line(line);
            if let Some(at) = line.at() {
                let t = s.time(at, line.mono());
                end = end.max(Some(t));
            }
        }
        s.finish(&mut past);
    }
    let Some(now) = end else {
        return specs
            .iter()
            .map(|(step, _, spec)| (*step, Track::default().verdict(spec, Ts::UNIX_EPOCH)))
            .collect();
    };
    specs
        .iter()
        .enumerate()
        .map(|(k, (step, _, spec))| {
            let runs = past.runs.get(k).cloned().unwrap_or_default();
            (*step, Track::of_runs(spec, runs).verdict(spec, now))
        })
        .collect()
}

/// The report reads the sessions it was given, whatever cutover name they carry: `cfg`
/// as seen from a session's header, so only the environment filter (done by the report)
/// decides.
fn rec_cfg_view(cfg: &Config, header: &Line) -> Config {
    let mut c = cfg.clone();
    if let Line::Header {
        cutover,
        environment,
        ..
    } = header
    {
        c.cutover.name = cutover.clone();
        c.cutover.environment = environment.clone();
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = r#"
[cutover]
name = "shadow"
environment = "production"
[[source]]
id = "m"
kind = "http"
url = "http://127.0.0.1:1/m"
interval = "1m"
[[signal]]
id = "v2_err"
source = "m"
kind = "metric"
path = ".err"
unit = "%"
scale = 100
[[step]]
at = "0"
title = "Cutover"
hold = [{ signal = "v2_err", is = "< 0.1", for = "2h", max_gap = "15m" }]
"#;

    fn cfg(env: &str) -> Config {
        let text = CFG.replace("production", env);
        crate::config::load_str_with_env(&text, "t.toml", &|_| None).expect("config")
    }

    /// A session of minutes `from..=to` (of a fixed day) with raw error fraction `err`.
    fn session(cfg: &Config, id: &str, from: i64, to: i64, err: f64) -> String {
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let at = |m: i64| t0 + chrono::Duration::minutes(m);
        let mut out = String::new();
        let mut put = |l: Line| {
            let rec = Rec { v: 1, line: l };
            out.push_str(&serde_json::to_string(&rec).expect("json"));
            out.push('\n');
        };
        put(Line::Header {
            at: at(from),
            warroom: "t".into(),
            host: "h".into(),
            user: "u".into(),
            cutover: cfg.cutover.name.clone(),
            environment: cfg.cutover.environment.clone(),
            t0: None,
            session: Some(id.into()),
            rev: 1,
            config: serde_json::to_value(cfg).expect("json"),
            // An arbitrary monotonic origin per session.
            mono: Some(Mono(5_000)),
        });
        for m in from..=to {
            put(Line::Poll {
                poll: crate::engine::PollSummary {
                    source: "m".into(),
                    // The wall clock stepped an hour forward mid-session: the monotonic
                    // time decides.
                    at: at(m) + chrono::Duration::hours(if m > from + 30 { 1 } else { 0 }),
                    latency_ms: 1,
                    status: Some(200),
                    error: None,
                    warning: None,
                    mono: Some(Mono(5_000 + (m - from) * 60_000)),
                },
                rows: vec![RowLine {
                    key: "v2_err".into(),
                    signal: "v2_err".into(),
                    name: None,
                    critical: false,
                    value: Some(crate::sample::Value::Num(err)),
                    no_data: None,
                    reason: None,
                    age_ms: None,
                }],
            });
        }
        out
    }

    #[test]
    fn sessions_of_another_environment_or_the_reading_one_never_count() {
        let dir = tempfile::tempdir().expect("tmp");
        let prod = cfg("production");
        let staging = cfg("staging");
        let a = dir.path().join("a.jsonl");
        std::fs::write(&a, session(&prod, "s1", 0, 60, 0.0005)).expect("write");
        let b = dir.path().join("b.jsonl");
        std::fs::write(&b, session(&staging, "s2", 70, 200, 0.0005)).expect("write");
        let c = dir.path().join("c.jsonl");
        std::fs::write(&c, session(&prod, "me", 70, 200, 0.0005)).expect("write");
        let past = read_past(&prod, &[a, b, c], Some("me"));
        // Only the staging one is "left out": the reading session's own is not another's.
        assert_eq!((past.sessions, past.ignored), (1, 1), "{past:?}");
        assert_eq!(
            past.summary(),
            "1 recorded session (1 of another cutover or environment left out)"
        );
        assert_eq!(past.runs[0].len(), 1);
        // One hour of samples, the wall step inside ignored: 60 minutes held, not 120.
        let spec = &crate::engine::hold::specs(&prod)[0].2;
        let Run::Held { from, to, .. } = &past.runs[0][0] else {
            panic!("{:?}", past.runs[0]);
        };
        assert_eq!((*to - *from).num_minutes(), 60);
        let v = Track::of_runs(spec, past.runs[0].clone()).verdict(spec, *to);
        assert_eq!(v.held_ms, 3_600_000);
    }

    #[test]
    fn a_scaled_value_is_judged_as_the_screen_shows_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let prod = cfg("production");
        let a = dir.path().join("a.jsonl");
        // 0.0014 as a fraction is 0.14 %: over the 0.1 % of the hold.
        std::fs::write(&a, session(&prod, "s1", 0, 10, 0.0014)).expect("write");
        let past = read_past(&prod, &[a], None);
        let Run::Broken(b) = &past.runs[0][0] else {
            panic!("{:?}", past.runs[0]);
        };
        assert!(
            (b.value.as_f64().unwrap_or(0.0) - 0.14).abs() < 1e-9,
            "{b:?}"
        );
    }
}
