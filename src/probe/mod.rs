//! Probes: startup, liveness and readiness checks run inside the container
//! with the kubelet's semantics. `state` is the pure per-probe schedule and
//! threshold machine; `http_response` the bounded HTTP reader; `runner` the
//! non-blocking attempts on the event loop.

pub mod exec;
pub mod host;
pub mod http_response;
pub mod net;
pub mod outcome;
pub mod per_probe;
pub mod plan;
pub mod runner;
pub mod state;
