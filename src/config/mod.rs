//! Configuration: the EAS `service.json`, `VIGIL_*` variables and flags,
//! merged into one plain `Resolved` value before anything starts.
//!
//! Layout, one duty per file: `json` (a strict JSON reader that keeps line
//! and column), `model` (the plain data types), `parse` (JSON tree to model,
//! every problem at once), `sources` (file, environment and flags, and which
//! wins), `shell_words` (splitting `command`), `expand` (`$(VAR)` in exec
//! probes, built only within the kernel's exec limits), `program` (finding
//! an exec probe's program), `lint` (valid but likely to fail on EAS),
//! `diagnostic` (what is reported, and where), `sort` (ordering and lookups
//! without std's sort).
//! See docs/configuration.md.

pub mod diagnostic;
pub mod expand;
pub mod json;
pub mod lint;
pub mod model;
pub mod parse;
pub mod program;
pub mod shell_words;
pub mod sort;
pub mod sources;

pub use diagnostic::{Diagnostic, Location, Severity};
pub use model::{
    Command, Exec, Handler, HttpGet, NameValue, Probe, ProbeKind, Resolved, Scheme, TcpSocket,
};
pub use sources::{resolve, Inputs, MAX_FILE_SIZE};
