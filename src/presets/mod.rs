//! `warroom init --preset NAME`: complete, commented configs for the four seed systems,
//! embedded in the binary. Each reads its base URL from `WARROOM_URL` (with the seed's
//! own default) and its bearer token from `ADMIN_TOKEN`.

/// (name, one line, the TOML).
pub const PRESETS: &[(&str, &str, &str)] = &[
    (
        "brokers",
        "Brokers v1 cutover (runbook 003): health, per-endpoint error rate and p95, minute-by-minute timeline",
        include_str!("brokers.toml"),
    ),
    (
        "cohortlens",
        "CohortLens v1 → v2 migration (runbooks 000, 001): flags, v1/v2 side by side, admin actions",
        include_str!("cohortlens.toml"),
    ),
    (
        "edn360",
        "EDN360 client-drawer migration (runbook 002): match and success rates, decision table, GO/NO-GO gates",
        include_str!("edn360.toml"),
    ),
    (
        "hse",
        "HSE IoT core traffic split (runbook 004): old vs new error rate and p99, drift, split steps",
        include_str!("hse.toml"),
    ),
];

pub fn get(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, _, t)| *t)
}

pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, ..)| *n).collect()
}

/// `warroom init --list`.
pub fn list() -> String {
    let w = PRESETS.iter().map(|(n, ..)| n.len()).max().unwrap_or(0);
    PRESETS
        .iter()
        .map(|(n, d, _)| format!("{n:<w$}  {d}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_validates_with_defaults() {
        // Credentials are the only variables without a default: the bearer token and the
        // Datadog keys (a missing key is named at load, never guessed).
        let env = |k: &str| {
            ["ADMIN_TOKEN", "DD_API_KEY", "DD_APP_KEY"]
                .contains(&k)
                .then(|| format!("test-{k}-123"))
        };
        for (name, _, text) in PRESETS {
            let r = crate::config::load::load_str_with_env(text, &format!("<{name}>"), &env);
            assert!(
                r.is_ok(),
                "preset {name} is invalid:\n{}",
                r.err().map(|e| e.to_string()).unwrap_or_default()
            );
        }
    }

    #[test]
    fn list_has_one_line_each() {
        assert_eq!(list().lines().count(), PRESETS.len());
    }
}
