//! Events panel: newest first, time, severity symbol and word, text. What one poll did
//! reads as one line: a source outage is "metrics down: refused — 15 rows no data", not
//! fifteen band changes; its recovery one line too; rows moving the same way together
//! one line. `f` keeps only actions and breaches.

use super::{panel, Pen, View};
use crate::app::Focus;
use crate::engine::{Band, Event, EventKind, Severity, Status};
use crate::theme::Role;
use crate::timefmt::hms;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// One line of the panel: one event, or the events of one poll told together.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub at: crate::sample::Ts,
    pub severity: Severity,
    pub text: String,
}

/// Actions (every note an operator's act or its result makes) and breaches (into or out
/// of crit, rollback advice): what the filter keeps.
fn is_action_or_breach(e: &Event) -> bool {
    match &e.kind {
        EventKind::Note { .. } => e.severity > Severity::Info || !e.text.starts_with("source "),
        EventKind::RollbackAdvised { .. } | EventKind::RollbackAdviceCleared => true,
        EventKind::BandChange { from, to, .. } => {
            *to == Status::Band(Band::Crit) || *from == Status::Band(Band::Crit)
        }
        EventKind::FlagChange { .. }
        | EventKind::SourceError { .. }
        | EventKind::SourceRecovered { .. } => false,
    }
}

/// The events as lines, oldest first: the events of one moment (one poll) grouped.
pub(crate) fn lines<'a>(events: impl Iterator<Item = &'a Event>, filtered: bool) -> Vec<Line> {
    let events: Vec<&Event> = events
        .filter(|e| !filtered || is_action_or_breach(e))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < events.len() {
        // One moment: the events with the same monotonic time, in their order.
        let mut j = i;
        while j < events.len() && events[j].mono == events[i].mono {
            j += 1;
        }
        group(&events[i..j], &mut out);
        i = j;
    }
    out
}

fn group(moment: &[&Event], out: &mut Vec<Line>) {
    let mut used = vec![false; moment.len()];
    // A source down, or back, with the rows it took with it.
    for (k, e) in moment.iter().enumerate() {
        let (head, rows): (String, Vec<usize>) = match &e.kind {
            EventKind::SourceError { source, reason } => {
                let rows: Vec<usize> = moment
                    .iter()
                    .enumerate()
                    .filter(|(n, x)| {
                        !used[*n]
                            && matches!(&x.kind, EventKind::BandChange { to: Status::NoData(_), reason: Some(r), .. } if r.ends_with(reason.as_str()))
                    })
                    .map(|(n, _)| n)
                    .collect();
                // A rate-limited source says so itself ("rate limited (HTTP 429): …").
                let head = if reason.starts_with("rate limited") {
                    format!("{source} {reason}")
                } else {
                    format!("{source} down: {reason}")
                };
                (head, rows)
            }
            EventKind::SourceRecovered {
                source,
                after_errors,
            } => {
                let rows: Vec<usize> = moment
                    .iter()
                    .enumerate()
                    .filter(|(n, x)| {
                        !used[*n]
                            && matches!(
                                &x.kind,
                                EventKind::BandChange {
                                    from: Status::NoData(_),
                                    to: Status::Band(_),
                                    ..
                                }
                            )
                    })
                    .map(|(n, _)| n)
                    .collect();
                (
                    format!("{source} answers again (after {after_errors} failed polls)"),
                    rows,
                )
            }
            _ => continue,
        };
        used[k] = true;
        let mut severity = e.severity;
        let mut tail = String::new();
        if !rows.is_empty() {
            let mut bands: Vec<(String, usize)> = Vec::new();
            for &n in &rows {
                used[n] = true;
                severity = severity.max(moment[n].severity);
                if let EventKind::BandChange { to, .. } = &moment[n].kind {
                    let w = to.word().to_string();
                    match bands.iter_mut().find(|(b, _)| *b == w) {
                        Some((_, c)) => *c += 1,
                        None => bands.push((w, 1)),
                    }
                }
            }
            let rows_word = if rows.len() == 1 { "row" } else { "rows" };
            tail = if matches!(e.kind, EventKind::SourceError { .. }) {
                format!(" — {} {rows_word} no data", rows.len())
            } else {
                let b: Vec<String> = bands.iter().map(|(b, c)| format!("{c} {b}")).collect();
                format!(" — {} {rows_word} back: {}", rows.len(), b.join(", "))
            };
        }
        out.push(Line {
            at: e.at,
            severity,
            text: format!("{head}{tail}"),
        });
    }
    // Rows moving the same way at the same moment: one line.
    let mut k = 0;
    while k < moment.len() {
        if used[k] {
            k += 1;
            continue;
        }
        let e = moment[k];
        if let EventKind::BandChange { from, to, .. } = &e.kind {
            let same: Vec<usize> = (k..moment.len())
                .filter(|n| {
                    !used[*n]
                        && matches!(&moment[*n].kind, EventKind::BandChange { from: f, to: t, .. } if f == from && t == to)
                })
                .collect();
            if same.len() > 1 {
                let mut severity = e.severity;
                let mut names = Vec::new();
                for &n in &same {
                    used[n] = true;
                    severity = severity.max(moment[n].severity);
                    if let EventKind::BandChange { row, .. } = &moment[n].kind {
                        // The row's label, as its own line would have said it.
                        let marker = format!(": {} → ", from.word());
                        let text = &moment[n].text;
                        names.push(
                            text.find(&marker)
                                .map_or(row.clone(), |i| text[..i].to_string()),
                        );
                    }
                }
                out.push(Line {
                    at: e.at,
                    severity,
                    text: format!(
                        "{} rows {} → {}: {}",
                        same.len(),
                        from.word(),
                        to.word(),
                        names.join(", ")
                    ),
                });
                continue;
            }
        }
        used[k] = true;
        out.push(Line {
            at: e.at,
            severity: e.severity,
            text: e.text.clone(),
        });
        k += 1;
    }
}

pub(super) fn render(buf: &mut Buffer, area: Rect, v: &View) {
    if area.height == 0 {
        return;
    }
    let filtered = v.state.events_filtered;
    let lines = lines(v.state.events.iter(), filtered);
    let n = lines.len();
    let title = if filtered {
        format!("Events {n}: actions, breaches")
    } else {
        format!("Events {n}")
    };
    let inner = panel(buf, area, &title, v.focused(Focus::Events), v);
    if n == 0 {
        if let Some(mut p) = Pen::new(buf, inner, 0) {
            let none = if filtered {
                " no actions or breaches yet"
            } else {
                " no events yet"
            };
            p.put(none, v.style(Role::Muted));
        }
        return;
    }
    // Newest first. A panel wide enough for whole events (a wide terminal) gives a long
    // one the lines it needs, up to three; a narrow one keeps one line per event.
    let wrap = inner.width >= WRAP_FROM;
    let mut y = 0u16;
    for e in lines.iter().rev() {
        if y >= inner.height {
            break;
        }
        let Some(mut p) = Pen::new(buf, inner, y) else {
            break;
        };
        p.put(" ", v.style(Role::Text))
            .put(&hms(e.at), v.style(Role::Muted))
            .put(" ", v.style(Role::Text))
            .put(
                &format!("{:<7}", v.glyphs.severity(e.severity).label()),
                v.theme.severity(e.severity),
            )
            .put(" ", v.style(Role::Text));
        let text_x = p.x - inner.x;
        let room = p.room();
        let mut rest = e.text.as_str();
        for n in 0..3 {
            let Some(mut p) = Pen::new(buf, inner, y) else {
                break;
            };
            p.col(text_x);
            let last = !wrap || n == 2 || super::width(rest) <= room || y + 1 >= inner.height;
            if last {
                p.put_fit(rest, room, v.style(Role::Text), v.glyphs.ellipsis);
                y += 1;
                break;
            }
            let head = super::fit::head(rest, room);
            let cut = head.rfind(' ').filter(|i| *i > 0).unwrap_or(head.len());
            p.put(rest[..cut].trim_end(), v.style(Role::Text));
            rest = rest[cut..].trim_start();
            y += 1;
        }
    }
}

/// From this panel width events wrap instead of being cut.
const WRAP_FROM: u16 = 56;
