//! The AWS services the simulated system uses, as their JSON APIs answer: requests and
//! answers in the services' own shapes, errors as `{"__type": code, "message": …}` with 400.
//! The simulator serves them on its control address (`POST /__sim/aws/{service}/{operation}`)
//! for the `aws` stand-in, which plays the CLI around them.

use super::{cloudwatch, ssm};
use crate::sim::state::Sim;
use serde_json::Value;

/// Account and region of the simulated AWS account.
pub const ACCOUNT: &str = "123456789012";
pub const DEFAULT_REGION: &str = "us-east-1";

/// An AWS service error: its code (`ParameterNotFound`, `ValidationError`…) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub code: &'static str,
    pub message: String,
}

impl AwsError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        AwsError {
            code,
            message: message.into(),
        }
    }
}

/// One call of `service`'s `operation` with its JSON request, in `region`.
pub(crate) fn call(
    sim: &Sim,
    service: &str,
    operation: &str,
    region: &str,
    request: &Value,
) -> Result<Value, AwsError> {
    match (service, operation) {
        ("ssm", "GetParameter") => ssm::get_parameter(sim, region, request),
        ("ssm", "PutParameter") => ssm::put_parameter(sim, request),
        ("cloudwatch", "GetMetricData") => cloudwatch::get_metric_data(sim, request),
        _ => Err(AwsError::new(
            "UnknownOperationException",
            format!("the simulator does not serve {service} {operation}"),
        )),
    }
}
