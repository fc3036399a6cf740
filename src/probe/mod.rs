//! Probes: startup, liveness and readiness checks run inside the container
//! with the kubelet's semantics. `state` is the pure per-probe schedule and
//! threshold machine; `http_response` the bounded HTTP reader; `runner` the
//! non-blocking attempts on the event loop.

pub(crate) mod exec;
pub mod host;
pub(crate) mod http_response;
pub(crate) mod net;
pub(crate) mod outcome;
pub(crate) mod per_probe;
pub(crate) mod plan;
pub(crate) mod runner;
pub(crate) mod state;
