//! What one probe attempt came to: the runner makes it, the supervisor
//! decides with it, the reporter prints it.

use crate::sys::spawn::StartFailure;
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
    /// What a network attempt showed beyond its verdict (for diagnosis only).
    pub net: Option<NetEvidence>,
    /// Why an exec probe's program could not run, as its child reported it
    /// (the message says it in words; diagnosis reads this).
    pub cannot_run: Option<StartFailure>,
}

/// What a network attempt (the last exchange of an `http_get`, after any
/// redirect) showed: when each phase was reached, counted from the attempt's
/// start, and what the peer sent. Plain values, filled in at phase changes
/// from the loop's clock reading: a successful attempt costs no allocation
/// and no extra clock read for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NetEvidence {
    /// The connect completed.
    pub connected: Option<Duration>,
    /// The whole request was written.
    pub sent: Option<Duration>,
    /// The first byte of the response arrived.
    pub first_byte: Option<Duration>,
    /// The response was complete.
    pub last_byte: Option<Duration>,
    /// The response's first two bytes (`[0, 0]` before any arrived): a TLS
    /// record starts 0x15 0x03 (alert) or 0x16 0x03 (handshake).
    pub lead: [u8; 2],
    /// The final response's status code (0: no complete response head).
    pub status: u16,
    /// The response asked for credentials (`WWW-Authenticate`).
    pub www_authenticate: bool,
    /// The attempt ran out its `timeout_seconds`.
    pub timed_out: bool,
}
