//! warroom: a terminal dashboard for the war room of a production cutover.
//!
//! input → `Action` → pure `app::update` → effects (polls, …) → state → `ui::render`.

pub mod action;
pub mod app;
pub mod audit;
pub mod check;
pub mod cli;
pub mod commands;
pub mod condition;
pub mod config;
pub mod demo;
pub mod engine;
pub mod logging;
pub mod path;
pub mod poll;
pub mod presets;
pub mod prom;
pub mod record;
pub mod replay;
pub mod report;
pub mod runtime;
pub mod sample;
pub mod secrets;
pub mod session;
pub mod sim;
pub mod terminal;
pub mod theme;
pub mod timefmt;
pub mod ui;
