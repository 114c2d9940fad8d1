//! The request log: every request the data listener saw, with what tests and drills assert
//! about it (method, path, whether the token was right, the idempotency key, the body, the
//! status it got). The token itself is never stored.

use super::scenario::Scenario;
use axum::body::Bytes;
use axum::http::{header, request::Parts, StatusCode};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::fmt;

/// Bodies are recorded up to this size.
pub const RECORDED_BODY_MAX: usize = 4 * 1024;
/// Older recorded requests are dropped past this count, so a long drill has bounded memory.
pub const RECORDED_MAX: usize = 10_000;

/// One request seen by the data listener. The token itself is never stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecordedRequest {
    pub id: u64,
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// An `Authorization` header was sent.
    pub authorization_present: bool,
    /// It was exactly `Bearer <token>`; `None` when the simulator has no token configured.
    pub authorization_valid: Option<bool>,
    pub idempotency_key: Option<String>,
    /// The first 4 KiB of the body, lossy UTF-8.
    pub body: String,
    pub body_truncated: bool,
    /// Status of the answer; `None` while it is being handled.
    pub status: Option<u16>,
    #[serde(serialize_with = "ser_display")]
    pub scenario: Scenario,
}

fn ser_display<S: serde::Serializer, T: fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// What the request log is told about one request besides the request itself.
pub(crate) struct Seen {
    pub at: DateTime<Utc>,
    pub authorization_valid: Option<bool>,
    pub scenario: Scenario,
}

/// The most recent `RECORDED_MAX` requests, oldest first.
#[derive(Debug)]
pub(crate) struct RequestLog {
    entries: VecDeque<RecordedRequest>,
    next_id: u64,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog {
            entries: VecDeque::new(),
            next_id: 1,
        }
    }
}

impl RequestLog {
    /// Records a request (its status comes later, with `set_status`); returns its id.
    pub(crate) fn record(&mut self, parts: &Parts, body: &Bytes, seen: Seen) -> u64 {
        let idem = parts.headers.get("idempotency-key").map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(200)
                .collect()
        });
        let cut = body.len().min(RECORDED_BODY_MAX);
        let id = self.next_id;
        self.next_id += 1;
        let rec = RecordedRequest {
            id,
            at: seen.at,
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            authorization_present: parts.headers.contains_key(header::AUTHORIZATION),
            authorization_valid: seen.authorization_valid,
            idempotency_key: idem,
            body: String::from_utf8_lossy(&body[..cut]).into_owned(),
            body_truncated: body.len() > RECORDED_BODY_MAX,
            status: None,
            scenario: seen.scenario,
        };
        if self.entries.len() >= RECORDED_MAX {
            self.entries.pop_front();
        }
        self.entries.push_back(rec);
        id
    }

    pub(crate) fn set_status(&mut self, id: u64, status: StatusCode) {
        // Recent requests are at the back.
        if let Some(r) = self.entries.iter_mut().rev().find(|r| r.id == id) {
            r.status = Some(status.as_u16());
        }
    }

    pub(crate) fn all(&self) -> Vec<RecordedRequest> {
        self.entries.iter().cloned().collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Forgets every request; returns how many there were. Ids keep counting.
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.entries.len();
        self.entries.clear();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(path: &str) -> Parts {
        Request::post(path)
            .header("Idempotency-Key", "k-1")
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    fn seen() -> Seen {
        Seen {
            at: Utc::now(),
            authorization_valid: None,
            scenario: Scenario::Healthy,
        }
    }

    #[test]
    fn the_log_is_bounded_and_bodies_are_cut() {
        let mut log = RequestLog::default();
        let big = Bytes::from(vec![b'a'; RECORDED_BODY_MAX + 10]);
        let first = log.record(&parts("/a?x=1"), &big, seen());
        let r = &log.all()[0];
        assert_eq!((r.id, r.query.as_deref()), (first, Some("x=1")));
        assert_eq!(r.body.len(), RECORDED_BODY_MAX);
        assert!(r.body_truncated);
        assert_eq!(r.idempotency_key.as_deref(), Some("k-1"));
        for _ in 0..RECORDED_MAX {
            log.record(&parts("/b"), &Bytes::new(), seen());
        }
        assert_eq!(log.len(), RECORDED_MAX);
        assert!(log.all().iter().all(|r| r.path == "/b"), "the oldest went");
        let last = log.all()[RECORDED_MAX - 1].id;
        log.set_status(last, StatusCode::CREATED);
        assert_eq!(log.all()[RECORDED_MAX - 1].status, Some(201));
        assert_eq!(log.clear(), RECORDED_MAX);
        assert_eq!(log.record(&parts("/c"), &Bytes::new(), seen()), last + 1);
    }
}
