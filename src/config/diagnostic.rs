//! What configuration checking says: a `Diagnostic` is one problem (an error
//! that stops vigil, or a warning) at one place, and a `Location` names that
//! place as source (file, variable or flag), JSON path, line and column.

use super::json::Pos;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Location {
    /// The file name as given, `VIGIL_LIVENESS_CHECK`, `--liveness`, or `command line`.
    pub source: String,
    /// The JSON path, `containers[0].liveness_check.http_get.port`; "" for the whole source.
    pub path: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Location {
    pub fn new(source: &str, path: &str, pos: Option<Pos>) -> Location {
        Location {
            source: source.to_string(),
            path: path.to_string(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    #[serde(flatten)]
    pub at: Location,
    pub message: String,
}

impl Diagnostic {
    pub fn error(at: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            at,
            message: message.into(),
        }
    }

    pub fn warning(at: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            at,
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `service.json:12:19: containers[0].liveness_check.http_get.port: expected ...`
/// (the severity is left to whoever prints it: a log level or a prefix).
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = &self.at;
        f.write_str(&at.source)?;
        if let Some(line) = at.line {
            write!(f, ":{line}")?;
            if let Some(column) = at.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if !at.path.is_empty() {
            write!(f, "{}: ", at.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Where each value that was read came from, by source and JSON path, so
/// checks that run on the finished configuration (lints) can still point at
/// a line and column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locations(HashMap<(String, String), Pos>);

impl Locations {
    pub fn record(&mut self, source: &str, path: &str, pos: Pos) {
        self.0.insert((source.to_string(), path.to_string()), pos);
    }

    /// The location of `path` in `source`, with line and column when it was read there.
    pub fn locate(&self, source: &str, path: &str) -> Location {
        let pos = self.0.get(&(source.to_string(), path.to_string())).copied();
        Location::new(source, path, pos)
    }

    pub fn extend(&mut self, other: Locations) {
        self.0.extend(other.0);
    }
}

/// Sorts diagnostics by `key`, stably. An insertion sort: there are a handful,
/// and std's sort would add kilobytes of code per key type to a binary whose
/// resident size tracks its file size.
pub fn sort_by<K: Ord>(diags: &mut [Diagnostic], key: impl Fn(&Diagnostic) -> K) {
    for i in 1..diags.len() {
        let mut j = i;
        while j > 0 && key(&diags[j - 1]) > key(&diags[j]) {
            diags.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_omits_what_is_unknown() {
        let pos = Pos {
            line: 12,
            column: 19,
        };
        let d = Diagnostic::error(
            Location::new("service.json", "containers[0].port", Some(pos)),
            "bad",
        );
        assert_eq!(d.to_string(), "service.json:12:19: containers[0].port: bad");
        let d = Diagnostic::warning(Location::new("service.json", "", None), "too large");
        assert_eq!(d.to_string(), "service.json: too large");
    }
}
