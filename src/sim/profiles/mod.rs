//! What is truly specific to each simulated system: its `SPEC` (routes, endpoints, flags,
//! rollback), its handlers, and the numbers its paths show in each scenario.

pub mod brokers;
pub mod cohortlens;
pub mod edn360;
pub mod hse;
