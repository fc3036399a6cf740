//! What configuration checking says: a `Diagnostic` is one problem (an error
//! that stops vigil, or a warning) at one place, and a `Location` names that
//! place as source (file, variable or flag), JSON path, line and column.

use super::json::Pos;
use super::sort;
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
/// Always one line: a control character that came from the input (a key
/// `"a\nb"` is in the path) is written escaped, `\n`.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = &self.at;
        one_line(f, &at.source)?;
        if let Some(line) = at.line {
            write!(f, ":{line}")?;
            if let Some(column) = at.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if !at.path.is_empty() {
            one_line(f, &at.path)?;
            f.write_str(": ")?;
        }
        one_line(f, &self.message)
    }
}

/// Writes `text` with its control characters escaped.
fn one_line(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for c in text.chars() {
        if c.is_control() {
            write!(f, "{}", c.escape_default())?;
        } else {
            write!(f, "{c}")?;
        }
    }
    Ok(())
}

/// Where each value that was read came from, by source and JSON path, so
/// checks that run on the finished configuration (lints) can still point at
/// a line and column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locations(HashMap<(String, String), Pos>);

impl Locations {
    /// Records where `path` was read in `source`; returns where it was
    /// recorded before, if it was.
    pub fn record(&mut self, source: &str, path: &str, pos: Pos) -> Option<Pos> {
        self.0.insert((source.to_string(), path.to_string()), pos)
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

/// Sorts diagnostics by `key`, stably, in O(n log n) (an insertion sort was
/// quadratic for the many diagnostics of a large file). Not std's sort, which
/// would add kilobytes of code per key type to a binary whose resident size
/// tracks its file size: only collecting the keys is generic here.
pub fn sort_by<K: Ord>(diags: &mut [Diagnostic], key: impl Fn(&Diagnostic) -> K) {
    let keys: Vec<K> = diags.iter().map(key).collect();
    let order = sort::merge_order(keys.len(), &|a, b| keys[a] <= keys[b]);
    sort::permute(diags, &order);
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

    #[test]
    fn display_is_one_line() {
        // Found by fuzzing: a key "co\ntainers" put a raw newline in the path.
        let at = Location::new("a\nb.json", "co\ntainers[0].\u{1b}[2J", None);
        let d = Diagnostic::error(at, "expected \"x\",\r\n found \u{0}");
        assert_eq!(
            d.to_string(),
            r#"a\nb.json: co\ntainers[0].\u{1b}[2J: expected "x",\r\n found \u{0}"#
        );
    }

    /// A sort key that counts how often it is compared.
    struct Counted<'c>(u32, &'c std::cell::Cell<usize>);

    impl PartialEq for Counted<'_> {
        fn eq(&self, other: &Self) -> bool {
            self.cmp(other).is_eq()
        }
    }
    impl Eq for Counted<'_> {}
    impl PartialOrd for Counted<'_> {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Counted<'_> {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.1.set(self.1.get() + 1);
            self.0.cmp(&other.0)
        }
    }

    fn numbered(lines: impl Iterator<Item = u32>) -> Vec<Diagnostic> {
        lines
            .enumerate()
            .map(|(i, line)| {
                let pos = Pos { line, column: 1 };
                Diagnostic::error(Location::new("f", &format!("{i}"), Some(pos)), "x")
            })
            .collect()
    }

    #[test]
    fn sort_is_stable() {
        let mut diags = numbered([3, 1, 2, 1, 3, 0, 2].into_iter());
        sort_by(&mut diags, |d| d.at.line);
        let order: Vec<&str> = diags.iter().map(|d| d.at.path.as_str()).collect();
        assert_eq!(order, ["5", "1", "3", "2", "6", "0", "4"]);
        let mut none: Vec<Diagnostic> = Vec::new();
        sort_by(&mut none, |d| d.at.line);
        let mut one = numbered([1].into_iter());
        sort_by(&mut one, |d| d.at.line);
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn sort_takes_n_log_n_comparisons() {
        // Reversed: an insertion sort compares every pair, 50 million times.
        const N: u32 = 10_000;
        let mut diags = numbered((0..N).rev());
        let count = std::cell::Cell::new(0);
        sort_by(&mut diags, |d| Counted(d.at.line.unwrap(), &count));
        assert!(diags.windows(2).all(|w| w[0].at.line < w[1].at.line));
        // n log2 n = 133,000 for n = 10,000.
        assert!(
            count.get() <= 14 * N as usize,
            "{} comparisons",
            count.get()
        );
    }
}
