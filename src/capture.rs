//! Values parsed from a command's output: each `capture` regex's first group, judged
//! against its `expect`. A pure function of (the captures configured, the output), so the
//! screen, the audit log and the report say the same.
//!
//! Choices an operator can rely on:
//! - the output is read as the terminal would show it: colour and cursor escapes removed,
//!   `\r\n` and a lone `\r` (a progress line rewritten in place) both end a line;
//! - a regex that matches several times (a p95 line per endpoint) must pass on **every**
//!   match: one slow endpoint fails the capture, and the value shown is that match (or,
//!   when all pass, the one nearest the threshold);
//! - not found in the output fails, with or without `expect`: a script whose output no
//!   longer says what the runbook relies on is not evidence;
//! - the output has been redacted before it gets here; a value that is, or holds, a
//!   redacted span is reported as `redacted` (a failure), never as the secret;
//! - a value that is not a number fails an order condition (`< 5`) and says so.

use crate::condition::{Condition, Op};
use crate::config::Capture;
use crate::sample::Value;
use serde::{Deserialize, Serialize};

/// How one capture came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Found, and every match satisfies `expect`.
    Pass,
    /// Found, and at least one match does not satisfy `expect`.
    Fail,
    /// The regex matched nowhere in the output.
    NotFound,
    /// The value is a secret the redactor removed: never shown, never judged a pass.
    Redacted,
    /// Found, with no `expect` to judge it by: recorded only.
    Recorded,
}

impl Verdict {
    pub fn passed(self) -> bool {
        matches!(self, Verdict::Pass | Verdict::Recorded)
    }
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::NotFound => "NOT FOUND",
            Verdict::Redacted => "REDACTED",
            Verdict::Recorded => "recorded",
        }
    }
}

/// One capture's evidence, as the step, the audit log and the report hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Captured {
    pub name: String,
    /// The value that decided, as the output wrote it (absent when not found or redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The expectation as written (`< 5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// How many times the regex matched.
    #[serde(default)]
    pub matches: usize,
    pub verdict: Verdict,
    /// Why it did not pass, in words: "not found in output", "2 of 4 matches fail".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl Captured {
    pub fn passed(&self) -> bool {
        self.verdict.passed()
    }

    /// `mean_delta_pct 3.2 % (< 5)`, `p95_ms 812 ms (< 500; 1 of 4 matches fail)`,
    /// `rate not found in output (>= 95)`: the words around the verdict's mark.
    pub fn text(&self) -> String {
        let value = match (&self.value, self.verdict) {
            (_, Verdict::Redacted) => "redacted".to_string(),
            (Some(v), _) => match &self.unit {
                Some(u) if !u.trim().is_empty() => format!("{v} {}", u.trim()),
                _ => v.clone(),
            },
            (None, _) => self.why.clone().unwrap_or_else(|| "no value".into()),
        };
        let mut paren: Vec<String> = self.expect.iter().cloned().collect();
        if self.value.is_some() {
            paren.extend(self.why.iter().cloned());
        }
        if paren.is_empty() {
            format!("{} {value}", self.name)
        } else {
            format!("{} {value} ({})", self.name, paren.join("; "))
        }
    }
}

/// Every capture of `specs` read from `output` (already redacted), in the config's order.
pub fn extract(specs: &[Capture], output: &str) -> Vec<Captured> {
    if specs.is_empty() {
        return Vec::new();
    }
    let text = normalize(output);
    specs.iter().map(|c| one(c, &text)).collect()
}

/// Did every capture pass? (True when there are none.)
pub fn all_passed(caps: &[Captured]) -> bool {
    caps.iter().all(Captured::passed)
}

/// The failed captures in one line: "capture failed: mean_delta_pct 7.1 % (< 5)".
pub fn failure_text(caps: &[Captured]) -> Option<String> {
    let failed: Vec<String> = caps
        .iter()
        .filter(|c| !c.passed())
        .map(Captured::text)
        .collect();
    (!failed.is_empty()).then(|| {
        format!(
            "capture{} failed: {}",
            if failed.len() == 1 { "" } else { "s" },
            failed.join(", ")
        )
    })
}

/// The output as a terminal shows it: escapes removed, every line ending a `\n`.
fn normalize(output: &str) -> String {
    crate::poll::command::strip_escapes(output)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

fn one(c: &Capture, text: &str) -> Captured {
    let mut out = Captured {
        name: c.name.trim().to_string(),
        value: None,
        unit: c.unit.clone().filter(|u| !u.trim().is_empty()),
        expect: c.expect.as_ref().map(ToString::to_string),
        matches: 0,
        verdict: Verdict::NotFound,
        why: Some("not found in output".into()),
    };
    let Ok(re) = regex::Regex::new(&c.regex) else {
        // `validate` refuses such a config; a recording of an older one still reads.
        out.why = Some("its regex does not compile".into());
        return out;
    };
    let found: Vec<String> = re
        .captures_iter(text)
        .filter_map(|m| {
            m.iter()
                .skip(1)
                .flatten()
                .next()
                .map(|g| g.as_str().trim().to_string())
        })
        .collect();
    out.matches = found.len();
    if found.is_empty() {
        return out;
    }
    if found.iter().any(|v| v.contains(crate::secrets::MASK)) {
        out.verdict = Verdict::Redacted;
        out.why = Some("the value is a secret: redacted".into());
        return out;
    }
    let Some(expect) = &c.expect else {
        out.verdict = Verdict::Recorded;
        out.why = None;
        out.value = found.last().cloned();
        return out;
    };
    // `< 0.5s` on a capture in `ms` compares as `< 500`; `validate` checked it converts.
    let cond = expect
        .in_unit_of(out.unit.as_deref())
        .unwrap_or_else(|_| expect.clone());
    let judged: Vec<(String, Option<f64>, Result<(), String>)> = found
        .into_iter()
        .map(|v| {
            let n = number(&v);
            let verdict = judge(&cond, &v, n);
            (v, n, verdict)
        })
        .collect();
    let failing: Vec<&(String, Option<f64>, Result<(), String>)> =
        judged.iter().filter(|(_, _, r)| r.is_err()).collect();
    if let Some((v, _, Err(why))) = failing.first() {
        out.verdict = Verdict::Fail;
        out.value = Some(v.clone());
        let mut words: Vec<String> = Vec::new();
        if !why.is_empty() {
            words.push(why.clone());
        }
        if judged.len() > 1 {
            words.push(format!(
                "{} of {} matches fail",
                failing.len(),
                judged.len()
            ));
        }
        out.why = (!words.is_empty()).then(|| words.join("; "));
        return out;
    }
    out.verdict = Verdict::Pass;
    out.why = (judged.len() > 1).then(|| format!("all {} matches pass", judged.len()));
    // All pass: the one nearest the threshold is the honest one to show.
    let nearest = match cond.op {
        Op::Lt | Op::Le => judged
            .iter()
            .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal)),
        Op::Gt | Op::Ge => judged
            .iter()
            .min_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal)),
        Op::Eq | Op::Ne => judged.last(),
    };
    out.value = nearest.map(|(v, _, _)| v.clone());
    out
}

/// `3.2`, `1,204`, `-0.5` as numbers; anything else is text.
fn number(v: &str) -> Option<f64> {
    let plain: String = v.chars().filter(|c| *c != ',' && *c != '_').collect();
    plain.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Ok, or why it fails ("" when the value simply does not satisfy the condition).
fn judge(cond: &Condition, v: &str, n: Option<f64>) -> Result<(), String> {
    let value = match (n, &cond.rhs) {
        (Some(n), _) => Value::Num(n),
        (None, Value::Num(_)) if !matches!(cond.op, Op::Eq | Op::Ne) => {
            return Err(format!("not a number: {v:?}"));
        }
        (None, Value::Bool(_)) if v == "true" || v == "false" => Value::Bool(v == "true"),
        (None, _) => Value::Str(v.to_string()),
    };
    if cond.holds(&value) {
        Ok(())
    } else {
        Err(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(name: &str, regex: &str, expect: Option<&str>, unit: Option<&str>) -> Capture {
        Capture {
            name: name.into(),
            regex: regex.into(),
            expect: expect.map(|e| Condition::parse(e).unwrap()),
            unit: unit.map(str::to_string),
        }
    }

    fn mean() -> Capture {
        cap(
            "mean_delta_pct",
            r"Mean delta: ([0-9.]+)%",
            Some("< 5"),
            Some("%"),
        )
    }

    #[test]
    fn a_match_within_its_expectation_passes_and_reads_as_the_runbook_writes_it() {
        let out = extract(
            &[mean()],
            "✅ Ran 50 predictions\n✅ Mean delta: 3.2%  (< 5%)\n",
        );
        assert_eq!(out[0].verdict, Verdict::Pass);
        assert_eq!(out[0].value.as_deref(), Some("3.2"));
        assert_eq!(out[0].text(), "mean_delta_pct 3.2 % (< 5)");
        assert!(all_passed(&out));
        assert_eq!(failure_text(&out), None);
    }

    #[test]
    fn a_value_past_its_expectation_fails() {
        let out = extract(&[mean()], "Mean delta: 7.1%\n");
        assert_eq!(out[0].verdict, Verdict::Fail);
        assert_eq!(out[0].value.as_deref(), Some("7.1"));
        assert_eq!(
            failure_text(&out).as_deref(),
            Some("capture failed: mean_delta_pct 7.1 % (< 5)")
        );
    }

    #[test]
    fn no_match_is_not_found_and_fails_with_or_without_an_expectation() {
        let out = extract(
            &[mean(), cap("ran", r"Ran (\d+) predictions", None, None)],
            "Traceback (most recent call last):\n",
        );
        assert_eq!(out[0].verdict, Verdict::NotFound);
        assert_eq!(out[0].text(), "mean_delta_pct not found in output (< 5)");
        assert_eq!(out[1].verdict, Verdict::NotFound);
        assert!(!all_passed(&out));
    }

    #[test]
    fn several_matches_must_all_pass_and_the_failing_one_is_shown() {
        let p95 = cap("p95_ms", r"p95=(\d+)ms", Some("< 500"), Some("ms"));
        let ok = extract(
            std::slice::from_ref(&p95),
            "/a p95=120ms\n/b p95=480ms\n/c p95=90ms\n",
        );
        assert_eq!(ok[0].verdict, Verdict::Pass);
        assert_eq!(
            ok[0].value.as_deref(),
            Some("480"),
            "the one nearest the threshold"
        );
        assert_eq!(ok[0].matches, 3);
        let bad = extract(&[p95], "/a p95=120ms\n/b p95=812ms\n/c p95=90ms\n");
        assert_eq!(bad[0].verdict, Verdict::Fail);
        assert_eq!(bad[0].value.as_deref(), Some("812"));
        assert_eq!(bad[0].text(), "p95_ms 812 ms (< 500; 1 of 3 matches fail)");
    }

    #[test]
    fn a_value_that_is_not_a_number_fails_an_order_and_says_so() {
        let out = extract(
            &[cap("rate", r"rate: (\S+)", Some(">= 95"), None)],
            "rate: n/a\n",
        );
        assert_eq!(out[0].verdict, Verdict::Fail);
        assert_eq!(out[0].text(), "rate n/a (>= 95; not a number: \"n/a\")");
        // Text compares as text.
        let out = extract(
            &[cap("state", r"state: (\w+)", Some("== ok"), None)],
            "state: ok\n",
        );
        assert_eq!(out[0].verdict, Verdict::Pass);
    }

    #[test]
    fn colour_codes_and_crlf_do_not_hide_or_change_a_value() {
        let out = extract(
            &[
                mean(),
                cap("max", r"(?m)^Max delta: ([0-9.]+)%$", Some("< 10"), None),
            ],
            "\u{1b}[32m✅ Mean delta: \u{1b}[1m2.3\u{1b}[0m%\r\nMax delta: 4.8%\r\n",
        );
        assert_eq!(out[0].value.as_deref(), Some("2.3"));
        assert_eq!(out[0].verdict, Verdict::Pass);
        assert_eq!(
            out[1].value.as_deref(),
            Some("4.8"),
            "no \\r left in the line"
        );
        assert_eq!(out[1].verdict, Verdict::Pass);
    }

    #[test]
    fn a_redacted_span_is_reported_redacted_never_as_a_value() {
        let out = extract(
            &[cap("token", r"token: (\S+)", None, None)],
            "issued token: ***\n",
        );
        assert_eq!(out[0].verdict, Verdict::Redacted);
        assert_eq!(out[0].value, None);
        assert_eq!(out[0].text(), "token redacted");
        assert!(!out[0].passed());
    }

    #[test]
    fn an_expectation_in_another_unit_converts() {
        let c = cap("p95", r"p95: (\d+)", Some("< 0.5s"), Some("ms"));
        assert_eq!(
            extract(std::slice::from_ref(&c), "p95: 480")[0].verdict,
            Verdict::Pass
        );
        assert_eq!(extract(&[c], "p95: 520")[0].verdict, Verdict::Fail);
    }
}
