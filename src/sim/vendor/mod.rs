//! The team's own systems around the simulated one, as their APIs answer: Datadog's metrics
//! query and New Relic's NerdGraph on the data listener (the preset polls them over HTTP);
//! AWS (SSM, CloudWatch), Docker's logs and MongoDB for the stand-in CLIs, on the control
//! listener. All of them read the same history and state, so every view of the system agrees.

pub(crate) mod aws;
pub(crate) mod cloudwatch;
pub mod datadog;
pub(crate) mod docker;
pub mod nerdgraph;
pub(crate) mod nrql;
pub(crate) mod ssm;
