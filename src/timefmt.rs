//! Every text form of a length of time, in one place: the durations a config is written
//! in (`500ms`, `1m30s`) and the offsets from T0 (`-15m`, `+48h`) it accepts; and what the
//! screen, the report, `check` and the messages show — durations, ages (`1m12s`), the
//! T-clock (`T-04:12`), countdowns (`04:12`), clock steps (`+1h00m`) and wall times
//! (`20:41:07`).
//!
//! A caller that needs a form of its own gets a named function here (the events panel
//! writes `45 ms`, `check` rounds to a tenth of a second, a clock step always shows its
//! sign), so no module spells a length of time by itself.
//!
//! ```
//! use std::time::Duration;
//! use warroom::timefmt::*;
//! assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
//! assert_eq!(parse_offset("-15m"), Ok(-900_000));
//! assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
//! assert_eq!(format_secs(72), "1m12s");
//! assert_eq!(format_age_secs(45), "45s");
//! assert_eq!(format_age_secs(150), "2m");
//! assert_eq!(format_age_secs(3_930), "1h05m");
//! assert_eq!(format_offset(5_400_000), "+1h30m");
//! assert_eq!(format_t_offset(-900_000), "T-15m");
//! assert_eq!(format_t_clock(Some(-252_000)), "T-04:12");
//! assert_eq!(format_t_clock(None), "T0 not set");
//! assert_eq!(countdown(3_723_000), "1:02:03");
//! assert_eq!(format_clock_step(-3_600_000), "-1h00m");
//! ```

use crate::sample::{Mono, Ts};
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Reading what a config or a flag says

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a duration; write a number and a unit, e.g. `500ms`, `5s`, `15m`, `48h`")]
pub struct DurationError {
    pub input: String,
}

/// Parses `500ms`, `5s`, `1m30s`, `15m`, `48h`, `2d`. A bare `0` is allowed.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let err = || DurationError {
        input: s.to_string(),
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(err());
    }
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total_ms: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if num_end == 0 {
            return Err(err());
        }
        let num: f64 = rest[..num_end].parse().map_err(|_| err())?;
        let after = &rest[num_end..];
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let unit = &after[..unit_end];
        let mult: f64 = match unit {
            "ms" => 1.0,
            "s" | "sec" | "secs" => 1_000.0,
            "m" | "min" | "mins" => 60_000.0,
            "h" | "hr" | "hrs" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return Err(err()),
        };
        let ms = num * mult;
        if !ms.is_finite() || !(0.0..=1e15).contains(&ms) {
            return Err(err());
        }
        total_ms += ms.round() as u128;
        rest = &after[unit_end..];
    }
    Ok(Duration::from_millis(total_ms as u64))
}

/// Parses a signed offset from T0 in milliseconds: `-15m`, `+30m`, `0`, `48h` (unsigned
/// means after T0).
pub fn parse_offset(s: &str) -> Result<i64, DurationError> {
    let t = s.trim();
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1i64, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let d = parse_duration(body).map_err(|_| DurationError {
        input: s.to_string(),
    })?;
    Ok(sign * d.as_millis() as i64)
}

// ---------------------------------------------------------------------------------------
// Durations

/// `5s`, `1m30s`, `2h`, `450ms`: the short form used on screen and in messages.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    match s {
        0..=59 if !ms.is_multiple_of(1000) => format!("{:.1}s", ms as f64 / 1000.0),
        0..=59 => format!("{s}s"),
        60..=3599 if s.is_multiple_of(60) => format!("{}m", s / 60),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A length of time that may last days: `7d`, `3d04h` (minutes dropped past a day, as
/// a window of days is read), under a day as [`format_duration`] (`1h12m`, `15m`).
pub fn format_days(d: Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        return "0s".into();
    }
    if s < 86_400 {
        // Whole seconds: a window of days is not read to the millisecond.
        return format_duration(Duration::from_secs(s));
    }
    let (days, h) = (s / 86_400, (s % 86_400) / 3600);
    if h == 0 {
        format!("{days}d")
    } else {
        format!("{days}d{h:02}h")
    }
}

/// [`format_days`] of a span in milliseconds; nothing below zero.
pub fn format_days_ms(ms: i64) -> String {
    format_days(Duration::from_millis(ms.max(0) as u64))
}

/// As [`format_duration`], rounded to a tenth of a second first (`check`'s source
/// lines): `1.2s`, not `1.234s`.
pub fn format_duration_tenths(d: Duration) -> String {
    format_duration(Duration::from_millis(
        (d.as_millis() as u64 + 50) / 100 * 100,
    ))
}

/// As a config would write it, exactly: `5s`, or `1500ms` when not whole seconds (a
/// recording's config reads like the file, and reads back the same).
pub fn format_exact(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// How long an action took, in the events panel's style: `45 ms` (with a space, unlike
/// [`format_duration`]), `1.0s` to a tenth under a minute, then `2m05s` in whole seconds.
pub fn format_elapsed_ms(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format_duration(Duration::from_secs(ms / 1000))
    }
}

// ---------------------------------------------------------------------------------------
// Spans and ages, in whole seconds

/// Whole seconds as `0s`, `45s`, `1m12s`, `2h05m`; nothing below zero is shown.
pub fn format_secs(secs: i64) -> String {
    if secs <= 0 {
        return "0s".into();
    }
    format_duration(Duration::from_secs(secs as u64))
}

/// A span of time in whole seconds (`1m12s`), for "in band for …" texts; a part second
/// is dropped.
pub fn format_span(d: chrono::Duration) -> String {
    format_secs(d.num_seconds())
}

/// A span given in milliseconds, to the nearest second: a 3 s window seen from 9 ms in
/// is `3s`, not `2s`.
pub fn format_span_nearest_ms(ms: i64) -> String {
    format_span(chrono::Duration::milliseconds(ms + 500))
}

/// The age of `then` at `now`, both on the monotonic clock (a wall-clock step moves no
/// age), never negative: to the second under a minute (`45s`), then in whole minutes
/// (`1m`, `59m`), then hours and minutes (`1h05m`). An age on screen changes its text at
/// most once a minute past the first, so a screen of rows in band for minutes is not
/// rewritten every second; staleness is judged by the engine to the millisecond and
/// shown as a state of its own, never read off this text.
pub fn age(now: Mono, then: Mono) -> String {
    format_age_secs((now - then).num_seconds())
}

/// The age of `then` at `now` to the second (`1m12s`): for a view of one row opened on
/// demand (the detail view), where the screen at rest is not what is being read.
pub fn age_exact(now: Mono, then: Mono) -> String {
    format_span(now - then)
}

/// Whole seconds as an age: `0s`, `45s`, `1m`, `59m`, `1h`, `1h05m` (see [`age`]).
pub fn format_age_secs(secs: i64) -> String {
    match secs {
        ..=59 => format_secs(secs),
        60..=3599 => format!("{}m", secs / 60),
        _ => format_secs(secs / 60 * 60),
    }
}

// ---------------------------------------------------------------------------------------
// Offsets from T0 and the T-clock

/// `-15m`, `+1h30m`, `0`: an offset from T0 in the duration style.
pub fn format_offset(ms: i64) -> String {
    if ms == 0 {
        return "0".into();
    }
    let sign = if ms < 0 { "-" } else { "+" };
    format!(
        "{sign}{}",
        format_duration(Duration::from_millis(ms.unsigned_abs()))
    )
}

/// An offset as a config would write it, exactly, always signed: `+0s`, `-900s`,
/// `+1500ms` (see [`format_exact`]).
pub fn format_offset_exact(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "+" };
    format!(
        "{sign}{}",
        format_exact(Duration::from_millis(ms.unsigned_abs()))
    )
}

/// Past this many hours an offset on the timeline is written in days (`T+99h`, then
/// `T+4d4h`); a clock counts days from the first whole day (`T+23:59:59`, then
/// `T+1d00:00:00`), so it never needs more than two digits of hours.
const OFFSET_HOURS_MAX: i64 = 99;

/// `T-15m`, `T0`, `T+30m`: a step's time on the timeline, read the same as the T-clock.
/// Past 99 hours in days: `T+7d`, `T-28d`, `T+6d12h` (not `T+1008h`).
pub fn format_t_offset(ms: i64) -> String {
    if ms == 0 {
        return "T0".into();
    }
    let secs = ms.unsigned_abs() / 1000;
    if secs / 3600 <= OFFSET_HOURS_MAX as u64 {
        return format!("T{}", format_offset(ms));
    }
    let sign = if ms < 0 { '-' } else { '+' };
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    let mut out = format!("T{sign}{d}d");
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out
}

/// `T-04:12`, `T+17:45`, `T+5:02:10` past an hour, `T+3d04:12:05` past a day (a cutover
/// of weeks reads in days, never in hundreds of hours); `T0 not set` without T0. Before T0 it counts down the whole seconds remaining (rounded up),
/// after it counts up (down).
pub fn format_t_clock(offset_ms: Option<i64>) -> String {
    let Some(ms) = offset_ms else {
        return "T0 not set".into();
    };
    let (sign, secs) = if ms < 0 {
        ('-', (-ms + 999) / 1000)
    } else {
        ('+', ms / 1000)
    };
    format!("T{sign}{}", clock(secs))
}

/// A countdown as `04:12`, `1:02:03` or `6d23:00:00`, rounding up so it never shows 00:00
/// early.
pub fn countdown(ms: i64) -> String {
    clock((ms.max(0) + 999) / 1000)
}

/// `MM:SS`, `H:MM:SS` from an hour on, `DdHH:MM:SS` from a day on.
fn clock(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h >= 24 {
        format!("{}d{:02}:{m:02}:{s:02}", h / 24, h % 24)
    } else if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// `+1h00m`, `-10s`, `+2m05s`: a step of the wall clock, to the nearest second, always
/// signed and, past an hour, with its minutes (unlike [`format_offset`]).
pub fn format_clock_step(ms: i64) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let s = (ms.unsigned_abs() + 500) / 1000;
    match s {
        0..=59 => format!("{sign}{s}s"),
        60..=3599 => format!("{sign}{}m{:02}s", s / 60, s % 60),
        _ => format!("{sign}{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

// ---------------------------------------------------------------------------------------
// Wall-clock times

/// `HH:MM:SS` in UTC (the audit log's zone).
pub fn hms(t: Ts) -> String {
    t.format("%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn days_read_as_days() {
        let h = |n: u64| Duration::from_secs(n * 3600);
        assert_eq!(format_days(h(7 * 24)), "7d");
        assert_eq!(
            format_days(h(3 * 24 + 4) + Duration::from_secs(59 * 60)),
            "3d04h"
        );
        assert_eq!(format_days(Duration::from_secs(4320)), "1h12m");
        assert_eq!(format_days(Duration::from_secs(900)), "15m");
        assert_eq!(format_days_ms(-5), "0s");
        assert_eq!(format_days_ms(1_500), "1s");
    }

    #[test]
    fn parses_human_durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(
            parse_duration("48h").unwrap(),
            Duration::from_secs(48 * 3600)
        );
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(
            parse_duration(" 2d ").unwrap(),
            Duration::from_secs(172_800)
        );
    }

    #[test]
    fn rejects_bad_durations() {
        for bad in ["", "5", "s", "5 parsecs", "-5s", "5x", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should fail");
        }
        assert_eq!(
            parse_duration("5x").unwrap_err().to_string(),
            "`5x` is not a duration; write a number and a unit, e.g. `500ms`, `5s`, `15m`, `48h`"
        );
    }

    #[test]
    fn parses_offsets() {
        assert_eq!(parse_offset("-15m").unwrap(), -900_000);
        assert_eq!(parse_offset("+30m").unwrap(), 1_800_000);
        assert_eq!(parse_offset("0").unwrap(), 0);
        assert_eq!(parse_offset("48h").unwrap(), 48 * 3_600_000);
        // The error names what was written, sign included.
        assert_eq!(parse_offset("-x").unwrap_err().input, "-x");
    }

    #[test]
    fn formats_short_forms() {
        assert_eq!(format_duration(Duration::from_millis(450)), "450ms");
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(7500)), "2h05m");
        assert_eq!(format_offset(-900_000), "-15m");
        assert_eq!(format_offset(5_400_000), "+1h30m");
        assert_eq!(format_offset(0), "0");
    }

    #[test]
    fn named_variants_keep_their_callers_forms() {
        assert_eq!(format_duration_tenths(Duration::from_millis(1234)), "1.2s");
        assert_eq!(format_duration_tenths(Duration::from_millis(960)), "1s");
        assert_eq!(format_duration_tenths(Duration::from_millis(449)), "400ms");
        assert_eq!(format_exact(Duration::from_secs(90)), "90s");
        assert_eq!(format_exact(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_offset_exact(-900_000), "-900s");
        assert_eq!(format_offset_exact(0), "+0s");
        assert_eq!(format_offset_exact(250), "+250ms");
        assert_eq!(format_elapsed_ms(45), "45 ms");
        assert_eq!(format_elapsed_ms(1_000), "1.0s");
        assert_eq!(format_elapsed_ms(1_234), "1.2s");
        assert_eq!(format_elapsed_ms(125_900), "2m05s");
    }

    #[test]
    fn spans_and_ages_are_whole_seconds_never_negative() {
        assert_eq!(format_secs(72), "1m12s");
        assert_eq!(format_secs(0), "0s");
        assert_eq!(format_secs(-5), "0s");
        assert_eq!(format_span(chrono::Duration::milliseconds(1_999)), "1s");
        assert_eq!(format_span(chrono::Duration::milliseconds(-3_000)), "0s");
        assert_eq!(format_span(chrono::Duration::seconds(7_500)), "2h05m");
        assert_eq!(format_span_nearest_ms(2_991), "3s");
        assert_eq!(format_span_nearest_ms(2_499), "2s");
        assert_eq!(age(Mono(1_000), Mono(9_000)), "0s");
    }

    #[test]
    fn ages_count_seconds_for_a_minute_then_whole_minutes() {
        assert_eq!(age(Mono(62_999), Mono(4_000)), "58s");
        assert_eq!(age(Mono(63_999), Mono(4_000)), "59s");
        // Past a minute the text changes once a minute: a part minute is dropped.
        assert_eq!(age(Mono(64_000), Mono(4_000)), "1m");
        assert_eq!(age(Mono(75_500), Mono(3_000)), "1m");
        assert_eq!(age(Mono(3_599_999), Mono(0)), "59m");
        assert_eq!(format_age_secs(3_600), "1h");
        assert_eq!(format_age_secs(3_659), "1h");
        assert_eq!(format_age_secs(3_660), "1h01m");
        assert_eq!(format_age_secs(7_500), "2h05m");
    }

    #[test]
    fn t_clock_formats() {
        assert_eq!(format_t_clock(Some(-252_000)), "T-04:12");
        assert_eq!(format_t_clock(Some(1_065_000)), "T+17:45");
        assert_eq!(format_t_clock(Some(0)), "T+00:00");
        assert_eq!(format_t_clock(Some(-500)), "T-00:01");
        assert_eq!(format_t_clock(Some(999)), "T+00:00");
        assert_eq!(format_t_clock(Some(3_723_000)), "T+1:02:03");
        // Days from the first whole day, both ways; the seconds still tick.
        let h = |h: i64| h * 3_600_000;
        assert_eq!(format_t_clock(Some(h(23) + 3_599_000)), "T+23:59:59");
        assert_eq!(format_t_clock(Some(h(24))), "T+1d00:00:00");
        assert_eq!(format_t_clock(Some(172_930_000)), "T+2d00:02:10");
        assert_eq!(
            format_t_clock(Some(h(3 * 24 + 4) + 12 * 60_000 + 5_000)),
            "T+3d04:12:05"
        );
        assert_eq!(format_t_clock(Some(h(100))), "T+4d04:00:00");
        assert_eq!(format_t_clock(Some(-h(28 * 24))), "T-28d00:00:00");
        assert_eq!(format_t_clock(Some(h(24 * 400) + 1_000)), "T+400d00:00:01");
        assert_eq!(countdown(h(167)), "6d23:00:00");
        assert_eq!(format_t_offset(h(99)), "T+99h");
        assert_eq!(format_t_offset(h(168)), "T+7d");
        assert_eq!(format_t_offset(-h(28 * 24)), "T-28d");
        assert_eq!(format_t_offset(h(156) + 30 * 60_000), "T+6d12h30m");
        assert_eq!(format_t_clock(None), "T0 not set");
        assert_eq!(format_t_offset(0), "T0");
        assert_eq!(format_t_offset(-900_000), "T-15m");
        assert_eq!(format_t_offset(1_800_000), "T+30m");
    }

    #[test]
    fn countdowns_round_up() {
        assert_eq!(countdown(252_000), "04:12");
        assert_eq!(countdown(1), "00:01");
        assert_eq!(countdown(0), "00:00");
        assert_eq!(countdown(-5_000), "00:00");
        assert_eq!(countdown(3_723_000), "1:02:03");
    }

    #[test]
    fn clock_steps_are_signed_to_the_second() {
        assert_eq!(format_clock_step(-3_600_000), "-1h00m");
        assert_eq!(format_clock_step(125_400), "+2m05s");
        assert_eq!(format_clock_step(9_600), "+10s");
        assert_eq!(format_clock_step(400), "+0s");
    }

    #[test]
    fn wall_times_are_utc_seconds() {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 20, 41, 7)
            .unwrap();
        assert_eq!(hms(t), "20:41:07");
    }
}
