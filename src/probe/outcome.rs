//! What one probe attempt came to: the runner makes it, the supervisor
//! decides with it, the reporter prints it.

use std::time::Duration;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub success: bool,
    /// A success the kubelet reports as a warning (a redirect it did not follow).
    pub warning: bool,
    /// Why, in the kubelet's words where it has some.
    pub message: String,
    /// What was probed: `GET http://10.0.0.5:8000/`, `tcp 10.0.0.5:8000`, `exec ["cat", "/tmp/ok"]`.
    pub target: String,
    /// The start of an exec probe's output or an HTTP body.
    pub output: String,
    pub duration: Duration,
}
