//! The one parser for durations given on the command line or in the environment.
//!
//! Accepted: seconds with optional decimals (`0.5`, `30`) or a number with a unit
//! (`500ms`, `30s`, `5m`, `1h`). Negative values, NaN, missing numbers and values
//! too large to represent are errors.

use std::fmt;
use std::time::Duration;

/// The longest duration vigil accepts anywhere: ten years. Bigger numbers are
/// almost certainly a mistake (and would overflow `Instant` arithmetic).
pub const MAX: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration '{}': {} (expected seconds like 0.5 or 30, or a number with a unit: 500ms, 30s, 5m, 1h)",
            self.input, self.reason
        )
    }
}

impl std::error::Error for DurationError {}

pub fn parse(input: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError {
        input: input.to_string(),
        reason,
    };
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(if s.starts_with('-') {
            err("negative")
        } else {
            err("no number")
        });
    }
    if number.matches('.').count() > 1 || number == "." {
        return Err(err("not a number"));
    }
    let value: f64 = number.parse().map_err(|_| err("not a number"))?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(err("unknown unit")),
    };
    let secs = value * scale;
    if !secs.is_finite() || secs > MAX.as_secs_f64() {
        return Err(err("too large (at most ten years)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Seconds as a plain number, as in a probe's `*_seconds` fields: `30`, `0.1`.
pub fn seconds(d: Duration) -> String {
    let text = format!("{:.3}", d.as_secs_f64());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Human form for logs: `30s`, `1.5s`, `500ms`, `1.2ms`.
pub fn display(d: Duration) -> String {
    fn trim(s: String) -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
    if d >= Duration::from_secs(1) {
        format!("{}s", trim(format!("{:.3}", d.as_secs_f64())))
    } else {
        format!("{}ms", trim(format!("{:.1}", d.as_secs_f64() * 1000.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let table: &[(&str, Duration)] = &[
            ("0", Duration::ZERO),
            ("30", Duration::from_secs(30)),
            ("0.5", Duration::from_millis(500)),
            ("1.25", Duration::from_millis(1250)),
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("1h", Duration::from_secs(3600)),
            ("0.2s", Duration::from_millis(200)),
            (" 7 ", Duration::from_secs(7)),
            (".5", Duration::from_millis(500)),
        ];
        for (input, want) in table {
            assert_eq!(parse(input).as_ref(), Ok(want), "input {input:?}");
        }
    }

    #[test]
    fn rejected_forms() {
        let table: &[(&str, &str)] = &[
            ("", "no number"),
            ("-1", "negative"),
            ("-0.5s", "negative"),
            ("abc", "no number"),
            ("5x", "unknown unit"),
            ("5 s", "unknown unit"),
            ("1.2.3", "not a number"),
            (".", "not a number"),
            ("1e3", "unknown unit"),
            ("99999999999999999999", "too large (at most ten years)"),
            ("1099511627776", "too large (at most ten years)"),
            ("ms", "no number"),
        ];
        for (input, reason) in table {
            let got = parse(input).expect_err(input);
            assert_eq!(got.reason, *reason, "input {input:?}");
        }
    }

    #[test]
    fn display_is_short() {
        assert_eq!(display(Duration::from_secs(30)), "30s");
        assert_eq!(display(Duration::from_millis(500)), "500ms");
        assert_eq!(display(Duration::from_millis(1500)), "1.5s");
        assert_eq!(display(Duration::ZERO), "0ms");
        assert_eq!(display(Duration::from_micros(1234)), "1.2ms");
        assert_eq!(display(Duration::from_millis(90_000)), "90s");
    }
}
