//! Readiness for the host agent (docs/status-socket.md): the status socket's
//! server, what it answers, and the record of changes it answers from.
//!
//! - `server`: the listener and its connections on the event loop.
//! - `socket_file`: the socket's file, made with its mode and group in place.
//! - `http`: request heads in, responses out, within fixed bounds.
//! - `render`: `/readyz` and friends, `/status`, `/metrics`.
//! - `events`: `/events` lines and their bounded history.
//! - `record`: counters, last attempts and times, fed every change.
//! - `json`: the small JSON writer they share.

pub(crate) mod events;
pub(crate) mod http;
mod json;
pub(crate) mod record;
pub(crate) mod render;
pub(crate) mod server;
pub(crate) mod socket_file;

use crate::ready_file::{self, ReadyFile};
use crate::supervisor::{Change, Supervisor};
use mio::{Registry, Token};
use record::Record;
use server::{Context, Server};
use std::time::{Instant, SystemTime};

/// Everything vigil publishes: the status socket (if asked for), the ready
/// file (if asked for) and the record both are kept from.
pub(crate) struct Publisher {
    pub server: Option<Server>,
    pub ready_file: Option<ReadyFile>,
    pub record: Record,
}

impl Publisher {
    /// Takes in the changes of one supervisor step: they are recorded,
    /// streamed to `/events` clients, and move the ready file.
    pub(crate) fn publish(
        &mut self,
        changes: &[Change],
        supervisor: &Supervisor,
        registry: &Registry,
    ) {
        let now = SystemTime::now();
        for change in changes {
            if let Some(line) = self.record.record(change, now) {
                if let Some(server) = self.server.as_mut() {
                    let line = line.to_string();
                    server.broadcast(&line, registry, &mut self.record);
                }
            }
            if let (Change::Ready(ready), Some(file)) = (change, self.ready_file.as_mut()) {
                let result = if *ready {
                    let status = supervisor.status();
                    let since = crate::log::timestamp(self.record.ready_since);
                    file.set_ready(&ready_file::body(
                        status.pid.unwrap_or(0),
                        &since,
                        status.restarts,
                    ))
                } else {
                    file.set_not_ready()
                };
                if let Err(e) = result {
                    crate::log::warn!("cannot update the ready file: {e}");
                }
            }
        }
    }

    /// A connection to the socket can be read or written; true when it has
    /// more to do at once.
    pub(crate) fn on_conn(
        &mut self,
        slot: usize,
        supervisor: &Supervisor,
        registry: &Registry,
        now: Instant,
    ) -> bool {
        let Some(server) = self.server.as_mut() else {
            return false;
        };
        let ctx = Context {
            supervisor,
            record: &mut self.record,
        };
        server.on_ready(slot, registry, ctx, now)
    }

    /// The listener has connections waiting: takes at most `max`; returns
    /// the slots that got one and whether more may wait.
    pub(crate) fn accept(
        &mut self,
        registry: &Registry,
        token: impl Fn(usize) -> Token,
        now: Instant,
        max: usize,
    ) -> (Vec<usize>, bool) {
        match self.server.as_mut() {
            Some(server) => server.accept(registry, token, now, &mut self.record, max),
            None => (Vec::new(), false),
        }
    }
}
