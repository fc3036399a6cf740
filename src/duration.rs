//! The one parser for durations given on the command line or in the environment.
//!
//! Accepted: seconds with optional decimals (`0.5`, `30`) or a number with a unit
//! (`500ms`, `30s`, `5m`, `1h`). Negative values, NaN, missing numbers and values
//! too large to represent are errors.

use std::fmt;
use std::time::Duration;

/// The longest duration vigil accepts anywhere: ten years. Bigger numbers are
/// almost certainly a mistake (and would overflow `Instant` arithmetic).
pub(crate) const MAX: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DurationError {
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

pub(crate) fn parse(input: &str) -> Result<Duration, DurationError> {
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
    let unit_nanos: u128 = match unit {
        "" | "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(err("unknown unit")),
    };
    let nanos = decimal_nanos(number, unit_nanos).map_err(err)?;
    if nanos > MAX.as_nanos() {
        return Err(err("too large (at most ten years)"));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// A plain decimal number (`30`, `0.5`, `.25`) times `unit` nanoseconds,
/// in integers (rounded to the nanosecond): vigil carries no floating point.
pub(crate) fn decimal_nanos(number: &str, unit: u128) -> Result<u128, &'static str> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err("not a number");
    }
    let too_large = "too large (at most ten years)";
    let whole: u128 = if whole.is_empty() {
        0
    } else if whole.len() > 20 {
        return Err(too_large);
    } else {
        whole.parse().map_err(|_| "not a number")?
    };
    // Digits past the nanosecond of the largest unit cannot matter.
    let fraction = &fraction[..fraction.len().min(24)];
    let mut scale: u128 = 1;
    let mut part: u128 = 0;
    for b in fraction.bytes() {
        part = part * 10 + u128::from(b - b'0');
        scale *= 10;
    }
    let fraction_nanos = (part * unit + scale / 2) / scale;
    whole
        .checked_mul(unit)
        .and_then(|n| n.checked_add(fraction_nanos))
        .ok_or(too_large)
}

/// Seconds as a plain number, as in a probe's `*_seconds` fields: `30`, `0.1`.
pub(crate) fn seconds(d: Duration) -> String {
    let millis = d.as_millis();
    trimmed(millis / 1000, (millis % 1000) as u32, 3)
}

/// `whole.fraction` with `places` fraction digits, trailing zeros dropped.
fn trimmed(whole: u128, fraction: u32, places: usize) -> String {
    let fraction = format!("{fraction:0places$}");
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// Human form for logs: `30s`, `1.5s`, `500ms`, `1.2ms` (rounded half up).
pub(crate) fn display(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        let millis = (d.as_nanos() + 500_000) / 1_000_000;
        format!("{}s", trimmed(millis / 1000, (millis % 1000) as u32, 3))
    } else {
        let tenths = (d.as_nanos() + 50_000) / 100_000;
        format!("{}ms", trimmed(tenths / 10, (tenths % 10) as u32, 1))
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
        assert_eq!(display(Duration::from_micros(999_960)), "1000ms");
        assert_eq!(display(Duration::from_micros(1_234_567)), "1.235s");
        assert_eq!(seconds(Duration::from_millis(100)), "0.1");
        assert_eq!(seconds(Duration::from_secs(30)), "30");
        assert_eq!(seconds(Duration::from_millis(2050)), "2.05");
    }

    #[test]
    fn decimals_without_floating_point() {
        let s = 1_000_000_000;
        assert_eq!(decimal_nanos("0.1", s), Ok(100_000_000));
        assert_eq!(decimal_nanos("1.0000000004", s), Ok(1_000_000_000));
        assert_eq!(decimal_nanos("1.0000000005", s), Ok(1_000_000_001));
        assert_eq!(decimal_nanos(".5", 1_000_000), Ok(500_000));
        assert_eq!(decimal_nanos("2.", s), Ok(2 * s));
        assert_eq!(decimal_nanos("", s), Err("not a number"));
        assert_eq!(decimal_nanos("1.2.3", s), Err("not a number"));
    }
}
