//! warroom: a terminal dashboard for the war room of a production cutover.
//!
//! input → `Action` → pure `app::update` → effects (polls, …) → state → `ui::render`.
//!
//! The modules by layer, each using only modules of its own layer and of the layers
//! before it — but for `config`, whose checks still reach the app's key map and prom's
//! templates (a test reads the source and refuses any other circle):
//!
//! - foundations: `sample` (values, readings, the two clocks), `timefmt` (lengths of
//!   time, the T-clock), `condition`, `path`, `secrets` (the redactor), `exit` (the CLI
//!   error and its exit codes), `logging`, `terminal`;
//! - the config: `config` (loading, validation), `prom` (Prometheus answers), `secure`
//!   (a loaded config's secrets);
//! - judging and I/O: `engine` (bands, trip/clear, advice), `poll`, `action`;
//! - evidence: `audit` (the shared audit log, identity), `record` (`--record`);
//! - telling the team: `notify` (episodes from the engine, Alertmanager, Slack, PagerDuty,
//!   webhooks, one sender among the screens);
//! - the app: `app` (state, messages, pure `update`), `theme`, `ui` (render only);
//! - running it: `session` (live inputs and effects), `replay`, `report`, `check`,
//!   `runtime` (dashboard start-up and the one loop), `cli`, `sim`, `presets`, `demo`,
//!   `conventions` (completions, man page, config schema), `commands`.
//!
//! ARCHITECTURE.md has the data flow, every module in one line, and where to add a
//! source kind, a signal rule, an action kind or a screen region (a test keeps it true).

// Test code may unwrap, expect and panic: a failure there is the test failing.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

// Foundations.
pub mod ansi;
pub mod condition;
pub mod exit;
pub mod fresh;
pub mod logging;
pub mod path;
pub mod sample;
pub mod secrets;
pub mod terminal;
pub mod timefmt;
pub mod tokens;

// The config.
pub mod config;
pub mod prom;
pub mod secure;

// Judging and I/O.
pub mod action;
pub mod capture;
pub mod engine;
pub mod poll;

// Evidence.
pub mod audit;
pub mod holds;
pub mod record;

// Telling the team: notifications (episodes, targets, the sender).
pub mod notify;

// The app.
pub mod app;
pub mod theme;
pub mod ui;

// Running it.
pub mod check;
pub mod cli;
pub mod commands;
pub mod conventions;
pub mod demo;
pub mod presets;
pub mod replay;
pub mod report;
pub mod runtime;
pub mod session;
pub mod sim;

// Tests only: no import circles, and ARCHITECTURE.md's map true.
#[cfg(test)]
mod layering;
