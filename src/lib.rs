//! warroom: a terminal dashboard for the war room of a production cutover.
//!
//! input → `Action` → pure `app::update` → effects (polls, …) → state → `ui::render`.

pub mod app;
pub mod condition;
pub mod config;
pub mod engine;
pub mod path;
pub mod sample;
pub mod sim;
