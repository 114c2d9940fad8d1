//! The integration tests, one binary: one link instead of one per file, sharing
//! `tests/common` (the simulator on loopback, the demo config, a fixed clock). Each
//! former `tests/<name>.rs` is a module here; run one with `cargo test --test
//! integration <name>::`. The pty tests (`tests/terminal_pty.rs`) stay a binary of
//! their own.
//!
//! To add a test file: put it here as `tests/integration/<name>.rs`, add `mod <name>;`
//! below (in order), and reach the shared pieces with `use crate::common::…` (no
//! `mod common;` in the file, no lint `allow` either: this file's covers every module).

// Test code: a failed unwrap or expect is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod actions;
mod audit_log;
mod captures;
mod check_scenarios;
mod clock_steps;
mod command_sources;
mod config_fixtures;
mod environments;
mod evidence;
mod evidence_integrity;
mod exit_codes;
mod flight_across_screens;
mod gates;
mod holds;
mod holds_live;
mod http_sources;
mod keymap;
mod long_clocks;
mod merged_report;
mod no_credential_crosses_hosts;
mod notes;
mod notify;
mod notify_alertmanager;
mod preset_screens;
mod prometheus;
mod readme_recipes;
mod record_sessions;
mod report_into;
mod secrets_everywhere;
mod source_faults;
mod standins_on_path;
mod system_brokers;
mod system_cohortlens;
mod system_edn360;
mod system_hse;
mod system_profiles;
mod tls_proxy;
mod tui_app;
